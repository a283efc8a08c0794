"""Reading a record for MARC out: its change times come from the change log's entries about the
IRIs it names, never from a read of the whole log."""

from __future__ import annotations

from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.store import reading
from metadatabronn.store.cores import Memo
from metadatabronn.store.records import _instant

from .conftest import ROOT

BASE = "http://example.org"
PRIDE = ("00007090", "00007091", "00033956")  # three manifestations of one work
OTHER = ("00000226",)


def _store(tmp_path: Path) -> Path:
    with open(ROOT / "data" / "sample.mrc", "rb") as fh:
        records = [r for r in pymarc.MARCReader(fh) if r["001"].data.strip() in PRIDE + OTHER]
    path = tmp_path / "in.mrc"
    path.write_bytes(b"".join(r.as_marc() for r in records))
    store = tmp_path / "store"
    ingest([str(path)], Settings(store=store, base=BASE, workers=1))
    return store


def _retitle(s: Store, work: str, title: str) -> None:
    s.update(f"""DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }} INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> "{title}" }}
                 WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}""", changed=[work])


def _pride_work(s: Store) -> str:
    (work,) = {r["w"].value for r in s.query(
        f"SELECT ?w WHERE {{ ?m <{T.M_WORK}> ?w ; <{T.M_IDENTIFIER}> ?id FILTER(CONTAINS(?id, '00007090')) }}")}
    return work


def _graph(cn: str) -> str:
    return f"{BASE}/record/DLC-{cn}"


@pytest.fixture
def edited_store(tmp_path):
    """The sample's Pride and Prejudice work retitled twice in the well after the load."""
    store = _store(tmp_path)
    s = Store(store, BASE)
    try:
        work = _pride_work(s)
        _retitle(s, work, "Pride and prejudice (novel)")
        _retitle(s, work, "Pride and prejudice (a novel)")
    finally:
        s.close()
    return store, work


def test_latest_change_is_the_whole_logs_latest_entry_for_each_iri(edited_store):
    store, work = edited_store
    s = Store(store, BASE, read_only=True)
    try:
        whole = s.change_times()
        assert work in whole and len(whole) == len(PRIDE + OTHER) + 1  # each manifestation's load, and the work
        for iri, when in whole.items():
            assert _instant(s.latest_change(iri)) == _instant(when)
            assert _instant(s.latest_change(iri, shared=True)) == _instant(when)  # and from the memo
            assert _instant(s.latest_change(iri, shared=True)) == _instant(when)
        assert s.latest_change(f"{BASE}/agent/never-changed") is None
    finally:
        s.close()


def test_a_record_is_read_without_reading_the_whole_change_log(edited_store, monkeypatch):
    store, work = edited_store
    s = Store(store, BASE, read_only=True)
    try:
        times = s.change_times()
        monkeypatch.setattr(reading.Reading, "change_times", lambda self: pytest.fail("the whole log was read"))
        monkeypatch.setattr(reading.Reading, "record_index", lambda self: pytest.fail("every record was read"))
        for cn in PRIDE:
            m, _, modified, deleted, _, edited = s.record_statements(_graph(cn), edits=True)
            # The record changed when its work was last retitled, after its load.
            assert not deleted and _instant(modified) == _instant(times[work]) > _instant(times[m])
            assert edited == {work}
        (cn,) = OTHER
        m, _, modified, _, _, edited = s.record_statements(_graph(cn), edits=True)
        assert _instant(modified) == _instant(times[m]) and edited == frozenset()
        assert s.record_statements(_graph(cn))[2] == modified  # the same without edits
    finally:
        s.close()


def test_a_store_open_for_writing_sees_an_edit_made_after_it_read_a_record(tmp_path):
    # Only a read-only snapshot keeps change times: a writer's own edits change them.
    store = _store(tmp_path)
    s = Store(store, BASE)
    try:
        graph = _graph(PRIDE[0])
        _, _, loaded, _, _, edited = s.record_statements(graph, edits=True)
        assert edited == frozenset()
        work = _pride_work(s)
        _retitle(s, work, "Pride and prejudice (novel)")
        _, _, modified, _, _, edited = s.record_statements(graph, edits=True)
        assert edited == {work} and _instant(modified) > _instant(loaded)
    finally:
        s.close()


def test_the_memo_keeps_what_is_in_use_and_forgets_the_rest():
    memo = Memo(2)
    missing = object()
    memo.put("a", "1")
    memo.put("b", None)  # the new generation full: it becomes the old one
    assert memo.get("b", missing) is None  # a value of None is remembered
    assert memo.get("a") == "1"  # asked for: back in the new generation, with b
    memo.put("c", "3")  # full again: a, b old; c new
    memo.put("d", "4")  # full: c, d old; a and b forgotten
    assert memo.get("a", missing) is missing and memo.get("b", missing) is missing
    assert memo.get("c") == "3" and memo.get("d") == "4"
    assert len(memo) == 2
    for i in range(1000):
        memo.put(i, i)
    assert len(memo) <= 2 * memo.size  # bounded


def test_an_export_never_counts_the_stores_quads(tmp_path, monkeypatch):
    # Counting is a read of every quad: a store's truth value must not be its size.
    import io

    from metadatabronn.pipeline.export import export

    store = _store(tmp_path)
    monkeypatch.setattr(reading.Reading, "__len__", lambda self: pytest.fail("every quad was counted"))
    out = io.BytesIO()
    result = export(store, BASE, out, "marc", workers=1)
    assert result.records == len(PRIDE + OTHER) and not result.failed


def test_record_graphs_are_every_record_graph_in_the_stores_order(edited_store):
    # Listed by a query that decodes only the graph's IRI: the same graphs in the same order as
    # the describes-statements the store holds in their own graphs (a tombstone's among them).
    store, _ = edited_store
    s = Store(store, BASE)
    try:
        s.update(f"DELETE WHERE {{ GRAPH <{_graph('00007090')}> {{ ?s ?p ?o }} }}")  # a graph gone
        describes = ox.NamedNode(T.MB + "describes")
        expected = [q.graph_name.value for q in s._store.quads_for_pattern(None, describes, None, None)
                    if q.subject == q.graph_name]
        assert len(expected) == 3 and _graph("00007090") not in expected
        assert list(s.record_graphs()) == expected
    finally:
        s.close()
