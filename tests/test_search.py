"""The text index (store.search): its folding, its upkeep by put and remove, its ranking, and
title, creator and any search through SRU and /works over a real store with real records
(LC, a Norwegian public library, BIBSYS, Fennica)."""

from __future__ import annotations

import sqlite3
import unicodedata

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import search
from metadatabronn.store.search import Text, fold
from metadatabronn.web import create_app

from .conftest import DATA, ROOT, delete_golden

GOLDEN = DATA / "golden" / "golden.mrc"
NORWEGIAN = (DATA / "marc" / "deichman-BS_external_sru_data_micromarc.xml",
             DATA / "marc" / "bibsys-SRU_response_2_hits.xml", ROOT / "data" / "fennica-sample.marcxml")
BASE = "http://example.org"
SRW = "{http://www.loc.gov/zing/srw/}"


# folding -----------------------------------------------------------------------------------

@given(st.text())
def test_folding_twice_is_folding_once(text):
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_folding_ascii_takes_a_short_way_to_the_same_place(text):
    assert fold(text) == search._fold_unicode(text)


LATIN = st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x24F, categories=("Lu", "Ll")))


@given(LATIN)
def test_folding_ignores_case_and_how_accents_are_encoded(text):
    assert fold(text.upper()) == fold(text.lower()) == fold(unicodedata.normalize("NFD", text))


@pytest.mark.parametrize("given_,folded", [
    ("Bjørnson, Bjørnstjerne,", "bjornson bjornstjerne"), ("Kjærstad, Jan", "kjaerstad jan"),
    ("Ålesund", "aalesund"), ("Lagerlöf, Selma", "lagerlof selma"),
    ("Fänrik Ståls sägner", "fanrik staals sagner"),
    ("Prøysen, Alf,", "proysen alf"), ("DARPA's internettprotokoll :", "darpa s internettprotokoll"),
    ("Œuvres complètes", "oeuvres completes"), ("Straße", "strasse"), ("Łódź", "lodz"),
])
def test_fold_table(given_, folded):
    assert fold(given_) == folded


def index(*texts: Text) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    search.create(conn)
    search.create(conn)  # idempotent
    search.put(conn, texts)
    return conn


def found(conn, field: str, value: str, relation: str = "all") -> list[str]:
    return search.search_manifestations(conn, field, value, relation, limit=50)


# the Nordic spellings find each other, whichever is indexed and whichever is asked
NORDIC = [("Bjørnson", "Bjornson"), ("Kjærstad", "Kjaerstad"), ("Ålesund", "Aalesund"), ("Ålesund", "Alesund"),
          ("Aalesund", "Alesund"), ("Lagerlöf", "Lagerlof"), ("Mäkinen", "Makinen"), ("Brøgger", "BRØGGER")]


@pytest.mark.parametrize("one,other", NORDIC + [(b, a) for a, b in NORDIC])
def test_nordic_spellings_find_each_other(one, other):
    conn = index(Text("m1", "w1", (f"Om {one}",), (f"{one}, Kirsti",)), Text("m2", "w2", ("Sult",), ("Hamsun, Knut",)))
    assert found(conn, "title", other) == found(conn, "creator", other) == found(conn, "any", other) == ["m1"]
    assert found(conn, "title", f"om {other}", "adj") == ["m1"]


def test_prefixes_explicit_and_typed_in_part():
    conn = index(Text("m1", "w1", ("History of the Norwegian people",), (), "History of the Norwegian people"),
                 Text("m2", "w2", ("Historical atlas of Norway",), (), "Historical atlas of Norway"),
                 Text("m3", "w3", ("Hist",), (), "Hist"))
    assert sorted(found(conn, "title", "histor*")) == ["m1", "m2"]
    assert found(conn, "title", "histor") == []
    assert sorted(found(conn, "title", "nor* hist*")) == ["m1", "m2"]
    # /works: the last word may be typed in part; the whole word first
    assert [w for w, _ in search.search_works(conn, "hist")][0] == "w3"
    assert sorted(w for w, _ in search.search_works(conn, "hist")) == ["w1", "w2", "w3"]
    assert sorted(w for w, _ in search.search_works(conn, "historical at")) == ["w2"]
    assert search.search_works(conn, "historical at ") == []  # a space after it: a whole word


def test_put_replaces_and_remove_takes_out():
    conn = index(Text("m1", "w1", ("Faith and reason", "the Notre Dame symposium 1999"), ("Smith, Timothy L.",),
                      "Faith and reason"),
                 Text("m2", "w2", ("Reason and faith",), ("Fiske, A. S.",), "Reason and faith"))
    assert sorted(found(conn, "title", "faith")) == ["m1", "m2"]
    search.put(conn, [Text("m1", "w9", ("Plane trigonometry",), ("Lyman, Elmer A.",), "Plane trigonometry")])
    assert found(conn, "title", "faith") == ["m2"] and found(conn, "title", "symposium") == []
    assert found(conn, "creator", "smith") == [] and found(conn, "title", "trigonometry") == ["m1"]
    assert found(conn, "title", "faith and reason", "exact") == []
    assert search.search_works(conn, "plane") == [("w9", "Plane trigonometry")]
    search.remove(conn, ["m1", "not indexed"])
    assert found(conn, "title", "trigonometry") == [] and found(conn, "creator", "lyman") == []
    assert found(conn, "title", "plane trigonometry", "exact") == [] and search.search_works(conn, "plane") == []
    assert [r for r in conn.execute("SELECT count(*) FROM search_key")] == [(2,)]


def test_relations():
    conn = index(Text("m1", "w1", ("Supply chain management",), ("Mentzer, John T.",)),
                 Text("m2", "w2", ("Basics of supply chain management",), ("Fredendall, Lawrence D.",)),
                 Text("m3", "w3", ("Management of the supply of chains",), ()))
    assert sorted(found(conn, "title", "management supply")) == ["m1", "m2", "m3"]
    assert sorted(found(conn, "title", "supply chain", "adj")) == ["m1", "m2"]
    assert sorted(found(conn, "title", "basics mentzer", "any")) == ["m2"]
    assert sorted(found(conn, "any", "basics mentzer", "any")) == ["m1", "m2"]
    assert found(conn, "title", "Supply chain management.", "exact") == ["m1"]
    assert found(conn, "any", "mentzer john t", "exact") == ["m1"] and found(conn, "title", "mentzer") == []


@pytest.mark.parametrize("query,titles", [
    # real LC titles: without the exact title first, BM25 puts "Reason and faith" and "Plane
    # trigonometry with four-place tables" before it
    ("faith and reason", [("Reason and faith,",), ("Faith and reason :", "the Notre Dame symposium 1999"),
                          ("Faith, reason, and philosophy :",
                           "lectures at the al-Azhar, Qum, Tehran, Lahore and Beijing")]),
    ("Plane trigonometry", [("Plane trigonometry with four-place tables;",), ("The elements of plane trigonometry.",),
                            ("Plane trigonometry,",), ("Plane and spherical trigonometry,",)]),
])
def test_the_exact_title_comes_first(query, titles):
    conn = index(*(Text(f"m{i}", f"w{i}", t, (), t[0]) for i, t in enumerate(titles)))
    exact = next(f"m{i}" for i, t in enumerate(titles) if fold(t[0]) == fold(query))
    assert found(conn, "title", query)[0] == exact
    assert found(conn, "any", query)[0] == exact
    assert search.search_works(conn, query)[0][0] == "w" + exact[1:]
    assert len(found(conn, "title", query)) == len(titles)


def test_a_common_word_past_the_ranked_window_is_still_found_whole(monkeypatch):
    monkeypatch.setattr(search, "RANKED", 5)
    monkeypatch.setattr(search, "CHUNK", 3)
    conn = index(*(Text(f"m{i}", f"w{i % 7}", (f"The story {'of the sea ' * (i % 3)}number {i}",), ())
                   for i in range(20)))
    every = found(conn, "title", "story")
    assert sorted(every) == sorted(f"m{i}" for i in range(20))
    assert sorted(w for w, _ in search.search_works(conn, "story", limit=20)) == sorted(f"w{i}" for i in range(7))
    assert search.count(conn, search.expression("title", search.Words.of("story")), 10) == 10


def test_a_search_asked_again_is_answered_from_memory_until_another_connection_changes_the_index(tmp_path,
                                                                                              monkeypatch):
    file = tmp_path / "catalogue.sqlite3"
    writer = sqlite3.connect(file, isolation_level=None)
    search.create(writer)
    search.put(writer, [Text("m1", "w1", ("The history of Norway",), ()), Text("m2", "w2", ("A history of Oslo",), ())])
    reader = sqlite3.connect(f"file:{file}?mode=ro", uri=True, isolation_level=None)
    recent = search.Recent()
    expr = search.expression("title", search.Words.of("history"))
    first = search.first_rows(reader, expr, 10, cap=100, recent=recent)
    assert first[0] == 2 and sorted(first[1]) == [1, 2]

    def not_again(*args, **kwargs):
        raise AssertionError("ranked again")

    with monkeypatch.context() as m:
        m.setattr(search, "ranked", not_again)
        m.setattr(search, "count", not_again)
        assert search.first_rows(reader, expr, 10, cap=100, recent=recent) == first
        assert search.first_rows(reader, expr, 1, cap=100, recent=recent) == (2, first[1][:1])
    search.put(writer, [Text("m3", "w3", ("History of Bergen",), ())])  # another connection commits
    again = search.first_rows(reader, expr, 10, cap=100, recent=recent)
    assert again[0] == 3 and sorted(again[1]) == [1, 2, 3]
    # More rows than were remembered are ranked anew; fewer matches than asked for are all there is.
    assert search.first_rows(reader, expr, 2, cap=100, recent=search.Recent())[1] == again[1][:2]
    deep = search.Recent()  # a page deep in a long list is not remembered: its rows would be thousands
    monkeypatch.setattr(search, "REMEMBERED_ROWS", 2)
    search.first_rows(reader, expr, 3, cap=100, recent=deep)
    assert deep.get(reader, (expr, None, 100)) is None
    search.first_rows(reader, expr, 2, cap=100, recent=deep)
    assert deep.get(reader, (expr, None, 100)) == (3, again[1][:2])
    recent = search.Recent(size=2)
    for word in ("history", "norway", "oslo"):
        search.first_rows(reader, search.expression("title", search.Words.of(word)), 5, cap=100, recent=recent)
    assert recent.get(reader, (expr, None, 100)) is None  # the oldest of three, forgotten
    assert recent.get(reader, (search.expression("title", search.Words.of("oslo")), None, 100)) == (1, (2,))


# through the web app -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The golden LC records, one then deleted, and Norwegian, Swedish and Finnish records."""
    path = tmp_path_factory.mktemp("search") / "store"
    ingest([str(GOLDEN), *map(str, NORWEGIAN)], Settings(store=path, base=BASE, workers=1))
    delete_golden(path, BASE)
    return path


@pytest.fixture(scope="module")
def client(store):
    with TestClient(create_app(store, BASE, query_workers=1)) as c:
        yield c


def sru(client, query: str, **params) -> tuple[int, list[str]]:
    r = client.get("/sru", params={"query": query, "maximumRecords": "50", **params})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(r.content)
    ids = [c.text.strip() for data in root.iter(f"{SRW}recordData")
           for c in data.iter("{http://www.loc.gov/MARC21/slim}controlfield") if c.get("tag") == "001"]
    return int(root.findtext(f"{SRW}numberOfRecords")), ids


def test_sru_title_creator_any_and_booleans(client):
    assert sru(client, "title=heroin") == (1, ["00031871"])
    assert sru(client, 'dc.title="Heroin and other poems" and author=smith') == (1, ["00031871"])
    assert sru(client, "creator=Ebers") == sru(client, "Ebers") == (1, ["00005030"])
    assert sru(client, "title=desert or title=hoodwinked")[0] == 2
    n, _ = sru(client, "title=the")
    m, ids = sru(client, "title=the not creator=markham")
    assert m == n - 1 and ids
    assert sru(client, "markham")[0] == 1 and sru(client, "cql.serverChoice any \"markham voltaire\"")[0] == 2
    assert sru(client, 'title adj "man with the hoe"')[0] == 1 and sru(client, 'title adj "hoe the man"')[0] == 0
    assert sru(client, 'title == "the man with the hoe"')[0] == 1 and sru(client, 'title exact "man with"')[0] == 0
    assert sru(client, "title=histor*")[0] > sru(client, "title=history")[0] > 0  # historia, too
    # ISBN and exact terms mixed with words: worked out as sets
    assert sru(client, "0393049973") == sru(client, "isbn=0393049973 and title=heroin") == (1, ["00031871"])
    assert sru(client, "isbn=0393049973 not title=heroin")[0] == 0
    assert sru(client, "isbn=0393049973 or title=desert")[0] == 2
    assert sru(client, 'title exact "the man with the hoe" and creator=markham')[0] == 1
    assert sru(client, 'creator=markham not title exact "the man with the hoe"')[0] == 0


def test_long_cql_chains_are_searched_and_one_too_tangled_is_a_diagnostic(client):
    assert sru(client, " or ".join(["title=heroin"] * 99 + ["title=desert"]))[0] == 2
    assert sru(client, " and ".join(["title=heroin"] * 99 + ["creator=smith"]))[0] == 1
    assert sru(client, " not ".join(["title=the"] + ["creator=markham"] * 99))[0] == sru(client, "title=the")[0] - 1
    tangled = " and ".join(["title=heroin or creator=smith"] * 50)
    r = client.get("/sru", params={"query": tangled})
    assert r.status_code == 200 and "<uri>info:srw/diagnostic/1/38</uri>" in r.text


def test_sru_nordic_spellings(client):
    for query in ("creator=Asbjørnsen", "creator=asbjornsen", "author=Proysen",
                  "creator=Lagerlöf and creator=lagerlof", "title=julefortellinger"):
        assert sru(client, query)[0] == 1, query
    assert sru(client, "creator=Riksåsen")[0] == sru(client, "creator=Riksasen")[0] == sru(client, "Riksaasen")[0] == 1
    assert sru(client, "Mjølsnes")[0] == sru(client, "mjolsnes")[0] == 1
    assert sru(client, 'title="Fanrik Stals sagner"')[0] == sru(client, 'title="Fänrik Ståls sägner"')[0] >= 1


def test_sru_order_is_relevance_with_the_exact_title_first(client):
    _, ids = sru(client, 'title="the brass bottle"')
    assert ids[0] == "00005419"
    total, ids = sru(client, "title=the", maximumRecords="3")
    _, rest = sru(client, "title=the", startRecord="4")
    assert len(ids) == 3 and not set(ids) & set(rest) and len(ids) + len(rest) == total


def test_deleted_records_are_not_found(client):
    assert sru(client, "title=semiconductor")[0] == 0
    assert sru(client, "creator=Mascarenhas")[0] == 0
    assert client.get("/works", params={"title": "semiconductor"}).json()["items"] == []


def test_works_by_title_creator_typed_in_part_and_language(client):
    items = client.get("/works", params={"title": "heroin", "creator": "Smith"}).json()["items"]
    assert [w["label"] for w in items] == ["Heroin and other poems"]
    assert [w["label"] for w in client.get("/works", params={"title": "hero"}).json()["items"]] == \
        ["Heroin and other poems"]
    assert client.get("/works", params={"title": "hero "}).json()["items"] == []
    assert [w["label"] for w in client.get("/works", params={"creator": "Asbjornsen"}).json()["items"]] == \
        ["Verdens fineste julefortellinger"]
    assert len(client.get("/works", params={"creator": "Asbjørnsen", "language": "nob"}).json()["items"]) == 1
    assert client.get("/works", params={"creator": "Asbjørnsen", "language": "fre"}).json()["items"] == []
    first = client.get("/works", params={"title": "the brass bottle"}).json()["items"][0]
    assert first["label"] == "Brass bottle"


def test_without_an_index_search_is_a_503_problem_and_isbn_still_answers(tmp_path):
    store = tmp_path / "store"
    ingest([str(GOLDEN)], Settings(store=store, base=BASE, workers=1))
    for leftover in store.glob("catalogue.sqlite3*"):
        leftover.unlink()
    with TestClient(create_app(store, BASE, query_workers=1)) as c:
        for r in (c.get("/works", params={"title": "heroin"}), c.get("/sru", params={"query": "title=heroin"})):
            assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
            assert "metadatabronn reindex" in r.json()["detail"]
        r = c.get("/sru", params={"query": "isbn=0393049973"})
        assert r.status_code == 200 and "<numberOfRecords>1</numberOfRecords>" in r.text
        assert c.get("/manifestations", params={"isbn": "0393049973"}).json()["items"]


def test_the_creators_read_at_ingest_are_those_read_back_from_the_carried_text():
    """Ingest reads a record's creators from its carried fields as they are built; the index's
    rebuild reads them from the stored text. Both must give the same headings."""
    from metadatabronn.errors import RecordError
    from metadatabronn.mapping import convert
    from metadatabronn.marc import iter_chunks, parse_chunk
    from metadatabronn.store.record_text import creators_in, creators_of

    seen = 0
    for path in (GOLDEN, *NORWEGIAN, DATA / "marc" / "lc-refuse-nothing.mrc"):
        for chunk in iter_chunks(str(path)):
            try:
                description = convert(parse_chunk(chunk), chunk.number)
            except RecordError:  # refused records have no creators to index
                continue
            assert creators_in(description.layout) == creators_of(description.carried), chunk.number
            seen += bool(creators_in(description.layout))
    assert seen > 50
