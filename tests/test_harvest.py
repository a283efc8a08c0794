"""Harvesting: OAI-PMH 2.0 and SRU 1.2 against a real server, with real clients (sickle,
sruthi), every response checked against the official schemas where they are available."""

from __future__ import annotations

import io
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pymarc
import pytest
from lxml import etree
from sickle import Sickle

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store

from .conftest import ROOT, full, shared
from .test_web import free_port, server
from .client import HTTP

SAMPLE = ROOT / "data" / "sample.mrc"
SCHEMAS = ROOT.parent / "shared" / "reference" / "schemas"
OAI = "{http://www.openarchives.org/OAI/2.0/}"


def _schema(name: str):
    path = SCHEMAS / name
    if not path.exists():
        return None
    return etree.XMLSchema(etree.parse(str(path)))


_WITH_METADATA = _schema("oai-pmh-with-metadata.xsd")


def _lax_rdf_driver(tmp: Path):
    """OAI-PMH.xsd with RDF/XML records inside: RDF has no schema, so a lax driver of our own."""
    (tmp / "rdf-lax.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="http://www.w3.org/1999/02/22-rdf-syntax-ns#" elementFormDefault="qualified">'
        '<xs:element name="RDF"><xs:complexType><xs:sequence><xs:any processContents="lax" minOccurs="0" '
        'maxOccurs="unbounded" namespace="##any"/></xs:sequence><xs:anyAttribute processContents="lax"/>'
        "</xs:complexType></xs:element></xs:schema>")
    (tmp / "driver.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:import namespace="http://www.openarchives.org/OAI/2.0/" schemaLocation="{(SCHEMAS / "OAI-PMH.xsd").as_uri()}"/>'
        '<xs:import namespace="http://www.w3.org/1999/02/22-rdf-syntax-ns#" schemaLocation="rdf-lax.xsd"/>'
        "</xs:schema>")
    return etree.XMLSchema(etree.parse(str(tmp / "driver.xsd")))


def valid(xml: bytes, schema=None) -> etree._Element:
    doc = etree.parse(io.BytesIO(xml))
    schema = schema or _WITH_METADATA
    if schema is not None:
        assert schema.validate(doc), schema.error_log.last_error
    return doc.getroot()


def oai(base: str, **params) -> etree._Element:
    r = HTTP.get(f"{base}/oai", params=params, timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    return valid(r.content)


def error_code(root) -> str | None:
    error = root.find(f"{OAI}error")
    return error.get("code") if error is not None else None


def harvest(base: str, **kw) -> list:
    return list(Sickle(f"{base}/oai", max_retries=0, timeout=60).ListIdentifiers(
        **{"metadataPrefix": "marc21", "ignore_deleted": False, **kw}))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("harvest") / "store"
    return path


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def live(store, port):
    ingest([str(SAMPLE)], Settings(store=store, base=f"http://127.0.0.1:{port}", workers=2))
    with server(store, port) as (base, _):
        yield base


# OAI-PMH: verbs, formats, schemas ----------------------------------------------------------

def test_identify(live):
    root = oai(live, verb="Identify")
    identify = root.find(f"{OAI}Identify")
    assert identify.findtext(f"{OAI}baseURL") == f"{live}/oai"
    assert identify.findtext(f"{OAI}deletedRecord") == "persistent"
    assert identify.findtext(f"{OAI}granularity") == "YYYY-MM-DDThh:mm:ssZ"


def test_list_metadata_formats_and_sets(live):
    formats = oai(live, verb="ListMetadataFormats")
    assert {e.text for e in formats.iter(f"{OAI}metadataPrefix")} == {"marc21", "oai_dc", "rdf"}
    sets = {e.text for e in oai(live, verb="ListSets").iter(f"{OAI}setSpec")}
    assert {"type", "type:bibliographic", "source", "source:sample.mrc"} <= sets


@pytest.mark.parametrize("prefix", ["marc21", "marcxml", "oai_dc"])
def test_get_record_in_each_format_validates(live, prefix):
    root = oai(live, verb="GetRecord", identifier="oai:127.0.0.1:DLC-00007090", metadataPrefix=prefix)
    metadata = root.find(f"{OAI}GetRecord/{OAI}record/{OAI}metadata")
    assert metadata is not None and len(metadata) == 1
    if prefix == "oai_dc":
        assert "Pride and prejudice" in etree.tostring(metadata, encoding="unicode")
    else:
        record = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(metadata[0])))[0]
        assert record["001"].data.strip() == "00007090" and record["100"]["a"].startswith("Austen")


def test_rdf_format_carries_manifestation_expression_and_work(live, tmp_path):
    r = HTTP.get(f"{live}/oai", params={"verb": "GetRecord", "identifier": "oai:127.0.0.1:DLC-00007090",
                                          "metadataPrefix": "rdf"})
    driver = _lax_rdf_driver(tmp_path) if (SCHEMAS / "OAI-PMH.xsd").exists() else None
    root = valid(r.content, driver) if driver is not None else etree.fromstring(r.content)
    rdf = root.find(f"{OAI}GetRecord/{OAI}record/{OAI}metadata")[0]
    import rdflib

    graph = rdflib.Graph().parse(data=etree.tostring(rdf), format="xml")
    types = set(graph.objects(None, rdflib.RDF.type))
    assert {rdflib.URIRef(T.C_MANIFESTATION), rdflib.URIRef(T.C_EXPRESSION), rdflib.URIRef(T.C_WORK)} <= types


def test_list_records_pages_validate_and_carry_list_size(live):
    root = oai(live, verb="ListRecords", metadataPrefix="marc21")
    records = root.findall(f"{OAI}ListRecords/{OAI}record")
    token = root.find(f"{OAI}ListRecords/{OAI}resumptionToken")
    assert len(records) >= 100 and token is not None
    assert token.get("completeListSize") == "400" and token.get("cursor") == "0"
    again = oai(live, verb="ListRecords", resumptionToken=token.text)
    same = oai(live, verb="ListRecords", resumptionToken=token.text)  # idempotent
    ids = lambda r: [h.text for h in r.iter(f"{OAI}identifier")]  # noqa: E731
    assert ids(again) == ids(same) and not set(ids(again)) & set(ids(root))
    assert again.find(f"{OAI}ListRecords/{OAI}resumptionToken").get("cursor") == str(len(records))


def test_post_gives_the_same_answer_as_get(live):
    get = HTTP.get(f"{live}/oai", params={"verb": "GetRecord", "identifier": "oai:127.0.0.1:DLC-00007090",
                                           "metadataPrefix": "oai_dc"})
    post = HTTP.post(f"{live}/oai", data={"verb": "GetRecord", "identifier": "oai:127.0.0.1:DLC-00007090",
                                           "metadataPrefix": "oai_dc"})
    strip = lambda b: b.split(b"</responseDate>", 1)[1]  # noqa: E731
    assert strip(get.content) == strip(post.content)
    valid(post.content)


def test_sickle_full_harvest_returns_every_manifestation_once(live):
    headers = harvest(live)
    counts = Counter(h.identifier for h in headers)
    assert len(counts) == 400 and set(counts.values()) == {1}
    records = list(Sickle(f"{live}/oai").ListRecords(metadataPrefix="oai_dc", set="source:sample.mrc"))
    assert len(records) == 400 and all(r.metadata.get("title") for r in records)


# OAI-PMH: the validator's probes -----------------------------------------------------------

def _forged(**change) -> str:
    """A resumption token as this repository writes them, with some values changed."""
    import base64
    import json

    data = {"v": 1, "p": "marc21", "s": None, "f": None, "u": None, "h": "2020-01-01T00:00:00+00:00",
            "a": "DLC-00007090", "c": 250, **change}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize("params,code", [
    ({}, "badVerb"),
    ({"verb": "NoSuchVerb"}, "badVerb"),
    ({"verb": ["Identify", "Identify"]}, "badVerb"),
    ({"verb": "Identify", "extra": "x"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": ["marc21", "oai_dc"]}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2020-13-45T"}, "badArgument"),
    # The right shape, but no such day or second.
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-45"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-02-30"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "2020-13-01"}, "badArgument"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "2020-01-01T25:00:00Z"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "0000-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2020-01-01", "until": "2021-01-01T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2021-01-02", "until": "2021-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "resumptionToken": "x"}, "badArgument"),
    ({"verb": "ListIdentifiers", "resumptionToken": "not-a-token"}, "badResumptionToken"),
    # Tokens of the right shape with values this repository would not have written.
    *(({"verb": "ListIdentifiers", "resumptionToken": _forged(**change)}, "badResumptionToken") for change in (
        {"h": "not a time"}, {"h": "2020-01-01T00:00:00"}, {"f": "2020-02-30T00:00:00+00:00"}, {"c": "5"},
        {"a": 7}, {"p": ["marc21"]}, {"h": None})),
    ({"verb": "ListSets", "resumptionToken": "anything"}, "badResumptionToken"),
    ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": "oai:127.0.0.1:DLC-00007090", "metadataPrefix": "mods"},
     "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": "oai:127.0.0.1:nothing", "metadataPrefix": "marc21"}, "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "oai:elsewhere:DLC-00007090", "metadataPrefix": "marc21"}, "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "oai:127.0.0.1:DLC-00007090"}, "badArgument"),
    ({"verb": "ListMetadataFormats", "identifier": "oai:127.0.0.1:nothing"}, "idDoesNotExist"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2999-01-01"}, "noRecordsMatch"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "marc21", "until": "1900-01-01T00:00:00Z"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21", "set": "source:nowhere"}, "noRecordsMatch"),
])
def test_error_probes(live, params, code):
    for method in ("GET", "POST"):
        if method == "GET":
            r = HTTP.get(f"{live}/oai", params=params)
        else:
            r = HTTP.post(f"{live}/oai", data=params)
        root = valid(r.content)
        assert error_code(root) == code, (method, params, r.text[-300:])
        request = root.find(f"{OAI}request")
        if code in ("badVerb", "badArgument"):
            assert request.attrib == {}


def test_day_granularity_and_inclusive_bounds(live):
    root = oai(live, verb="ListIdentifiers", metadataPrefix="marc21")
    stamp = root.find(f".//{OAI}datestamp").text
    day = stamp[:10]
    assert error_code(oai(live, verb="ListIdentifiers", metadataPrefix="marc21", **{"from": day, "until": day})) is None
    same = oai(live, verb="ListIdentifiers", metadataPrefix="marc21", **{"from": stamp, "until": stamp})
    assert error_code(same) is None and same.find(f".//{OAI}datestamp").text == stamp


# OAI-PMH: change -----------------------------------------------------------------------------

def _edit(records, path: Path, change) -> Path:
    with open(path, "wb") as fh:
        for r in records:
            change(r)
            fh.write(r.as_marc())
    return path


def _sample(*cns):
    with open(SAMPLE, "rb") as fh:
        by_cn = {r["001"].data.strip(): r for r in pymarc.MARCReader(fh)}
    return [by_cn[c] for c in cns]


def test_incremental_harvest_is_exact_under_change(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    ingest([str(SAMPLE)], Settings(store=store, base=base, workers=2))
    time.sleep(1.1)  # from is inclusive at seconds granularity: the stamp must be a later second
    with server(store, port) as (url, _):
        first = harvest(url)
        last_harvest = oai(url, verb="Identify").findtext(f"{OAI}responseDate")
    assert len(first) == 400
    time.sleep(1.1)  # datestamps have seconds granularity and from is inclusive

    def retitle(r):
        r["245"]["a"] = "Revised: " + r["245"]["a"]

    def delete(r):
        r.leader = str(r.leader)[:5] + "d" + str(r.leader)[6:]

    updated, deleted = ("00000119", "00000169"), ("00000226",)
    ingest([str(_edit(_sample(*updated), tmp_path / "u.mrc", retitle)),
            str(_edit(_sample(*deleted), tmp_path / "d.mrc", delete))],
           Settings(store=store, base=base, workers=1))
    with server(store, port) as (url, _):
        changed = harvest(url, **{"from": last_harvest})
        by_id = {h.identifier.rsplit(":", 1)[-1]: h for h in changed}
        assert set(by_id) == {f"DLC-{c}" for c in updated + deleted}
        assert [by_id[f"DLC-{c}"].deleted for c in updated + deleted] == [False, False, True]
        everything = harvest(url)
        assert len(everything) == 400 and sum(h.deleted for h in everything) == 1
        record = oai(url, verb="GetRecord", identifier=f"oai:127.0.0.1:DLC-{updated[0]}", metadataPrefix="marc21")
        assert "Revised:" in etree.tostring(record, encoding="unicode")


def test_a_shared_entity_edit_moves_the_datestamps_of_every_record_embedding_it(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    pride = ("00007090", "00007091", "00033956")
    ingest([str(_edit(_sample(*pride, "00000119"), tmp_path / "p.mrc", lambda r: None))],
           Settings(store=store, base=base, workers=1))
    time.sleep(1.1)  # from is inclusive at seconds granularity: the stamp must be a later second
    with server(store, port) as (url, _):
        stamp = oai(url, verb="Identify").findtext(f"{OAI}responseDate")
    time.sleep(1.1)
    s = Store(store, base, read_only=True)
    try:
        (work,) = {r["w"].value for r in s.query(
            f"SELECT ?w WHERE {{ <{base}/manifestation/DLC-00007090> <{T.M_WORK}> ?w }}")}
    finally:
        s.close()
    # A cataloguer's correction from the command line: the entity it names is logged as changed.
    from metadatabronn.cli import main

    assert main(["update", "--store", str(store), "--base-iri", base,
                 f'DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }} INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> '
                 f'"Pride and prejudice (novel)" }} WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}']) == 0
    with server(store, port) as (url, _):
        changed = {h.identifier.rsplit(":", 1)[-1] for h in harvest(url, **{"from": stamp})}
        assert changed == {f"DLC-{c}" for c in pride}
        record = oai(url, verb="GetRecord", identifier="oai:127.0.0.1:DLC-00033956", metadataPrefix="marc21")
        assert "Pride and prejudice (novel)" in etree.tostring(record, encoding="unicode")


def test_resumption_token_survives_changes_without_skips_or_repeats(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    ingest([str(SAMPLE)], Settings(store=store, base=base, workers=2))
    with server(store, port) as (url, _):
        first = oai(url, verb="ListIdentifiers", metadataPrefix="marc21")
        token = first.find(f".//{OAI}resumptionToken").text
        seen = [h.text for h in first.iter(f"{OAI}identifier")]
    time.sleep(1.1)
    # Change one record already harvested and one still to come, and delete one to come.
    late = sorted(["00033956", "00030796"])
    ingest([str(_edit(_sample(late[0], "00000119"), tmp_path / "u.mrc",
                      lambda r: r["245"].add_subfield("b", "changed")))], Settings(store=store, base=base, workers=1))
    with server(store, port) as (url, _):
        while token:
            page = oai(url, verb="ListIdentifiers", resumptionToken=token)
            seen += [h.text for h in page.iter(f"{OAI}identifier")]
            element = page.find(f".//{OAI}resumptionToken")
            token = element.text if element is not None else None
    counts = Counter(seen)
    assert len(counts) == 400 and set(counts.values()) == {1}


# OAI-PMH: a change served late ----------------------------------------------------------------
# The server shows a change once the store has been quiet for --refresh seconds, and the change's
# datestamp is the start of the ingest that wrote it: earlier than the moment it is served. A
# harvester that takes the responseDate of one harvest as the from of the next must still get it.

def _moment(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def pages(url: str, verb: str = "ListIdentifiers", **params) -> tuple[list[str], list[str], list[str]]:
    """One list request and its resumptions, as a harvester makes them: the identifiers, each
    page's responseDate (never later than the moment it arrived) and each record as text."""
    ids, dates, texts = [], [], []
    args = {"verb": verb, **({} if "resumptionToken" in params else {"metadataPrefix": "marc21"}), **params}
    while True:
        root = oai(url, **args)
        date = root.findtext(f"{OAI}responseDate")
        assert _moment(date) <= datetime.now(timezone.utc), date
        dates.append(date)
        code = error_code(root)
        if code is not None:
            assert code == "noRecordsMatch", code
            return ids, dates, texts
        ids += [h.text for h in root.iter(f"{OAI}identifier")]
        texts += [etree.tostring(r, encoding="unicode") for r in root.iter(f"{OAI}record")]
        token = root.find(f".//{OAI}resumptionToken")
        if token is None or not token.text:
            return ids, dates, texts
        args = {"verb": verb, "resumptionToken": token.text}


def _retitle(r):
    r["245"]["a"] = "Revised: " + r["245"]["a"]


def _opened(url: str) -> str:
    return HTTP.get(f"{url}/health", timeout=30).json()["opened"]


# Two server processes, each refreshing on its own, are the case where a harvester can be told
# of a change one process serves and the other not yet; one process alone runs with --full.
@pytest.mark.parametrize("http_workers", [1, 2] if full() else [2])
def test_a_change_served_after_a_harvest_is_found_from_that_harvests_response_date(tmp_path, http_workers):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    ingest([str(SAMPLE)], Settings(store=store, base=base, workers=2))
    # responseDate has seconds granularity and from is inclusive: a snapshot opened in the second
    # the sample was written would give its records again. A second later, only the change is new.
    time.sleep(1.1)
    refresh = 5
    with server(store, port, "--refresh", str(refresh), "--http-workers", str(http_workers)) as (url, _):
        ids, dates, _texts = pages(url)
        assert len(ids) == 400
        since = dates[0]
        time.sleep(1.1)  # from is inclusive at seconds granularity: the change must come a second later
        ingest([str(_edit(_sample("00000119"), tmp_path / "u.mrc", _retitle))],
               Settings(store=store, base=base, workers=1))
        written = time.monotonic()
        time.sleep(1.1)  # now a second later than the change's datestamp (the start of its ingest)
        # Every server process still serves its old snapshot: nothing new yet. (Checked only
        # while the store can have been quiet for less than --refresh, allowing 2 s between its
        # last write and the end of the ingest: on a machine so busy that this harvest ends later,
        # the change may be served, and the rest of the test holds either way.)
        ids, dates, _texts = pages(url, **{"from": since})
        if time.monotonic() - written < refresh - 2:
            assert ids == [], "the change was served before the store had been quiet for --refresh seconds"
        since = dates[0]
        # Each server process opens a fresh snapshot on its own; until it has, it answers from the
        # old one. The harvester asks again and again, each time from the last responseDate.
        deadline = time.monotonic() + 3 * refresh + 90
        while not ids and time.monotonic() < deadline:
            time.sleep(1)
            ids, dates, texts = pages(url, "ListRecords", **{"from": since})
            since = dates[0]
        assert ids == ["oai:127.0.0.1:DLC-00000119"]
        assert "Revised:" in texts[0]


def test_a_harvest_resumed_across_a_refresh_misses_nothing_from_any_of_its_response_dates(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    ingest([str(SAMPLE)], Settings(store=store, base=base, workers=2))
    with server(store, port, "--refresh", "2") as (url, _):
        first = oai(url, verb="ListIdentifiers", metadataPrefix="marc21")
        dates = [first.findtext(f"{OAI}responseDate")]
        seen = [h.text for h in first.iter(f"{OAI}identifier")]
        token = first.find(f".//{OAI}resumptionToken").text
        opened = _opened(url)
        time.sleep(1.1)
        # One record already harvested (first page), one still to come (second page).
        ingest([str(_edit(_sample("00000119", "00033956"), tmp_path / "u.mrc", _retitle))],
               Settings(store=store, base=base, workers=1))
        deadline = time.monotonic() + 120  # generous: the behaviour, not the speed, is tested here
        while _opened(url) == opened:
            assert time.monotonic() < deadline, "the server did not pick up the change"
            time.sleep(0.5)
        rest, later, _texts = pages(url, resumptionToken=token)
        seen += rest
        dates += later
        assert len(seen) == 400 == len(set(seen))
        # The harvester may keep the first responseDate of its harvest or the last: either way,
        # the record changed behind the cursor comes in the next harvest.
        for since in (dates[0], dates[-1]):
            changed, _dates, _texts = pages(url, **{"from": since})
            assert {"oai:127.0.0.1:DLC-00000119", "oai:127.0.0.1:DLC-00033956"} <= set(changed), since


def test_an_sru_search_asked_again_after_a_refresh_finds_the_record_as_changed(tmp_path):
    # A served snapshot remembers searches' rows and the records it wrote for SRU; a change
    # shows in the next snapshot all the same, asked the same way.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    ingest([str(SAMPLE)], Settings(store=store, base=base, workers=2))
    query = {"operation": "searchRetrieve", "version": "1.2", "query": 'title="genealogy delano"',
             "maximumRecords": "5"}
    marc = "{http://www.loc.gov/MARC21/slim}"

    def titles(url: str) -> list[str]:
        root = etree.fromstring(HTTP.get(f"{url}/sru", params=query, timeout=60).content)
        return [f.findtext(f"{marc}subfield[@code='a']") for f in root.iter(f"{marc}datafield") if f.get("tag") == "245"]

    with server(store, port, "--refresh", "2") as (url, _):
        before = titles(url)
        assert before == titles(url) and len(before) == 1 and before[0].startswith("The genealogy")
        opened = _opened(url)
        time.sleep(1.1)
        ingest([str(_edit(_sample("00000119"), tmp_path / "u.mrc", _retitle))], Settings(store=store, base=base, workers=1))
        deadline = time.monotonic() + 120  # generous: the behaviour, not the speed, is tested here
        while _opened(url) == opened:
            assert time.monotonic() < deadline, "the server did not pick up the change"
            time.sleep(0.5)
        assert titles(url) == ["Revised: " + before[0]]


def test_a_snapshot_opened_during_a_bulk_load_answers_for_no_later_than_its_run(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    ingest([str(SAMPLE)], Settings(store=store, base=base, workers=2))
    time.sleep(1.1)
    # A second run: its first batch is in, its next one is being written when the server opens
    # the store (the pending mark a bulk load leaves until it is done).
    ingest([str(_edit(_sample("00000119"), tmp_path / "u.mrc", _retitle))],
           Settings(store=store, base=base, workers=1))
    s = Store(store, base)
    when = s.catalogue.row("DLC-00000119").datestamp  # the run's start, to the second
    s.mark_pending([f"{base}/record/DLC-00000169"])
    s.close()
    time.sleep(1.1)
    with server(store, port, "--refresh", "2") as (url, _):
        ids, dates, _texts = pages(url)
        assert len(ids) == 400
        assert dates[0] == when[:19] + "Z"  # the run's start, not the time the server opened
        opened = _opened(url)
        # The batch lands, its change under the run's start time, after the snapshot was opened.
        s = Store(store, base)
        seq = s.next_sequence()
        s.bulk_load(s.change_quads(seq, "update", f"{base}/manifestation/DLC-00000169", when).encode())
        s.clear_pending(seq)
        s.catch_up()  # the catalogue index follows, as the loader's own write of a batch does
        s.close()
        deadline = time.monotonic() + 120  # generous: the behaviour, not the speed, is tested here
        while _opened(url) == opened:
            assert time.monotonic() < deadline, "the server did not pick up the change"
            time.sleep(0.5)
        changed, later, _texts = pages(url, **{"from": dates[0]})
        assert set(changed) == {"oai:127.0.0.1:DLC-00000119", "oai:127.0.0.1:DLC-00000169"}
        assert _moment(later[0]) > _moment(dates[0])  # no load under way now: the time it was opened


# SRU -----------------------------------------------------------------------------------------

SRW = "{http://www.loc.gov/zing/srw/}"


def sru(base: str, **params) -> etree._Element:
    r = HTTP.get(f"{base}/sru", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    return etree.fromstring(r.content)


def diagnostic(root) -> str | None:
    uri = root.find(".//{http://www.loc.gov/zing/srw/diagnostic/}uri")
    return uri.text.rsplit("/", 1)[-1] if uri is not None else None


@pytest.mark.parametrize("isbn", ["0393976041", "978-0-393-97604-5"])
def test_sruthi_finds_a_record_by_isbn_in_one_request(live, isbn):
    import sruthi

    found = sruthi.searchretrieve(f"{live}/sru", query=f"isbn={isbn}")
    assert found.count == 1


def test_sru_copy_cataloguing_by_isbn_returns_valid_marcxml(live):
    root = sru(live, operation="searchRetrieve", version="1.2", query="isbn=0393976041")
    assert root.findtext(f"{SRW}numberOfRecords") == "1"
    data = root.find(f".//{SRW}recordData")[0]
    schema = _schema("MARC21slim.xsd")
    if schema is not None:
        assert schema.validate(etree.ElementTree(data)), schema.error_log.last_error
    record = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(data)))[0]
    assert record["020"]["a"].startswith("0393976041")


def test_sru_cql_title_creator_any_and_booleans(live):
    count = lambda q: int(sru(live, query=q).findtext(f"{SRW}numberOfRecords"))  # noqa: E731
    pride = count('title="pride and prejudice"')
    austen = count("creator=austen")
    assert pride >= 3 and austen >= pride
    assert count('title="pride and prejudice" and author=austen') == pride
    assert count("dc.title=pride or dc.title=persuasion") > pride
    assert count('creator=austen not title="pride and prejudice"') == austen - pride
    assert count("(title=pride) and (creator=austen)") == pride
    assert count("austen") >= austen
    assert count('title exact "nothing of the kind"') == 0


def test_sru_paging_and_dc(live):
    root = sru(live, query="creator=austen", startRecord="2", maximumRecords="3", recordSchema="dc")
    positions = [e.text for e in root.iter(f"{SRW}recordPosition")]
    assert positions == ["2", "3", "4"] and root.findtext(f"{SRW}nextRecordPosition") == "5"
    assert root.find(".//{http://purl.org/dc/elements/1.1/}title") is not None


@pytest.mark.parametrize("params,code", [
    ({"query": "title="}, "10"),
    ({"query": "(title=pride"}, "10"),
    ({"query": "subject=history"}, "16"),
    ({"query": "title<pride"}, "19"),
    ({"query": "isbn=1", "recordSchema": "mods"}, "66"),
    ({"operation": "searchRetrieve"}, "7"),
    ({"query": "creator=austen", "startRecord": "9999"}, "61"),
    ({"query": "creator=austen", "maximumRecords": "x"}, "6"),
    ({"operation": "scan", "scanClause": "title"}, "4"),
    ({"query": "isbn=1", "version": "2.0"}, "5"),
])
def test_sru_diagnostics(live, params, code):
    assert diagnostic(sru(live, **params)) == code


def test_sru_explain(live):
    root = sru(live)
    assert root.tag == f"{SRW}explainResponse"
    assert root.find(".//{http://explain.z3950.org/dtd/2.0/}indexInfo") is not None


# the whole LC 20k ------------------------------------------------------------------------------

def test_full_harvest_of_the_lc_20k_returns_every_manifestation_once(tmp_path):
    corpus = shared("lc-books-2016-part01-first20k.mrc.gz")
    port = free_port()
    store = tmp_path / "store"
    summary = ingest([str(corpus)], Settings(store=store, base=f"http://127.0.0.1:{port}", workers=2, profile=None))
    with server(store, port) as (url, _):
        headers = harvest(url)
    counts = Counter(h.identifier for h in headers)
    assert len(counts) == summary.manifestations and set(counts.values()) == {1}
