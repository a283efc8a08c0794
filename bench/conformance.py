"""Conformance of real corpora to the application profiles.

    python bench/conformance.py [CORPORA_DIR] [--profile NAME ...] [--top 5]

For every MARC file under CORPORA_DIR (default: the shared corpora folder), converts each
bibliographic record, checks it against each profile with the fast checker, and prints the
conformance rate and the most common violations.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from pathlib import Path

from metadatabronn.errors import MetadatabronnError
from metadatabronn.pipeline.tools import validate_files
from metadatabronn.validate import PROFILES, VIOLATION

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
SUFFIXES = (".mrc", ".mrc.gz", ".xml", ".marcxml", ".dat", ".json")


def corpus_files(root: Path) -> dict[str, list[Path]]:
    """Corpus name (its folder, or the file for top-level files) → its MARC files."""
    out: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.endswith(SUFFIXES):
            rel = path.relative_to(root)
            name = rel.parts[0] if len(rel.parts) > 1 else rel.name
            out.setdefault(name, []).append(path)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora", nargs="?", default=str(DEFAULT))
    ap.add_argument("--profile", action="append", choices=PROFILES)
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    root = Path(args.corpora)
    for name, files in corpus_files(root).items():
        for profile in args.profile or PROFILES:
            started = time.perf_counter()
            reports = []
            for f in files:
                try:
                    reports += validate_files([str(f)], "http://localhost:8000", profile)
                except MetadatabronnError as exc:
                    print(f"  {f.name}: {exc}", file=sys.stderr)
            n = len(reports)
            ok = sum(1 for r in reports if r.conforms)
            records_with = Counter()
            for rep in reports:
                for shape in {r.shape.rsplit("#", 1)[-1] for r in rep.results if r.severity == VIOLATION}:
                    records_with[shape] += 1
            rate = f"{100 * ok / n:5.1f} %" if n else "   -  "
            print(f"{name:<45} {profile:<15} {ok:>6,} / {n:>6,} conform ({rate})  {time.perf_counter() - started:5.1f} s")
            for shape, count in records_with.most_common(args.top):
                example = next(r for rep in reports for r in rep.results
                               if r.severity == VIOLATION and r.shape.endswith("#" + shape))
                print(f"    {count:>6,} records  {shape}: {example.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
