"""RDF text out of plain statements (entity pages, service descriptions)."""

from __future__ import annotations

import pyoxigraph as ox

_RDF_FORMATS = {"turtle": "TURTLE", "ntriples": "N_TRIPLES", "jsonld": "JSON_LD", "rdfxml": "RDF_XML"}


def serialise_triples(triples, fmt: str, prefixes: dict[str, str] | None = None) -> bytes:
    """``(subject, predicate, object, is_literal, language, datatype)`` tuples as RDF text."""
    out = []
    for s, p, o, is_literal, lang, datatype in triples:
        if is_literal:
            obj = (ox.Literal(o, language=lang) if lang
                   else ox.Literal(o, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(o))
        else:
            obj = ox.BlankNode(o[2:]) if o.startswith("_:") else ox.NamedNode(o)
        subject = ox.BlankNode(s[2:]) if s.startswith("_:") else ox.NamedNode(s)
        out.append(ox.Triple(subject, ox.NamedNode(p), obj))
    kwargs = {"prefixes": prefixes} if prefixes and fmt in ("turtle", "rdfxml") else {}
    return ox.serialize(out, format=getattr(ox.RdfFormat, _RDF_FORMATS[fmt]), **kwargs)


def convert_rdf(text: str, fmt: str) -> bytes:
    """Turtle text in another RDF format (for small documents such as a service description)."""
    triples = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.TURTLE))
    return ox.serialize(triples, format=getattr(ox.RdfFormat, _RDF_FORMATS[fmt]))
