"""The tables of ``loans.duckdb`` and the row checks, as SQL run by DuckDB over a staged delivery.

Checks are SQL, not Python, so that a delivery of millions of rows is read, checked and stored by
DuckDB's own vectorised engine (a file is read by ``read_csv`` straight into the staging table).
"""

from __future__ import annotations

from dataclasses import dataclass

FILE = "loans.duckdb"

# Column order of a delivery as staged (every value text, as given); CSV header names and JSON keys.
COLUMNS = ("period", "system", "library", "isbn", "loans", "title", "filing_word", "year",
           "fiction", "audience", "borrower")
REQUIRED = ("period", "isbn", "loans")

# Accepted spellings → the stored (Norwegian) value.
FICTION = {"skjønn": "skjønn", "fag": "fag", "fiction": "skjønn", "nonfiction": "fag", "non-fiction": "fag"}
AUDIENCE = {"barn": "barn", "voksen": "voksen", "children": "barn", "child": "barn", "adults": "voksen",
            "adult": "voksen"}
BORROWER = {"barn": "barn", "ungdom": "ungdom", "voksen": "voksen", "institusjon": "institusjon",
            "annet": "annet", "child": "barn", "children": "barn", "youth": "ungdom", "adult": "voksen",
            "adults": "voksen", "institution": "institusjon", "other": "annet"}
CATEGORIES = {"fiction": FICTION, "audience": AUDIENCE, "borrower": BORROWER}

DDL = """
CREATE TABLE IF NOT EXISTS loans (
    system VARCHAR NOT NULL, period VARCHAR NOT NULL, library VARCHAR, isbn BIGINT NOT NULL,
    loans BIGINT NOT NULL, title VARCHAR, filing_word VARCHAR, year INTEGER,
    fiction VARCHAR, audience VARCHAR, borrower VARCHAR);
CREATE TABLE IF NOT EXISTS deliveries (
    system VARCHAR NOT NULL, period VARCHAR NOT NULL, rows BIGINT NOT NULL, loans BIGINT NOT NULL,
    delivered TIMESTAMPTZ NOT NULL, PRIMARY KEY (system, period));
CREATE TABLE IF NOT EXISTS editions (
    isbn BIGINT NOT NULL, manifestation VARCHAR NOT NULL, expression VARCHAR, work VARCHAR,
    language VARCHAR, original_language VARCHAR, creators VARCHAR[], publisher VARCHAR,
    prefix VARCHAR, title VARCHAR, year INTEGER, work_title VARCHAR,
    first BOOLEAN NOT NULL DEFAULT true);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
-- The national loans of each ISBN per month (all systems, libraries and borrowers), in ISBN
-- order: what the work, expression, edition and language questions read. Sorted, its zone maps
-- let a work's few ISBNs be read without scanning every loan row.
CREATE TABLE IF NOT EXISTS monthly (isbn BIGINT NOT NULL, period VARCHAR NOT NULL, loans BIGINT NOT NULL);
-- One edition per ISBN for joins (two records with one ISBN must not count its loans twice):
-- the first manifestation in IRI order, marked when the map is written (a window over the whole
-- map at each question cost 10 ms).
CREATE OR REPLACE VIEW edition AS SELECT * EXCLUDE (first) FROM editions WHERE first;
"""


@dataclass(frozen=True, slots=True)
class LoanRow:
    """One row of a delivery (values as given; the checks normalise them)."""
    period: str
    isbn: str
    loans: int | str
    system: str | None = None
    library: str | None = None
    title: str | None = None
    filing_word: str | None = None
    year: int | str | None = None
    fiction: str | None = None
    audience: str | None = None
    borrower: str | None = None

    def values(self) -> tuple:
        return tuple(getattr(self, c) for c in COLUMNS)


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # data rows counted from 1 (a CSV file's header is not a row)
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "reason": self.reason}


def _digit(col: str, k: int) -> str:
    return f"TRY_CAST(substr({col}, {k + 1}, 1) AS INTEGER)"


def _isbn10_ok(i: str) -> str:
    terms = [f"{10 - k} * {_digit(i, k)}" for k in range(9)]
    last = f"(CASE WHEN substr({i}, 10, 1) = 'X' THEN 10 ELSE {_digit(i, 9)} END)"
    return (f"(length({i}) = 10 AND regexp_full_match({i}, '[0-9]{{9}}[0-9X]') AND {i} <> '0000000000' AND "
            f"({' + '.join(terms)} + {last}) % 11 = 0)")


def _isbn13_ok(i: str) -> str:
    terms = [f"{1 if k % 2 == 0 else 3} * {_digit(i, k)}" for k in range(13)]
    return f"(length({i}) = 13 AND regexp_full_match({i}, '97[89][0-9]{{10}}') AND ({' + '.join(terms)}) % 10 = 0)"


def _isbn13_of_10(i: str) -> str:
    # '978' weighs 9 + 21 + 8 = 38; the ten's first nine digits follow at weights 3, 1, 3 …
    terms = [f"{3 if k % 2 == 0 else 1} * {_digit(i, k)}" for k in range(9)]
    check = f"((10 - (38 + {' + '.join(terms)}) % 10) % 10)"
    return f"('978' || substr({i}, 1, 9) || CAST({check} AS VARCHAR))"


def _category(col: str, table: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in table.items())
    return f"(CASE lower(trim({col})) {whens} END)"


def _blank(col: str) -> str:
    return f"({col} IS NULL OR trim({col}) = '')"


def _reasons(i: str) -> list[str]:
    """SQL for each check's reason (NULL when the row passes it), over a staged row; ``i`` is its
    ISBN without hyphens and spaces."""
    reasons = [
        f"CASE WHEN {_blank('period')} THEN 'period missing' "
        f"WHEN NOT regexp_full_match(trim(period), '[0-9]{{4}}-(0[1-9]|1[0-2])') "
        f"THEN 'period ' || to_json(period) || ' is not YYYY-MM' END",
        f"CASE WHEN {_blank('isbn')} THEN 'ISBN missing' "
        f"WHEN NOT ({_isbn10_ok(i)} OR {_isbn13_ok(i)}) "
        f"THEN 'ISBN ' || to_json(isbn) || ' is not a valid ISBN-10 or ISBN-13 (length, digits or check digit)' END",
        f"CASE WHEN {_blank('loans')} THEN 'loans missing' "
        f"WHEN NOT regexp_full_match(trim(loans), '[0-9]{{1,15}}') "
        f"THEN 'loans ' || to_json(loans) || ' is not a whole number of at least 0' END",
        f"CASE WHEN NOT {_blank('year')} AND NOT regexp_full_match(trim(year), '[0-9]{{1,4}}') "
        f"THEN 'year ' || to_json(year) || ' is not a year' END",
        f"CASE WHEN NOT {_blank('system')} AND trim(system) <> $system "
        f"THEN 'system ' || to_json(system) || ' is not the delivering system ' || to_json($system) END",
    ]
    for col, table in CATEGORIES.items():
        known = ", ".join(sorted(set(table.values())))
        reasons.append(f"CASE WHEN NOT {_blank(col)} AND {_category(col, table)} IS NULL "
                       f"THEN '{col} ' || to_json({col}) || ' is not one of {known}' END")
    return reasons


def _plain_isbn(col: str) -> str:
    return f"replace(replace(upper(trim(coalesce({col}, ''))), '-', ''), ' ', '')"


def checked_sql(staged: str) -> str:
    """A query over ``staged`` (the COLUMNS as text, in delivery order) giving each row's number
    ``n``, whether it passes every check (``good``) and its normalised values. ``$system`` is the
    delivering system.

    Each check runs once per distinct value of its column (a delivery of a million rows has a
    few periods, counts and categories, and ISBNs a tenth of its rows), and the rows take the
    verdicts by hash joins: the checks cost little however long the delivery."""
    i = "_i"
    isbn13 = f"CASE WHEN length({i}) = 10 THEN {_isbn13_of_10(i)} ELSE {i} END"
    distinct = {
        "period": "CASE WHEN regexp_full_match(trim(v), '[0-9]{4}-(0[1-9]|1[0-2])') THEN trim(v) END",
        "loans": "CASE WHEN regexp_full_match(trim(v), '[0-9]{1,15}') THEN CAST(trim(v) AS BIGINT) END",
        "year": "CASE WHEN regexp_full_match(trim(v), '[0-9]{1,4}') THEN CAST(trim(v) AS INTEGER) END",
    }
    for col, table in CATEGORIES.items():
        distinct[col] = _category("v", table)
    ctes = [f"i AS (SELECT v, CASE WHEN {_isbn10_ok(i)} OR {_isbn13_ok(i)} THEN TRY_CAST({isbn13} AS BIGINT) END AS x "
            f"FROM (SELECT v, {_plain_isbn('v')} AS {i} FROM (SELECT DISTINCT isbn AS v FROM {staged})))"]
    for col, expr in distinct.items():
        ctes.append(f"c_{col} AS (SELECT v, {expr} AS x FROM (SELECT DISTINCT {col} AS v FROM {staged}))")
    joins = " ".join(f"LEFT JOIN c_{col} ON s.{col} = c_{col}.v" for col in distinct)
    optional = ("year", *CATEGORIES)
    good = " AND ".join([
        "c_period.x IS NOT NULL", "i.x IS NOT NULL", "c_loans.x IS NOT NULL",
        "(s.system IS NULL OR trim(s.system) = '' OR trim(s.system) = $system)",
        *(f"({_blank('s.' + c)} OR c_{c}.x IS NOT NULL)" for c in optional)])
    return f"""
    WITH s AS (SELECT rowid + 1 AS n, * FROM {staged}), {', '.join(ctes)}
    SELECT s.n, coalesce({good}, false) AS good, c_period.x AS period, $system AS system,
           nullif(trim(s.library), '') AS library, i.x AS isbn, c_loans.x AS loans,
           nullif(trim(s.title), '') AS title, nullif(trim(s.filing_word), '') AS filing_word,
           c_year.x AS year, c_fiction.x AS fiction, c_audience.x AS audience, c_borrower.x AS borrower
    FROM s LEFT JOIN i ON s.isbn = i.v {joins}"""


def problems_sql(staged: str, bad: str) -> str:
    """Each bad row's number and reasons: ``bad`` is a query of the numbers of the rows that
    failed (few; the reasons are worked out for them alone)."""
    i = "_i"
    return f"""
    WITH s AS (SELECT rowid + 1 AS n, *, {_plain_isbn('isbn')} AS {i} FROM {staged})
    SELECT n, list_filter([{', '.join(_reasons(i))}], lambda x: x IS NOT NULL) AS problems
    FROM s WHERE n IN ({bad}) ORDER BY n"""
