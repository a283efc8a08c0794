"""Agents on the web: the name index (folding, replacing, rebuilding), ``/agents?name=`` and
``/agent/{id}`` with what the agent's authority record says, ``/authority/{id}``, against a real
server and a store built by ingesting the Norwegian-style authority test set."""

from __future__ import annotations

import io
import sqlite3

import httpx
import pymarc
import pytest
import rdflib

from metadatabronn.identity import mint
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.model import Entity, Kind
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store, names
from metadatabronn.store.catalogue import Catalogue

from .conftest import ROOT, copy_store
from .test_web import free_port, server
from .client import HTTP

AUTHORITIES = ROOT / "tests" / "data" / "authorities" / "norwegian-style.xml"
GOLDEN = ROOT / "tests" / "data" / "golden" / "golden.mrc"
OWL_SAMEAS = rdflib.URIRef("http://www.w3.org/2002/07/owl#sameAs")
N_STRING = rdflib.URIRef("http://rdaregistry.info/Elements/n/P80068")


def agent(base: str, identifier: str, kind: Kind = Kind.PERSON) -> str:
    """The IRI of the agent of the authority record ``identifier`` ("(ORG)CTRL")."""
    return mint(base, Entity(kind, ("id", identifier)))


# the name index, by itself ---------------------------------------------------------------------

def test_folding_makes_case_diacritics_and_nordic_letters_one():
    assert names.fold("Bjørnson, Bjørnstjerne") == names.fold("BJORNSON bjornstjerne") == "bjornson bjornstjerne"
    assert names.fold("Kjærstad") == "kjaerstad"
    assert names.fold("Ålesund") == names.fold("Aalesund") == names.fold("alesund") == "alesund"
    assert names.fold("Dvořák, Antonín") == "dvorak antonin"


def test_an_authority_replaces_its_names_and_a_heading_name_stays(tmp_path):
    conn = sqlite3.connect(tmp_path / "names.sqlite3")
    core = ("<http://x/agent/1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <%s> .\n"
            "<http://x/agent/1> <%s> \"Bjørnson, B.\" .\n" % (T.C_PERSON, T.A_PERSON_AAP)).encode()
    names.add_cores(conn, [("http://x/agent/1", core), ("http://x/work/2", b"")])
    names.add(conn, [("http://x/agent/1", "person", "Bjørnson, Bjørnstjerne, 1832-1910", True),
                     ("http://x/agent/1", "person", "Bjornson, Bjornstjerne", False)])
    for asked in ("Bjornson", "bjørnson", "BJØRNSON", "bjørns", "bjornson bj"):
        hits = names.search(conn, asked)
        assert [h.entity for h in hits] == ["http://x/agent/1"], asked
        assert hits[0].name == "Bjørnson, Bjørnstjerne, 1832-1910"  # the authority's preferred name
    # Loaded again without the variant: the variant goes, the heading's own name stays.
    names.add(conn, [("http://x/agent/1", "person", "Bjørnson, Bjørnstjerne, 1832-1910", True)])
    assert names.names_of(conn, "http://x/agent/1") == [("Bjørnson, Bjørnstjerne, 1832-1910", True),
                                                         ("Bjørnson, B.", True)]
    names.remove(conn, ["http://x/agent/1"], everything=True)
    assert names.search(conn, "bjornson") == []


def test_the_name_asked_exactly_comes_first_then_preferred_names(tmp_path):
    conn = sqlite3.connect(tmp_path / "names.sqlite3")
    names.add(conn, [("http://x/agent/a", "person", "Hansen, Hans Petter", True),
                     ("http://x/agent/b", "person", "Hansen, Per", True),
                     ("http://x/agent/b", "person", "Hansen, Hans", False),
                     ("http://x/agent/c", "corporate", "Hans Hansens legat", True)])
    # "hansen" is a whole word (only the last one may be typed in part): not "Hansens"
    assert [h.entity[-1] for h in names.search(conn, "hansen hans")] == ["b", "a"]
    assert names.search(conn, "hansen hans")[0].matched == "Hansen, Hans"
    assert [h.entity[-1] for h in names.search(conn, "hans", kind="corporate")] == ["c"]
    every = names.search(conn, "hansen")
    assert len(every) == 3 and names.search(conn, "hansen", limit=1, offset=1) == every[1:2]


# a store of authorities, served ------------------------------------------------------------------

@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def store(tmp_path_factory, port):
    path = tmp_path_factory.mktemp("agents") / "store"
    settings = Settings(store=path, base=f"http://127.0.0.1:{port}", workers=1)
    ingest([str(AUTHORITIES)], settings)
    ingest([str(GOLDEN)], settings)  # agents only headings name, no authority record
    return path


@pytest.fixture(scope="module")
def live(store, port):
    with server(store, port) as (base, _):
        yield base


def get(url: str, **kw) -> httpx.Response:
    return HTTP.get(url, timeout=60, **kw)


def test_ingest_indexes_the_preferred_and_variant_names_of_every_agent(store, port):
    base = f"http://127.0.0.1:{port}"
    cat = Catalogue(store, read_only=True)
    try:
        solberg = agent(base, "(NO-TrBIB)99990001")
        assert ("Solberg, Aase Kari 1921-1998", False) in names.names_of(cat, solberg)
        assert any(p for _, p in names.names_of(cat, solberg))
        corporate = names.search(cat, "nordlys forlag")
        assert corporate and corporate[0].kind == "corporate"
        assert names.search(cat, "lovaas")[0].kind == "family"
    finally:
        cat.close()


def test_reindex_makes_the_name_index_again(store, tmp_path):
    copy = copy_store(store, tmp_path / "store")
    every = "SELECT entity, kind, name, preferred, core FROM names"
    with sqlite3.connect(copy / "catalogue.sqlite3") as conn:
        ingested = set(conn.execute(every))
        conn.execute("DELETE FROM names")
        conn.execute("DELETE FROM names_index")
    s = Store(copy)
    try:
        assert names.search(s.catalogue, "Solberg") == []
        s.reindex()
        assert set(s.catalogue.conn.execute(every)) == ingested  # what ingest indexed, no more, no less
        found = names.search(s.catalogue, "solberg dæhli")
        assert [h.name for h in found] == ["Solberg, Åse Kari 1921-1998"]
        assert found[0].matched == "Solberg Dæhli, Åse"
    finally:
        s.close()


def test_agents_by_name_folded_any_case_and_by_variant(live):
    solberg = agent(live, "(NO-TrBIB)99990001")
    seen = set()
    for asked in ("Solberg Åse", "solberg ase", "SOLBERG ÅSE", "solberg aase", "solb"):
        r = get(f"{live}/agents", params={"name": asked})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), asked
        items = r.json()["items"]
        seen.add(items[0]["iri"])
        assert items[0]["name"] == "Solberg, Åse Kari 1921-1998" and items[0]["kind"] == "person"
    assert seen == {solberg}
    # A variant: the hit says which form matched.
    item = get(f"{live}/agents", params={"name": "Dæhli"}).json()["items"][0]
    assert item["iri"] == solberg and item["matched"] == "Solberg Dæhli, Åse"
    assert item["path"].startswith("/agent/")
    assert "(isni)0000000999900012" in item["identifiers"]
    assert "(NO-TrBIB)99990001" in item["identifiers"]
    boe = get(f"{live}/agents", params={"name": "boe hakon"}).json()["items"]
    assert [i["name"] for i in boe] == ["Bøe, Håkon 1950-"]
    assert "(isni)0000000999900020" in boe[0]["identifiers"]  # spaces of the 024 removed


def test_agents_by_kind_paging_and_errors(live):
    r = get(f"{live}/agents", params={"name": "nordlys", "kind": "corporate", "limit": 1})
    body = r.json()
    assert len(body["items"]) == 1 and body["items"][0]["kind"] == "corporate"
    assert body["next"] and 'rel="next"' in r.headers["link"]
    second = get(f"{live}{body['next']}").json()["items"]
    assert second and second[0]["iri"] != body["items"][0]["iri"]
    assert get(f"{live}/agents", params={"name": "nordlys", "kind": "robot"}).status_code == 400
    assert get(f"{live}/agents").status_code == 422
    assert get(f"{live}/agents", params={"name": "zzyzx"}).json()["items"] == []


def test_a_replaced_agent_is_left_out_of_the_search(live):
    found = get(f"{live}/agents", params={"name": "odegaard marius"}).json()["items"]
    assert [i["iri"] for i in found] == [agent(live, "(NO-TrBIB)99990009")]
    assert found[0]["name"] == "Ødegård, Marius 1975-"


def test_an_agent_only_headings_name_is_found_and_lists_its_works(live):
    found = get(f"{live}/agents", params={"name": "dvořák ebers georg"}).json()["items"]
    assert found == []
    found = get(f"{live}/agents", params={"name": "EBERS georg"}).json()["items"]
    assert [i["name"] for i in found] == ["Ebers, Georg, 1837-1898"] and found[0]["identifiers"] == []
    page = get(found[0]["iri"], headers={"Accept": "text/html"}).text
    assert "In the desert" in page and 'href="/work/' in page


def test_agents_as_html_for_a_browser(live):
    r = get(f"{live}/agents", params={"name": "bøe"}, headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    path = agent(live, "(NO-TrBIB)99990002")[len(live):]
    assert f'href="{path}"' in r.text and "Bøe, Håkon 1950-" in r.text
    assert 'href="https://isni.org/isni/0000000999900020"' in r.text
    assert get(f"{live}/agents", params={"name": "bøe", "format": "html"}).headers["content-type"].startswith(
        "text/html")


def _graph(live: str, iri: str, fmt: str, rdflib_format: str) -> rdflib.Graph:
    r = get(iri, params={"format": fmt})
    assert r.status_code == 200, r.text
    return rdflib.Graph().parse(data=r.content, format=rdflib_format, publicID=live + "/")


@pytest.mark.parametrize("fmt,parser", [("turtle", "turtle"), ("ntriples", "nt"), ("rdfxml", "xml"),
                                        ("jsonld", "json-ld")])
def test_agent_documents_carry_the_authority_records_statements(live, fmt, parser):
    iri = agent(live, "(NO-TrBIB)99990001")
    g = _graph(live, iri, fmt, parser)
    s = rdflib.URIRef(iri)
    lits = {str(o) for o in g.objects(s, None) if isinstance(o, rdflib.Literal)}
    assert "Solberg, Åse Kari 1921-1998" in lits  # the preferred access point
    assert "Solberg, Aase Kari 1921-1998" in lits  # a variant
    assert "(isni)0000000999900012" in lits and "kat1" in lits and "(NO-TrBIB)99990001" in lits
    assert rdflib.URIRef("https://isni.org/isni/0000000999900012") in set(g.objects(s, OWL_SAMEAS))
    # The forms of the name, with the sources consulted (670) on the preferred one.
    forms = {str(o) for o in g.objects(None, N_STRING)}
    assert {"Solberg, Åse Kari 1921-1998", "Solberg Dæhli, Åse"} <= forms
    assert any("Fjellsanger" in str(o) for o in g.objects(None, None) if isinstance(o, rdflib.Literal))
    # The nomens are in the tag after the state (what a write's If-Match names), and a client
    # that has this version gets 304.
    r = get(iri, params={"format": fmt})
    state, shown, nomens = r.headers["etag"].strip('"').split(".")
    assert shown == fmt and nomens
    assert get(iri, params={"format": fmt}, headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_agent_page_shows_variants_identifiers_related_agents_and_works(live):
    solberg, boe = agent(live, "(NO-TrBIB)99990001"), agent(live, "(NO-TrBIB)99990002")
    r = get(boe, headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<h1>Bøe, Håkon 1950-</h1>" in html
    assert '<span class="variant">Boe, Hakon 1950-</span>' in html
    assert 'href="https://isni.org/isni/0000000999900020"' in html
    assert f'href="{solberg[len(live):]}"' in html  # the related agent (500), as a link
    assert "kat2" in html
    page = get(solberg, headers={"Accept": "text/html"}).text
    assert 'href="http://viaf.org/viaf/999990001"' in page
    assert "Hennes Fjellsanger, 1952" in page  # the source consulted, on the preferred form
    # Its work (the name/title authority 100 $t), as a link.
    work = next(line for line in page.split("<li>") if "Fjellsanger" in line and "/work/" in line)
    assert 'href="/work/' in work


def test_authority_record_as_graph_and_as_marc(live):
    from metadatabronn.mapping.text import manifestation_id

    slug = manifestation_id("(NO-TrBIB)99990002")
    r = get(f"{live}/authority/{slug}", params={"format": "marcxml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/marcxml+xml")
    record = pymarc.parse_xml_to_array(io.BytesIO(r.content))[0]
    given = next(rec for rec in pymarc.parse_xml_to_array(str(AUTHORITIES)) if rec["001"].data == "99990002")
    assert [str(f) for f in record.fields if f.tag != "005"] == [str(f) for f in given.fields if f.tag != "005"]
    marc = get(f"{live}/authority/{slug}", params={"format": "marc"})
    assert marc.status_code == 200 and pymarc.Record(data=marc.content, force_utf8=True)["100"]["a"] == "Bøe, Håkon"
    g = rdflib.Graph().parse(data=get(f"{live}/authority/{slug}").content, format="turtle")
    assert (rdflib.URIRef(agent(live, "(NO-TrBIB)99990002")), rdflib.URIRef(T.MB_AUTHORITY_ID),
            rdflib.Literal("(NO-TrBIB)99990002")) in g
    assert get(f"{live}/authority/no-such-record").status_code == 404


def test_an_authority_loaded_after_the_headings_takes_their_agent_over(tmp_path):
    """Golden records first (Ebers known only from a heading), then an authority record of him:
    the heading's agent is merged into the authority's, found once by name, its old IRI leading
    to the survivor, whose page lists the works and no merged agent as a related one."""
    from .conftest import field_from_mnemonic

    record = pymarc.Record(leader="00000nz  a2200000n  4500")
    for line in ("=001  99990101", "=003  NO-TrBIB", "=008  250110n| adz|naabn|         |a|ana|     ",
                 "=040  \\\\$aNO-TrBIB$cNO-TrBIB$fnoraf", "=100  1\\$aEbers, Georg,$d1837-1898",
                 "=400  1\\$aEbers, Georg Moritz$d1837-1898"):
        record.add_field(field_from_mnemonic(line))
    path = tmp_path / "ebers.xml"
    path.write_bytes(pymarc.record_to_xml(record, namespace=True))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(store=tmp_path / "store", base=base, workers=1)
    ingest([str(GOLDEN)], settings)
    with server(tmp_path / "store", port) as (url, _):
        heading_made = get(f"{url}/agents", params={"name": "ebers georg"}).json()["items"][0]["iri"]
    ingest([str(path)], settings)
    survivor = agent(base, "(NO-TrBIB)99990101")
    assert heading_made != survivor
    with server(tmp_path / "store", port) as (url, _):
        found = get(f"{url}/agents", params={"name": "ebers georg"}).json()["items"]
        assert [i["iri"] for i in found] == [survivor]
        assert get(f"{url}/agents", params={"name": "georg moritz"}).json()["items"][0]["iri"] == survivor
        moved = get(heading_made, follow_redirects=False)
        assert moved.status_code == 308 and moved.headers["location"] == survivor
        page = get(survivor, headers={"Accept": "text/html"}).text
        assert "In the desert" in page and 'class="related"' not in page


def test_the_search_box_finds_agents_by_name(live):
    r = get(f"{live}/search", params={"q": "løvås", "by": "name"}, headers={"Accept": "text/html"},
            follow_redirects=True)
    assert r.status_code == 200 and str(r.url.path) == "/agents"
    assert "Løvås (slekt)" in r.text and '<option value="name" selected>' in r.text
