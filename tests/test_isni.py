"""ISNI: the ISO 27729 check character, the AtomPub request writer and the response reader (pure:
no store). The flow against a store is in test_isni_flow.py."""

from __future__ import annotations

import pytest

from metadatabronn.errors import IsniError
from metadatabronn.isni import checksum
from metadatabronn.isni import request as rq
from metadatabronn.isni import response as rs

from .conftest import DATA

ISNI = DATA / "isni"


# the check character ---------------------------------------------------------------------------

@pytest.mark.parametrize("isni", [
    "0000000121032683",  # digit check character
    "000000012281955X",  # X: the check value ten
    "0000 0001 2281 955X",  # as printed
    "ISNI 0000 0001 2281 955x",  # with its name, a lower-case x
    "https://isni.org/isni/000000012281955X",  # as a URI
    "0000-0002-1825-0097",  # ORCID iDs are ISNIs: the ORCID documentation's example
])
def test_valid_isnis_pass(isni):
    assert checksum.is_valid(isni)
    assert len(checksum.validate(isni)) == 16


def test_the_check_character_is_iso_7064_mod_11_2():
    assert checksum.check_character("000000012281955") == "X"
    assert checksum.check_character("000000012103268") == "3"
    assert checksum.check_character("000000021825009") == "7"
    with pytest.raises(ValueError):
        checksum.check_character("12345")


@pytest.mark.parametrize("isni,why", [
    ("0000000122819551", "check character 1, where ISO 27729 gives X"),
    ("000000012103268X", "check character X, where ISO 27729 gives 3"),
    ("00000001228195", "not an ISNI"),
    ("00000001228X955X", "not an ISNI"),
])
def test_a_bad_isni_is_refused_with_the_reason_and_the_place(isni, why):
    assert not checksum.is_valid(isni)
    with pytest.raises(IsniError) as err:
        checksum.validate(isni, "answer.xml")
    assert str(err.value).startswith("answer.xml: ")
    assert why in str(err.value)


def test_grouped_and_uri_forms():
    assert checksum.grouped("000000012281955X") == "0000 0001 2281 955X"
    assert checksum.uri("000000012281955X") == "https://isni.org/isni/000000012281955X"


# requests ----------------------------------------------------------------------------------------

def _person() -> rq.Identity:
    return rq.Identity(
        kind=rq.PERSON, requestor_id="(NO-TrBIB)99990001", name=rq.person_name("Howells, William Dean", "1837-1920"),
        variants=[rq.person_name("Howells, W. D.")], birth="1837", death="1920", other_ids=[("VIAF", "12345")],
        uris=["http://viaf.org/viaf/12345"],
        resources=[rq.Resource("Their silver wedding journey", "aut", publisher="Harper", date="1899",
                               identifiers=(("ISBN", "9780000000002"),)),
                   rq.Resource("A hazard of new fortunes", "aut")],
        languages=["eng"])


def test_a_person_request_carries_names_variants_dates_identifiers_and_titles():
    assert rq.write(_person()) == (ISNI / "request-person.xml").read_bytes()


def test_an_organisation_request_splits_main_name_and_subdivisions():
    o = rq.Identity(kind=rq.ORGANISATION, requestor_id="(metadatabronn)0a1b2c3d4e5f60718293",
                    name=rq.organisation_name("Universitetet i Oslo. Det historisk-filosofiske fakultet"),
                    variants=[rq.organisation_name("University of Oslo. Faculty of Humanities")], usage_from="1811",
                    resources=[rq.Resource("Årsmelding", "cre")])
    assert rq.write(o) == (ISNI / "request-organisation.xml").read_bytes()


def test_request_elements_come_in_the_schema_order_and_none_is_empty():
    root = rq.element(_person())
    info = root.find("identityInformation")
    assert [c.tag for c in info] == ["requestorIdentifierOfIdentity", "otherIdentifierOfIdentity", "identity",
                                     "languageOfIdentity", "externalInformation"]
    person = info.find("identity/personOrFiction")
    assert [c.tag for c in person] == ["personalName", "birthDate", "deathDate", "resource", "resource",
                                       "personalNameVariant"]
    assert all((el.text or "").strip() or len(el) for el in root.iter())


def test_names_as_headings_give_them():
    assert rq.person_name("Howells, William Dean,") == rq.PersonalName("Howells", "William Dean")
    assert rq.person_name("Snorri Sturluson") == rq.PersonalName("Snorri Sturluson")
    assert rq.organisation_name("Norway. Stortinget.") == rq.OrganisationName("Norway", ("Stortinget",))


# responses ---------------------------------------------------------------------------------------

def _read(name: str) -> rs.Response:
    return rs.read((ISNI / name).read_bytes(), name)


def test_an_assigned_isni_is_read_and_checked():
    r = _read("assigned.xml")
    assert (r.status, r.isni) == (rs.ASSIGNED, "000000012281955X")
    assert r.sources == [("VIAF", "12345")]


def test_possible_matches_are_read_with_their_scores():
    r = _read("possible.xml")
    assert r.status == rs.POSSIBLE
    assert r.matches == [rs.Match("123456789", "", "0.82", "VIAF"),
                         rs.Match("987654321", "0000000121032683", "0.64", "LC")]


def test_rejected_and_provisional_answers():
    r = _read("rejected.xml")
    assert (r.status, r.reason) == (rs.REJECTED, "insufficient data: no title of a work")
    r = _read("provisional.xml")
    assert (r.status, r.ppn) == (rs.PROVISIONAL, "555000111")


@pytest.mark.parametrize("name,words", [
    ("bad-check-character.xml", "check character 1, where ISO 27729 gives X"),
    ("message.xml", "not an ISNI response but a message: 'Request rejected"),
    ("truncated.xml", "not well-formed XML"),
    ("not-a-response.xml", "no responseRecord, but <Request>"),
])
def test_an_unusable_answer_is_a_clear_error_naming_the_file(name, words):
    with pytest.raises(IsniError) as err:
        _read(name)
    assert str(err.value).startswith(f"{name}: ")
    assert words in str(err.value)
