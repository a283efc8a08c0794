"""Record graphs that dereference: GET /record/{id}, the named graph one MARC record was loaded
into (its provenance and the statements it makes), with ETag, Last-Modified and 304."""

from __future__ import annotations

import hashlib
import json
from email.utils import format_datetime
from functools import lru_cache
from itertools import groupby

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..mapping import terms as T
from ..store import Store, serialise_triples
from . import jsonld
from .entities import _STATES, DELETED, PREFIXES, TOMBSTONE, _format, _parse_time, _send
from .negotiate import GRAPH_TYPES
from .problems import Problem
from .sparql import is_iri

router = APIRouter(tags=["Entities"])

_RECORD_PREFIXES = {**PREFIXES, "dcterms": "http://purl.org/dc/terms/", "prov": "http://www.w3.org/ns/prov#",
                    "xsd": "http://www.w3.org/2001/XMLSchema#"}


def _graph_triples(store: Store, graph: str) -> list[tuple]:
    """The statements of one named graph, as ``(subject, predicate, object, is_literal, language,
    datatype)`` in a stable order, the graph's own (its provenance) first."""
    body, _ = store.run_query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", results="json", default_graphs=[graph])

    def term(b: dict) -> tuple[str, bool, str | None, str | None]:
        if b["type"] == "bnode":
            return "_:" + b["value"], False, None, None
        if b["type"] == "uri":
            return b["value"], False, None, None
        return b["value"], True, b.get("xml:lang"), b.get("datatype")

    triples = set()
    for row in json.loads(body)["results"]["bindings"]:
        s, p, o = term(row["s"])[0], row["p"]["value"], term(row["o"])
        triples.add((s, p, *o))
    return sorted(triples, key=lambda t: (t[0] != graph, t[0], t[1], t[2], t[4] or "", t[5] or ""))


@lru_cache(maxsize=2_000)
def _render_record(app_key: int, graph: str, fmt: str, base_url: str) -> tuple[bytes, str, str, str]:
    """(body, media type, ETag, Last-Modified) of a record graph, as ``_render`` is of an entity."""
    state = _STATES[app_key]
    triples = _graph_triples(state.store, graph)
    if not triples:
        raise Problem(404, f"no record {graph} in the well")
    if any(p == T.RDF_TYPE and o == TOMBSTONE for _, p, o, _, _, _ in triples):
        deleted = next((o for _, p, o, _, _, _ in triples if p == DELETED), None)
        raise Problem(410, f"{graph} is the record of a deleted manifestation", deleted=deleted)
    if fmt == "jsonld":
        doc = {"@context": f"{base_url}context.jsonld",
               "@graph": [jsonld.node(s, list(group)) for s, group in groupby(triples, key=lambda t: t[0])]}
        body = jsonld.text(doc)
    else:
        body = serialise_triples(triples, fmt, _RECORD_PREFIXES)
    etag = 'W/"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    stamp = state.store.generated(graph)
    modified = _parse_time(stamp) if stamp else state.started
    return body, GRAPH_TYPES[fmt], etag, format_datetime(modified, usegmt=True)


@router.get("/record/{id}", summary="A source record's graph: its provenance and statements",
            description="The named graph `{base}/record/{id}` that one MARC record was loaded into: "
                        "`mb:describes`, `dcterms:source`, `prov:generatedAtTime`, `mb:sourceHash`, "
                        "`mb:carriedMarc`, … and the statements the record makes. By Accept or `format`: "
                        "`turtle` (default), `jsonld`, `ntriples`, `rdfxml`.",
            responses={200: {"content": {t.split(";")[0]: {} for t in GRAPH_TYPES.values()}},
                       304: {"description": "not modified"}, 404: {"description": "no such record"},
                       406: {"description": "a format records do not come in"},
                       410: {"description": "the record of a deleted manifestation"}},
            response_class=Response)
async def record(request: Request, id: str,
                 format: str | None = Query(default=None, description="turtle, jsonld, ntriples, rdfxml; "
                                                                       "else the Accept header decides")):
    state = request.app.state
    graph = f"{state.base}/record/{id}"
    fmt = _format(request, format, GRAPH_TYPES, "records")
    if not is_iri(graph):
        raise Problem(404, f"no record {graph} in the well")
    return _send(request, _render_record(state.key, graph, fmt, str(request.base_url)))
