"""pySHACL, the reference engine: the same results as ``check``, slower, straight from SHACL.

Used by ``metadatabronn validate --engine pyshacl`` and by the test that proves the fast checker
gives identical results on every profile and corpus.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

import pyoxigraph as ox
import pyshacl
import rdflib
from rdflib.namespace import SH
from rdflib.plugins.sparql import processor

from .check import Result, Term
from .profile import Profile
from .shacl import to_shacl


@lru_cache(maxsize=8)
def _shapes(profile: Profile) -> rdflib.Graph:
    return rdflib.Graph().parse(data=to_shacl(profile), format="turtle")


def _rdflib(term):
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def _term(node) -> Term | None:
    if node is None:
        return None
    if isinstance(node, rdflib.URIRef):
        return Term("I", str(node))
    if isinstance(node, rdflib.Literal):
        lang = node.language
        datatype = str(node.datatype) if node.datatype else (
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString" if lang
            else "http://www.w3.org/2001/XMLSchema#string")
        return Term("L", str(node), datatype, lang)
    return Term("B", str(node))


_translated: dict = {}


@contextmanager
def _parsed_queries_kept():
    """pySHACL hands rdflib the same SPARQL text for every focus node, and rdflib parses it
    anew each time (about 0.2 s for the ISBN check-digit query): keep each parsed query."""
    original = processor.SPARQLProcessor.query

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):
        if isinstance(strOrQuery, str):
            key = (strOrQuery, base, tuple(sorted((initNs or {}).items())))
            if key not in _translated:
                _translated[key] = processor.translateQuery(processor.parseQuery(strOrQuery), base, initNs)
            strOrQuery = _translated[key]
        return original(self, strOrQuery, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = original


def validate(nquads: str, profile: Profile) -> list[Result]:
    """pySHACL's results for N-Quads data (all graphs merged, as the store's union view)."""
    data = rdflib.Graph()
    for q in ox.parse(nquads, format=ox.RdfFormat.N_QUADS):
        data.add((_rdflib(q.subject), _rdflib(q.predicate), _rdflib(q.object)))
    with _parsed_queries_kept():
        _, report, _ = pyshacl.validate(data, shacl_graph=_shapes(profile), advanced=False,
                                        inference="none", allow_warnings=True)
    out = []
    for r in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        source_shape = report.value(r, SH.sourceShape)
        out.append(Result(
            focus=str(report.value(r, SH.focusNode)),
            path=str(report.value(r, SH.resultPath)),
            severity=str(report.value(r, SH.resultSeverity)),
            component=str(report.value(r, SH.sourceConstraintComponent)),
            shape=str(source_shape),
            value=_term(report.value(r, SH.value)),
            message=str(report.value(r, SH.resultMessage) or ""),
            marc_tags=""))
    return out
