"""Look-up results (``/works``, ``/manifestations``, down the chain) as an HTML list, for a
browser; library systems keep getting the JSON list."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from ...mapping import terms as T
from . import labels as L
from .layout import e, page

_ASKED = (("title", "Title"), ("creator", "Creator"), ("isbn", "ISBN"), ("language", "Language"))


def html_page(request: Request, items: list[dict], limit: int, offset: int, more: bool) -> HTMLResponse:
    """The page of results ``items`` (``iri``, ``path``, ``label``), with links to the pages
    before and after."""
    lang = L.choose(request.headers.get("accept-language"))
    params = dict(request.query_params)
    asked = [(L.t(label, lang), params[key]) for key, label in _ASKED if params.get(key)]
    heading = L.t("Results", lang) + (": " + "; ".join(f"{k} “{v}”" for k, v in asked) if asked else "")
    store = request.app.state.store
    rows = []
    for item in items:
        extra = ""
        if "/work/" in item["path"]:
            aap = store.values(item["iri"], T.W_AAP)
            extra = f' <span class="access-point">{e(aap[0])}</span>' if aap and aap[0] != item["label"] else ""
        if item.get("languages"):
            extra += f' <span class="languages">{e(", ".join(L.language(x, lang) for x in item["languages"]))}</span>'
        rows.append(f'<li><a href="{e(item["path"])}">{e(item["label"])}</a>{extra}</li>')

    body = f'<h1>{e(heading)}</h1>{listing(request, rows, limit, offset, more, lang)}'
    by = next((key for key, _ in _ASKED[:3] if params.get(key)), "title")
    html = page(heading, body, lang, page_class="results", query=params.get(by, ""), by=by)
    return HTMLResponse(html, headers={"Vary": "Accept, Accept-Language"})


def listing(request: Request, rows: list[str], limit: int, offset: int, more: bool, lang: str,
            cls: str = "results") -> str:
    """A page of result rows (``<li>`` each) as a numbered list, with links to the pages before
    and after."""
    params = dict(request.query_params)

    def url(new_offset: int) -> str:
        return f"{request.url.path}?{urlencode({**params, 'limit': str(limit), 'offset': str(new_offset)})}"

    nav = []
    if offset > 0:
        nav.append(f'<a rel="prev" href="{e(url(max(0, offset - limit)))}">{e(L.t("Previous", lang))}</a>')
    if more:
        nav.append(f'<a rel="next" href="{e(url(offset + limit))}">{e(L.t("Next", lang))}</a>')
    items = (f'<ol class="{cls}" start="{offset + 1}">{"".join(rows)}</ol>' if rows
             else f'<p class="results none">{e(L.t("No results", lang))}</p>')
    return f'{items}<p class="pages">{" · ".join(nav)}</p>'
