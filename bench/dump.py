"""Dump benchmark: the whole well in each dump format, entities/s, statements/s, bytes.

    python bench/dump.py [--store DIR] [--corpus FILE] [--format nquads|jsonld|marcxml ...]
                         [--workers N] [--repeat N] [--rebuild]

Builds a store from the LC Books 2016 part 01 first-20k file into ``var/bench/dump-lc20k``
(reused when it is there; ``--rebuild`` makes it again), or dumps ``--store DIR`` as it is. The
corpus is ``--corpus``, else ``$METADATABRONN_BENCH_CORPUS``, else
``../shared/corpora/lc-books-2016-part01-first20k.mrc.gz`` beside the repository.

Each format is dumped by ``metadatabronn dump --out FILE.gz`` in a child process (process start
included), ``--repeat`` times. Printed per run: seconds (wall, and CPU of the dump's processes),
entities/s (the entities of the JSON-LD dump: works, expressions, manifestations, items, agents,
concepts, tombstones), statements/s (N-Quads), records/s (MARCXML), the file's size, and peak
memory. The target of a full dump is 20,000 entities/s.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import build  # noqa: E402

DEFAULT_STORE = ROOT / "var" / "bench" / "dump-lc20k"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
BASE = "http://localhost:8000"


def lines(path: Path) -> int:
    with gzip.open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def count_entities(store: Path) -> int:
    """Entities as the JSON-LD dump counts them, without writing it."""
    from metadatabronn.store import Store, dumping

    s = Store(store, read_only=True)
    try:
        return sum(1 for _ in dumping.entities(s))
    finally:
        s.close()


def run(store: Path, fmt: str, out: Path, workers: int | None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the dump's processes, their peak memory in MiB)."""
    cli = Path(sys.executable).parent / "metadatabronn"
    extra = ["--workers", str(workers)] if workers else []
    start = time.perf_counter()
    proc = subprocess.Popen([str(cli), "dump", "--store", str(store), "--format", fmt, "--out", str(out), "-q",
                             *extra])
    _pid, status, usage = os.wait4(proc.pid, 0)  # this run's own usage, its worker processes included
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"dump --format {fmt} failed with status {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", help="dump this store as it is (default: build or reuse var/bench/dump-lc20k)")
    ap.add_argument("--corpus", help="MARC file to build the store from")
    ap.add_argument("--rebuild", action="store_true", help="make var/bench/dump-lc20k again")
    ap.add_argument("--format", action="append", choices=["nquads", "jsonld", "marcxml"],
                    help="formats to time (repeatable; default all three)")
    ap.add_argument("--workers", type=int, help="processes for JSON-LD and MARCXML (default: the command's)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each format (default 1)")
    args = ap.parse_args()
    formats = args.format or ["nquads", "jsonld", "marcxml"]
    store = Path(args.store) if args.store else DEFAULT_STORE
    if not args.store:
        if args.rebuild and store.exists():
            shutil.rmtree(store)
        if not store.exists():
            corpus = Path(args.corpus or os.environ.get("METADATABRONN_BENCH_CORPUS") or DEFAULT_CORPUS)
            store.parent.mkdir(parents=True, exist_ok=True)
            build(corpus, store)
    tmp = Path(tempfile.mkdtemp(prefix="mb-dump-"))
    entities = None
    try:
        for fmt in formats:
            for n in range(args.repeat):
                out = tmp / f"dump-{fmt}.gz"
                wall, cpu, peak = run(store, fmt, out, args.workers)
                items = lines(out) - (1 if fmt != "marcxml" else 0)
                if fmt == "jsonld":
                    entities = items
                elif fmt == "marcxml":
                    import pymarc

                    with gzip.open(out, "rb") as fh:
                        items = len(pymarc.parse_xml_to_array(fh))
                if entities is None:
                    print("counting the entities (as the JSON-LD dump does) ...", flush=True)
                    entities = count_entities(store)
                unit = {"nquads": "statements", "jsonld": "entities", "marcxml": "records"}[fmt]
                print(f"dump --format {fmt} (run {n + 1}): {wall:.1f} s wall, {cpu:.1f} s CPU; "
                      f"{entities / wall:,.0f} entities/s ({entities:,}); {items / wall:,.0f} {unit}/s ({items:,}); "
                      f"{out.stat().st_size / 1e6:,.1f} MB gzip; peak memory {peak:,.0f} MiB", flush=True)
                out.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
