"""Keeping the catalogue index (:mod:`.catalogue`) in step with the store: each change-log entry
the index has not seen is read by its IRI (a few index look-ups), and the rows and texts it
touches are written again from what the store holds."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Iterable

import pyoxigraph as ox

from ..mapping import terms as T
from ..rdf import MB_SOURCE_RECORD, AS, DCT_SOURCE, MB_DESCRIBES, PROV_GENERATED
from ..rdf_authority import authority_record_id
from . import catalogue as _catalogue, copies, feed, minted
from .documents import authority_graphs
from .catalogue import CHUNK, Catalogue, Row, make_text, set_name, stamp
from .record_text import TITLES, creators_of, titles_of
from .layout import AS_OBJECT, AS_PUBLISHED, MB_ABSORB
from .records import _instant

if TYPE_CHECKING:
    from .core import Store

log = logging.getLogger(__name__)


def work_title(store: Store, work: str | None) -> str | None:
    if not work:
        return None
    # The work's core, in the default graph (a look-up there is a third of one across graphs).
    titles = sorted(q.object.value for q in store._store.quads_for_pattern(
        ox.NamedNode(work), ox.NamedNode(T.W_PREFERRED_TITLE), None, ox.DefaultGraph()))
    return titles[0] if titles else None


def core_title(core: bytes) -> str | None:
    """What :func:`work_title` reads from the store, read from a work's core as it is loaded."""
    titles = sorted(q.object.value for q in ox.parse(core, format=ox.RdfFormat.N_QUADS, lenient=True)
                    if q.predicate.value == T.W_PREFERRED_TITLE)
    return titles[0] if titles else None


# reading the store ------------------------------------------------------------------------------

def _change(store: Store, seq: int) -> tuple[str, str, str] | None:
    """``(kind, object, time)`` of the change-log entry numbered ``seq``, if the log has it."""
    node = ox.NamedNode(store.change_iri(seq))
    kind = obj = when = None
    for q in store._store.quads_for_pattern(node, None, None, ox.NamedNode(store.changes_graph)):
        p = q.predicate.value
        if p == AS_OBJECT:
            obj = q.object.value
        elif p == AS_PUBLISHED:
            when = q.object.value
        elif p == T.RDF_TYPE:
            kind = q.object.value
    if obj is None or when is None:
        return None
    return kind or "", obj, when


def change_time(store: Store, seq: int) -> str | None:
    """The time of change-log entry ``seq``, if the log has it."""
    found = _change(store, seq)
    return found[2] if found else None


def _graph_of(store: Store, manifestation: str) -> str | None:
    """The record graph describing a manifestation: the one named after it, looked up in itself,
    else any (a search across graphs costs several times as much)."""
    head, _, local = manifestation.rpartition("/manifestation/")
    if head:
        g = ox.NamedNode(f"{head}/record/{local}")
        for _q in store._store.quads_for_pattern(g, ox.NamedNode(MB_DESCRIBES), ox.NamedNode(manifestation), g):
            return g.value
    for q in store._store.quads_for_pattern(None, ox.NamedNode(MB_DESCRIBES), ox.NamedNode(manifestation), None):
        if q.graph_name == q.subject:
            return q.graph_name.value
    return None


def record_from_store(store: Store, graph: str, seq: int, when: str):
    """The row of a record graph as the store holds it, and its text (None for a tombstone), or
    ``(None, None)`` if the graph is gone."""
    # A look-up per statement wanted: a record graph read whole costs four times as much.
    g = ox.NamedNode(graph)

    def first(subject, predicate) -> str | None:
        for q in store._store.quads_for_pattern(subject, ox.NamedNode(predicate), None, g):
            return q.object.value
        return None

    manifestation = first(g, MB_DESCRIBES)
    if manifestation is None:
        return None, None
    m = ox.NamedNode(manifestation)
    source = first(g, DCT_SOURCE)
    deleted = first(m, AS + "deleted") is not None
    authority = _is_authority_graph(store, graph)  # its row is named after the graph; no text to search
    row = Row(authority_record_id(store.base, graph) if authority else manifestation.rsplit("/", 1)[-1], graph,
              manifestation, seq, stamp(when), deleted, set_name(source))
    if deleted or authority or _catalogue.search is None:
        return row, None
    values = {p: [q.object.value for q in store._store.quads_for_pattern(m, ox.NamedNode(p), None, g)] for p in TITLES}
    work = min((q.object.value for q in store._store.quads_for_pattern(m, ox.NamedNode(T.M_WORK), None, g)),
               default=None)
    return row, make_text(manifestation, work, titles_of(values), creators_of(first(g, T.MB_CARRIED) or ""),
                          work_title(store, work))


def _is_authority_graph(store: Store, graph: str) -> bool:
    return graph.startswith(f"{store.base}/authority/")


def _position(store: Store, graph: str) -> int:
    """A record's number in the input it was loaded from (``mb:sourceRecord``)."""
    g = ox.NamedNode(graph)
    for q in store._store.quads_for_pattern(g, ox.NamedNode(MB_SOURCE_RECORD), None, g):
        try:
            return int(q.object.value)
        except ValueError:
            break
    return 0


def _later_than_load(store: Store, graph: str, when: str) -> bool:
    g = ox.NamedNode(graph)
    for q in store._store.quads_for_pattern(g, ox.NamedNode(PROV_GENERATED), None, g):
        return _instant(when) > _instant(q.object.value)
    return False


def _graphs_naming(store: Store, entity: str) -> set[str]:
    prefix = f"{store.base}/record/"
    return {g for g in store.graphs_naming_any(entity) if g.startswith(prefix)}


# keeping in step ---------------------------------------------------------------------------------

def last_sequence(store: Store) -> int:
    return store.next_sequence() - 1


def catch_up(store: Store, cat: Catalogue, upto: int | None = None) -> int:
    """Bring the index in step with the store's change log; returns how many entries were read.

    Each entry is read by its IRI. A manifestation's row (and text) is written again from the
    store; a shared entity's change moves the datestamp of every record graph naming it. In
    chunks, each one transaction: a catch-up cut short resumes where it stopped."""
    last = last_sequence(store) if upto is None else upto
    done = cat.sequence
    if done > last:  # ahead of the store (a copy of an index newer than its store): made again
        log.warning("the catalogue index is ahead of the store's change log (%d, not %d): rebuilding it", done, last)
        cat.clear()
        with cat.transaction() as conn:
            feed.trim(conn, last)
        done = 0
    with cat._lock:
        announced = feed.last_sequence(cat.conn)  # entries the feed already has (a rebuild keeps it)
    read = 0
    for start in range(done + 1, last + 1, CHUNK):
        end = min(last, start + CHUNK - 1)
        _apply(store, cat, range(start, end + 1), announced)
        read += end - start + 1
    return read


def _apply(store: Store, cat: Catalogue, seqs: range, announced: int | None = None) -> None:
    rows: dict[str, Row | None] = {}  # id → row after these entries (None: none)
    # Rows whose record graph these entries load or replace: read again from the store. The
    # others in ``rows`` are only named by an edited entity (see :func:`_bumped`).
    loaded: set[str] = set()
    activities: list[feed.Item] = []
    changed: dict[str, tuple[int, str]] = {}
    stale: set[str] = set()  # whose copy no longer says what the store holds
    entities: set[str] = set()  # shared entities named: what they now hold goes into the look-up index

    def current(record_id: str) -> Row | None:
        if record_id not in rows:
            rows[record_id] = cat.row(record_id)
        return rows[record_id]

    def has_row(record_id: str) -> bool:  # in this chunk, or written by an earlier one
        return (rows[record_id] if record_id in rows else cat.row(record_id)) is not None

    for seq in seqs:
        entry = _change(store, seq)
        if entry is None:
            continue
        kind, obj, when = entry
        announce = announced is not None and seq > announced
        if "/manifestation/" in obj:
            record_id = obj.rsplit("/", 1)[-1]
            graph = _graph_of(store, obj)
            rows[record_id] = None if graph is None else Row(record_id, graph, obj, seq, stamp(when), False, None)
            loaded.add(record_id)
            stale.update((obj, f"{store.base}/record/{record_id}", *(() if graph is None else (graph,))))
            if announce:
                activities += _record_activities(store, seq, kind, obj, graph, when)
            if graph is not None and _later_than_load(store, graph, when):  # an edit, not its load
                changed[obj] = (seq, when)
            continue
        entities.add(obj)
        # (usually one; two records of one work, a uniform title given twice, describe one entity)
        authorities = sorted(authority_graphs(store, obj))
        loads = [g for g in authorities if not _later_than_load(store, g, when)]
        if len(loads) > 1:  # loaded in one run: each entry is one record's load, the first without a row
            fresh = sorted((g for g in loads if not has_row(authority_record_id(store.base, g))),
                           key=lambda g: _position(store, g))  # entries come in the order of the input
            loads = fresh[:1] or loads
        if loads:
            # An authority record's load (its entry names its entity): its row, as a record's.
            for authority in loads:
                record_id = authority_record_id(store.base, authority)
                rows[record_id] = Row(record_id, authority, obj, seq, stamp(when), False, None)
                loaded.add(record_id)
                stale.update((obj, authority))
            if announce:
                activities.append((seq, "Update", obj, feed.class_of(store, obj), when, None))
            continue
        stale.add(obj)
        if kind == MB_ABSORB:  # a merge's survivor: announced, but no edit of its records
            if announce:
                activities += _edit_activities(store, seq, kind, obj, [], when)
            continue
        changed[obj] = (seq, when)
        moment = stamp(when)
        naming = sorted(_graphs_naming(store, obj))
        if announce:
            activities += _edit_activities(store, seq, kind, obj, naming, when)
        for graph in naming:
            stale.add(graph)
            row = current(graph.rsplit("/", 1)[-1])
            # No row yet: the record's own entry comes later in the log, and sets it.
            if row is not None and not row.deleted:
                row.seq, row.datestamp = seq, max(row.datestamp, moment)
        for authority in authorities:  # its authority record goes out changed too (an ISNI added, say)
            stale.add(authority)
            row = current(authority_record_id(store.base, authority))
            if row is not None and not row.deleted:
                row.seq, row.datestamp = seq, max(row.datestamp, moment)
    keep, texts, removed, drop = [], [], [], []
    for record_id, row in rows.items():
        if row is None:
            drop.append(record_id)
            removed.append(f"{store.base}/manifestation/{record_id}")
            continue
        if record_id in loaded or not _bumped(store, cat, row, keep):
            _refresh(store, record_id, row, keep, texts, removed, drop)
    with cat.transaction() as conn:
        copies.drop(conn, stale)
        conn.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", [r.values() for r in keep])
        conn.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in drop])
        conn.executemany("INSERT OR REPLACE INTO changed VALUES (?, ?, ?)",
                         [(iri, seq, when) for iri, (seq, when) in changed.items()])
        if _catalogue.search is not None:
            if removed:
                _catalogue.search.remove(conn, removed)
            if texts:
                _catalogue.search.put(conn, texts)
        feed.append(conn, activities)
        if not store.batched_reads:  # (a loader on a server asks it in groups, not the index)
            minted.refresh(conn, store, sorted(entities))
        cat.set_meta("sequence", str(seqs[-1]))


def _record_activities(store: Store, seq: int, kind: str, manifestation: str, graph: str | None,
                       when: str) -> list[feed.Item]:
    """A record's change-log entry as the feed announces it: its manifestation created, updated
    or deleted, and its work and expression updated (a catch-up cannot tell which cores the
    record's load created: it announces them as updated, which a mirror treats alike)."""
    verb = feed.VERB_OF_TYPE.get(kind, "Update")
    items: list[feed.Item] = [(seq, verb, manifestation, T.C_MANIFESTATION, when, None)]
    if graph is not None and verb != "Delete":
        items += [(seq, "Update", iri, cls, when, None) for cls, iri in feed.links_of(store, graph, manifestation)]
    return items


def _edit_activities(store: Store, seq: int, kind: str, entity: str, graphs: list[str], when: str
                     ) -> list[feed.Item]:
    """An edit of a shared entity in the well: an update of that entity (or its deprecation, for
    a merge), and of every manifestation whose record names it (their records changed too: OAI-PMH
    gives them the edit's datestamp)."""
    cls = feed.class_of(store, entity)
    verb = feed.VERB_OF_TYPE.get(kind, "Update")
    items: list[feed.Item] = []
    if cls is not None:
        items.append((seq, verb, entity, cls, when, feed.replacement(store, entity) if verb == "Deprecate" else None))
    items += [(seq, "Update", feed.manifestation_of_graph(store.base, g), T.C_MANIFESTATION, when, None)
              for g in graphs]
    return items


def _refresh(store: Store, record_id: str, row: Row, keep: list, texts: list, removed: list, drop: list) -> None:
    """One row read again from the store: kept with its text, or dropped with it if its graph is gone."""
    fresh, text = record_from_store(store, row.graph, row.seq, row.datestamp)
    if fresh is None:
        drop.append(record_id)
        removed.append(row.manifestation)
        return
    fresh.datestamp = row.datestamp
    keep.append(fresh)
    if text is None:
        removed.append(fresh.manifestation)
    else:
        texts.append(text)


def _bumped(store: Store, cat: Catalogue, row: Row, keep: list) -> bool:
    """A row whose record graph no entry here touched, only an entity it names (an edit of a
    work or an agent), kept with its new sequence and datestamp, without reading its record again:
    True, or False if it must be read again after all.

    Its text then stays too: titles and creators are the record's own, and the work's title is
    the one its core (the default graph) gives, which a writer's edit does not change (a SPARQL
    update may). So the indexed title is checked against the core's, one look-up: if they differ,
    or nothing is indexed for the record yet, the row is read again whole. An authority record's
    row, or a deleted record's, has no text. Measured on the LC 20k store, a writer's edit of a
    work: 2.49 → 1.83 ms in one process (``bench/writes.py --profile-writes``)."""
    authority = _is_authority_graph(store, row.graph)
    if not (authority or row.deleted) and _catalogue.search is not None:
        with cat._lock:
            indexed = _catalogue.search.indexed_work(cat.conn, row.manifestation)
        if indexed is None or indexed[1] != work_title(store, indexed[0]):
            return False
    keep.append(row)
    return True


def rederive(store: Store, cat: Catalogue, graphs: Iterable[str]) -> int:
    """Rows of record graphs written again from the store as it is (after a roll-back: a graph
    gone takes its row and text with it); the index is then not ahead of the store."""
    prefix = f"{store.base}/record/"
    graphs = list(graphs)
    ids = [g[len(prefix):] for g in graphs if g.startswith(prefix)]
    ids += [authority_record_id(store.base, g) for g in graphs if _is_authority_graph(store, g)]
    keep, texts, removed, drop = [], [], [], []
    for record_id in ids:
        row = cat.row(record_id)
        if row is None:
            continue
        _refresh(store, record_id, row, keep, texts, removed, drop)
    last = last_sequence(store)
    # Every IRI the batch named loses its copy: its graph or core is gone, or is what it was before.
    cat.write(keep, texts, removed, drop, sequence=min(cat.sequence, last), stale=graphs)
    return len(ids)


def rebuild(store: Store, cat: Catalogue) -> int:
    """Empty the index and catch up from the start of the change log."""
    cat.clear()
    return catch_up(store, cat)


def timed_catch_up(store: Store, cat: Catalogue, upto: int | None = None) -> int:
    started = time.perf_counter()
    read = catch_up(store, cat, upto)
    if read:
        log.info("the catalogue index caught up with %d change-log entries in %.1f s", read,
                 time.perf_counter() - started)
    return read
