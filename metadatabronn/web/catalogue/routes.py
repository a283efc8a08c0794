"""The catalogue's own routes: the home page ``/`` (what the store holds, its top languages as
a chart, the search box), ``/search`` (the search box's target: it sends the reader on to the
look-up for a title, a creator or an ISBN) and the style sheet."""

from __future__ import annotations

import hashlib
import re
import threading
import weakref
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...store.pages import language_counts
from . import labels as L
from . import svg
from .layout import e, page, search_form

router = APIRouter(include_in_schema=False)
CSS_FILE = Path(__file__).resolve().parent.parent / "static" / "catalogue.css"
TOP_LANGUAGES = 10
# Per snapshot, and forgotten with it: a refreshed store is counted again, once.
_languages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_counting = threading.Lock()


def top_languages(state) -> list[tuple[str, int]]:
    """The commonest languages of the served snapshot, counted once per snapshot, never per
    request."""
    snapshot = getattr(state, "snapshot", None)
    if snapshot is None:  # an app serving a bare store: nothing to keep the figures with
        return language_counts(state.store, TOP_LANGUAGES)
    found = _languages.get(snapshot)
    if found is None:
        with _counting:
            found = _languages.get(snapshot)
            if found is None:
                found = _languages[snapshot] = language_counts(snapshot.store, TOP_LANGUAGES)
    return found


_COUNTED = (("works", "Works"), ("expressions", "Expressions"), ("manifestations", "Manifestations"),
            ("agents", "Agents"))


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    state = request.app.state
    lang = L.choose(request.headers.get("accept-language"))
    snapshot = getattr(state, "snapshot", None)
    counts = (snapshot.counts if snapshot is not None else None) or {}
    figures = "".join(f'<div class="count {name}"><dt>{e(L.t(label, lang))}</dt><dd>{counts[name]:,}</dd></div>'
                      for name, label in _COUNTED if counts.get(name) is not None)
    chart = svg.bars([(L.language(iri, lang), n) for iri, n in top_languages(state)],
                     L.t("Expressions by language", lang))
    body = (f'<h1>{e(L.t("The catalogue", lang))}</h1>'
            f'<section class="search-home">{search_form(lang, id_="q-home")}</section>'
            + (f'<dl class="counts">{figures}</dl>' if figures else "")
            + (f'<section class="languages"><h2>{e(L.t("Expressions by language", lang))}</h2>{chart}</section>'
               if chart else "")
            + f'<p class="query"><a href="/query">{e(L.t("Query with SPARQL", lang))}</a></p>')
    return HTMLResponse(page(L.t("The catalogue", lang), body, lang, page_class="home"),
                        headers={"Vary": "Accept-Language"})


_ISBN = re.compile(r"^[\d\s-]{9,17}[\dXx]$")


@router.get("/search")
def search(request: Request, q: str = Query(default=""), by: str | None = Query(default=None)):
    """The search box: on to ``/works?title=``, ``/works?creator=``, ``/manifestations?isbn=`` or
    ``/agents?name=`` (a value that looks like an ISBN goes to the ISBN look-up unless ``by`` says
    otherwise)."""
    q = q.strip()
    if not q:
        return RedirectResponse("/", status_code=303)
    if by not in ("title", "creator", "isbn", "name"):
        by = "isbn" if _ISBN.match(q) else "title"
    target = (f"/manifestations?{urlencode({'isbn': q})}" if by == "isbn" else
              f"/agents?{urlencode({'name': q})}" if by == "name" else f"/works?{urlencode({by: q})}")
    return RedirectResponse(target, status_code=303)


_css: dict[str, tuple[bytes, str]] = {}


@router.get("/static/catalogue.css")
def stylesheet(request: Request):
    if "body" not in _css:
        body = CSS_FILE.read_bytes()
        _css["body"] = (body, '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"')
    body, etag = _css["body"]
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/css; charset=utf-8", headers=headers)
