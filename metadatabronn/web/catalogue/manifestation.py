"""The Manifestation page: the description a cataloguer reads, in ISBD order and punctuation
(title / statement of responsibility. — edition. — place : publisher, date. — extent ;
dimensions. — (series). — ISBN), each element with its label, links up to the expression and
the work, and the MARC record: readable on the page, as MARCXML, and to download."""

from __future__ import annotations

import logging

from ...errors import MetadatabronnError
from ...mapping import terms as T
from ...store.pages import Value, subjects
from . import labels as L
from .details import HIDDEN, isbn_link, rows, value
from .layout import Context, definitions, e
from .read import agents_by_role, language_names, name, texts
from .work import agents_line

log = logging.getLogger(__name__)

# The description's elements in the order a cataloguer reads them (ISBD areas).
ORDER = (T.M_TITLE_PROPER, T.M_PARALLEL_TITLE, T.M_OTHER_TITLE, T.M_VARIANT_TITLE, T.M_SOR, T.M_EDITION,
         T.M_PUBLICATION, T.M_PLACE_PUB, T.M_PUBLISHER_NAME, T.M_DATE_PUB, T.M_PRODUCTION, T.M_DISTRIBUTION,
         T.M_MANUFACTURE, T.M_COPYRIGHT, T.M_EXTENT, T.M_ILLUSTRATIVE, T.M_DIMENSIONS, T.M_SUPPLEMENTARY,
         T.M_SERIES_STATEMENT, T.M_MODE, T.M_MEDIA, T.M_CARRIER, T.M_IDENTIFIER, T.M_IDENTIFIER_NOTE, T.M_NOTE,
         T.M_URL)
UP = (T.M_EXPRESSION, T.M_WORK)
SCHEMA_ISBN = "http://schema.org/isbn"


def _area(*pieces: tuple[str, str]) -> str:
    """An ISBD area from (prescribed punctuation, value) pairs; the first's punctuation is dropped."""
    out = ""
    for punct, text in pieces:
        if text:
            out += (punct if out else "") + text
    return out


def isbd(values: dict[str, list[Value]]) -> str:
    """The manifestation in ISBD order and punctuation, areas separated by ". — "."""
    def v(p: str) -> list[str]:
        return texts(values, p)

    title = _area(*((" : ", t) for t in v(T.M_TITLE_PROPER)[:1]), *((" = ", t) for t in v(T.M_PARALLEL_TITLE)),
                  *((" : ", t) for t in v(T.M_OTHER_TITLE)), *((" / ", t) for t in v(T.M_SOR)[:1]),
                  *(("; ", t) for t in v(T.M_SOR)[1:]))
    edition = "; ".join(v(T.M_EDITION))
    if v(T.M_PUBLISHER_NAME) or v(T.M_PLACE_PUB):
        publication = _area(("", " ; ".join(v(T.M_PLACE_PUB))), (" : ", " : ".join(v(T.M_PUBLISHER_NAME))),
                            (", ", ", ".join(v(T.M_DATE_PUB))))
    else:
        publication = "; ".join(v(T.M_PUBLICATION) or v(T.M_PRODUCTION) or v(T.M_DISTRIBUTION)
                                or v(T.M_DATE_PUB) or v(T.M_COPYRIGHT))
    extent = _area(("", "; ".join(v(T.M_EXTENT))), (" : ", ", ".join(v(T.M_ILLUSTRATIVE))),
                   (" ; ", "; ".join(v(T.M_DIMENSIONS))), (" + ", " + ".join(v(T.M_SUPPLEMENTARY))))
    series = " ".join(f"({s})" for s in v(T.M_SERIES_STATEMENT))
    isbns = " ".join(f"ISBN {i[len('urn:isbn:'):]}" for i in v(T.M_IDENTIFIER) if i.startswith("urn:isbn:"))
    areas = [a.strip() for a in (title, edition, publication, extent, series, isbns) if a and a.strip()]
    out = ""
    for area in areas:
        out += (("" if out.endswith(".") else ".") + " — " if out else "") + area
    return out


def _identifier(v: Value) -> str:
    text = v.text
    if text.startswith("urn:isbn:"):
        return "ISBN " + isbn_link(text[len("urn:isbn:"):])
    if text.startswith("info:lccn/"):
        return "LCCN " + e(text[len("info:lccn/"):])
    return e(text)


def marc_section(ctx: Context, iri: str) -> str:
    """The record as MARC: mnemonic lines on the page, and links to MARCXML and ISO 2709."""
    from ..records import marc_record

    try:
        record = marc_record(ctx.store, iri)
    except (MetadatabronnError, ValueError, KeyError) as exc:  # the page still shows the description
        log.warning("%s: no MARC view: %s", iri, exc)
        record = None
    lines = e(str(record)) if record is not None else ""
    view = f'<pre class="marc">{lines}</pre>' if lines else ""
    return (f'<section class="marc"><h2>{e(L.t("MARC record", ctx.lang))}</h2>'
            f'<p class="marc-links"><a href="?format=marcxml" type="application/marcxml+xml">'
            f'{e(L.t("View as MARCXML", ctx.lang))}</a> · '
            f'<a href="?format=marc" download="{e(iri.rsplit("/", 1)[-1])}.mrc" type="application/marc">'
            f'{e(L.t("Download MARC 21 (ISO 2709)", ctx.lang))}</a></p>'
            f'<details class="marc"><summary>MARC 21</summary>{view}</details></section>')


def render(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    """(title, body HTML) of the Manifestation page."""
    title = next(iter(texts(values, T.M_TITLE_PROPER)), None) or name(ctx, iri)
    up = []
    for work in texts(values, T.M_WORK):
        up.append(f'<li>{e(L.t("Work", ctx.lang))}: {ctx.link(work, name(ctx, work), "work")}</li>')
    for expression in texts(values, T.M_EXPRESSION):
        kind = ", ".join(L.term(c, ctx.lang) for c in ctx.store.values(expression, T.E_CONTENT_TYPE))
        label = " · ".join(p for p in (kind[:1].upper() + kind[1:], language_names(
            ctx, ctx.store.values(expression, T.E_LANGUAGE))) if p)
        up.append(f'<li>{e(L.t("Expression", ctx.lang))}: {ctx.link(expression, label, "expression")}</li>')
    described = []
    for p in ORDER:
        vs = values.get(p)
        if vs:
            shown = [_identifier(x) for x in vs] if p == T.M_IDENTIFIER else [value(ctx, x) for x in vs]
            described.append((L.element(p, ctx.lang), "<br>".join(shown)))
    # schema:isbn repeats the ISBN the identifiers show.
    others = rows(ctx, values, set(ORDER) | set(UP) | set(L.MANIFESTATION_ROLES) | {SCHEMA_ISBN})
    creators = []  # the work's creators, by the elements that name them (not its whole description)
    for work in texts(values, T.M_WORK):
        creators += [(p, agent) for p in L.WORK_ROLES for agent in ctx.store.values(work, p)]
    specific = {a for p, a in creators if p not in L.GENERAL_ROLES}
    creators = [(p, a) for p, a in dict.fromkeys(creators) if p not in L.GENERAL_ROLES or a not in specific]
    contributors = agents_line(ctx, agents_by_role(values, L.MANIFESTATION_ROLES), "contributors")
    body = [f"<h1>{e(title)}</h1>", agents_line(ctx, creators), f'<ul class="up">{"".join(up)}</ul>' if up else "",
            f'<p class="isbd">{e(isbd(values))}</p>', contributors,
            f'<section class="description"><h2>{e(L.t("Description", ctx.lang))}</h2>'
            f'{definitions(described + others, "description")}</section>',
            _items(ctx, iri), marc_section(ctx, iri)]
    return title, "".join(body)


def _items(ctx: Context, iri: str) -> str:
    """The manifestation's items (holdings), by location and call number."""
    found = subjects(ctx.store, T.I_MANIFESTATION, iri, 200)
    if not found:
        return ""
    rows = []
    for item in found:
        where = "; ".join(ctx.store.values(item, T.I_LOCATION) + ctx.store.values(item, T.I_CALL_NUMBER))
        rows.append(f"<li>{ctx.link(item, where or L.t('Item', ctx.lang))}</li>")
    return (f'<section class="items"><h2>{e(L.t("Items", ctx.lang))} ({len(found)})</h2>'
            f'<ul class="items">{"".join(rows)}</ul></section>')


__all__ = ["render", "isbd", "HIDDEN"]
