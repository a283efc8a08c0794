"""Handlers for subject concepts (6XX as SKOS concepts, 653 index terms) and classification
(050/082), with the labels that MARC out finds them by again."""

from __future__ import annotations

from . import terms as T
from .builder import Builder
from .model import Entity, IRI, Kind, Lit
from .text import strip_heading

_SUBDIVISIONS = "vxyz"

SCHEMES = {
    "0": "lcsh", "1": "lcshac", "2": "mesh", "3": "nal", "5": "cash", "6": "rvm",
}
SCHEME_IRIS = {
    "lcsh": "http://id.loc.gov/authorities/subjects",
    "lcgft": "http://id.loc.gov/authorities/genreForms",
    "mesh": "http://id.nlm.nih.gov/mesh",
    "fast": "http://id.worldcat.org/fast",
}


def scheme_iri(code: str) -> str:
    return SCHEME_IRIS.get(code) or f"https://w3id.org/metadatabronn/scheme/{code or 'uncontrolled'}"


_SCHEME_TERMS: dict[str, IRI] = {}


def _scheme_iri_term(code: str) -> IRI:
    # An IRI is immutable: one object per scheme serves every concept (bounded, as $2 is free text).
    term = _SCHEME_TERMS.get(code)
    if term is None:
        if len(_SCHEME_TERMS) > 4096:
            _SCHEME_TERMS.clear()
        term = _SCHEME_TERMS[code] = IRI(scheme_iri(code))
    return term


def concept_label(subfields) -> str:
    """A subject heading's label: its parts without closing punctuation, subdivisions after " -- "."""
    label_parts: list[str] = []
    for code, value in subfields:
        if code in "0123456789":
            continue
        v = strip_heading(value)
        if not v:
            continue
        if code in _SUBDIVISIONS and label_parts:
            label_parts.append("--")
        label_parts.append(v)
    return " ".join(label_parts)


def index_terms(subfields) -> list[str]:
    """A 653's uncontrolled index terms: each $a on its own, without closing punctuation."""
    return [term for term in (strip_heading(v) for c, v in subfields if c == "a") if term]


def concept_labels(tag: str, subfields) -> list[str]:
    """The labels of the concepts a subject heading names: one per 653 $a, else the heading's label."""
    if tag == "653":
        return list(dict.fromkeys(index_terms(subfields)))
    label = concept_label(subfields)
    return [label] if label else []


def concept(b: Builder, field) -> Entity | None:
    """The concept a (controlled) subject heading names, keyed by its $0/$1 URI or its label."""
    subfields = field.subfields
    label = concept_label(subfields)
    if not label:
        return None
    # The first $0/$1 that is a URI, the first $2, and every $0 that is an identifier, not a URI.
    uri = source = None
    identifiers = []
    for c, v in subfields:
        if c == "2":
            if source is None:
                source = v.strip()
        elif c in "01":
            v = v.strip()
            if v.startswith("http"):
                if uri is None:
                    uri = v
            elif c == "0" and v:
                identifiers.append(v)
    scheme = SCHEMES.get(field.indicator2) or source or ""
    local = None
    if uri is None:  # Koha's $9: the local number of the heading's authority record
        for c, v in subfields:
            if c == "9" and v.strip().isdigit():
                local = v.strip()
                break
    return _concept(b, label, scheme, uri, identifiers, local)


def _concept(b: Builder, label: str, scheme: str, uri: str | None, identifiers, local: str | None = None) -> Entity:
    basis = ("uri", uri) if uri else ("local", local) if local else ("label", scheme, label)
    entity = b.entity(Kind.CONCEPT, basis)
    if not entity.statements:
        b.add(entity, T.SKOS_PREFLABEL, label)
        if scheme or not uri:
            entity.add(T.SKOS_INSCHEME, _scheme_iri_term(scheme))
        for ident in identifiers:
            entity.add(T.DCT_IDENTIFIER, ident)
    return entity


def classification(b: Builder, field) -> None:
    """050 (LCC) and 082 (DDC): the class number, a notation typed by its scheme.

    A typed literal rather than a concept: LC class numbers usually carry the book's own
    cutter ("PZ3.D228"), so a concept per number would describe one book, not a class.
    """
    datatype = T.MB_LCC if field.tag == "050" else T.MB_DDC
    for code, value in field.subfields:
        if code != "a":
            continue
        number = value.strip()  # as given: DDC prime marks (/) cannot be derived again
        if number:
            b.add(b.work, T.W_SUBJECT, Lit(number, datatype=datatype))
