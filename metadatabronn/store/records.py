"""Reading one record back as plain data, for MARC out: its graph, the cores of the entities it
names, when it last changed, and what was edited in the well since it was loaded."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple

import pyoxigraph as ox

from ..mapping import terms as T
from ..rdf import AS, PROV_GENERATED
from . import editing
from .copies import follows
from .cores import MEMO_ENTITIES, UNKNOWN, Core, Memo, parse
from .nquads import plain
from .layout import AS_OBJECT, AS_PUBLISHED, MB_ABSORB, RDF_TYPE

MB_MERGED = T.MB + "merged"  # (store.merging)
# Not a statement of the store: how a record read for MARC out carries a URI its heading's
# authority (or an edit of that entity) gives, beside the record's own owl:sameAs.
MB_AUTHORITY_URI = T.MB + "authorityUri"


class RecordReading:
    """The part of :class:`~metadatabronn.store.reading.Reading` that reads records for export."""

    _store: ox.Store
    base: str
    changes_graph: str
    read_only: bool
    _change_memo: "Memo | None" = None
    _core_memo: "Memo | None" = None

    def read_ahead(self, graphs: list[str]) -> "Ahead | None":
        """What :meth:`record_statements` reads of the catalogue index for each of these records,
        read for all of them at once: their copies, the copies of the cores they name, and those
        entities' change times. One query each for a batch, instead of three for every record
        (a query costs 10-15 µs before its rows; a row in a batch 4). None without copies."""
        view = self._copies()
        if view is None or not graphs:
            return None
        rows = view.statements(graphs)
        named: set[str] = set()
        names: dict[str, set[str]] = {}
        manifestations: set[str] = set()
        bases: set[str] = set()
        for graph, statements in rows.items():
            bases.add(_base_of(graph))
            names[graph] = found = _named(graph, statements)
            named.update(found)
            manifestations.update(o for s, p, o, _ in statements if s == graph and p == _DESCRIBES)
        # The cores they name, and those these name (a related work's author), as the readers
        # of the records will follow them.
        # A leaf's copy is not read: it names nothing to follow, and a record nobody edited wants
        # none of its statements (one that was edited reads it when it asks for them).
        texts: dict[str, bytes] = {}
        leaves: set[str] = set()
        seen = set(manifestations)
        todo = named - seen
        memo = self._core_memo
        while todo:
            asked = sorted(i for i in todo if memo is None or memo.get(i) is None)
            quiet = view.leaves(asked)
            leaves |= quiet
            found = self._cores_ahead([i for i in asked if i not in quiet])
            texts.update(found)
            seen |= todo
            linked = set()
            for iri_ in todo:
                core = self._core(iri_, found, leaf=iri_ in quiet)
                for base in bases:
                    linked.update(core.links(base, self._read_core))
            todo = linked - seen
        times = view.changes(sorted(seen)) if seen else {}
        return Ahead(rows, texts, times, names, leaves)

    def record_statements(self, graph: str, *, edits: bool = False, reads: list | None = None,
                          unchanged: list | None = None, ahead: "Ahead | None" = None):
        """One record as plain data for MARC export: ``(manifestation, carried, modified,
        deleted, statements)``, where statements are ``(subject, predicate, object, is_literal)``
        of the record's graph and of the cores of the entities it names; None if no such graph.
        With ``edits``, a sixth item: the entities it names that were changed in the well after
        the record was loaded (their change-log entries are later than its load). ``reads``, a
        list, is given the manifestation and the entities whose cores were read (in IRI order):
        what a rendition of the record is stamped with (:mod:`.renditions`). ``unchanged``, a
        list, is given whether nothing the record names (the manifestation among them) changed
        in the well since the record was loaded: MARC out then writes every value as it came."""
        view = self._copies()
        if ahead is not None:
            rows = ahead.rows.get(graph)
        else:
            rows = view.statements([graph]).get(graph) if view is not None else None
        if rows is None:
            rows = plain(self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
        if not rows:
            return None
        manifestation, carried, modified, deleted = "", "", "", False
        base = _base_of(graph)
        statements = []
        for row in rows:
            s, p, o, is_literal = row
            if s == graph:
                if p == _DESCRIBES:
                    manifestation = o
                elif p == T.MB_CARRIED:
                    carried = o
                elif p == PROV_GENERATED:
                    modified = o
                elif p == MB_MERGED:  # kept, with the merged entity's core: MARC out shows the merge
                    statements.append((s, p, o, False))
                continue
            if p == RDF_TYPE and o == _TOMBSTONE:
                deleted = True
            statements.append(row)
        named = ahead.names.get(graph) if ahead is not None else None
        if named is None:
            named = _named(graph, rows)
        seen = {manifestation}
        todo = sorted(named, reverse=True)  # popped from the end: in IRI order, whatever the hash seed
        texts = ahead.texts if ahead is not None else self._cores_ahead(todo)
        leaves = ahead.leaves if ahead is not None else ()
        cores: list[tuple[str, Core]] = []
        while todo:  # entity cores, and the cores of what they name (a related work's author)
            iri_ = todo.pop()
            if iri_ in seen:
                continue
            seen.add(iri_)
            core = self._core(iri_, texts, leaf=iri_ in leaves)
            cores.append((iri_, core))
            todo += core.links(base, self._read_core)
        links = self._authority_links(seen)
        if reads is not None:
            reads[:] = [manifestation, *sorted(seen - {manifestation})]
        # The record last changed when it was loaded, or when an entity it embeds was edited in
        # the well, whichever is later: MARC's 005 and OAI-PMH datestamps say the same.
        shared = [i for i in seen if i != manifestation]
        view = self._copies()
        # The manifestation's own edits are in the index too (if it kept them from its start):
        # a record's load is its graph's time, so only later entries need looking up.
        known = view is not None and bool(modified) and view.knows_record_edits()  # (a tombstone has no load time)
        asked = [*shared, manifestation] if known else shared
        times = None
        if ahead is not None and ahead.times is not None and all(i in ahead.times for i in asked):
            times = {i: ahead.times[i] for i in asked}
        elif view is not None and asked:
            times = view.changes(asked)
        if times is None:
            times = {i: self.latest_change(i, shared=True) for i in shared}
        if manifestation not in times:
            times[manifestation] = self.latest_change(manifestation)
        latest = [t for t in times.values() if t]
        loaded = modified
        if modified:
            latest.append(modified)
        if latest:
            modified = max(latest, key=_instant)
        edited = frozenset()
        still = bool(loaded) and modified == loaded and not deleted
        if unchanged is not None:
            unchanged[:] = [still]
        # A record nothing changed in since its load goes out as it came (mapping.reverse): of
        # the cores it names, only its expressions' (content type, languages) and those of the
        # entities an authority describes (their headings) are read. Not when it names a merged
        # entity (from_triples then reads the survivor's core).
        wanted = None
        if still and unchanged is not None and not any(p == MB_MERGED for _, p, _, _ in statements):
            wanted = {o for s_, p, o, _ in statements if s_ == manifestation and p == T.M_EXPRESSION}
            wanted.update(s_ for s_, _, _, _ in links)
        for iri_, core in cores:
            if wanted is None or iri_ in wanted:
                statements += [(iri_, p, o, is_literal) for p, o, is_literal in core.rows(self._read_core)]
        statements += links
        if loaded and modified != loaded:
            at = _instant(loaded)
            edited = frozenset(i for i, t in times.items() if i != manifestation and t and _instant(t) > at)
            # What writers said of an entity edited after the record was loaded is what the
            # record now says of it; a record loaded later keeps its own values.
            written = {}
            for s_, p_, o_, _ in statements:
                if p_ == editing.MB_STATED_IN and (s_ in edited or (s_ == manifestation and times.get(s_)
                                                                    and _instant(times[s_]) > at)):
                    written.setdefault(s_, []).append(o_)
            if manifestation in times and times[manifestation] and _instant(times[manifestation]) > at:
                m_node = ox.NamedNode(manifestation)  # relinked by a writer: its own core is not read above
                for q in self._store.quads_for_pattern(m_node, ox.NamedNode(editing.MB_STATED_IN), None,
                                                       ox.DefaultGraph()):
                    written.setdefault(manifestation, []).append(q.object.value)
            if written:
                found = {s_: editing.writer_rows(self, s_, gs) for s_, gs in written.items()}
                stamps = {g: self.generated(g) or "" for gs in written.values() for g in gs}
                statements = editing.override(statements, found, self.base, stamps)
        if not edits:
            return manifestation, carried, modified, deleted, statements
        return manifestation, carried, modified, deleted, statements, edited

    def _authority_links(self, entities) -> list[tuple[str, str, str, bool]]:
        """For each agent and concept an authority record describes: its identifier
        (``mb:authorityId``) and the URIs the authority, or an edit in the well (an assigned
        ISNI), gives it (``MB_AUTHORITY_URI``), which MARC out adds to the record's headings.
        Nothing is looked up in a store without authorities (one index look-up says so)."""
        if not self.has_authorities():
            return []
        authority_id, same_as = ox.NamedNode(T.MB_AUTHORITY_ID), ox.NamedNode(T.OWL_SAMEAS)
        authorities, edits = f"{self.base}/authority/", f"{self.base}/edit/"
        out = []
        for iri_ in sorted(entities):
            if "/agent/" not in iri_ and "/concept/" not in iri_ and "/work/" not in iri_:
                continue
            node = ox.NamedNode(iri_)
            ids = [q for q in self._store.quads_for_pattern(node, authority_id, None, None)
                   if q.graph_name.value.startswith(authorities)]
            if not ids:
                continue
            out += [(iri_, T.MB_AUTHORITY_ID, q.object.value, True) for q in ids]
            out += [(iri_, MB_AUTHORITY_URI, q.object.value, False)
                    for q in self._store.quads_for_pattern(node, same_as, None, None)
                    if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith((authorities, edits))]
        return out

    def _cores_ahead(self, iris: list[str]) -> dict[str, bytes]:
        """The copies of the cores a record names, in one read (those not remembered), unparsed."""
        view = self._copies()
        if view is None:
            return {}
        memo = self._core_memo
        return view.texts([i for i in iris if memo is None or memo.get(i) is None])

    def _core(self, iri: str, ahead: dict | None = None, *, leaf: bool = False) -> Core:
        """An entity's core (its statements in the default graph). A read-only snapshot
        remembers the latest few: an agent or a subject many records name is read once, not once
        a record (a snapshot never changes under its reader). A ``leaf`` (:func:`.copies.leaf`)
        is read when its statements are first asked for."""
        memo = self._core_memo
        if memo is not None:
            core = memo.get(iri)
            if core is not None:
                return core

        text = ahead.get(iri) if ahead else None
        if text is None and leaf:
            core = Core(iri, None, leaf=True)
        else:
            if text is None:
                view = self._copies()
                text = view.texts([iri]).get(iri) if view is not None else None
            core = Core(iri, text) if text is not None else Core(iri, None, self._read_core(iri, False))
        if self.read_only:
            if memo is None:
                memo = self._core_memo = Memo(MEMO_ENTITIES)
            memo.put(iri, core)
        return core

    def _read_core(self, iri: str, copy_first: bool) -> tuple[tuple[str, str, bool], ...]:
        """An entity's core read now: from its copy if ``copy_first`` and it has one, else from
        the store (:class:`.cores.Core` asks for it)."""
        if copy_first:
            view = self._copies()
            text = view.texts([iri]).get(iri) if view is not None else None
            if text is not None:
                return parse(iri, text, self._read_core)
        found = self._store.quads_for_pattern(ox.NamedNode(iri), None, None, ox.DefaultGraph())
        return tuple((p, o, is_literal) for _, p, o, is_literal in plain(found))

    def latest_change(self, iri: str, *, shared: bool = False) -> str | None:
        """The time of the latest change-log entry about ``iri`` (an xsd:dateTime), or None: the
        entries naming it, read off the object index, whatever the size of the store or its log.
        ``shared``: an entity many records name, worth remembering in a read-only snapshot."""
        memo = self._change_memo
        if shared and self.read_only:
            if memo is None:
                memo = self._change_memo = Memo(MEMO_ENTITIES)
            known = memo.get(iri, UNKNOWN)
            if known is not UNKNOWN:
                return known
        graph = ox.NamedNode(self.changes_graph)
        published = ox.NamedNode(AS_PUBLISHED)
        latest = None
        absorb, rdf_type = ox.NamedNode(MB_ABSORB), ox.NamedNode(RDF_TYPE)
        for entry in self._store.quads_for_pattern(None, ox.NamedNode(AS_OBJECT), ox.NamedNode(iri), graph):
            if shared and any(True for _ in self._store.quads_for_pattern(entry.subject, rdf_type, absorb, graph)):
                continue  # a merge's survivor gained keys, not values: no change of its records
            for q in self._store.quads_for_pattern(entry.subject, published, None, graph):
                if latest is None or _instant(q.object.value) > _instant(latest):
                    latest = q.object.value
        if shared and memo is not None:
            memo.put(iri, latest)
        return latest


class Ahead(NamedTuple):
    """A batch of records as :meth:`RecordReading.read_ahead` read them: each record's
    statements, the texts of the cores they name, and those entities' change times (None if the
    index could not say for the snapshot)."""

    rows: dict[str, list[tuple[str, str, str, bool]]]
    texts: dict[str, bytes]
    times: dict[str, str | None] | None
    names: dict[str, set[str]]  # what each record's graph names (:func:`_named`)
    leaves: set[str]  # the cores among them that are leaves, their copies unread (:func:`.copies.leaf`)


_DESCRIBES = T.MB + "describes"
_TOMBSTONE = AS + "Tombstone"


def _base_of(graph: str) -> str:
    """The base IRI a record graph was minted under."""
    return graph.rsplit("/record/", 1)[0]


def _named(graph: str, rows) -> set[str]:
    """The entities a record graph's statements name whose cores its reader reads: a merged
    entity the graph notes, and the objects its statements follow (:func:`follows`)."""
    base = _base_of(graph)
    return {o for s, p, o, is_literal in rows
            if (p == MB_MERGED if s == graph else not is_literal and follows(p, o, base, in_record=True))}


def _instant(stamp: str) -> datetime:
    """An xsd:dateTime as a comparable instant (its text does not sort: ".5Z" before "Z")."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
