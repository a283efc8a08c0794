"""Synthetic loan deliveries for tests and benchmarks (issue 18, point 6).

THE DATA IS SYNTHETIC. No real loan file is public, so this makes deliveries in the national
library's report format (one row per ISBN per month per library system: period, system, library,
isbn, loans, title, filing_word, year, fiction, audience, borrower) from the ISBNs of real records:
by default the LC Books 2016 first-20k file and the Norwegian sample records of the shared
corpora. Nothing in it was counted in a library.

- ISBN popularity is Zipf-like (weight 1 / rank^1.07 over the ISBNs in a seeded random order), and
  a row's count is 1 + a Pareto draw, so a few titles take most loans and most are lent seldom;
- several systems of different sizes (Bibliofil, Quria, Koha, Mikromarc, Tidemann, Alma), each
  with libraries of its own (Norwegian library numbers), one file per system;
- 24 months from 2023-01 by default;
- 5 % of the ISBNs are made up (valid check digits, 978-82 prefix): the well does not know them;
- fiction/non-fiction and children/adults from the record's 008, filing word from its 100 or title;
- a few malformed rows per file (``--malformed``): a wrong check digit, a negative count, period
  2023-13, an unknown borrower category, a count in words.

    python bench/loans_data.py OUT_DIR [--rows-per-month N] [--months 24] [--seed 18] [CORPUS ...]

Same arguments, same files (the seed fixes everything).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import sys
from pathlib import Path

import isbnlib

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
DEFAULT_CORPORA = [SHARED / "lc-books-2016-part01-first20k.mrc.gz", *sorted((SHARED / "norwegian").glob("*/*.xml")),
                   *sorted((SHARED / "norwegian").glob("*/*.mrc"))]
SYSTEMS = {"Bibliofil": 0.40, "Quria": 0.25, "Koha": 0.15, "Mikromarc": 0.10, "Tidemann": 0.05, "Alma": 0.05}
BORROWERS = (("voksen", 0.55), ("barn", 0.25), ("ungdom", 0.12), ("institusjon", 0.05), ("annet", 0.03))
HEADER = ("period", "system", "library", "isbn", "loans", "title", "filing_word", "year", "fiction", "audience",
          "borrower")
ZIPF = 1.07


def _isbn13(text: str) -> str | None:
    word = text.strip().split(" ")[0] if text.strip() else ""
    plain = isbnlib.canonical(word)
    if plain and (isbnlib.is_isbn10(plain) or isbnlib.is_isbn13(plain)):
        return isbnlib.to_isbn13(plain)
    return None


def _records(path: Path):
    from metadatabronn.errors import MetadatabronnError
    from metadatabronn.marc import iter_chunks, parse_chunk

    try:
        for chunk in iter_chunks(path):
            try:
                yield parse_chunk(chunk)
            except MetadatabronnError:
                continue
    except MetadatabronnError:
        return


def _field(rec, tag: str):
    found = rec.get_fields(tag)
    return found[0] if found else None


def titles(paths: list[Path]) -> dict[str, tuple]:
    """ISBN-13 → (title, filing word, year, fiction, audience) for every ISBN of the records."""
    out: dict[str, tuple] = {}
    for path in paths:
        for rec in _records(path):
            isbns = [i for f in rec.get_fields("020") for a in f.get_subfields("a") if (i := _isbn13(a))]
            if not isbns:
                continue
            f008 = getattr(_field(rec, "008"), "data", "") or ""
            t245 = _field(rec, "245")
            title = " ".join(t245.get_subfields("a", "b")).strip(" /:;") if t245 else ""
            main = _field(rec, "100") or _field(rec, "110")
            filing = (main.get_subfields("a") or [""])[0].split(",")[0] if main else title.split(" ")[0] if title else ""
            year = f008[7:11] if f008[7:11].isdigit() else ""
            fiction = "skjønn" if f008[33:34] in ("1", "d", "f", "j", "p") else "fag"
            audience = "barn" if f008[22:23] in ("a", "b", "c", "j") else "voksen"
            for i in isbns:
                out.setdefault(i, (title, filing.strip(), year, fiction, audience))
    return out


def made_up(n: int, rng: random.Random, taken: set[str]) -> list[str]:
    """``n`` valid ISBN-13s under 978-82 that are not in ``taken``."""
    out: list[str] = []
    while len(out) < n:
        twelve = "97882" + "".join(rng.choice("0123456789") for _ in range(7))
        check = (10 - sum((1 if k % 2 == 0 else 3) * int(c) for k, c in enumerate(twelve)) % 10) % 10
        isbn = twelve + str(check)
        if isbn not in taken:
            taken.add(isbn)
            out.append(isbn)
    return out


def periods(start: str, months: int) -> list[str]:
    y, m = map(int, start.split("-"))
    out = []
    for _ in range(months):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def universe(paths: list[Path], seed: int, unknown_share: float = 0.05) -> tuple[list[str], dict[str, tuple], set[str]]:
    """The ISBNs in popularity order (seeded), what each row says of them, and the made-up ones."""
    rng = random.Random(seed)
    known = titles(paths)
    n_unknown = round(len(known) * unknown_share / (1 - unknown_share))
    unknown = made_up(n_unknown, rng, set(known))
    info = dict(known)
    for i in unknown:
        info[i] = (f"Ukjent tittel {i[-6:]}", "Ukjent", str(rng.randint(1990, 2024)), rng.choice(["skjønn", "fag"]),
                   rng.choice(["barn", "voksen"]))
    order = sorted(info)
    rng.shuffle(order)
    return order, info, set(unknown)


def generate(out_dir: Path, paths: list[Path], *, rows_per_month: int = 20_000, months: int = 24,
             start: str = "2023-01", seed: int = 18, malformed: int = 5, systems: dict[str, float] = SYSTEMS) -> dict:
    """Write one CSV delivery per system into ``out_dir``; what was written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    order, info, unknown = universe(paths, seed)
    weights = list(itertools.accumulate(1 / (r + 1) ** ZIPF for r in range(len(order))))
    b_names, b_weights = zip(*BORROWERS)
    b_cum = list(itertools.accumulate(b_weights))
    rng = random.Random(seed + 1)
    written = {}
    for s_index, (system, share) in enumerate(systems.items()):
        libraries = [f"{2000000 + 1000 * s_index + k:07d}" for k in range(1 + int(share * 60))]
        path = out_dir / f"{system.lower()}.csv"
        rows = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(HEADER)
            for period in periods(start, months):
                n = int(rows_per_month * share)
                picks = rng.choices(order, cum_weights=weights, k=n)
                who = rng.choices(b_names, cum_weights=b_cum, k=n)
                for isbn, borrower in zip(picks, who):
                    title, filing, year, fiction, audience = info[isbn]
                    w.writerow((period, system, rng.choice(libraries), isbn, 1 + int(rng.paretovariate(1.6)), title,
                                filing, year, fiction, audience, borrower))
                rows += n
            for k in range(malformed):
                isbn = order[k]
                bad = [("2024-01", system, "", isbn[:-1] + str((int(isbn[-1]) + 1) % 10), "3"),
                       ("2024-01", system, "", isbn, "-2"), ("2023-13", system, "", isbn, "1"),
                       ("2024-01", system, "", isbn, "1"), ("2024-01", system, "", isbn, "tre")][k % 5]
                borrower = "pensjonist" if k % 5 == 3 else "voksen"
                w.writerow((*bad, "Feil", "Feil", "", "fag", "voksen", borrower))
                rows += 1
        written[system] = {"file": str(path), "rows": rows}
    return {"isbns": len(order), "unknown_isbns": len(unknown), "systems": written, "seed": seed,
            "synthetic": True}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Synthetic loan deliveries (not real loans) from real records' ISBNs.")
    p.add_argument("out", type=Path)
    p.add_argument("corpora", nargs="*", type=Path, help="MARC files (default: LC 20k and Norwegian samples)")
    p.add_argument("--rows-per-month", type=int, default=20_000, help="over all systems")
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--start", default="2023-01")
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--malformed", type=int, default=5, help="bad rows per file (0: none)")
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)  # the sample folders hold deliberately broken files
    corpora = args.corpora or [c for c in DEFAULT_CORPORA if c.exists()]
    if not corpora:
        p.error("no corpus files found; name some")
    import json

    json.dump(generate(args.out, corpora, rows_per_month=args.rows_per_month, months=args.months, start=args.start,
                       seed=args.seed, malformed=args.malformed), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
