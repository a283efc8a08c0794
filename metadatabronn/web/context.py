"""The JSON-LD context published at /context.jsonld: readable names for the elements the
mapping emits, built from the names the mapping's term table gives them."""

from __future__ import annotations

from ..mapping import roles as R
from ..mapping import terms as T

_ENTITY = {"W": "work", "E": "expression", "M": "manifestation", "I": "item", "A": "agent"}
_WORDS = {"AAP": "AccessPoint", "SOR": "StatementOfResponsibility", "PUB": "Publication",
          "PROD": "Production", "DIST": "Distribution", "MANU": "Manufacture", "ID": "Identifier"}
_OVERRIDES = {T.M_EXPRESSION: "expressionManifested", T.M_WORK: "workManifested", T.E_WORK: "workExpressed",
              T.I_MANIFESTATION: "manifestationExemplified", T.OWL_SAMEAS: "sameAs", T.RDF_TYPE: "@type",
              T.SKOS_PREFLABEL: "prefLabel", T.SKOS_INSCHEME: "inScheme", T.SKOS_NOTATION: "notation",
              T.MB_CARRIED: "carriedMarc", T.MB_INFERRED: "inferred", T.MB_INVALID_IDENTIFIER: "invalidIdentifier",
              T.MB + "key": "clusterKey", T.MB + "statedIn": "statedIn"}
# Elements whose values are entities or vocabulary terms: "@id" in the context.
_LINKS = {*(element for _, element in R.CODES.values()), T.W_AUTHOR, T.W_CREATOR, T.E_CREATOR,
          T.W_SUBJECT, T.M_EXPRESSION, T.M_WORK, T.E_WORK, T.I_MANIFESTATION, T.OWL_SAMEAS, T.SKOS_INSCHEME,
          T.E_CONTENT_TYPE, T.E_LANGUAGE, T.E_AUDIENCE, T.E_TRANSLATION_OF, T.M_MEDIA, T.M_CARRIER,
          T.M_MODE, T.W_PART_OF, T.W_RELATED_WORK, T.W_CATEGORY, T.MB_INFERRED, T.MB + "statedIn"}


def _camel(words: list[str]) -> str:
    parts = [_WORDS.get(w, w.capitalize()) for w in words]
    text = "".join(parts)
    return text[:1].lower() + text[1:]


def _build() -> dict:
    names: dict[str, str] = {}
    taken: dict[str, str] = {}
    for const, iri in sorted(vars(T).items()):
        if not isinstance(iri, str) or not const[:2] in ("W_", "E_", "M_", "I_", "A_") or iri in names:
            continue
        name = _OVERRIDES.get(iri) or _camel(const[2:].split("_"))
        if name in taken and taken[name] != iri:
            name = _ENTITY[const[0]] + name[:1].upper() + name[1:]
        names[iri] = name
        taken[name] = iri
    for iri, name in _OVERRIDES.items():
        names.setdefault(iri, name)
    context: dict = {
        "rdac": T.RDAC, "rdaw": T.RDAW, "rdae": T.RDAE, "rdam": T.RDAM, "rdai": T.RDAI, "rdaa": T.RDAA,
        "skos": T.SKOS, "mb": T.MB, "xsd": "http://www.w3.org/2001/XMLSchema#",
        "Work": T.C_WORK, "Expression": T.C_EXPRESSION, "Manifestation": T.C_MANIFESTATION, "Item": T.C_ITEM,
        "Person": T.C_PERSON, "CorporateBody": T.C_CORPORATE, "Family": T.C_FAMILY, "Concept": T.C_CONCEPT,
    }
    for iri, name in names.items():
        if name.startswith("@"):
            continue
        context[name] = {"@id": iri, "@type": "@id"} if iri in _LINKS else iri
    return {"@context": context}


CONTEXT = _build()
NAMES = {(v["@id"] if isinstance(v, dict) else v): k for k, v in CONTEXT["@context"].items()
         if not k[0].isupper() and (isinstance(v, dict) or v.startswith("http")) and k not in (
             "rdac", "rdaw", "rdae", "rdam", "rdai", "rdaa", "skos", "mb", "xsd")}
