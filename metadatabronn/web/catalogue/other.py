"""Expression, item and concept pages, and any other entity: labels and links, the same look."""

from __future__ import annotations

from ...mapping import terms as T
from ...store.pages import Value, subjects
from . import labels as L
from .details import table
from .layout import Context, e
from .read import expression_info, language_names, name, texts
from .work import agents_line, editions_table


def expression(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    info = expression_info(ctx, iri, values)
    works = texts(values, T.E_WORK)
    work_title = name(ctx, works[0]) if works else name(ctx, iri)
    kind = ", ".join(L.term(c, ctx.lang) for c in info.content_types)
    title = f"{work_title} ({language_names(ctx, info.languages)})"
    up = "".join(f'<li>{e(L.t("Work", ctx.lang))}: {ctx.link(w, name(ctx, w), "work")}</li>' for w in works)
    originals = "".join(
        f'<li>{e(L.t("Translation of", ctx.lang))}: '
        f'{ctx.link(o, language_names(ctx, ctx.store.values(o, T.E_LANGUAGE)), "expression")}</li>'
        for o in info.translation_of)
    translations = subjects(ctx.store, T.E_TRANSLATION_OF, iri, 200)
    body = [f"<h1>{e(title)}</h1>",
            f'<ul class="up">{up}{originals}</ul>',
            f'<p class="expression-kind">{e(kind[:1].upper() + kind[1:])} · '
            f'{e(language_names(ctx, info.languages))}</p>' if kind else "",
            agents_line(ctx, info.contributors, "contributors"),
            f'<section class="manifestations"><h2>{e(L.t("Manifestations", ctx.lang))} ({len(info.editions)})</h2>'
            f'{editions_table(ctx, info.editions)}</section>']
    if translations:
        items = "".join(f"<li>{ctx.link(x, language_names(ctx, ctx.store.values(x, T.E_LANGUAGE)))}</li>"
                        for x in translations)
        body.append(f'<section class="translations"><h2>{e(L.t("Translations", ctx.lang))}</h2>'
                    f'<ul>{items}</ul></section>')
    skip = {T.E_WORK, T.E_TRANSLATION_OF, *L.EXPRESSION_ROLES, T.E_CREATOR}
    body.append(f'<section class="details"><h2>{e(L.t("Details", ctx.lang))}</h2>{table(ctx, values, skip)}</section>')
    return title, "".join(body)


def item(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    manifestations = texts(values, T.I_MANIFESTATION)
    title = name(ctx, manifestations[0]) if manifestations else name(ctx, iri)
    up = "".join(f'<li>{e(L.t("Manifestation", ctx.lang))}: {ctx.link(m, name(ctx, m), "manifestation")}</li>'
                 for m in manifestations)
    body = [f"<h1>{e(title)}</h1>", f'<ul class="up">{up}</ul>',
            f'<section class="details"><h2>{e(L.t("Details", ctx.lang))}</h2>'
            f'{table(ctx, values, {T.I_MANIFESTATION})}</section>']
    return title, "".join(body)


def concept(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    title = next(iter(texts(values, T.SKOS_PREFLABEL)), None) or name(ctx, iri)
    schemes = [L.scheme(s) for s in texts(values, T.SKOS_INSCHEME)]
    body = [f"<h1>{e(title)}</h1>",
            f'<p class="scheme">{e(L.t("Scheme", ctx.lang))}: {e(", ".join(s for s in schemes if s))}</p>'
            if any(schemes) else ""]
    # A topic names the works about it; a genre or form (655) the works of that category.
    for element, heading in ((T.W_SUBJECT, "Works on this subject"), (T.W_CATEGORY, "Works of this genre or form")):
        works = subjects(ctx.store, element, iri, 500)
        if works:
            items = sorted((ctx.link(w, name(ctx, w)) for w in works), key=str.lower)
            body.append(f'<section class="works"><h2>{e(L.t(heading, ctx.lang))} ({len(works)})</h2>'
                        f'<ul class="works">{"".join(f"<li>{i}</li>" for i in items)}</ul></section>')
    body.append(f'<section class="details"><h2>{e(L.t("Details", ctx.lang))}</h2>'
                f'{table(ctx, values, {T.SKOS_PREFLABEL, T.SKOS_INSCHEME})}</section>')
    return title, "".join(body)


def generic(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    title = name(ctx, iri)
    return title, f"<h1>{e(title)}</h1>{table(ctx, values)}"


__all__ = ["expression", "item", "concept", "generic"]
