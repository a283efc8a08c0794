"""The look-ups library systems need: manifestations by ISBN, works by title/creator/language,
and down the WEMI chain (a work's expressions, an expression's manifestations), paged with
``Link`` headers; deleted manifestations (tombstones) are left out.

Works are found in the text index (:mod:`..store.search`) by their live manifestations' titles
and creators, so a work whose every manifestation was deleted is not found."""

from __future__ import annotations

import os
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ..mapping import terms as T
from ..mapping.text import isbn13
from ..store import Store, search
from . import bundle
from .catalogue import results
from .catalogue.errors import wants_html
from .entities import _STATES, TOMBSTONE, _label, _local
from .problems import Problem
from .sparql import is_iri

router = APIRouter()
INDEX_FILE = "catalogue.sqlite3"
_connections = threading.local()


def text_index(request: Request) -> sqlite3.Connection:
    """The text index of the served store (:mod:`..store.search`), read-only: the app's catalogue
    connection when it has one, else one connection per thread to the catalogue file (opened
    again if the file is replaced). A 503 problem when the store has none."""
    catalogue = _catalogue(request)
    if catalogue is not None:
        return catalogue.conn
    state = request.app.state
    path = Path(state.store.path) / INDEX_FILE
    try:
        identity = (str(path), os.stat(path).st_ino)
    except OSError:
        raise Problem(503, "the catalogue index is missing: run `metadatabronn reindex`",
                      title="Search unavailable") from None
    opened = getattr(_connections, "opened", None)
    if opened is None or opened[0] != identity:
        if opened is not None:
            opened[1].close()
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")  # a writer's commit takes moments, not seconds
        _connections.opened = opened = (identity, conn)
    return opened[1]


def _catalogue(request: Request):
    """The served snapshot's catalogue index, if the app keeps one open."""
    catalogue = getattr(getattr(request.app.state, "snapshot", None), "catalogue", None)
    return catalogue if getattr(catalogue, "conn", None) is not None else None


def searching(request: Request, run):
    """``run(connection)`` over the text index; a store whose index lacks the text tables (made
    by an older version) is a 503 problem too."""
    catalogue = _catalogue(request)
    try:
        if catalogue is not None:  # its one connection serves every thread, one at a time
            with catalogue._lock:
                return run(catalogue.conn)
        return run(text_index(request))
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        raise Problem(503, "the catalogue index has no text index: run `metadatabronn reindex`",
                      title="Search unavailable") from None


def _page(request: Request, items: list[dict], limit: int, offset: int, more: bool) -> JSONResponse:
    if wants_html(request):  # a browser (the search box): the results as a catalogue page
        return results.html_page(request, items, limit, offset, more)
    return page_json(request, items, limit, offset, more)


def page_json(request: Request, items: list[dict], limit: int, offset: int, more: bool,
              headers: dict | None = None) -> JSONResponse:
    """A page of a look-up's items as JSON, with the URLs of the first, previous and next pages
    (also as ``Link`` headers)."""

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
    return JSONResponse(body, headers={"Link": ", ".join(links), **(headers or {})})


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


MAX_LANGUAGE_CHECKS = 5_000  # works looked at for a language before a page is given as it is


@router.get("/works", tags=["Look-ups"], summary="Works by title and/or creator: every word, in any order, "
            "case, accents and Nordic letters folded (ø as o, æ as ae, å as aa or a); the last word may be "
            "typed in part (two letters or more), and a word ending in * matches every word it begins. The "
            "exact title comes first, then by relevance. Optionally with an expression in a language. "
            "With isbn (any form) instead: the bundle of the work that edition belongs to (/work/{id}/bundle)")
async def works(request: Request, title: str | None = None, creator: str | None = None,
                language: str | None = Query(default=None, description="ISO 639-2 code, e.g. nor, eng"),
                limit: int = _LIMIT, offset: int = _OFFSET,
                isbn: str | None = Query(default=None, description="an ISBN-10 or ISBN-13, hyphens and spaces "
                                                                   "allowed: answers with its work's bundle")):
    if isbn is not None:  # one work, in the work format: not a page of results
        if title or creator or language:
            raise Problem(400, "isbn finds one work by itself: give it without title, creator or language")
        return bundle.isbn_answer(request, isbn, _by_isbn(request.app.state.key, isbn.strip()))
    if not (title or creator):
        raise Problem(400, "give title, creator or both (or isbn)")
    _within(offset)
    state = request.app.state
    wanted = None
    if language:
        code = language.strip().lower()
        if len(code) != 3 or not code.isalpha():
            raise Problem(400, f"language must be an ISO 639-2 code such as 'nor', not {language!r}")
        wanted = f"{T.LANG_BASE}{code}"

    def page(conn: sqlite3.Connection) -> list[tuple[str, str | None]]:
        found, checked = [], 0
        for work, label in search.iter_works(conn, title, creator):
            if wanted is not None:
                checked += 1
                if checked > MAX_LANGUAGE_CHECKS:
                    break
                if not any(wanted in state.store.values(e, T.E_LANGUAGE)
                           for e in state.store.linking(T.E_WORK, work)):
                    continue
            found.append((work, label))
            if len(found) > offset + limit:
                break
        return found[offset:]

    rows = searching(request, page)
    items = [{"iri": w, "path": _local(w, state.base), "label": label or _label(state.store, w)}
             for w, label in rows[:limit]]
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
