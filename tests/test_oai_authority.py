"""OAI-PMH set ``authority``: authority records harvested with sickle as MARC 21 authority records
(checked against the MARCXML schema), RDF and Dublin Core, beside bibliographic records whose
harvests stay as they were."""

from __future__ import annotations

import io

import pymarc
import pytest
import rdflib
from lxml import etree
from sickle import Sickle

from metadatabronn.mapping import terms as T
from metadatabronn.mapping.text import manifestation_id
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store.catalogue import Catalogue
from metadatabronn.web import oai_authority

from .conftest import ROOT
from .test_harvest import OAI, SCHEMAS, _lax_rdf_driver, error_code, oai, valid
from .test_web import free_port, server
from .client import HTTP

AUTHORITIES = ROOT / "tests" / "data" / "authorities" / "norwegian-style.xml"
GOLDEN = ROOT / "tests" / "data" / "golden" / "golden.mrc"
MARC = "{http://www.loc.gov/MARC21/slim}"
DC = "{http://purl.org/dc/elements/1.1/}"


def given() -> dict[str, pymarc.Record]:
    return {r["001"].data: r for r in pymarc.parse_xml_to_array(str(AUTHORITIES))}


def oai_id(host: str, control: str) -> str:
    return f"oai:{host}:authority-{manifestation_id(f'(NO-TrBIB){control}')}"


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def store(tmp_path_factory, port):
    path = tmp_path_factory.mktemp("oai-authority") / "store"
    settings = Settings(store=path, base=f"http://127.0.0.1:{port}", workers=1)
    ingest([str(GOLDEN)], settings)
    ingest([str(AUTHORITIES)], settings)
    return path


@pytest.fixture(scope="module")
def live(store, port):
    with server(store, port) as (base, _):
        yield base


def sickle(live: str) -> Sickle:
    return Sickle(f"{live}/oai", max_retries=0, timeout=60)


def test_list_sets_names_the_authority_set(live):
    root = oai(live, verb="ListSets")
    sets = {s.findtext(f"{OAI}setSpec"): s.findtext(f"{OAI}setName") for s in root.iter(f"{OAI}set")}
    assert "authority" in sets and "type:bibliographic" in sets
    assert {s.setSpec for s in sickle(live).ListSets()} >= {"authority", "type:bibliographic"}


def test_harvest_of_the_authority_set_in_marc21_gives_every_record_as_it_came(live):
    records = list(sickle(live).ListRecords(metadataPrefix="marc21", set="authority", ignore_deleted=False))
    host = "127.0.0.1"
    expected = given()
    assert sorted(r.header.identifier for r in records) == sorted(oai_id(host, c) for c in expected)
    deleted = [r for r in records if r.header.deleted]
    assert [r.header.identifier for r in deleted] == [oai_id(host, "99990010")]  # Leader/05 d
    for r in records:
        assert r.header.setSpecs == ["authority", "source", "source:norwegian-style.xml"]
        if r.header.deleted:
            continue
        element = r.xml.find(f".//{MARC}record")
        record = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(element)))[0]
        source = expected[record["001"].data]
        assert str(record.leader)[5:7] == str(source.leader)[5:7] and str(record.leader)[6] == "z"
        assert [str(f) for f in record.fields if f.tag != "005"] == [str(f) for f in source.fields if f.tag != "005"]


def test_authority_responses_validate_against_the_marcxml_schema(live):
    if not (SCHEMAS / "oai-pmh-with-metadata.xsd").exists():
        pytest.skip("the reference schemas are not beside the project")
    root = oai(live, verb="ListRecords", metadataPrefix="marc21", set="authority")  # validated by oai()
    assert len(root.findall(f".//{MARC}record")) == len(given()) - 1
    marc = etree.XMLSchema(etree.parse(str(SCHEMAS / "MARC21slim.xsd")))
    for element in root.iter(f"{MARC}record"):
        assert marc.validate(etree.ElementTree(element)), marc.error_log.last_error
    one = oai(live, verb="GetRecord", metadataPrefix="marc21", identifier=oai_id("127.0.0.1", "99990014"))
    assert one.find(f".//{MARC}controlfield[@tag='001']").text == "99990014"


def test_oai_dc_of_an_authority_is_its_name_kind_and_identifiers(live):
    root = oai(live, verb="GetRecord", metadataPrefix="oai_dc", identifier=oai_id("127.0.0.1", "99990001"))
    dc = root.find(f".//{OAI}metadata")
    assert dc.findtext(f".//{DC}title") == "Solberg, Åse Kari 1921-1998"
    assert [t.text for t in dc.iter(f"{DC}type")] == ["Person"]
    identifiers = [i.text for i in dc.iter(f"{DC}identifier")]
    assert "(NO-TrBIB)99990001" in identifiers and "https://isni.org/isni/0000000999900012" in identifiers
    corporate = oai(live, verb="GetRecord", metadataPrefix="oai_dc", identifier=oai_id("127.0.0.1", "99990003"))
    assert [t.text for t in corporate.iter(f"{DC}type")] == ["Corporate body"]


def test_rdf_of_an_authority_is_its_record_graph(live, tmp_path):
    r = HTTP.get(f"{live}/oai", params={"verb": "GetRecord", "metadataPrefix": "rdf",
                                         "identifier": oai_id("127.0.0.1", "99990002")}, timeout=60)
    root = valid(r.content, _lax_rdf_driver(tmp_path) if (SCHEMAS / "OAI-PMH.xsd").exists() else None)
    rdf = root.find(f".//{OAI}metadata")[0]
    g = rdflib.Graph().parse(data=etree.tostring(rdf), format="xml")
    assert rdflib.Literal("(NO-TrBIB)99990002") in set(g.objects(None, rdflib.URIRef(T.MB_AUTHORITY_ID)))
    assert rdflib.Literal("kat2") in set(g.objects(None, rdflib.URIRef(T.MB_QUALITY)))


def test_bibliographic_harvests_stay_as_they_were(live, store):
    cat = Catalogue(store, read_only=True)
    try:
        bibliographic = sorted(f"oai:127.0.0.1:{r.id}" for r in cat.page("", None, 10_000)
                               if not r.id.startswith("authority-"))
    finally:
        cat.close()
    assert len(bibliographic) == len(list(pymarc.MARCReader(open(GOLDEN, "rb"))))
    for kw in ({}, {"set": "type:bibliographic"}, {"set": "type"}):
        headers = list(sickle(live).ListIdentifiers(metadataPrefix="marc21", ignore_deleted=False, **kw))
        assert sorted(h.identifier for h in headers) == bibliographic, kw
        assert all(h.setSpecs[:2] == ["type", "type:bibliographic"] for h in headers)


def test_an_unknown_set_is_still_no_records(live):
    assert error_code(oai(live, verb="ListIdentifiers", metadataPrefix="marc21", set="authorities")) == "noRecordsMatch"


def test_the_authority_range_is_paged_and_stepped_over(store):
    """Small pages through the index, as the OAI-PMH lists read it: the authority set and the
    rest, each row once, in identifier order."""
    cat = Catalogue(store, read_only=True)
    try:
        every = [r.id for r in cat.page("", None, 10_000)]
        for authority in (True, False):
            seen, after = [], ""
            while True:
                rows = oai_authority.page(cat, after, None, 3, authority=authority)
                if not rows:
                    break
                seen += [r.id for r in rows]
                after = rows[-1].id
            assert seen == [i for i in every if i.startswith("authority-") == authority]
            assert oai_authority.count(cat, authority=authority) == len(seen)
        assert len([i for i in every if i.startswith("authority-")]) == len(given())
    finally:
        cat.close()


def test_dates_deletions_and_formats_of_authority_records(live):
    one = oai_id("127.0.0.1", "99990001")
    stamp = oai(live, verb="GetRecord", metadataPrefix="marc21", identifier=one).findtext(f".//{OAI}datestamp")
    day = stamp[:10]
    assert len(list(sickle(live).ListIdentifiers(metadataPrefix="marc21", set="authority", ignore_deleted=False,
                                                  **{"from": day, "until": day}))) == len(given())
    later = oai(live, verb="ListIdentifiers", metadataPrefix="marc21", set="authority", **{"from": "2999-01-01"})
    assert error_code(later) == "noRecordsMatch"
    gone = oai(live, verb="GetRecord", metadataPrefix="marc21", identifier=oai_id("127.0.0.1", "99990010"))
    assert gone.find(f".//{OAI}header").get("status") == "deleted" and gone.find(f".//{OAI}metadata") is None
    formats = oai(live, verb="ListMetadataFormats", identifier=one)
    assert {p.text for p in formats.iter(f"{OAI}metadataPrefix")} == {"marc21", "oai_dc", "rdf"}
