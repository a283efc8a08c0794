"""The scale benchmark's serving figures: each measured on a server of its own, started just
before, so every figure counts from the first request after start."""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, running_server  # noqa: E402
from harvest import _TOKEN  # noqa: E402
from serve import wrk  # noqa: E402

DEEP = 200_000  # the harvest page timed: the first one after this many records


def samples(store: Path, n: int = 2000) -> dict[str, list[str]]:
    """Paths to ask for, from ``n`` records taken in the store's own order (a hash order: no
    neighbours in the input): manifestations, ISBNs, titles proper, works' preferred titles."""
    import itertools

    from metadatabronn.mapping import terms as T
    from metadatabronn.store import Store

    s = Store(store, None, read_only=True)
    try:
        out: dict[str, list[str]] = {"manifestations": [], "isbns": [], "titles": [], "work_titles": []}
        for graph in itertools.islice(s.record_graphs(), n):
            m = graph.replace("/record/", "/manifestation/")
            out["manifestations"].append("/" + m.split("/", 3)[3])
            out["isbns"] += [v[9:] for v in s.values(m, T.M_IDENTIFIER) if v.startswith("urn:isbn:")][:1]
            out["titles"] += [t for t in map(_words, s.values(m, T.M_TITLE_PROPER)) if t][:1]
            for work in s.values(m, T.M_WORK)[:1]:
                out["work_titles"] += [t for t in map(_words, s.values(work, T.W_PREFERRED_TITLE)) if t][:1]
    finally:
        s.close()
    random.seed(1)
    for paths in out.values():
        random.shuffle(paths)
    return out


def _words(title: str, n: int = 3) -> str:
    """A searcher's query: the first ``n`` words of a title."""
    return " ".join(re.findall(r"\w+", title.lower())[:n])


@contextmanager
def server(store: Path, base: str, http_workers: int):
    """A fresh ``serve`` (no refresh: the store does not change under it); yields ``(url, started)``
    with the seconds from process start to the first answer of a page that reads nothing."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    with running_server(store, base, port, http_workers, url=url, extra=("--refresh", "0"),
                        ready="/context.jsonld") as proc:
        started = time.perf_counter() - t0
        yield url, started, proc
        _peaks.append(peak_rss(proc.pid))


_peaks: list[tuple[int, int]] = []


def peak_rss(pid: int) -> tuple[int, int]:
    """Peak resident memory (VmHWM, MiB) of a process and its descendants: the largest one, and
    their sum."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    peaks = []
    for p in tree:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        if found:
            peaks.append(int(found.group(1)) // 1024)
    return (max(peaks), sum(peaks)) if peaks else (0, 0)


def _latencies(url: str, paths: list[str], accept: str, n: int) -> list[float]:
    """Milliseconds of ``n`` requests one after another, each on a new connection (so that every
    server process meets its share of them, the first ones included)."""
    out = []
    for path in paths[:n]:
        t = time.perf_counter()
        r = httpx.get(url + path, headers={"Accept": accept}, timeout=300)
        out.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    return out


def harvest(url: str, first: int = 20_000, deep: int = DEEP) -> dict:
    """ListRecords marc21 with a real harvester (sickle) for the first ``first`` records; then on,
    page by page with resumption tokens, timing the first page after ``deep`` records (or the
    last page of a smaller list)."""
    from sickle import Sickle

    t = time.perf_counter()
    httpx.get(f"{url}/oai", params={"verb": "ListRecords", "metadataPrefix": "marc21"}, timeout=600).raise_for_status()
    first_page_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    records = Sickle(f"{url}/oai", timeout=600, max_retries=0).ListRecords(metadataPrefix="marc21")
    n = 0
    for _ in records:
        n += 1
        if n == first:
            break
    seconds = time.perf_counter() - t
    out = {"records": n, "rate": n / seconds, "seconds": seconds, "first_page_ms": first_page_ms}
    token = records.resumption_token.token if records.resumption_token else None
    sent = n + sum(1 for _ in records._items)  # the rest of sickle's last page
    params = {"verb": "ListRecords", "resumptionToken": token}
    if not token:  # a list of fewer than ``first``: paged again from the start, for its last page
        params, sent = {"verb": "ListRecords", "metadataPrefix": "marc21"}, 0
    client = httpx.Client(timeout=600)
    t_all, pages, start = time.perf_counter(), 0, sent
    while params:
        t = time.perf_counter()
        body = client.get(f"{url}/oai", params=params).content
        page = time.perf_counter() - t
        before, sent, pages = sent, sent + body.count(b"<record>"), pages + 1
        found = _TOKEN.search(body)
        params = {"verb": "ListRecords", "resumptionToken": found.group(1).decode()} if found else None
        if before >= deep or params is None:
            out |= {"page_ms": page * 1000, "page_after": before, "page_records": sent - before}
            break
    if pages:
        out["paged_rate"] = (sent - start) / (time.perf_counter() - t_all)
    return out


def oai_pages(url: str, deep: int = DEEP) -> dict:
    """ListRecords marc21 paged with a plain client from the start: the first page's time (the
    first request after start), then on until the first page after ``deep`` records (or the last
    page), timing that one."""
    client = httpx.Client(timeout=600)
    params: dict | None = {"verb": "ListRecords", "metadataPrefix": "marc21"}
    out: dict = {}
    sent, t_all = 0, time.perf_counter()
    while params:
        t = time.perf_counter()
        answer = client.get(f"{url}/oai", params=params)
        page = time.perf_counter() - t
        answer.raise_for_status()
        body = answer.content
        before, sent = sent, sent + body.count(b"<record>")
        if before == 0:
            out |= {"first_page_ms": page * 1000, "first_page_records": sent}
        found = _TOKEN.search(body)
        params = {"verb": "ListRecords", "resumptionToken": found.group(1).decode()} if found else None
        if before >= deep or params is None:
            out |= {"page_ms": page * 1000, "page_after": before, "page_records": sent - before}
            break
    out["paged_rate"] = sent / (time.perf_counter() - t_all)
    return out


def _sru(cql: str) -> str:
    return "/sru?" + urlencode({"operation": "searchRetrieve", "version": "1.2", "query": cql, "maximumRecords": 10})


def measure(store: Path, base: str, http_workers: int, seconds: int, connections: int, tmp: Path) -> dict:
    _peaks.clear()
    s = samples(store)
    r: dict = {}
    with server(store, base, http_workers) as (url, started, _):
        r["started"] = started
        t = time.perf_counter()
        httpx.get(f"{url}/health", timeout=300).raise_for_status()
        r["health_first_ms"] = (time.perf_counter() - t) * 1000
    with server(store, base, http_workers) as (url, _, _):
        ms = _latencies(url, s["manifestations"], "application/marcxml+xml", 50)
        r["marcxml"] = {"first": ms[0], "max": max(ms), "p50": statistics.median(ms)}
    with server(store, base, http_workers) as (url, _, _):
        r["oai"] = harvest(url)
    searches = {
        "sru_isbn": [_sru(f"isbn={i}") for i in s["isbns"]],
        "sru_title": [_sru(f'title="{t}"') for t in s["titles"]],
        "sru_title_1": [_sru(f'title="{_words(t, 1)}"') for t in s["titles"]],
        "works_title": [f"/works?title={quote(t)}" for t in s["work_titles"]],
        "works_title_1": [f"/works?title={quote(_words(t, 1))}" for t in s["work_titles"]],
        "entity": s["manifestations"],
    }
    accept = {"entity": "text/turtle", "works_title": "application/json", "works_title_1": "application/json"}
    for name, paths in searches.items():
        with server(store, base, http_workers) as (url, _, _):
            r[name] = wrk(url, paths, accept.get(name, "text/xml"), connections, seconds, tmp, timeout=300)
    r["server_rss"] = (max(p[0] for p in _peaks), max(p[1] for p in _peaks))
    return r


def measure_light(store: Path, base: str, http_workers: int, seconds: int, connections: int, tmp: Path,
                  samples_n: int = 2000) -> dict:
    """The figures the store's backend decides: start, OAI-PMH pages (the first and one deep in),
    searches and entity GETs, each on a server of its own."""
    _peaks.clear()
    s = samples(store, samples_n)
    r: dict = {}
    with server(store, base, http_workers) as (url, started, _):
        r["started"] = started
        r["oai"] = oai_pages(url)
    searches = {
        "sru_isbn": [_sru(f"isbn={i}") for i in s["isbns"]],
        "sru_title": [_sru(f'title="{t}"') for t in s["titles"]],
        "works_title": [f"/works?title={quote(t)}" for t in s["work_titles"]],
        "entity": s["manifestations"],
    }
    accept = {"entity": "text/turtle", "works_title": "application/json"}
    for name, paths in searches.items():
        with server(store, base, http_workers) as (url, _, _):
            r[name] = wrk(url, paths, accept.get(name, "text/xml"), connections, seconds, tmp, timeout=300)
    r["server_rss"] = (max(p[0] for p in _peaks), max(p[1] for p in _peaks))
    return r
