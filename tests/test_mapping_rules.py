"""Every mapping rule's own example, run: the table in rules.py is what the code does."""

from __future__ import annotations

import pytest

from metadatabronn.mapping import RULES, convert
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.model import IRI, Entity, Kind, Lit
from metadatabronn.marc import iter_chunks, parse_chunk

from .conftest import DATA, field_from_mnemonic, record_with

_LABELS = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP, T.W_PREFERRED_TITLE, T.SKOS_PREFLABEL)


def _text(value) -> str:
    if isinstance(value, Lit):
        return value.text
    if isinstance(value, IRI):
        return value.value
    assert isinstance(value, Entity)
    for p in _LABELS:
        v = value.first(p)
        if v is not None:
            return v.text
    return ""


def _entities(desc, role: str) -> list[Entity]:
    if role in ("work", "expression", "manifestation"):
        return [getattr(desc, role)]
    kinds = {"agent": (Kind.PERSON, Kind.CORPORATE, Kind.FAMILY), "concept": (Kind.CONCEPT,),
             "item": (Kind.ITEM,)}[role]
    return [e for e in desc.entities if e.kind in kinds]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: "/".join(r.tags))
def test_rule_example(rule):
    record = record_with(rule.example)
    desc = convert(record)
    for role, element, expected in rule.expect:
        found = [_text(v) for e in _entities(desc, role) for v in e.values(element)]
        assert expected in found, f"{rule.tags}: {role} {element} {expected!r} not in {found!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: "/".join(r.tags))
def test_rule_declares_what_it_emits(rule):
    """The elements a rule says it emits include every element its example produced."""
    desc = convert(record_with(rule.example))
    baseline = convert(record_with())
    before = {p for e in baseline.entities for p, _ in e.statements}
    emitted = {p for e in desc.entities for p, _ in e.statements} - before
    emitted -= {T.E_WORK, T.M_EXPRESSION, T.M_WORK, T.W_AAP, T.W_PREFERRED_TITLE, T.E_LANGUAGE,
                T.E_CONTENT_TYPE, T.I_MANIFESTATION, T.A_PERSON_NAME, T.A_PERSON_AAP, T.A_CORPORATE_NAME,
                T.A_CORPORATE_AAP, T.A_BIRTH, T.A_DEATH, T.SKOS_PREFLABEL, T.SKOS_INSCHEME,
                T.SKOS_NOTATION, T.I_LOCATION, T.I_IDENTIFIER, T.I_CALL_NUMBER}
    assert emitted <= set(rule.elements), f"undeclared: {emitted - set(rule.elements)}"


def test_every_example_field_parses_to_its_tag():
    for rule in RULES:
        assert field_from_mnemonic(rule.example).tag in rule.tags


def _names(entity: Entity, element: str) -> list[str]:
    return [_text(v) for v in entity.values(element)]


@pytest.mark.parametrize("term,role,element", [
    ("illustr.", "manifestation", T.M_ILLUSTRATOR),
    ("Illustratør", "manifestation", T.M_ILLUSTRATOR),
    ("red.", "expression", T.E_EDITOR),
    ("Red.", "expression", T.E_EDITOR),
    ("forf.", "work", T.W_AUTHOR),
    ("forfattar", "work", T.W_AUTHOR),
    ("medforfatter,", "work", T.W_AUTHOR),
    ("omsetjar", "expression", T.E_TRANSLATOR),
    ("overs.", "expression", T.E_TRANSLATOR),
])
def test_norwegian_relator_terms_place_the_agent(term, role, element):
    """Norwegian relator terms (bokmål, nynorsk, abbreviated) match as English ones do: any
    case, without closing punctuation; the agent is then no plain contributor."""
    desc = convert(record_with(f"=700  1\\$aNordmann, Kari,$d1950-$e{term}"))
    assert _names(getattr(desc, role), element) == ["Nordmann, Kari, 1950-"]
    assert _names(desc.expression, T.E_CREATOR) == []


def test_norwegian_editor_on_a_real_record():
    # Deichman (Micromarc): =700  \0$aBull-Gundersen, Anne B.$d1957-$ered.$jn.
    path = DATA / "marc" / "deichman-BS_external_sru_data_micromarc.xml"
    (record,) = [parse_chunk(c) for c in iter_chunks(path)]
    desc = convert(record)
    editors = _names(desc.expression, T.E_EDITOR)
    assert len(editors) == 1 and editors[0].startswith("Bull-Gundersen, Anne B.")
    assert _names(desc.expression, T.E_CREATOR) == []


def test_653_gives_a_concept_per_term_without_closing_punctuation():
    # LC (16175770): uncontrolled terms each closed by a semicolon.
    desc = convert(record_with("=653  \\\\$aCheese;$aFestivals;$aBjelovar, Croatia."))
    concepts = [v for v in desc.work.values(T.W_SUBJECT) if isinstance(v, Entity) and v.kind is Kind.CONCEPT]
    assert [_text(c) for c in concepts] == ["Cheese", "Festivals", "Bjelovar, Croatia"]
    # A controlled heading's $a and subdivisions stay one concept.
    desc = convert(record_with("=650  \\0$aCats$vPoetry."))
    assert [_text(c) for c in desc.work.values(T.W_SUBJECT)] == ["Cats -- Poetry"]


def _quads(desc) -> set[tuple[str, str, str]]:
    import pyoxigraph as ox

    from metadatabronn.rdf import serialise

    s = serialise(desc, "http://example.org", source="t", source_hash="h", when="2026-01-01T00:00:00Z")
    text = s.nquads + "".join(c for _, _, c in s.cores)
    return {(q.subject.value, q.predicate.value, q.object.value) for q in ox.parse(text, format=ox.RdfFormat.N_QUADS)}


def test_isbn_as_thirteen_digits_beside_the_identifier():
    desc = convert(record_with("=020  \\\\$a0-19-811657-8 (pbk.)", "=020  \\\\$a978-0-19-811657-8",
                               "=020  \\\\$a0198116579", "=020  \\\\$a9780198116579", "=020  \\\\$z0198116578"))
    m = desc.manifestation
    assert [v.text for v in m.values(T.SCHEMA_ISBN)] == ["9780198116578", "9780198116578"]
    # the identifiers as before: urn:isbn: and the printed forms; a bad check digit gets no schema:isbn
    ids = [v.text for v in m.values(T.M_IDENTIFIER)]
    assert ids.count("urn:isbn:9780198116578") == 2 and "0-19-811657-8" in ids and "0198116579" in ids
    assert "urn:isbn:9780198116579" in [v.text for v in m.values(T.MB_INVALID_IDENTIFIER)]


def test_norwegian_record_isbn_and_general_elements_in_the_store():
    # BIBSYS 990929710914702204: an author (100), a translator and an illustrator (700 $e).
    path = DATA / "golden" / "golden-mit.marcxml"
    (record,) = [r for r in (parse_chunk(c) for c in iter_chunks(path))
                 if r["001"] and r["001"].data.strip() == "990929710914702204"]
    desc = convert(record)
    quads = _quads(desc)
    by = {}
    for s, p, o in quads:
        by.setdefault(p, set()).add((s, o))
    authors, translators = by[T.W_AUTHOR], by[T.E_TRANSLATOR]
    assert authors and authors <= by[T.W_CREATOR]
    assert translators and translators <= by[T.E_CREATOR]
    # the illustrator sits on the manifestation: no general element of the expression for it
    illustrators = {o for _, o in by[T.M_ILLUSTRATOR]}
    assert not illustrators & {o for _, o in by[T.E_CREATOR]}
    # the description itself is unchanged: what MARC export reads has no general statement
    assert desc.work.values(T.W_CREATOR) == [] and desc.expression.values(T.E_CREATOR) == []
    assert by[T.SCHEMA_ISBN] and all((s, "urn:isbn:" + o) in by[T.M_IDENTIFIER] for s, o in by[T.SCHEMA_ISBN])


def test_general_element_once_per_agent():
    desc = convert(record_with("=100  1\\$aNordmann, Kari,$eforfatter,$ekomponist."))
    quads = _quads(desc)
    creators = [(s, o) for s, p, o in quads if p == T.W_CREATOR]
    assert len(creators) == 1
    assert {p for s, p, o in quads if (s, o) == creators[0]} == {T.W_AUTHOR, T.W_COMPOSER, T.W_CREATOR}
