"""An entity's statements as a reader sees them: each element by its label, each value as text,
a link to the entity it names, or a vocabulary term's label; subjects and class numbers apart;
the well's internal keys and bookkeeping left out."""

from __future__ import annotations

from ...mapping import terms as T
from ...store.pages import Value
from . import labels as L
from .layout import Context, definitions, e
from .read import name

# Bookkeeping, not description: never shown on a page.
HIDDEN = {T.RDF_TYPE, T.MB + "key", T.MB_CARRIED, T.MB_SOURCE_HASH, T.MB_INFERRED, T.MB + "describes",
          T.MB + "sourceRecord", T.MB + "validatedWith", T.MB_CONTROL_NUMBER_FROM, T.MB_HEADING_WITHOUT_NAME,
          "https://www.w3.org/ns/activitystreams#deleted", "http://www.w3.org/2000/01/rdf-schema#label"}


def value(ctx: Context, v: Value) -> str:
    """One value as HTML."""
    if v.literal:
        if v.text.startswith("urn:isbn:"):
            return isbn_link(v.text[len("urn:isbn:"):])
        if v.datatype in L.CLASS_SCHEMES:
            return f'<span class="class">{e(L.CLASS_SCHEMES[v.datatype])} {e(v.text)}</span>'
        return e(v.text)
    if ctx.own(v.text):
        return ctx.link(v.text, name(ctx, v.text))
    if v.text.startswith(("http://rdaregistry.info/termList/", T.LANG_BASE, T.MB)):
        return f'<span class="term" title="{e(v.text)}">{e(L.term(v.text, ctx.lang))}</span>'
    return f'<a href="{e(v.text)}">{e(v.text)}</a>'


def isbn_link(isbn: str) -> str:
    return f'<a class="isbn" href="/manifestations?isbn={e(isbn)}">{e(isbn)}</a>'


def subjects_and_classes(ctx: Context, values: dict[str, list[Value]]) -> tuple[list[str], list[str]]:
    """(subjects, classes) as HTML items: a concept or agent the work is about, with its scheme;
    a DDC or LC class number as a class, never as a subject."""
    subjects, classes = [], []
    for v in values.get(T.W_SUBJECT, ()):
        if v.literal:
            if v.datatype in L.CLASS_SCHEMES:
                classes.append(f'<li><abbr class="scheme">{e(L.CLASS_SCHEMES[v.datatype])}</abbr> '
                               f'<span class="notation">{e(v.text)}</span></li>')
            else:
                subjects.append(f"<li>{e(v.text)}</li>")
            continue
        schemes = [L.scheme(s) for s in ctx.store.values(v.text, T.SKOS_INSCHEME)] if ctx.own(v.text) else []
        tag = "".join(f' <span class="scheme">{e(s)}</span>' for s in schemes if s)
        subjects.append(f"<li>{value(ctx, v)}{tag}</li>")
    return subjects, classes


def subject_sections(ctx: Context, values: dict[str, list[Value]]) -> str:
    subjects, classes = subjects_and_classes(ctx, values)
    out = ""
    if subjects:
        out += (f'<section class="subjects"><h2>{e(L.t("Subjects", ctx.lang))}</h2>'
                f'<ul class="subjects">{"".join(subjects)}</ul></section>')
    if classes:
        out += (f'<section class="classification"><h2>{e(L.t("Classification", ctx.lang))}</h2>'
                f'<ul class="classification">{"".join(classes)}</ul></section>')
    return out


def rows(ctx: Context, values: dict[str, list[Value]], skip=()) -> list[tuple[str, str]]:
    """(element label, values as HTML) for every element not hidden or in ``skip``, in the
    order of their labels."""
    out = []
    for p, vs in values.items():
        if p in HIDDEN or p in skip:
            continue
        out.append((L.element(p, ctx.lang), "; ".join(value(ctx, v) for v in vs)))
    return sorted(out, key=lambda r: r[0].lower())


def table(ctx: Context, values: dict[str, list[Value]], skip=()) -> str:
    """The remaining statements as a definition list (``<dl class="details">``)."""
    return definitions(rows(ctx, values, skip))
