"""Reading the store: what export, the server and the tools ask of it."""

from __future__ import annotations

import os
from typing import Iterator

import pyoxigraph as ox

from ..errors import MetadatabronnError, QuerySyntaxError, ResultTooLarge, StoreError
from ..mapping import terms as T
from ..rdf import AS, DCT_SOURCE, PROV_GENERATED, XSD_DATETIME, literal
from . import copies, editing
from .renditions import Renditions
from .catalogue import path_of as _catalogue_path
from .layout import AS_OBJECT, AS_PUBLISHED
from .cores import Memo
from .records import RecordReading
from .sparql import has_dataset_clause

class Reading(RecordReading):
    """The read side of :class:`~metadatabronn.store.Store` (``self._store`` is pyoxigraph's)."""

    _store: ox.Store
    base: str
    changes_graph: str
    read_only: bool
    # Latest change times of shared entities, kept for a read-only snapshot (which cannot change
    # under it): an export, or a server, meets the same agents and concepts again and again.
    _change_memo: Memo | None = None
    _core_memo: Memo | None = None
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

    def renditions(self, fmt: str, salt: str) -> Renditions | None:
        """The records of this snapshot as last encoded in ``fmt`` (:mod:`.renditions`); None
        where the index cannot vouch for them (a writer, or an index that does not log every
        edit of a manifestation). ``salt``: what else the bytes depend on (options, code)."""
        view = self._copies()
        if view is None or not view.knows_record_edits():
            return None
        return Renditions(self.path, view, fmt, f"{salt}\0{self.base}\0{self.has_authorities()}")

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
            if isinstance(self._store, ox.Store):
                # The same scan of the same index, in the same order, but only the graph's IRI
                # decoded (the pattern made four terms a statement): 15 against 29 µs a record
                # at 250,000, which an export's main process spent beside its workers.
                found = self._store.query(f"SELECT ?g WHERE {{ GRAPH ?g {{ ?g <{describes.value}> ?m }} }}")
                return (row[0].value for row in found)
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


# Files beside the store's own in its directory: the catalogue index, the write API's audit log
# and keys (appended to by requests that change nothing in the store).
_NOT_THE_STORE = ("catalogue.sqlite3", "audit.jsonl", "api-keys.json")


def generation(path: str | os.PathLike) -> int:
    """A number that changes whenever the store on disk is written (RocksDB writes new files and
    appends to its log): readers compare it to know when to open a fresh read-only view. The
    catalogue index's files do not count: a reader opening it can make its shared-memory file, and
    it is read live anyway (limited to the view's change-log sequence)."""
    latest = 0
    if os.path.isfile(os.path.join(path, "remote.json")):  # the quads are on a SPARQL server
        from .remote_home import generation as remote_generation

        return remote_generation(path)
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.startswith(_NOT_THE_STORE):
                    st = entry.stat()
                    latest = max(latest, st.st_mtime_ns + st.st_size)
    except OSError:
        return 0
    return latest

