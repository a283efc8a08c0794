"""SPARQL text for a server, and pyoxigraph terms from its answers.

pyoxigraph's default graph is a graph of its own; a SPARQL server's (Virtuoso's) is the union of
every graph. The well keeps its default graph in the named graph :data:`DEFAULT_GRAPH`, and maps
it both ways here: a pattern on ``ox.DefaultGraph()`` reads that graph, and its quads come back
in ``ox.DefaultGraph()``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Iterator

import pyoxigraph as ox

from ..errors import StoreError
from .sparql import skeleton

DEFAULT_GRAPH = "https://w3id.org/metadatabronn/ns#defaultGraph"
DEFAULT_NODE = ox.NamedNode(DEFAULT_GRAPH)

# Virtuoso names a blank node ``nodeID://b1234`` (an IRI-like form it also accepts back in
# query text as ``<nodeID://b1234>``); pyoxigraph's blank node ids cannot hold ``:`` or ``/``.
_NODE_ID = "nodeID://"


def term(t) -> str:
    """A term as SPARQL text. A literal typed ``xsd:string`` is written plain (pyoxigraph's own
    text does so): Virtuoso keeps ``"a"^^xsd:string`` and ``"a"`` apart, RDF 1.1 does not."""
    if isinstance(t, ox.BlankNode):
        return f"<{_NODE_ID}{t.value}>"
    return str(t)


def graph_text(g) -> str:
    if g is None:
        return "?g"
    if isinstance(g, ox.DefaultGraph):
        return f"<{DEFAULT_GRAPH}>"
    return term(g)


def graph_back(g) -> ox.NamedNode | ox.DefaultGraph | ox.BlankNode:
    return ox.DefaultGraph() if g == DEFAULT_NODE else g


def parse_results(body: bytes):
    return ox.parse_query_results(fix_results(body), format=ox.QueryResultsFormat.XML)


_PLAIN = frozenset(("http://www.w3.org/2001/XMLSchema#string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"))
_NODE = ox.NamedNode("urn:x-canonical")


@lru_cache(maxsize=65_536)
def _canonical_literal(lit: ox.Literal) -> ox.Literal:
    # A new in-memory store each time (20 µs): one store kept, written and cleared for every
    # literal, grew slower with each use (150 µs at first, over 400 µs after 10,000 literals),
    # and a load of 250,000 records writes millions of them.
    held = ox.Store()
    held.add(ox.Quad(_NODE, _NODE, lit))
    return next(held.quads_for_pattern(_NODE, _NODE, None)).object


def canonical(quads: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
    """The quads as pyoxigraph stores them: a number, date or time literal in its canonical form
    (``"01"^^xsd:integer`` is 1, ``…00.120Z`` is ``…00.12Z``). Virtuoso keeps some forms as
    written and canonicalises others (integers) its own way: written canonical, both read alike."""
    for q in quads:
        o = q.object
        if isinstance(o, ox.Literal) and o.datatype.value not in _PLAIN:
            c = _canonical_literal(o)
            if c.value != o.value:
                q = ox.Quad(q.subject, q.predicate, c, q.graph_name)
        yield q


_TYPED = re.compile(rb'<literal datatype="(http://www\.w3\.org/2001/XMLSchema#(?!string")[A-Za-z]+)">([^<&]*)</literal>')


def _typed(m: re.Match) -> bytes:
    lit = _canonical_literal(ox.Literal(m.group(2).decode("utf-8"), datatype=ox.NamedNode(m.group(1).decode("ascii"))))
    return b'<literal datatype="' + m.group(1) + b'">' + lit.value.encode("utf-8") + b"</literal>"


def fix_results(body: bytes) -> bytes:
    """SPARQL XML results as pyoxigraph would give them: Virtuoso's blank node ids made ones it
    reads, and typed values (numbers, dates, times) in pyoxigraph's canonical form, as written
    (Virtuoso gives a time with three decimals: ``…00.120Z`` for ``…00.12Z``)."""
    if b"nodeID://" in body:
        body = body.replace(b"<bnode>nodeID://", b"<bnode>")
    if b'datatype="http://www.w3.org/2001/XMLSchema#' in body:
        body = _TYPED.sub(_typed, body)
    return _EDGE_SPACE.sub(_keep_edges, body)


# A literal whose text begins or ends with white space: pyoxigraph's XML results parser trims
# such space when it is written as is (Virtuoso writes it so), and keeps it when written as a
# character reference. A MARC value's trailing space is a value's own.
_EDGE_SPACE = re.compile(rb"(<literal[^>]*>)([ \t\r\n][^<]*|[^<]*[ \t\r\n])(</literal>)")
_REFS = {b" ": b"&#32;", b"\t": b"&#9;", b"\n": b"&#10;", b"\r": b"&#13;"}


def _keep_edges(m: re.Match) -> bytes:
    text = m.group(2)
    core = text.strip(b" \t\r\n")
    start = text.index(core) if core else len(text)
    lead, tail = text[:start], text[start + len(core):]
    return (m.group(1) + b"".join(_REFS[bytes([c])] for c in lead) + core
            + b"".join(_REFS[bytes([c])] for c in tail) + m.group(3))


def has_blank(q: ox.Quad) -> bool:
    return isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)


def _quad_line(q: ox.Quad) -> str:
    return f"{term(q.subject)} {term(q.predicate)} {term(q.object)} ."


def data_blocks(quads: Iterable[ox.Quad], max_bytes: int, max_quads: int) -> Iterator[tuple[str, bool]]:
    """``GRAPH <g> { … }`` blocks of at most about ``max_bytes`` and ``max_quads`` each, for an
    ``INSERT DATA``/``DELETE DATA``: one server request each (Virtuoso refuses a very large one).
    Each with whether it holds a blank node (Virtuoso refuses those in ``… DATA``)."""
    graphs: dict[str, list[str]] = {}
    size = count = 0
    blank = False
    for q in quads:
        line = _quad_line(q)
        graphs.setdefault(graph_text(q.graph_name), []).append(line)
        size += len(line) + 1
        count += 1
        blank = blank or has_blank(q)
        if size >= max_bytes or count >= max_quads:
            yield _blocks(graphs), blank
            graphs, size, count, blank = {}, 0, 0, False
    if graphs:
        yield _blocks(graphs), blank


def _blocks(graphs: dict[str, list[str]]) -> str:
    return "\n".join(f"GRAPH {g} {{\n" + "\n".join(lines) + "\n}" for g, lines in graphs.items())


_FORM = re.compile(r"(?i)(?<![\w?$:\-])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:\-])")


def query_form(query: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first of them outside strings, IRIs and comments."""
    m = _FORM.search(skeleton(query)[0])
    return m.group(1).upper() if m else "SELECT"


def defines(exclude_default: list[str], exclude_named: list[str]) -> str:
    """Virtuoso's pragmas leaving graphs out of the union default graph and of ``GRAPH ?g``."""
    parts = [f"define input:default-graph-exclude <{g}>" for g in exclude_default]
    parts += [f"define input:named-graph-exclude <{g}>" for g in exclude_named]
    return "\n".join(parts) + ("\n" if parts else "")


def pattern_query(s, p, o, g, excluded: list[str]) -> tuple[str, list[str]]:
    """A SELECT of a quad pattern's unbound positions (``?s ?p ?o ?g``), and their names."""
    names = [n for n, t in (("s", s), ("p", p), ("o", o), ("g", g)) if t is None]
    triple = " ".join(term(t) if t is not None else f"?{n}" for n, t in (("s", s), ("p", p), ("o", o)))
    where = f"GRAPH {graph_text(g)} {{ {triple} }}"
    if g is None and excluded:
        where += " FILTER (?g NOT IN (" + ", ".join(f"<{x}>" for x in excluded) + "))"
    if not names:
        return f"ASK WHERE {{ {where} }}", names
    return f"SELECT {' '.join('?' + n for n in names)} WHERE {{ {where} }}", names


# updates and the default graph -----------------------------------------------------------------

_SKIP = re.compile(r'''"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'|"(?:[^"\\\n]|\\.)*"|'''
                   r"""'(?:[^'\\\n]|\\.)*'|<[^<>"{}|^`\\\x00-\x20]*>|\#[^\n]*""")
_PROLOGUE = re.compile(r"(?i)\s*(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s+<[^>]*>)")
_GRAPH_BLOCK = re.compile(r"(?i)GRAPH\s+(?:<>|[?$]\w+|[\w\-.]*:[\w\-.]*)\s*\{[^{}]*\}")
_EMPTY = re.compile(r"\{\s*\}")


def operations(update: str) -> list[str]:
    """The operations of an update, split at the ``;`` between them (not in strings, IRIs,
    comments or braces), each with the PREFIX and BASE declarations before it."""
    ops, depth, start, i = [], 0, 0, 0
    while i < len(update):
        m = _SKIP.match(update, i)
        if m and m.end() > i:
            i = m.end()
            continue
        c = update[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            ops.append(update[start:i])
            start = i + 1
        i += 1
    ops.append(update[start:])
    ops = [op for op in ops if op.strip()]
    prologue = ""
    out = []
    for op in ops:
        out.append(prologue + op)
        at = 0
        while (m := _PROLOGUE.match(op, at)):
            prologue += m.group(0).strip() + "\n"
            at = m.end()
    return out


def uses_default_graph(operation: str) -> bool:
    """Whether an operation reads or writes triples outside every ``GRAPH`` block (the default
    graph), or clears it: what takes ``default-graph-uri``. Virtuoso aims a ``DELETE`` of a
    ``GRAPH <g>`` at no graph when that parameter is given, so the others go without it."""
    text = skeleton(operation)[0]
    if re.search(r"(?i)\b(?:CLEAR|DROP)\s+(?:SILENT\s+)?(?:DEFAULT|ALL)\b", text):
        return True
    text = _PROLOGUE.sub(" ", text)
    while True:
        reduced = _EMPTY.sub("", _GRAPH_BLOCK.sub("", text))
        if reduced == text:
            break
        text = reduced
    inner = re.findall(r"\{([^{}]*)\}", text)
    return any(re.search(r"[^\s.;,]", part) and not re.fullmatch(r"(?is)\s*FILTER.*", part) for part in inner)


_GRAPH_CONSTANT = re.compile(r"(?i)GRAPH\s+(<[^<>\"{}|^`\\\x00-\x20]*>|[A-Za-z][\w\-.]*:[\w\-.]*|:[\w\-.]*)\s*\{")


def _word_starts(query: str, i: int) -> bool:
    """Whether a keyword may begin at ``i``: not inside a name, variable or prefixed name."""
    return i == 0 or not (query[i - 1].isalnum() or query[i - 1] in "_?$:")


def graph_constants_to_filters(query: str) -> str:
    """``GRAPH <g> { P }`` written ``{ GRAPH ?mb_gN { P } FILTER (?mb_gN = <g>) }``: Virtuoso
    matches no named graph given by its IRI once a query's dataset is declared (the default
    graph as ``default-graph-uri``, or graphs left out of it), a graph variable it matches."""
    out, i, n, stack = [], 0, 0, []  # stack: per open brace, the filter to add when it closes
    while i < len(query):
        m = _SKIP.match(query, i)
        if m and m.end() > i:
            out.append(m.group(0))
            i = m.end()
            continue
        g = _GRAPH_CONSTANT.match(query, i)
        if g and _word_starts(query, i):
            n += 1
            out.append(f"{{ GRAPH ?mb_g{n} {{")
            stack.append(f" }} FILTER (?mb_g{n} = {g.group(1)}) }}")
            i = g.end()
            continue
        c = query[i]
        if c == "{":
            stack.append("}")
            out.append(c)
        elif c == "}":
            out.append(stack.pop() if stack else c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


_GRAPH_VARIABLE = re.compile(r"(?i)(?<![\w?$:])GRAPH\s+[?$]\w+")


def graph_variable_only(operation: str) -> bool:
    """Whether an operation names graphs by variables only (``GRAPH ?g``), none by IRI: one that
    Virtuoso's exclusion of graphs from ``GRAPH ?g`` leaves working (it breaks ``GRAPH <g>``)."""
    text = skeleton(operation)[0]
    return _GRAPH_VARIABLE.search(text) is not None and _GRAPH_CONSTANT.search(text) is None


_DATASET_CLAUSE = re.compile(r"(?i)FROM\s+(?:NAMED\s+)?(?:<[^<>\s]*>|[A-Za-z][\w\-.]*:[\w\-.]*|:[\w\-.]*)")


def without_dataset(query: str) -> str:
    """The query without its ``FROM``/``FROM NAMED`` clauses (read before its first ``{``, past
    strings, IRIs and comments). The protocol's ``default-graph-uri``/``named-graph-uri``
    replace a query's own dataset (SPARQL 1.1 Protocol 2.1.4); Virtuoso adds the two together.

    >>> without_dataset("SELECT * FROM <http://a/g> FROM NAMED ex:h WHERE { ?s ?p '{FROM <x>}' }")
    "SELECT *     WHERE { ?s ?p '{FROM <x>}' }"
    """
    out, i = [], 0
    while i < len(query):
        if query[i] == "{":
            out.append(query[i:])
            break
        m = _SKIP.match(query, i)
        if m and m.end() > i:
            out.append(m.group(0))
            i = m.end()
            continue
        m = _DATASET_CLAUSE.match(query, i)
        if m and _word_starts(query, i):
            out.append(" ")
            i = m.end()
            continue
        out.append(query[i])
        i += 1
    return "".join(out)


# Operations the store on a server sends as pyoxigraph means them (RemoteStore._implicit_graphs).
_PROLOGUE_GROUP = r"(\s*(?:(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s+<[^>]*>)\s*)*)"
# DROP/CLEAR DEFAULT, SILENT or not: (prologue, verb).
DROP_DEFAULT = re.compile(r"(?is)^" + _PROLOGUE_GROUP + r"(DROP|CLEAR)\s+(?:SILENT\s+)?DEFAULT\s*$")
# DROP/CLEAR ALL or NAMED: (prologue, verb, which). Virtuoso's own would take its system graphs
# too, and refuses graphs not made by CREATE GRAPH.
DROP_ALL = re.compile(r"(?is)^" + _PROLOGUE_GROUP + r"(DROP|CLEAR)\s+(?:SILENT\s+)?(ALL|NAMED)\s*$")
# A whole operation that drops or clears one named graph, without SILENT: (prologue, verb, IRI).
DROP_GRAPH = re.compile(r"(?is)^" + _PROLOGUE_GROUP + r"(DROP|CLEAR)\s+GRAPH\s+<([^<>\s]*)>\s*$")


def syntax_position(query: str) -> str:
    """Where SPARQL 1.1's grammar stops reading a query the server refused, as pyoxigraph says it
    ("; error at 1:25: …"), or "" if pyoxigraph reads it (the server's own dialect refused
    it). Virtuoso names a line only. The query is parsed, never run: pyoxigraph evaluates lazily."""
    try:
        ox.Store().query(query)
    except SyntaxError as exc:
        return "; " + " ".join(str(exc).split())
    except Exception:  # noqa: BLE001 - only the parser's verdict is wanted
        return ""
    return ""


_LIMIT = re.compile(r"(?i)\bLIMIT\s+(\d+)")


def whole_answer(query: str, cap: int | None) -> None:
    """An answer the server cut at its cap on rows is refused, unless the query asked for no more
    than that (its last LIMIT, the outermost): pyoxigraph would have given every row."""
    if cap is None:
        return
    limits = _LIMIT.findall(skeleton(query)[0])
    if limits and int(limits[-1]) <= cap:
        return
    raise StoreError(f"the SPARQL server gives at most {cap:,} rows an answer (Virtuoso: ResultSetMaxRows) and this "
                     f"query's answer has more: page it with LIMIT and OFFSET (at most {cap:,} a page, with ORDER BY), "
                     "or raise the server's cap")
