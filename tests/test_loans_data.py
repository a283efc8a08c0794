"""bench/loans_data.py, the synthetic deliveries: made from the records' ISBNs, a few made up, a
few malformed rows that a load refuses by number, the rest stored; the same seed, the same files."""

from __future__ import annotations

import runpy

import pytest

from metadatabronn.errors import DeliveryRejected
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.loans import load, sync
from metadatabronn.store.loans import Loans

from .conftest import DATA, ROOT

RECORDS = [DATA / "translations" / "lc-translations.mrc", DATA / "golden" / "golden.mrc"]


@pytest.fixture(scope="module")
def generator():
    return runpy.run_path(str(ROOT / "bench" / "loans_data.py"), run_name="loans_data")


def test_generated_deliveries_load_and_match(generator, tmp_path):
    made = generator["generate"](tmp_path / "out", RECORDS, rows_per_month=600, months=3, malformed=5)
    again = generator["generate"](tmp_path / "again", RECORDS, rows_per_month=600, months=3, malformed=5)
    assert made["synthetic"] and made["isbns"] == 12 + made["unknown_isbns"] and made["unknown_isbns"] >= 1
    files = {s: v["file"] for s, v in made["systems"].items()}
    assert set(files) == {"Bibliofil", "Quria", "Koha", "Mikromarc", "Tidemann", "Alma"}
    for system, path in files.items():
        assert open(path, "rb").read() == open(again["systems"][system]["file"], "rb").read()
    store = tmp_path / "store"
    ingest([str(p) for p in RECORDS], Settings(store=store, base="http://example.org", workers=1))
    loans = Loans(store)
    rows = made["systems"]["Bibliofil"]["rows"]
    with pytest.raises(DeliveryRejected) as caught:
        load(store, files["Bibliofil"], "Bibliofil", loans=loans)
    assert [p.row for p in caught.value.problems] == list(range(rows - 4, rows + 1))
    for system, path in files.items():
        result = load(store, path, system, partial=True, loans=loans)
        assert len(result.problems) == 5 and result.periods == ["2023-01", "2023-02", "2023-03"]
    sync(store, loans)
    report = loans.match_report()
    assert {r["system"] for r in report} == set(files) and all(0 < r["share"] <= 1 for r in report)
    assert sum(r["matched"] for r in report) > sum(u["loans"] for u in loans.unmatched(n=1000)) > 0
    loans.close()
