"""RDF text out of plain statements (entity pages, service descriptions)."""

from __future__ import annotations

import pyoxigraph as ox

_RDF_FORMATS = {"turtle": "TURTLE", "ntriples": "N_TRIPLES", "jsonld": "JSON_LD", "rdfxml": "RDF_XML"}


def serialise_triples(triples, fmt: str, prefixes: dict[str, str] | None = None) -> bytes:
    """``(subject, predicate, object, is_literal, language, datatype)`` tuples as RDF text, in
    one order whatever order they were read in: the same statements give the same document from
    any store (an embedded one, a SPARQL server, a mirror), byte for byte."""
    out = []
    for s, p, o, is_literal, lang, datatype in sorted(triples, key=statement_order):
        if is_literal:
            obj = (ox.Literal(o, language=lang) if lang
                   else ox.Literal(o, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(o))
        else:
            obj = ox.BlankNode(o[2:]) if o.startswith("_:") else ox.NamedNode(o)
        subject = ox.BlankNode(s[2:]) if s.startswith("_:") else ox.NamedNode(s)
        out.append(ox.Triple(subject, ox.NamedNode(p), obj))
    kwargs = {"prefixes": prefixes} if prefixes and fmt in ("turtle", "rdfxml") else {}
    return ox.serialize(out, format=getattr(ox.RdfFormat, _RDF_FORMATS[fmt]), **kwargs)


def statement_order(t) -> tuple:
    """The sort key of a statement tuple (as :func:`serialise_triples` takes them): one order for
    the same statements, whatever store they were read from."""
    s, p, o, is_literal, lang, datatype = t
    return s, p, bool(is_literal), o, lang or "", datatype or ""


def convert_rdf(text: str, fmt: str) -> bytes:
    """Turtle text in another RDF format (for small documents such as a service description)."""
    triples = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.TURTLE))
    return ox.serialize(triples, format=getattr(ox.RdfFormat, _RDF_FORMATS[fmt]))


class BodySyntaxError(ValueError):
    """An RDF body that does not parse; ``line`` and ``column`` where the parser gives them."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


_BODY_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD, "ntriples": ox.RdfFormat.N_TRIPLES}


def parse_statements(data: bytes, fmt: str, base_iri: str):
    """The statements of a write's body as ``(subject, (predicate, object, is_literal, language,
    datatype))``; a blank node subject is given as "" (the entity a POST creates). Statements
    in a named graph, and blank nodes as objects, are refused: an entity is written as plain
    statements about its IRI."""
    try:
        quads = list(ox.parse(data, format=_BODY_FORMATS[fmt], base_iri=base_iri))
    except SyntaxError as exc:
        raise BodySyntaxError(str(exc), getattr(exc, "lineno", None), getattr(exc, "offset", None)) from None
    except ValueError as exc:
        raise BodySyntaxError(str(exc)) from None
    out = []
    blanks = set()
    for q in quads:
        if not isinstance(q.graph_name, ox.DefaultGraph):
            raise BodySyntaxError("the body names a graph: write the entity as plain statements")
        s = q.subject
        if isinstance(s, ox.BlankNode):
            blanks.add(s.value)
            subject = ""
        else:
            subject = s.value
        o = q.object
        if isinstance(o, ox.BlankNode):
            raise BodySyntaxError(f"a blank node as the value of <{q.predicate.value}>: give it an IRI")
        lit = isinstance(o, ox.Literal)
        out.append((subject, (q.predicate.value, o.value, lit, o.language if lit else None,
                              o.datatype.value if lit and o.datatype is not None else None)))
    if len(blanks) > 1:
        raise BodySyntaxError("the body describes several nodes without an IRI: give the entity one, or none")
    return out
