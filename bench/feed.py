"""Change feed benchmark: how long a page of the feed and the documents of a page take to serve.

    python bench/feed.py [--corpus FILE] [--store DIR] [--rebuild] [--requests 500]

Builds a store from the LC Books 2016 part 01 first-20k file into ``var/bench/feed-lc20k/store``
(reused when it is there; ``--rebuild`` makes it again: the feed's log is filled by ingest, so a
store made before the feed existed has an empty one), or serves ``--store DIR`` as it is. The
corpus is ``--corpus``, else ``$METADATABRONN_BENCH_CORPUS``, else
``../shared/corpora/lc-books-2016-part01-first20k.mrc.gz`` beside the repository.

Starts ``metadatabronn serve`` (one HTTP process) and, over real HTTP with one keep-alive client,
asks ``--requests`` times for each of:

- ``page``: a full page of 100 activities of the whole feed, chosen at random;
- ``page?type=work``: a full page of the works' collection, chosen at random;
- ``documents``: ``POST /documents`` with the 100 distinct entity IRIs of a stretch of the feed
  chosen at random (what a mirror asks for after a page);

and prints p50/p99/max in milliseconds. On a shared machine the tail of those is mostly waiting
for a core, so it also prints the CPU time (``time.thread_time``) that reading and writing a full
page takes in this process, the same functions the server runs. Then it walks the whole feed by ``next`` and fetches the
documents of every page, as a mirror catching up does, and prints activities/s (reading and
fetching only: a mirror's own writes are not counted).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
DEFAULT_STORE = ROOT / "var" / "bench" / "feed-lc20k" / "store"
BASE = "http://localhost:8000"


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"  {name:<18} n={len(ms):<5} p50 {statistics.median(ms):6.2f} ms   p99 {p99:6.2f} ms   "
          f"max {ms[-1]:6.2f} ms", flush=True)


def page_cpu(store: Path, n: int, rng: random.Random) -> list[float]:
    """CPU milliseconds to read a random full page of 100 activities from the catalogue index and
    write its JSON, as the server does (thread CPU time: what waiting for a core does not count)."""
    import hashlib
    import json

    from metadatabronn.store.catalogue import Catalogue
    from metadatabronn.web.feed import activity

    cat = Catalogue(store, read_only=True)
    try:
        log = cat.feed(10 ** 12)
        full = log.total() // 100
        out = []
        for _ in range(n):
            started = time.thread_time()
            k = rng.randint(1, full)
            items = [activity(a, a.n) for a in log.items((k - 1) * 100 + 1, 100)]
            data = json.dumps({"orderedItems": items}, ensure_ascii=False, separators=(",", ":")).encode()
            hashlib.blake2b(data, digest_size=12).hexdigest()
            out.append((time.thread_time() - started) * 1000)
        return out
    finally:
        cat.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("METADATABRONN_BENCH_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--store", help="serve this store as it is (no ingest)")
    ap.add_argument("--base-iri", default=BASE, help="the store's base IRI (default %(default)s)")
    ap.add_argument("--rebuild", action="store_true", help="build the default store again")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--no-walk", action="store_true", help="skip the walk of the whole feed")
    args = ap.parse_args()

    from bench.common import build, free_port, running_server

    store = Path(args.store) if args.store else DEFAULT_STORE
    if not args.store and (args.rebuild or not store.exists()):
        if store.exists():
            import shutil

            shutil.rmtree(store)
        store.parent.mkdir(parents=True, exist_ok=True)
        build(Path(args.corpus), store)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(15)
    with running_server(store, args.base_iri, port, http_workers=1, url=url, extra=("--refresh", "0")):
        with httpx.Client(base_url=url, timeout=60) as client:
            entry = client.get("/changes").json()
            works = client.get("/changes?type=work").json()
            total, size = entry["totalItems"], 100
            full = total // size
            print(f"feed of {store}: {total:,} activities, {full:,} full pages of {size}; "
                  f"works' collection {works['totalItems']:,}", flush=True)
            if full < 2:
                print("too few activities to measure (a store made before the feed existed? --rebuild)")
                return 1
            work_pages = max(1, works["totalItems"] // size)

            def page():
                r = client.get(f"/changes/page/{rng.randint(1, full)}")
                assert r.status_code == 200 and len(r.json()["orderedItems"]) == size

            def work_page():
                r = client.get(f"/changes/page/{rng.randint(1, work_pages)}?type=work")
                assert r.status_code == 200

            stretches = []
            for k in rng.sample(range(1, full + 1), min(full, 40)):
                items = client.get(f"/changes/page/{k}").json()["orderedItems"]
                more = client.get(f"/changes/page/{min(k + 1, full)}").json()["orderedItems"]
                ids = list(dict.fromkeys(i["object"]["id"] for i in items + more))[:100]
                stretches.append(ids)

            def documents():
                r = client.post("/documents", json={"ids": rng.choice(stretches)})
                assert r.status_code == 200

            for fn in (page, work_page, documents):  # warm the page cache and the connection
                timed(fn, 20)
            report("page", timed(page, args.requests))
            report("page?type=work", timed(work_page, args.requests))
            report("documents (100)", timed(documents, args.requests))
            report("page, CPU", page_cpu(store, args.requests, rng))
            if not args.no_walk:
                started = time.perf_counter()
                seen, fetched, nxt = 0, 0, entry["first"]["id"]
                while nxt:
                    doc = client.get(nxt).json()
                    ids = list(dict.fromkeys(i["object"]["id"] for i in doc["orderedItems"]))
                    if ids:
                        got = client.post("/documents", json={"ids": ids}).json()["documents"]
                        fetched += len(got)
                    seen += len(doc["orderedItems"])
                    nxt = doc.get("next", {}).get("id")
                seconds = time.perf_counter() - started
                print(f"  walk: {seen:,} activities and {fetched:,} documents in {seconds:.1f} s: "
                      f"{seen / seconds:,.0f} activities/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
