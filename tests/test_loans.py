"""Loan statistics (store.loans, pipeline.loans): deliveries checked and replaced whole, the edition
map kept in step with ingest, deletion and merges, and each question, on a real store built from
tests/data records and a real loans.duckdb beside it. The deliveries are synthetic
(tests/data/loans/README.md)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from metadatabronn.errors import DeliveryRejected
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.loans import json_rows, load, sync
from metadatabronn.store import Store
from metadatabronn.store.loans import LoanRow, Loans
from metadatabronn.store.merging import merge

from .conftest import DATA, copy_store, delete_golden

BASE = "http://example.org"
TRANSLATIONS = DATA / "translations" / "lc-translations.mrc"
GOLDEN = DATA / "golden" / "golden.mrc"
SAMPLE = DATA / "loans" / "sample.csv"
BAD = DATA / "loans" / "bad.json"
PRINCE = f"{BASE}/manifestation/DLC-00012999"  # Le petit prince, ISBNs 9780152164157 and 9780156013987
SEMICONDUCTOR = "9781558994911"  # golden 00030568


def run(store: Path, *paths) -> None:
    ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=1))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("loans") / "store"
    run(path, TRANSLATIONS, GOLDEN)
    return path


@pytest.fixture
def store(built, tmp_path) -> Path:
    return copy_store(built, tmp_path / "store")


def work_of(store_path: Path, manifestation: str) -> str:
    s = Store(store_path, read_only=True)
    try:
        return s.values(manifestation, "http://rdaregistry.info/Elements/m/P30135")[0]
    finally:
        s.close()


def loaded(store: Path) -> Loans:
    loans = Loans(store)
    load(store, SAMPLE, "bibliofil", loans=loans)
    sync(store, loans)
    return loans


# deliveries -------------------------------------------------------------------------------

def test_a_delivery_is_stored_as_isbn13_with_norwegian_categories(store):
    loans = Loans(store)
    result = load(store, SAMPLE, "bibliofil", loans=loans)
    assert (result.periods, result.rows, result.loans) == (["2024-01", "2024-02"], 9, 49)
    rows = loans.con.execute("SELECT isbn, loans, fiction, audience, borrower, library, system FROM loans "
                             "WHERE period = '2024-01' ORDER BY isbn, loans").fetchall()
    # ISBN-10 0-15-601398-3 is 9780156013987; 015601386X is 9780156013864; English synonyms stored in Norwegian
    assert (9780156013987, 5, "skjønn", "barn", "barn", "NO-0301000", "bibliofil") in rows
    assert (9780156013864, 7, "skjønn", "barn", "ungdom", "2030100", "bibliofil") in rows
    assert [d["period"] for d in loans.deliveries("bibliofil")] == ["2024-01", "2024-02"]
    loans.close()


def test_a_second_delivery_replaces_that_system_and_period_whole(store):
    loans = Loans(store)
    load(store, SAMPLE, "bibliofil", loans=loans)
    loans.replace("quria", [LoanRow("2024-01", "9780152164157", 100)])
    again = loans.replace("bibliofil", [LoanRow("2024-01", "9780152164157", 1)])
    assert (again.periods, again.rows, again.loans) == (["2024-01"], 1, 1)
    totals = dict(loans.con.execute("SELECT system || ' ' || period, sum(loans) FROM loans GROUP BY ALL").fetchall())
    assert totals == {"bibliofil 2024-01": 1, "bibliofil 2024-02": 9, "quria 2024-01": 100}
    assert {(d["system"], d["period"], d["loans"]) for d in loans.deliveries()} == {
        ("bibliofil", "2024-01", 1), ("bibliofil", "2024-02", 9), ("quria", "2024-01", 100)}
    loans.close()


def test_readers_never_see_half_a_delivery(store):
    loans = Loans(store)
    big = [LoanRow("2024-05", "9780152164157", 1) for _ in range(3000)]  # 3,000 loans
    small = [LoanRow("2024-05", "9780156013987", 7)]
    loans.replace("bibliofil", small)
    seen: set[int] = set()
    stop = threading.Event()

    def read():
        cur = loans.con.cursor()
        while not stop.is_set():
            (total,) = cur.execute("SELECT coalesce(sum(loans), 0) FROM loans WHERE system = 'bibliofil' "
                                   "AND period = '2024-05'").fetchone()
            seen.add(int(total))
        cur.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(6):
            loans.replace("bibliofil", big if i % 2 == 0 else small)
    finally:
        stop.set()
        reader.join()
    assert seen and seen <= {3000, 7}
    loans.close()


def test_bad_rows_refuse_the_delivery_with_their_numbers_and_reasons(store):
    loans = Loans(store)
    with pytest.raises(DeliveryRejected) as caught:
        load(store, BAD, "bibliofil", loans=loans)
    reasons = {p.row: p.reason for p in caught.value.problems}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert "period" in reasons[2] and "YYYY-MM" in reasons[2]
    assert "check digit" in reasons[3]
    assert "whole number" in reasons[4] and "whole number" in reasons[5]
    assert "borrower" in reasons[6] and "pensjonist" in reasons[6]
    assert "quria" in reasons[7] and "delivering system" in reasons[7]
    assert loans.con.execute("SELECT count(*) FROM loans").fetchone() == (0,)
    assert loans.deliveries() == []
    loans.close()


def test_partial_stores_the_good_rows_and_reports_the_rest(store):
    loans = Loans(store)
    result = load(store, BAD, "bibliofil", partial=True, loans=loans)
    assert (result.rows, result.loans, result.periods) == (2, 7, ["2024-03"])
    assert [p.row for p in result.problems] == [2, 3, 4, 5, 6, 7]
    loans.close()


def test_a_header_without_the_isbn_column_is_refused(store, tmp_path):
    bad = tmp_path / "no-isbn.csv"
    bad.write_text("period,loans\n2024-01,3\n")
    with pytest.raises(DeliveryRejected) as caught:
        load(store, bad, "bibliofil")
    assert caught.value.problems[0].row == 0 and "isbn" in caught.value.problems[0].reason


def test_json_rows_are_read_a_piece_at_a_time(monkeypatch):
    import io

    from metadatabronn.pipeline import loans as pl

    monkeypatch.setattr(pl, "_READ", 5)  # objects and numbers cut at every buffer's end
    text = BAD.read_text()
    assert list(json_rows(io.StringIO(text))) == __import__("json").loads(text)
    lines = '{"period": "2024-01", "loans": 12345}\n{"period": "2024-02", "loans": 6}\n'
    assert [r["loans"] for r in json_rows(io.StringIO(lines))] == [12345, 6]


# the edition map and the questions ----------------------------------------------------------

def test_work_questions_roll_up_editions_and_languages(store):
    loans = loaded(store)
    prince = work_of(store, PRINCE)
    assert loans.work_series(prince) == [{"period": "2024-01", "loans": 27}, {"period": "2024-02", "loans": 6}]
    assert loans.work_series(prince, "2024-02", "2024-02") == [{"period": "2024-02", "loans": 6}]
    by_language = loans.work_series(prince, by="language")
    assert {(r["period"], r["key"]): r["loans"] for r in by_language} == {
        ("2024-01", "fre"): 17, ("2024-01", "ger"): 7, ("2024-01", "spa"): 3, ("2024-02", "fre"): 6}
    by_edition = loans.work_series(prince, "2024-01", "2024-01", by="edition")
    assert {r["key"]: r["loans"] for r in by_edition} == {
        "9780152164157": 12, "9780156013987": 5, "9780156013864": 7, "9780156013925": 3}
    totals = loans.work_totals(prince)
    assert totals["loans"] == 33 and "Petit prince" in totals["title"]
    assert {e["isbn"]: e["loans"] for e in totals["editions"]}["9780156014045"] == 0  # an edition not lent
    assert totals["languages"][0] == {"language": "fre", "loans": 23}
    german = next(e["expression"] for e in totals["editions"] if e["language"] == "ger")
    assert loans.expression_totals(german) == [{"period": "2024-01", "loans": 7}]
    assert loans.isbn_totals("0-15-601398-3") == [{"period": "2024-01", "loans": 5}]
    loans.close()


def test_top_works_by_category_languages_and_creators(store):
    loans = loaded(store)
    prince = work_of(store, PRINCE)
    top = loans.top_works("2024-01", "2024-02")
    assert [t["work"] for t in top][:1] == [prince] and top[0]["loans"] == 33
    assert [t["loans"] for t in loans.top_works(borrower="ungdom")] == [7]
    nonfiction = loans.top_works(fiction="fag", audience="voksen")
    assert [(t["work"], t["loans"]) for t in nonfiction] == [
        (work_of(store, f"{BASE}/manifestation/DLC-00030568"), 4), (work_of(store, f"{BASE}/manifestation/DLC-00011171"), 2)]
    languages = {(r["language"], r["translated"]): r["loans"] for r in loans.by_language()}
    # German and Spanish are translations of the French; the English Music in Cuba of a Spanish original
    assert languages[("ger", True)] == 7 and languages[("spa", True)] == 3 and languages[("fre", False)] == 23
    assert languages[("eng", True)] == 2
    creator = loans.con.execute("SELECT creators[1] FROM editions WHERE isbn = 9780152164157").fetchone()[0]
    works = loans.creator_works(creator)
    assert works[0]["work"] == prince and works[0]["loans"] == 33
    loans.close()


def test_unmatched_and_the_match_report(store):
    loans = loaded(store)
    unknown = loans.unmatched()
    assert unknown == [{"isbn": "9788205309753", "loans": 10, "title": "Ukjent bok", "filing_word": "Hansen",
                        "year": 2019, "systems": ["bibliofil"]}]
    report = {r["period"]: r for r in loans.match_report()}
    assert (report["2024-01"]["loans"], report["2024-01"]["matched"]) == (40, 31)
    assert report["2024-02"]["share"] == round(8 / 9, 4)
    loans.close()


def test_an_unknown_isbn_matches_once_its_record_is_ingested(tmp_path):
    path = tmp_path / "store"
    run(path, TRANSLATIONS)
    loans = loaded(path)
    assert SEMICONDUCTOR in {u["isbn"] for u in loans.unmatched()}
    run(path, GOLDEN)
    result = sync(path, loans)
    assert not result.first and result.manifestations == 22  # only the new records are read
    assert SEMICONDUCTOR not in {u["isbn"] for u in loans.unmatched()}
    assert loans.work_series(work_of(path, f"{BASE}/manifestation/DLC-00030568")) == [
        {"period": "2024-01", "loans": 4}]
    assert sync(path, loans).manifestations == 0  # nothing changed since
    loans.close()


def test_a_deleted_record_leaves_its_isbn_unmatched(store):
    loans = loaded(store)
    work = work_of(store, f"{BASE}/manifestation/DLC-00030568")
    assert SEMICONDUCTOR not in {u["isbn"] for u in loans.unmatched()}
    delete_golden(store, BASE, "00030568")
    sync(store, loans)
    assert SEMICONDUCTOR in {u["isbn"] for u in loans.unmatched()}
    assert loans.work_series(work) == []
    loans.close()


def test_a_merged_work_rolls_up_to_the_survivor(store):
    loans = loaded(store)
    loans.replace("quria", [LoanRow("2024-01", "9781883285197", 11)])  # golden 00022737
    survivor, merged = work_of(store, PRINCE), work_of(store, f"{BASE}/manifestation/DLC-00022737")
    assert loans.work_series(merged) == [{"period": "2024-01", "loans": 11}]
    s = Store(store, BASE)
    try:
        merge(s, merged, survivor)
    finally:
        s.close()
    sync(store, loans)
    assert loans.work_series(merged) == []
    assert loans.work_series(survivor)[0] == {"period": "2024-01", "loans": 27 + 11}
    loans.close()


def test_a_read_only_view_answers_and_refuses_writes(store):
    loaded(store).close()
    view = Loans(store, read_only=True)
    assert view.work_series(work_of(store, PRINCE))
    with pytest.raises(Exception):
        view.replace("bibliofil", [LoanRow("2024-01", "9780152164157", 1)])
    view.close()


def test_two_records_with_one_isbn_count_its_loans_once(tmp_path):
    (tmp_path / "store").mkdir()
    loans = Loans(tmp_path / "store")
    row = lambda m, w: (9780152164157, m, f"{m}/e", w, "fre", None, [], None, "978-0-15", "T", 2001, w)  # noqa: E731
    loans.put_editions(["m/b", "m/a"], [row("m/b", "w/2"), row("m/a", "w/1")], {})
    loans.replace("bibliofil", [LoanRow("2024-01", "9780152164157", 5)])
    assert loans.work_series("w/1") == [{"period": "2024-01", "loans": 5}] and loans.work_series("w/2") == []
    assert sum(t["loans"] for t in loans.top_works()) == 5
    loans.put_editions(["m/a"], [], {})  # the first record deleted: the other one counts now
    assert loans.work_series("w/2") == [{"period": "2024-01", "loans": 5}] and loans.work_series("w/1") == []
    loans.close()


def test_a_delivery_that_fails_half_way_leaves_the_one_before(store, monkeypatch):
    loans = loaded(store)
    before = loans.deliveries(), loans.match_report(), loans.work_series(work_of(store, PRINCE))

    def broken():
        raise OSError("disk full")

    monkeypatch.setattr(loans, "_summarise", broken)  # after the rows are deleted and inserted
    with pytest.raises(OSError):
        loans.replace("bibliofil", [LoanRow("2024-01", "9780152164157", 1000)])
    monkeypatch.undo()
    assert (loans.deliveries(), loans.match_report(), loans.work_series(work_of(store, PRINCE))) == before
    loans.close()


def test_a_feed_behind_the_map_reads_the_map_again(store):
    loans = loaded(store)
    loans.put_editions((), [], {"sync_feed": "999999999"})
    result = sync(store, loans)
    assert result.first and loans.match_report()[0]["matched"] == 31
    loans.close()
