"""Entity documents for mirrors (``/documents``): what the store holds of each entity a page of
the change feed names, as stored (:mod:`metadatabronn.store.documents`), fetched in one request."""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..store import documents as docs
from .problems import Problem

router = APIRouter(tags=["Change feed"])

MAX_DOCUMENTS = 1000


def _documents(request: Request, ids: list) -> Response:
    base = request.app.state.base
    if len(ids) > MAX_DOCUMENTS:
        raise Problem(413, f"at most {MAX_DOCUMENTS} ids a request, not {len(ids)}", limit=MAX_DOCUMENTS)
    for iri in ids:
        if not isinstance(iri, str) or not iri.startswith(base + "/") or any(c in iri for c in ' <>"{}|\\^`\n'):
            raise Problem(400, f"{iri!r} is not an IRI of this well (its entities are under {base}/)")
    snapshot = request.app.state.snapshot  # one view for the documents and the sequence they state
    found = docs.documents(snapshot.store, list(dict.fromkeys(ids)))
    by_iri = {d.iri: d for d in found}
    # The change-log entry the view holds: a mirror given documents older than the page it read
    # (another server process, not yet refreshed) asks again.
    body = {"sequence": snapshot.sequence,
            "documents": [{"id": iri, "graph": by_iri[iri].graph, "nquads": by_iri[iri].nquads} for iri in ids]}
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    match = request.headers.get("if-none-match")
    if match is not None and request.method in ("GET", "HEAD"):
        if etag in {t.strip().removeprefix("W/") for t in match.split(",")}:
            return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


_DOC_RESPONSES = {200: {"description": '{"sequence", "documents": [{"id", "graph", "nquads"}]}: "sequence" is the '
                                       "last change-log entry of the view they were read from; \"graph\" is the record graph a "
                                       "manifestation's document is (null for other entities: their default-graph "
                                       "statements and the writer graphs their core links, with graph names); "
                                       '"nquads" empty when the well holds nothing of it'},
                  400: {"description": "an IRI outside this well"}, 413: {"description": "more than 1,000 ids"}}


@router.get("/documents", summary="Entity documents as stored, for mirrors (one or more ?id=IRI)",
            response_class=Response, responses=_DOC_RESPONSES)
def documents_get(request: Request, id: list[str] = Query(description="an entity IRI; repeat for several")):
    return _documents(request, id)


@router.post("/documents", summary='Entity documents as stored, for mirrors: {"ids": [IRI, …]} (at most 1,000)',
             response_class=Response, responses=_DOC_RESPONSES)
async def documents_post(request: Request):
    raw = await request.body()
    if len(raw) > MAX_DOCUMENTS * 2048:
        raise Problem(413, f"at most {MAX_DOCUMENTS} ids a request", limit=MAX_DOCUMENTS)
    try:
        asked = json.loads(raw)
    except ValueError:
        raise Problem(400, 'the body must be JSON: {"ids": [IRI, …]}') from None
    ids = asked.get("ids") if isinstance(asked, dict) else None
    if not isinstance(ids, list):
        raise Problem(400, 'the body must be JSON: {"ids": [IRI, …]}')
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_documents, request, ids)
