"""Loan statistics over HTTP: deliveries, the questions in JSON and CSV, and who sees what, through a
real ``metadatabronn serve`` (writer and all), real API keys and tokens from a real OpenID Connect
provider (tests/oidc.py).

The well holds the golden records and LC's translations of *Le petit prince* (one work, five
editions by Harcourt in four languages). The loan figures are made up here, as all loan data in
the tests is: no real loan file is public.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from .conftest import DATA
from .oidc import Provider
from .writeserver import GOLDEN, eventually, free_port, make_store, serving

TRANSLATIONS = DATA / "translations" / "lc-translations.mrc"
AUDIENCE = "metadatabronn"
# Le petit prince, by Harcourt (registrant prefix 978-0-15); one edition says "Harcourt, Inc."
FRE, FRE2, GER, SPA, LAT = "9780152164157", "9780156013987", "9780156013864", "9780156013925", "9780156014045"
NORTON = "9780393049978"  # Heroin and other poems (golden), Norton: not in the publishers file
WORLD = "9789810242527"  # World Scientific (golden): matched by its publisher statement only


def isbn13(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


GYLDENDAL = isbn13("978820500001")  # unknown to the well; Gyldendal's by the publishers file
CLIENTS = {
    "bibsys": ("Bibsys", ["stats:deliver"]),
    "koha": ("Koha", ["ingest"]),
    "harcourt": ("Harcourt", ["read"]),
    "norton": ("Norton", ["read"]),
    "world": ("World Scientific", ["read"]),
    "cataloguer": ("nb", ["write:work"]),
}
USERS = {"gyl": {"org": "Gyldendal", "scope": "read"},
         "quria": {"org": "Quria", "roles": ["stats:deliver"]}}
PUBLISHERS = {"Harcourt": ["978-0-15"], "Gyldendal": ["978-82-05"]}
LIMIT = 5_000_000  # bytes of a delivery, in these tests

JANUARY = [  # period, isbn, loans: Bibsys's report for January
    ("2026-01", FRE, 40), ("2026-01", GER, 3), ("2026-01", NORTON, 12), ("2026-01", GYLDENDAL, 7),
    ("2026-01", WORLD, 9), ("2026-01", "0-15-601392-4", 8)]  # SPA as an ISBN-10 with hyphens


def report(rows, system: str | None = None) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["period", "system", "isbn", "loans", "title", "fiction", "audience", "borrower"])
    for period, isbn, loans in rows:
        w.writerow([period, system or "", isbn, loans, "", "skjønn", "barn", "barn"])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def provider():
    with Provider(USERS) as p:
        yield p


@pytest.fixture(scope="module")
def well(tmp_path_factory, provider):
    port = free_port()
    store = tmp_path_factory.mktemp("loans") / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}", files=(GOLDEN, TRANSLATIONS), clients=CLIENTS)
    (store / "publishers.json").write_text(json.dumps(PUBLISHERS))
    env = {"METADATABRONN_STATS_MIN_CELL": "5", "METADATABRONN_MAX_LOANS_BYTES": str(LIMIT)}
    with serving(store, port, keys, env, "--oidc-issuer", provider.issuer,
                 "--oidc-audience", AUDIENCE) as served:
        served.provider = provider
        yield served


def deliver(well, body: bytes, client: str = "bibsys", media: str = "text/csv", query: str = ""):
    return well.post(f"/statistics/loans{query}", body, client=client, **{"Content-Type": media})


def stats(well, path: str, client: str | None = None, **params):
    headers = well.auth(client) if client else {}
    return well.http.get(f"{well.base}/statistics/{path}", params=params, headers=headers)


def work_of(well, isbn: str) -> str:
    """The id of the work of the edition with ``isbn`` (once the server's SPARQL workers, which
    reopen the store on their own, see it)."""
    found = well.http.get(f"{well.base}/manifestations", params={"isbn": isbn}).json()["items"]
    query = (f"SELECT ?w WHERE {{ <{found[0]['iri']}> <http://rdaregistry.info/Elements/m/P30139> ?e . "
             "?e <http://rdaregistry.info/Elements/e/P20231> ?w }")
    rows = eventually(lambda: well.sparql(query), f"the work of {isbn} in SPARQL")
    return rows[0]["w"].rsplit("/", 1)[1]


def agent_of(well, isbn: str) -> str:
    """The creator of the work of the edition with ``isbn``."""
    work = f"{well.base}/work/{work_of(well, isbn)}"
    rows = well.sparql(f"SELECT ?a WHERE {{ <{work}> <http://rdaregistry.info/Elements/w/P10061> ?a }}")
    return rows[0]["a"].rsplit("/", 1)[1]


def isbn_figures(node) -> list:
    """Every object in a JSON answer that gives an ISBN with a count of loans."""
    if isinstance(node, dict):
        found = [node] if "isbn" in node and "loans" in node else []
        return found + [f for v in node.values() for f in isbn_figures(v)]
    if isinstance(node, list):
        return [f for v in node for f in isbn_figures(v)]
    return []


@pytest.fixture(scope="module")
def delivered(well):
    r = deliver(well, report(JANUARY))
    assert r.status_code == 200, r.text
    r = deliver(well, report([("2026-02", FRE, 25), ("2026-02", SPA, 8)], "Bibsys"))
    assert r.status_code == 200, r.text
    return well


def test_a_delivery_says_what_was_stored(delivered):
    r = deliver(delivered, report([("2026-03", FRE, 1), ("2026-03", LAT, 2)]))
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("system", "periods", "rows", "loans")} == {
        "system": "Bibsys", "periods": ["2026-03"], "rows": 2, "loans": 3}
    # the same month again replaces it whole
    r = deliver(delivered, report([("2026-03", FRE, 6)]))
    assert (r.json()["rows"], r.json()["loans"]) == (1, 6)
    mine = stats(delivered, "deliveries", "bibsys").json()["deliveries"]
    assert [(d["period"], d["rows"], d["loans"]) for d in mine] == [
        ("2026-01", 6, 79), ("2026-02", 2, 33), ("2026-03", 1, 6)]
    deliver(delivered, report([("2026-03", FRE, 0)]))  # leave March as good as empty for the rest
    # each delivery is in the audit log: who, what was stored
    logged = [line for line in delivered.audit() if line["path"] == "/statistics/loans"]
    assert logged[-1]["principal"]["org"] == "Bibsys" and logged[-1]["status"] == 200
    assert (logged[-1]["system"], logged[-1]["periods"], logged[-1]["rows"]) == ("Bibsys", ["2026-03"], 1)


def test_bad_rows_are_refused_with_their_numbers_and_nothing_is_stored(delivered):
    bad = report([("2026-04", FRE, 10), ("2026-04", "9780152164158", 4), ("2026-04", SPA, -1),
                  ("2026-4", SPA, 2)])
    r = deliver(delivered, bad)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["bad_rows"] == 3 and [p["row"] for p in body["problems"]] == [2, 3, 4]
    assert "ISBN" in body["problems"][0]["reason"] and "loans" in body["problems"][1]["reason"]
    assert "period" in body["problems"][2]["reason"]
    assert "2026-04" not in [d["period"] for d in stats(delivered, "deliveries", "bibsys").json()["deliveries"]]
    r = deliver(delivered, bad, query="?partial=true")
    assert r.status_code == 200, r.text
    assert (r.json()["rows"], r.json()["loans"], r.json()["bad_rows"]) == (1, 10, 3)
    assert [p["row"] for p in r.json()["problems"]] == [2, 3, 4]


def test_a_row_of_another_system_is_refused(delivered):
    r = deliver(delivered, report([("2026-05", FRE, 10)], "Quria"))
    assert r.status_code == 422 and "system" in r.json()["problems"][0]["reason"]


def test_who_may_deliver(delivered):
    body = report([("2026-06", FRE, 10)])
    anonymous = delivered.http.post(f"{delivered.base}/statistics/loans", content=body,
                                    headers={"Content-Type": "text/csv"})
    assert anonymous.status_code == 401
    assert deliver(delivered, body, client="harcourt").status_code == 403
    r = deliver(delivered, body, client="koha")  # the ingest scope delivers too
    assert r.status_code == 200 and r.json()["system"] == "Koha"
    token = delivered.provider.token("quria")
    rows = [{"period": "2026-06", "isbn": FRE, "loans": 5, "fiction": "fiction", "audience": "children"}]
    r = delivered.http.post(f"{delivered.base}/statistics/loans", json=rows,
                            headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert (r.json()["system"], r.json()["loans"]) == ("Quria", 5)
    assert deliver(delivered, b"<xml/>", media="application/xml").status_code == 415
    assert deliver(delivered, b"").status_code == 400
    assert deliver(delivered, b'[{"period": "2026-06", "isbn": ', media="application/json").status_code == 400
    too_big = report([("2026-06", FRE, 1)] * (LIMIT // 20))
    assert len(too_big) > LIMIT and deliver(delivered, too_big).status_code == 413
    assert (stats(delivered, "deliveries", "bibsys").json()["deliveries"][-1]["period"]) != "2026-06"


def test_anyone_sees_a_work_with_small_counts_suppressed_and_no_isbn_figures(delivered):
    work = work_of(delivered, FRE)
    r = stats(delivered, f"work/{work}", **{"from": "2026-01", "to": "2026-02"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["loans"] == 40 + 3 + 8 + 25 + 8
    languages = {row["language"]: row for row in body["languages"]}
    assert languages["fre"]["loans"] == 65 and languages["spa"]["loans"] == 16
    assert languages["ger"]["loans"] is None and languages["ger"]["suppressed"] is True
    assert len(body["editions"]) == 5 and body["editions_without_figures"] == 5
    assert all("loans" not in e for e in body["editions"])
    by_language = stats(delivered, f"work/{work}", by="language", **{"from": "2026-01", "to": "2026-02"}).json()
    ger = [row for row in by_language["series"] if row["key"] == "ger"]
    assert ger == [{"period": "2026-01", "key": "ger", "loans": None, "suppressed": True}]
    assert stats(delivered, f"work/{work}", by="edition").json()["series"] == []
    # no anonymous answer gives an ISBN's own figure
    span = {"from": "2026-01", "to": "2026-06"}
    for path in (f"work/{work}", f"work/{work}?by=edition", f"work/{work}?by=language", "top", "languages",
                 f"expression/{body['editions'][0]['expression'].rsplit('/', 1)[1]}"):
        path, _, query = path.partition("?")
        params = dict([query.split("=")]) if query else {}
        answer = stats(delivered, path, **params, **span)
        assert answer.status_code == 200, (path, answer.text)
        assert isbn_figures(answer.json()) == [], path


def test_isbn_figures_only_for_the_editions_publisher(delivered):
    assert stats(delivered, f"isbn/{FRE}").status_code == 401
    r = stats(delivered, f"isbn/{FRE}", "harcourt", **{"from": "2026-01", "to": "2026-02"})
    assert r.status_code == 200, r.text
    assert r.json()["loans"] == 65 and [row["loans"] for row in r.json()["series"]][:2] == [40, 25]
    assert stats(delivered, f"isbn/{NORTON}", "harcourt").status_code == 403
    assert stats(delivered, f"isbn/{FRE}", "norton").status_code == 403
    assert stats(delivered, f"isbn/{NORTON}", "norton").status_code == 200  # its statement names it
    # the publisher statement matched whole, folded: World Scientific is in no publishers file
    assert stats(delivered, f"isbn/{WORLD}", "world").json()["loans"] == 9
    assert stats(delivered, f"isbn/{WORLD}", "norton").status_code == 403
    # the edition whose statement says "Harcourt, Inc." is Harcourt's by its registrant prefix
    assert stats(delivered, f"isbn/{LAT}", "harcourt").status_code == 200
    assert stats(delivered, "isbn/9780152164158", "harcourt").status_code == 422


def test_a_publishers_token_sees_its_own_isbns_and_not_anothers(delivered):
    token = delivered.provider.token("gyl")
    h = {"Authorization": f"Bearer {token}"}
    r = delivered.http.get(f"{delivered.base}/statistics/isbn/{GYLDENDAL}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["loans"] == 7 and r.json()["manifestations"] == []  # unknown to the well, still its own
    assert delivered.http.get(f"{delivered.base}/statistics/isbn/{FRE}", headers=h).status_code == 403


def test_a_publisher_sees_its_own_editions_inside_a_work(delivered):
    work = work_of(delivered, FRE)
    mine = stats(delivered, f"work/{work}", "harcourt", **{"from": "2026-01", "to": "2026-02"}).json()
    assert {e["isbn"]: e["loans"] for e in mine["editions"]} == {FRE: 65, SPA: 16, GER: 3, FRE2: 0, LAT: 0}
    assert "editions_without_figures" not in mine
    series = stats(delivered, f"work/{work}", "harcourt", by="edition", **{"from": "2026-01", "to": "2026-01"})
    assert {(row["key"], row["loans"]) for row in series.json()["series"]} == {(FRE, 40), (GER, 3), (SPA, 8)}
    other = stats(delivered, f"work/{work}", "norton", by="edition").json()
    assert other["series"] == [] and all("loans" not in e for e in other["editions"])


def test_the_public_questions(delivered):
    span = {"from": "2026-01", "to": "2026-02"}
    top = stats(delivered, "top", n=3, **span).json()
    assert top["works"][0]["loans"] == 84 and top["works"][0]["work"].endswith(work_of(delivered, FRE))
    assert stats(delivered, "top", fiction="nonsense").status_code == 422
    languages = {(r["language"], r["translated"]): r for r in stats(delivered, "languages", **span).json()["languages"]}
    assert languages[("fre", False)]["loans"] == 65 and languages[("eng", False)]["loans"] == 12 + 9
    assert languages[("ger", True)] == {"language": "ger", "translated": True, "loans": None, "works": 1,
                                        "suppressed": True}
    assert languages[("spa", True)]["loans"] == 16
    creator = stats(delivered, f"creator/{agent_of(delivered, FRE)}", **span).json()
    assert [w["loans"] for w in creator["works"]] == [84]
    assert stats(delivered, "work/no-such-work").status_code == 404
    assert stats(delivered, "work/not an id").status_code == 404
    assert stats(delivered, "top", **{"from": "2026-13"}).status_code == 422
    assert stats(delivered, "top", **{"from": "2026-03", "to": "2026-01"}).status_code == 422


def test_csv_by_accept_or_format(delivered):
    work = work_of(delivered, FRE)
    r = delivered.http.get(f"{delivered.base}/statistics/work/{work}", params={"by": "language"},
                           headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {"period", "key", "loans"} <= set(rows[0])
    assert {row["loans"] for row in rows if row["key"] == "ger"} == {""}  # suppressed: empty
    assert stats(delivered, "languages", format="csv").text.startswith("language,")
    assert stats(delivered, "languages", format="xml").status_code == 406


def test_unmatched_is_for_cataloguers(delivered):
    assert stats(delivered, "unmatched").status_code == 401
    assert stats(delivered, "unmatched", "harcourt").status_code == 403
    r = stats(delivered, "unmatched", "cataloguer")
    assert r.status_code == 200 and [row["isbn"] for row in r.json()["isbns"]] == [GYLDENDAL]


def test_a_system_sees_its_own_deliveries_and_match_report(delivered):
    assert stats(delivered, "deliveries").status_code == 401
    assert stats(delivered, "deliveries", "harcourt").status_code == 403
    own = stats(delivered, "match-report", "bibsys").json()["periods"]
    assert own and {row["system"] for row in own} == {"Bibsys"}
    january = next(row for row in own if row["period"] == "2026-01")
    assert (january["loans"], january["matched"]) == (79, 72)
    assert stats(delivered, "match-report", "bibsys", system="Koha").status_code == 403
    every = stats(delivered, "deliveries", "cataloguer").json()["deliveries"]
    assert {"Bibsys", "Koha", "Quria"} <= {row["system"] for row in every}


def test_records_arriving_later_are_matched(tmp_path, provider):
    """Loans delivered for ISBNs the well does not know yet are matched when their records are
    submitted: the server brings its edition map up to the store before answering. (And
    ``--stats-min-cell 1`` shows every count.)"""
    port = free_port()
    store = tmp_path / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}", files=(TRANSLATIONS,),
                      clients={"bibsys": ("Bibsys", ["stats:deliver"]), "koha": ("Koha", ["ingest"]),
                               "cataloguer": ("nb", ["write:work"])})
    with serving(store, port, keys, None, "--stats-min-cell", "1") as well:
        assert deliver(well, report([("2026-01", NORTON, 12), ("2026-01", FRE, 20), ("2026-01", GER, 3)])
                       ).status_code == 200
        languages = stats(well, f"work/{work_of(well, FRE)}").json()["languages"]
        assert {r["language"]: r["loans"] for r in languages}["ger"] == 3  # --stats-min-cell 1: nothing hidden
        assert [r["isbn"] for r in stats(well, "unmatched", "cataloguer").json()["isbns"]] == [NORTON]
        r = well.post("/records?name=golden.mrc", GOLDEN.read_bytes(), client="koha")
        assert r.status_code in (200, 422), r.text
        eventually(lambda: stats(well, "unmatched", "cataloguer").json()["isbns"] == [],
                   "the Norton edition matched after its record arrived")
        assert stats(well, f"work/{work_of(well, NORTON)}").json()["loans"] == 12


def test_the_publishers_file_folds_names_and_a_damaged_one_matches_nothing(tmp_path):
    from metadatabronn.web.statistics_access import Edition, Publishers, is_publisher

    path = tmp_path / "publishers.json"
    path.write_text(json.dumps({"Gyldendal Norsk Forlag": ["978-82-05"], "Cappelen Damm": ["97882 02"]}))
    publishers = Publishers(path)
    gyldendal = Edition(GYLDENDAL, "978-82-05")
    assert is_publisher("gyldendal norsk forlag", gyldendal, publishers)
    assert not is_publisher("Cappelen Damm", gyldendal, publishers)
    assert is_publisher("Cappelen Damm", Edition("9788202000000", "978-82-02"), publishers)
    # by the statement, folded whole: "Harcourt, Inc." is not Harcourt
    assert is_publisher("Harcourt", Edition(FRE, None, ("Harcourt,",)), publishers)
    assert not is_publisher("Harcourt", Edition(LAT, None, ("Harcourt, Inc.",)), publishers)
    assert not is_publisher("", Edition(FRE, None, ("",)), publishers)
    path.write_text("{not json")
    assert not is_publisher("gyldendal norsk forlag", gyldendal, publishers)


def test_the_small_count_threshold_is_a_setting(tmp_path):
    from metadatabronn.errors import ConfigError
    from metadatabronn.web.statistics_access import min_cell, suppress

    assert min_cell({}) == 5 and min_cell({"METADATABRONN_STATS_MIN_CELL": "1"}) == 1
    for bad in ("0", "x", "2.5"):
        with pytest.raises(ConfigError):
            min_cell({"METADATABRONN_STATS_MIN_CELL": bad})
    rows = [{"loans": 0}, {"loans": 2}, {"loans": 3}]
    assert suppress(rows, 3) == [{"loans": 0}, {"loans": None, "suppressed": True}, {"loans": 3}]
    assert suppress(rows, 1) == rows


def test_the_roll_up_alone(delivered):
    work = work_of(delivered, FRE)
    span = {"from": "2026-01", "to": "2026-02"}
    full = stats(delivered, f"work/{work}", **span).json()
    alone = stats(delivered, f"work/{work}", editions="false", **span).json()
    assert alone["loans"] == full["loans"] == 84 and alone["series"] == full["series"]
    assert "editions" not in alone and isbn_figures(alone) == []


def test_a_question_asked_during_a_delivery_sees_it_whole_or_not_at_all(delivered):
    import threading

    work = work_of(delivered, FRE)
    assert deliver(delivered, report([("2026-07", FRE, 10)])).status_code == 200
    big = report([("2026-07", FRE, 1)] * 60_000)  # one row per library, say
    answers, done = set(), threading.Event()

    def ask():
        while not done.is_set():
            r = stats(delivered, f"work/{work}", editions="false", **{"from": "2026-07", "to": "2026-07"})
            answers.add(r.json()["loans"])

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        r = deliver(delivered, big)
    finally:
        done.set()
        asker.join(60)
    assert r.status_code == 200 and r.json()["loans"] == 60_000
    assert answers <= {10, 60_000} and answers
    assert stats(delivered, f"work/{work}", editions="false", **{"from": "2026-07", "to": "2026-07"}
                 ).json()["loans"] == 60_000


def test_loans_held_by_another_process_are_503_until_it_lets_go(tmp_path):
    from metadatabronn.store.loans import Loans

    port = free_port()
    store = tmp_path / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}", files=(TRANSLATIONS,), clients={})
    holder = Loans(store)  # as a 'metadatabronn stats' command would
    try:
        with serving(store, port, keys) as well:
            r = stats(well, "top")
            assert r.status_code == 503 and r.headers["retry-after"] and "another process" in r.json()["detail"]
            holder.close()
            holder = None
            assert stats(well, "top").status_code == 200
    finally:
        if holder is not None:
            holder.close()
