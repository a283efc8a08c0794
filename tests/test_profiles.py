"""The application profiles: the tables, the SHACL and the docs agree; the SHACL is valid SHACL;
pySHACL reports exactly what each kind of row says; every IRI is declared."""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
import rdflib
from rdflib import RDF, Literal, Namespace, URIRef

from metadatabronn.errors import ConfigError
from metadatabronn.mapping import terms as T
from metadatabronn.validate import docs as D
from metadatabronn.validate import profile as P
from metadatabronn.validate import shacl as S
from metadatabronn.validate import reference

from .conftest import ROOT

SH = Namespace("http://www.w3.org/ns/shacl#")
RDAC = Namespace(T.RDAC)
RDAW = Namespace(T.RDAW)
RDAE = Namespace(T.RDAE)
RDAM = Namespace(T.RDAM)
RDAI = Namespace(T.RDAI)
RDAA = Namespace(T.RDAA)
MB = Namespace(T.MB)
EX = Namespace("http://example.org/")
BASE = P.SHAPES_NS + "base#"
LANG = P.SHAPES_NS + "language-based#"

VIOLATION, WARNING, INFO = SH.Violation, SH.Warning, SH.Info
MIN, MAX, IN = SH.MinCountConstraintComponent, SH.MaxCountConstraintComponent, SH.InConstraintComponent
PATTERN, OR, SPARQL = SH.PatternConstraintComponent, SH.OrConstraintComponent, SH.SPARQLConstraintComponent
NODE_KIND = SH.NodeKindConstraintComponent


class _Shapes:
    """Each profile's SHACL, compiled once; a fresh graph for every use, since pySHACL may add
    triples to the shapes graph it is given."""

    def __init__(self):
        self.text = {name: S.to_shacl(P.load_profile(name)) for name in P.PROFILES}

    def __getitem__(self, name: str) -> rdflib.Graph:
        return rdflib.Graph().parse(data=self.text[name], format="turtle")


@pytest.fixture(scope="module")
def shapes() -> _Shapes:
    return _Shapes()


# --- (a) the committed files are what the tables compile to ----------------------------------

@pytest.mark.parametrize("name", P.PROFILES)
def test_committed_turtle_is_compiled_from_the_table(name):
    committed = (ROOT / "shapes" / f"{name}.ttl").read_text(encoding="utf-8")
    assert committed == S.to_shacl(P.load_profile(name)), \
        f"shapes/{name}.ttl is stale: python -m metadatabronn.validate.profile"


def test_docs_page_is_generated_from_the_tables():
    assert (ROOT / "docs" / "profiles.md").read_text(encoding="utf-8") == D.render_docs(), \
        "docs/profiles.md is stale: python -m metadatabronn.validate.profile"


def test_build_check_finds_nothing_stale(capsys):
    assert D.main(["--check"]) == 0, capsys.readouterr().out


def test_index_names_the_profiles():
    assert tuple(P._index().profiles) == P.PROFILES
    assert P.DEFAULT_PROFILE in P.PROFILES
    assert P.load_profile("language-based").title


@pytest.mark.parametrize("name", P.PROFILES)
def test_every_row_is_one_property_shape_saying_what_the_row_says(name, shapes):
    """Read the SHACL back and compare it with the table, row by row."""
    g = shapes[name]
    profile = P.load_profile(name)
    assert len(set(g.subjects(RDF.type, SH.PropertyShape))) == len(profile.constraints)
    for c in profile.constraints:
        s = URIRef(c.id)
        node = URIRef(P.shape_iri(name, c.shape))
        target = SH.targetObjectsOf if c.target_objects_of else SH.targetClass
        assert (node, SH.property, s) in g and (node, target, URIRef(c.target)) in g
        assert g.value(s, SH.path) == URIRef(c.path)
        assert g.value(s, SH.severity) == URIRef(c.severity)
        assert str(g.value(s, SH.name)) == c.label and str(g.value(s, SH.description)) == c.note
        assert str(g.value(s, SH.message)) == S.message(c)
        min_count, max_count = g.value(s, SH.minCount), g.value(s, SH.maxCount)
        assert (min_count.toPython() if min_count is not None else 0) == c.min_count
        assert (max_count.toPython() if max_count is not None else None) == c.max_count
        kind = g.value(s, SH.nodeKind)
        assert (str(kind).rsplit("#", 1)[-1] if kind is not None else None) == c.node_kind
        members = g.value(s, SH["in"])
        listed = frozenset(str(x) for x in rdflib.collection.Collection(g, members)) if members else None
        assert listed == c.vocabulary
        sparql = g.value(s, SH.sparql)
        assert (sparql is not None) == c.isbn13
        if sparql is not None:
            assert g.value(sparql, SH.severity) == URIRef(c.severity)
            assert g.value(sparql, SH.message) is not None
        if c.pattern is not None and c.pattern_prefix is None:
            assert str(g.value(s, SH.pattern)) == c.pattern
        elif c.pattern is not None:
            assert g.value(s, SH["or"]) is not None and c.pattern in g.serialize(format="nt")


def test_constraint_and_profile_keep_the_agreed_interface():
    assert [f.name for f in dataclasses.fields(P.Constraint)] == [
        "shape", "target", "path", "label", "min_count", "max_count", "node_kind", "datatype",
        "vocabulary", "pattern", "pattern_prefix", "isbn13", "severity", "marc_tags", "note", "id",
        "target_objects_of"]
    assert [f.name for f in dataclasses.fields(P.Profile)] == ["name", "title", "constraints"]
    assert P.PROFILES == ("base", "language-based") and P.DEFAULT_PROFILE == "base"


def test_language_based_profile_extends_base():
    base, lang = P.load_profile("base"), P.load_profile("language-based")
    by_key = {(c.shape, c.label): c for c in lang.constraints}
    for c in base.constraints:
        assert (c.shape, c.label) in by_key          # nothing of the base is lost
    language = by_key[("ExpressionShape", "language")]
    assert language.id == LANG + "Expression-language" and language.severity == str(VIOLATION)
    assert next(c for c in base.constraints if c.label == "language").severity == str(WARNING)
    own = [c for c in lang.constraints if c.id.startswith(LANG)]
    assert len(lang.constraints) == len(base.constraints) + len(own) - 1
    shapes_in_order = [c.shape for c in lang.constraints]
    assert shapes_in_order == sorted(shapes_in_order, key=shapes_in_order.index)  # grouped


# --- (b) the Turtle parses and is valid SHACL -------------------------------------------------

def _list_nodes(g: rdflib.Graph, head) -> list:
    nodes, node = [], head
    while node != RDF.nil:
        assert node not in nodes, "a cyclic list"
        nodes.append(node)
        node = g.value(node, RDF.rest)
        assert node is not None, "a list that does not end in rdf:nil"
    return nodes


def _short_lists(g: rdflib.Graph, keep: int = 6) -> rdflib.Graph:
    """The graph with every sh:in list cut to its first members.

    SHACL-SHACL checks a list by walking rdf:rest* from every node of it, which pySHACL does in
    time that grows faster than the square of the length: two minutes for the 506 ISO 639-2
    codes. A list's shape does not depend on its length, so the meta-validation sees short
    lists and test_in_lists_are_well_formed checks the full ones node by node.
    """
    heads = list(g.subject_objects(SH["in"]))
    skip = {n for _, head in heads for n in _list_nodes(g, head)}
    out = rdflib.Graph()
    for t in g:
        if t[0] not in skip and t[1] != SH["in"]:
            out.add(t)
    for s, head in heads:
        new = rdflib.BNode()
        rdflib.collection.Collection(out, new, list(rdflib.collection.Collection(g, head))[:keep])
        out.add((s, SH["in"], new))
    return out


@pytest.mark.parametrize("name", P.PROFILES)
def test_shapes_are_valid_shacl(name, shapes):
    shacl_shacl = Path(importlib.util.find_spec("pyshacl").origin).parent / "assets" / "shacl-shacl.ttl"
    meta = rdflib.Graph().parse(shacl_shacl, format="turtle")
    conforms, _, text = pyshacl.validate(_short_lists(shapes[name]), shacl_graph=meta)
    assert conforms, text


def test_meta_validation_catches_a_broken_shape(shapes):
    shacl_shacl = Path(importlib.util.find_spec("pyshacl").origin).parent / "assets" / "shacl-shacl.ttl"
    meta = rdflib.Graph().parse(shacl_shacl, format="turtle")
    broken = _short_lists(shapes["base"])
    broken.add((URIRef(BASE + "Manifestation-titleProper"), SH.minCount, Literal("one")))
    assert not pyshacl.validate(broken, shacl_graph=meta)[0]


@pytest.mark.parametrize("name", P.PROFILES)
def test_in_lists_are_well_formed(name, shapes):
    g = shapes[name]
    heads = list(g.objects(None, SH["in"]))
    assert heads
    for head in heads:
        nodes = _list_nodes(g, head)
        for node in nodes:
            assert set(g.predicate_objects(node)) == {(RDF.first, g.value(node, RDF.first)),
                                                      (RDF.rest, g.value(node, RDF.rest))}
            assert isinstance(g.value(node, RDF.first), URIRef)
            assert len(list(g.subjects(None, node))) == 1      # one way in: no shared tails
    iso = next(h for h in heads if len(_list_nodes(g, h)) > 500)
    assert {str(x) for x in rdflib.collection.Collection(g, iso)} == P.vocabulary("ISO639-2")


# --- (c) pySHACL on hand-made data yields exactly what each row says -------------------------

M, E, W = EX.manifestation, EX.expression, EX.work
ITEM, PERSON, BODY, FAMILY = EX.item, EX.person, EX.body, EX.family


def good() -> rdflib.Graph:
    """A description that meets every row of both profiles."""
    g = rdflib.Graph()
    t = {M: RDAC.C10007, E: RDAC.C10006, W: RDAC.C10001, ITEM: RDAC.C10003, PERSON: RDAC.C10004,
         BODY: RDAC.C10005, FAMILY: RDAC.C10008}
    for s, cls in t.items():
        g.add((s, RDF.type, cls))
    g.add((W, RDAW.P10223, Literal("Fornyelse")))
    g.add((W, RDAW.P10331, Literal("Hamsun, Knut, 1859-1952. Fornyelse")))
    g.add((W, RDAW.P10256, Literal("839.8236", datatype=MB.DDC)))
    g.add((W, RDAW.P10061, PERSON))
    g.add((W, RDAW.P10004, MB.Fiction))
    g.add((E, RDAE.P20231, W))
    g.add((E, RDAE.P20001, URIRef(T.content_iri("txt"))))
    g.add((E, RDAE.P20006, URIRef(T.language_iri("nob"))))
    g.add((E, RDAE.P20006, URIRef(T.language_iri("ger"))))
    g.add((E, RDAE.P20322, MB.Adult))
    g.add((M, RDAM.P30156, Literal("Fornyelse")))
    g.add((M, RDAM.P30156, Literal("Форнюэлсе", lang="ru-Cyrl")))
    g.add((M, RDAM.P30105, Literal("Knut Hamsun")))
    g.add((M, RDAM.P30139, E))
    g.add((M, RDAM.P30135, W))
    g.add((M, RDAM.P30002, URIRef(T.media_iri("n"))))
    g.add((M, RDAM.P30001, URIRef(T.carrier_iri("nc"))))
    g.add((M, RDAM.P30003, URIRef(T.MODE_SINGLE)))
    g.add((M, RDAM.P30011, Literal("[1893?]")))
    g.add((M, RDAM.P30007, Literal("©1893")))
    g.add((M, RDAM.P30182, Literal("270 s.")))
    g.add((M, RDAM.P30004, Literal("urn:isbn:9780198116578")))
    g.add((M, RDAM.P30004, Literal("0198116578")))
    g.add((M, RDAM.P30004, Literal("urn:issn:0272-9172")))
    g.add((M, RDAM.P30004, Literal("(NO-OsNB)999")))
    g.add((ITEM, RDAI.P40049, M))
    g.add((ITEM, RDAI.P40162, Literal("Nasjonalbiblioteket")))
    g.add((ITEM, RDAI.P40001, Literal("0301234567")))
    g.add((PERSON, RDAA.P50117, Literal("Hamsun, Knut")))
    g.add((PERSON, RDAA.P50411, Literal("Hamsun, Knut, 1859-1952")))
    g.add((PERSON, RDAA.P50121, Literal("1859")))
    g.add((PERSON, RDAA.P50120, Literal("1952-02-19")))
    g.add((BODY, RDAA.P50041, Literal("Gyldendal")))
    g.add((BODY, RDAA.P50407, Literal("Gyldendal (forlag)")))
    g.add((FAMILY, RDAA.P50065, Literal("Hamsun")))
    g.add((FAMILY, RDAA.P50409, Literal("Hamsun (family)")))
    return g


def results(data: rdflib.Graph, shapes_graph: rdflib.Graph) -> set[tuple]:
    # rdflib parses each SPARQL constraint's query once, not once a case (0.6 s each time)
    with reference._parsed_queries_kept():
        conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes_graph)
    out = set()
    for r in report.subjects(RDF.type, SH.ValidationResult):
        value = report.value(r, SH.value)
        out.add((report.value(r, SH.focusNode), str(report.value(r, SH.sourceShape)),
                 report.value(r, SH.resultSeverity), report.value(r, SH.sourceConstraintComponent),
                 value if isinstance(value, (Literal, URIRef)) else None))
    return out


@pytest.mark.parametrize("name", P.PROFILES)
def test_a_full_description_meets_the_profile(name, shapes):
    assert results(good(), shapes[name]) == set()


def _drop(s, p):
    return lambda g: g.remove((s, p, None))


def _add(s, p, o):
    return lambda g: g.add((s, p, o))


def _set(s, p, o):
    return lambda g: (g.remove((s, p, None)), g.add((s, p, o)))


SERIES = EX.series


def _series_work(title: bool = True):
    def change(g):
        g.add((SERIES, RDF.type, RDAC.C10001))
        g.add((SERIES, RDAW.P10331, Literal("Skrifter i utvalg")))
        if title:
            g.add((SERIES, RDAW.P10223, Literal("Skrifter i utvalg")))
        g.add((W, RDAW.P10198, SERIES))  # a related work
    return change


BAD_ISBN = Literal("urn:isbn:9788203364781")   # check digit should be 0, not 1
SHORT_ISBN = Literal("urn:isbn:97801981165")
ENG_DOT = URIRef(T.LANG_BASE + "eng.")

# (name, change to the good description, profile, expected results)
CASES = [
    ("missing title proper", _drop(M, RDAM.P30156), "base",
     {(M, BASE + "Manifestation-titleProper", VIOLATION, MIN, None)}),
    ("missing expression manifested", _drop(M, RDAM.P30139), "base",
     {(M, BASE + "Manifestation-expressionManifested", VIOLATION, MIN, None)}),
    ("missing date of publication is only a warning", _drop(M, RDAM.P30011), "base",
     {(M, BASE + "Manifestation-dateOfPublication", WARNING, MIN, None)}),
    ("missing extent is a warning", _drop(M, RDAM.P30182), "base",
     {(M, BASE + "Manifestation-extent", WARNING, MIN, None)}),
    ("missing content type is a warning (a kit without 336)", _drop(E, RDAE.P20001), "base",
     {(E, BASE + "Expression-contentType", WARNING, MIN, None)}),
    ("content type outside its list", _set(E, RDAE.P20001, URIRef(T.carrier_iri("nc"))), "base",
     {(E, BASE + "Expression-contentTypeTerm", VIOLATION, IN, URIRef(T.carrier_iri("nc")))}),
    ("missing carrier type is a warning (an old sound recording without 007 or 300)",
     _drop(M, RDAM.P30001), "base",
     {(M, BASE + "Manifestation-carrierType", WARNING, MIN, None)}),
    ("language code kept as given is a warning", _add(E, MB.invalidLanguage, Literal("jap")), "base",
     {(E, BASE + "Expression-languageCodeNotRecognised", WARNING, MAX, None)}),
    ("ISBN kept apart for its check digit is a warning", _add(M, MB.invalidIdentifier, BAD_ISBN), "base",
     {(M, BASE + "Manifestation-isbnWithAWrongCheckDigit", WARNING, SPARQL, BAD_ISBN)}),
    ("a cancelled ISBN as printed is not checked", _add(M, MB.invalidIdentifier, Literal("8203364781")),
     "base", set()),
    ("control number taken from 035 is a warning", _add(M, MB.controlNumberFrom, Literal("035")), "base",
     {(M, BASE + "Manifestation-controlNumberNotFrom001", WARNING, MAX, None)}),
    ("heading without a name is a warning", _add(M, MB.headingWithoutName, Literal("100 $a,$d1828-1910.")),
     "base", {(M, BASE + "Manifestation-headingWithoutAName", WARNING, MAX, None)}),
    ("missing subject is only counted", _drop(W, RDAW.P10256), "base",
     {(W, BASE + "ManifestedWork-subject", INFO, MIN, None)}),
    ("two modes of issuance", _add(M, RDAM.P30003, URIRef(T.MODE_MULTIPLE)), "base",
     {(M, BASE + "Manifestation-modeOfIssuance", WARNING, MAX, None)}),
    ("missing mode of issuance (a blank Leader/07) is a warning", _drop(M, RDAM.P30003), "base",
     {(M, BASE + "Manifestation-modeOfIssuance", WARNING, MIN, None)}),
    ("mode of issuance outside its list", _set(M, RDAM.P30003, URIRef(T.carrier_iri("nc"))), "base",
     {(M, BASE + "Manifestation-modeOfIssuanceTerm", VIOLATION, IN, URIRef(T.carrier_iri("nc")))}),
    ("two works expressed", _add(E, RDAE.P20231, EX.otherWork), "base",
     {(E, BASE + "Expression-workExpressed", VIOLATION, MAX, None)}),
    ("two preferred names", _add(PERSON, RDAA.P50117, Literal("Pedersen, Knut")), "base",
     {(PERSON, BASE + "Person-preferredName", VIOLATION, MAX, None)}),
    ("item of two manifestations", _add(ITEM, RDAI.P40049, EX.other), "base",
     {(ITEM, BASE + "Item-manifestationExemplified", VIOLATION, MAX, None)}),
    ("carrier term as media type", _set(M, RDAM.P30002, URIRef(T.carrier_iri("nc"))), "base",
     {(M, BASE + "Manifestation-mediaType", VIOLATION, IN, URIRef(T.carrier_iri("nc")))}),
    ("deprecated carrier type", _set(M, RDAM.P30001, URIRef(T.CARRIER_BASE + "1001")), "base",
     {(M, BASE + "Manifestation-carrierTypeTerm", VIOLATION, IN, URIRef(T.CARRIER_BASE + "1001"))}),
    ("language code not in ISO 639-2", _add(E, RDAE.P20006, ENG_DOT), "base",
     {(E, BASE + "Expression-languageCode", VIOLATION, IN, ENG_DOT)}),
    ("language as a literal", _add(E, RDAE.P20006, Literal("eng")), "base",
     {(E, BASE + "Expression-languageCode", VIOLATION, IN, Literal("eng")),
      (E, BASE + "Expression-languageCode", VIOLATION, NODE_KIND, Literal("eng"))}),
    ("audience outside its list", _set(E, RDAE.P20322, MB.Fiction), "base",
     {(E, BASE + "Expression-intendedAudience", VIOLATION, IN, MB.Fiction)}),
    ("ISBN-13 with a wrong check digit", _add(M, RDAM.P30004, BAD_ISBN), "base",
     {(M, BASE + "Manifestation-isbnCheckDigit", VIOLATION, SPARQL, BAD_ISBN)}),
    ("ISBN of the wrong length: the form, not the check digit", _add(M, RDAM.P30004, SHORT_ISBN), "base",
     {(M, BASE + "Manifestation-isbn", VIOLATION, OR, SHORT_ISBN)}),
    ("printed ISBN without the prefix is not checked", _add(M, RDAM.P30004, Literal("82-03-36478-1")),
     "base", set()),
    ("malformed ISSN", _add(M, RDAM.P30004, Literal("urn:issn:02729172")), "base",
     {(M, BASE + "Manifestation-issn", VIOLATION, OR, Literal("urn:issn:02729172"))}),
    ("date of publication without a year", _set(M, RDAM.P30011, Literal("udatert")), "base",
     {(M, BASE + "Manifestation-dateOfPublication", WARNING, PATTERN, Literal("udatert"))}),
    ("date of publication not identified is well-formed",
     _set(M, RDAM.P30011, Literal("[date of publication not identified]")), "base", set()),
    ("date of birth not normalised", _set(PERSON, RDAA.P50121, Literal("1859?")), "base",
     {(PERSON, BASE + "Person-dateOfBirth", VIOLATION, PATTERN, Literal("1859?"))}),
    ("impossible date of death", _set(PERSON, RDAA.P50120, Literal("1952-13-01")), "base",
     {(PERSON, BASE + "Person-dateOfDeath", VIOLATION, PATTERN, Literal("1952-13-01"))}),
    ("title proper as an IRI", _add(M, RDAM.P30156, EX.title), "base",
     {(M, BASE + "Manifestation-titleProper", VIOLATION, NODE_KIND, EX.title)}),
    ("missing language: a warning in base", _drop(E, RDAE.P20006), "base",
     {(E, BASE + "Expression-language", WARNING, MIN, None)}),
    ("missing language: a violation for texts", _drop(E, RDAE.P20006), "language-based",
     {(E, LANG + "Expression-language", VIOLATION, MIN, None)}),
    ("missing author: nothing in base", _drop(W, RDAW.P10061), "base", set()),
    ("missing author: a warning for texts", _drop(W, RDAW.P10061), "language-based",
     {(W, LANG + "ManifestedWork-author", WARNING, MIN, None)}),
    ("missing statement of responsibility for texts", _drop(M, RDAM.P30105), "language-based",
     {(M, LANG + "Manifestation-statementOfResponsibility", WARNING, MIN, None)}),
    ("missing category of work is counted for texts", _drop(W, RDAW.P10004), "language-based",
     {(W, LANG + "ManifestedWork-categoryOfWork", INFO, MIN, None)}),
    # A series (or related) work is a Work, but not the one the manifestation embodies: it is
    # asked for its title and access point only, never for subject, author or category.
    ("a series work is not asked for subject, author or category", _series_work(), "language-based", set()),
    ("a series work still needs its preferred title", _series_work(title=False), "language-based",
     {(SERIES, BASE + "Work-preferredTitle", VIOLATION, MIN, None)}),
    ("base rows hold in the language-based profile", _drop(M, RDAM.P30156), "language-based",
     {(M, BASE + "Manifestation-titleProper", VIOLATION, MIN, None)}),
]


@pytest.mark.parametrize("what,change,name,expected", CASES, ids=[c[0] for c in CASES])
def test_pyshacl_reports_exactly_the_expected_results(what, change, name, expected, shapes):
    data = good()
    change(data)
    assert results(data, shapes[name]) == expected


def test_isbn_examples_from_the_issue():
    digits = lambda s: sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(s)) % 10  # noqa: E731
    assert digits("9788203364781") != 0 and digits("9780198116578") == 0


def test_messages_read_as_sentences():
    base = {c.id: c for c in P.load_profile("base").constraints}
    assert S.message(base[BASE + "Manifestation-titleProper"]) == \
        "Manifestation has no title proper, or one that is not text (245 $a $n $p)"
    assert S.message(base[BASE + "Manifestation-mediaType"]).startswith(
        "Manifestation has no media type, or one not in the RDA Media Type list")
    assert S.message(base[BASE + "Manifestation-isbnCheckDigit"]) == \
        "Manifestation has an ISBN-13 (urn:isbn:…) whose check digit is wrong (020 $a)"
    assert S.entity_name("CorporateBodyShape") == "Corporate body"


def test_a_real_record_meets_the_base_profile(shapes):
    """The first records of the demo sample, as the mapping converts them, have no Violation."""
    from metadatabronn.mapping import convert
    from metadatabronn.marc import RecordKind, iter_chunks, parse_chunk, record_kind
    from metadatabronn.rdf import serialise

    checked = 0
    for chunk in iter_chunks(ROOT / "data" / "sample.mrc"):
        record = parse_chunk(chunk)
        if record_kind(str(record.leader)) is not RecordKind.BIBLIOGRAPHIC:
            continue
        s = serialise(convert(record), "http://example.org", source="t", source_hash="h",
                      when="2026-01-01T00:00:00Z")
        quads = ox.parse(s.nquads + "".join(c for _, _, c in s.cores), format=ox.RdfFormat.N_QUADS)
        triples = ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads),
                               format=ox.RdfFormat.N_TRIPLES)
        data = rdflib.Graph().parse(data=triples.decode("utf-8"), format="nt")   # the union
        found = [r for r in results(data, shapes["base"]) if r[2] == VIOLATION]
        assert found == [], (record["001"].data, found)
        checked += 1
        if checked == 3:
            break
    assert checked == 3


# --- (d) every IRI is declared -------------------------------------------------------------

@pytest.fixture(scope="module")
def declared() -> set[str]:
    g = rdflib.Graph()
    for path in (ROOT / "vocabularies").glob("*.ttl"):
        g.parse(path, format="turtle")
    return {str(s) for s in g.subjects() if isinstance(s, URIRef)}


STANDARD = ("http://www.w3.org/ns/shacl#", str(RDF), "http://www.w3.org/2000/01/rdf-schema#",
            "http://www.w3.org/2001/XMLSchema#", P.SHAPES_NS)


@pytest.mark.parametrize("name", P.PROFILES)
def test_every_iri_in_the_profile_is_declared(name, shapes, declared):
    iris = {str(t) for triple in shapes[name] for t in triple if isinstance(t, URIRef)}
    foreign = {i for i in iris if not i.startswith(STANDARD)}
    assert foreign, "the profile names no RDA terms?"
    assert not foreign - declared, sorted(foreign - declared)


@pytest.mark.parametrize("name", P.PROFILES)
def test_profiles_use_only_terms_the_mapping_emits(name):
    named = {v for k, v in vars(T).items() if k.isupper() and isinstance(v, str)}
    for c in P.load_profile(name).constraints:
        assert c.target in named and c.path in named, (c.id, c.target, c.path)


def test_value_lists():
    iso = P.vocabulary("ISO639-2")
    for code in ("ger", "deu", "fre", "fra", "chi", "zho", "nor", "nob", "nno", "sme", "eng",
                 "mul", "und", "zxx", "mis"):
        assert T.language_iri(code) in iso, code
    assert T.language_iri("qaa") not in iso and T.language_iri("qaa-qtz") not in iso
    assert P.vocabulary("ModeIssue") == {T.MODE_SINGLE, T.MODE_MULTIPLE}   # deprecated left out
    carriers = P.vocabulary("RDACarrierType")
    assert {T.carrier_iri(c) for c in T.CARRIER_CODES} <= carriers
    assert T.CARRIER_BASE + "1001" not in carriers
    assert {T.content_iri(c) for c in T.CONTENT_CODES} <= P.vocabulary("RDAContentType")
    assert {T.media_iri(c) for c in T.MEDIA_CODES} == P.vocabulary("RDAMediaType")
    assert P.vocabulary("Audience") == {T.MB_JUVENILE, T.MB_ADULT}
    assert P.vocabulary("LiteraryForm") == {T.MB_FICTION, T.MB_NONFICTION}


def test_iso639_file_is_what_its_script_builds():
    spec = importlib.util.spec_from_file_location("build_iso639", ROOT / "vocabularies" / "build_iso639.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not Path(module.DEFAULT_SOURCE).exists():
        pytest.skip("iso-codes is not installed (apt-get install iso-codes)")
    text = module.build(module.read_table(module.DEFAULT_SOURCE), "iso-codes' json/iso_639-2.json")
    assert (ROOT / "vocabularies" / "iso639-2.ttl").read_text(encoding="utf-8") == text


# --- the loader's errors -------------------------------------------------------------------

@pytest.fixture
def workdir(tmp_path) -> Path:
    """A copy of shapes/ beside the real vocabularies, to break on purpose."""
    shutil.copytree(ROOT / "shapes", tmp_path / "shapes")
    (tmp_path / "vocabularies").symlink_to(ROOT / "vocabularies", target_is_directory=True)
    return tmp_path / "shapes"


def _edit_row(path: Path, row: int, column: str, value: str) -> None:
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[row - 1][rows[0].index(column)] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_unknown_profile_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown profile 'nope'.*base, language-based"):
        P.load_profile("nope")


def test_the_copy_loads_like_the_original(workdir):
    assert P.load_profile("language-based", directory=workdir) == P.load_profile("language-based")


@pytest.mark.parametrize("table,row,column,value,expected", [
    ("base.csv", 3, "severity", "Violtion", r"base\.csv: row 3, column severity: 'Violtion'"),
    ("base.csv", 4, "mandatory", "yes", r"row 4, column mandatory: 'yes' is not TRUE or FALSE"),
    ("base.csv", 2, "propertyID", "rdx:P1", r"row 2, column propertyID: unknown prefix 'rdx'"),
    ("base.csv", 2, "target", "C10001", r"row 2, column target: 'C10001' is not a CURIE"),
    ("base.csv", 7, "valueConstraint", "RDAContent", r"row 7, column valueConstraint: unknown value list"),
    ("base.csv", 7, "valueConstraintType", "picklist", r"row 7, column valueConstraintType"),
    ("base.csv", 20, "valueConstraint", "(?!x)y", r"row 20, column valueConstraint: .*lookaround"),
    ("base.csv", 20, "valueConstraint", "[0-9", r"row 20, column valueConstraint: .*not a regular expression"),
    ("base.csv", 3, "note", "", r"row 3, column note: empty"),
    ("base.csv", 3, "propertyLabel", "preferred title", r"row 3, column propertyLabel: 'preferred title' repeats row 2"),
    ("language-based.csv", 2, "valueNodeType", "Node", r"language-based\.csv: row 2, column valueNodeType"),
    ("language-based.csv", 2, "target", "rdac:C10006", r"row 3, column target: shape ManifestedWorkShape already targets .*C10006"),
])
def test_a_malformed_table_names_row_and_column(workdir, table, row, column, value, expected):
    _edit_row(workdir / table, row, column, value)
    profile = "base" if table == "base.csv" else "language-based"
    with pytest.raises(ConfigError, match=expected):
        P.load_profile(profile, directory=workdir)


def test_a_wrong_header_is_reported(workdir):
    path = workdir / "base.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("marcTags", "marc", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="row 1 must be the header"):
        P.load_profile("base", directory=workdir)


def test_a_row_of_the_wrong_length_is_reported(workdir):
    path = workdir / "language-based.csv"
    path.write_text(path.read_text(encoding="utf-8") + "WorkShape,rdac:C10001\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="row 6 has 2 columns"):
        P.load_profile("language-based", directory=workdir)
