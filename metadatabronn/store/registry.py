"""The identity registry in the catalogue index: which entity cores the store holds (table
``entities``) and which IRI each work or expression key names (table ``keys``), so that ingest
asks SQLite, not pyoxigraph, whether a heading's entity is minted and which IRI a key has.

Why: those questions come several times a record. In a store of 240,000 records each costs
pyoxigraph 70-130 µs (a seek in a large LSM tree and a dictionary look-up), a millisecond a
record, and it grows with the store; SQLite answers in a few µs.

The registry is only believed when it is whole (``meta.registry``): a store made empty with
the index has it from the start; an older store's index is filled by ``reindex``, and until
then ingest asks the store as before. Kept in step by:
- ingest: the cores a batch writes, in the batch's transaction;
- a roll-back: the IRIs the batch named go (its cores were new, and are gone);
- an edit: each IRI it names is looked up again in the store; a drop of whole graphs makes the
  registry no longer whole.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyoxigraph as ox

from ..rdf import MB_KEY
from .layout import RDF_TYPE

if TYPE_CHECKING:
    from .core import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (iri TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS keys (key TEXT NOT NULL, iri TEXT NOT NULL, PRIMARY KEY (key, iri)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_iri ON keys (iri);
"""
WHOLE = "registry"  # the meta key saying the registry lists every core of the store


def put(conn: sqlite3.Connection, entities: Iterable[tuple[str, str | None]]) -> None:
    """Cores written: ``(iri, key or None)``."""
    entities = sorted(entities)
    conn.executemany("INSERT OR IGNORE INTO entities VALUES (?)", [(i,) for i, _ in entities])
    conn.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)", [(k, i) for i, k in entities if k])


def drop(conn: sqlite3.Connection, iris: Iterable[str]) -> None:
    rows = [(i,) for i in iris]
    conn.executemany("DELETE FROM entities WHERE iri = ?", rows)
    conn.executemany("DELETE FROM keys WHERE iri = ?", rows)


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM entities")
    conn.execute("DELETE FROM keys")
    conn.execute(f"DELETE FROM meta WHERE key = '{WHOLE}'")


def set_whole(conn: sqlite3.Connection, whole: bool) -> None:
    if whole:
        conn.execute(f"INSERT OR REPLACE INTO meta (key, value) VALUES ('{WHOLE}', '1')")
    else:
        conn.execute(f"DELETE FROM meta WHERE key = '{WHOLE}'")


def core_of(store: Store, iri: str) -> tuple[bool, list[str]]:
    """Whether the store holds a core for ``iri``, and the keys on it."""
    node = ox.NamedNode(iri)
    has = any(True for _ in store._store.quads_for_pattern(node, ox.NamedNode(RDF_TYPE), None, ox.DefaultGraph()))
    keys = [q.object.value for q in store._store.quads_for_pattern(node, ox.NamedNode(MB_KEY), None,
                                                                      ox.DefaultGraph())]
    return has, keys


def rederive(conn: sqlite3.Connection, store: Store, iris: Iterable[str]) -> None:
    """These IRIs' rows as the store now holds them (after an edit or a roll-back)."""
    iris = list(dict.fromkeys(iris))
    drop(conn, iris)
    for iri in iris:
        has, keys = core_of(store, iri)
        if has:
            conn.execute("INSERT OR IGNORE INTO entities VALUES (?)", (iri,))
            conn.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)", [(k, iri) for k in keys])


def fill(conn: sqlite3.Connection, store: Store) -> int:
    """Every core of the store, read from its type and key statements in the default graph (a
    pass over them: a repair, never part of a load). Returns how many entities."""
    clear(conn)
    n = 0
    batch: list[tuple[str]] = []
    for q in store._store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None, ox.DefaultGraph()):
        if isinstance(q.subject, ox.NamedNode):
            batch.append((q.subject.value,))
            if len(batch) >= 10_000:
                conn.executemany("INSERT OR IGNORE INTO entities VALUES (?)", batch)
                n += len(batch)
                batch = []
    conn.executemany("INSERT OR IGNORE INTO entities VALUES (?)", batch)
    n += len(batch)
    conn.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)",
                     ((q.object.value, q.subject.value) for q in store._store.quads_for_pattern(
                         None, ox.NamedNode(MB_KEY), None, ox.DefaultGraph()) if isinstance(q.subject, ox.NamedNode)))
    set_whole(conn, True)
    return n


class Reader:
    """The loader's look-ups, on a connection of its own (the index's writer holds its own
    through a batch's transaction; WAL lets this one read what is committed meanwhile)."""

    def __init__(self, file: Path):
        self.conn = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
        row = self.conn.execute(f"SELECT value FROM meta WHERE key = '{WHOLE}'").fetchone()
        self.whole = row is not None

    def has_core(self, iri: str) -> bool:
        return self.conn.execute("SELECT 1 FROM entities WHERE iri = ?", (iri,)).fetchone() is not None

    def key_iris(self, key: str) -> list[str]:
        return [i for (i,) in self.conn.execute("SELECT iri FROM keys WHERE key = ?", (key,))]

    def close(self) -> None:
        self.conn.close()

