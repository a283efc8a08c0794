"""Golden tests: each mapping feature on a real record (tests/data/golden/INDEX.md)."""

from __future__ import annotations

import json

import pytest

from metadatabronn.mapping import convert
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.model import IRI, Entity, Kind, Lit
from metadatabronn.mapping.reverse import convert_back, from_description, to_marc
from metadatabronn.marc import iter_chunks, parse_chunk

from .conftest import DATA

GOLDEN = DATA / "golden"


@pytest.fixture(scope="module")
def records():
    out = {}
    for name in ("golden.mrc", "golden-cc0.marcxml", "golden-mit.marcxml"):
        for chunk in iter_chunks(GOLDEN / name):
            record = parse_chunk(chunk)
            out[record["001"].data.strip()] = record
    return out


@pytest.fixture
def desc(records, request):
    return convert(records[request.param])


def _v(value):
    if isinstance(value, Lit):
        return value.text
    if isinstance(value, IRI):
        return value.value
    return value


def values(entity: Entity, element: str) -> list:
    return [_v(v) for v in entity.values(element)]


def labels(entity: Entity, element: str, label: str) -> list[str]:
    return [v.first(label).text for v in entity.values(element) if v.first(label) is not None]


def of_kind(desc, kind: Kind) -> list[Entity]:
    return [e for e in desc.entities if e.kind is kind]


def g(records, cn):
    return convert(records[cn])


def test_control_number_and_035(records):
    m = g(records, "00003445").manifestation
    assert {"(DLC)00003445", "(OCoLC)7857808"} <= set(values(m, T.M_IDENTIFIER))


def test_isbn_with_qualifier(records):
    m = g(records, "000773028").manifestation
    ids = values(m, T.M_IDENTIFIER)
    assert "urn:isbn:9789171602893" in ids and "91-7160-289-5" in ids
    assert "sidottu" in values(m, T.M_IDENTIFIER_NOTE)


def test_cancelled_isbn(records):
    m = g(records, "00024119").manifestation
    assert values(m, T.MB_INVALID_IDENTIFIER)
    assert not any(v.startswith("urn:isbn:") for v in values(m, T.M_IDENTIFIER) if "158574" in v)


def test_issn(records):
    assert "urn:issn:0272-9172" in values(g(records, "00030568").manifestation, T.M_IDENTIFIER)


def test_other_standard_identifiers(records):
    ids = values(g(records, "004871089").manifestation, T.M_IDENTIFIER)
    assert "urn:ean:9789511206491" in ids


def test_translation_from_041h_and_240(records):
    d = g(records, "00022737")
    assert values(d.expression, T.E_LANGUAGE) == [T.LANG_BASE + "eng"]
    assert values(d.work, T.W_PREFERRED_TITLE)[0] == "Sogni mancini"
    originals = d.expression.values(T.E_TRANSLATION_OF)
    assert len(originals) == 1 and values(originals[0], T.E_LANGUAGE) == [T.LANG_BASE + "ita"]
    assert originals[0].first(T.E_WORK) is d.work


def test_language_from_008(records):
    assert values(g(records, "00000293").expression, T.E_LANGUAGE) == [T.LANG_BASE + "ger"]


def test_130_main_entry(records):
    d = g(records, "00004257")
    assert values(d.work, T.W_PREFERRED_TITLE)[0] == "Arabian nights"
    assert d.work.basis[1] == ""  # no creator in the cluster key


@pytest.mark.parametrize("cn,name_element", [("00000914", T.A_CORPORATE_NAME), ("00031993", T.A_CORPORATE_NAME)])
def test_corporate_and_meeting_main_entries(records, cn, name_element):
    d = g(records, cn)
    creators = d.work.values(T.W_AUTHOR) + d.work.values(T.W_CREATOR)
    assert creators and creators[0].kind is Kind.CORPORATE and creators[0].first(name_element)


def test_title_with_parts(records):
    m = g(records, "00026838").manifestation
    title = values(m, T.M_TITLE_PROPER)[0]
    assert title.startswith("British documents on foreign affairs. Part IV")
    assert "Series D" in title
    assert values(m, T.M_SOR)[0].startswith("general editors, Paul Preston")


def test_variant_title_and_edition(records):
    m = g(records, "00031871").manifestation
    assert "Heroin" in values(m, T.M_VARIANT_TITLE)
    assert values(m, T.M_EDITION) == ["1st ed."]  # an abbreviation's full stop is data


def test_260_publication(records):
    m = g(records, "00003445").manifestation
    assert values(m, T.M_PLACE_PUB) == ["Chicago"]
    assert values(m, T.M_PUBLISHER_NAME) == ["G. M. Hill company"]
    assert values(m, T.M_DATE_PUB) == ["1900"]


@pytest.mark.parametrize("cn,element,value", [
    ("21775889", T.M_PRODUCER_NAME, "Jacobus Scottus"),
    ("00005419", T.M_PUBLISHER_NAME, "D. Appleton & Company"),
    ("001284811", T.M_MANUFACTURER_NAME, "Holger Schildts Tryckeri"),
    ("00004644", T.M_COPYRIGHT, "©1900"),
])
def test_264_by_second_indicator(records, cn, element, value):
    assert value in values(g(records, cn).manifestation, element)


def test_336_337_338_given_are_not_inferred(records):
    d = g(records, "00005419")
    assert values(d.expression, T.E_CONTENT_TYPE) == [T.CONTENT_BASE + "1020"]
    assert values(d.manifestation, T.M_MEDIA) == [T.MEDIA_BASE + "1007"]
    assert values(d.manifestation, T.M_CARRIER) == [T.CARRIER_BASE + "1049"]
    assert not {T.E_CONTENT_TYPE, T.M_MEDIA, T.M_CARRIER} & set(d.inferred)


def test_types_inferred_for_pre_rda_record(records):
    d = g(records, "00003445")
    assert values(d.expression, T.E_CONTENT_TYPE) == [T.CONTENT_BASE + "1020"]
    assert values(d.manifestation, T.M_CARRIER) == [T.CARRIER_BASE + "1049"]
    assert values(d.manifestation, T.M_MODE) == [T.MODE_SINGLE]
    assert {T.E_CONTENT_TYPE, T.M_MEDIA, T.M_CARRIER} <= set(d.inferred)


def test_series_490_and_830(records):
    d = g(records, "00030568")
    assert values(d.manifestation, T.M_SERIES_STATEMENT) == ["Materials Research Society symposium proceedings ; v. 583"]
    assert labels(d.work, T.W_PART_OF, T.W_PREFERRED_TITLE) == ["Materials Research Society symposia proceedings"]


def test_series_440(records):
    d = g(records, "00002950")
    assert labels(d.work, T.W_PART_OF, T.W_PREFERRED_TITLE) == ["Eclectic school readings"]


def test_notes(records):
    assert len(values(g(records, "00004644").manifestation, T.M_NOTE)) == 2
    assert values(g(records, "00024119").manifestation, T.M_SUPPLEMENTARY)
    assert values(g(records, "00026838").work, T.W_CONTENTS)[0].startswith("v. 1. Latin America")
    assert values(g(records, "00008318").expression, T.E_SUMMARY) == ["A young witch searches for a creepy pet."]


def test_subject_person_with_authority_number(records):
    d = g(records, "991837428")
    people = [e for e in d.work.values(T.W_SUBJECT) if e.kind is Kind.PERSON]
    assert people and "(DE-588)118608193" in values(people[0], T.A_PERSON_ID)
    concepts = [e for e in d.work.values(T.W_SUBJECT) if e.kind is Kind.CONCEPT]
    assert any(values(c, T.SKOS_INSCHEME) == ["https://w3id.org/metadatabronn/scheme/gnd"] for c in concepts)


def test_subject_uri_is_the_concept(records):
    d = g(records, "004432056")
    uris = {e.basis[1] for e in d.work.values(T.W_SUBJECT) if e.basis[0] == "uri"}
    assert "http://www.yso.fi/onto/yso/p19592" in uris
    genres = {e.basis[1] for e in d.work.values(T.W_CATEGORY) if isinstance(e, Entity) and e.basis[0] == "uri"}
    assert "http://urn.fi/URN:NBN:fi:au:slm:s975" in genres


def test_subject_real_world_object_uri(records):
    d = g(records, "15543730")
    assert any(e.basis == ("uri", "https://id.oclc.org/worldcat/entity/E39QbtfRg3kwbTgW8wMXD4yWrY")
               for e in d.work.values(T.W_SUBJECT) if isinstance(e, Entity))


def test_lcsh_subject_scheme_from_indicator(records):
    d = g(records, "00004847")
    schemes = {s for c in d.work.values(T.W_SUBJECT) if isinstance(c, Entity) and c.kind is Kind.CONCEPT
               for s in values(c, T.SKOS_INSCHEME)}
    assert "http://id.loc.gov/authorities/subjects" in schemes


def test_classification(records):
    d = g(records, "00031871")
    numbers = {(v.text, v.datatype) for v in d.work.values(T.W_SUBJECT) if isinstance(v, Lit)}
    assert ("811/.54", T.MB_DDC) in numbers
    assert ("PZ3.D228", T.MB_LCC) in {(v.text, v.datatype) for v in g(records, "00003445").work.values(T.W_SUBJECT)
                                      if isinstance(v, Lit)}


@pytest.mark.parametrize("cn,entity,element", [
    ("00005030", "expression", T.E_TRANSLATOR),
    ("00005176", "expression", T.E_EDITOR),
    ("00006668", "manifestation", T.M_ILLUSTRATOR),
    ("00006378", "manifestation", T.M_ILLUSTRATOR),
    ("990929710914702204", "expression", T.E_TRANSLATOR),
    ("990929710914702204", "manifestation", T.M_ILLUSTRATOR),  # $eillustr.
])
def test_roles_land_on_the_right_entity(records, cn, entity, element):
    d = g(records, cn)
    assert getattr(d, entity).values(element)


def test_norwegian_agent_identifier(records):
    d = g(records, "990929710914702204")
    translator = d.expression.values(T.E_TRANSLATOR)[0]
    assert "(NO-TrBIB)90079454" in values(translator, T.A_PERSON_ID)
    assert translator.basis == ("id", "(NO-TrBIB)90079454")


def test_norwegian_abbreviated_relator_term_gives_the_role(records):
    # =700  1\$aScheffler, Axel,$d1957-$eillustr.$0(NO-TrBIB)90983587: the illustrator, not a
    # contributor to the expression.
    d = g(records, "990929710914702204")
    assert labels(d.manifestation, T.M_ILLUSTRATOR, T.A_PERSON_AAP) == ["Scheffler, Axel, 1957-"]
    assert labels(d.expression, T.E_CREATOR, T.A_PERSON_AAP) == []


def test_uncontrolled_index_terms_are_a_concept_each(records):
    # =653  \\$aregler$adikt$akatter: three terms, not one heading "regler dikt katter".
    d = g(records, "990929710914702204")
    concepts = [e for e in d.work.values(T.W_SUBJECT) if isinstance(e, Entity) and e.kind is Kind.CONCEPT]
    assert [values(c, T.SKOS_PREFLABEL) for c in concepts] == [["regler"], ["dikt"], ["katter"]]
    assert all(values(c, T.SKOS_INSCHEME) == ["https://w3id.org/metadatabronn/scheme/uncontrolled"]
               for c in concepts)
    # The field is carried whole: MARC export gives it back as it was.
    out = convert_back(d)
    assert [str(f) for f in out.get_fields("653")] == ["=653  \\\\$aregler$adikt$akatter"]


def test_uncontrolled_index_terms_come_back_as_one_field_from_the_store(records):
    d = g(records, "990929710914702204")
    src = from_description(d)
    # As the store gives them: the work's subject concepts with their labels and schemes.
    src.subject_concepts = sorted(
        (f"http://example.org/concept/{n}", c.first(T.SKOS_PREFLABEL).text, values(c, T.SKOS_INSCHEME)[0])
        for n, c in enumerate(e for e in d.work.values(T.W_SUBJECT) if isinstance(e, Entity)))
    assert [str(f) for f in to_marc(src).get_fields("653")] == ["=653  \\\\$aregler$adikt$akatter"]
    # A term removed from the work in the well leaves the field; the others stay, in their order.
    src.subject_concepts = [c for c in src.subject_concepts if c[1] != "dikt"]
    assert [str(f) for f in to_marc(src).get_fields("653")] == ["=653  \\\\$aregler$akatter"]


def test_translation_link_makes_the_original_the_work(records):
    d = g(records, "004507300")
    assert values(d.work, T.W_PREFERRED_TITLE)[0] == "Seitsemän veljestä"
    assert d.work.basis[1].startswith("Kivi, Aleksis")


@pytest.mark.parametrize("cn,audience", [("00008318", T.MB_JUVENILE), ("16839095", T.MB_ADULT), ("00003445", T.MB_ADULT)])
def test_target_audience(records, cn, audience):
    d = g(records, cn)
    assert values(d.expression, T.E_AUDIENCE) == [audience]
    assert (T.E_AUDIENCE in d.inferred) == (cn == "00003445")  # blank 008/22 is a default


def test_target_audience_not_coded_gives_none(records):
    # 008/22 "|" (no attempt to code) says nothing: no audience, not an inferred adult, and
    # MARC export leaves the position as it was.
    record = records["000773028"]
    assert record["008"].data[22] == "|"
    d = convert(record)
    assert values(d.expression, T.E_AUDIENCE) == []
    assert T.E_AUDIENCE not in d.inferred
    assert convert_back(d)["008"].data == record["008"].data


@pytest.mark.parametrize("cn,form", [("00003445", T.MB_FICTION), ("00000293", T.MB_NONFICTION)])
def test_literary_form(records, cn, form):
    assert form in values(g(records, cn).work, T.W_CATEGORY)


def test_880_alternate_script(records):
    d = g(records, "00015646")
    titles = d.manifestation.values(T.M_TITLE_PROPER)
    hebrew = [t for t in titles if t.lang and t.lang.endswith("-Hebr")]
    assert hebrew and hebrew[0].text.startswith("ספר")
    creator = d.work.values(T.W_AUTHOR)[0]
    names = creator.values(T.A_PERSON_AAP)
    assert any(n.lang and n.lang.endswith("-Hebr") for n in names)
    # The pairing survives in the carried layout: each 880 keeps its $6 linkage.
    carried = json.loads(d.carried)["fields"]
    assert ["6", "100-01/(2/r"] in next(f[2] for f in carried if f[0] == "880")


def test_852_item(records):
    d = g(records, "00002458")
    items = of_kind(d, Kind.ITEM)
    assert items and items[0].first(T.I_MANIFESTATION) is d.manifestation


def test_unmapped_fields_are_carried_in_order(records):
    record = records["00003445"]
    d = convert(record)
    layout = json.loads(d.carried)
    assert layout["leader"] == str(record.leader)
    assert [f[0] for f in layout["fields"]] == [f.tag for f in record.fields]
    f040 = next(f for f in layout["fields"] if f[0] == "040")
    assert all(value is not None for _, value in f040[2])  # carried whole
    assert "040" in d.carried_tags


def test_880_of_a_uniform_title_is_a_variant_title_of_the_work():
    from .conftest import record_with

    d = convert(record_with("=240  10$6880-01$aVoina i mir.", "=245  10$aWar and peace.",
                            "=880  10$6240-01/(N$aВойна и мир."))
    assert values(d.work, T.W_PREFERRED_TITLE) == ["Voina i mir"]
    variants = d.work.values(T.W_VARIANT_TITLE)
    assert [v.text for v in variants] == ["Война и мир"] and variants[0].lang.endswith("-Cyrl")
