"""The look-up index: every entity with a core, every identity key, every record graph and
every source-record digest the store holds, in the catalogue index (tables ``minted``,
``keyed``, ``graphs`` and ``digested``), so that the loader learns in one B-tree read that the
store does not hold something.

Why: the loader asks, for each record, whether the store holds its exact bytes (a digest),
which digest its record graph was loaded from, whether the store gave a work's or expression's
key an IRI (``mb:key``) and whether a shared entity's core is stored. A question the store
answers "no" to is a prefix seek in every level of RocksDB: 120 µs at 10,000 records, 240 µs at
250,000, and every record new to the store asks two such questions before its headings are
looked up. A SQLite primary key answers it in a few microseconds at any size.

The tables are a superset of what the store holds, never less: a row is added for everything
that adds a core or a key, and a row whose entity has gone (a roll-back, a deletion, a merge)
may stay. So only a "no" is taken from them; a "yes" is asked of the store, as before. Kept in
step by
- the loader: the cores a batch writes (their types and keys) and its record graphs with their
  digests, in the batch's index step, before the batch leaves the loader's list of batches in
  flight (only the loader writes record graphs and digests);
- catch-up: each entity a change-log entry names (an edit, a create, a merge's survivor), read
  again from the store;
- a rebuild from the store's default graph (:func:`build`), made by the loader when the flag
  ``meta.lookups`` is not ``1``: a store from before these tables, or one a mirror wrote (a
  mirror writes documents, not change-log entries, and sets the flag to ``0``), or after
  ``reindex``, or one whose flag names an older set of tables.

Each table holds 64-bit fingerprints of its values (:mod:`.fingerprints`), not the values:
with IRIs as keys a batch of 2,000 new records rewrote half of each table (measured at 240,000
records: 52,000 pages of the cores' table alone in a 10,000-record load, 19,500 with
fingerprints). Two values with one fingerprint only make a "yes" that the store is then asked
about, as for any "yes".
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyoxigraph as ox

from ..mapping.terms import MB_SOURCE_HASH
from ..rdf import MB_KEY
from .fingerprints import fingerprint
from .layout import RDF_TYPE

if TYPE_CHECKING:
    from .catalogue import Catalogue
    from .core import Store

log = logging.getLogger(__name__)

TABLES = ("lookup_cores", "lookup_keys", "lookup_graphs", "lookup_digests")
SCHEMA = "".join(f"CREATE TABLE IF NOT EXISTS {t} (h INTEGER PRIMARY KEY);\n" for t in TABLES)
# The tables before fingerprints (text keys): dropped when the index is next rebuilt.
LEGACY = ("minted", "keyed", "graphs", "digested")
FLAG = "lookups"  # meta: CURRENT while the tables hold everything of their kind the store holds
# "1": cores and keys only; "2": values, not fingerprints (an index from before: rebuilt).
CURRENT = "3"
CORES, KEYS, GRAPHS, DIGESTS = TABLES


def of_cores(cores: Iterable[bytes]) -> tuple[set[str], set[str]]:
    """The entities these cores type and the keys they state (default-graph statements only)."""
    iris: set[str] = set()
    keys: set[str] = set()
    # Only the type and key lines are parsed: a core's other statements (names, notes, links)
    # would each cost a Python object in the indexer, which the end of a load waits for.
    wanted = (f"<{RDF_TYPE}>".encode(), f"<{MB_KEY}>".encode())
    lines = b"\n".join(line for body in cores for line in body.split(b"\n")
                        if wanted[0] in line or wanted[1] in line)
    if lines:
        for q in ox.parse(lines, format=ox.RdfFormat.N_QUADS, lenient=True):
            if not isinstance(q.graph_name, ox.DefaultGraph):
                continue
            p = q.predicate.value
            if p == RDF_TYPE:
                iris.add(q.subject.value)
            elif p == MB_KEY and isinstance(q.object, ox.Literal):
                keys.add(q.object.value)
    return iris, keys


def add(conn: sqlite3.Connection, iris: Iterable[str], keys: Iterable[str], graphs: Iterable[str] = (),
        digests: Iterable[str] = ()) -> None:
    # In key order: each B-tree page is visited once a batch, not once a row.
    for table, values in zip(TABLES, (iris, keys, graphs, digests)):
        rows = [(h,) for h in sorted({fingerprint(v) for v in values})]
        if rows:
            conn.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", rows)


def refresh(conn: sqlite3.Connection, store: Store, entities: Iterable[str]) -> None:
    """Add what the store now holds of these entities: a core (a type), keys."""
    rdf_type, mb_key, default = ox.NamedNode(RDF_TYPE), ox.NamedNode(MB_KEY), ox.DefaultGraph()
    iris, keys = [], []
    for e in entities:
        try:
            node = ox.NamedNode(e)
        except ValueError:
            continue
        if any(True for _ in store._store.quads_for_pattern(node, rdf_type, None, default)):
            iris.append(e)
        keys += [q.object.value for q in store._store.quads_for_pattern(node, mb_key, None, default)
                 if isinstance(q.object, ox.Literal)]
    add(conn, iris, keys)


def invalidate(cat: Catalogue | None) -> None:
    """The store was written without the tables learning of it: rebuilt before they are used."""
    if cat is not None and cat.get_meta(FLAG) != "0":
        with cat.transaction():
            cat.set_meta(FLAG, "0")


def invalidate_file(catalogue_file: Path) -> None:
    """:func:`invalidate` for a store's index file, if there is one (a mirror's directory,
    which a store could be made of)."""
    if not Path(catalogue_file).exists():
        return
    try:
        conn = sqlite3.connect(catalogue_file, isolation_level=None, timeout=30)
        try:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '0')", (FLAG,))
        finally:
            conn.close()
    except sqlite3.Error as exc:  # no meta table (names only): nothing trusts the tables there
        log.debug("look-up index flag not set in %s: %s", catalogue_file, exc)


def build(store: Store, cat: Catalogue) -> None:
    """Fill the tables from the store (one pass over its types and keys in the default graph,
    and one over the digests of its record graphs)."""
    started = time.perf_counter()
    rdf_type, mb_key, default = ox.NamedNode(RDF_TYPE), ox.NamedNode(MB_KEY), ox.DefaultGraph()
    with cat.transaction() as conn:
        for table in LEGACY:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
        graphs: list[str] = []
        digests: list[str] = []
        # A record graph states its digest about itself, in itself (rdf.record_graph_quads).
        for q in store._store.quads_for_pattern(None, ox.NamedNode(MB_SOURCE_HASH), None, None):
            graphs.append(q.subject.value)
            digests.append(q.object.value)
            if len(graphs) >= 50_000:
                add(conn, (), (), graphs, digests)
                graphs, digests = [], []
        add(conn, (), (), graphs, digests)
        chunk: list[str] = []
        for q in store._store.quads_for_pattern(None, rdf_type, None, default):
            chunk.append(q.subject.value)
            if len(chunk) >= 50_000:
                add(conn, chunk, ())
                chunk = []
        add(conn, chunk, (q.object.value for q in store._store.quads_for_pattern(None, mb_key, None, default)
                          if isinstance(q.object, ox.Literal)))
        cat.set_meta(FLAG, CURRENT)
    n = cat.conn.execute(f"SELECT COUNT(*) FROM {CORES}").fetchone()[0]
    g = cat.conn.execute(f"SELECT COUNT(*) FROM {GRAPHS}").fetchone()[0]
    log.info("look-up index built: %d entities with a core, %d record graphs, in %.1f s", n, g,
             time.perf_counter() - started)


class Reader:
    """The loader's questions, on a connection of its own (the index's writer commits beside it)."""

    def __init__(self, file: Path):
        self.conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)

    def _has(self, table: str, value: str) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {table} WHERE h = ?", (fingerprint(value),)).fetchone() is not None

    def has_core(self, iri: str) -> bool:
        return self._has(CORES, iri)

    def has_key(self, key: str) -> bool:
        return self._has(KEYS, key)

    def has_graph(self, graph: str) -> bool:
        return self._has(GRAPHS, graph)

    def has_digest(self, digest: str) -> bool:
        return self._has(DIGESTS, digest)

    def absent(self, table: str, values: Iterable[str]) -> set[str]:
        """Those of ``values`` the table lacks, asked in groups: one read for many, and one
        release of the interpreter rather than one a value (a loader's other threads hold it
        meanwhile, and each look-up waited for it back)."""
        wanted = {fingerprint(v): v for v in values}
        hashes = list(wanted)
        for i in range(0, len(hashes), 500):
            part = hashes[i:i + 500]
            for (h,) in self.conn.execute(f"SELECT h FROM {table} WHERE h IN ({','.join('?' * len(part))})", part):
                wanted.pop(h, None)
        return set(wanted.values())

    def close(self) -> None:
        self.conn.close()
