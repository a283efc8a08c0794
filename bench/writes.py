"""Entity writes over HTTP: read-modify-write cycles with the profile gate and If-Match, at a few
concurrent clients, and what they do to the reads beside them.

    python bench/writes.py [--corpus FILE] [--store DIR] [--rebuild] [--clients 4] [--seconds 20]
                           [--writes N] [--http-workers 1] [--runs 1] [--read-rate 100] [--write-rate R]
                           [--profile-writes 300] [--chain]

Builds a store from the LC Books 2016 part 01 first-20k file into ``var/bench/writes-lc20k/base``
(reused when it is there; ``--rebuild`` makes it again), or takes ``--store DIR``. Each run
writes to a copy of it (``var/bench/writes-lc20k/run``), so every run starts from the same store.
The corpus is ``--corpus``, else ``$METADATABRONN_BENCH_CORPUS``, else
``../shared/corpora/lc-books-2016-part01-first20k.mrc.gz`` beside the repository.

Each run adds an API key to the copy, starts ``metadatabronn serve`` on it (its writer process
takes every write) and, over real HTTP with one keep-alive httpx client per thread (the reader
in a process of its own):

1. a reader alone for ``--seconds``: GET of a work as Turtle, ``--read-rate`` a second (default
   100), each work once (works no writer touches; a work read twice would come from the
   server's cache);
2. ``--clients`` writers and the reader together, for ``--seconds`` or until the writers have
   made ``--writes`` writes: each writer loops over works of its own (no two writers share one,
   so no write meets a 412) doing GET as JSON-LD, a new ``preferredTitle``, PUT with If-Match
   the ETag it read; the reader goes on reading other works. With ``--chain``, a writer reads a
   work once and then PUTs it again with the ETag its last PUT answered (a 412 would make it
   read again): the writes alone, as a client that edits what it wrote does.

Prints writes/s, PUT p50/p99, the whole cycle's p50/p99, the reader's p50/p99 alone and beside
the writers, and the CPU a write cycle costs in the writer process, in the rest of the server and
in the clients (with how busy the whole machine was: on a shared machine, others' work too). Then, with the server stopped, it profiles ``pipeline.editing.put`` on the
same copy in this process: ``--profile-writes`` writes of JSON-LD bodies read over HTTP during the
run, half of them timed as they are, half under cProfile (the top 25 functions by cumulative time,
and the top 15 by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import random
import resource
import shutil
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import http.client
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
WORK_DIR = ROOT / "var" / "bench" / "writes-lc20k"
BASE = "http://localhost:8000"
WORK = "http://rdaregistry.info/Elements/c/C10001"
TOMBSTONE = "https://www.w3.org/ns/activitystreams#Tombstone"
REPLACED = "http://purl.org/dc/terms/isReplacedBy"


def percentile(ms: list[float], q: float) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(len(ms) * q))] if ms else float("nan")


def summary(ms: list[float]) -> str:
    if not ms:
        return "n=0"
    return (f"n={len(ms):<6} p50 {statistics.median(ms):6.1f} ms   p99 {percentile(ms, 0.99):6.1f} ms   "
            f"max {max(ms):6.1f} ms")


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status_code, self.headers, self.content = status, headers, body

    def json(self):
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class LeanClient:
    """One keep-alive connection through the standard library's ``http.client``. The clients
    share the server's two cores here (a partner's clients would not): httpx cost about 1 ms of
    CPU a request, which the server then did not have. ``--client httpx`` measures as before."""

    def __init__(self, url: str, timeout: float = 120):
        parts = urlsplit(url)
        self._host, self._port, self._timeout = parts.hostname, parts.port, timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, url: str, *, params: dict | None = None, content: bytes | str | None = None,
                headers: dict | None = None) -> Answer:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if "?" in target else "?") + "&".join(f"{k}={v}" for k, v in params.items())
        body = content.encode("utf-8") if isinstance(content, str) else content
        for attempt in (0, 1):  # a keep-alive connection the server closed meanwhile is opened again once
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            try:
                self._conn.request(method, target, body=body, headers=headers or {})
                r = self._conn.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
                continue
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        raise AssertionError("unreachable")

    def get(self, url: str, **kw) -> Answer:
        return self.request("GET", url, **kw)

    def put(self, url: str, **kw) -> Answer:
        return self.request("PUT", url, **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._conn is not None:
            self._conn.close()


def client_for(kind: str, url: str):
    return httpx.Client(timeout=120) if kind == "httpx" else LeanClient(url)


@dataclass
class Tally:
    put_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def works_of(store: Path) -> list[str]:
    """The live works of the store (not deleted, not merged), in IRI order."""
    from metadatabronn.store import Store

    s = Store(store, read_only=True)
    try:
        return sorted(r["w"].value for r in s.query(
            f"SELECT DISTINCT ?w WHERE {{ ?w a <{WORK}> FILTER NOT EXISTS {{ ?w a <{TOMBSTONE}> }} "
            f"FILTER NOT EXISTS {{ ?w <{REPLACED}> ?x }} }}"))
    finally:
        s.close()


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


def cpu_by_role(server: int, store: Path) -> dict[str, float]:
    """CPU seconds used so far by the server's processes: the writer (the one holding the store's
    LOCK file), and the rest (the serve process, its HTTP workers and their query workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    lock = str(store.resolve() / "LOCK")
    out = {"writer": 0.0, "server": 0.0}
    todo, seen = [server], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo += _children(pid)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            used = (int(fields[11]) + int(fields[12])) / tick
            holds = any(os.readlink(f"/proc/{pid}/fd/{fd}") == lock for fd in os.listdir(f"/proc/{pid}/fd"))
        except (OSError, ValueError, IndexError):
            continue
        out["writer" if holds else "server"] += used
    return out


def _own_cpu() -> float:
    """CPU seconds of this process and of its reaped children (the reader processes; the server
    is reaped only when it stops)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all processes, ours and others')."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def writer(url: str, base: str, works: list[str], key: str, stop: threading.Event, quota: int | None,
           tally: Tally, number: int, chain: bool = False, client_kind: str = "lean",
           rate: float | None = None, phase: float = 0.0) -> None:
    """Read-modify-write cycles over ``works`` until ``stop`` (or ``quota`` writes). With
    ``chain``, a work is read once and then written again and again with the ETag its last PUT
    answered (as a client that edits what it wrote does); a 412 makes it read again. With
    ``rate``, a cycle starts ``rate`` times a second on a fixed schedule (a late one at once),
    else each as soon as the last one is answered."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"}
    known: dict[str, tuple[dict, str]] = {}
    with client_for(client_kind, url) as client:
        i = 0
        # Clients start spread over one interval, so that their cycles do not come in step.
        due = time.perf_counter() + (phase / rate if rate else 0.0)
        while not stop.is_set() and (quota is None or len(tally.put_ms) < quota):
            if rate:
                wait = due - time.perf_counter()
                if wait > 0 and stop.wait(wait):
                    break
                due = max(due + 1 / rate, time.perf_counter() - 1 / rate)
            path = works[i % len(works)][len(base):]
            i += 1
            started = time.perf_counter()
            if chain and path in known:
                body, etag = known[path]
            else:
                got = client.get(url + path, params={"format": "jsonld"})
                if got.status_code != 200:
                    tally.failures.append(f"GET {path}: {got.status_code}")
                    continue
                body, etag = got.json(), got.headers["etag"]
            title = body.get("preferredTitle")
            title = title[0] if isinstance(title, list) else title or "Untitled"
            body["preferredTitle"] = f"{title.split(' [written ')[0]} [written {number}.{i}]"
            sent = time.perf_counter()
            put = client.put(url + path, content=json.dumps(body), headers={**headers, "If-Match": etag})
            done = time.perf_counter()
            tally.statuses[put.status_code] = tally.statuses.get(put.status_code, 0) + 1
            if put.status_code == 200:
                tally.put_ms.append((done - sent) * 1000)
                tally.cycle_ms.append((done - started) * 1000)
                if chain:
                    known[path] = (body, put.headers["etag"])
            else:
                known.pop(path, None)
                if len(tally.failures) < 5:
                    tally.failures.append(f"PUT {path}: {put.status_code} {put.text[:300]}")


def reader(url: str, base: str, works: list[str], stop: threading.Event, out: list[float], rate: float,
           client_kind: str = "lean") -> None:
    """GET works as Turtle, ``rate`` a second on a fixed schedule (a late request goes at once),
    each work once while there are works left, until ``stop``."""
    interval = 1.0 / rate
    due = time.perf_counter()
    with client_for(client_kind, url) as client:
        for n in range(10 ** 9):
            if stop.is_set():
                return
            if n == len(works):
                print("  (the reader ran out of works: it reads them again, from the server's cache)", flush=True)
            iri = works[n % len(works)]
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            due += interval
            started = time.perf_counter()
            r = client.get(url + iri[len(base):], headers={"Accept": "text/turtle"})
            out.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                print(f"  read {iri}: {r.status_code}", flush=True)


class ReaderProcess:
    """:func:`reader` in a process of its own, as a user's browser or library system is: in a
    thread of this process it would wait for the interpreter lock behind the writers' threads,
    and that wait would be counted as the server's latency."""

    def __init__(self, url: str, base: str, works: list[str], rate: float, client_kind: str = "lean"):
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self._results = ctx.Queue()
        self._process = ctx.Process(target=self._run,
                                    args=(url, base, works, rate, self._stop, self._results, client_kind), daemon=True)

    @staticmethod
    def _run(url, base, works, rate, stop, results, client_kind) -> None:
        out: list[float] = []
        reader(url, base, works, stop, out, rate, client_kind)
        results.put(out)

    def start(self) -> None:
        self._process.start()

    def stop(self) -> list[float]:
        """Its latencies, in ms, once it has stopped."""
        self._stop.set()
        out = self._results.get(timeout=300)
        self._process.join()
        return out


def bodies(url: str, base: str, works: list[str]) -> list[tuple[str, bytes, str]]:
    """``(iri, JSON-LD body with a new title, ETag)`` of each work, read over HTTP."""
    out = []
    with httpx.Client(timeout=120) as client:
        for n, iri in enumerate(works):
            got = client.get(url + iri[len(base):], params={"format": "jsonld"})
            body = got.json()
            title = body.get("preferredTitle")
            body["preferredTitle"] = f"{title[0] if isinstance(title, list) else title or 'Untitled'} [profiled {n}]"
            out.append((iri, json.dumps(body).encode("utf-8"), got.headers["etag"]))
    return out


class _Collections:
    """Time Python's garbage collector spends while in use, and how many full collections."""

    def __init__(self):
        self.seconds, self.full, self._at = 0.0, 0, 0.0

    def _note(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._at = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._at
            self.full += info["generation"] == 2

    def __enter__(self):
        import gc

        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc):
        import gc

        gc.callbacks.remove(self._note)


def profile_puts(store: Path, base: str, todo: list[tuple[str, bytes, str]], hosts: set[str]) -> None:
    """cProfile of ``pipeline.editing.put`` on the store in this process, as the writer calls it."""
    from metadatabronn import config
    from metadatabronn.pipeline import editing
    from metadatabronn.store import Store
    from metadatabronn.store.editing import Author
    from metadatabronn.web.bodies import statements_of

    s = Store(store, base)
    try:
        started = time.perf_counter()
        parsed = [(iri, statements_of(body, "application/ld+json", iri, hosts), tag) for iri, body, tag in todo]
        took = time.perf_counter() - started
        print(f"in process: the HTTP worker's parse of a JSON-LD body (web.bodies.statements_of) "
              f"{took / len(todo) * 1000:.2f} ms a body", flush=True)
        author = Author("bench", "profiler")
        iri, statements, tag = parsed.pop(0)  # the first loads the profile: the writer does that once
        editing.put(s, "work", iri, statements, author, tag, config.DEFAULT_PROFILE)
        plain, profiled = parsed[: len(parsed) // 2], parsed[len(parsed) // 2:]
        collecting = _Collections()
        started, cpu = time.perf_counter(), time.process_time()
        with collecting:
            for iri, statements, tag in plain:
                editing.put(s, "work", iri, statements, author, tag, config.DEFAULT_PROFILE)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"in process: {len(plain)} puts at {took / len(plain) * 1000:.2f} ms a put "
              f"({cpu / len(plain) * 1000:.2f} ms of CPU; the garbage collector "
              f"{collecting.seconds / len(plain) * 1000:.2f} ms of it, {collecting.full} full collections)", flush=True)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for iri, statements, tag in profiled:
            editing.put(s, "work", iri, statements, author, tag, config.DEFAULT_PROFILE)
        profiler.disable()
        took = time.perf_counter() - started
    finally:
        s.close()
    print(f"in process under cProfile: {len(profiled)} puts at {took / len(profiled) * 1000:.2f} ms a put",
          flush=True)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(25)
    text.write("by own time:\n")
    stats.sort_stats("tottime").print_stats(15)
    print(text.getvalue().replace(str(ROOT) + "/", ""), flush=True)


def run(args, source: Path, number: int) -> dict:
    from bench.common import free_port, running_server
    from metadatabronn.web.apikeys import add_key, default_keys_file

    copy = WORK_DIR / "run"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(source, copy)
    for leftover in ("api-keys.json", "api-keys.json.lock", "audit.jsonl"):
        (copy / leftover).unlink(missing_ok=True)
    key, _ = add_key(default_keys_file(copy), "bench", "bench", ["admin"])

    rng = random.Random(16 + number)
    works = works_of(copy)
    rng.shuffle(works)
    per_writer = 200
    writing = [works[i * per_writer:(i + 1) * per_writer] for i in range(args.clients)]
    rest = works[args.clients * per_writer:]
    warmup, rest = rest[:20], rest[20:]
    profiled, rest = rest[:args.profile_writes], rest[args.profile_writes:]
    alone, beside = rest[: len(rest) // 2], rest[len(rest) // 2:]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_server(copy, BASE, port, http_workers=args.http_workers, url=url) as process:
        with httpx.Client(timeout=60) as warm:  # each server process's first requests load what it needs
            for iri in warmup:
                warm.get(url + iri[len(BASE):], headers={"Accept": "text/turtle"})
                warm.get(url + iri[len(BASE):], params={"format": "jsonld"})

        alone_reader = ReaderProcess(url, BASE, alone, args.read_rate, args.client)
        alone_reader.start()
        time.sleep(args.seconds)
        read_alone = alone_reader.stop()

        stop = threading.Event()
        tallies = [Tally() for _ in writing]
        quota = -(-args.writes // args.clients) if args.writes else None
        threads = [threading.Thread(target=writer,
                                    args=(url, BASE, w, key, stop, quota, tally, n, args.chain, args.client,
                                          args.write_rate / args.clients if args.write_rate else None,
                                          n / args.clients))
                   for n, (w, tally) in enumerate(zip(writing, tallies))]
        read = ReaderProcess(url, BASE, beside, args.read_rate, args.client)
        cpu_before, busy_before, own_before = cpu_by_role(process.pid, copy), machine_busy(), _own_cpu()
        started = time.perf_counter()
        read.start()
        for th in threads:
            th.start()
        deadline = started + args.seconds
        while time.perf_counter() < deadline and any(th.is_alive() for th in threads):
            time.sleep(0.05)
        stop.set()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - started
        read_beside = read.stop()
        cpu_after, busy_after, own_after = cpu_by_role(process.pid, copy), machine_busy(), _own_cpu()
        todo = bodies(url, BASE, profiled) if args.profile_writes and number == 0 else []

    puts = [ms for tally in tallies for ms in tally.put_ms]
    cycles = [ms for tally in tallies for ms in tally.cycle_ms]
    statuses: dict[int, int] = {}
    for tally in tallies:
        for code, n in tally.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    print(f"run {number + 1}: {len(puts):,} writes by {args.clients} clients in {elapsed:.1f} s = "
          f"{len(puts) / elapsed:,.0f} writes/s; PUT statuses {dict(sorted(statuses.items()))}", flush=True)
    print(f"  PUT              {summary(puts)}", flush=True)
    print(f"  GET+PUT cycle    {summary(cycles)}", flush=True)
    print(f"  read alone       {summary(read_alone)}", flush=True)
    print(f"  read beside      {summary(read_beside)}", flush=True)
    if puts:
        per = {role: (cpu_after[role] - cpu_before[role]) / len(puts) * 1000 for role in cpu_after}
        busy = (busy_after - busy_before) / len(puts) * 1000
        own = (own_after - own_before) / len(puts) * 1000
        print(f"  CPU a write cycle (GET+PUT, and the reader's share): writer process {per['writer']:.1f} ms, "
              f"HTTP workers and the rest of the server {per['server']:.1f} ms, the clients (this process and its reader) "
              f"{own:.1f} ms; the machine was busy {busy:.1f} ms a write in all "
              f"({(busy_after - busy_before) / elapsed:.2f} of {os.cpu_count()} cores)", flush=True)
    for tally in tallies:
        for failure in tally.failures[:3]:
            print(f"  failed: {failure}", flush=True)
    if todo:
        profile_puts(copy, BASE, todo, {urlsplit(url).netloc, urlsplit(BASE).netloc})
    return {"writes_per_s": len(puts) / elapsed, "put_p50": statistics.median(puts) if puts else None,
            "put_p99": percentile(puts, 0.99), "read_p99_alone": percentile(read_alone, 0.99),
            "read_p99_beside": percentile(read_beside, 0.99)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("METADATABRONN_BENCH_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--store", help="a store under the base IRI http://localhost:8000 to copy (default: built)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    ap.add_argument("--writes", type=int, help="stop the writers after this many writes in all")
    ap.add_argument("--http-workers", type=int, default=1,
                    help="the server's HTTP worker processes (default 1, as 'serve' starts)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--chain", action="store_true", help="each client writes a work again with the ETag its last "
                    "PUT answered, reading it only at first and after a 412 (default: GET before every PUT)")
    ap.add_argument("--client", choices=("lean", "httpx"), default="lean",
                    help="the benchmark's HTTP client: the standard library's (lean) or httpx")
    ap.add_argument("--read-rate", type=float, default=100.0, help="the reader's GETs a second")
    ap.add_argument("--write-rate", type=float, default=None,
                    help="the writers' cycles a second in all, each client on a fixed schedule (default: each "
                         "cycle as soon as the last is answered, as fast as the server goes)")
    ap.add_argument("--profile-writes", type=int, default=300, help="writes profiled in process (0: none)")
    args = ap.parse_args()

    from bench.common import store_to_use

    source = store_to_use(args.store, WORK_DIR / "base", args.corpus, args.rebuild)
    if source is None:
        return 1
    results = [run(args, source, n) for n in range(args.runs)]
    if len(results) > 1:
        def span(name: str, fmt: str = "{:,.1f}") -> str:
            values = [r[name] for r in results if r[name] is not None]
            return f"{fmt.format(min(values))}-{fmt.format(max(values))}"

        print(f"over {len(results)} runs: {span('writes_per_s', '{:,.0f}')} writes/s, PUT p50 {span('put_p50')} ms, "
              f"p99 {span('put_p99')} ms; read p99 alone {span('read_p99_alone')} ms, beside the writers "
              f"{span('read_p99_beside')} ms", flush=True)
    shutil.rmtree(WORK_DIR / "run", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
