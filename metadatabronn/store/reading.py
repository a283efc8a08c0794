"""Reading the store: what export, the server and the tools ask of it."""

from __future__ import annotations

import os
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Iterator

import pyoxigraph as ox

from ..errors import MetadatabronnError, QuerySyntaxError, ResultTooLarge, StoreError
from ..mapping import terms as T
from ..rdf import AS, DCT_SOURCE, PROV_GENERATED, XSD_DATETIME, literal
from . import copies, editing
from .catalogue import path_of as _catalogue_path
from .layout import AS_OBJECT, AS_PUBLISHED, MB_ABSORB, RDF_TYPE
from .sparql import has_dataset_clause

MB_MERGED = T.MB + "merged"  # (store.merging)


class Reading:
    """The read side of :class:`~metadatabronn.store.Store` (``self._store`` is pyoxigraph's)."""

    _store: ox.Store
    base: str
    changes_graph: str
    read_only: bool
    # Latest change times of shared entities, kept for a read-only snapshot (which cannot change
    # under it): an export, or a server, meets the same agents and concepts again and again.
    _change_memo: _Memo | None = None
    _core_memo: _Memo | None = None
    _copy_view: copies.View | None | bool = False  # False: not yet looked for

    def _copies(self) -> copies.View | None:
        """A read-only snapshot's view of the copies of records and cores; a writer reads the store."""
        view = self._copy_view
        if view is False:
            view = None
            if self.read_only:
                view = copies.View(_catalogue_path(self.path), self.next_sequence() - 1)
            self._copy_view = view
        return view

    def identifiers(self, graph: str) -> list[str]:
        return [q.object.value for q in self._store.quads_for_pattern(
            None, ox.NamedNode(T.M_IDENTIFIER), None, ox.NamedNode(graph))
            if isinstance(q.subject, ox.NamedNode) and "/manifestation/" in q.subject.value]

    def source_of(self, graph: str) -> str | None:
        """The file a record graph was loaded from (``dct:source``), if any."""
        g = ox.NamedNode(graph)
        for q in self._store.quads_for_pattern(g, ox.NamedNode(DCT_SOURCE), None, g):
            return q.object.value
        return None

    def __len__(self) -> int:
        """Quads in the store, in every graph: pyoxigraph counts them all, one by one."""
        return len(self._store)

    def __bool__(self) -> bool:
        # Without it, ``store or other`` and ``if store`` would count every quad (``__len__``).
        return True

    def count(self, sparql: str) -> int:
        for row in self.query(sparql):
            return int(row[0].value)
        return 0

    def query(self, sparql: str):
        """Solutions of a query over the union of all graphs, or over its own dataset clause."""
        try:
            return self._store.query(sparql, **self._dataset(sparql))
        except SyntaxError as exc:
            raise MetadatabronnError(f"SPARQL syntax error: {exc}") from exc

    @staticmethod
    def _dataset(sparql: str, default_graphs: list[str] | None = None,
                 named_graphs: list[str] | None = None) -> dict:
        """pyoxigraph's dataset arguments. Its union default replaces a query's own dataset, so
        it is asked for only when the query names none."""
        if default_graphs or named_graphs:
            kwargs: dict = {"default_graph": [ox.NamedNode(g) for g in default_graphs or ()] or ox.DefaultGraph()}
            if named_graphs:
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
            return kwargs
        if has_dataset_clause(sparql):
            return {}
        return {"use_default_graph_as_union": True}

    def record_views(self):
        """Per record graph: (graph, source, control number, N-Quads of the graph and of the
        cores of every entity it names), the data a record is validated on."""
        describes = ox.NamedNode(T.MB + "describes")
        source_p = ox.NamedNode("http://purl.org/dc/terms/source")
        # Record graphs are the ones that say which manifestation they describe, whatever base
        # IRI they were minted under.
        graphs = {q.graph_name for q in self._store.quads_for_pattern(None, describes, None, None)}
        for g in sorted(graphs, key=lambda n: n.value):
            quads = list(self._store.quads_for_pattern(None, None, None, g))
            named = {t.value for q in quads for t in (q.subject, q.object) if isinstance(t, ox.NamedNode)}
            cores = [q for iri_ in named for q in self._store.quads_for_pattern(
                ox.NamedNode(iri_), None, None, ox.DefaultGraph())]
            source = next((q.object.value for q in quads if q.predicate == source_p), "")
            manifestation = next((q.object for q in quads if q.predicate == describes), None)
            cn = next((q.object.value for q in quads if manifestation is not None and q.subject == manifestation
                       and q.predicate.value == T.M_IDENTIFIER and q.object.value.startswith("(")), "")
            text = "".join(f"{q} .\n" for q in quads) + "".join(f"{q} .\n" for q in cores)
            yield g.value, source, cn, text

    def record_graphs(self, since: str | None = None) -> Iterator[str]:
        """Record graphs, streamed in the store's own order; with ``since`` (an xsd:dateTime),
        only those whose manifestation the change log says was created, updated or deleted
        since then (each once)."""
        if since is None:
            describes = ox.NamedNode(T.MB + "describes")
            # One describes-statement per record graph, in its own graph: no duplicates to drop.
            return (q.graph_name.value for q in self._store.quads_for_pattern(None, describes, None, None)
                    if q.subject == q.graph_name)
        # A record changed itself, or a shared entity it names (a work retitled in the well) did.
        rows = self._store.query(
            f"""SELECT DISTINCT ?g WHERE {{
                GRAPH <{self.changes_graph}> {{ ?c <{AS_OBJECT}> ?m ; <{AS_PUBLISHED}> ?t }}
                FILTER (?t >= {literal(since, datatype=XSD_DATETIME)})
                {{ GRAPH ?g {{ ?g <{T.MB}describes> ?m }} }}
                UNION
                {{ GRAPH ?g {{ ?s ?p ?m }} GRAPH ?g {{ ?g <{T.MB}describes> ?described }}
                   FILTER (!CONTAINS(STR(?m), "/manifestation/")) }} }}""")
        return (row["g"].value for row in rows)

    def record_statements(self, graph: str, *, edits: bool = False):
        """One record as plain data for MARC export: ``(manifestation, carried, modified,
        deleted, statements)``, where statements are ``(subject, predicate, object, is_literal)``
        of the record's graph and of the cores of the entities it names; None if no such graph.
        With ``edits``, a sixth item: the entities it names that were changed in the well after
        the record was loaded (their change-log entries are later than its load)."""
        g = ox.NamedNode(graph)
        view = self._copies()
        quads = view.quads(graph) if view is not None else None
        if quads is None:
            quads = list(self._store.quads_for_pattern(None, None, None, g))
        if not quads:
            return None
        manifestation, carried, modified, deleted = "", "", "", False
        base = graph.rsplit("/record/", 1)[0]  # the base the record was minted under
        statements = []
        named: set[str] = set()
        for q in quads:
            s, p, o = q.subject, q.predicate.value, q.object
            if s == g:
                if p == T.MB + "describes":
                    manifestation = o.value
                elif p == T.MB_CARRIED:
                    carried = o.value
                elif p == PROV_GENERATED:
                    modified = o.value
                elif p == MB_MERGED:  # kept, with the merged entity's core: MARC out shows the merge
                    statements.append((s.value, p, o.value, False))
                    named.add(o.value)
                continue
            if p == RDF_TYPE and o.value == AS + "Tombstone":
                deleted = True
            is_literal = isinstance(o, ox.Literal)
            statements.append((s.value, p, o.value, is_literal))
            if not is_literal and follows(p, o.value, base, in_record=True):
                named.add(o.value)
        seen = {manifestation}
        todo = sorted(named, reverse=True)  # popped from the end: in IRI order, whatever the hash seed
        ahead = self._cores_ahead(todo)
        while todo:  # entity cores, and the cores of what they name (a related work's author)
            iri_ = todo.pop()
            if iri_ in seen:
                continue
            seen.add(iri_)
            for p, o, is_literal in self._core(iri_, ahead):
                statements.append((iri_, p, o, is_literal))
                if not is_literal and follows(p, o, base):
                    todo.append(o)
        # The record last changed when it was loaded, or when an entity it embeds was edited in
        # the well, whichever is later: MARC's 005 and OAI-PMH datestamps say the same.
        shared = [i for i in seen if i != manifestation]
        view = self._copies()
        # The manifestation's own edits are in the index too (if it kept them from its start):
        # a record's load is its graph's time, so only later entries need looking up.
        known = view is not None and bool(modified) and view.knows_record_edits()  # (a tombstone has no load time)
        asked = [*shared, manifestation] if known else shared
        times = view.changes(asked) if view is not None and asked else None
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

    def _cores_ahead(self, iris: list[str]) -> dict[str, list[ox.Quad]]:
        """The copies of the cores a record names, in one read (those not remembered)."""
        view = self._copies()
        if view is None:
            return {}
        memo = self._core_memo
        return view.fetch([i for i in iris if memo is None or i not in memo])

    def _core(self, iri: str, ahead: dict | None = None) -> tuple[tuple[str, str, bool], ...]:
        """An entity's core (its statements in the default graph) as (predicate, object, literal?).
        A read-only snapshot remembers the latest few: an agent or a subject many records name is
        read once, not once a record (a snapshot never changes under its reader)."""
        memo = self._core_memo
        if memo is not None and iri in memo:
            return memo[iri]
        found = ahead.get(iri) if ahead else None
        if found is None:
            view = self._copies()
            found = view.quads(iri) if view is not None else None
        if found is None:
            found = self._store.quads_for_pattern(ox.NamedNode(iri), None, None, ox.DefaultGraph())
        core = tuple((q.predicate.value, q.object.value, isinstance(q.object, ox.Literal)) for q in found)
        if self.read_only:
            if memo is None:
                memo = self._core_memo = _Memo(MEMO_ENTITIES)
            memo[iri] = core
        return core

    def latest_change(self, iri: str, *, shared: bool = False) -> str | None:
        """The time of the latest change-log entry about ``iri`` (an xsd:dateTime), or None: the
        entries naming it, read off the object index, whatever the size of the store or its log.
        ``shared``: an entity many records name, worth remembering in a read-only snapshot."""
        memo = self._change_memo
        if shared and self.read_only:
            if memo is None:
                memo = self._change_memo = _Memo(MEMO_ENTITIES)
            if iri in memo:
                return memo[iri]
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
            memo[iri] = latest
        return latest

    def change_times(self) -> dict[str, str]:
        """Entity or manifestation IRI → the time of its latest change-log entry: the whole log
        (for tools; a record's own are :meth:`latest_change`)."""
        rows = self._store.query(
            f"SELECT ?o (MAX(?t) AS ?last) WHERE {{ GRAPH <{self.changes_graph}> "
            f"{{ ?c <{AS_OBJECT}> ?o ; <{AS_PUBLISHED}> ?t }} }} GROUP BY ?o")
        return {row["o"].value: row["last"].value for row in rows}

    def record_index(self) -> list[tuple[str, str, str, bool]]:
        """Every record graph: ``(graph, manifestation, source file, deleted?)``."""
        rows = self._store.query(
            f"""SELECT ?g ?m ?src ?del WHERE {{ GRAPH ?g {{ ?g <{T.MB}describes> ?m .
                OPTIONAL {{ ?g <http://purl.org/dc/terms/source> ?src }}
                OPTIONAL {{ ?m <{AS}deleted> ?del }} }} }}""")
        return [(r["g"].value, r["m"].value, r["src"].value if r["src"] is not None else "", r["del"] is not None)
                for r in rows]

    def graphs_naming(self, iri: str) -> set[str]:
        """Record graphs with a statement whose object is ``iri`` (the records embedding it)."""
        return {q.graph_name.value for q in self._store.quads_for_pattern(None, None, ox.NamedNode(iri), None)
                if isinstance(q.graph_name, ox.NamedNode) and "/record/" in q.graph_name.value}

    # serving ---------------------------------------------------------------------------
    RESULT_FORMATS = {"json": "JSON", "xml": "XML", "csv": "CSV", "tsv": "TSV"}
    GRAPH_FORMATS = {"turtle": "TURTLE", "ntriples": "N_TRIPLES", "jsonld": "JSON_LD", "rdfxml": "RDF_XML"}

    def run_query(self, sparql: str, *, results: str = "json", graph: str = "turtle",
                  default_graphs: list[str] | None = None, named_graphs: list[str] | None = None,
                  max_bytes: int | None = None) -> tuple[bytes, str]:
        """Run a SPARQL query as the protocol asks: ``(body, kind)``, kind "results" or
        "graph". The dataset, as SPARQL 1.1 Protocol §2.1.4 orders it: ``default_graphs`` and/or
        ``named_graphs`` (the protocol's ``default-graph-uri``/``named-graph-uri``) when given;
        else the query's own ``FROM``/``FROM NAMED``; else the union of all graphs as the
        default graph, with every named graph."""
        try:
            answer = self._store.query(sparql, **self._dataset(sparql, default_graphs, named_graphs))
            if isinstance(answer, ox.QueryTriples):
                body, kind = answer.serialize(format=getattr(ox.RdfFormat, self.GRAPH_FORMATS[graph])), "graph"
            else:
                body = answer.serialize(format=getattr(ox.QueryResultsFormat, self.RESULT_FORMATS[results]))
                kind = "results"
        except SyntaxError as exc:
            raise QuerySyntaxError(f"SPARQL syntax error: {exc}") from None
        except (OSError, ValueError, RuntimeError) as exc:
            raise StoreError(f"the query failed: {exc}") from None
        if max_bytes is not None and len(body) > max_bytes:
            raise ResultTooLarge(f"the result is {len(body):,} bytes, over the limit of {max_bytes:,}: "
                                 "narrow the query or add LIMIT")
        return body, kind

    def about(self, iri: str, *, raw: bool = False) -> list[tuple[str, str, str, bool, str | None, str | None]]:
        """Every statement whose subject is ``iri``, in any graph:
        ``(graph, predicate, object, is_literal, language, datatype)``; graph "" is the default.
        Each element a writer stated is as the writer that stated it last says (see
        :mod:`.editing`), unless ``raw``."""
        out = self._about(iri)
        if raw or not any(g.startswith(self.base + "/edit/") for g, *_ in out):
            return out
        return editing.effective(out, editing.stamps_of(self, out), self.base)

    def _about(self, iri: str) -> list[tuple[str, str, str, bool, str | None, str | None]]:
        out = []
        for q in self._store.quads_for_pattern(ox.NamedNode(iri), None, None, None):
            o = q.object
            lit = isinstance(o, ox.Literal)
            out.append((q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else "", q.predicate.value,
                        o.value, lit, o.language if lit else None,
                        o.datatype.value if lit and o.datatype is not None else None))
        return out

    def linking(self, predicate: str, iri: str, limit: int = 1000) -> list[str]:
        """Subjects that point at ``iri`` with ``predicate`` (each once)."""
        seen: dict[str, None] = {}
        for q in self._store.quads_for_pattern(None, ox.NamedNode(predicate), ox.NamedNode(iri), None):
            seen[q.subject.value] = None
            if len(seen) >= limit:
                break
        return list(seen)

    def pointing_at(self, iri: str, limit: int = 1000) -> list[tuple[str, str]]:
        """``(subject, predicate)`` of the statements whose object is ``iri`` (each pair once),
        the change log left out."""
        seen: dict[tuple[str, str], None] = {}
        for q in self._store.quads_for_pattern(None, None, ox.NamedNode(iri), None):
            if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value == self.changes_graph:
                continue
            seen[(q.subject.value, q.predicate.value)] = None
            if len(seen) >= limit:
                break
        return list(seen)

    def holds(self, subject: str, value: tuple[str, str, bool, str | None, str | None]) -> bool:
        """Whether any graph states ``subject`` ``(predicate, object, is_literal, language, datatype)``."""
        p, o, lit, lang, dt = value
        try:
            node = ox.NamedNode(subject)
            obj = (ox.Literal(o, language=lang) if lang else ox.Literal(o, datatype=ox.NamedNode(dt)) if dt
                   else ox.Literal(o)) if lit else ox.NamedNode(o)
        except ValueError:
            return False
        return any(True for _ in self._store.quads_for_pattern(node, ox.NamedNode(p), obj, None))

    def values(self, iri: str, predicate: str) -> list[str]:
        return list(dict.fromkeys(q.object.value for q in self._store.quads_for_pattern(
            ox.NamedNode(iri), ox.NamedNode(predicate), None, None)))

    def subjects_with(self, predicate: str, value: str) -> list[str]:
        """Subjects with ``predicate`` = the plain literal ``value`` (an identifier look-up)."""
        return list(dict.fromkeys(q.subject.value for q in self._store.quads_for_pattern(
            None, ox.NamedNode(predicate), ox.Literal(value), None)))

    def generated(self, graph: str) -> str | None:
        for q in self._store.quads_for_pattern(ox.NamedNode(graph), ox.NamedNode(PROV_GENERATED), None,
                                               ox.NamedNode(graph)):
            return q.object.value
        return None


def follows(predicate: str, obj: str, base: str, *, in_record: bool = False) -> bool:
    """Whether a record's reader reads the core of the entity an IRI object names: the well's own
    entities (vocabulary terms have no core here), and, from the record's graph, subject concepts
    known by an authority's URI, whose label a new heading is written from."""
    return predicate != RDF_TYPE and (obj.startswith(base) or (in_record and predicate == T.W_SUBJECT))


MEMO_ENTITIES = 50_000  # entities whose change times a read-only snapshot keeps (a few MB)


class _Memo(OrderedDict):
    """A bounded memo: the least recently used entry goes first."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def __getitem__(self, key):
        self.move_to_end(key)
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if len(self) > self.size:
            self.popitem(last=False)


def _instant(stamp: str) -> datetime:
    """An xsd:dateTime as a comparable instant (its text does not sort: ".5Z" before "Z")."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# Files beside the store's own in its directory: the catalogue index, the write API's audit log
# and keys (appended to by requests that change nothing in the store).
_NOT_THE_STORE = ("catalogue.sqlite3", "audit.jsonl", "api-keys.json")


def generation(path: str | os.PathLike) -> int:
    """A number that changes whenever the store on disk is written (RocksDB writes new files and
    appends to its log): readers compare it to know when to open a fresh read-only view. The
    catalogue index's files do not count: a reader opening it can make its shared-memory file, and
    it is read live anyway (limited to the view's change-log sequence)."""
    latest = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.startswith(_NOT_THE_STORE):
                    st = entry.stat()
                    latest = max(latest, st.st_mtime_ns + st.st_size)
    except OSError:
        return 0
    return latest

