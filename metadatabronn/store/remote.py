"""The store's quads on a SPARQL server: :class:`RemoteStore` offers the part of
``pyoxigraph.Store`` the package uses, over the SPARQL 1.1 Protocol, and gives back pyoxigraph's
own terms and results, so nothing above :mod:`.core` knows where the quads are.

A store's home directory (indexes, keys, rejects) holds ``remote.json`` naming the endpoint
(:mod:`.remote_home`); ``Store(path)`` opens this backend when it finds it.

Writes are not one transaction as pyoxigraph's are: a large write goes in several requests
(a graph per Graph Store Protocol request, or ``METADATABRONN_SPARQL_CHUNK_BYTES`` [1,000,000]
and ``METADATABRONN_SPARQL_CHUNK_QUADS`` [500] per SPARQL update). Each request is atomic on the server; a batch of them is made safe by
the pending mark the loader writes before it (:meth:`Writing.mark_pending`), as on disk.
"""

from __future__ import annotations

import logging
import os
import re
from typing import IO, Iterable, Iterator

import pyoxigraph as ox

from ..errors import StoreError
from .remote_http import N_TRIPLES, XML_RESULTS, Line, _env_number, endpoint_of
from .remote_text import (DEFAULT_GRAPH, DEFAULT_NODE, canonical, data_blocks, graph_constants_to_filters, defines, graph_back, graph_text,
                          operations, parse_results, pattern_query, query_form, term,
                          graph_variable_only, uses_default_graph, without_dataset, syntax_position,
                          whole_answer, DROP_ALL, DROP_DEFAULT, DROP_GRAPH)
from .sparql import has_dataset_clause

log = logging.getLogger(__name__)

NOTHING = DEFAULT_GRAPH + "-none"  # a graph never written: see query()
PAGE = 10_000
_MB_G_VARIABLE = re.compile(rb'<variable name="mb_g\d+"/>')
_MB_G_BINDING = re.compile(rb'<binding name="mb_g\d+">.*?</binding>', re.S)
_ANY = ox.NamedNode("urn:x-any")  # rows a page of a pattern read asks for: Virtuoso caps a result (ResultSetMaxRows)


class RemoteStore:
    """pyoxigraph.Store's interface over a SPARQL server (see the module's docstring)."""

    # Each read is a round trip: callers that can ask for many look-ups at once should
    # (``Store.batched_reads``).
    batched_reads = True

    def __init__(self, url: str, *, read_only: bool = False, system_graphs: Iterable[str] | None = None):
        self.url = url
        self.endpoint = endpoint_of(url)
        self.read_only = read_only
        self.line = Line(self.endpoint)
        # The server's own graphs (Virtuoso's schemas, its DAV): left out of every read.
        self._system_graphs = list(system_graphs) if system_graphs is not None else None
        self.chunk_bytes = int(_env_number("METADATABRONN_SPARQL_CHUNK_BYTES", 1_000_000, 1000))
        # Virtuoso refuses an update whose SQL passes 10,000 lines: about 1,000 quads.
        self.chunk_quads = int(_env_number("METADATABRONN_SPARQL_CHUNK_QUADS", 500, 1))
        self.post_quads = 20_000  # quads gathered before the graphs they fall in are sent
        self.page = PAGE  # rows a read asks for at a time: lowered to the server's cap when it has a lower one
        self._object_hint: str | None = None

    @property
    def system_graphs(self) -> list[str]:
        """The server's own graphs (a home records them when it is made; else asked once)."""
        if self._system_graphs is None:
            from .remote_home import system_filter, system_graph

            # Only graphs whose IRI may be one of the server's own are listed: a listing of every
            # graph of a server that holds a large store takes minutes.
            found = self._rows(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER ({system_filter('?g')}) }}",
                               "?g")
            self._system_graphs = sorted(row["g"].value for row in found if system_graph(row["g"].value))
        return self._system_graphs

    def __repr__(self) -> str:
        return f"<RemoteStore {self.url}>"

    # reading -----------------------------------------------------------------------------
    @property
    def object_index_hint(self) -> str:
        """What a triple pattern whose object comes from a ``VALUES`` list of literals needs after
        it to be read by the object index: on Virtuoso, its ``TABLE_OPTION`` naming that index;
        elsewhere nothing. Virtuoso plans such a join from statistics taken while the store was
        small, and as it grows it reads every statement of the predicate for each group of
        look-ups (1 s for 200 record digests at 80,000 records, and growing; 17-36 ms with it)."""
        if self._object_hint is None:
            self._object_hint = ' OPTION (TABLE_OPTION "index RDF_QUAD_POGS")' if self.line.is_virtuoso() else ""
        return self._object_hint

    def _select(self, text: str, params: list[tuple[str, str]] = ()):
        return parse_results(self.line.query(text, list(params), XML_RESULTS))

    def _rows(self, text: str, order: str) -> Iterator:
        """Every row of a SELECT, however few rows the server gives in one answer.

        A first answer that is whole is all of it. Past that, pages in one fixed order
        (``order``): pages of OFFSET with no ORDER BY overlap and miss rows, since a server that
        runs a query on several threads gives its rows in a different order each time. Each page
        sorts the whole answer on the server: a read of millions of rows is slow this way (a dump
        of a large store on a server is better made by the server's own tools)."""
        answer, cap = self.line.query_capped(f"{text} LIMIT {self.page}", [], XML_RESULTS)
        rows = list(parse_results(answer))
        if len(rows) < self.page and cap is None:
            yield from rows
            return
        offset = 0
        names = text[len("SELECT "):text.index(" WHERE")].replace("DISTINCT ", "")
        while True:
            # Ordered in a subquery: Virtuoso refuses an ORDER BY whose OFFSET + LIMIT passes its
            # cap on rows (SR353), and sorts the subquery's answer whole.
            answer, cap = self.line.query_capped(
                f"SELECT {names} WHERE {{ {{ {text} ORDER BY {order} }} }} LIMIT {self.page} OFFSET {offset}",
                [], XML_RESULTS)
            n = 0
            for row in parse_results(answer):
                n += 1
                yield row
            if cap is not None and cap < self.page:  # the server's cap is below our page: its size from now on
                log.info("the SPARQL server gives at most %d rows an answer: reading in pages of that", cap)
                self.page = cap
            elif n < self.page:
                return
            offset += n

    def quads_for_pattern(self, subject=None, predicate=None, obj=None, graph_name=None) -> Iterator[ox.Quad]:
        """The quads matching a pattern (None: any), read a page at a time as they are taken."""
        if isinstance(obj, ox.Literal):  # given back as pyoxigraph would store it
            obj = next(canonical([ox.Quad(_ANY, _ANY, obj)])).object
        text, names = pattern_query(subject, predicate, obj, graph_name, self.system_graphs)
        return self._pattern_quads(text, names, subject, predicate, obj, graph_name)

    def _pattern_quads(self, text, names, s, p, o, g) -> Iterator[ox.Quad]:
        if not names:
            if bool(self._select(text)):
                yield ox.Quad(s, p, o, graph_back(g) if g is not None else ox.DefaultGraph())
            return
        # A total order. An object goes by a digest of its text (Virtuoso refuses a sort key of
        # more than 1,900 bytes, and a record's own text is longer), its language and datatype.
        order = " ".join(f"?{n}" for n in ("g", "s", "p") if n in names)
        if "o" in names:
            order += " SHA1(STR(?o)) LANG(?o) DATATYPE(?o)"
        for row in self._rows(text, order):
            values = {"s": s, "p": p, "o": o, "g": g}
            for name in names:
                values[name] = row[name]
            yield ox.Quad(values["s"], values["p"], values["o"], graph_back(values["g"]))

    def __iter__(self) -> Iterator[ox.Quad]:
        return self.quads_for_pattern(None, None, None, None)

    def __len__(self) -> int:
        where = "GRAPH ?g { ?s ?p ?o }"
        if self.system_graphs:
            where += " FILTER (?g NOT IN (" + ", ".join(f"<{x}>" for x in self.system_graphs) + "))"
        for row in self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"):
            return int(row["n"].value)
        return 0

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        skip = {DEFAULT_GRAPH, *self.system_graphs}
        for row in self._rows("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", "?g"):
            if row["g"].value not in skip:
                yield row["g"]

    def contains_named_graph(self, graph) -> bool:
        return bool(self._select(f"ASK WHERE {{ GRAPH {graph_text(graph)} {{ ?s ?p ?o }} }}"))

    def query(self, query: str, *, use_default_graph_as_union: bool = False, default_graph=None,
              named_graphs=None, **_ignored):
        """A SPARQL query, with pyoxigraph's dataset arguments mapped to the protocol's
        ``default-graph-uri``/``named-graph-uri``: SELECT gives ``QuerySolutions``, ASK a
        ``QueryBoolean``, CONSTRUCT and DESCRIBE ``QueryTriples`` (pyoxigraph's own classes)."""
        params: list[tuple[str, str]] = []
        exclude_default: list[str] = []
        exclude_named: list[str] = []
        if default_graph is not None or named_graphs is not None:
            given = default_graph if isinstance(default_graph, list) else [default_graph]
            params += [("default-graph-uri", DEFAULT_GRAPH if isinstance(g, ox.DefaultGraph) else g.value)
                       for g in given if g is not None]
            params += [("named-graph-uri", g.value) for g in named_graphs or ()]
            if has_dataset_clause(query):  # the protocol's dataset replaces the query's own
                query = without_dataset(query)
        elif has_dataset_clause(query):
            pass  # a query's FROM is its own
        else:
            # GRAPH ?g ranges over the named graphs: not the one holding the default graph, nor
            # the server's own. Virtuoso ignores a graph excluded from the named graphs when
            # the default graph is one graph alone, or is the union with nothing excluded from
            # it: an extra graph that holds nothing keeps both exclusions in force.
            exclude_named = [DEFAULT_GRAPH, *self.system_graphs]
            if use_default_graph_as_union:
                exclude_default = list(self.system_graphs) or [NOTHING]
            else:
                params += [("default-graph-uri", DEFAULT_GRAPH), ("default-graph-uri", NOTHING)]
        declared = bool(params or exclude_default or exclude_named)
        body = graph_constants_to_filters(query) if declared else query
        pragmas = defines(exclude_default, exclude_named)
        try:
            return self._ask(query, body, pragmas + body, params)
        except SyntaxError as exc:  # the line the server names counts the pragmas put before the query
            shift = pragmas.count("\n")
            said = _LINE.sub(lambda m: f"line {max(1, int(m.group(1)) - shift)}", str(exc), count=1)
            raise SyntaxError(said + syntax_position(query)) from None

    def _ask(self, query: str, body: str, text: str, params: list[tuple[str, str]]):
        form = query_form(query)
        if form in ("SELECT", "ASK"):
            answer, cap = self.line.query_capped(text, params, XML_RESULTS)
            whole_answer(query, cap)
            if body is not query:  # SELECT * would show the graph variables put in
                answer = _MB_G_VARIABLE.sub(b"", _MB_G_BINDING.sub(b"", answer))
            return parse_results(answer)
        body, cap = self.line.query_capped(text, params, N_TRIPLES)
        whole_answer(query, cap)
        held = ox.Store()  # pyoxigraph's QueryTriples, made by its own engine over the answer
        held.load(body, format=ox.RdfFormat.N_TRIPLES)
        return held.query("CONSTRUCT WHERE { ?s ?p ?o }")

    def dump(self, output=None, format=None, *, from_graph=None):
        quads = self.quads_for_pattern(None, None, None, from_graph)
        if from_graph is not None:
            quads = (ox.Triple(q.subject, q.predicate, q.object) for q in quads)
        return ox.serialize(quads, output, format)

    # writing -----------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the store at {self.url} is open read-only")

    def update(self, update: str, **_ignored) -> None:
        """A SPARQL Update; an operation without ``GRAPH`` reads and writes the well's default
        graph (Virtuoso takes ``default-graph-uri`` for it, and only such operations are sent
        with it: see :func:`.remote_text.uses_default_graph`)."""
        self._writable()
        groups: list[tuple[str, list[str]]] = []
        for op in filter(None, map(self._implicit_graphs, operations(update))):
            kind = "default" if uses_default_graph(op) else "variable" if graph_variable_only(op) else "plain"
            if groups and groups[-1][0] == kind:
                groups[-1][1].append(op)
            else:
                groups.append((kind, [op]))
        # One request per run of operations alike (most updates are one): Virtuoso runs a
        # request in one transaction, so an update mixing kinds is atomic per run only.
        for kind, ops in groups:
            text = " ;\n".join(ops)
            if kind == "variable":  # GRAPH ?g ranges over the named graphs, as in pyoxigraph
                text = defines([], [DEFAULT_GRAPH, *self.system_graphs]) + text
            self.line.update(text, [("default-graph-uri", DEFAULT_GRAPH)] if kind == "default" else [])

    def _implicit_graphs(self, op: str) -> str:
        """``DROP``/``CLEAR`` as pyoxigraph does them. Virtuoso refuses ``DROP GRAPH`` of a graph
        not made by ``CREATE GRAPH`` (SPARUL_DROP "has not been explicitly created"), while in
        pyoxigraph, as in SPARQL 1.1, a graph with quads exists: such a graph is dropped SILENT,
        and one with no quads is sent as it is, and refused as pyoxigraph refuses it. ``DEFAULT``
        is the graph holding the well's default graph; ``ALL`` and ``NAMED`` are the store's
        graphs one by one."""
        m = DROP_DEFAULT.match(op)
        if m is not None:  # the default graph always exists: emptying it never fails
            return f"{m.group(1)}{m.group(2)} SILENT GRAPH <{DEFAULT_GRAPH}>"
        m = DROP_ALL.match(op)
        if m is not None:  # the store's graphs, one by one: never the server's own
            graphs = [g.value for g in self.named_graphs()] + ([DEFAULT_GRAPH] if m.group(3).upper() == "ALL" else [])
            return m.group(1) + " ;\n".join(f"{m.group(2)} SILENT GRAPH <{g}>" for g in graphs) if graphs else ""
        m = DROP_GRAPH.match(op)
        if m is None or not self.contains_named_graph(ox.NamedNode(m.group(3))):
            return op
        return f"{m.group(1)}{m.group(2)} SILENT GRAPH <{m.group(3)}>"

    def _write(self, verb: str, quads: Iterable[ox.Quad], single: bool = False) -> None:
        self._writable()
        quads = canonical(quads)
        if verb == "INSERT" and self.line.graph_store_works is not False and not single:
            quads = self._post_graphs(quads)  # what the Graph Store Protocol did not take
        for blocks, blank in data_blocks(quads, self.chunk_bytes, self.chunk_quads):
            if blank and verb == "INSERT":  # Virtuoso refuses blank nodes in INSERT DATA
                self.line.update(f"INSERT {{ {blocks} }} WHERE {{ }}")
            else:
                self.line.update(f"{verb} DATA {{ {blocks} }}")

    def _post_graphs(self, quads: Iterable[ox.Quad]) -> list[ox.Quad]:
        """Quads added a graph per request by the Graph Store Protocol, gathered
        :attr:`post_quads` at a time; all of them back when the server refuses the first."""
        pending: dict[str, list[ox.Quad]] = {}
        refused: list[ox.Quad] = []
        count = 0

        def send() -> None:
            for g, held in pending.items():
                body = "".join(f"{term(q.subject)} {term(q.predicate)} {term(q.object)} .\n" for q in held)
                if not self.line.post_graph(g, body.encode("utf-8")):
                    refused.extend(held)

        for q in quads:
            g = DEFAULT_GRAPH if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value
            pending.setdefault(g, []).append(q)
            count += 1
            if count >= self.post_quads:
                send()
                pending, count = {}, 0
        send()
        return refused

    def add(self, quad: ox.Quad) -> None:
        self._write("INSERT", [quad], single=True)

    def remove(self, quad: ox.Quad) -> None:
        self._write("DELETE", [quad])

    def remove_many(self, quads: Iterable[ox.Quad]) -> None:
        """Remove these quads, in as few ``DELETE DATA`` requests as fit."""
        self._write("DELETE", quads)

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        self._write("INSERT", quads)

    bulk_extend = extend

    def load(self, input=None, format=None, *, path=None, base_iri=None, to_graph=None, lenient=False) -> None:
        quads = ox.parse(input, format, path=path, base_iri=base_iri, lenient=lenient)
        if to_graph is not None:
            quads = (ox.Quad(q.subject, q.predicate, q.object, to_graph) for q in quads)
        self._write("INSERT", quads)

    def bulk_load(self, input=None, format=None, *, path=None, base_iri=None, to_graph=None,
                  lenient=False) -> None:
        """A large load: by the server's own bulk loader where one is set up and the load is
        large (:mod:`.remote_bulk`), else in SPARQL requests."""
        from . import remote_bulk

        if not remote_bulk.load(self, input, format, path=path, to_graph=to_graph):
            self.load(input, format, path=path, base_iri=base_iri, to_graph=to_graph, lenient=lenient)

    def add_graph(self, graph) -> None:
        """A server holds no empty graph: a named graph exists once it holds a quad."""

    def remove_graph(self, graph) -> None:
        self._writable()
        self.line.update(f"DROP SILENT GRAPH {graph_text(graph)}")

    def clear_graph(self, graph) -> None:
        self._writable()
        self.line.update(f"CLEAR SILENT GRAPH {graph_text(graph)}")

    def replace_graph(self, graph: ox.NamedNode, triples: Iterable[ox.Triple]) -> None:
        """A whole named graph in place of what it held: one Graph Store Protocol PUT where the
        server takes one, else a drop and an insert."""
        self._writable()
        triples = list(triples)
        body = "".join(f"{term(t.subject)} {term(t.predicate)} {term(t.object)} .\n" for t in triples)
        if not self.line.put_graph(graph.value, body.encode("utf-8")):
            self.remove_graph(graph)
            self.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)

    def clear(self) -> None:
        """Every graph of the server but its own system graphs."""
        self._writable()
        from .remote_home import system_graph

        where = "GRAPH ?g { ?s ?p ?o }"
        if self.system_graphs:
            where += " FILTER (?g NOT IN (" + ", ".join(f"<{x}>" for x in self.system_graphs) + "))"
        while True:  # what one listing gives is dropped, then asked again: no paging, so no order needed
            graphs = [g for g in (row["g"] for row in self._select(f"SELECT DISTINCT ?g WHERE {{ {where} }} LIMIT 2000"))
                      if not system_graph(g.value)]
            if not graphs:
                break
            for i in range(0, len(graphs), 200):  # a few hundred graphs a request
                self.line.update(" ;\n".join(f"DROP SILENT GRAPH {graph_text(g)}" for g in graphs[i:i + 200]))
        self.line.update(f"DROP SILENT GRAPH {graph_text(DEFAULT_NODE)}")

    def flush(self) -> None:
        """Each request is durable on the server once answered."""

    def optimize(self) -> None:
        """The server keeps its own indexes."""

    def backup(self, target: str | os.PathLike) -> None:
        """A copy of the quads in an embedded store at ``target`` (not one transaction: take it
        while nothing writes)."""
        copy = ox.Store(str(target))
        copy.bulk_extend(self)
        copy.flush()

    on_close = None  # called once at close (the test run's pool of servers counts open stores)

    def close(self) -> None:
        self.line.close()
        hook, self.on_close = self.on_close, None
        if hook is not None:
            hook()


_LINE = re.compile(r"\bline (\d+)")


def stream_nquads(store: RemoteStore, output: IO[bytes]) -> None:
    ox.serialize(store.quads_for_pattern(), output, ox.RdfFormat.N_QUADS)
