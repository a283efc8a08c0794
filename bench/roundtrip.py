"""Round-trip benchmark: MARC 21 → RDA entities → MARC 21, records/s and fidelity.

    python bench/roundtrip.py [CORPUS...] [--workers N] [--repeat N] [--json FILE]

CORPUS defaults to the LC Books 2016 part 01 first-20k file and LC's marc2bibframe2 sample in
the shared corpora folder. Two figures per corpus, each the best of --repeat runs:
- both directions: read, convert to entities, convert back, write ISO 2709 (what an export
  does, without the store);
- with the fidelity measurement: the same, plus pymarc reading every output record again and
  the field-by-field comparison with the original (``metadatabronn roundtrip``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from metadatabronn.pipeline.roundtrip import roundtrip

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
DEFAULTS = [CORPORA / "lc-books-2016-part01-first20k.mrc.gz", CORPORA / "lc-marc2bibframe2" / "ALL_unique_693.xml"]


def best(corpus: Path, workers: int, repeat: int, measure: bool):
    runs = [roundtrip([str(corpus)], workers=workers, measure=measure) for _ in range(repeat)]
    return max(runs, key=lambda r: r.records_per_second)


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora", nargs="*", default=[str(p) for p in DEFAULTS])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    figures = {}
    for name in args.corpora:
        corpus = Path(name)
        if not corpus.exists():
            sys.exit(f"corpus not found: {corpus}")
        both = best(corpus, args.workers, args.repeat, measure=False)
        full = best(corpus, args.workers, args.repeat, measure=True)
        rates = full.fidelity.rates()
        key = full.fidelity.to_json()["key_tags"]
        print(f"{corpus.name}: {full.records:,} records, {args.workers} workers, best of {args.repeat}")
        print(f"  both directions (read, to entities, back, ISO 2709)  {both.records_per_second:8,.0f} records/s")
        print(f"  with pymarc re-read and comparison                   {full.records_per_second:8,.0f} records/s")
        print(f"  fields kept {rates['fields_kept']:.4%}; subfields identical {rates['subfields_exact']:.4%}, "
              f"after NFC {rates['subfields_identical_nfc']:.4%}, modulo punctuation {rates['subfields_modulo']:.4%}")
        classes = full.fidelity.classes()
        print("  subfields: " + "; ".join(f"{k.replace('_', '/')} {v:,}" for k, v in classes.items())
              + " (added: " + ", ".join(f"{t} {n:,}" for t, n in full.fidelity.added_by_tag().items()) + ")")
        print("  key tags modulo punctuation: " + ", ".join(f"{t} {r:.2%}" for t, r in key.items()))
        if full.unreadable:
            print(f"  OUTPUT PYMARC CANNOT READ: {len(full.unreadable)}")
        figures[corpus.name] = {"records": full.records, "both_directions_rps": round(both.records_per_second),
                                "with_measurement_rps": round(full.records_per_second),
                                "rates": rates, "key_tags": key, "classes": classes,
                                "unreadable": len(full.unreadable)}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
