"""Worker benchmark: the conversion a record costs in one process, store and pool left out.

    python bench/convert.py [CORPUS] [--repeat 3] [--profile base|none] [--skip N] [--records N]
                            [--cprofile N]

Every chunk of CORPUS (default: the LC Books 2016 part 01 first-20k file in the shared corpora
folder) is cut first, untimed; then ``pipeline.worker.convert_chunk`` runs on each, in this
process, as a worker runs it (parse, map, identity, N-Quads, the profile's checks). The best of
``--repeat`` passes is reported, as µs a record and records/s, with the CPU time of that pass.
``--cprofile N`` prints the N most expensive functions of one more pass instead.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from collections import Counter
from pathlib import Path

from metadatabronn.marc import iter_chunks
from metadatabronn.pipeline import Settings
from metadatabronn.pipeline.worker import convert_chunk

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
BASE = "http://localhost:8000"
WHEN = "2026-01-01T00:00:00Z"


def one_pass(chunks, gate) -> tuple[float, float, Counter]:
    statuses: Counter = Counter()
    gc.collect()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for c in chunks:
        statuses[convert_chunk(c, BASE, WHEN, gate).status] += 1
    return time.perf_counter() - t0, time.process_time() - cpu0, statuses


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--repeat", type=int, default=3, help="passes; the best is reported")
    ap.add_argument("--profile", default="base", help="profile checked ('none': no gate)")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N records")
    ap.add_argument("--records", type=int, default=0, help="at most N records (0: all)")
    ap.add_argument("--cprofile", type=int, default=0, metavar="N",
                    help="print the N most expensive functions (by own time) of one more pass")
    args = ap.parse_args()
    if not Path(args.corpus).exists():
        sys.exit(f"corpus not found: {args.corpus}")
    gate = Settings(store=Path("unused"), base=BASE, profile=None if args.profile == "none" else args.profile).gate()
    chunks = list(iter_chunks(args.corpus))[args.skip:]
    if args.records:
        chunks = chunks[:args.records]
    if not chunks:
        sys.exit("no records")
    convert_chunk(chunks[0], BASE, WHEN, gate)  # the profile is read once per process, not per pass
    best = None
    for _ in range(max(1, args.repeat)):
        seconds, cpu, statuses = one_pass(chunks, gate)
        print(f"pass                {len(chunks):,} records in {seconds:.2f} s ({cpu:.2f} s CPU) = "
              f"{seconds / len(chunks) * 1e6:,.0f} us a record")
        if best is None or seconds < best[0]:
            best = (seconds, cpu, statuses)
    seconds, cpu, statuses = best
    print(f"best of {args.repeat:<11} {len(chunks) / seconds:,.0f} records/s, {seconds / len(chunks) * 1e6:,.0f} us "
          f"a record ({cpu / len(chunks) * 1e6:,.0f} us CPU), profile {args.profile}; "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))
    if args.cprofile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        one_pass(chunks, gate)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
