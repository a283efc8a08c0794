"""The fast checker against pySHACL on every record of every corpus, every profile.

    python bench/equivalence.py [CORPORA_DIR] [--batch 500]

Each record's data goes under IRIs of its own, so a batch checked by pySHACL at once gives the
same results as one pySHACL run per record. Prints, per corpus and profile, the records and
results compared and any difference; exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from metadatabronn.pipeline.tools import record_texts
from metadatabronn.validate import PROFILES, Data, check, load_profile, reference

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance import DEFAULT, corpus_files  # noqa: E402

BASE = "http://example.org"


def texts(paths):
    for path in paths:
        for _, _, text in record_texts(path, BASE):
            yield text


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora", nargs="?", default=str(DEFAULT))
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    failed = False
    for name, files in corpus_files(Path(args.corpora)).items():
        for profile_name in PROFILES:
            profile = load_profile(profile_name)
            started = time.perf_counter()
            records = results = differences = 0
            batch: list[str] = []

            def compare() -> None:
                nonlocal results, differences
                fast = sorted(r.key() for t in batch for r in check(Data.from_nquads(t), profile))
                ref = sorted(r.key() for r in reference.validate("".join(batch), profile))
                results += len(ref)
                if fast != ref:
                    differences += len(set(fast) ^ set(ref))
                    for k in sorted(set(fast) ^ set(ref))[:3]:
                        print("    differs:", k)
                batch.clear()

            for i, t in enumerate(texts(files)):
                batch.append(t.replace(f"<{BASE}/", f"<{BASE}/r{i}/"))
                records += 1
                if len(batch) >= args.batch:
                    compare()
            if batch:
                compare()
            failed |= bool(differences)
            print(f"{name:<40} {profile_name:<15} {records:>6,} records {results:>7,} results "
                  f"{'identical' if not differences else f'{differences} DIFFERENT'}  {time.perf_counter() - started:6.1f} s",
                  flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
