"""Error pages for browsers: the same status, title and detail as the problem document, as a
page with the search box; everyone else keeps getting ``application/problem+json``."""

from __future__ import annotations

from starlette.requests import Request

from ..negotiate import ranked
from . import labels as L
from .layout import e, page

_HTML = {"text/html", "application/xhtml+xml"}


def wants_html(request: Request) -> bool:
    """Whether the client prefers HTML: ``format=html``, or an Accept header whose best media
    range is HTML (a browser's), not JSON, a wildcard or anything else."""
    if request.query_params.get("format", "").lower() == "html":
        return True
    ranges = ranked(request.headers.get("accept"))
    return bool(ranges) and ranges[0] in _HTML


def error_page(request: Request, status: int, title: str, detail: str, extensions: dict) -> str:
    lang = L.choose(request.headers.get("accept-language"))
    extra = ""
    if extensions.get("deleted"):
        extra += f'<p class="deleted">{e(L.t("Deleted", lang))}: <time>{e(extensions["deleted"])}</time></p>'
    for item in extensions.get("errors") or ():
        extra += f'<p class="invalid"><code>{e(item.get("where", ""))}</code>: {e(item.get("message", ""))}</p>'
    if "line" in extensions and "column" in extensions:
        extra += f'<p class="position">line {e(extensions["line"])}, column {e(extensions["column"])}</p>'
    body = (f'<section class="error"><p class="status">{status}</p><h1>{e(title)}</h1>'
            f'<p class="detail">{e(detail)}</p>{extra}'
            f'<p><a href="/">{e(L.t("Back to the catalogue", lang))}</a></p></section>')
    return page(title, body, lang, page_class="error")
