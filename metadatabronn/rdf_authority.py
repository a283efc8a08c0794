"""Authority descriptions → N-Quads: the record graph ``{base}/authority/{slug}`` and the cores
of the main entity and of the related entities.

The core of an entity (type, preferred name or title or label, access point; a work's key) is
what a bibliographic heading would write for it: whichever record mints the IRI first writes
it, and an authority never replaces it. Everything else the authority says is in its graph:
the entity's statements, its nomens (``{graph}#nomen-{n}``, n the field's position), its
identifier, link keys and variant keys, and the carried record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .identity import authority_keys, key, mint
from .mapping import terms as T
from .mapping.authority_terms import C_NOMEN, DCT_IS_REPLACED_BY, N_ASSIGNED_BY, N_SCHEME, N_STRING, kind_element
from .mapping.model import IRI, AuthorityDescription, Entity, Kind, Lit
from .mapping.text import manifestation_id
from .rdf import (AS_DELETED, AS_FORMER_TYPE, AS_TOMBSTONE, CLASS, DCT_SOURCE, MB_DESCRIBES, MB_KEY,
                  MB_SOURCE_RECORD, PROV_GENERATED, XSD_DATETIME, XSD_INTEGER, iri_value, literal, source_name)

# What the default graph holds of an entity (besides its type): as a bibliographic heading's core.
_CORE = {
    Kind.PERSON: {T.A_PERSON_NAME, T.A_PERSON_AAP},
    Kind.CORPORATE: {T.A_CORPORATE_NAME, T.A_CORPORATE_AAP},
    Kind.FAMILY: {T.A_FAMILY_NAME, T.A_FAMILY_AAP},
    Kind.WORK: {T.W_PREFERRED_TITLE, T.W_AAP},
    Kind.CONCEPT: {T.SKOS_PREFLABEL, T.SKOS_INSCHEME},
}


@dataclass(slots=True)
class AuthoritySerialised:
    graph: str
    entity: str  # the main entity's IRI, as minted here
    entity_class: str
    nquads: str
    cores: list[tuple[str, str, str]]  # (key, IRI, N-Quads) per entity: written when the key is new
    names: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (IRI, kind, name, preferred)
    links: list[str] = field(default_factory=list)  # mb:linkKey values
    variant_links: list[str] = field(default_factory=list)  # mb:variantKey values


def authority_graph(base: str, identifier: str) -> str:
    return f"{base}/authority/{manifestation_id(identifier)}"


def authority_record_id(base: str, graph: str) -> str:
    """The catalogue's identifier of an authority record graph: ``authority-{slug}``."""
    return "authority-" + graph.rsplit("/", 1)[-1]


def entity_iri(base: str, description: AuthorityDescription) -> str:
    return mint(base, description.entity)


def _obj(value, iris: dict[int, str]) -> str:
    if isinstance(value, Lit):
        return literal(value.text, value.lang, value.datatype)
    if isinstance(value, IRI):
        return f"<{iri_value(value.value)}>"
    return f"<{iri_value(iris[id(value)])}>"


def serialise_authority(description: AuthorityDescription, base: str, *, source: str, source_hash: str,
                        when: str, position: int | None = None) -> AuthoritySerialised:
    graph = authority_graph(base, description.identifier)
    g = f" <{graph}> .\n"
    main = description.entity
    iris = {id(e): mint(base, e) for e in description.entities}
    subject = iris[id(main)]
    s = f"<{iri_value(subject)}>"
    lines: list[str] = []
    append = lines.append
    cores = []
    for entity in description.entities:
        k = key(entity)
        e = f"<{iri_value(iris[id(entity)])}>"
        core = [f"{e} <{T.RDF_TYPE}> <{CLASS[entity.kind]}> .\n"]
        if entity.kind is Kind.WORK:
            core.append(f"{e} <{MB_KEY}> {literal(k)} .\n")
        kept = _CORE[entity.kind] if entity is main else None  # a related entity: its heading's core, whole
        for p, o in entity.statements:
            if kept is None or p in kept:
                core.append(f"{e} <{p}> {_obj(o, iris)} .\n")
        cores.append((k, iris[id(entity)], "".join(core)))
    # The main entity as this record states it, in the record's graph.
    for p, o in main.statements:
        append(f"{s} <{p}> {_obj(o, iris)}{g}")
    append(f"{s} <{T.MB_AUTHORITY_ID}> {literal(description.identifier)}{g}")
    links, variants = authority_keys(description)
    for k in links:
        append(f"{s} <{T.MB_LINK_KEY}> {literal(k)}{g}")
    for k in variants:
        append(f"{s} <{T.MB_VARIANT_KEY}> {literal(k)}{g}")
    for target in description.replaced_by:
        if main.kind is not Kind.WORK:
            append(f"{s} <{DCT_IS_REPLACED_BY}> <{iri_value(mint(base, Entity(main.kind, ('id', target))))}>{g}")
    names = []
    kind = main.kind
    for nomen in description.nomens:
        n = f"<{graph}#nomen-{nomen.position}>"
        append(f"{n} <{T.RDF_TYPE}> <{C_NOMEN}>{g}")
        append(f"{n} <{N_STRING}> {literal(nomen.string)}{g}")
        if nomen.scheme:
            append(f"{n} <{N_SCHEME}> {literal(nomen.scheme)}{g}")
        if nomen.source:
            append(f"{n} <{N_ASSIGNED_BY}> {literal(nomen.source)}{g}")
        append(f"{n} <{kind_element('nomen of' if nomen.preferred else 'variant nomen of', kind)}> {s}{g}")
        forward = kind_element("access point", kind)
        if forward is not None:
            append(f"{s} <{forward}> {n}{g}")
        for p, text in nomen.notes:
            append(f"{n} <{p}> {literal(text)}{g}")
        names.append((subject, nomen.kind.value, nomen.string, nomen.preferred))
    gs = f"<{graph}>"
    append(f"{gs} <{MB_DESCRIBES}> {s}{g}")
    append(f"{gs} <{DCT_SOURCE}> {literal(source_name(source))}{g}")
    if position is not None:
        append(f"{gs} <{MB_SOURCE_RECORD}> \"{int(position)}\"^^<{XSD_INTEGER}>{g}")
    append(f"{gs} <{PROV_GENERATED}> {literal(when, datatype=XSD_DATETIME)}{g}")
    append(f"{gs} <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}")
    if description.carried:
        append(f"{gs} <{T.MB_CARRIED}> {literal(description.carried)}{g}")
    return AuthoritySerialised(graph, subject, CLASS[kind], "".join(lines), cores, names, links, variants)


def authority_tombstone(base: str, identifier: str, entity: str, entity_class: str, *, source: str,
                        source_hash: str, when: str) -> str:
    """What is left of a deleted authority record: its entity's IRI, its identifier and when it
    went. The entity's core stays (its IRI still resolves, and headings may name it)."""
    graph = authority_graph(base, identifier)
    g = f" <{graph}> .\n"
    e = f"<{iri_value(entity)}>"
    return "".join([
        f"{e} <{T.RDF_TYPE}> <{AS_TOMBSTONE}>{g}",
        f"{e} <{AS_FORMER_TYPE}> <{entity_class}>{g}",
        f"{e} <{AS_DELETED}> {literal(when, datatype=XSD_DATETIME)}{g}",
        f"{e} <{T.MB_AUTHORITY_ID}> {literal(identifier)}{g}",
        f"<{graph}> <{MB_DESCRIBES}> {e}{g}",
        f"<{graph}> <{DCT_SOURCE}> {literal(source_name(source))}{g}",
        f"<{graph}> <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}",
    ])
