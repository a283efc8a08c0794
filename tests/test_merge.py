"""Merging two entities that are one (store.merging): the records of the merged one name the
survivor and keep their own values (MARC out unchanged), the merged IRI resolves to the survivor,
a record of it loaded again joins the survivor, and the change feed says Deprecate."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from metadatabronn.errors import MergeRefused
from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.export import export
from metadatabronn.store import Store
from metadatabronn.store.catalogue import FILE
from metadatabronn.store.feed import DCT_IS_REPLACED_BY
from metadatabronn.store.merging import merge
from metadatabronn.web.app import create_app

from .test_pipeline import GOLDEN, edited, golden_records, write

BASE = "http://example.org"


def run(store: Path, *paths):
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=1))


def work_of(store: Store, control: str) -> str:
    return store.values(f"{BASE}/manifestation/DLC-{control}", T.M_WORK)[0]


def marc_by_control(store_path: Path) -> dict[str, pymarc.Record]:
    out = io.BytesIO()
    export(store_path, BASE, out, "marc")
    return {r["001"].data: r for r in pymarc.MARCReader(io.BytesIO(out.getvalue()), to_unicode=True, force_utf8=True)}


def fields_but_005(record: pymarc.Record) -> list[str]:
    return [str(f) for f in record.get_fields() if f.tag != "005"]


def activities(store_path: Path, after: int = 0) -> list[tuple]:
    conn = sqlite3.connect(store_path / FILE)
    try:
        return conn.execute("SELECT verb, iri, kind, target FROM activities WHERE n > ? ORDER BY n", (after,)).fetchall()
    finally:
        conn.close()


def merged(store_path: Path) -> tuple[str, str]:
    """The work of 00024119 merged into that of 00003445: ``(survivor, merged)``."""
    store = Store(store_path, BASE)
    try:
        a, b = work_of(store, "00003445"), work_of(store, "00024119")
        merge(store, b, a)
    finally:
        store.close()
    return a, b


@pytest.fixture
def golden_store(tmp_path) -> Path:
    path = tmp_path / "store"
    run(path, GOLDEN)
    return path


def test_merge_moves_records_keeps_their_marc_and_says_deprecate(golden_store):
    before = marc_by_control(golden_store)
    store = Store(golden_store, BASE)
    try:
        a, b = work_of(store, "00003445"), work_of(store, "00024119")
        assert a != b
        seen = len(activities(golden_store))
        result = merge(store, b, a)
        assert (result.merged, result.into, result.kind, result.records) == (b, a, "work", 1)
        # The record of the merged work now names the survivor, and the merged work points there.
        assert work_of(store, "00024119") == a
        assert store.values(b, DCT_IS_REPLACED_BY) == [a]
        assert not store.linking(T.M_WORK, b)
        expression = store.values(f"{BASE}/manifestation/DLC-00024119", T.M_EXPRESSION)[0]
    finally:
        store.close()
    new = activities(golden_store, seen)
    assert new[0] == ("Deprecate", b, "work", a) and ("Update", a, "work", None) in new
    # The merged work's expression now realises the survivor: its core changed.
    assert ("Update", expression, "expression", None) in new
    # The record that moved changed; the survivor's own record did not.
    assert {iri for verb, iri, kind, _ in new if kind == "manifestation"} == {f"{BASE}/manifestation/DLC-00024119"}
    # Records that did not move are as they were (005 says when a record changed); the one that
    # moved keeps its own values and shows the merge: the survivor's preferred title as its 240.
    after = marc_by_control(golden_store)
    assert set(after) == set(before)
    moved = next(c for c in before if c.strip() == "00024119")
    for control in before:
        if control != moved:
            assert fields_but_005(after[control]) == fields_but_005(before[control]), control
    gained = [f for f in fields_but_005(after[moved]) if f not in fields_but_005(before[moved])]
    store = Store(golden_store, BASE, read_only=True)
    try:
        title = store.values(a, T.W_PREFERRED_TITLE)[0]
    finally:
        store.close()
    assert [f[:4] for f in gained] == ["=240"] and title in gained[0]
    assert [f for f in fields_but_005(before[moved]) if f not in fields_but_005(after[moved])] == []


def test_a_merged_agent_shows_in_the_headings_of_the_records_that_moved(golden_store):
    before = marc_by_control(golden_store)
    store = Store(golden_store, BASE)
    try:
        rows = list(store.query(f"SELECT DISTINCT ?a ?g WHERE {{ GRAPH ?g {{ ?w <{T.W_CREATOR}> ?a }} }} ORDER BY ?a"))
        agents = list(dict.fromkeys(r["a"].value for r in rows))
        old, survivor = agents[0], agents[1]
        graphs = {r["g"].value for r in rows if r["a"].value == old}
        merge(store, old, survivor)
    finally:
        store.close()
    after = marc_by_control(golden_store)
    moved = {c for c in before if f"{BASE}/record/DLC-{c.strip()}" in graphs}
    assert moved
    for control in before:
        gained = [f for f in fields_but_005(after[control]) if f not in fields_but_005(before[control])]
        if control in moved:  # the heading as the record gave it, with the survivor's IRI in $1
            assert len(gained) == 1 and gained[0].endswith(f"$1{survivor}"), gained
        else:
            assert gained == [], control


def test_a_record_of_the_merged_work_loaded_again_joins_the_survivor(golden_store, tmp_path):
    a, b = merged(golden_store)
    raw = next(r for r in golden_records()
               if pymarc.Record(data=r, to_unicode=True, force_utf8=True)["001"].data.strip() == "00024119")
    changed = edited(raw, lambda rec: rec.add_field(pymarc.Field(tag="500", indicators=[" ", " "],
                                                                  subfields=[pymarc.Subfield("a", "A note.")])))
    seen = len(activities(golden_store))
    summary = run(golden_store, write(tmp_path / "again.mrc", [changed]))
    assert summary.records_updated == 1
    store = Store(golden_store, BASE, read_only=True)
    try:
        assert work_of(store, "00024119") == a
    finally:
        store.close()
    new = activities(golden_store, seen)
    assert ("Update", f"{BASE}/manifestation/DLC-00024119", "manifestation", None) in new
    assert not any(verb == "Create" and iri == b for verb, iri, _, _ in new)


def test_a_record_naming_a_merged_agent_loaded_again_names_the_survivor(golden_store, tmp_path):
    """An agent has no cluster key to move: a record loaded again that names the merged agent is
    given its survivor, and the merged one is not minted again."""
    store = Store(golden_store, BASE)
    try:
        rows = list(store.query(f"SELECT DISTINCT ?a ?g WHERE {{ GRAPH ?g {{ ?w <{T.W_CREATOR}> ?a }} }} ORDER BY ?a"))
        agents = list(dict.fromkeys(r["a"].value for r in rows))
        old, survivor = agents[0], agents[1]
        graph = next(r["g"].value for r in rows if r["a"].value == old)
        merge(store, old, survivor)
    finally:
        store.close()
    control = graph.rsplit("/DLC-", 1)[-1]
    raw = next(r for r in golden_records()
               if pymarc.Record(data=r, to_unicode=True, force_utf8=True)["001"].data.strip() == control)
    changed = edited(raw, lambda rec: rec.add_field(pymarc.Field(tag="500", indicators=[" ", " "],
                                                                  subfields=[pymarc.Subfield("a", "A note.")])))
    assert run(golden_store, write(tmp_path / "again.mrc", [changed])).records_updated == 1
    store = Store(golden_store, BASE, read_only=True)
    try:
        named = {q.object.value for q in store._store.quads_for_pattern(None, None, None, ox.NamedNode(graph))}
        assert survivor in named and old not in named
    finally:
        store.close()


def test_a_merged_entity_redirects_to_its_survivor(golden_store):
    a, b = merged(golden_store)
    with TestClient(create_app(golden_store, BASE, query_workers=1, refresh=0)) as client:
        r = client.get(b[len(BASE):] + "?format=turtle", follow_redirects=False)
        assert r.status_code == 308
        assert r.headers["location"].endswith(a[len(BASE):] + "?format=turtle")
        assert client.get(r.headers["location"]).status_code == 200


def test_merges_that_cannot_be_are_refused_and_change_nothing(golden_store):
    store = Store(golden_store, BASE)
    try:
        a, b = work_of(store, "00003445"), work_of(store, "00024119")
        expression = store.values(f"{BASE}/manifestation/DLC-00003445", T.M_EXPRESSION)[0]
        size = len(store)
        for merged, into, says in [(a, a, "itself"), (a, expression, "only entities of one kind"),
                                   (f"{BASE}/work/nothing", a, "holds no"),
                                   ("http://elsewhere.org/work/x", a, "not an IRI of this store"),
                                   (f"{BASE}/manifestation/DLC-00003445", f"{BASE}/manifestation/DLC-00024119", "manifestations come from records")]:
            with pytest.raises(MergeRefused, match=says):
                merge(store, merged, into)
        assert len(store) == size
        merge(store, b, a)
        with pytest.raises(MergeRefused, match="already merged"):
            merge(store, b, a)
    finally:
        store.close()


def test_after_a_merge_copies_and_store_give_the_same_records_and_times(golden_store):
    from .test_copies import agree, graphs

    store = Store(golden_store, BASE)
    try:
        a, b = work_of(store, "00003445"), work_of(store, "00024119")
        merge(store, b, a)
        # And an edit naming a manifestation: its record's time is the edit's, read either way.
        m = f"{BASE}/manifestation/DLC-00003445"
        store.update(f'INSERT DATA {{ <{m}> <{T.M_NOTE}> "A note added in the well." }}', changed=[m])
    finally:
        store.close()
    # The moved and the edited record lost their copies (read from the store); the rest agree too.
    assert agree(golden_store) == len(graphs(golden_store)) - 2
    reader = Store(golden_store, BASE, read_only=True)
    try:
        moved = reader.record_statements(f"{BASE}/record/DLC-00024119")
        edited = reader.record_statements(f"{BASE}/record/DLC-00003445")
        untouched = reader.record_statements(f"{BASE}/record/DLC-00031871")
    finally:
        reader.close()
    assert moved[2] > untouched[2] and edited[2] > moved[2]  # xsd:dateTimes of one day: text order is time order


def test_entity_counts_follow_edits_and_merges_without_a_recount(golden_store, monkeypatch):
    store = Store(golden_store, BASE)
    try:
        a, b = work_of(store, "00003445"), work_of(store, "00024119")
        agent = store.values(a, T.W_CREATOR)[0] if store.values(a, T.W_CREATOR) else None
        monkeypatch.setattr(Store, "count_entities", lambda self: pytest.fail("the whole store was counted"))
        new = f"{BASE}/work/added-in-the-well"
        store.update(f'INSERT DATA {{ <{new}> a <{T.C_WORK}> ; <{T.W_PREFERRED_TITLE}> "A work of the well" }}',
                     changed=[new])
        if agent is not None:
            store.update(f"DELETE WHERE {{ <{agent}> ?p ?o }}", changed=[agent])
        merge(store, b, a)
        monkeypatch.undo()
        assert store.entity_counts() == store.count_entities()
    finally:
        store.close()
