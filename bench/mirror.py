"""Mirror benchmark: how fast a mirror 10,000 records behind catches up over the change feed.

    python bench/mirror.py [CORPUS] [--first 10000] [--more 10000] [--repeat 3]

Ingests CORPUS's first records (default: the LC Books 2016 part 01 first-20k file's first
10,000) into a source store, dumps it, serves it, and makes a mirror of it (dump download and
load). Then ingests the next records into the source while it is served, waits until the
server shows them (``/health``'s sequence), and times the mirror's catch-up: the feed's pages
read, the documents fetched (``POST /documents``) and written. Reports changes/s (activities
applied a second; the target is 2,000 or more), documents and statements; ``--repeat`` runs the
catch-up again from a copy of the mirror as it was before it.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, running_server  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"


def split(corpus: Path, first: int, more: int, tmp: Path) -> tuple[Path, Path]:
    """The corpus's first ``first`` records and the ``more`` after them, as two ISO 2709 files
    (records cut at their terminator, bytes as they are)."""
    opener = gzip.open if corpus.name.endswith(".gz") else open
    with opener(corpus, "rb") as fh:
        records = fh.read().split(b"\x1d")
    records = [r + b"\x1d" for r in records if r.strip()]
    if len(records) < first + more:
        raise SystemExit(f"{corpus} has {len(records):,} records, fewer than {first + more:,}")
    a, b = tmp / "first.mrc", tmp / "more.mrc"
    a.write_bytes(b"".join(records[:first]))
    b.write_bytes(b"".join(records[first:first + more]))
    return a, b


def wait_until_served(url: str, store: Path) -> None:
    from metadatabronn.store import Store

    s = Store(store, read_only=True)
    wanted = s.next_sequence() - 1
    s.close()
    while httpx.get(f"{url}/health", timeout=60).json().get("sequence", -1) < wanted:
        time.sleep(0.2)


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--first", type=int, default=10_000, help="records in the source when the mirror is made")
    ap.add_argument("--more", type=int, default=10_000, help="records ingested after it")
    ap.add_argument("--repeat", type=int, default=3, help="catch-ups timed, each from the same mirror")
    ap.add_argument("--http-workers", type=int, default=1)
    args = ap.parse_args()

    from metadatabronn.pipeline import Settings, ingest
    from metadatabronn.pipeline.dump import dump
    from metadatabronn.pipeline.mirror import Settings as MirrorSettings
    from metadatabronn.pipeline.mirror import mirror
    from metadatabronn.store.mirroring import comparable

    tmp = Path(tempfile.mkdtemp(prefix="mb-mirror-"))
    try:
        first, more = split(Path(args.corpus), args.first, args.more, tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        source = tmp / "source"
        t = time.perf_counter()
        ingest([str(first)], Settings(store=source, base=url, workers=2, profile=None))
        made = dump(source, "nquads")
        print(f"source: {args.first:,} records ingested and dumped ({made.items:,} statements, "
              f"{made.bytes / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
        settings = MirrorSettings(retries=3, backoff=0.5)
        with running_server(source, url, port, http_workers=args.http_workers, extra=("--refresh", "1")):
            base_mirror = tmp / "mirror"
            r = mirror(url, base_mirror, settings)
            print(f"mirror made: dump of {r.dump_quads:,} statements downloaded and loaded in {r.dump_seconds:.1f} s "
                  f"(feed position {r.position:,})")
            t = time.perf_counter()
            ingest([str(more)], Settings(store=source, base=url, workers=2, profile=None))
            wait_until_served(url, source)
            behind = httpx.get(f"{url}/changes", timeout=60).json()["totalItems"] - r.position
            print(f"source: {args.more:,} more records ingested and served in {time.perf_counter() - t:.1f} s; "
                  f"the mirror is {behind:,} changes behind")
            rates = []
            for i in range(args.repeat):
                target = tmp / f"catch-up-{i}"
                shutil.copytree(base_mirror, target)
                c = mirror(url, target, settings)
                rates.append(c.rate)
                print(f"catch-up {i + 1}: {c.activities:,} changes, {c.documents:,} documents, {c.quads:,} statements "
                      f"in {c.seconds:.2f} s: {c.rate:,.0f} changes/s")
                if i == 0:
                    equal = comparable(source) == comparable(target)
                    print(f"mirror equals the source (less its bookkeeping): {equal}")
                shutil.rmtree(target)
        print(f"changes/s: {min(rates):,.0f}-{max(rates):,.0f} (median {statistics.median(rates):,.0f}); "
              f"target 2,000")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
