"""An entity's HTML page, by its kind: what ``GET /{kind}/{id}`` answers a browser."""

from __future__ import annotations

from ...mapping import terms as T
from ...store.pages import Value
from . import agent, manifestation, other, work
from . import labels as L
from .layout import Context, e, page

_KINDS = {T.C_WORK: ("Work", work.render), T.C_EXPRESSION: ("Expression", other.expression),
          T.C_MANIFESTATION: ("Manifestation", manifestation.render), T.C_ITEM: ("Item", other.item),
          T.C_PERSON: ("Person", agent.render), T.C_CORPORATE: ("Corporate body", agent.render),
          T.C_FAMILY: ("Family", agent.render), T.C_CONCEPT: ("Concept", other.concept)}
_FORMATS = ("jsonld", "turtle", "ntriples", "rdfxml")


def values_of(triples) -> dict[str, list[Value]]:
    """Statements ``(subject, predicate, object, is_literal, language, datatype)`` as element →
    values, each value once."""
    out: dict[str, list[Value]] = {}
    seen = set()
    for _, p, o, lit, _, dt in triples:
        if (p, o) not in seen:
            seen.add((p, o))
            out.setdefault(p, []).append(Value(o, lit, dt if lit else None))
    return out


def render(store, base: str, iri: str, types, triples, lang: str) -> str:
    """The whole page of entity ``iri`` (its ``types`` and statements as the entity route read
    them) in ``lang`` ("en" or "nb")."""
    ctx = Context(store, base, lang)
    kind, writer = next((_KINDS[t] for t in sorted(types) if t in _KINDS), ("Entity", other.generic))
    title, body = writer(ctx, iri, values_of(triples))
    formats = list(_FORMATS) + (["marcxml", "marc"] if kind == "Manifestation" else [])
    also = " · ".join(f'<a href="?format={f}">{f}</a>' for f in formats)
    body += (f'<p class="formats">{e(L.t("Also as", lang))} {also}</p>'
             f'<p class="iri"><code>{e(iri)}</code></p>')
    return page(title, body, lang, kind=L.t(kind, lang), page_class=kind.lower().replace(" ", "-"))
