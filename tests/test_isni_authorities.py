"""The ISNI cycle on the Norwegian-style authority set and the bibliographic records naming it:
requests for the authorities without an ISNI (the authority's own identifier as the requestor's,
its 4XX variants, titles from the linked records), an answer taken in, and the assigned ISNI out
in authority MARC (a new 024), in bibliographic MARC ($1) and in the feed (Update)."""

from __future__ import annotations

import io
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pymarc
import pytest

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline import isni as flow
from metadatabronn.pipeline.export import export
from metadatabronn.store import Store
from metadatabronn.store.catalogue import Catalogue

from .conftest import DATA

BASE = "http://example.org"
AUTHORITIES = DATA / "authorities"
ASSIGNED = "000000012281955X"


@pytest.fixture
def store_path(tmp_path) -> Path:
    path = tmp_path / "store"
    ingest([str(AUTHORITIES / "norwegian-style.xml"), str(AUTHORITIES / "norwegian-style-bibliographic.xml")],
           Settings(store=path, base=BASE, workers=1))
    return path


def requests(store_path: Path, out: Path):
    store = Store(store_path, BASE, read_only=True)
    cat = Catalogue(store_path, read_only=True)
    try:
        return flow.requests(store, cat, "2000-01-01T00:00:00Z", out)
    finally:
        cat.close()
        store.close()


def by_requestor_id(out: Path) -> dict[str, ET.Element]:
    found = {}
    for path in out.iterdir():
        root = ET.parse(path).getroot()
        found[root.findtext("identityInformation/requestorIdentifierOfIdentity/identifier")] = root
    return found


def marc(store_path: Path, kind: str) -> dict[str, pymarc.Record]:
    out = io.BytesIO()
    export(store_path, BASE, out, "marc", workers=1, kind=kind)
    return {r["001"].data: r for r in pymarc.MARCReader(io.BytesIO(out.getvalue()), to_unicode=True)}


def test_requests_for_the_authorities_without_an_isni(store_path, tmp_path):
    summary = requests(store_path, tmp_path / "out")
    sent = by_requestor_id(tmp_path / "out")
    assert len(sent) == len(summary.written) > 0
    assert all(ident.startswith("(NO-TrBIB)") for ident in sent)
    assert "(NO-TrBIB)99990001" not in sent  # its 024 gives an ISNI
    assert summary.skipped["has an ISNI already"] and summary.skipped["deleted"]
    nyland = sent["(NO-TrBIB)99990014"].find("identityInformation/identity/personOrFiction")
    assert (nyland.findtext("personalName/surname"), nyland.findtext("personalName/forename")) == ("Nyland", "Ingrid Ø.")
    assert [v.findtext("forename") for v in nyland.iter("personalNameVariant")] == ["Ingrid Østby"]
    assert [r.findtext("titleOfWork/title") for r in nyland.iter("resource")] == ["Lys over Nordfjell"]
    body = sent["(NO-TrBIB)99990004"].find("identityInformation/identity/organisation")
    assert (body.findtext("organisationName/mainName"), body.findtext("usageDateFrom")) == ("Nordlys Media", "1999")
    assert ("ORCID", "0000-0002-9990-0142") in {(o.findtext("type"), o.findtext("identifier"))
                                                for o in sent["(NO-TrBIB)99990014"].iter("otherIdentifierOfIdentity")}


def test_an_isni_cycle_updates_the_agent_the_marc_out_and_the_feed(store_path, tmp_path):
    requests(store_path, tmp_path / "out")
    before_auth, before_bib = marc(store_path, "authority"), marc(store_path, "bibliographic")
    # an answer saved under another name: matched by the authority identifier among its sources
    answer = (DATA / "isni" / "assigned.xml").read_text(encoding="utf-8").replace(
        "<codeOfSource>VIAF</codeOfSource>\n        <sourceIdentifier>12345</sourceIdentifier>",
        "<codeOfSource>NO-TrBIB</codeOfSource>\n        <sourceIdentifier>(NO-TrBIB)99990014</sourceIdentifier>")
    folder = tmp_path / "answers"
    folder.mkdir()
    (folder / "answer-1.xml").write_text(answer, encoding="utf-8")
    store = Store(store_path, BASE)
    (agent,) = store.subjects_with(T.MB_AUTHORITY_ID, "(NO-TrBIB)99990014")
    summary = flow.responses(store, folder)
    assert summary.assigned == [(agent, ASSIGNED)]
    assert f"(isni){ASSIGNED}" in store.values(agent, T.MB_IDENTIFIER)
    assert "(orcid)0000-0002-9990-0142" in {o for _, p, o, *_ in store.about(agent) if p == T.MB_IDENTIFIER}
    assert flow.responses(store, folder).unchanged == [agent]  # read twice: nothing more
    store.close()
    conn = sqlite3.connect(store_path / "catalogue.sqlite3")
    last = conn.execute("SELECT verb, iri FROM activities WHERE seq = (SELECT MAX(seq) FROM activities)").fetchall()
    conn.close()
    assert ("Update", agent) in last  # with the records naming it

    after_auth = marc(store_path, "authority")
    changed = sorted(n for n in after_auth if str(after_auth[n]) != str(before_auth.get(n)))
    assert changed == ["99990014"]
    assert {"a": [ASSIGNED], "2": ["isni"]} in [f.subfields_as_dict() for f in after_auth["99990014"].get_fields("024")]
    after_bib = marc(store_path, "bibliographic")
    heading = after_bib["99991002"]["100"]
    assert f"https://isni.org/isni/{ASSIGNED}" in heading.get_subfields("1")
    assert before_bib["99991002"]["100"].get_subfields("a") == heading.get_subfields("a")

    # and the agent is not asked for again
    again = requests(store_path, tmp_path / "again")
    assert agent in again.skipped["has an ISNI already"]
