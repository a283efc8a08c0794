"""``Loans``: the loan figures of one store, in ``<store>/loans.duckdb``.

A delivery is staged (a file read by DuckDB's ``read_csv``, or rows written to a temporary CSV
file and read the same way: one path, DuckDB's fast one, never row-by-row INSERTs), checked in
SQL, and stored in one transaction that replaces every (system, period) it holds: a reader sees
the old delivery or the new one, never half of either.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import duckdb

from ...errors import DeliveryRejected, StoreError
from .questions import Questions
from .schema import COLUMNS, DDL, FILE, REQUIRED, LoanRow, RowProblem, checked_sql, problems_sql

log = logging.getLogger(__name__)

EDITION_COLUMNS = ("isbn", "manifestation", "expression", "work", "language", "original_language",
                   "creators", "publisher", "prefix", "title", "year", "work_title")


@dataclass
class Delivered:
    system: str
    periods: list[str]
    rows: int
    loans: int
    problems: list[RowProblem] = field(default_factory=list)  # rows left out of a partial delivery

    def as_dict(self) -> dict:
        return {"system": self.system, "periods": self.periods, "rows": self.rows, "loans": self.loans,
                "problems": [p.as_dict() for p in self.problems]}


def _first_lines(exc: Exception) -> str:
    # DuckDB's CSV errors run to a page (the reader's options); the first lines say what and where
    return " ".join([line.strip() for line in str(exc).splitlines() if line.strip()][:2])


def path_of(store_path: str | os.PathLike) -> Path:
    return Path(store_path) / FILE


class Loans(Questions):
    """The loans file beside a store. ``read_only``: a server's view (DuckDB lets one process
    write a file; readers in other processes open it read-only while no writer holds it)."""

    def __init__(self, store_path: str | os.PathLike, read_only: bool = False):
        self.path = path_of(store_path)
        self.read_only = read_only
        self._lock = threading.RLock()  # writes and the connection's own use, one at a time
        self._local = threading.local()  # questions: a cursor per thread, so they run side by side
        self._cursors: list = []
        try:
            if read_only and not self.path.exists():
                if not Path(store_path).is_dir():
                    raise StoreError(f"no store at {store_path}")
                duckdb.connect(str(self.path)).execute(DDL).close()
            self.con = duckdb.connect(str(self.path), read_only=read_only)
            if not read_only:
                self.con.execute(DDL)
        except duckdb.Error as exc:
            why = _first_lines(exc)
            if "lock" in why.lower():
                why = ("another process has it open for writing (DuckDB lets one process write a file, and "
                       "others read it only while none does): " + why)
            raise StoreError(f"cannot open the loan statistics {self.path}: {why}") from exc

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
            self.con.close()

    def _cursor(self):
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._local.cursor = self.con.cursor()
                self._cursors.append(cur)
        return cur

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    # deliveries ----------------------------------------------------------------------------
    def replace(self, system: str, rows: Iterable[LoanRow | dict], *, partial: bool = False) -> Delivered:
        """Store a delivery given as rows (``LoanRow`` or dicts keyed by the column names)."""
        with tempfile.TemporaryDirectory(prefix="loans-") as tmp:
            staged = Path(tmp) / "rows.csv"
            with open(staged, "w", newline="", encoding="utf-8") as fh:
                out = csv.writer(fh)
                out.writerow(COLUMNS)
                for row in rows:
                    if isinstance(row, LoanRow):
                        out.writerow(row.values())
                    else:
                        out.writerow(["" if row.get(c) is None else row.get(c) for c in COLUMNS])
            return self._replace(system, staged, partial, sniff=False)

    def replace_file(self, system: str, path: str | os.PathLike, *, partial: bool = False) -> Delivered:
        """Store a delivery from a CSV file (a header row of column names; delimiter sniffed)."""
        return self._replace(system, path, partial, sniff=True)

    def _replace(self, system: str, path: str | os.PathLike, partial: bool, sniff: bool) -> Delivered:
        if self.read_only:
            raise StoreError("the loan statistics are open read-only")
        if not system or not system.strip():
            raise DeliveryRejected(system or "", [RowProblem(0, "no delivering system named")])
        system = system.strip()
        with self._lock:
            try:
                self._stage(Path(path), system, sniff)
                return self._store(system, partial)
            finally:
                self.con.execute("DROP TABLE IF EXISTS staged; DROP TABLE IF EXISTS checked")

    def _stage(self, path: Path, system: str, sniff: bool) -> None:
        con = self.con
        # a file of our own writing is read as written (a title full of semicolons must not
        # persuade the sniffer); a delivered one as the sniffer finds it (comma or semicolon)
        read = ("read_csv(?, header = true, all_varchar = true, auto_detect = true)" if sniff else
                "read_csv(?, header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"')")
        try:
            header = [n for (n,) in con.execute(f"SELECT column_name FROM (DESCRIBE SELECT * FROM {read})",
                                                [str(path)]).fetchall()]
        except duckdb.Error as exc:
            raise DeliveryRejected(system, [RowProblem(0, f"not a readable CSV delivery: {_first_lines(exc)}")]) from exc
        names = {n.strip().lower(): n for n in header}
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise DeliveryRejected(system, [RowProblem(0, f"the header has no column {', '.join(missing)}")])
        picks = ", ".join((f'"{names[c]}"' if c in names else "NULL::VARCHAR") + f" AS {c}" for c in COLUMNS)
        try:
            # rowid follows the file's order (insertion order is kept): the row's number
            con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {picks} FROM {read}", [str(path)])
        except duckdb.Error as exc:
            raise DeliveryRejected(system, [RowProblem(0, f"not a readable CSV delivery: {_first_lines(exc)}")]) from exc
        con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {checked_sql('staged')}", {"system": system})

    def _store(self, system: str, partial: bool) -> Delivered:
        con = self.con
        problems = [RowProblem(int(n), "; ".join(p)) for n, p in con.execute(
            problems_sql("staged", "SELECT n FROM checked WHERE NOT good"), {"system": system}).fetchall()]
        if problems and not partial:
            raise DeliveryRejected(system, problems)
        cols = ", ".join(COLUMNS)
        con.execute("BEGIN")
        try:
            periods = [p for (p,) in con.execute(
                "SELECT DISTINCT period FROM checked WHERE good ORDER BY period").fetchall()]
            con.execute("DELETE FROM loans WHERE system = ? AND period IN (SELECT DISTINCT period FROM checked "
                        "WHERE good)", [system])
            con.execute(f"INSERT INTO loans ({cols}) SELECT {cols} FROM checked WHERE good ORDER BY n")
            con.execute("INSERT OR REPLACE INTO deliveries SELECT system, period, count(*), sum(loans), now() "
                        "FROM checked WHERE good GROUP BY system, period")
            rows, total = con.execute("SELECT count(*), coalesce(sum(loans), 0) FROM checked WHERE good").fetchone()
            self._summarise()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        log.info("loans from %s: %d rows, %d loans, periods %s, %d rows refused", system, rows, total,
                 periods, len(problems))
        return Delivered(system, periods, int(rows), int(total), problems)

    def _summarise(self) -> None:
        # Rebuilt whole, in ISBN order, in the delivery's transaction (about 0.8 s for 10 M loan
        # rows): appended per period, its row groups would each span every ISBN.
        self.con.execute("CREATE OR REPLACE TABLE monthly AS SELECT isbn, period, sum(loans)::BIGINT AS loans "
                         "FROM loans GROUP BY isbn, period ORDER BY isbn, period")

    def summarise(self) -> None:
        """Rebuild the monthly totals (after rows were written other than by a delivery)."""
        with self._lock:
            self._summarise()

    # the edition map -------------------------------------------------------------------------
    def put_editions(self, manifestations: Iterable[str], rows: Iterable[tuple], meta: dict[str, str], *,
                     whole: bool = False) -> int:
        """Replace what the map says of ``manifestations`` (``whole``: the whole map) by ``rows``
        (EDITION_COLUMNS; creators a list), and note ``meta`` (the synced position), in one
        transaction: a question never sees the map half-written."""
        with self._lock, tempfile.TemporaryDirectory(prefix="editions-") as tmp:
            con = self.con
            gone = Path(tmp) / "gone.csv"
            with open(gone, "w", newline="", encoding="utf-8") as fh:
                out = csv.writer(fh)
                out.writerow(["manifestation"])
                out.writerows([m] for m in manifestations)
            new = Path(tmp) / "new.csv"
            count = 0
            with open(new, "w", newline="", encoding="utf-8") as fh:
                out = csv.writer(fh)
                out.writerow(EDITION_COLUMNS)
                for row in rows:
                    row = list(row)
                    row[6] = "\t".join(row[6] or ())
                    out.writerow(row)
                    count += 1
            types = {c: "VARCHAR" for c in EDITION_COLUMNS}
            types.update(isbn="BIGINT", year="INTEGER")
            con.execute("BEGIN")
            try:
                if whole:
                    con.execute("DELETE FROM editions")
                con.execute("DELETE FROM editions WHERE manifestation IN (SELECT manifestation FROM "
                            "read_csv(?, header = true, columns = {'manifestation': 'VARCHAR'}))", [str(gone)])
                if count:
                    cols = ", ".join(c if c != "creators" else
                                     "CASE WHEN creators IS NULL OR creators = '' THEN []::VARCHAR[] "
                                     "ELSE string_split(creators, chr(9)) END" for c in EDITION_COLUMNS)
                    con.execute(f"INSERT INTO editions ({', '.join(EDITION_COLUMNS)}) SELECT {cols} FROM "
                                f"read_csv(?, header = true, columns = {types!r}, quote = '\"', escape = '\"', "
                                f"delim = ',')", [str(new)])
                con.execute("""UPDATE editions SET first = f.first FROM (
                    SELECT isbn, manifestation, row_number() OVER (PARTITION BY isbn ORDER BY manifestation) = 1
                        AS first FROM editions WHERE isbn IN (SELECT isbn FROM editions GROUP BY isbn
                                                             HAVING count(*) > 1 OR bool_or(NOT first))) f
                    WHERE editions.isbn = f.isbn AND editions.manifestation = f.manifestation
                      AND editions.first <> f.first""")
                for key, value in meta.items():
                    self._set_meta(key, value)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return count

    def editions_of(self, column: str, values: list[str]) -> list[str]:
        """The manifestations the map names with ``column`` (work or expression) among ``values``."""
        assert column in ("work", "expression")
        with self._lock:
            return [m for (m,) in self.con.execute(
                f"SELECT DISTINCT manifestation FROM editions WHERE {column} IN (SELECT unnest(?))",
                [values]).fetchall()]

    def clear_editions(self) -> None:
        with self._lock:
            self.con.execute("DELETE FROM editions; DELETE FROM meta WHERE key LIKE 'sync%'")
