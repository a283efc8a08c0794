"""The store on a SPARQL server (Virtuoso) against the embedded store, on the same records:
load rate, entity GET latency, an OAI-PMH page, search latency.

    python bench/remote_store.py [--records N] [--input FILE] [--sparql URL]

``--input``: MARC (plain or .gz), default the LC 20k corpus, or ``var/scale/first-250000.mrc``
when ``--records`` asks for more than it holds. ``--sparql``: a running server's endpoint
(emptied first!); default a fresh Virtuoso of the tests' own (``tests/virtuoso.py``) in a
temporary directory. Figures print as JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_serve import _latencies, _sru, _words, oai_pages, samples, server  # noqa: E402

LC20K = ROOT.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
SCALE = ROOT / "var" / "scale" / "first-250000.mrc"


def records_file(source: Path, n: int | None, tmp: Path) -> tuple[Path, int]:
    """The first ``n`` records of ``source`` as a plain MARC file, and how many it holds."""
    opener = gzip.open if source.suffix == ".gz" else open
    out = tmp / "input.mrc"
    count = 0
    with opener(source, "rb") as fh, open(out, "wb") as w:
        while n is None or count < n:
            head = fh.read(5)
            if len(head) < 5:
                break
            length = int(head)
            w.write(head + fh.read(length - 5))
            count += 1
    return out, count


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def load(store: Path, source: Path, base: str) -> dict:
    from metadatabronn.pipeline import Settings, ingest

    t = time.perf_counter()
    summary = ingest([str(source)], Settings(store=store, base=base, workers=2, profile=None))
    seconds = time.perf_counter() - t
    loaded = summary.records_stored
    return {"seconds": round(seconds, 1), "records": loaded, "rate": round(loaded / seconds, 1) if loaded else None}


def serving(store: Path, base: str, n: int) -> dict:
    s = samples(store, 500)
    out: dict = {}
    with server(store, base, 1) as (url, started, _):
        out["started_s"] = round(started, 2)
        ms = _latencies(url, s["manifestations"], "text/turtle", n)
        out["entity_get_ms"] = {"n": len(ms), "p50": round(statistics.median(ms), 1), "p99": round(percentile(ms, 99), 1)}
        pages = oai_pages(url, deep=10**9)
        out["oai"] = {k: round(v, 1) if isinstance(v, float) else v for k, v in pages.items()}
        titles = [_sru(f'title="{_words(t)}"') for t in s["titles"]]
        ms = _latencies(url, titles, "text/xml", n)
        out["sru_title_ms"] = {"n": len(ms), "p50": round(statistics.median(ms), 1), "p99": round(percentile(ms, 99), 1)}
        works = [f"/works?title={quote(_words(t))}" for t in s["work_titles"]]
        ms = _latencies(url, works, "application/json", n)
        out["works_title_ms"] = {"n": len(ms), "p50": round(statistics.median(ms), 1), "p99": round(percentile(ms, 99), 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=None)
    ap.add_argument("--input", type=Path, default=None)
    ap.add_argument("--sparql", default=None)
    ap.add_argument("--requests", type=int, default=200, help="entity GETs and searches timed (default 200)")
    args = ap.parse_args()
    source = args.input or (SCALE if args.records and args.records > 20_000 else LC20K)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        marc, count = records_file(source, args.records, tmp)
        virtuoso = None
        url = args.sparql
        if url is None:
            from tests.virtuoso import start_virtuoso

            virtuoso = start_virtuoso(tmp / "virtuoso")
            url = virtuoso.sparql_url
        try:
            from metadatabronn.store import remote_home
            from metadatabronn.store.remote import RemoteStore

            RemoteStore("sparql+" + url).clear()
            base = "http://127.0.0.1:8000"
            home = tmp / "home"
            home.mkdir()
            remote_home.write(home, "sparql+" + url)
            figures = {"input": str(source), "records": count}
            for name, store in (("pyoxigraph", tmp / "local"), ("virtuoso", home)):
                figures[name] = {"load": load(store, marc, base)}
                figures[name] |= serving(store, base, args.requests)
                print(json.dumps({name: figures[name]}), flush=True)
            print(json.dumps(figures, indent=1))
        finally:
            if virtuoso is not None:
                virtuoso.stop()


if __name__ == "__main__":
    main()
