"""The mapping emits only terms that vocabularies/ declares, and the code tables agree with them."""

from __future__ import annotations


import pyoxigraph as ox
import pytest
import rdflib

from metadatabronn.mapping import RULES, convert
from metadatabronn.mapping import terms as T
from metadatabronn.marc import RecordKind, iter_chunks, parse_chunk, record_kind
from metadatabronn.errors import RecordError
from metadatabronn.rdf import serialise

from .conftest import ROOT, record_with

VOCABULARIES = ROOT / "vocabularies"
CHECKED = ("http://rdaregistry.info/", T.MB, "http://schema.org/")


@pytest.fixture(scope="module")
def declared() -> set[str]:
    g = rdflib.Graph()
    for path in VOCABULARIES.glob("*.ttl"):
        g.parse(path)
    return {str(s) for s in g.subjects() if isinstance(s, rdflib.URIRef)}


def _emitted(descriptions) -> set[str]:
    """Every predicate, class and vocabulary term in the N-Quads of the descriptions."""
    terms = set()
    for d in descriptions:
        s = serialise(d, "http://example.org", source="t", source_hash="h", when="2026-01-01T00:00:00Z")
        text = s.nquads + "".join(c for _, _, c in s.cores)
        for q in ox.parse(text, format=ox.RdfFormat.N_QUADS):
            terms.add(q.predicate.value)
            if isinstance(q.object, ox.NamedNode):
                terms.add(q.object.value)
            elif isinstance(q.object, ox.Literal):
                terms.add(q.object.datatype.value)
    return {t for t in terms if t.startswith(CHECKED)}


def _real_descriptions():
    for path in (ROOT / "data" / "sample.mrc", ROOT / "data" / "fennica-sample.marcxml",
                 ROOT / "tests" / "data" / "golden" / "golden-cc0.marcxml"):
        for chunk in iter_chunks(path):
            try:
                record = parse_chunk(chunk)
            except RecordError:
                continue
            if record_kind(str(record.leader)) is RecordKind.BIBLIOGRAPHIC and record.get("245"):
                yield convert(record)


def test_real_records_emit_only_declared_terms(declared):
    emitted = _emitted(_real_descriptions())
    assert {T.M_TITLE_PROPER, T.E_CONTENT_TYPE, T.C_WORK, T.MB_CARRIED} <= emitted
    undeclared = emitted - declared
    assert not undeclared, sorted(undeclared)


def test_rule_examples_emit_only_declared_terms(declared):
    undeclared = _emitted(convert(record_with(r.example)) for r in RULES) - declared
    assert not undeclared, sorted(undeclared)


def test_every_term_the_code_names_is_declared(declared):
    named = {v for k, v in vars(T).items() if k.isupper() and isinstance(v, str) and v.startswith(CHECKED)
             and not v.endswith(("/", "#"))}
    named |= {T.content_iri(c) for c in T.CONTENT_CODES} | {T.media_iri(c) for c in T.MEDIA_CODES}
    named |= {T.carrier_iri(c) for c in T.CARRIER_CODES}
    assert not named - declared, sorted(named - declared)


def test_code_tables_match_declared_notations():
    g = rdflib.Graph().parse(VOCABULARIES / "rda-terms.ttl")
    notation = rdflib.URIRef(T.SKOS_NOTATION)
    by_iri = {str(s): str(o) for s, o in g.subject_objects(notation)}
    for code in T.CONTENT_CODES:
        assert by_iri[T.content_iri(code)] == code
    for code in T.MEDIA_CODES:
        assert by_iri[T.media_iri(code)] == code
    for code in T.CARRIER_CODES:
        assert by_iri[T.carrier_iri(code)] == code


def test_obsolete_language_codes_are_not_current_and_name_a_current_one():
    """The MARC code list's obsolete codes (scr, scc, tag, …) are not in ISO 639-2 as declared,
    and each replacement is: the mapping links only codes the profile accepts."""
    assert len(T.LANGUAGE_CODES) > 480 and {"eng", "srp", "hrv", "zxx", "und", "mul"} <= T.LANGUAGE_CODES
    assert not set(T.OBSOLETE_LANGUAGES) & T.LANGUAGE_CODES
    assert set(T.OBSOLETE_LANGUAGES.values()) <= T.LANGUAGE_CODES
    # Crow has no code of its own in the MARC list (it is coded sio); esk has several replacements.
    assert T.current_language("cro") is None and T.current_language("esk") is None


def test_general_creator_elements_are_the_declared_super_properties():
    """Each role the mapping states its general element beside is declared its sub-property, as
    the RDA Registry defines it; and no other declared sub-property of a general element is left
    without it."""
    from metadatabronn.mapping.roles import CODES, GENERAL

    g = rdflib.Graph().parse(VOCABULARIES / "rda-elements.ttl")
    sub = rdflib.RDFS.subPropertyOf
    declared_pairs = {(str(s), str(o)) for s, o in g.subject_objects(sub)}
    assert set(GENERAL.items()) == declared_pairs
    assert set(GENERAL.values()) == {T.W_CREATOR, T.E_CREATOR}
    assert set(GENERAL) <= {element for _, element in CODES.values()}
    # Issuing body, sponsor and degree grantor are related agents of the work, not creators.
    assert not {T.W_ISSUING, T.W_SPONSOR, T.W_DEGREE_GRANTOR} & set(GENERAL)
