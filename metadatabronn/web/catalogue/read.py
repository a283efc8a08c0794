"""What the pages show of linked entities, read by pattern from the store: names and titles,
an edition's row, an expression's languages, contributors and editions."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...mapping import terms as T
from ...store.pages import Value, facts, first, subjects
from . import labels as L
from .layout import Context

TOMBSTONE = "https://www.w3.org/ns/activitystreams#Tombstone"
NAME_ELEMENTS = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP, T.A_PERSON_NAME, T.A_CORPORATE_NAME,
                 T.A_FAMILY_NAME, T.W_PREFERRED_TITLE, T.M_TITLE_PROPER, T.SKOS_PREFLABEL, T.I_LOCATION)
MAX_EDITIONS = 2_000  # manifestations read for one expression's table
# The elements that name an entity of each kind, by the kind its IRI's path says: one look-up
# for most names instead of one for every element that could name something.
_NAMED_BY = {"work": (T.W_PREFERRED_TITLE, T.W_AAP), "manifestation": (T.M_TITLE_PROPER,),
             "agent": NAME_ELEMENTS[:6], "concept": (T.SKOS_PREFLABEL,), "item": (T.I_LOCATION,)}


def name(ctx: Context, iri: str) -> str:
    """How a linked entity is named: an agent by its access point, a work by its preferred
    title, a manifestation by its title proper, a concept by its label."""
    found = ctx.names.get(iri)
    if found is None:
        kind = iri[len(ctx.base) + 1:].split("/", 1)[0] if ctx.own(iri) else ""
        found = first(ctx.store, iri, _NAMED_BY.get(kind, NAME_ELEMENTS))
        if found is None and kind in _NAMED_BY:
            found = first(ctx.store, iri, NAME_ELEMENTS)
        if found is None:
            work = first(ctx.store, iri, (T.E_WORK,))
            found = name(ctx, work) if work else iri.rsplit("/", 1)[-1]
        ctx.names[iri] = found
    return found


def texts(values: dict[str, list[Value]], predicate: str) -> list[str]:
    return [v.text for v in values.get(predicate, ())]


@dataclass
class Edition:
    """One manifestation as a row of an editions table."""

    iri: str
    title: str
    year: int | None
    date: str
    place: str
    publisher: str
    edition: str
    extent: str
    isbns: list[str]
    expression: str = ""


def edition(ctx: Context, iri: str, values: dict[str, list[Value]] | None = None) -> Edition | None:
    """The row of manifestation ``iri``; None for a deleted one (a tombstone)."""
    f = values if values is not None else facts(ctx.store, iri)
    if not f or TOMBSTONE in texts(f, T.RDF_TYPE):
        return None
    dates = (texts(f, T.M_DATE_PUB) or texts(f, T.M_COPYRIGHT) or texts(f, T.M_DATE_PROD)
             or texts(f, T.M_DATE_DIST) or texts(f, T.M_DATE_MANU))
    date = dates[0] if dates else ""
    year = L.year(date) or L.year(next(iter(texts(f, T.M_PUBLICATION)), None))
    isbns = [v[len("urn:isbn:"):] for v in texts(f, T.M_IDENTIFIER) if v.startswith("urn:isbn:")]
    return Edition(iri=iri, title=" : ".join(texts(f, T.M_TITLE_PROPER)[:1] + texts(f, T.M_OTHER_TITLE)[:1]),
                   year=year, date=date, place=" ; ".join(texts(f, T.M_PLACE_PUB)),
                   publisher=" : ".join(texts(f, T.M_PUBLISHER_NAME)), edition="; ".join(texts(f, T.M_EDITION)),
                   extent="; ".join(texts(f, T.M_EXTENT)), isbns=isbns,
                   expression=next(iter(texts(f, T.M_EXPRESSION)), ""))


def newest_first(editions: list[Edition]) -> list[Edition]:
    """Newest first; editions without a year last; ties by date as given, then IRI."""
    return sorted(editions, key=lambda ed: (ed.year is None, -(ed.year or 0), ed.date, ed.iri))


@dataclass
class ExpressionInfo:
    iri: str
    languages: list[str]
    content_types: list[str]
    contributors: list[tuple[str, str]]  # (role element, agent IRI)
    translation_of: list[str]
    editions: list[Edition] = field(default_factory=list)
    values: dict = field(default_factory=dict)


def agents_by_role(values: dict[str, list[Value]], roles: tuple[str, ...]) -> list[tuple[str, str]]:
    """(role element, agent) pairs; an agent named under a specific role is not listed again
    under the general one ("creator agent of work" beside "author agent")."""
    pairs = list(dict.fromkeys((p, v.text) for p in dict.fromkeys(roles) for v in values.get(p, ()) if not v.literal))
    specific = {agent for p, agent in pairs if p not in L.GENERAL_ROLES}
    return [(p, a) for p, a in pairs if p not in L.GENERAL_ROLES or a not in specific]


def expression_info(ctx: Context, iri: str, values: dict[str, list[Value]] | None = None) -> ExpressionInfo:
    f = values if values is not None else facts(ctx.store, iri)
    info = ExpressionInfo(iri=iri, languages=texts(f, T.E_LANGUAGE), content_types=texts(f, T.E_CONTENT_TYPE),
                          contributors=agents_by_role(f, L.EXPRESSION_ROLES + (T.E_CREATOR,)),
                          translation_of=texts(f, T.E_TRANSLATION_OF), values=f)
    rows = [edition(ctx, m) for m in subjects(ctx.store, T.M_EXPRESSION, iri, MAX_EDITIONS)]
    info.editions = newest_first([r for r in rows if r is not None])
    return info


def language_names(ctx: Context, languages: list[str]) -> str:
    """The languages of an expression by name; "Undetermined" when it gives none."""
    return ", ".join(L.language(lang, ctx.lang) for lang in languages or ["und"])
