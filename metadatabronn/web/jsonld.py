"""The well's JSON-LD: one subject's statements as a compact node against the published context
(:mod:`.context`), and a document's text. Entity documents, record graphs, dumps and the framed
form a PATCH applies to all come from here."""

from __future__ import annotations

from ..mapping import terms as T
from ..store import statement_order
from . import jsontext
from .context import CONTEXT, NAMES


def text(doc) -> bytes:
    """A JSON-LD document as the well sends it: indented by two (a work's document 5 µs, where the
    standard library's indenting encoder took 115)."""
    return jsontext.dumps(doc, indent=True)


def node(iri: str, triples, embedded: dict | None = None) -> dict:
    """One subject's statements as a compact JSON-LD node (``embedded``: IRI → statements of the
    nodes written in place of a link to them)."""
    context = CONTEXT["@context"]
    doc: dict = {"@id": iri}
    types = [_TYPE_NAMES.get(o, o) for o in sorted({o for _, p, o, lit, _, _ in triples
                                                     if p == T.RDF_TYPE and not lit})]
    if types:
        doc["@type"] = types[0] if len(types) == 1 else types
    for _, p, o, lit, lang, dt in sorted(triples, key=statement_order):  # (embedded nodes too)
        if p == T.RDF_TYPE:
            continue
        name = NAMES.get(p)
        term = context.get(name) if name else None
        links = isinstance(term, dict)
        if lit:
            value = ({"@value": o, "@language": lang} if lang else
                     {"@value": o, "@type": _compact_iri(dt)} if dt and dt != _XSD_STRING else o)
        elif embedded and o in embedded:
            value = node(o, embedded[o])
        else:
            value = o if links else {"@id": o}
        key = name or p
        if key in doc:
            if not isinstance(doc[key], list):
                doc[key] = [doc[key]]
            doc[key].append(value)
        else:
            doc[key] = value
    return doc


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_TYPE_NAMES = {v: k for k, v in CONTEXT["@context"].items() if k[:1].isupper() and isinstance(v, str)}


def _compact_iri(iri: str) -> str:
    for prefix in ("mb", "xsd", "rdam", "rdaw"):
        ns = CONTEXT["@context"][prefix]
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return iri
