"""What the reverse mapping reads: one manifestation's entities and carried layout, from a
freshly converted record or from the statements the store holds."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import terms as T
from .model import IRI, Description, Lit
from .text import hint, manifestation_id

AAPS = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP)
NAMES = (T.A_PERSON_NAME, T.A_CORPORATE_NAME, T.A_FAMILY_NAME)
# Provenance texts are the record's, not its entities': they never fill a subfield.
_NOT_VALUES = {T.MB_CARRIED, T.MB_SOURCE_HASH, T.MB + "key", "http://purl.org/dc/terms/source"}



@dataclass(slots=True)
class AgentRef:
    """An agent named in the record: its headings and the identifiers export may add to them."""

    headings: set[int]
    ids: list[str]
    uris: list[str]
    # A concept known by an authority's URI rather than minted by the well: a heading without
    # that URI came from a concept of its own (see ``concepts.concept``), never from this one.
    external: bool = False
    # Edited in the well since the record was loaded: only then are its identifiers added.
    edited: bool = False
    # The identifier and URIs of the authority record describing it: always added to its headings.
    authority_ids: list[str] = field(default_factory=list)
    authority_uris: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Source:
    """What one manifestation's MARC record is written from.

    ``values`` holds the values of the primary chain by element (``"m"``, ``"e"``, ``"w"``),
    texts for literals and IRIs as strings; ``texts`` every literal of the record and the
    entities it names, as ``(element, text)``.
    """

    control_number: str
    carried: str
    values: dict[str, dict[str, list[str]]]
    texts: list[tuple[str, str]]
    agents: list[AgentRef] = field(default_factory=list)
    modified: str = ""
    deleted: bool = False
    identifiers: list[str] = field(default_factory=list)
    concepts: list[AgentRef] = field(default_factory=list)  # subjects: label, identifiers, URIs
    # The work's subject concepts as the store holds them: (IRI, preferred label, scheme IRI);
    # None for a record converted in memory, whose subjects are exactly its 6XX.
    subject_concepts: list[tuple[str, str, str]] | None = None
    # Which of the primary chain ("m", "e", "w") a cataloguer edited in the well after this
    # record was loaded: only then may the well add what the record did not say (a 240).
    edited: frozenset[str] = frozenset()
    # The titles of works that are subjects of the work (a 630 linked to a uniform title's
    # authority): a heading with one of them is still a subject.
    subject_works: frozenset[str] = frozenset()
    # Nothing it names was changed in the well since it was loaded, nor merged: every value the
    # entities hold goes out as the record wrote it, without looking it up among them. Then
    # ``texts``, ``agents`` and ``concepts`` hold only what an authority record describes.
    unedited: bool = False


def from_description(desc: Description) -> Source:
    """A :class:`Source` from a freshly converted record (the in-memory round trip)."""
    values: dict[str, dict[str, list[str]]] = {"m": {}, "e": {}, "w": {}}
    texts: list[tuple[str, str]] = []
    agents: list[AgentRef] = []
    concepts: list[AgentRef] = []
    main = {id(desc.manifestation): "m", id(desc.expression): "e", id(desc.work): "w"}
    for entity in desc.entities:
        role = main.get(id(entity))
        slot = values[role] if role else None
        for predicate, value in entity.statements:
            if isinstance(value, Lit):
                texts.append((predicate, value.text))
                if slot is not None:
                    slot.setdefault(predicate, []).append(value.text)
            elif isinstance(value, IRI):
                if predicate == T.OWL_SAMEAS:
                    texts.append((predicate, value.value))
                if slot is not None:
                    slot.setdefault(predicate, []).append(value.value)
        if entity.kind.value in ("person", "corporate", "family"):
            agents.append(_agent_ref(entity.statements))
        elif entity.kind.value == "concept":
            concepts.append(_agent_ref(entity.statements))
    return Source(desc.control_number, desc.carried, values, texts, agents, deleted=desc.deleted,
                  concepts=concepts)


def _agent_ref(statements) -> AgentRef:
    """An agent's (or a concept's) headings by fingerprint, with its identifiers and URIs."""
    ref = AgentRef(set(), [], [])
    for predicate, value in statements:
        if (predicate in AAPS or predicate == T.SKOS_PREFLABEL) and isinstance(value, Lit):
            ref.headings.add(hint(value.text))
        elif predicate == T.OWL_SAMEAS:
            ref.uris.append(value.value if isinstance(value, IRI) else str(value))
        elif predicate in (T.A_PERSON_ID, T.A_CORPORATE_ID, T.A_AGENT_ID, T.DCT_IDENTIFIER) and isinstance(value, Lit):
            ref.ids.append(value.text)
        elif predicate == T.MB_AUTHORITY_ID:
            ref.authority_ids.append(value.text if isinstance(value, Lit) else str(value))
        elif predicate == MB_AUTHORITY_URI:
            ref.authority_uris.append(value.value if isinstance(value, IRI) else str(value))
    return ref


def control_number_of(statements, manifestation: str) -> str:
    """The record's control number among the manifestation's identifiers: the one its IRI was
    minted from (``(DLC)00001813`` for ``…/manifestation/DLC-00001813``). A record without 003
    has a bare number there, beside ISBNs and other numbers just as bare."""
    tail = manifestation.rsplit("/", 1)[-1]
    ids = [o for s, p, o, lit in statements if s == manifestation and p == T.M_IDENTIFIER and lit]
    return next((i for i in ids if manifestation_id(i) == tail), tail)


MB_MERGED = T.MB + "merged"  # a record graph's note of a merge (store.merging)
MB_AUTHORITY_URI = T.MB + "authorityUri"  # a URI the heading's authority gives (store.records)
DCT_IS_REPLACED_BY = "http://purl.org/dc/terms/isReplacedBy"


def from_triples(control_number: str, manifestation: str, triples, carried: str, *, modified: str = "",
                 deleted: bool = False, edited: frozenset[str] = frozenset(), unchanged: bool = False) -> Source:
    """A :class:`Source` from a record's statements as read from the store.

    ``triples`` are ``(subject, predicate, object, is_literal)`` of the record's graph and of
    the cores of the entities it names; ``edited`` the IRIs of entities changed in the well
    since the record was loaded; ``unchanged`` that nothing it names changed in the well since
    (``Store.record_statements``), which makes the source ``unedited`` unless it names a merged
    entity.
    """
    by_subject: dict[str, list[tuple[str, str, bool]]] = {}
    for s, p, o, is_literal in triples:
        by_subject.setdefault(s, []).append((p, o, is_literal))
    # Entities this record named that a cataloguer merged into others: what it says of them it
    # now says of the survivor, which counts as edited in the well, and the merged entity's
    # heading (the record's form) goes out with the survivor's IRI in $1.
    merged = {o: next((x for p, x, lit in by_subject.get(o, ()) if p == DCT_IS_REPLACED_BY and not lit), None)
              for _, p, o, lit in triples if p == MB_MERGED and not lit}
    if merged:
        edited = edited | {x for x in merged.values() if x}
        for old in merged:  # a merged work's own title is not this record's any more: the survivor's is
            if any(p == T.RDF_TYPE and o in (T.C_WORK, T.C_EXPRESSION) for p, o, _ in by_subject.get(old, ())):
                del by_subject[old]
    own = by_subject.get(manifestation, [])
    expression = next((o for p, o, lit in own if p == T.M_EXPRESSION and not lit), "")
    work = next((o for p, o, lit in own if p == T.M_WORK and not lit), "")
    values: dict[str, dict[str, list[str]]] = {"m": {}, "e": {}, "w": {}}
    for role, subject in (("m", manifestation), ("e", expression), ("w", work)):
        slot = values[role]
        for p, o, _ in by_subject.get(subject, ()):
            slot.setdefault(p, []).append(o)
    texts: list[tuple[str, str]] = []
    agents: list[AgentRef] = []
    concepts: list[AgentRef] = []
    unedited = unchanged and not merged and not edited and not deleted
    # Such a record goes out as written (``to_marc``): no value is looked up among the texts,
    # and only an authority's identifiers are added to its headings, so only the entities an
    # authority describes need a reference.
    described = {s for s, p, _, _ in triples if p == T.MB_AUTHORITY_ID} if unedited else None
    for subject, statements in by_subject.items():
        if described is not None and subject not in described:
            continue
        is_agent = is_concept = False
        for p, o, is_literal in statements:
            if is_literal and p not in _NOT_VALUES:
                texts.append((p, o))
            elif p == T.OWL_SAMEAS:
                texts.append((p, o))
            if p in AAPS:
                is_agent = True
            elif p == T.SKOS_PREFLABEL:
                is_concept = True
        if is_agent or is_concept:
            ref = _agent_ref([(p, Lit(o) if lit else IRI(o)) for p, o, lit in statements])
            if is_concept and subject.startswith("http") and "/concept/" not in subject:
                ref.uris.append(subject)  # a concept known by its authority URI ($0/$1) is that URI
                ref.external = True
            ref.edited = subject in edited
            survivor = merged.get(subject)
            if survivor:
                ref.edited = True
                # Merged into an authority's entity: the heading gets the authority's identifiers,
                # not the well's IRI.
                ref.authority_ids = [o for p, o, _ in by_subject.get(survivor, ()) if p == T.MB_AUTHORITY_ID]
                ref.authority_uris = [o for p, o, _ in by_subject.get(survivor, ()) if p == MB_AUTHORITY_URI]
                if not ref.authority_ids:
                    ref.uris.append(survivor)
                else:  # (its owl:sameAs the survivor, which the merge wrote)
                    ref.uris = [u for u in ref.uris if u != survivor]
            (agents if is_agent else concepts).append(ref)
    identifiers = values["m"].get(T.M_IDENTIFIER, [])
    subject_concepts = []
    subject_works: set[str] = set()
    for concept in values["w"].get(T.W_SUBJECT, ()):
        if described is not None and concept not in described:
            continue
        statements = by_subject.get(concept, ())
        label = next((o for p, o, lit in statements if p == T.SKOS_PREFLABEL and lit), None)
        if label is None:
            # A work as subject: a 630 whose $9 named a uniform title's authority names its work.
            # Its heading is found by the work's titles; it is never written anew from them.
            titles = [o for p, o, lit in statements if p in (T.W_AAP, T.W_PREFERRED_TITLE) and lit]
            if titles:
                subject_works.update(titles)
                ref = _agent_ref([(p, Lit(o) if lit else IRI(o)) for p, o, lit in statements])
                ref.headings.update(hint(t) for t in titles)
                concepts.append(ref)
        if label:
            scheme = next((o for p, o, lit in statements if p == T.SKOS_INSCHEME and not lit), "")
            subject_concepts.append((concept, label, scheme))
    subject_concepts.sort(key=lambda c: (c[1].casefold(), c[0]))  # the store's order is no order
    roles = frozenset(role for role, subject in (("m", manifestation), ("e", expression), ("w", work))
                      if subject and subject in edited)
    return Source(control_number, carried, values, texts, agents, modified, deleted, identifiers,
                  concepts=concepts, subject_concepts=subject_concepts, edited=roles,
                  subject_works=frozenset(subject_works), unedited=unedited)


