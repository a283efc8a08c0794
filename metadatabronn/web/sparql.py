"""The SPARQL 1.1 Protocol at /sparql: queries by GET, POST form and POST sparql-query; results
in JSON, XML, CSV, TSV; graphs in Turtle, N-Triples, JSON-LD, RDF/XML; updates refused."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..errors import QuerySyntaxError, QueryTimeout, ResultTooLarge, StoreError
from ..store import convert_rdf
from .negotiate import GRAPH_TYPES, RESULT_TYPES, accepted, choose
from .problems import Problem
from .queries import Busy

router = APIRouter(tags=["SPARQL"])

_UPDATE = re.compile(
    r"^(?:\s|#[^\n]*\n|(?:PREFIX\s+[\w.-]*:\s*<[^>]*>)|(?:BASE\s+<[^>]*>))*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)
_POSITION = re.compile(r"error at (\d+):(\d+)")

_DOC = ("SPARQL 1.1 query over the union of all graphs (or the dataset that `default-graph-uri` and "
        "`named-graph-uri` name). SELECT/ASK results follow Accept or `format` (json, xml, csv, tsv); "
        "CONSTRUCT/DESCRIBE graphs too (turtle, ntriples, jsonld, rdfxml). Without a query: the "
        "service description. Updates are refused.")
_RESPONSES = {
    200: {"description": "results or a graph", "content": {t.split(";")[0]: {} for t in
                                                          (*RESULT_TYPES.values(), *GRAPH_TYPES.values())}},
    400: {"description": "the query does not parse (problem details with `line` and `column`)"},
    403: {"description": "an update"}, 413: {"description": "the result is over the size limit"},
    503: {"description": "every query worker is busy"}, 504: {"description": "the query ran out of time"},
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
    accept = request.headers.get("accept")
    results = choose(fmt, accept, RESULT_TYPES, "json")
    graph = choose(fmt, accept, GRAPH_TYPES, "turtle")
    if results is None and graph is None:
        raise Problem(406, f"unknown format {fmt!r}: results come as json, xml, csv or tsv, graphs as "
                           "turtle, ntriples, jsonld or rdfxml")
    workers = request.app.state.queries
    try:
        body, kind = await anyio.to_thread.run_sync(
            lambda: workers.run(query, results=results or "json", graph=graph or "turtle",
                                default_graphs=defaults or None, named_graphs=named or None))
    except QuerySyntaxError as exc:
        where = _POSITION.search(str(exc))
        extra = {"line": int(where.group(1)), "column": int(where.group(2))} if where else {}
        raise Problem(400, str(exc), title="Query does not parse", **extra) from None
    except QueryTimeout as exc:
        raise Problem(504, str(exc), title="Query timed out") from None
    except ResultTooLarge as exc:
        raise Problem(413, str(exc)) from None
    except Busy as exc:
        raise Problem(503, str(exc), headers={"Retry-After": "5"}) from None
    except StoreError as exc:
        raise Problem(500, str(exc)) from None
    if kind == "graph":
        return Response(body, media_type=GRAPH_TYPES[graph or "turtle"], headers={"Vary": "Accept"})
    return Response(body, media_type=RESULT_TYPES[results or "json"], headers={"Vary": "Accept"})


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
