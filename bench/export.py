"""Export benchmark: the store's manifestations as MARC 21, records/s and peak memory.

    python bench/export.py [CORPUS] [--store DIR] [--format marc|marcxml|json]

Ingests CORPUS (default: the LC Books 2016 part 01 first-20k file) into a fresh store (or
uses --store as it is), then runs ``metadatabronn export`` in a child process, so its peak
memory is the export's own, and reads the output back with pymarc.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymarc

from metadatabronn.pipeline import Settings, ingest

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
BASE = "http://localhost:8000"


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--store", help="an existing store to export (no ingest)")
    ap.add_argument("--format", default="marc", choices=["marc", "marcxml", "json"])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mb-export-"))
    try:
        store = Path(args.store) if args.store else tmp / "store"
        if not args.store:
            summary = ingest([args.corpus], Settings(store=store, base=BASE, workers=2, profile=None))
            print(f"ingested {summary.records_stored:,} records of {Path(args.corpus).name}")
        out = tmp / f"out.{args.format}"
        cli = Path(sys.executable).parent / "metadatabronn"
        start = time.perf_counter()
        subprocess.run([str(cli), "export", "--store", str(store), "--base-iri", BASE, "--format", args.format,
                        "--out", str(out), "-q"], check=True)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if args.format == "marc":
            with open(out, "rb") as fh:
                n = sum(1 for r in pymarc.MARCReader(fh, force_utf8=True) if r is not None)
        elif args.format == "marcxml":
            n = len(pymarc.parse_xml_to_array(str(out)))
        else:
            import json

            n = len(json.loads(out.read_text()))
        print(f"export --format {args.format}: {n:,} records in {seconds:.1f} s = {n / seconds:,.0f} records/s "
              f"(process start included); peak memory {peak:,.0f} MiB; {out.stat().st_size / 1e6:,.1f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
