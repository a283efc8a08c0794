"""Authority ingest benchmark: authority records/s into a fresh store, and the conversion alone.

    python bench/authority_ingest.py [FILE] [--workers N] [--repeat N]

FILE defaults to the Koha sample's authority file in the shared corpora folder (1,706 records;
GPL, so it is read from there and never committed). Each run loads the whole file into a new
store (the compaction after a first load reported apart, as ingest does) and prints the summary's
records/s; ``convert`` is the worker step alone (parse, map, N-Quads) in this process, the
ceiling of what the workers can feed the loader.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from metadatabronn.marc import iter_chunks
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.worker import convert_chunk

DEFAULT = (Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "koha-sample"
           / "koha_sample_authorities.marcxml")
BASE = "http://example.org"


def convert_only(path: Path) -> tuple[int, float, int]:
    chunks = list(iter_chunks(path))
    start = time.perf_counter()
    refused = 0
    for chunk in chunks:
        if convert_chunk(chunk, BASE, "2026-01-01T00:00:00Z").status != "ok":
            refused += 1
    return len(chunks), time.perf_counter() - start, refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.file.exists():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    n, seconds, refused = convert_only(args.file)
    print(json.dumps({"convert": {"records": n, "records_per_second": round(n / seconds), "not_ok": refused}}))
    for _ in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix="authority-bench-"))
        try:
            summary = ingest([str(args.file)], Settings(store=work / "store", base=BASE, workers=args.workers,
                                                        rejects_dir=work / "rejects"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(json.dumps({"ingest": {
            "records": summary.records_read, "authorities": summary.records_authority,
            "rejected": summary.records_rejected, "seconds": summary.seconds,
            "records_per_second": summary.records_per_second, "startup_seconds": summary.startup_seconds,
            "compact_seconds": summary.compact_seconds, "agents": summary.agents, "works": summary.works}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
