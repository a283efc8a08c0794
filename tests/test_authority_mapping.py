"""MARC 21 authority records → their entity, nomens, identifiers and keys (mapping.authority)."""

from __future__ import annotations

import json

import pymarc
import pytest

from metadatabronn.errors import MappingError
from metadatabronn.identity import authority_keys, key
from metadatabronn.mapping import convert
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.authority import authority_identifier, convert_authority
from metadatabronn.mapping.authority_rules import RULES
from metadatabronn.mapping.authority_terms import N_REFERENCE_SOURCE
from metadatabronn.mapping.model import IRI, Entity, Kind, Lit
from metadatabronn.marc import iter_chunks, parse_chunk

from .conftest import ROOT, field_from_mnemonic, record_with

DATA = ROOT / "tests" / "data" / "authorities"
LEADER = "00000nz  a2200000n  4500"


def authority_with(*lines: str, leader: str = LEADER, cn: str | None = "T0001", org: str | None = "NO-TrBIB"):
    record = pymarc.Record(leader=leader)
    if cn is not None:
        record.add_field(pymarc.Field(tag="001", data=cn))
    if org is not None:
        record.add_field(pymarc.Field(tag="003", data=org))
    for line in lines:
        record.add_field(field_from_mnemonic(line))
    return record


def records(name: str):
    return [parse_chunk(c) for c in iter_chunks(DATA / name)]


def by_number(name: str = "norwegian-style.xml") -> dict[str, pymarc.Record]:
    return {r["001"].data: r for r in records(name)}


def _text(value) -> str:
    if isinstance(value, Lit):
        return value.text
    if isinstance(value, IRI):
        return value.value
    if isinstance(value, Entity):
        for p in (T.SKOS_PREFLABEL, T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP, T.W_AAP):
            found = value.first(p)
            if found is not None:
                return found.text
    return str(value)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: "-".join(r.tags) + ":" + r.example[-1][:20])
def test_every_rule_example(rule):
    description = convert_authority(authority_with(*rule.example))
    stated = {(p, _text(v)) for p, v in description.entity.statements}
    nomens = {(n.tag, n.string) for n in description.nomens}
    notes = {(p, text) for n in description.nomens for p, text in n.notes}
    for about, element, value in rule.expect:
        if about == "entity":
            assert (element, value) in stated, (element, value, sorted(stated))
        elif element.isdigit():
            assert (element, value) in nomens, (element, value, nomens)
        else:
            assert (element, value) in notes, (element, value, notes)
    for element in {e for _, e, _ in rule.expect if _ == "entity"}:
        assert element in rule.elements or element in (T.A_PERSON_NAME, T.A_PERSON_AAP)


def test_rules_name_their_source_and_handler():
    for rule in RULES:
        assert rule.source and rule.example and callable(rule.handler)


# identity ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, cn, org, expected", [
    ((), "90054383", "NO-TrBIB", ("(NO-TrBIB)90054383", "90054383")),
    (("=040  \\\\$acsc",), " 1702 ", None, ("(csc)1702", "1702")),
    ((), "1702", None, ("(local)1702", "1702")),
    (("=035  \\\\$z(OLD)1$a(DE-588) 4005657-0",), None, None, ("(DE-588)4005657-0", "4005657-0")),
    (("=010  \\\\$an  79021164 ",), None, None, ("(DLC)n79021164", "n79021164")),
])
def test_identifier(lines, cn, org, expected):
    record = authority_with(*lines, "=100  1\\$aX", cn=cn, org=org)
    assert authority_identifier(record) == expected


def test_unusable_records_are_refused_with_their_reason():
    with pytest.raises(MappingError) as no_id:
        convert_authority(authority_with("=100  1\\$aNobody", cn=None, org=None), number=7)
    assert no_id.value.number == 7 and no_id.value.tag == "001"
    with pytest.raises(MappingError) as no_heading:
        convert_authority(authority_with("=670  \\\\$aSource"), number=3)
    assert no_heading.value.tag == "1XX" and "heading" in no_heading.value.reason


def test_kinds_of_main_entity():
    kinds = {n: convert_authority(r).entity.kind for n, r in by_number().items()}
    assert kinds["99990001"] is Kind.PERSON and kinds["99990006"] is Kind.FAMILY
    assert kinds["99990003"] is Kind.CORPORATE and kinds["99990005"] is Kind.CORPORATE
    assert kinds["99990007"] is Kind.WORK and kinds["99990008"] is Kind.WORK
    assert kinds["99990012"] is Kind.CONCEPT


def test_agent_key_is_the_key_of_a_heading_with_that_identifier():
    d = convert_authority(by_number()["99990001"])
    heading = convert(record_with("=100  1\\$aSolberg, Åse Kari,$d1921-1998.$0(NO-TrBIB)99990001"))
    agent = next(e for e in heading.entities if e.kind is Kind.PERSON)
    assert key(d.entity) == key(agent) == "agent|id|(NO-TrBIB)99990001"


def test_a_name_title_authority_joins_the_cluster_of_its_work():
    d = convert_authority(by_number()["99990007"])
    book = convert(record_with("=100  1\\$aSolberg, Åse Kari,$d1921-1998.", "=240  10$aFjellsanger",
                               "=245  10$aFjellsanger :$bdikt."))
    assert key(d.entity) == key(book.work)
    uniform = convert_authority(by_number()["99990008"])
    anonymous = convert(record_with("=130  0\\$aKvædet om Ørnulv", "=245  10$aKvædet om Ørnulv."))
    assert key(uniform.entity) == key(anonymous.work)


def test_link_keys_are_the_keys_headings_can_have():
    d = convert_authority(by_number()["99990001"])
    links, variants = authority_keys(d)
    heading_keys = []
    for line in ("=100  1\\$aSolberg, Åse Kari,$d1921-1998.",  # its access point, no $0
                 "=100  1\\$aSolberg, Åse Kari$9 99990001",  # Koha's $9
                 "=100  1\\$aSolberg, Åse Kari$0(isni)0000000999900012",
                 "=100  1\\$aSolberg, Åse Kari$1https://isni.org/isni/0000000999900012",
                 "=100  1\\$aSolberg, Åse Kari$1http://viaf.org/viaf/999990001",
                 "=100  1\\$aSolberg, Åse Kari$0(NO-TrBIB)x99990001"):
        agent = next(e for e in convert(record_with(line)).entities if e.kind is Kind.PERSON)
        heading_keys.append(key(agent))
    assert set(heading_keys) <= set(links), set(heading_keys) - set(links)
    variant = next(e for e in convert(record_with("=100  1\\$aSolberg, Aase Kari,$d1921-1998.")).entities
                   if e.kind is Kind.PERSON)
    assert key(variant) in variants and key(variant) not in links
    assert "agent|uri|http://isni.org/isni/0000000999900012" in links  # both schemes of a URI


def test_concept_keys_and_scheme():
    d = convert_authority(by_number()["99990012"])
    assert key(d.entity) == "concept|id|(NO-TrBIB)99990012"
    assert IRI("https://w3id.org/metadatabronn/scheme/humord") in d.entity.values(T.SKOS_INSCHEME)
    heading = next(e for e in convert(record_with("=650  \\7$aFjellvandring$2humord")).entities
                   if e.kind is Kind.CONCEPT)
    assert key(heading) in authority_keys(d)[0]
    lcsh = convert_authority(records("lcsh-sh2009007258.xml")[0])  # no 040 $f: 008/11 a is LCSH
    assert lcsh.entity.values(T.SKOS_INSCHEME) == [IRI("http://id.loc.gov/authorities/subjects")]
    lc_heading = next(e for e in convert(record_with("=651  \\0$aValley Forge National Historical Park (Pa.)")).entities
                      if e.kind is Kind.CONCEPT)
    assert key(lc_heading) in authority_keys(lcsh)[0]


def test_identifiers_of_024_035_and_same_as():
    d = convert_authority(by_number()["99990002"])  # an ISNI given with spaces
    assert "(isni)0000000999900020" in d.identifiers
    assert IRI("https://isni.org/isni/0000000999900020") in d.entity.values(T.OWL_SAMEAS)
    gnd = convert_authority(records("gnd-1020118989.xml")[0])
    ids = [v.text for v in gnd.entity.values(T.MB_IDENTIFIER)]
    assert ids == ["(orcid)0000-0001-9142-1457", "(viaf)267074138", "(isni)0000000114418676", "(wikidata)Q865334"]
    assert "(DE-588)1020118989" in gnd.identifiers and "(DE-588a)1020118989" not in gnd.identifiers  # 035 $z
    assert {v.value for v in gnd.entity.values(T.OWL_SAMEAS)} >= {
        "http://d-nb.info/gnd/1020118989", "https://orcid.org/0000-0001-9142-1457", "http://viaf.org/viaf/267074138",
        "https://isni.org/isni/0000000114418676", "http://www.wikidata.org/entity/Q865334"}
    bibsys = convert_authority(records("bibsys-90081146.xml")[0])
    assert "(viaf)803679" in bibsys.identifiers and bibsys.quality == "kat3"


def test_nomens_are_every_access_point_with_position_scheme_and_source():
    record = by_number()["99990001"]
    d = convert_authority(record)
    tags = [f.tag for f in record.fields]
    assert [(n.tag, n.preferred) for n in d.nomens] == [("100", True), ("400", False), ("400", False)]
    for n in d.nomens:
        assert tags[n.position - 1] == n.tag
    assert d.nomens[0].source == "NO-TrBIB"
    assert (N_REFERENCE_SOURCE, "Hennes Fjellsanger, 1952 (Åse Kari Solberg, f. 1921)") in d.nomens[0].notes
    assert d.nomens[2].notes  # $w a: an earlier form


def test_related_entities_and_their_relations():
    d = convert_authority(by_number()["99990003"])
    successor = d.entity.first(T.RDAA + "P50016")
    assert isinstance(successor, Entity) and key(successor) == "agent|id|(NO-TrBIB)99990004"
    concept = convert_authority(by_number()["99990012"])
    broader = concept.entity.first("http://www.w3.org/2004/02/skos/core#broader")
    assert key(broader) == "concept|id|(NO-TrBIB)99990013"


def test_status_deleted_and_replaced():
    numbers = by_number()
    assert convert_authority(numbers["99990010"]).deleted
    replaced = convert_authority(numbers["99990011"])
    assert replaced.status == "x" and replaced.replaced_by == ["(NO-TrBIB)99990009"]
    assert not replaced.deleted


def test_layout_carries_the_record_exactly():
    for name in ("norwegian-style.xml", "gnd-1020118989.xml", "lcgft-gf2011026530.xml"):
        for record in records(name):
            layout = json.loads(convert_authority(record).carried)
            assert layout["h"] == 3 and layout["leader"] == str(record.leader)
            assert len(layout["fields"]) == len(record.fields)
            for entry, field in zip(layout["fields"], record.fields):
                assert entry[0] == field.tag
                if field.is_control_field():
                    assert entry[1] == field.data
                else:
                    assert entry[1] == "".join(field.indicators)
                    assert [tuple(s) for s in entry[2]] == [(s.code, s.value) for s in field.subfields]


def test_every_committed_authority_record_converts():
    seen = 0
    for path in sorted(DATA.glob("*.xml")):
        if "bibliographic" in path.name:
            continue
        for record in records(path.name):
            d = convert_authority(record)
            assert d.identifier and d.nomens and d.nomens[0].preferred
            seen += 1
    assert seen == 15 + 9
