"""Catalogue page benchmark: how long the Work, Manifestation and Agent pages take to render.

    python bench/pages.py [--corpus FILE] [--store DIR] [--repeats 200] [--lang en|nb]

Builds a store from the LC Books 2016 part 01 first-20k file into ``var/bench/pages-lc20k``
(reused when it is there; ``--rebuild`` makes it again), or serves ``--store DIR`` as it is. The
corpus is ``--corpus``, else ``$METADATABRONN_BENCH_CORPUS``, else
``../shared/corpora/lc-books-2016-part01-first20k.mrc.gz`` beside the repository.

It picks the heaviest pages the store has: the work with the most manifestations (ties: the
most expressions, then the most statements), that work's newest manifestation, and the agent
named by the most works. Each page is asked for ``--repeats`` times through the app in this
process (FastAPI's test client: the whole request, no network), two ways:

- ``cold``: the response cache cleared before every request, so every request reads the store
  and writes the page: what the first reader of a page waits;
- ``warm``: from the response cache (the page as the snapshot has it): every later reader.

Prints p50/p99/max in milliseconds for each, and the home page (its language chart is counted
once per snapshot: the first request, then cached).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import store_to_use  # noqa: E402 - bench/bundle.py takes it from here too

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
DEFAULT_STORE = ROOT / "var" / "bench" / "pages-lc20k"
BASE = "http://localhost:8000"
HTML = {"Accept": "text/html", "Accept-Language": "en"}


def heaviest(store_path: Path) -> tuple[str, str, str, dict]:
    """(work, its newest manifestation, the agent of the most works, figures)."""
    from metadatabronn.mapping import terms as T
    from metadatabronn.store import Store
    from metadatabronn.web.catalogue.layout import Context
    from metadatabronn.web.catalogue.read import edition, newest_first

    store = Store(store_path, read_only=True)
    rows = list(store.query(
        f"SELECT ?w (COUNT(DISTINCT ?m) AS ?n) (COUNT(DISTINCT ?e) AS ?x) WHERE {{ ?m <{T.M_WORK}> ?w . "
        f"OPTIONAL {{ ?e <{T.E_WORK}> ?w }} }} GROUP BY ?w ORDER BY DESC(?n) DESC(?x) LIMIT 20"))
    candidates = [(int(r["n"].value), int(r["x"].value), len(store.about(r["w"].value)), r["w"].value) for r in rows]
    manifestations, expressions, statements, work = max(candidates)
    ctx = Context(store, store.base, "en")
    editions = newest_first([ed for ed in (edition(ctx, m) for m in store.linking(T.M_WORK, work)) if ed])
    agent_row = next(iter(store.query(
        f"SELECT ?a (COUNT(DISTINCT ?w) AS ?n) WHERE {{ ?w <{T.W_AUTHOR}> ?a }} GROUP BY ?a ORDER BY DESC(?n) LIMIT 1")))
    figures = {"work": work, "manifestations": manifestations, "expressions": expressions, "statements": statements,
               "agent": agent_row["a"].value, "agent_works": int(agent_row["n"].value)}
    return work, editions[0].iri, agent_row["a"].value, figures


def timed(client, path: str, repeats: int, cold: bool) -> list[float]:
    from metadatabronn.web import entities

    out = []
    for _ in range(repeats):
        if cold:
            entities._render.cache_clear()
        started = time.perf_counter()
        r = client.get(path, headers=HTML)
        out.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (path, r.status_code)
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("METADATABRONN_BENCH_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--store", help="serve this store as it is (default: build or reuse var/bench/pages-lc20k)")
    ap.add_argument("--rebuild", action="store_true", help="make var/bench/pages-lc20k again")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--lang", default="en", choices=("en", "nb"))
    args = ap.parse_args()
    HTML["Accept-Language"] = args.lang

    store = store_to_use(args.store, DEFAULT_STORE, args.corpus, args.rebuild)
    if store is None:
        return 2

    work, manifestation, agent, figures = heaviest(store)
    from fastapi.testclient import TestClient

    from metadatabronn.store import Store
    from metadatabronn.web.app import create_app

    base = Store(store, read_only=True).base
    print(f"store {store}: largest work {figures['work']} ({figures['manifestations']} manifestations, "
          f"{figures['expressions']} expressions, {figures['statements']} statements); agent {agent} "
          f"({figures['agent_works']} works as author)")
    pages = {"Work": work, "Manifestation": manifestation, "Agent": agent}
    with TestClient(create_app(store, base, query_workers=1, refresh=0)) as client:
        started = time.perf_counter()
        client.get("/", headers=HTML)
        first_home = (time.perf_counter() - started) * 1000
        home = timed(client, "/", args.repeats, cold=False)
        print(f"{'page':<14} {'cache':<5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label, iri in pages.items():
            path = iri[len(base):]
            timed(client, path, 5, cold=True)  # the process's first requests (imports, label files)
            for cold in (True, False):
                ms = timed(client, path, args.repeats, cold)
                print(f"{label:<14} {'cold' if cold else 'warm':<5} {statistics.median(ms):>8.2f} "
                      f"{quantile(ms, 0.99):>8.2f} {max(ms):>8.2f}")
        print(f"{'Home':<14} {'first':<5} {first_home:>8.2f}")
        print(f"{'Home':<14} {'later':<5} {statistics.median(home):>8.2f} {quantile(home, 0.99):>8.2f} "
              f"{max(home):>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
