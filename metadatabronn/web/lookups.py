"""The look-ups library systems need: manifestations by ISBN, works by title/creator/language,
and down the WEMI chain (a work's expressions, an expression's manifestations), paged with
``Link`` headers; deleted manifestations (tombstones) are left out."""

from __future__ import annotations

import json
from functools import lru_cache
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ..identity import normalise
from ..mapping import terms as T
from ..mapping.text import isbn13
from ..store import Store
from .entities import _STATES, TOMBSTONE, _label, _local
from .problems import Problem
from .sparql import is_iri

router = APIRouter()


def _page(request: Request, items: list[dict], limit: int, offset: int, more: bool) -> JSONResponse:
    def url(new_offset: int) -> str:
        params = dict(request.query_params)
        params.update(limit=str(limit), offset=str(new_offset))
        return f"{request.url.path}?{urlencode(params)}"

    links = [f'<{url(0)}>; rel="first"']
    if offset > 0:
        links.append(f'<{url(max(0, offset - limit))}>; rel="prev"')
    if more:
        links.append(f'<{url(offset + limit)}>; rel="next"')
    body = {"items": items, "limit": limit, "offset": offset, "next": url(offset + limit) if more else None}
    return JSONResponse(body, headers={"Link": ", ".join(links)})


def _item(store: Store, base: str, iri: str) -> dict:
    return {"iri": iri, "path": _local(iri, base), "label": _label(store, iri)}


def _deleted(store: Store, iri: str) -> bool:
    """Whether ``iri`` is a tombstone: what is left of a deleted record's manifestation."""
    return TOMBSTONE in store.values(iri, T.RDF_TYPE)


_LIMIT = Query(default=20, ge=1, le=200, description="items per page")
MAX_OFFSET = 1_000_000
_OFFSET = Query(default=0, ge=0, description=f"items to skip (at most {MAX_OFFSET:,}: narrow the search to go further)")


def _within(offset: int) -> int:
    """The offset, if it is one the store can page to; past ``MAX_OFFSET`` a 400."""
    if offset > MAX_OFFSET:
        raise Problem(400, f"offset must be at most {MAX_OFFSET:,}, not {offset}: narrow the search instead",
                      parameter="offset")
    return offset


@router.get("/manifestations", tags=["Look-ups"], summary="Manifestations by ISBN (any form: 10 or 13 digits, "
            "with or without hyphens)")
async def manifestations(request: Request, isbn: str = Query(min_length=1), limit: int = _LIMIT,
                         offset: int = _OFFSET):
    _within(offset)
    state = request.app.state
    found = _by_isbn(state.key, isbn.strip())
    items = [_item(state.store, state.base, m) for m in found[offset:offset + limit]]
    return _page(request, items, limit, offset, len(found) > offset + limit)


@lru_cache(maxsize=50_000)
def _by_isbn(app_key: int, isbn: str) -> list[str]:
    store = _STATES[app_key].store
    norm = isbn13(isbn.replace("-", "").replace(" ", ""))
    if norm is None:
        raise Problem(400, f"{isbn!r} is not a valid ISBN-10 or ISBN-13 (check digit or length)")
    found = store.subjects_with(T.M_IDENTIFIER, f"urn:isbn:{norm}")
    found += [m for m in store.subjects_with(T.M_IDENTIFIER, isbn) if m not in found]
    return [m for m in found if "/manifestation/" in m and not _deleted(store, m)]


@router.get("/works", tags=["Look-ups"], summary="Works by title and/or creator (words in either order of "
            "case, accents and punctuation), optionally with an expression in a language")
async def works(request: Request, title: str | None = None, creator: str | None = None,
                language: str | None = Query(default=None, description="ISO 639-2 code, e.g. nor, eng"),
                limit: int = _LIMIT, offset: int = _OFFSET):
    if not (title or creator):
        raise Problem(400, "give title, creator or both")
    _within(offset)
    state = request.app.state
    filters = ['FILTER(STRSTARTS(?key, "work|"))']
    if creator:
        filters.append(f'FILTER(CONTAINS(STRBEFORE(STRAFTER(?key, "|"), "|"), {json.dumps(normalise(creator))}))')
    if title:
        filters.append(f'FILTER(CONTAINS(STRAFTER(STRAFTER(?key, "|"), "|"), {json.dumps(normalise(title))}))')
    lang = ""
    if language:
        code = language.strip().lower()
        if len(code) != 3 or not code.isalpha():
            raise Problem(400, f"language must be an ISO 639-2 code such as 'nor', not {language!r}")
        lang = f"?e <{T.E_WORK}> ?w ; <{T.E_LANGUAGE}> <{T.LANG_BASE}{code}> ."
    filters.append(f"FILTER NOT EXISTS {{ ?w a <{TOMBSTONE}> }}")
    sparql = (f"SELECT DISTINCT ?w ?title WHERE {{ ?w <{T.MB}key> ?key ; <{T.W_PREFERRED_TITLE}> ?title . "
              f"{' '.join(filters)} {lang} }} ORDER BY ?title ?w LIMIT {limit + 1} OFFSET {offset}")
    rows = list(state.store.query(sparql))
    items = [{"iri": r["w"].value, "path": _local(r["w"].value, state.base), "label": r["title"].value}
             for r in rows[:limit]]
    return _page(request, items, limit, offset, len(rows) > limit)


@router.get("/works/{id}/expressions", tags=["Look-ups"], summary="The expressions of a work")
async def work_expressions(request: Request, id: str, limit: int = _LIMIT, offset: int = _OFFSET):
    return _down(request, "work", id, T.E_WORK, limit, offset)


@router.get("/expressions/{id}/manifestations", tags=["Look-ups"], summary="The manifestations of an expression")
async def expression_manifestations(request: Request, id: str, limit: int = _LIMIT, offset: int = _OFFSET):
    return _down(request, "expression", id, T.M_EXPRESSION, limit, offset)


def _down(request: Request, kind: str, id_: str, predicate: str, limit: int, offset: int) -> JSONResponse:
    _within(offset)
    state = request.app.state
    iri = f"{state.base}/{kind}/{id_}"
    rows = state.store.about(iri) if is_iri(iri) else []
    if not rows:
        raise Problem(404, f"no {kind} {iri} in the well")
    if any(p == T.RDF_TYPE and o == TOMBSTONE for _, p, o, _, _, _ in rows):
        raise Problem(410, f"{iri} was deleted")
    wanted, asked = offset + limit + 1, offset + limit + 1
    while True:  # tombstones left out: ask for more until there are enough, or no more
        linked = state.store.linking(predicate, iri, limit=asked)
        found = [i for i in linked if not _deleted(state.store, i)]
        if len(found) >= wanted or len(linked) < asked:
            break
        asked *= 2
    items = [_item(state.store, state.base, i) for i in found[offset:offset + limit]]
    for item in items:
        if kind == "work":
            item["languages"] = [v.rsplit("/", 1)[-1] for v in state.store.values(item["iri"], T.E_LANGUAGE)]
    return _page(request, items, limit, offset, len(found) > offset + limit)


__all__ = ["router", "MAX_OFFSET"]
