"""The look-up index (store.minted): the loader takes "the store holds no such key or core" from
it, so it must hold every core and key the store holds, after any run of loads, edits,
deletions and merges; and a load with it must write exactly what a load without it writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.rdf import MB_KEY
from metadatabronn.store import Store, minted
from metadatabronn.store.catalogue import FILE
from metadatabronn.store.layout import RDF_TYPE

from .test_catalogue_index import OPS, run_ops
from .test_pipeline import GOLDEN, MARC, quads, sample_file

BASE = "http://example.org"
# The index is for a store on disk: a loader asks a store on a SPARQL server in groups instead.
pytestmark = pytest.mark.embedded_only("the look-up index is for a store on disk: a loader on a SPARQL server "
                                       "asks it in groups, and does not use it")


def run(store: Path, *paths, **kw):
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=1, **kw))


def _held_in(conn: sqlite3.Connection, table: str) -> set[int]:
    return {h for (h,) in conn.execute(f"SELECT h FROM {table}")}


def tables(store: Path) -> tuple[set[int], set[int], str | None]:
    """The fingerprints of cores and keys the index holds, and its flag."""
    conn = sqlite3.connect(store / FILE)
    try:
        flag = conn.execute("SELECT value FROM meta WHERE key = ?", (minted.FLAG,)).fetchone()
        return _held_in(conn, minted.CORES), _held_in(conn, minted.KEYS), flag[0] if flag else None
    finally:
        conn.close()


def _in_index(store: Path, *statements: str) -> None:
    """Change the store's index file behind its back (a store from before, a damaged index)."""
    conn = sqlite3.connect(store / FILE)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def loaded(store: Path) -> tuple[set[int], set[int]]:
    """The fingerprints of record graphs and digests the index holds."""
    conn = sqlite3.connect(store / FILE)
    try:
        return _held_in(conn, minted.GRAPHS), _held_in(conn, minted.DIGESTS)
    finally:
        conn.close()


def _missing(values: set[str], held: set[int]) -> list[str]:
    return sorted(v for v in values if minted.fingerprint(v) not in held)[:5]


def held(store: Path) -> tuple[set[str], set[str], set[str], set[str]]:
    """What the store holds: subjects typed in the default graph, every mb:key there, and
    every record graph with a digest, and those digests."""
    s = Store(store, BASE, read_only=True)
    try:
        default = ox.DefaultGraph()
        typed = {q.subject.value for q in s._store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None, default)}
        keys = {q.object.value for q in s._store.quads_for_pattern(None, ox.NamedNode(MB_KEY), None, default)}
        hashed = list(s._store.quads_for_pattern(None, ox.NamedNode(T.MB_SOURCE_HASH), None, None))
        return typed, keys, {q.subject.value for q in hashed}, {q.object.value for q in hashed}
    finally:
        s.close()


def covers(store: Path) -> None:
    iris, keys, flag = tables(store)
    graphs, digests = loaded(store)
    typed, stated, hashed, sums = held(store)
    assert flag == minted.CURRENT
    assert not _missing(typed, iris), _missing(typed, iris)
    assert not _missing(stated, keys), _missing(stated, keys)
    assert hashed and not _missing(hashed, graphs), _missing(hashed, graphs)
    assert not _missing(sums, digests), _missing(sums, digests)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_after_any_run_of_loads_edits_and_merges_it_covers_what_the_store_holds(tmp_path_factory, ops):
    store = run_ops(tmp_path_factory.mktemp("ops"), ops)
    covers(store)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_a_load_with_it_writes_what_a_load_without_it_writes(tmp_path_factory, ops):
    with_index = run_ops(tmp_path_factory.mktemp("with"), [*ops, ("load", [0, 5, 11, 17])])
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Store, "prepare_lookups", lambda self: None)  # every look-up asks the store
        without = run_ops(tmp_path_factory.mktemp("without"), [*ops, ("load", [0, 5, 11, 17])])
    assert _stable(quads(with_index)) == _stable(quads(without))


def _stable(found: set) -> set:
    """Statements less times (each run has its own clock)."""
    return {q for q in found if not (isinstance(q.object, ox.Literal) and q.object.datatype is not None
                                     and q.object.datatype.value.endswith("#dateTime"))}


def test_a_store_from_before_it_gets_it_at_its_next_load_and_a_rebuild_makes_it_again(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    _in_index(store, *(f"DELETE FROM {table}" for table in minted.TABLES),
              f"DELETE FROM meta WHERE key = '{minted.FLAG}'")
    run(store, MARC / "lc5.mrc")
    covers(store)
    s = Store(store, BASE)
    try:
        s.reindex()
    finally:
        s.close()
    assert tables(store) == (set(), set(), "0") and loaded(store) == (set(), set())
    run(store, sample_file(tmp_path / "p.mrc", "00007090"))
    covers(store)


def test_an_index_from_before_graphs_and_digests_were_kept_is_rebuilt_and_a_reload_is_still_unchanged(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    _in_index(store, f"DELETE FROM {minted.GRAPHS}", f"DELETE FROM {minted.DIGESTS}",
              f"UPDATE meta SET value = '1' WHERE key = '{minted.FLAG}'")
    again = run(store, GOLDEN)  # were the old index trusted, every record would look new
    assert again.records_new == 0 and again.records_updated == 0 and again.records_unchanged > 0
    covers(store)


def test_an_index_of_values_from_before_fingerprints_is_dropped_and_rebuilt(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    _in_index(store, *(f"DELETE FROM {table}" for table in minted.TABLES),
              *(f"CREATE TABLE {table} (v TEXT PRIMARY KEY) WITHOUT ROWID" for table in minted.LEGACY),
              "INSERT INTO minted VALUES ('http://example.org/work/left-from-before')",
              f"UPDATE meta SET value = '2' WHERE key = '{minted.FLAG}'")
    again = run(store, GOLDEN)
    assert again.records_new == 0 and again.records_updated == 0 and again.records_unchanged > 0
    covers(store)
    conn = sqlite3.connect(store / FILE)
    try:
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    assert not names & set(minted.LEGACY)


def test_a_fingerprint_is_a_stable_64_bit_key():
    # Stable across runs and machines: an index written by one process is read by another.
    assert minted.fingerprint("http://example.org/work/w1") == minted.fingerprint("http://example.org/work/w1")
    assert minted.fingerprint("a") != minted.fingerprint("b")
    assert minted.fingerprint("") == int.from_bytes(bytes.fromhex("e4a6a0577479b2b4"), "big", signed=True)
    assert all(-2 ** 63 <= minted.fingerprint(str(i)) < 2 ** 63 for i in range(1000))


def test_an_edit_that_adds_a_core_or_a_key_is_in_it(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    agent, key = f"{BASE}/agent/made-in-the-well", "work|a key given in the well"
    s = Store(store, BASE)
    try:
        (work,) = s.values(f"{BASE}/manifestation/DLC-00031871", T.M_WORK)
        s.update(f'INSERT DATA {{ <{agent}> a <{T.C_PERSON}> . <{work}> <{MB_KEY}> "{key}" }}', changed=[agent, work])
    finally:
        s.close()
    iris, keys, _ = tables(store)
    assert minted.fingerprint(agent) in iris and minted.fingerprint(key) in keys
    covers(store)


class _Counting:
    """pyoxigraph's store with its pattern reads counted."""

    def __init__(self, inner):
        self.inner, self.reads = inner, 0

    def quads_for_pattern(self, *args, **kw):
        self.reads += 1
        return self.inner.quads_for_pattern(*args, **kw)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_what_the_store_does_not_hold_is_answered_without_asking_it(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    s = Store(store, BASE)
    try:
        s.prepare_lookups()
        counting = s._store = _Counting(s._store)
        assert not s.has_core(f"{BASE}/agent/nobody") and s.key_iri("work|no such work") is None
        assert s.record_hash(f"{BASE}/record/no-such-record") is None and not s.holds_digest("no such digest")
        assert counting.reads == 0
        (work,) = s.values(f"{BASE}/manifestation/DLC-00031871", T.M_WORK)
        assert s.has_core(work)  # a "yes" is the store's
        assert counting.reads >= 2
    finally:
        s._store = s._store.inner
        s.close()


def test_a_mirror_writing_in_a_directory_says_its_index_no_longer_covers_it(tmp_path):
    from metadatabronn.store.mirroring import MirrorStore

    store = tmp_path / "store"
    run(store, GOLDEN)
    assert tables(store)[2] == minted.CURRENT
    mirror = MirrorStore(store)
    try:
        mirror.apply([])
    finally:
        mirror.close()
    assert tables(store)[2] == "0"
