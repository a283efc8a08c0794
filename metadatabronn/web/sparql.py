"""The SPARQL 1.1 Protocol at /sparql: queries by GET, POST form and POST sparql-query; results
in JSON, XML, CSV, TSV; graphs in Turtle, N-Triples, JSON-LD, RDF/XML; updates refused."""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..errors import QuerySyntaxError, QueryTimeout, ResultTooLarge, StoreError
from ..store import convert_rdf, serialise_triples
from .negotiate import GRAPH_TYPES, RESULT_TYPES, accepted, choose
from .problems import Problem
from .queries import Busy

router = APIRouter(tags=["SPARQL"])

_UPDATE = re.compile(
    r"^(?:\s|#[^\n]*\n|(?:PREFIX\s+[\w.-]*:\s*<[^>]*>)|(?:BASE\s+<[^>]*>))*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)
_POSITION = re.compile(r"error at (\d+):(\d+)")

# What may hold the word SERVICE without being the keyword, after the terminals of the SPARQL
# 1.1 grammar: comments, strings, IRIs (with their \u escapes), variables, blank node labels and
# prefixed names. The parser reads "SERVICE:x { ... }" as SERVICE and the name :x, so a prefixed
# name whose prefix is "service" is left in sight (group "pn").
_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
         "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + r"\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_HIDDEN = re.compile("|".join((
    r"#[^\n\r]*",
    r'"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""',
    r"'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''",
    r'"(?:[^"\\\n\r]|\\.)*"',
    r"'(?:[^'\\\n\r]|\\.)*'",
    r'<(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>',
    rf"[?$][{_CHARS_U}0-9][{_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*",
    rf"_:[{_CHARS_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?",
    rf"(?P<pn>(?:[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?)?):"
    rf"(?:(?:[{_CHARS_U}:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?)?",
)))


def federated(query: str) -> bool:
    """Whether the query has a SERVICE clause, which would have the server fetch another URL.

    The word counts wherever it is not inside a comment, a string, an IRI, a variable, a blank
    node label or a prefixed name: ``ex:service``, ``?service``, ``"SERVICE"`` and
    ``<http://example.org/service>`` do not count; a prefix named ``service:`` does, since the
    parser may read it as the keyword.

    >>> federated("SELECT * WHERE { SERVICE <http://127.0.0.1:8123/sparql> { ?s ?p ?o } }")
    True
    >>> federated('SELECT ?service WHERE { ?service ex:service "SERVICE" } # SERVICE')
    False
    """
    def hide(m: re.Match) -> str:
        pn = m.group("pn")
        return m.group(0) if pn is not None and pn.lower() == "service" else " "

    return "service" in _HIDDEN.sub(hide, query).lower()


MAX_QUERY_BYTES = 1_000_000
MAX_NESTING = 100
_OPEN, _CLOSE, _PREFIX = frozenset("({["), frozenset(")}]"), frozenset("!^")


def too_complex(query: str) -> str | None:
    """Why the query is refused before it is parsed, or ``None``: over ``MAX_QUERY_BYTES``, or
    brackets (groups, expressions, blank node lists) and prefix operators (``!``, ``^``) nested
    more than ``MAX_NESTING`` deep.

    The query parser is recursive: a query nested thousands deep would overflow its stack and
    end the process that parses it. No query a person writes nests a hundred deep. Brackets in
    comments, strings and IRIs do not count.

    >>> too_complex("SELECT * WHERE { { ?s ?p ?o FILTER((?o > 1)) } }") is None
    True
    >>> too_complex("SELECT * WHERE " + "{" * 101 + "}" * 101)
    'the query nests brackets or operators 101 deep; at most 100 are taken'
    >>> too_complex("ASK { FILTER(" + "!" * 200 + "true) }")
    'the query nests brackets or operators 202 deep; at most 100 are taken'
    >>> too_complex('SELECT * WHERE { ?s ?p "((((" } # ((((') is None
    True
    """
    size = len(query.encode("utf-8", "surrogatepass"))
    if size > MAX_QUERY_BYTES:
        return f"the query is {size:,} bytes long; at most {MAX_QUERY_BYTES:,} are taken"
    depth = deepest = run = 0
    for ch in _HIDDEN.sub(" ", query):
        if ch in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if ch in _PREFIX:  # "!!!!x" or "^^^^p" nest as deeply as brackets do
            run += 1
            deepest = max(deepest, depth + run)
        elif not ch.isspace():
            run = 0
    if deepest > MAX_NESTING:
        return f"the query nests brackets or operators {deepest:,} deep; at most {MAX_NESTING} are taken"
    return None


def is_iri(value: str) -> bool:
    """Whether ``value`` is an absolute IRI the store takes: checked by the store's own writer, so
    the answer is the one a query would meet.

    >>> is_iri("http://example.org/record/1"), is_iri("not an iri"), is_iri("")
    (True, False, False)
    """
    try:
        serialise_triples([("urn:x", value, "urn:x", False, None, None)], "ntriples")
    except (ValueError, TypeError):
        return False
    return True

_DOC = ("SPARQL 1.1 query over the union of all graphs (or the dataset that `default-graph-uri` and "
        "`named-graph-uri` name). Federated queries (SERVICE) are refused. SELECT/ASK results follow Accept or `format` (json, xml, csv, tsv); "
        "CONSTRUCT/DESCRIBE graphs too (turtle, ntriples, jsonld, rdfxml). Without a query: the "
        "service description. Updates are refused.")
_RESPONSES = {
    200: {"description": "results or a graph", "content": {t.split(";")[0]: {} for t in
                                                          (*RESULT_TYPES.values(), *GRAPH_TYPES.values())}},
    400: {"description": "the query does not parse (problem details with `line` and `column`), has a "
                         "SERVICE clause, is over 1,000,000 bytes or nests brackets or `!`/`^` more than 100 deep, "
                         "or a graph parameter is not an IRI (problem details name it)"},
    403: {"description": "an update"}, 413: {"description": "the result is over the size limit"},
    503: {"description": "every query worker stayed busy while the query waited its turn (1 s by default): "
                         "try again after the `Retry-After` seconds"}, 504: {"description": "the query ran out of time"},
}


@router.get("/sparql", summary="SPARQL query (GET)", description=_DOC, responses=_RESPONSES)
async def sparql_get(request: Request, query: str | None = None,
                     default_graph_uri: list[str] = Query(default=[], alias="default-graph-uri"),
                     named_graph_uri: list[str] = Query(default=[], alias="named-graph-uri"),
                     format: str | None = None):
    if query is None:
        return _service_description(request, format)
    return await _answer(request, query, default_graph_uri, named_graph_uri, format)


@router.post("/sparql", summary="SPARQL query (POST)", description=_DOC, responses=_RESPONSES,
             openapi_extra={"requestBody": {"content": {
                 "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                     "query": {"type": "string"}, "default-graph-uri": {"type": "string"},
                     "named-graph-uri": {"type": "string"}}}},
                 "application/sparql-query": {"schema": {"type": "string"}}}}})
async def sparql_post(request: Request):
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = (await request.body()).decode("utf-8", "replace")
    params = {k: v for k, v in parse_qs(str(request.url.query)).items()}
    if media == "application/sparql-update":
        raise Problem(403, "this endpoint answers queries only; updates are refused")
    if media == "application/x-www-form-urlencoded":
        form = parse_qs(body, keep_blank_values=True)
        if "update" in form:
            raise Problem(403, "this endpoint answers queries only; updates are refused")
        queries = form.get("query", [])
        if len(queries) != 1:
            raise Problem(400, "give exactly one 'query' parameter")
        query = queries[0]
        defaults = form.get("default-graph-uri", []) + params.get("default-graph-uri", [])
        named = form.get("named-graph-uri", []) + params.get("named-graph-uri", [])
        fmt = (form.get("format") or params.get("format") or [None])[0]
    elif media == "application/sparql-query":
        query = body
        defaults, named = params.get("default-graph-uri", []), params.get("named-graph-uri", [])
        fmt = (params.get("format") or [None])[0]
    else:
        raise Problem(415, f"send the query as application/x-www-form-urlencoded or application/sparql-query, "
                           f"not {media or 'no content type'}")
    return await _answer(request, query, defaults, named, fmt)


async def _answer(request: Request, query: str, defaults: list[str], named: list[str], fmt: str | None):
    if _UPDATE.match(query):
        raise Problem(403, "this endpoint answers queries only; updates are refused")
    refused = too_complex(query)
    if refused:
        raise Problem(400, refused, title="Query too complex")
    if federated(query):
        raise Problem(400, "SERVICE is not allowed here: this endpoint does not run federated queries",
                      title="Federated query refused")
    for name, values in (("default-graph-uri", defaults), ("named-graph-uri", named)):
        for value in values:
            if not is_iri(value):
                raise Problem(400, f"{name} must be an absolute IRI, not {value!r}", parameter=name)
    accept = request.headers.get("accept")
    results = choose(fmt, accept, RESULT_TYPES, "json")
    graph = choose(fmt, accept, GRAPH_TYPES, "turtle")
    if results is None and graph is None:
        raise Problem(406, f"unknown format {fmt!r}: results come as json, xml, csv or tsv, graphs as "
                           "turtle, ntriples, jsonld or rdfxml")
    workers, admission = request.app.state.queries, request.app.state.admission
    try:
        await admission.acquire()
        try:
            if await _gone(request):  # the user stopped waiting: the worker goes to the next one
                return Response(status_code=499)
            body, kind = await anyio.to_thread.run_sync(
                lambda: workers.run(query, results=results or "json", graph=graph or "turtle",
                                    default_graphs=defaults or None, named_graphs=named or None))
        finally:
            admission.release()
    except QuerySyntaxError as exc:
        where = _POSITION.search(str(exc))
        extra = {"line": int(where.group(1)), "column": int(where.group(2))} if where else {}
        raise Problem(400, str(exc), title="Query does not parse", **extra) from None
    except QueryTimeout as exc:
        raise Problem(504, str(exc), title="Query timed out") from None
    except ResultTooLarge as exc:
        raise Problem(413, str(exc)) from None
    except Busy as exc:
        retry = max(1, math.ceil(admission.wait))
        raise Problem(503, str(exc), headers={"Retry-After": str(retry)}) from None
    except StoreError as exc:
        raise Problem(500, str(exc)) from None
    if kind == "graph":
        return Response(body, media_type=GRAPH_TYPES[graph or "turtle"], headers={"Vary": "Accept"})
    return Response(body, media_type=RESULT_TYPES[results or "json"], headers={"Vary": "Accept"})


async def _gone(request: Request) -> bool:
    """Whether the client has closed the connection (it gave up waiting): then its query is not
    run. Looks without waiting; the request body, if any, has been read."""
    for _ in range(2):  # the first message may be the (already read) request itself
        if await request.is_disconnected():
            return True
    return False


def _service_description(request: Request, fmt: str | None) -> Response:
    base = request.app.state.base
    endpoint = f"{str(request.base_url).rstrip('/')}/sparql"
    formats = " , ".join(f"<http://www.w3.org/ns/formats/{f}>" for f in (
        "SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
        "Turtle", "N-Triples", "JSON-LD", "RDF_XML"))
    text = f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
<{endpoint}#service> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    dcterms:title "metadatabronn SPARQL endpoint" ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:resultFormat {formats} ;
    sd:feature sd:UnionDefaultGraph ;
    sd:defaultEntailmentRegime <http://www.w3.org/ns/entailment/Simple> ;
    sd:defaultDataset <{base}/dataset> .
<{base}/dataset> a sd:Dataset ;
    dcterms:description "The default graph is the union of all graphs: entity cores and one graph per source record." ;
    sd:defaultGraph [ a sd:Graph ] .
"""
    graph = choose(fmt, request.headers.get("accept"), GRAPH_TYPES, "turtle")
    if graph is None or (not fmt and "html" in accepted(request.headers.get("accept"))[:1]):
        graph = "turtle"
    body = text.encode() if graph == "turtle" else convert_rdf(text, graph)
    return Response(body, media_type=GRAPH_TYPES[graph], headers={"Vary": "Accept"})
