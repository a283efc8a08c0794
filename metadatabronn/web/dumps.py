"""Dumps over HTTP: GET /dumps lists the dumps on disk, GET /dumps/{name} downloads one,
GET /dumps/latest?format= redirects to the newest of a format. And the JSON-LD line of one
entity that ``metadatabronn dump --format jsonld`` writes.

A dump is served as the gzip file it is (``application/gzip``), not as N-Quads with
``Content-Encoding: gzip``: a partner downloads a file to load, and with a content coding HTTP
clients would unpack it on the way (curl with --compressed, browsers, most libraries), which
defeats resuming by byte ranges of the file and makes its ``Content-Length`` the packed size of
something they never see. Starlette's FileResponse streams it in chunks with
``Content-Length``, ``ETag``, ``Last-Modified`` and byte ranges (206, 416, ``If-Range``).
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from ..pipeline.dump import FORMATS, is_dump_name, listing
from .jsonld import node
from .problems import Problem

router = APIRouter(tags=["Dumps"])


def entity_line(base: str):
    """One entity as a line of a JSON-LD dump: the compact form of the entity documents, with the
    context they use named by its URL under the base (not inlined on every line)."""
    context = f"{base}/context.jsonld"

    def line(iri: str, triples: list) -> bytes:
        doc = {"@context": context, **node(iri, triples)}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"

    return line


def _dumps_dir(request: Request) -> Path:
    return request.app.state.dumps


def _describe(request: Request, info) -> dict:
    return {"name": info.name, "format": info.format, "sequence": info.sequence, "time": info.time,
            "made": info.made, "bytes": info.size, "url": str(request.url_for("dump_file", name=info.name))}


@router.get("/dumps", summary="The dumps on disk, newest first")
def dumps(request: Request, format: str | None = Query(None, description="only dumps of this format: "
                                                       + ", ".join(FORMATS))):
    if format is not None and format not in FORMATS:
        raise Problem(400, f"unknown dump format {format!r}: choose one of {', '.join(FORMATS)}")
    found = listing(_dumps_dir(request), format)
    return JSONResponse({"dumps": [_describe(request, info) for info in found]},
                        headers={"Cache-Control": "no-cache"})


@router.get("/dumps/latest", summary="Redirect to the newest dump of a format")
def latest_dump(request: Request, format: str = Query("nquads", description=", ".join(FORMATS))):
    if format not in FORMATS:
        raise Problem(400, f"unknown dump format {format!r}: choose one of {', '.join(FORMATS)}")
    found = listing(_dumps_dir(request), format)
    if not found:
        raise Problem(404, f"no {format} dump has been made yet: `metadatabronn dump --format {format}` makes one")
    # 302, not 301: the newest dump changes.
    return RedirectResponse(str(request.url_for("dump_file", name=found[0].name)), status_code=302,
                            headers={"Cache-Control": "no-cache"})


@router.get("/dumps/{name}", name="dump_file", summary="Download a dump (gzip), resumable with Range",
            response_class=FileResponse)
def dump_file(request: Request, name: str):
    # Only a name a dump is written under: never a path, so nothing outside the directory.
    if not is_dump_name(name):
        raise Problem(404, f"no dump named {name!r}")
    path = _dumps_dir(request) / name
    if not path.is_file():
        raise Problem(404, f"no dump named {name!r}: it may have been replaced by a newer one (see /dumps)")
    # A dump made again at the same sequence replaces the file of that name: revalidate (ETag);
    # a download resumed with If-Range then starts over rather than mixing two files.
    return FileResponse(path, media_type="application/gzip", filename=name, headers={"Cache-Control": "no-cache"})
