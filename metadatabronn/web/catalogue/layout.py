"""The frame every catalogue page shares: head, a header with the search box, a footer; and
the small pieces pages are written with (escaping, links, definition lists)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from .labels import t

CSS = "/static/catalogue.css"


def e(text) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class Context:
    """What a page is written from: the store, its base IRI, the reader's language, and labels
    of linked entities read once per page."""

    store: object
    base: str
    lang: str
    names: dict = field(default_factory=dict)

    def local(self, iri: str) -> str:
        """The path of one of the well's own IRIs (``/work/…``), else the IRI itself."""
        return iri[len(self.base):] if iri.startswith(self.base + "/") else iri

    def own(self, iri: str) -> bool:
        return iri.startswith(self.base + "/")

    def link(self, iri: str, text: str, cls: str = "") -> str:
        attr = f' class="{cls}"' if cls else ""
        return f'<a href="{e(self.local(iri))}"{attr}>{e(text)}</a>'


def search_form(lang: str, query: str = "", by: str = "title", id_: str = "q") -> str:
    options = "".join(f'<option value="{v}"{" selected" if v == by else ""}>{e(t(text, lang))}</option>'
                      for v, text in (("title", "Title"), ("creator", "Creator"), ("isbn", "ISBN"),
                                      ("name", "Name")))
    return (f'<form class="search" action="/search" method="get" role="search">'
            f'<label class="visually-hidden" for="{id_}">{e(t("Search the catalogue", lang))}</label>'
            f'<select name="by" aria-label="{e(t("Search", lang))}">{options}</select>'
            f'<input id="{id_}" type="search" name="q" value="{e(query)}" placeholder="{e(t("Search the catalogue", lang))}">'
            f'<button type="submit">{e(t("Search", lang))}</button></form>')


def page(title: str, body: str, lang: str, *, kind: str = "", page_class: str = "", query: str = "",
         by: str = "title") -> str:
    """A whole HTML document."""
    kind_line = f'<p class="kind">{e(kind)}</p>' if kind else ""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}{" · " + e(kind) if kind else ""} · metadatabronn</title>
<link rel="stylesheet" href="{CSS}"></head>
<body class="{e(page_class)}"><header class="site"><a class="home" href="/">metadatabronn</a>{search_form(lang, query, by)}</header>
<main>{kind_line}{body}</main>
<footer class="site"><a href="/">{e(t("The catalogue", lang))}</a> · <a href="/query">{e(t("Query with SPARQL", lang))}</a></footer>
</body></html>"""


def definitions(rows: list[tuple[str, str]], cls: str = "details") -> str:
    """``<dl>`` of (term, HTML of its values) rows; rows without a value are left out."""
    items = "".join(f"<dt>{e(term)}</dt><dd>{value}</dd>" for term, value in rows if value)
    return f'<dl class="{cls}">{items}</dl>' if items else ""


def joined(parts: list[str], sep: str = "; ") -> str:
    return sep.join(p for p in parts if p)
