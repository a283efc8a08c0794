"""``metadatabronn stats``: a delivery loaded from a file, refused with its rows, and each
question asked on the command line, in JSON and CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest

from metadatabronn.cli import main
from metadatabronn.pipeline import Settings, ingest

from .conftest import DATA

BASE = "http://example.org"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("loans-cli") / "store"
    ingest([str(DATA / "translations" / "lc-translations.mrc"), str(DATA / "golden" / "golden.mrc")],
           Settings(store=path, base=BASE, workers=1))
    assert main(["stats", "load", str(DATA / "loans" / "sample.csv"), "--system", "bibliofil", "--store", str(path)]) == 0
    return path


def ask(capsys, store, *argv):
    capsys.readouterr()
    code = main(["stats", *argv, "--store", str(store)])
    return code, capsys.readouterr()


def test_load_refuses_a_bad_delivery_and_lists_its_rows(store, capsys):
    code, out = ask(capsys, store, "load", str(DATA / "loans" / "bad.json"), "--system", "bibliofil")
    assert code == 1 and "6 bad rows" in out.err
    answer = json.loads(out.out)
    assert answer["stored"] is False and [p["row"] for p in answer["problems"]] == [2, 3, 4, 5, 6, 7]
    code, out = ask(capsys, store, "deliveries", "--system", "bibliofil")
    assert [d["period"] for d in json.loads(out.out)] == ["2024-01", "2024-02"]


def test_every_question_answers_in_json_and_csv(store, capsys):
    code, out = ask(capsys, store, "top", "-n", "1", "--from", "2024-01", "--to", "2024-02")
    assert code == 0
    (top,) = json.loads(out.out)
    work = top["work"]
    assert top["loans"] == 33
    code, out = ask(capsys, store, "work", work, "--by", "language", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert {(r["period"], r["key"], r["loans"]) for r in rows} >= {("2024-01", "ger", "7"), ("2024-02", "fre", "6")}
    code, out = ask(capsys, store, "work", work, "--totals", "--format", "csv")
    assert "9780156014045" in out.out  # every edition, lent or not
    code, out = ask(capsys, store, "isbn", "0-15-601398-3")
    assert json.loads(out.out) == [{"period": "2024-01", "loans": 5}]
    code, out = ask(capsys, store, "languages", "--format", "csv")
    assert out.out.startswith("language,translated,loans,works\n")
    code, out = ask(capsys, store, "unmatched")
    assert [u["isbn"] for u in json.loads(out.out)] == ["9788205309753"]
    code, out = ask(capsys, store, "match-report", "--format", "csv")
    assert "bibliofil,2024-01,6,40,31," in out.out
    code, out = ask(capsys, store, "top", "--borrower", "youth")
    assert [t["loans"] for t in json.loads(out.out)] == [7]
    code, out = ask(capsys, store, "top", "--borrower", "pensjonist")
    assert code == 2 and "borrower" in out.err


def test_expression_and_creator(store, capsys):
    from metadatabronn.store.loans import Loans

    with Loans(store, read_only=True) as loans:
        expression, creator = loans.con.execute(
            "SELECT expression, creators[1] FROM editions WHERE isbn = 9780156013864").fetchone()
    code, out = ask(capsys, store, "expression", expression)
    assert json.loads(out.out) == [{"period": "2024-01", "loans": 7}]
    code, out = ask(capsys, store, "creator", creator, "--to", "2024-01")
    assert json.loads(out.out)[0]["loans"] == 27
