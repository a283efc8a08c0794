"""The change log's last number, read by a checked guess (store.core.next_sequence)."""

import pytest

from metadatabronn.store.core import Store

BASE = "http://localhost:8000"


def _set_last(store: Store, last: int) -> None:
    store._store.update(store._sequence_update(last))


def test_the_next_number_follows_every_write_and_a_wrong_guess_is_not_believed(tmp_path):
    store = Store(tmp_path / "store", BASE)
    try:
        for last in range(1, 40):
            _set_last(store, last)
            assert store.next_sequence() == last + 1
        _set_last(store, 41)
        store._last_sequence = 39  # a guess gone stale (another object wrote meanwhile)
        assert store.next_sequence() == 42
        assert store.next_sequence(hint=7) == 42  # a hint that is wrong costs a look-up, not the answer
        assert store.next_sequence(hint=41) == 42
    finally:
        store.close()


def test_a_write_that_failed_leaves_no_false_number(tmp_path):
    store = Store(tmp_path / "store", BASE)
    try:
        _set_last(store, 10)
        store._sequence_update(11)  # built (and guessed) but never run
        assert store.next_sequence() == 11
    finally:
        store.close()


def test_a_fresh_view_reads_the_number_with_or_without_a_hint(tmp_path):
    store = Store(tmp_path / "store", BASE)
    for last in (3, 4, 5):
        _set_last(store, last)
    store.close()
    for hint in (None, 5, 2):  # none, right, wrong
        view = Store(tmp_path / "store", BASE, read_only=True)
        try:
            assert view.next_sequence(hint) == 6
        finally:
            view.close()


def test_a_number_replaced_by_its_key_leaves_one_number(tmp_path):
    import pyoxigraph as ox

    from metadatabronn.store.layout import MB_LAST_SEQUENCE

    store = Store(tmp_path / "store", BASE)
    try:
        store._store.update(store._sequence_update(1))
        for last in range(2, 30):
            store._store.update(store._sequence_update(last, previous=store.next_sequence() - 1))
        cg = ox.NamedNode(store.changes_graph)
        held = [q.object.value for q in store._store.quads_for_pattern(cg, ox.NamedNode(MB_LAST_SEQUENCE), None, cg)]
        assert held == ["29"]
        assert store.next_sequence() == 30
    finally:
        store.close()


@pytest.mark.embedded_only("flushing writes pyoxigraph's tables; a server keeps its own")
def test_the_writer_flushes_the_store_every_so_many_writes(tmp_path, monkeypatch):
    """What is flushed is in the store's table files, not only in its log: a view opened
    after it does not read those writes from the log again."""
    from metadatabronn.pipeline import writer

    monkeypatch.setattr(writer, "FLUSH_EVERY", 3)
    service = writer._Service(tmp_path / "store", BASE, "base")
    try:
        def tables() -> set[str]:
            return {p.name for p in (tmp_path / "store").glob("*.sst")}

        def write(n: int) -> None:
            sparql = f"INSERT DATA {{ <{BASE}/work/w{n}> <{BASE}/p> \"{n}\" }}"
            service._write(lambda: service.store._store.update(sparql))

        before = tables()
        write(0)
        write(1)
        assert tables() == before and service.unflushed == 2
        write(2)
        assert tables() - before and service.unflushed == 0
    finally:
        service.close()
