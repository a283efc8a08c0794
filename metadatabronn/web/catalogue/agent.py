"""The Agent page: names and variant names, dates, identifiers (ISNI, VIAF ... as links), the
register's quality level, related agents, the forms of the name as the authority record gives
them (nomens, with who gave them and the sources consulted), and the works the agent is named
in, by role (author of, translator of, subject of ...).

Everything comes from the statements about the agent (its core, its authority record graph,
writers' edits: the entity route reads them), the nomens it links to, and the statements naming
it (the store's object index): never a scan of the store."""

from __future__ import annotations

from ...mapping import terms as T
from ...store.pages import Value, facts, first
from ..oai_authority import identifier_uri
from . import labels as L
from .details import table
from .layout import Context, definitions, e
from .read import language_names, name, texts

NAMES = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP, T.A_PERSON_NAME, T.A_CORPORATE_NAME, T.A_FAMILY_NAME)
RDAN = "http://rdaregistry.info/Elements/n/"
# has variant access point for person / corporate body / family
VARIANTS = (T.RDAA + "P50412", T.RDAA + "P50408", T.RDAA + "P50410")
# has access point for person / corporate body / family: the agent's nomens
NOMEN_LINKS = (T.RDAA + "P50377", T.RDAA + "P50375", T.RDAA + "P50376")
N_STRING, N_SCHEME, N_ASSIGNED_BY, N_NOTE, N_SOURCE = (RDAN + "P80068", RDAN + "P80069", RDAN + "P80073",
                                                       RDAN + "P80071", RDAN + "P80139")
# is authorized access point for person / corporate body / family of
N_PREFERRED_OF = (RDAN + "P80107", RDAN + "P80103", RDAN + "P80105")
DATES = ((T.A_BIRTH, "Born"), (T.A_DEATH, "Died"), (T.A_PERSON_ACTIVITY, "Active"),
         (T.RDAA + "P50236", "Active"), (T.RDAA + "P50037", "Established"), (T.RDAA + "P50038", "Terminated"))
IDENTIFIERS = (T.MB_AUTHORITY_ID, T.MB_IDENTIFIER, T.A_PERSON_ID, T.A_CORPORATE_ID, T.A_AGENT_ID,
               T.RDAA + "P50052", T.OWL_SAMEAS)
# The well's keys for linking headings: bookkeeping, not description.
KEYS = (T.MB_LINK_KEY, T.MB_VARIANT_KEY)
ROLES = (*L.WORK_ROLES, *L.EXPRESSION_ROLES, T.E_CREATOR, *L.MANIFESTATION_ROLES, T.W_SUBJECT)
LIMIT = 1_000  # statements naming the agent read for one page


def identifier_html(value: str) -> str:
    """``(isni)000000012103268X`` as a link to ISNI (likewise VIAF, ORCID, Wikidata), a URI as a
    link, anything else as text."""
    uri = value if value.startswith(("http://", "https://")) else identifier_uri(value)
    return f'<a class="identifier" href="{e(uri)}">{e(value)}</a>' if uri else f'<span class="identifier">{e(value)}</span>'


def _about(ctx: Context, subject: str) -> str:
    """A linked work, expression or manifestation as a list item."""
    if "/expression/" in subject:
        work = first(ctx.store, subject, (T.E_WORK,))
        label = f"{name(ctx, work) if work else name(ctx, subject)} " \
                f"({language_names(ctx, ctx.store.values(subject, T.E_LANGUAGE))})"
        return ctx.link(subject, label)
    return ctx.link(subject, name(ctx, subject))


def _is_agent(ctx: Context, iri: str) -> bool:
    return iri.startswith(f"{ctx.base}/agent/")


def _related(ctx: Context, iri: str, values: dict[str, list[Value]], pointing) -> list[str]:
    """Agents this one is related to, each with the relationship as the record names it: the
    relationships it states (5XX of its authority) and those other agents state of it. RDA's
    relationships only: an agent merged into this one names it too (replaced by, same as)."""
    items = []
    for p, vs in values.items():
        if not p.startswith(T.RDAA):
            continue
        for v in vs:
            if not v.literal and _is_agent(ctx, v.text) and v.text != iri:
                items.append(f'<li><span class="relation">{e(L.element(p, ctx.lang))}</span> '
                             f'{ctx.link(v.text, name(ctx, v.text))}</li>')
    for s, p in pointing:
        if _is_agent(ctx, s) and s != iri and p not in ROLES and p.startswith(T.RDAA):
            items.append(f'<li>{ctx.link(s, name(ctx, s))} '
                         f'<span class="relation">({e(L.element(p, ctx.lang))})</span></li>')
    return list(dict.fromkeys(items))


def _nomens(ctx: Context, values: dict[str, list[Value]]) -> str:
    """The forms of the name as the authority record gives them: the string, preferred or
    variant, its scheme, who gave it, the sources consulted and notes."""
    rows = []
    for nomen in sorted({v.text for p in NOMEN_LINKS for v in values.get(p, ()) if not v.literal}):
        f = facts(ctx.store, nomen)
        string = "; ".join(texts(f, N_STRING))
        if not string:
            continue
        preferred = any(p in f for p in N_PREFERRED_OF)
        cells = [e(string), e(L.t("Preferred" if preferred else "Variant", ctx.lang)),
                 e("; ".join(texts(f, N_SCHEME))), e("; ".join(texts(f, N_ASSIGNED_BY))),
                 "<br>".join(e(x) for x in texts(f, N_SOURCE) + texts(f, N_NOTE))]
        rows.append((not preferred, nomen, "".join(f"<td>{c}</td>" for c in cells)))
    if not rows:
        return ""
    head = "".join(f"<th>{e(L.t(h, ctx.lang))}</th>" for h in ("Form", "Status", "Scheme", "Given by", "Sources"))
    body = "".join(f"<tr>{cells}</tr>" for _, _, cells in sorted(rows))
    return (f'<section class="nomens"><h2>{e(L.t("Forms of the name", ctx.lang))}</h2>'
            f'<table class="nomens"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>')


def render(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    """(title, body HTML) of the Agent page."""
    title = next((x for p in NAMES for x in texts(values, p)), None) or name(ctx, iri)
    names = list(dict.fromkeys(x for p in NAMES for x in texts(values, p)))
    variants = [v for v in dict.fromkeys(x for p in VARIANTS for x in texts(values, p)) if v not in names]
    facts_rows = [(L.t("Names", ctx.lang), "<br>".join(e(n) for n in names)),
                  (L.t("Variant names", ctx.lang), "<br>".join(f'<span class="variant">{e(n)}</span>'
                                                               for n in variants))]
    facts_rows += [(L.t(label, ctx.lang), e(", ".join(texts(values, p)))) for p, label in DATES]
    facts_rows.append((L.t("Identifiers", ctx.lang), "<br>".join(
        identifier_html(x) for x in dict.fromkeys(x for p in IDENTIFIERS for x in texts(values, p)))))
    facts_rows.append((L.t("Quality level", ctx.lang), e(", ".join(texts(values, T.MB_QUALITY)))))
    pointing = ctx.store.pointing_at(iri, limit=LIMIT)
    # By role; a work related to the agent otherwise (a name/title authority's 500) by relationship.
    works = [(s, p) for s, p in pointing if p in ROLES or (p.startswith(T.RDAW) and ctx.own(s) and "/work/" in s)]
    specific = {s for s, p in works if p not in L.GENERAL_ROLES}
    by_role: dict[str, list[str]] = {}
    for s, p in works:
        if p in L.GENERAL_ROLES and s in specific:
            continue
        by_role.setdefault(p, []).append(s)
    sections = []
    for p in sorted(by_role, key=lambda p: (ROLES.index(p) if p in ROLES else len(ROLES), p)):
        items = sorted((_about(ctx, s) for s in dict.fromkeys(by_role[p])), key=str.lower)
        sections.append(f'<section class="role"><h3>{e(L.role(p, ctx.lang))}</h3>'
                        f'<ul class="works">{"".join(f"<li>{i}</li>" for i in items)}</ul></section>')
    total = sum(len(set(v)) for v in by_role.values())
    related = _related(ctx, iri, values, pointing)
    body = [f"<h1>{e(title)}</h1>", definitions(facts_rows, "agent"),
            f'<section class="related"><h2>{e(L.t("Related agents", ctx.lang))}</h2>'
            f'<ul class="related">{"".join(related)}</ul></section>' if related else "",
            f'<section class="roles"><h2>{e(L.t("Named by", ctx.lang))} ({total})</h2>{"".join(sections)}</section>'
            if sections else "", _nomens(ctx, values)]
    shown = set(NAMES) | set(VARIANTS) | set(IDENTIFIERS) | {p for p, _ in DATES} | set(KEYS) | set(NOMEN_LINKS)
    shown |= {p for p, vs in values.items()
              if p.startswith(T.RDAA) and any(not v.literal and _is_agent(ctx, v.text) for v in vs)}
    rest = table(ctx, values, shown | {T.MB_QUALITY})
    if rest:
        body.append(f'<section class="details"><h2>{e(L.t("Details", ctx.lang))}</h2>{rest}</section>')
    return title, "".join(body)


__all__ = ["render", "identifier_html"]
