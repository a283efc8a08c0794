"""Authority records through ingest: their graphs, the cores of their entities, the change log, the
catalogue index and the names, re-ingest, deletion, replacement and refusal."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest

from metadatabronn.errors import StoreError
from metadatabronn.identity import mint
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.authority_terms import C_NOMEN, DCT_IS_REPLACED_BY, N_REFERENCE_SOURCE
from metadatabronn.mapping.model import Entity, Kind
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.rdf import AS_TOMBSTONE
from metadatabronn.store import Store, catchup, names
from metadatabronn.store.catalogue import Catalogue, rows_of

DATA = Path(__file__).parent / "data" / "authorities"
AUTHORITIES = DATA / "norwegian-style.xml"
BIBLIOGRAPHIC = DATA / "norwegian-style-bibliographic.xml"
BASE = "http://example.org"


def agent(number: str) -> str:
    return mint(BASE, Entity(Kind.PERSON, ("id", f"(NO-TrBIB){number}")))


def graph(number: str) -> str:
    return f"{BASE}/authority/NO-TrBIB-{number}"


def run(store: Path, *paths: Path, workers: int = 1):
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=workers,
                                                    rejects_dir=store.parent / "rejects"))


@contextmanager
def opened(path: Path):
    s = Store(path, read_only=True)
    s.catalogue = Catalogue(path, read_only=True)  # a reader opens its own view of the index
    try:
        yield s
    finally:
        s.catalogue.close()
        s.catalogue = None
        s.close()


def objects(store: Path, subject: str, predicate: str, graph_name: str | None = None) -> list[str]:
    g = ox.DefaultGraph() if graph_name == "" else ox.NamedNode(graph_name) if graph_name else None
    with opened(store) as s:
        return sorted(q.object.value for q in s._store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate),
                                                                          None, g))


def rewritten(tmp_path: Path, source: Path, change) -> Path:
    """The file with each record passed through ``change`` (a record it returns None for is left out)."""
    out = tmp_path / source.name
    writer = pymarc.XMLWriter(out.open("wb"))
    for record in pymarc.parse_xml_to_array(str(source)):
        record = change(record)
        if record is not None:
            writer.write(record)
    writer.close()
    return out


def test_authorities_are_stored_with_graph_core_change_and_row(tmp_path):
    store = tmp_path / "store"
    summary = run(store, AUTHORITIES)
    assert summary.records_authority == 15 and summary.records_rejected == 0
    assert summary.records_new == 14 and summary.records_deleted == 1
    assert summary.records_aside == {}
    solberg = agent("99990001")
    # The record graph: what the authority says, its identifier, keys, nomens, provenance.
    assert objects(store, solberg, T.MB_AUTHORITY_ID, graph("99990001")) == ["(NO-TrBIB)99990001"]
    assert "agent|id|(isni)0000000999900012" in objects(store, solberg, T.MB_LINK_KEY)
    assert objects(store, solberg, T.RDAA + "P50412", graph("99990001")) == [
        "Solberg Dæhli, Åse", "Solberg, Aase Kari 1921-1998"]
    assert objects(store, f"{graph('99990001')}#nomen-11", T.RDF_TYPE) == [C_NOMEN]
    layout = json.loads(objects(store, graph("99990001"), T.MB_CARRIED)[0])
    assert [f[0] for f in layout["fields"]][:4] == ["001", "003", "005", "008"]
    # The core, in the default graph: type, preferred name and access point only.
    with opened(store) as core:
        stated = {(q.predicate.value, q.object.value) for q in core._store.quads_for_pattern(
            ox.NamedNode(solberg), None, None, ox.DefaultGraph())}
    assert stated == {(T.RDF_TYPE, T.C_PERSON), (T.A_PERSON_NAME, "Solberg, Åse Kari"),
                      (T.A_PERSON_AAP, "Solberg, Åse Kari 1921-1998")}
    # The catalogue index: one row per authority record, id authority-{slug}.
    with opened(store) as s:
        rows = {r[0]: r for r in rows_of(s.catalogue)}
    assert len([i for i in rows if i.startswith("authority-")]) == 15
    row = rows["authority-NO-TrBIB-99990001"]
    assert row[1] == graph("99990001") and row[2] == solberg and not row[5]
    assert rows["authority-NO-TrBIB-99990010"][5] == 1  # deleted


def test_reingest_is_idempotent_and_a_changed_record_replaces_its_graph(tmp_path):
    store = tmp_path / "store"
    run(store, AUTHORITIES)
    again = run(store, AUTHORITIES)
    assert again.records_unchanged == 15 and again.records_new == again.records_updated == 0

    def edit(record):
        if record["001"].data == "99990001":
            record["670"]["a"] = "Hennes Fjellsanger, 2. utg., 1960"
            record.remove_fields("678")
        return record

    changed = run(store, rewritten(tmp_path, AUTHORITIES, edit))
    assert changed.records_updated == 1 and changed.records_unchanged == 14
    solberg = agent("99990001")
    assert objects(store, solberg, T.RDAA + "P50113") == []  # the 678 gone with the graph it was in
    sources = objects(store, f"{graph('99990001')}#nomen-11", N_REFERENCE_SOURCE)
    assert sources == ["Hennes Fjellsanger, 2. utg., 1960 (Åse Kari Solberg, f. 1921)"]


def test_a_deleted_authority_is_a_tombstone(tmp_path):
    store = tmp_path / "store"
    run(store, AUTHORITIES)
    nyland = agent("99990014")

    def delete(record):
        if record["001"].data == "99990014":
            record.leader = record.leader[:5] + "d" + record.leader[6:]
        return record

    summary = run(store, rewritten(tmp_path, AUTHORITIES, delete))
    assert summary.records_deleted == 1 and summary.records_unchanged == 14
    assert objects(store, nyland, T.RDF_TYPE, graph("99990014")) == [AS_TOMBSTONE]
    assert objects(store, nyland, T.MB_LINK_KEY) == []  # its keys went with its graph
    assert objects(store, nyland, T.A_PERSON_AAP, "") == ["Nyland, Ingrid Ø. 1968-"]  # the core stays
    with opened(store) as s:
        row = {r[0]: r for r in rows_of(s.catalogue)}["authority-NO-TrBIB-99990014"]
        assert row[5] == 1
        assert names.names_of(s.catalogue, nyland) == [("Nyland, Ingrid Ø. 1968-", True)]  # from its core


def test_a_replaced_authority_names_what_replaces_it(tmp_path):
    store = tmp_path / "store"
    run(store, AUTHORITIES)
    assert objects(store, agent("99990011"), DCT_IS_REPLACED_BY) == [agent("99990009")]


def test_a_heading_made_core_is_kept_when_its_authority_comes(tmp_path):
    store = tmp_path / "store"
    run(store, BIBLIOGRAPHIC)
    solberg = agent("99990001")
    heading_core = objects(store, solberg, T.A_PERSON_AAP, "")
    assert heading_core == ["Solberg, Åse Kari, 1921-1998"]  # as the 100 with $0 gave it
    summary = run(store, AUTHORITIES)
    assert summary.records_authority == 15
    assert objects(store, solberg, T.A_PERSON_AAP, "") == heading_core
    assert objects(store, solberg, T.A_PERSON_AAP, graph("99990001")) == ["Solberg, Åse Kari 1921-1998"]


def test_headings_loaded_after_their_authorities_name_their_entities(tmp_path):
    store = tmp_path / "store"
    run(store, AUTHORITIES)
    summary = run(store, BIBLIOGRAPHIC)
    assert summary.records_new == 3
    record = f"{BASE}/record/NO-TrBIB-99991003"
    with opened(store) as s:
        named = {q.object.value for q in s._store.quads_for_pattern(None, None, None, ox.NamedNode(record))
                 if isinstance(q.object, ox.NamedNode)}
    assert agent("99990009") in named  # "Odegaard, Marius" is a variant of 99990009's name


def test_names_are_indexed_folded(tmp_path):
    store = tmp_path / "store"
    run(store, AUTHORITIES)
    with opened(store) as s:
        assert names.names_of(s.catalogue, agent("99990009")) == [
            ("Ødegård, Marius 1975-", True), ("Odegaard, Marius 1975-", False)]
        found = [h.entity for h in names.search(s.catalogue, "odegard")]
        assert agent("99990009") in found


def test_unusable_authorities_are_refused_and_holdings_still_set_aside(tmp_path):
    store = tmp_path / "store"

    def spoil(record):
        number = record["001"].data
        if number == "99990013":
            record.remove_fields("150")  # no heading
        elif number == "99990015":
            record.leader = record.leader[:6] + "y" + record.leader[7:]  # a holdings record
        return record

    summary = run(store, rewritten(tmp_path, AUTHORITIES, spoil))
    assert summary.records_authority == 13
    assert summary.records_aside == {"holdings": 1}
    assert summary.records_rejected == 2
    rejects = [json.loads(line) for p in (tmp_path / "rejects").glob("*.jsonl") for line in p.open()]
    refused = [r for r in rejects if "heading" in r["reason"]]
    assert len(refused) == 1 and refused[0]["tag"] == "1XX" and refused[0]["record"] == 13


def test_workers_give_the_same_store(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    run(one, AUTHORITIES, workers=1)
    run(two, AUTHORITIES, workers=2)

    def content(path):
        with opened(path) as s:
            return {(q.subject.value, q.predicate.value, q.object.value, str(q.graph_name))
                    for q in s._store.quads_for_pattern(None, None, None, None)
                    if "/graph/changes" not in str(q.graph_name) and "generatedAtTime" not in q.predicate.value
                    and "/change/" not in q.subject.value and "deleted" not in q.predicate.value
                    and "store" not in q.subject.value}

    assert content(one) == content(two)


def test_the_catalogue_index_rebuilt_from_the_store_equals_the_live_one(tmp_path):
    store = tmp_path / "store"
    run(store, BIBLIOGRAPHIC)
    run(store, AUTHORITIES)

    def delete(record):
        if record["001"].data == "99990002":
            record.leader = record.leader[:5] + "d" + record.leader[6:]
        return record

    run(store, rewritten(tmp_path, AUTHORITIES, delete))
    s = Store(store, BASE)
    try:
        live = sorted(rows_of(s.catalogue))
        catchup.rebuild(s, s.catalogue)
        assert sorted(rows_of(s.catalogue)) == live
    finally:
        s.close()
    assert sum(1 for r in live if r[0].startswith("authority-")) == 15


@pytest.mark.parametrize("method", ["bulk_load", "clear_pending"])
def test_an_interrupted_authority_batch_is_rolled_back_with_its_rows(tmp_path, monkeypatch, method):
    store = tmp_path / "store"
    original = getattr(Store, method)
    calls = []

    def failing(self, *args, **kw):  # the second batch fails: half loaded, or loaded and indexed
        calls.append(1)
        if len(calls) != 2:
            return original(self, *args, **kw)
        if method == "bulk_load":
            text = b"".join(args[0]) if isinstance(args[0], list) else args[0]  # (the batch's parts)
            lines = text.splitlines(keepends=True)
            original(self, b"".join(lines[:len(lines) // 2]))
        raise StoreError("simulated crash")

    with monkeypatch.context() as m:
        m.setattr(Store, method, failing)
        with pytest.raises(StoreError):
            ingest([str(AUTHORITIES)], Settings(store=store, base=BASE, workers=1, batch_records=5,
                                                rejects_dir=tmp_path / "rejects"))
    s = Store(store, BASE)
    try:
        s.roll_back()
        rolled = sorted(rows_of(s.catalogue))
        catchup.rebuild(s, s.catalogue)
        assert sorted(rows_of(s.catalogue)) == rolled
    finally:
        s.close()
    assert len(rolled) == 5  # the first batch's records, and nothing of the second
    again = run(store, AUTHORITIES)
    assert again.records_unchanged == 5 and again.records_new == 9
