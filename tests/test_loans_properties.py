"""Properties of the loan figures: the ISBN check run in SQL agrees with isbnlib for any ISBN-like
text, and whatever is delivered, a period's loans are the sum over works plus the unmatched."""

from __future__ import annotations

from pathlib import Path

import isbnlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.loans import sync
from metadatabronn.store.loans import LoanRow, Loans

from .conftest import DATA, examples

BASE = "http://example.org"
PERIODS = ["2023-12", "2024-01", "2024-02"]
UNKNOWN = ["9788205309753", "978-82-02-00000-4", "9788232000111", "0-306-40615-2"]


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    path: Path = tmp_path_factory.mktemp("loans-props") / "store"
    ingest([str(DATA / "translations" / "lc-translations.mrc"), str(DATA / "golden" / "golden.mrc")],
           Settings(store=path, base=BASE, workers=1))
    loans = Loans(path)
    sync(path, loans)
    known = [str(i) for (i,) in loans.con.execute("SELECT DISTINCT isbn FROM editions ORDER BY isbn").fetchall()]
    yield loans, known
    loans.close()


def _check13(twelve: str) -> str:
    return str((10 - sum((1 if k % 2 == 0 else 3) * int(c) for k, c in enumerate(twelve)) % 10) % 10)


def _check10(nine: str) -> str:
    r = (11 - sum((10 - k) * int(c) for k, c in enumerate(nine)) % 11) % 11
    return "X" if r == 10 else str(r)


digits = st.text("0123456789", min_size=9, max_size=9)
isbn_like = st.one_of(
    digits.map(lambda d: d + _check10(d)),  # valid ISBN-10s
    st.tuples(digits, st.sampled_from("0123456789Xx")).map("".join),  # mostly invalid ones
    st.tuples(st.sampled_from(["978", "979", "977"]), digits).map(lambda t: t[0] + t[1] + _check13(t[0] + t[1])),
    st.tuples(st.sampled_from(["978", "979"]), digits, st.sampled_from("0123456789")).map("".join),
    st.text("0123456789X-", max_size=15),
)
hyphenated = st.tuples(isbn_like, st.integers(0, 14)).map(
    lambda t: t[0][:t[1]] + "-" + t[0][t[1]:] if 0 < t[1] < len(t[0]) else t[0])


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(hyphenated, min_size=1, max_size=25))
def test_the_sql_isbn_check_agrees_with_isbnlib(synced, isbns):
    loans, _ = synced
    result = loans.replace("props-check", [LoanRow("2030-01", i, 1) for i in isbns], partial=True) \
        if any(isbnlib.is_isbn10(i.replace("-", "")) or isbnlib.is_isbn13(i.replace("-", "")) for i in isbns) \
        else None
    bad = {p.row for p in result.problems} if result else set(range(1, len(isbns) + 1))
    for n, isbn in enumerate(isbns, 1):
        plain = isbn.replace("-", "")
        valid = isbnlib.is_isbn10(plain) or isbnlib.is_isbn13(plain)
        assert (n not in bad) == bool(valid), isbn
    if result:
        stored = sorted(i for (i,) in loans.con.execute(
            "SELECT isbn FROM loans WHERE system = 'props-check' AND period = '2030-01'").fetchall())
        expected = sorted(int(isbnlib.to_isbn13(i.replace("-", ""))) for i in isbns
                          if isbnlib.is_isbn10(i.replace("-", "")) or isbnlib.is_isbn13(i.replace("-", "")))
        assert stored == expected


row = st.builds(lambda p, i, n, b: LoanRow(p, i, n, borrower=b), st.sampled_from(PERIODS), st.integers(0, 40),
                st.integers(0, 500), st.sampled_from([None, "barn", "voksen", "youth"]))


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["bibliofil", "quria", "koha"]), st.lists(row, min_size=1, max_size=30),
                       min_size=1, max_size=3))
def test_a_periods_loans_are_the_works_plus_the_unmatched(synced, deliveries):
    loans, known = synced
    pool = known + UNKNOWN
    for system, rows in deliveries.items():
        loans.replace(system, [LoanRow(r.period, pool[int(r.isbn) % len(pool)], r.loans, borrower=r.borrower)
                               for r in rows])
    report = loans.match_report()
    for period in PERIODS:
        delivered = sum(r["loans"] for r in report if r["period"] == period)
        matched = sum(r["matched"] for r in report if r["period"] == period)
        works = sum(w["loans"] for w in loans.top_works(period, period, n=10_000))
        unmatched = sum(u["loans"] for u in loans.unmatched(period, period, n=10_000))
        assert works == matched and works + unmatched == delivered
        by_language = sum(r["loans"] for r in loans.by_language(period, period))
        assert by_language == matched
