"""Reading a read-only snapshot whole, for dumps: every quad a mirror loads, and each entity
with its statements. A dump states the change-log position of the snapshot it was read from,
so that a mirror loads it and then follows the change feed from there.

What a mirror loads is the store minus its own bookkeeping: the change log (the feed carries
it), the pending marks of a bulk load under way, and the ``mb:store`` graph (base IRI, entity
counts, labels version: the mirror keeps its own).

Speed: pyoxigraph gives a quad back at about 5 µs (a dictionary look-up per term), so a record
graph (a bibliographic or an authority record's) is taken from its copy in the catalogue index
when the snapshot may use it, on the terms
:class:`.copies.View` sets (the index in step with the snapshot, the copy no newer than it): one
SQLite read and an inflate, about a tenth of the cost. The default graph, the labels graph and
any record graph without a usable copy are read from the store itself.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator

import pyoxigraph as ox

from ..errors import StoreError
from ..mapping import terms as T
from .authorities import review_graph
from .catalogue import Catalogue, path_of
from .catchup import change_time
from .labels import LABELS_GRAPH
from . import copies as copy_table
from . import editing
from .nquads import KEPT, text as copy_text
from .layout import AS_TOMBSTONE, RDF_TYPE, STORE_GRAPH

if TYPE_CHECKING:
    from .core import Store

log = logging.getLogger(__name__)

_BATCH = 500  # record graphs whose copies are asked for at once
# Entity classes, in the order an entity typed with two of them is counted under.
ENTITY_CLASSES = (T.C_WORK, T.C_EXPRESSION, T.C_MANIFESTATION, T.C_ITEM, T.C_PERSON, T.C_CORPORATE, T.C_FAMILY,
                  T.C_CONCEPT, AS_TOMBSTONE)

Triple = tuple[str, str, str, bool, "str | None", "str | None"]  # subject, predicate, object, literal?, lang, datatype


@dataclass(frozen=True)
class Position:
    """Where in the change log a snapshot stands: its last entry's number and time (None: the
    log is empty, or that entry's time is not found)."""

    sequence: int
    time: str | None
    feed: int | None = None  # the change feed's position: its activities up to that entry


def position(store: Store) -> Position:
    sequence = store.next_sequence() - 1
    return Position(sequence, change_time(store, sequence) if sequence > 0 else None, feed_position(store, sequence))


def feed_position(store: Store, sequence: int) -> int | None:
    """How many activities of the change feed come from entries up to ``sequence`` (what the
    feed's entry point states for a dump of it); None without a catalogue index."""
    try:
        cat = Catalogue(store.path, read_only=True)
    except StoreError:
        return None
    try:
        return cat.feed(sequence).total()
    finally:
        cat.close()


def excluded_graphs(store: Store) -> frozenset[str]:
    """The graphs no dump carries: the change log, the pending marks, the store's own statements,
    the ISNI review list (the flow's bookkeeping, which no feed activity announces)."""
    return frozenset((store.changes_graph, store.pending_graph, STORE_GRAPH, review_graph(store.base)))


class _Counting:
    """A binary stream that counts the lines (N-Quads: statements) written through it."""

    def __init__(self, out: BinaryIO):
        self.out, self.lines = out, 0

    def write(self, data) -> int:
        self.lines += data.count(b"\n")
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


class _Copies:
    """Raw N-Quads of record graphs from the catalogue index's copies, on the snapshot's terms."""

    def __init__(self, store: Store, upto: int):
        self.upto = upto
        self.conn: sqlite3.Connection | None = None
        file = path_of(store.path)
        if not file.exists():
            return
        try:
            conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True, isolation_level=None)
            row = conn.execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()
            conn.execute("SELECT h FROM copies LIMIT 1").fetchall()
        except sqlite3.Error:  # no index, or one from before copies (as kept now): the store is read
            return
        if row is not None and int(row[0]) >= upto:
            self.conn = conn
        else:
            log.info("the catalogue index is behind the snapshot: every graph is read from the store")
            conn.close()

    def bodies(self, iris: list[str]) -> dict[str, bytes]:
        if self.conn is None or not iris:
            return {}
        try:
            rows = copy_table.select(self.conn, "seq, body", iris)
        except sqlite3.Error:
            return {}
        return copy_table.unpacked(rows, self.upto)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _unique_lines(body: bytes) -> bytes:
    # A copy is the text as loaded (or its statements, each once, which copy_text writes); the
    # store merged any statement given twice.
    if body[:len(KEPT)] == KEPT:
        return copy_text(body)
    if not body.endswith(b"\n"):
        body += b"\n"
    lines = body.splitlines(keepends=True)
    unique = dict.fromkeys(lines)
    return body if len(unique) == len(lines) else b"".join(unique)


def nquads(store: Store, out: BinaryIO, progress: Callable[[int], None] | None = None) -> int:
    """Write every quad of the snapshot a mirror loads, as N-Quads; the number written.
    ``progress`` is called with the number of graphs done since its last call."""
    excluded = excluded_graphs(store)
    pending = store.pending()  # a bulk load under way: what it has written so far is left out
    if pending:
        log.warning("a load was under way when the store was opened: the %d graphs and entities it was writing "
                    "are left out (the change feed brings them)", len(pending))
    counting = _Counting(out)
    if pending:
        ox.serialize((q for q in store._store.quads_for_pattern(None, None, None, ox.DefaultGraph())
                      if q.subject.value not in pending), counting, ox.RdfFormat.N_QUADS)
    else:  # in N-Triples, which is N-Quads of the default graph
        store._store.dump(counting, ox.RdfFormat.N_QUADS, from_graph=ox.DefaultGraph())
    copies = _Copies(store, store.next_sequence() - 1)
    from_copies = 0
    try:
        batch: list[ox.NamedNode | ox.BlankNode] = []
        for graph in store._store.named_graphs():
            if graph.value in excluded or graph.value in pending:
                continue
            batch.append(graph)
            if len(batch) == _BATCH:
                from_copies += _write_graphs(store, batch, copies, counting)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            from_copies += _write_graphs(store, batch, copies, counting)
            if progress is not None:
                progress(len(batch))
    finally:
        copies.close()
    log.info("dumped %d statements; %d graphs from their copies", counting.lines, from_copies)
    return counting.lines


def _write_graphs(store: Store, graphs: list, copies: _Copies, out: _Counting) -> int:
    # Record graphs and authority record graphs have copies; a writer graph or the labels have none.
    found = copies.bodies([g.value for g in graphs if isinstance(g, ox.NamedNode)
                           and ("/record/" in g.value or "/authority/" in g.value)])
    for graph in graphs:
        body = found.get(graph.value) if isinstance(graph, ox.NamedNode) else None
        if body is not None:
            out.write(_unique_lines(body))
        else:
            ox.serialize(store._store.quads_for_pattern(None, None, None, graph), out, ox.RdfFormat.N_QUADS)
    return len(found)


# entities ---------------------------------------------------------------------------------------

def entities(store: Store) -> Iterator[tuple[str, list[Triple]]]:
    """Each entity of the snapshot once (works, expressions, manifestations, items, agents,
    concepts, and the tombstones of deleted ones), with its statements across all graphs a
    dump carries, each statement once: ``(iri, [(iri, predicate, object, literal?, language,
    datatype)])``. Memory stays flat: entities come off the type index one at a time."""
    for iri, rank, in_default in candidates(store):
        triples = statements(store, iri, rank, in_default)
        if triples is not None:
            yield iri, triples


def candidates(store: Store) -> Iterator[tuple[str, int, bool]]:
    """Every typing of a subject with an entity class, off the type index: ``(iri, the class's
    place in ENTITY_CLASSES, typed in the default graph?)``, a subject typed in several record
    graphs once. :func:`statements` then says whether the entity is counted at this one."""
    excluded = excluded_graphs(store) | {LABELS_GRAPH}
    type_node = ox.NamedNode(RDF_TYPE)
    for rank, cls in enumerate(ENTITY_CLASSES):
        previous = None
        for q in store._store.quads_for_pattern(None, type_node, ox.NamedNode(cls), None):
            subject = q.subject
            # The default graph's statements come first, then the named graphs' in subject
            # order, so the same subject typed in two record graphs comes twice in a row.
            if not isinstance(subject, ox.NamedNode) or subject.value == previous:
                continue
            in_default = isinstance(q.graph_name, ox.DefaultGraph)
            if not in_default and q.graph_name.value in excluded:
                continue
            previous = subject.value
            yield subject.value, rank, in_default


def statements(store: Store, iri: str, rank: int, in_default: bool) -> list[Triple] | None:
    """The statements of the entity a :func:`candidates` typing names, or None if the entity is
    counted at another typing: under its first class, and in the default graph if typed there.
    (None too if the entity is not in this snapshot.)"""
    triples, types = _about(store, ox.NamedNode(iri), excluded_graphs(store) | {LABELS_GRAPH})
    first = min((_RANK[t] for t, _ in types if t in _RANK), default=None)
    if first != rank or (not in_default and (ENTITY_CLASSES[rank], "") in types):
        return None
    return triples


_RANK = {c: i for i, c in enumerate(ENTITY_CLASSES)}


def _about(store: Store, subject: ox.NamedNode, excluded: frozenset[str]) -> tuple[list[Triple], set]:
    """The entity as the well states it (an element an organisation wrote, as it wrote it: see
    :mod:`.editing`), each statement once, and its ``(class, graph)`` typings."""
    rows = []
    types: set[tuple[str, str]] = set()
    iri = subject.value
    for q in store._store.quads_for_pattern(subject, None, None, None):
        graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if graph in excluded:
            continue
        o, p = q.object, q.predicate.value
        lit = isinstance(o, ox.Literal)
        if p == RDF_TYPE and not lit:
            types.add((o.value, graph))
        rows.append((graph, p, o.value, lit, o.language if lit else None,
                     o.datatype.value if lit and o.datatype is not None else None))
    if any(editing.is_writer_graph(store.base, r[0]) for r in rows):
        rows = editing.effective(rows, editing.stamps_of(store, rows), store.base)
    triples: list[Triple] = []
    seen: set = set()
    for _, *statement in rows:
        key = tuple(statement)
        if key not in seen:
            seen.add(key)
            triples.append((iri, *statement))
    return triples, types
