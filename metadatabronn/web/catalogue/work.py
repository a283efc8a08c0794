"""The Work page: all editions and translations of a work at a glance.

Preferred title and creators; counts ("12 editions in 4 languages"); a timeline of the
editions by year and language; the expressions grouped by language, each with its translators
and other contributors and a compact table of its manifestations, newest first; subjects and
classification apart."""

from __future__ import annotations

from ...mapping import terms as T
from ...store.pages import Value, first, subjects
from . import labels as L
from . import svg
from .details import isbn_link, subject_sections, table
from .layout import Context, e
from .read import Edition, ExpressionInfo, agents_by_role, expression_info, language_names, name

# Where the "Loans" section goes: drawn at each request, as deliveries come without a change
# of the store (web.statistics_chart_http.fill).
LOANS = "<!--loans-->"
SHOWN = {T.W_PREFERRED_TITLE, T.W_AAP, T.W_SUBJECT, *L.WORK_ROLES}


def agents_line(ctx: Context, pairs: list[tuple[str, str]], cls: str = "creators") -> str:
    """Agents with their roles: "Runeberg, Johan Ludvig, 1804-1877 (author)"."""
    roles: dict[str, list[str]] = {}
    for p, agent in pairs:
        roles.setdefault(agent, []).append(L.role(p, ctx.lang))
    items = [f'<li>{ctx.link(agent, name(ctx, agent))} <span class="role">({e(", ".join(rs))})</span></li>'
             for agent, rs in roles.items()]
    return f'<ul class="{cls}">{"".join(items)}</ul>' if items else ""


def editions_table(ctx: Context, editions: list[Edition]) -> str:
    """The manifestations of an expression, newest first, one row each."""
    head = "".join(f"<th>{e(L.t(h, ctx.lang))}</th>" for h in ("Year", "Title", "Edition", "Publisher", "Extent",
                                                                "ISBN"))
    body = []
    for ed in editions:
        publisher = ", ".join(p for p in (ed.place, ed.publisher) if p) if not ed.place or not ed.publisher \
            else f"{ed.place} : {ed.publisher}"
        body.append(
            f'<tr class="edition"><td class="year">{ed.year if ed.year is not None else e(ed.date)}</td>'
            f'<td class="title">{ctx.link(ed.iri, ed.title or name(ctx, ed.iri))}</td>'
            f'<td class="edition-statement">{e(ed.edition)}</td><td class="publisher">{e(publisher)}</td>'
            f'<td class="extent">{e(ed.extent)}</td>'
            f'<td class="isbn">{" ".join(isbn_link(i) for i in ed.isbns)}</td></tr>')
    return (f'<table class="editions"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            if body else "")


def expression_block(ctx: Context, info: ExpressionInfo, work: str) -> str:
    kind = ", ".join(L.term(c, ctx.lang) for c in info.content_types) or L.t("Expression", ctx.lang)
    heading = f"{kind[:1].upper() + kind[1:]} · {language_names(ctx, info.languages)}"
    parts = [f'<h4>{ctx.link(info.iri, heading)}</h4>']
    for original in info.translation_of:
        label = language_names(ctx, ctx.store.values(original, T.E_LANGUAGE))
        other = first(ctx.store, original, (T.E_WORK,))
        if other and other != work:
            label = f"{name(ctx, other)} ({label})"
        parts.append(f'<p class="translation-of">{e(L.t("Translation of", ctx.lang))}: '
                     f'{ctx.link(original, label)}</p>')
    parts.append(agents_line(ctx, info.contributors, "contributors"))
    parts.append(editions_table(ctx, info.editions))
    return f'<div class="expression">{"".join(parts)}</div>'


def render(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    """(title, body HTML) of the Work page."""
    title = next((v.text for v in values.get(T.W_PREFERRED_TITLE, ())), None) or name(ctx, iri)
    expressions = [expression_info(ctx, x) for x in subjects(ctx.store, T.E_WORK, iri)]
    editions = sum(len(x.editions) for x in expressions)
    # Languages the editions are in: an original with no edition here does not count.
    languages = {lang for x in expressions if x.editions for lang in (x.languages or ["und"])}
    groups: dict[str, list[ExpressionInfo]] = {}
    for x in expressions:
        groups.setdefault(language_names(ctx, x.languages), []).append(x)
    order = sorted(groups, key=lambda g: (-sum(len(x.editions) for x in groups[g]), g))
    rows = [(lang, ed.year, _tip(ed)) for lang in order for x in groups[lang] for ed in x.editions]
    body = [f"<h1>{e(title)}</h1>",
            agents_line(ctx, agents_by_role(values, L.WORK_ROLES)),
            f'<p class="counts">{e(L.counts(editions, len(languages), ctx.lang))}</p>',
            svg.timeline(rows, L.t("Editions by year and language", ctx.lang), L.t("undated", ctx.lang)),
            LOANS]
    sections = []
    for lang in order:
        blocks = "".join(expression_block(ctx, x, iri)
                         for x in sorted(groups[lang], key=lambda x: (-len(x.editions), x.iri)))
        sections.append(f'<section class="language"><h3>{e(lang)}</h3>{blocks}</section>')
    body.append(f'<section class="expressions"><h2>{e(L.t("Expressions", ctx.lang))} ({len(expressions)})</h2>'
                f'{"".join(sections)}</section>')
    body.append(subject_sections(ctx, values))
    rest = table(ctx, values, SHOWN)
    if rest:
        body.append(f'<section class="details"><h2>{e(L.t("Details", ctx.lang))}</h2>{rest}</section>')
    return title, "".join(body)


def _tip(ed: Edition) -> str:
    return " · ".join(p for p in (str(ed.year) if ed.year else ed.date, ed.title, ed.publisher) if p)


__all__ = ["render", "editions_table", "agents_line"]
