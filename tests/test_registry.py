"""The identity registry in the catalogue index (store.registry): after loads, edits, roll-backs
and any run of them it lists exactly the cores and keys the store holds, ingest believes it only
when it is whole, and a store loaded with it gets the IRIs a store loaded without it gets."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from metadatabronn.errors import StoreError
from metadatabronn.mapping import terms as T
from metadatabronn.store import Store, registry
from metadatabronn.store.catalogue import FILE

from .test_catalogue_index import OPS, _crash, run_ops
from .test_copies import run
from .test_pipeline import GOLDEN, MARC, sample_file

BASE = "http://example.org"


def held(store: Path) -> tuple[set, set, bool]:
    conn = sqlite3.connect(store / FILE)
    try:
        return ({i for (i,) in conn.execute("SELECT iri FROM entities")},
                set(conn.execute("SELECT key, iri FROM keys")),
                conn.execute("SELECT 1 FROM meta WHERE key = ?", (registry.WHOLE,)).fetchone() is not None)
    finally:
        conn.close()


def from_store(store: Path) -> tuple[set, set]:
    """What a registry read whole from the store's cores holds (written to a scratch file)."""
    s = Store(store, BASE, read_only=True)
    try:
        conn = sqlite3.connect(":memory:")
        conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);" + registry.SCHEMA)
        registry.fill(conn, s)
        return ({i for (i,) in conn.execute("SELECT iri FROM entities")},
                set(conn.execute("SELECT key, iri FROM keys")))
    finally:
        s.close()


def agrees(store: Path) -> None:
    entities, keys, whole = held(store)
    assert whole
    assert (entities, keys) == from_store(store)


def test_a_new_store_has_a_whole_registry_that_ingest_keeps(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN, MARC / "lc5.mrc", workers=2)
    entities, keys, _ = held(store)
    assert len(entities) > 50 and any(k.startswith("work|") for k, _ in keys)
    agrees(store)


def test_an_edit_that_moves_a_key_and_drops_a_core_is_read_again(tmp_path):
    store = tmp_path / "store"
    run(store, sample_file(tmp_path / "p.mrc", "00007090", "00000119"))
    s = Store(store, BASE)
    try:
        (a,) = s.values(f"{BASE}/manifestation/DLC-00007090", T.M_WORK)
        (b,) = s.values(f"{BASE}/manifestation/DLC-00000119", T.M_WORK)
        (key_a,) = s.values(a, T.MB + "key")
        # A cataloguer's merge: b takes a's key, and a's core goes.
        s.update(f'DELETE WHERE {{ <{a}> ?p ?o }} ; INSERT DATA {{ <{b}> <{T.MB}key> "{key_a}" }}', changed=[a, b])
    finally:
        s.close()
    entities, keys, _ = held(store)
    assert a not in entities and (key_a, b) in keys and (key_a, a) not in keys
    agrees(store)


def test_a_drop_of_whole_graphs_leaves_the_registry_not_whole_until_reindex(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    s = Store(store, BASE)
    try:
        s.update("DROP DEFAULT", force=True)
    finally:
        s.close()
    assert not held(store)[2]
    s = Store(store, BASE)
    try:
        s.reindex()
    finally:
        s.close()
    agrees(store)


def test_a_roll_back_takes_the_batchs_cores_out(tmp_path, monkeypatch):
    store = tmp_path / "store"
    run(store, GOLDEN)
    with monkeypatch.context() as m:
        _crash(m, "clear_pending", 1)  # the batch's registry rows are written, then it is cut short
        with pytest.raises(StoreError):
            run(store, sample_file(tmp_path / "p.mrc", "00007090", "00000119"))
    s = Store(store, BASE)
    try:
        s.roll_back()
    finally:
        s.close()
    agrees(store)


def test_a_store_without_a_whole_registry_gets_the_same_iris(tmp_path):
    """An index from before the registry: ingest asks the store, and ends where a registry
    would have led it; reindex then makes the registry whole."""
    with_it, without = tmp_path / "with", tmp_path / "without"
    run(with_it, GOLDEN)
    shutil.copytree(with_it, without)
    conn = sqlite3.connect(without / FILE)
    conn.execute("DELETE FROM meta WHERE key = ?", (registry.WHOLE,))
    conn.execute("DELETE FROM entities")
    conn.commit()
    conn.close()
    more = sample_file(tmp_path / "p.mrc", "00007090", "00007091", "00033956", "00000119")
    run(with_it, more)
    run(without, more)
    assert not held(without)[2]
    for store in (with_it, without):
        s = Store(store, BASE, read_only=True)
        try:
            works = {cn: s.values(f"{BASE}/manifestation/DLC-{cn}", T.M_WORK) for cn in ("00007090", "00007091")}
        finally:
            s.close()
        assert works["00007090"] == works["00007091"]  # one work, found through its key either way
    s = Store(without, BASE)
    try:
        s.reindex()
    finally:
        s.close()
    agrees(without)
    assert from_store(with_it) == from_store(without)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_after_any_run_of_loads_edits_and_deletions_the_registry_is_the_stores(tmp_path_factory, ops):
    store = run_ops(tmp_path_factory.mktemp("ops"), ops)
    agrees(store)
