"""The Agent page: names, dates, identifiers, and the works the agent is named in, by role
(author of, translator of, subject of ...)."""

from __future__ import annotations

from ...mapping import terms as T
from ...store.pages import Value, first
from . import labels as L
from .details import table
from .layout import Context, definitions, e
from .read import language_names, name, texts

NAMES = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP, T.A_PERSON_NAME, T.A_CORPORATE_NAME, T.A_FAMILY_NAME)
DATES = ((T.A_BIRTH, "Born"), (T.A_DEATH, "Died"), (T.A_PERSON_ACTIVITY, "Active"),
         ("http://rdaregistry.info/Elements/a/P50236", "Active"))
IDENTIFIERS = (T.A_PERSON_ID, T.A_CORPORATE_ID, T.A_AGENT_ID, T.OWL_SAMEAS)
ROLES = (*L.WORK_ROLES, *L.EXPRESSION_ROLES, T.E_CREATOR, *L.MANIFESTATION_ROLES, T.W_SUBJECT)
LIMIT = 1_000  # statements naming the agent read for one page


def _about(ctx: Context, subject: str) -> str:
    """A linked work, expression or manifestation as a list item."""
    if "/expression/" in subject:
        work = first(ctx.store, subject, (T.E_WORK,))
        label = f"{name(ctx, work) if work else name(ctx, subject)} " \
                f"({language_names(ctx, ctx.store.values(subject, T.E_LANGUAGE))})"
        return ctx.link(subject, label)
    return ctx.link(subject, name(ctx, subject))


def render(ctx: Context, iri: str, values: dict[str, list[Value]]) -> tuple[str, str]:
    """(title, body HTML) of the Agent page."""
    title = next((x for p in NAMES for x in texts(values, p)), None) or name(ctx, iri)
    names = list(dict.fromkeys(x for p in NAMES for x in texts(values, p)))
    facts_rows = [(L.t("Names", ctx.lang), "<br>".join(e(n) for n in names))]
    facts_rows += [(L.t(label, ctx.lang), e(", ".join(texts(values, p)))) for p, label in DATES]
    facts_rows.append((L.t("Identifiers", ctx.lang), "<br>".join(
        f'<a href="{e(x)}">{e(x)}</a>' if x.startswith("http") else e(x) for p in IDENTIFIERS for x in texts(values, p))))
    pointing = [(s, p) for s, p in ctx.store.pointing_at(iri, limit=LIMIT) if p in ROLES]
    specific = {s for s, p in pointing if p not in L.GENERAL_ROLES}
    by_role: dict[str, list[str]] = {}
    for s, p in pointing:
        if p in L.GENERAL_ROLES and s in specific:
            continue
        by_role.setdefault(p, []).append(s)
    sections = []
    for p in sorted(by_role, key=lambda p: (ROLES.index(p), p)):
        items = sorted((_about(ctx, s) for s in dict.fromkeys(by_role[p])), key=str.lower)
        sections.append(f'<section class="role"><h3>{e(L.role(p, ctx.lang))}</h3>'
                        f'<ul class="works">{"".join(f"<li>{i}</li>" for i in items)}</ul></section>')
    total = sum(len(set(v)) for v in by_role.values())
    body = [f"<h1>{e(title)}</h1>", definitions(facts_rows, "agent"),
            f'<section class="roles"><h2>{e(L.t("Named by", ctx.lang))} ({total})</h2>{"".join(sections)}</section>'
            if sections else ""]
    rest = table(ctx, values, set(NAMES) | set(IDENTIFIERS) | {p for p, _ in DATES})
    if rest:
        body.append(f'<section class="details"><h2>{e(L.t("Details", ctx.lang))}</h2>{rest}</section>')
    return title, "".join(body)


__all__ = ["render"]
