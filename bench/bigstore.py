"""Ingest cost against store size: 10,000 fresh records into a big store and into an empty one.

    python bench/bigstore.py build STORE [--records 240000] [CORPUS]
    python bench/bigstore.py compare STORE [--fresh 10000 | --fresh-file FILE] [--rounds N]
                                           [--without-lookup-index] [CORPUS]

``build`` makes a big store from a small corpus: the corpus is read again and again, each copy
with its control numbers (001) rewritten (``{001}c{copy}``), streamed through pymarc into one
ISO 2709 file, and ingested. ``compare`` takes ``--fresh`` records of a copy the big store does
not hold and ingests them, each time in a process of its own, into an empty store and into a
checkpoint of the big store (hard links: the big store itself is not changed), and prints the
rates, their ratio, the CPU a record (the main process and its workers: on a busy machine the
rates follow the other load, the CPU much less), the start-up time (store open and loader ready)
and each run's peak memory; with ``--rounds`` the two alternate, and the median ratio is printed.
``--fresh-file`` ingests the records of a file instead (the part of a real file after the
records of the big store: new records with new headings), and ``--without-lookup-index`` adds
an ingest into the big store that asks the store for every look-up, as before the look-up index
(store.minted).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymarc

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
BASE = "http://localhost:8000"


def copies(corpus: Path, out: Path, records: int, first_copy: int = 1) -> int:
    """Write ``records`` records to ``out``: the corpus again and again, 001 rewritten per copy."""
    written, copy = 0, first_copy
    with open(out, "wb") as sink:
        while written < records:
            opener = gzip.open if corpus.suffix == ".gz" else open
            before = written
            with opener(corpus, "rb") as f:
                for record in pymarc.MARCReader(f, to_unicode=True, force_utf8=True):
                    if record is None:
                        continue
                    field = record.get("001")
                    if field is None:
                        continue
                    field.data = f"{field.data.strip()}c{copy}"
                    sink.write(record.as_marc())
                    written += 1
                    if written >= records:
                        break
            if written == before:
                raise SystemExit(f"no records with 001 in {corpus}")
            copy += 1
    return copy


def one(store: str, path: str, profile: str | None, lookup_index: bool = True) -> dict:
    """One ingest in this process: its summary's figures and this process's peak memory.
    Without ``lookup_index`` every look-up asks the store, as before the look-up index."""
    from metadatabronn.pipeline import Settings, ingest
    from metadatabronn.store import Store

    if not lookup_index:
        Store.prepare_lookups = lambda self: None

    s = ingest([path], Settings(store=Path(store), base=BASE, workers=2, profile=profile))
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
    return {"records": s.records_read, "seconds": s.seconds, "records_per_second": s.records_per_second,
            "cpu_ms_per_record": round(cpu / max(1, s.records_read) * 1000, 3),
            "startup_seconds": s.startup_seconds, "new": s.records_new,
            "peak_rss_main_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_rss_worker_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def run_one(store: Path, path: Path, profile: str | None, lookup_index: bool = True) -> dict:
    out = subprocess.run([sys.executable, __file__, "_one", str(store), str(path), "--profile", profile or "none",
                          *(() if lookup_index else ("--without-lookup-index",))],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["build", "compare", "_one"])
    ap.add_argument("store")
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--records", type=int, default=240_000, help="build: records in the big store")
    ap.add_argument("--fresh", type=int, default=10_000, help="compare: fresh records to ingest")
    ap.add_argument("--profile", default="base", help="profile checked at ingest ('none': no gate)")
    ap.add_argument("--fresh-file", help="compare: ingest these records (say, the records of the file after the "
                    "big store's) rather than copies of the corpus")
    ap.add_argument("--without-lookup-index", action="store_true",
                    help="compare: also ingest into the big store with the look-up index unused, each round")
    ap.add_argument("--rounds", type=int, default=1, help="compare: empty and big store in turn, this many "
                    "times (a busy machine's load changes from one minute to the next: the median ratio)")
    args = ap.parse_args()
    profile = None if args.profile == "none" else args.profile
    if args.action == "_one":
        print(json.dumps(one(args.store, args.corpus, profile, not args.without_lookup_index)))
        return 0
    corpus, store = Path(args.corpus), Path(args.store)
    tmp = Path(tempfile.mkdtemp(prefix="mb-bigstore-"))
    try:
        if args.action == "build":
            t0 = time.perf_counter()
            copies(corpus, tmp / "big.mrc", args.records)
            print(f"{args.records:,} records written in {time.perf_counter() - t0:.0f} s; ingesting", flush=True)
            figures = run_one(store, tmp / "big.mrc", profile)
            print(json.dumps(figures))
            return 0
        from metadatabronn.pipeline.run import Summary  # noqa: F401 - fails early on a broken checkout
        from metadatabronn.store import Store

        s = Store(store, None, read_only=True)
        held = s.count(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?g <https://w3id.org/metadatabronn/ns#describes> ?m }} }}")
        s.close()
        fresh = tmp / "fresh.mrc"
        if args.fresh_file:
            fresh = Path(args.fresh_file)
        else:
            copies(corpus, fresh, args.fresh, first_copy=1000)  # copy numbers the build never reaches
        print(f"big store: {held:,} records", flush=True)
        rounds = []
        for n in range(args.rounds):
            shutil.rmtree(tmp / "empty", ignore_errors=True)
            shutil.rmtree(tmp / "big", ignore_errors=True)
            empty = run_one(tmp / "empty", fresh, profile)
            s = Store(store, None, read_only=True)
            s.backup(tmp / "big")
            s.close()
            big = run_one(tmp / "big", fresh, profile)
            shown = [("into an empty store", empty), (f"into the {held:,}-record store", big)]
            plain = None
            if args.without_lookup_index:
                shutil.rmtree(tmp / "big", ignore_errors=True)
                s = Store(store, None, read_only=True)
                s.backup(tmp / "big")
                s.close()
                plain = run_one(tmp / "big", fresh, profile, lookup_index=False)
                shown.append(("the same, look-up index unused", plain))
            for name, f in shown:
                print(f"{name:<34} {f['records']:,} records in {f['seconds']:.1f} s = {f['records_per_second']:,.0f} "
                      f"records/s, {f['cpu_ms_per_record']:.2f} CPU ms a record; start-up {f['startup_seconds']:.3f} s; "
                      f"peak memory main {f['peak_rss_main_mib']:,} MiB, worker {f['peak_rss_worker_mib']:,} MiB")
            ratio = big["records_per_second"] / empty["records_per_second"]
            cpu_ratio = empty["cpu_ms_per_record"] / big["cpu_ms_per_record"]
            unused = (f"; without the look-up index {plain['records_per_second'] / empty['records_per_second']:.2f}"
                      if plain else "")
            print(f"round {n + 1}: rate big / empty {ratio:.2f}; CPU a record empty / big {cpu_ratio:.2f}{unused}",
                  flush=True)
            rounds.append({"empty": empty, "big": big, "ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3),
                           **({"without_lookup_index": plain} if plain else {})})
        print(f"median ratio big / empty over {len(rounds)} round(s): "
              f"{statistics.median(r['ratio'] for r in rounds):.2f}")
        print(json.dumps({"store_records": held, "rounds": rounds}))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
