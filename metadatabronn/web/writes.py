"""Writes over HTTP: entities created, replaced, patched, deleted and merged; MARC files submitted.

Every write needs a credential with the scope its kind asks for (:mod:`.auth`) and, on an
existing entity, ``If-Match`` with the ETag the writer read (428 without, 412 when stale). The
body is JSON-LD (against the well's contexts, given inline or by their URL) or Turtle; the
entity it gives is checked against the application profile (422 with the SHACL results, nothing
written). The writes themselves are made by the one writer process (:mod:`..pipeline.writer`).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import EditRefused, StoreError
from ..pipeline.editing import Edited, mint
from ..pipeline.writer import WriteFailed
from ..store.editing import effective
from . import jsonld, jsontext
from .auth import authorised
from .bodies import statements_of
from .problems import Problem

log = logging.getLogger(__name__)
router = APIRouter(tags=["Writes"])

WRITABLE = ("work", "expression", "agent", "concept", "item", "manifestation")
CREATABLE = ("work", "expression", "agent", "concept", "item")
SCOPE = {"work": "write:work", "expression": "write:work", "item": "write:work", "manifestation": "write:work",
         "agent": "write:agent", "concept": "write:concept"}
DEFAULT_MAX_BODY = 1_000_000  # bytes of an entity write (METADATABRONN_MAX_WRITE_BYTES)
DEFAULT_MAX_RECORDS = 200_000_000  # bytes of a submitted MARC file (METADATABRONN_MAX_SUBMIT_BYTES)


def _writer(request: Request):
    writer = getattr(request.app.state, "writer", None)
    if writer is None:
        raise Problem(405, "this server is read-only: it was started without an OpenID Connect issuer or API keys",
                      headers={"Allow": "GET, HEAD, OPTIONS"})
    return writer


def _limit(name: str, default: int) -> int:
    try:
        return int(os.environ.get(f"METADATABRONN_{name}", default))
    except ValueError:
        return default


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"the body is {int(declared):,} bytes; writes take at most {limit:,}", title="Body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body is over {limit:,} bytes, the most a write takes", title="Body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _call(request: Request, op: str, **kw):
    try:
        return await _writer(request).call_async(op, **kw)
    except EditRefused as exc:
        extra = {}
        if exc.report is not None:
            extra["report" if exc.status == 422 else "current"] = exc.report
        raise Problem(exc.status, str(exc), **extra) from None
    except WriteFailed as exc:  # the writer answered: trying again will not help
        log.error("a write failed: %s", exc)
        raise Problem(500, f"the write could not be made: {exc}") from None
    except StoreError as exc:  # the writer cannot be reached
        log.error("a write failed: %s", exc)
        raise Problem(503, f"the write could not be made: {exc}", headers={"Retry-After": "5"}) from None


def _note(request: Request, **entries) -> None:
    """What the audit log records of this request, beside who and the status (refusals too)."""
    state = request.scope.setdefault("state", {})
    audit = state.get("audit")
    if not isinstance(audit, dict):
        audit = state["audit"] = {}
    audit.update(entries)


def _hosts(request: Request) -> set[str]:
    """The hosts a body's IRIs may name the well by: the one asked (as the request's URL has
    it; read from the Host header, without making the whole URL) and the base's."""
    host = request.headers.get("host") or request.url.netloc
    return {host, _netloc(request.app.state.base)}


@lru_cache(maxsize=8)
def _netloc(base: str) -> str:
    return urlsplit(base).netloc


def _done(request: Request, edited: Edited, status: int = 200, **extra) -> Response:
    _note(request, entity=edited.iri, changed=edited.changed, sequence=edited.sequence)
    headers = {"ETag": f'"{edited.tag}"'}
    if status == 201:
        headers["Location"] = edited.iri
    body = {"id": edited.iri, "changed": edited.changed, "sequence": edited.sequence, **extra}
    if edited.detail:
        body["detail"] = edited.detail
    return Response(jsontext.dumps(body), status_code=status, headers=headers, media_type="application/json")


def _iri(request: Request, kind: str, id_: str) -> str:
    return f"{request.app.state.base}/{kind}/{id_}"


def _kind(kind: str, allowed: tuple[str, ...], method: str) -> None:
    if kind not in allowed:
        raise Problem(405, f"{method} is not taken at /{kind}/…: writes are to {', '.join(allowed)}",
                      headers={"Allow": "GET, HEAD, OPTIONS"})


# A body up to this size is parsed on the event loop (an entity's JSON-LD of a few KB takes a
# fraction of a millisecond, less than handing it to a thread); a larger one in a worker thread,
# so that it does not hold up the requests beside it.
PARSED_IN_LOOP = 32_768


async def _parsed_call(request: Request, op: str, body: bytes, media: str | None, base_iri: str, hosts: set[str],
                       **kw):
    """Parse the body and send the write."""
    if len(body) <= PARSED_IN_LOOP:
        statements = statements_of(body, media, base_iri, hosts)
    else:
        statements = await run_in_threadpool(statements_of, body, media, base_iri, hosts)
    return await _call(request, op, statements=statements, **kw)


def _create_route(kind: str):
    async def create(request: Request):
        iri = mint(request.app.state.base, kind)
        _note(request, entity=iri)
        principal = await authorised(request, SCOPE[kind])
        _writer(request)
        body = await _read_body(request, _limit("MAX_WRITE_BYTES", DEFAULT_MAX_BODY))
        edited = await _parsed_call(request, "create", body, request.headers.get("content-type"), iri,
                                    _hosts(request), kind=kind, org=principal.org, user=principal.user, iri=iri)
        return _done(request, edited, 201)

    create.__name__ = f"create_{kind}"
    router.add_api_route(f"/{kind}s", create, methods=["POST"], status_code=201,
                         summary=f"Create a {kind}: the server mints its IRI (Location)")


for _creatable in CREATABLE:
    _create_route(_creatable)


async def put(request: Request, kind: str, id: str):
    iri = _iri(request, kind, id)
    _note(request, entity=iri)
    principal = await authorised(request, SCOPE[kind])
    _writer(request)
    body = await _read_body(request, _limit("MAX_WRITE_BYTES", DEFAULT_MAX_BODY))
    edited = await _parsed_call(request, "put", body, request.headers.get("content-type"), iri, _hosts(request),
                                kind=kind, iri=iri, org=principal.org, user=principal.user,
                                if_match=request.headers.get("if-match"))
    return _done(request, edited)


async def patch(request: Request, kind: str, id: str):
    iri = _iri(request, kind, id)
    _note(request, entity=iri)
    principal = await authorised(request, SCOPE[kind])
    _writer(request)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media != "application/merge-patch+json":
        raise Problem(415, f"PATCH takes a JSON Merge Patch (application/merge-patch+json), not {media!r}")
    body = await _read_body(request, _limit("MAX_WRITE_BYTES", DEFAULT_MAX_BODY))
    try:
        patch_doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, f"the patch is not JSON: {exc}", line=getattr(exc, "lineno", None),
                      column=getattr(exc, "colno", None)) from None
    rows, stamps = await _call(request, "about", iri=iri)
    if not rows:
        raise Problem(404, f"no {kind} {iri} in the well")

    base = request.app.state.base
    current = jsonld.node(iri, [(iri, *r[1:]) for r in effective(rows, stamps, base)])
    patched = merge_patch(current, patch_doc)
    if not isinstance(patched, dict) or patched.get("@id", iri) != iri:
        raise Problem(422, f"a patch of {iri} cannot change its @id")
    patched["@context"] = "/context.jsonld"  # the well's own: inlined, cut to the terms the patch uses
    edited = await _parsed_call(request, "put", json.dumps(patched).encode("utf-8"), "application/ld+json", iri,
                                set(), kind=kind, iri=iri, org=principal.org, user=principal.user,
                                if_match=request.headers.get("if-match"))
    return _done(request, edited)


async def delete(request: Request, kind: str, id: str):
    if kind == "manifestation":
        raise Problem(405, "a manifestation is deleted by loading its record as deleted (Leader/05 d)",
                      headers={"Allow": "GET, HEAD, OPTIONS, PUT, PATCH"})
    iri = _iri(request, kind, id)
    _note(request, entity=iri)
    await authorised(request, SCOPE[kind])
    _writer(request)
    edited = await _call(request, "delete", kind=kind, iri=iri, if_match=request.headers.get("if-match"))
    _note(request, entity=edited.iri, changed=True, sequence=edited.sequence)
    return Response(status_code=204)


def _entity_writes(kind: str):
    """PUT, PATCH and DELETE of an entity of ``kind``: a route each (an operation id each in the
    API's description), next to the kind's GET (``app`` puts them first)."""
    async def put_(request: Request, id: str):
        return await put(request, kind, id)

    async def patch_(request: Request, id: str):
        return await patch(request, kind, id)

    async def delete_(request: Request, id: str):
        return await delete(request, kind, id)

    for method, endpoint, summary in (
            ("PUT", put_, f"Replace what your organisation says about a {kind} (If-Match required)"),
            ("PATCH", patch_, f"A JSON Merge Patch of a {kind}'s JSON-LD (If-Match required)"),
            ("DELETE", delete_, f"Delete a {kind}: a tombstone, 410 after (If-Match required)")):
        endpoint.__name__ = f"{method.lower()}_{kind}"
        router.add_api_route(f"/{kind}/{{id}}", endpoint, methods=[method], summary=summary)


for _writable in WRITABLE:
    _entity_writes(_writable)

MERGEABLE = ("work", "expression", "agent", "concept")


@router.post("/{kind}/{id}/merge", summary="Merge this entity into another (the survivor); If-Match of this one")
async def merge(request: Request, kind: str, id: str, into: str | None = None):
    _kind(kind, MERGEABLE, "a merge")
    _note(request, entity=_iri(request, kind, id))
    await authorised(request, "merge")
    _writer(request)
    if into is None:
        body = await _read_body(request, 10_000)
        try:
            into = (json.loads(body) or {}).get("into") if body.strip() else None
        except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
            raise Problem(400, 'a merge names its survivor: {"into": IRI} or ?into=IRI') from None
    if not into:
        raise Problem(400, 'a merge names its survivor: {"into": IRI} or ?into=IRI')
    base = request.app.state.base
    if not into.startswith(base + "/"):
        raise Problem(422, f"{into} is not an IRI of this well (its base is {base})")
    edited = await _call(request, "merge", kind=kind, iri=_iri(request, kind, id), into=into,
                         if_match=request.headers.get("if-match"))
    response = _done(request, edited, into=into, records=edited.extra.get("records"))
    response.headers["Location"] = into
    return response


@router.post("/records", summary="Submit MARC 21 records (any supported format) to be loaded")
async def submit(request: Request, name: str | None = None):
    """The file is loaded as ``metadatabronn ingest`` loads it; the answer is its summary."""
    await authorised(request, "ingest")
    writer = _writer(request)
    limit = _limit("MAX_SUBMIT_BYTES", DEFAULT_MAX_RECORDS)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"the file is {int(declared):,} bytes; at most {limit:,} are taken", title="Body too large")
    fd, path = tempfile.mkstemp(prefix="submitted-")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Problem(413, f"the file is over {limit:,} bytes", title="Body too large")
                out.write(chunk)
        if not size:
            raise Problem(400, "the body is empty: send the MARC file as it is")
        label = Path(name or "submitted.mrc").name or "submitted.mrc"
        try:
            result = await run_in_threadpool(writer.call, "ingest", path=path, name=label)
        except StoreError as exc:
            raise Problem(503, f"the file could not be loaded: {exc}", headers={"Retry-After": "5"}) from None
    finally:
        if os.path.exists(path):
            os.unlink(path)
    _note(request, file=label, bytes=size, exit=result["exit"])
    well = getattr(request.app.state, "well", None)
    if well is not None:  # what the file brought is served by this process from its answer on
        await run_in_threadpool(_fresh_view, well, request.app)
    status = 200 if result["exit"] == 0 else 422
    return JSONResponse({"file": label, "bytes": size, **result}, status_code=status)


def _fresh_view(well, app, tries: int = 5) -> None:
    """Open a fresh view of the store now. The writer's store may be merging files as a view
    opens (a file listed, then gone): tried again, and left to the refresh thread after that."""
    for _ in range(tries):
        well.lost_files()
        try:
            well.refresh_if_changed(app)
            return
        except Exception as exc:  # noqa: BLE001 - RocksDB says so as a RuntimeError
            last = exc
    log.warning("could not open a fresh view after a submitted file: %s", last)


def merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out
