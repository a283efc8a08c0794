"""Loan statistics benchmark (issue 18, point 7), on synthetic loans (bench/loans_data.py: no real
loan file is public) over the ISBNs of a real corpus (default: the LC Books 2016 first 20k).

1. load: a generated one-system delivery of ``--load-rows`` rows (CSV, 24 months) stored through
   the real path (``Loans.replace_file``: read, checked, replaced in one transaction), three times
   (the second and third replace the first): rows/s. Target ≥ 200,000.
2. roll-up: ``--rows`` rows (default 24 × 420,000) generated inside DuckDB (a Zipf-like pick of
   the corpus's ISBNs, 5 % unknown, six systems; not checked, for speed), then a work's
   24-month roll-up across its editions (``work_series``) timed in process: p50, p99, max over
   ``--repeat`` calls, for the most lent work and a median one. (Over HTTP: the web benchmark.)
3. re-matching (``--rematch``): a store of the corpus's first 10,000 records synced, the next
   10,000 ingested, and the time of the sync that brings the edition map up to it. Target < 5 s.

    python bench/loans.py [--store STORE] [--corpus FILE] [--rows N] [--load-rows N] [--rematch]
                          [--report FILE]

A store that is given is only read (its loans file is left alone: everything is written under a
temporary directory).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loans_data  # noqa: E402

from metadatabronn.marc import iter_chunks  # noqa: E402
from metadatabronn.pipeline import Settings, ingest  # noqa: E402
from metadatabronn.pipeline.loans import sync  # noqa: E402
from metadatabronn.store.loans import Loans  # noqa: E402

DEFAULT = loans_data.SHARED / "lc-books-2016-part01-first20k.mrc.gz"
BASE = "http://localhost:8000"
# the check digit of a 12-digit number t, in SQL: made-up ISBNs are valid ones
CHECK = "((10 - (" + " + ".join(f"{1 if k % 2 == 0 else 3} * (t // {10 ** (11 - k)} % 10)" for k in range(12)) + ") % 10) % 10)"
SYSTEMS = ["Bibliofil", "Quria", "Koha", "Mikromarc", "Tidemann", "Alma"]


def build(corpus: Path, store: Path) -> float:
    started = time.perf_counter()
    ingest([str(corpus)], Settings(store=store, base=BASE, workers=2, profile=None))
    return time.perf_counter() - started


def bench_load(corpus: Path, tmp: Path, rows: int) -> dict:
    made = loans_data.generate(tmp / "delivery", [corpus], rows_per_month=rows // 24, systems={"Bench": 1.0},
                               malformed=0)
    path = Path(made["systems"]["Bench"]["file"])
    (tmp / "load").mkdir()
    runs = []
    with Loans(tmp / "load") as loans:
        for _ in range(3):
            started = time.perf_counter()
            result = loans.replace_file("Bench", path)
            seconds = time.perf_counter() - started
            runs.append({"rows": result.rows, "seconds": round(seconds, 3), "rows_per_second": round(result.rows / seconds)})
    return {"file_mb": round(path.stat().st_size / 1e6, 1), "runs": runs}


def fill(loans: Loans, store: Path, rows: int, pool: int | None = None) -> dict:
    """The edition map of ``store`` copied in, and ``rows`` loan rows over 24 months generated in
    DuckDB: each row an ISBN picked log-uniformly by popularity rank (P(rank ≤ k) = ln(k+1)/ln(N+1),
    a Zipf-like law), 5 % of the pool ISBNs the map does not know (or as many more as make the pool
    ``pool`` ISBNs: a national report names far more titles than the corpus has)."""
    con = loans.con
    started = time.perf_counter()
    con.execute(f"ATTACH '{store / 'loans.duckdb'}' AS src (READ_ONLY)")
    con.execute("INSERT INTO editions SELECT * FROM src.editions")
    con.execute("DETACH src")
    con.execute("SELECT setseed(0.18)")
    con.execute(f"""CREATE TEMP TABLE pool AS
        WITH known AS (SELECT DISTINCT isbn FROM editions),
             unknown AS (SELECT t * 10 + {CHECK} AS isbn FROM (SELECT 978820000000 + range AS t
                         FROM range(greatest((SELECT count(*) // 19 FROM known), $pool - (SELECT count(*) FROM known)))))
        SELECT isbn, row_number() OVER (ORDER BY hash(isbn)) AS rank
        FROM (SELECT isbn FROM known UNION ALL SELECT isbn FROM unknown)""", {"pool": pool or 0})
    (n,) = con.execute("SELECT count(*) FROM pool").fetchone()
    per_month = rows // 24
    for k, period in enumerate(loans_data.periods("2023-01", 24)):
        con.execute(f"""INSERT INTO loans (system, period, isbn, loans, fiction, audience, borrower)
            SELECT ['{"','".join(SYSTEMS)}'][1 + (i % 6)::INTEGER], '{period}', p.isbn,
                   1 + floor(-ln(random() + 1e-9) * 2)::BIGINT,
                   CASE WHEN p.rank % 3 = 0 THEN 'fag' ELSE 'skjønn' END,
                   CASE WHEN p.rank % 4 = 0 THEN 'barn' ELSE 'voksen' END,
                   ['voksen', 'barn', 'ungdom', 'institusjon', 'annet'][1 + (i % 5)::INTEGER]
            FROM (SELECT range AS i, least({n}, greatest(1, floor(pow({n} + 1, random()))))::BIGINT AS rank
                  FROM range({per_month})) r JOIN pool p ON p.rank = r.rank""")
    con.execute("DROP TABLE pool")
    loans.summarise()
    (total,) = con.execute("SELECT count(*) FROM loans").fetchone()
    return {"rows": total, "pool_isbns": n, "seconds": round(time.perf_counter() - started, 1)}


def timed(fn, repeat: int) -> dict:
    fn()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
            "max_ms": round(times[-1], 2), "calls": repeat}


def bench_rollup(store: Path, tmp: Path, rows: int, repeat: int, pool: int | None = None) -> dict:
    (tmp / "rollup").mkdir()
    with Loans(tmp / "rollup") as loans:
        made = fill(loans, store, rows, pool)
        made["monthly_rows"] = loans.con.execute("SELECT count(*) FROM monthly").fetchone()[0]
        works = loans.con.execute("""SELECT e.work, count(DISTINCT e.isbn) AS editions, sum(l.loans) AS loans
            FROM loans l JOIN edition e USING (isbn) GROUP BY e.work ORDER BY loans DESC""").fetchall()
        top, median = works[0], works[len(works) // 2]
        widest = max(works, key=lambda w: (w[1], w[2]))
        out = {"generated": made, "works_lent": len(works)}
        for name, (work, editions, lent) in (("most_lent_work", top), ("median_work", median),
                                             ("work_with_most_editions", widest)):
            out[name] = {"work": work, "editions": editions, "loans": int(lent),
                         "work_series_24_months": timed(lambda: loans.work_series(work, "2023-01", "2024-12"), repeat),
                         "by_language": timed(lambda: loans.work_series(work, "2023-01", "2024-12", by="language"),
                                              max(20, repeat // 10))}
        out["top_works_24_months"] = timed(lambda: loans.top_works("2023-01", "2024-12"), 5)
        out["match_report"] = timed(lambda: loans.match_report(), 3)
        # one system's month delivered again into the full file: its rows replaced, monthly rebuilt
        again = tmp / "again.csv"
        loans.con.execute(f"COPY (SELECT period, system, isbn::VARCHAR AS isbn, loans, fiction, audience, borrower "
                          f"FROM loans WHERE system = 'Bibliofil' AND period = '2024-06') TO '{again}' (HEADER)")
        started = time.perf_counter()
        result = loans.replace_file("Bibliofil", again)
        out["one_month_again"] = {"rows": result.rows, "seconds": round(time.perf_counter() - started, 2)}
    return out


def bench_rematch(corpus: Path, tmp: Path) -> dict:
    halves = [tmp / "first.mrc", tmp / "second.mrc"]
    with open(halves[0], "wb") as a, open(halves[1], "wb") as b:
        for chunk in iter_chunks(corpus):
            (a if chunk.number <= 10_000 else b).write(chunk.data)
    store = tmp / "rematch"
    ingest([str(halves[0])], Settings(store=store, base=BASE, workers=2, profile=None))
    first = sync(store)
    started = time.perf_counter()
    ingest([str(halves[1])], Settings(store=store, base=BASE, workers=2, profile=None))
    ingest_seconds = time.perf_counter() - started
    after = sync(store)
    return {"first_sync": first.as_dict(), "ingest_seconds": round(ingest_seconds, 1), "resync": after.as_dict()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", type=Path, help="a store built from the corpus (default: built here)")
    p.add_argument("--corpus", type=Path, default=DEFAULT)
    p.add_argument("--rows", type=int, default=24 * 420_000)
    p.add_argument("--load-rows", type=int, default=1_200_000)
    p.add_argument("--repeat", type=int, default=200)
    p.add_argument("--pool", type=int, help="ISBNs lent in all (default: the corpus's and 5 %% more)")
    p.add_argument("--skip-load", action="store_true")
    p.add_argument("--rematch", action="store_true")
    p.add_argument("--report", type=Path)
    args = p.parse_args(argv)
    report: dict = {"synthetic": True, "corpus": args.corpus.name}
    with tempfile.TemporaryDirectory(prefix="loans-bench-") as t:
        tmp = Path(t)
        store = args.store
        if store is None:
            store = tmp / "store"
            report["ingest_seconds"] = round(build(args.corpus, store), 1)
        copy = tmp / "mapped"  # the store's edition map, made beside a store it does not write into
        copy.mkdir()
        started = time.perf_counter()
        with Loans(copy) as loans:
            from metadatabronn.store.loans.editions import changed_since, rows_of
            from metadatabronn.store import Store

            position = changed_since(store, 0)[0]
            s = Store(store, read_only=True)
            try:
                loans.put_editions((), rows_of(s, None), {"sync_feed": str(position)}, whole=True)
            finally:
                s.close()
        report["first_sync_seconds"] = round(time.perf_counter() - started, 2)
        if not args.skip_load:
            report["load"] = bench_load(args.corpus, tmp, args.load_rows)
        report["rollup"] = bench_rollup(copy, tmp, args.rows, args.repeat, args.pool)
        if args.rematch:
            report["rematch"] = bench_rematch(args.corpus, tmp)
    text = json.dumps(report, indent=1)
    print(text)
    if args.report:
        args.report.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
