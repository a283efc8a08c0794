"""Dask ingest benchmark: the same file ingested by the local engine and on Dask with 1, 2 and 4
workers (``ingest --engine dask``, a LocalCluster of that many one-thread processes).

    python bench/dask_ingest.py [CORPUS] [--records N] [--workers 1,2,4] [--no-local] [--repeat N] [--json FILE]

CORPUS defaults to the LC Books 2016 part 01 first 20,000 (``tests/data/lc-first20k.mrc.gz``).
``--records N`` takes the first N records of ``var/scale/first-250000.mrc`` (made by
``bench/scale.py``'s data step, ``bench/scale_data.py``) when it is there.

Each run is a process of its own, on a new store, with the CLI's defaults (the base profile's
gate, compaction after the load). For each it prints records/s, the peak RSS of the client process
(reader, loader and, for Dask, the scheduler) and of the largest conversion worker, and the CPU
seconds a record costs in the conversion workers: for the local engine the pool's processes, for
Dask the worker processes (``process``: conversion, pickling, Dask's own traffic) and the tasks'
own threads (``task``: conversion alone). Divided into a machine's cores, that cost projects the
rate a many-core cluster converts at; the client's loader, one per store, caps the whole (its CPU
per record is printed too).

On a two-core machine Dask shows its overhead, not a speed-up: the client's loader and the
scheduler take one core, the workers share the other, and more workers only contend for it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parent / "tests" / "data" / "lc-first20k.mrc.gz"
SCALE = HERE.parent / "var" / "scale" / "first-250000.mrc"
END = b"\x1d"


def first(source: Path, n: int, out: Path) -> Path:
    """The first ``n`` ISO 2709 records of ``source``, streamed into ``out``."""
    with source.open("rb") as fh, out.open("wb") as dst:
        count, rest = 0, b""
        while count < n:
            block = fh.read(1 << 20)
            if not block:
                break
            parts = (rest + block).split(END)
            rest = parts.pop()
            for p in parts[:n - count]:
                dst.write(p + END)
            count += min(len(parts), n - count)
    return out


def one(engine: str, workers: int, store: Path, corpus: Path) -> dict:
    """One ingest in a process of its own, so that its peaks are its own."""
    out = subprocess.run([sys.executable, __file__, "_one", engine, str(workers), str(store), str(corpus)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _one(engine: str, workers: int, store: str, corpus: str) -> dict:
    from metadatabronn.pipeline import Settings, ingest
    from metadatabronn.pipeline.dask_engine import peak_rss

    s = ingest([corpus], Settings(store=Path(store), base=None, workers=workers, engine=engine))
    me = resource.getrusage(resource.RUSAGE_SELF)
    row = {"engine": engine if engine == "local" else f"dask {workers}", "workers": workers,
           "records": s.records_read, "stored": s.records_stored, "seconds": s.seconds,
           "rate": s.records_per_second, "compact_seconds": s.compact_seconds,
           "client_rss_mib": round(peak_rss() / 2**20), "client_cpu_ms": me.ru_utime + me.ru_stime}
    if engine == "local":
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's processes, reaped at the end
        # A forked worker's peak starts at its parent's at the fork (before the store opened).
        row.update(worker_rss_mib=round(kids.ru_maxrss / 1024), process_cpu=kids.ru_utime + kids.ru_stime,
                   task_cpu=None)
    else:
        w = s.cluster_workers.values()
        row.update(worker_rss_mib=round(max(x["peak_rss_bytes"] for x in w) / 2**20),
                   process_cpu=sum(x["process_cpu_seconds"] for x in w), task_cpu=sum(x["cpu_seconds"] for x in w),
                   per_worker={k: x["records"] for k, x in s.cluster_workers.items()})
    n = max(s.records_read, 1)
    row["client_cpu_ms"] = round(1000 * row["client_cpu_ms"] / n, 3)
    row["process_cpu_ms"] = round(1000 * row.pop("process_cpu") / n, 3)
    task = row.pop("task_cpu")
    row["task_cpu_ms"] = round(1000 * task / n, 3) if task is not None else None
    return row


def table(rows: list[dict]) -> str:
    head = (f"| engine | records | s | records/s | client peak RSS MiB | worker peak RSS MiB | "
            f"worker CPU ms/record (process) | (task) | client CPU ms/record |\n|---|---|---|---|---|---|---|---|---|\n")
    return head + "\n".join(
        f"| {r['engine']} | {r['records']:,} | {r['seconds']:.1f} | {r['rate']:,.0f} | {r['client_rss_mib']} | "
        f"{r['worker_rss_mib']} | {r['process_cpu_ms']:.2f} | "
        f"{'' if r['task_cpu_ms'] is None else format(r['task_cpu_ms'], '.2f')} | {r['client_cpu_ms']:.2f} |"
        for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--records", type=int, help=f"the first N records of {SCALE.relative_to(HERE.parent)}")
    ap.add_argument("--workers", default="1,2,4", help="Dask worker counts (default 1,2,4)")
    ap.add_argument("--local-workers", type=int, default=2, help="the local engine's processes (default 2)")
    ap.add_argument("--no-local", action="store_true", help="Dask runs only")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (all rows are printed)")
    ap.add_argument("--json", type=Path, help="write the rows as JSON to this file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dask-ingest-"))
    try:
        corpus = args.corpus
        if args.records:
            if not SCALE.exists():
                sys.exit(f"{SCALE} is not there: run bench/scale.py's data step first, or name a CORPUS")
            corpus = first(SCALE, args.records, work / f"first-{args.records}.mrc")
        print(f"corpus {corpus}; {os.cpu_count()} CPUs", flush=True)
        runs = [] if args.no_local else [("local", args.local_workers)]
        runs += [("dask", int(n)) for n in args.workers.split(",")]
        rows = []
        for _ in range(args.repeat):
            for i, (engine, workers) in enumerate(runs):
                store = work / f"store-{i}"
                row = one(engine, workers, store, corpus)
                shutil.rmtree(store, ignore_errors=True)
                shutil.rmtree(Path(f"{store}.rejects"), ignore_errors=True)
                print(json.dumps(row), flush=True)
                rows.append(row)
        print(table(rows))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "_one":
        print(json.dumps(_one(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])))
    else:
        main()
