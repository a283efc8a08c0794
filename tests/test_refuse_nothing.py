"""Refuse nothing a library would keep: records the profile used to reject, taken from real
catalogues, are stored, with a Warning where a cataloguer should look, and come back out of
MARC export as they came in.

Fixtures (tests/data/marc/README.md): ``lc-refuse-nothing.mrc`` holds, unchanged, the eight
records of LC Books All 2016 part 01 (first 20,000) that were rejected before, and one of the
whole part 01 (an 020 $a of 13 digits that is no ISBN); ``m2bf2-refuse-
nothing.xml`` four records of LC's marc2bibframe2 sample (a kit, two sound recordings, a
photograph album). Where no real record shows a case (an empty 100 $a, a 245 with only $k, an
ISBN-13 with a wrong check digit), a real record is changed in that one field, as each test says.
"""

from __future__ import annotations

import copy

import pymarc
import pytest

from metadatabronn.mapping import convert, fixed
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.model import IRI, Kind, Lit
from metadatabronn.mapping.reverse import convert_back
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.pipeline.worker import Gate, convert_chunk
from metadatabronn.rdf import serialise
from metadatabronn.validate import VIOLATION, WARNING, Data, check, load_profile
from metadatabronn.validate.check import paths_of

from .conftest import DATA

BASE = "http://example.org"
LC = DATA / "marc" / "lc-refuse-nothing.mrc"
M2BF2 = DATA / "marc" / "m2bf2-refuse-nothing.xml"
SHAPES = "https://w3id.org/metadatabronn/shapes/base#"


def _records(path) -> dict[str, pymarc.Record]:
    out = {}
    for chunk in iter_chunks(path):
        record = parse_chunk(chunk)
        out[record["001"].data.strip()] = record
    return out


@pytest.fixture(scope="module")
def lc() -> dict[str, pymarc.Record]:
    return _records(LC)


@pytest.fixture(scope="module")
def m2bf2() -> dict[str, pymarc.Record]:
    return _records(M2BF2)


def results(record, profile: str = "base"):
    """The profile's results on the record, as the ingest gate computes them."""
    prof = load_profile(profile)
    s = serialise(convert(record), BASE, source="t", source_hash="h", when="2026-01-01T00:00:00Z",
                  rows_for=paths_of(prof))
    return check(Data.from_rows(s.rows), prof)


def violations(record, profile: str = "base") -> list[str]:
    return [r.message for r in results(record, profile) if r.severity == VIOLATION]


def warnings_of(record, shape: str) -> list:
    return [r for r in results(record) if r.severity == WARNING and r.shape == SHAPES + shape]


def iris(entity, element) -> list[str]:
    return [v.value for v in entity.values(element) if isinstance(v, IRI)]


def texts(entity, element) -> list[str]:
    return [v.text for v in entity.values(element) if isinstance(v, Lit)]


def languages(entity) -> list[str]:
    return [v[len(T.LANG_BASE):] for v in iris(entity, T.E_LANGUAGE)]


def fields(record, tag) -> list[str]:
    return [str(f) for f in record.get_fields(tag)]


def changed(record, tag: str, *lines: str) -> pymarc.Record:
    """A copy of the record with its fields of ``tag`` replaced by the mnemonic lines."""
    from .conftest import field_from_mnemonic

    out = copy.deepcopy(record)
    out.remove_fields(tag)
    for line in lines:
        out.add_ordered_field(field_from_mnemonic(line))
    return out


# --- every record that used to be rejected is stored --------------------------------------

@pytest.mark.parametrize("path", [LC, M2BF2], ids=["lc", "marc2bibframe2"])
def test_every_record_passes_the_ingest_gate(path):
    outcomes = [convert_chunk(c, BASE, "2026-01-01T00:00:00Z", Gate("base")) for c in iter_chunks(path)]
    assert [(o.number, o.status, o.reason) for o in outcomes if o.status != "ok"] == []


@pytest.mark.parametrize("profile", ["base", "language-based"])
def test_no_violation_under_either_profile(lc, profile):
    found = {cn: violations(r, profile) for cn, r in lc.items()}
    assert {cn: v for cn, v in found.items() if v} == {}


# --- language codes -------------------------------------------------------------------------

def test_obsolete_original_language_is_linked_by_its_replacement(lc):
    # (DLC)00008926: =041  1\$aeng$hscc (translated from the Serbian, coded before 2008).
    record = lc["00008926"]
    desc = convert(record)
    (original,) = desc.expression.values(T.E_TRANSLATION_OF)
    assert languages(original) == ["srp"] and languages(desc.expression) == ["eng"]
    assert fields(convert_back(desc), "041") == fields(record, "041") == ["=041  1\\$aeng$hscc"]


@pytest.mark.parametrize("given,current", [
    ("scc", "srp"), ("scr", "hrv"), ("tag", "tgl"), ("iri", "gle"), ("gag", "glg"), ("tar", "tat"),
    ("eth", "gez"), ("mol", "rum"), ("lap", "smi"),
])
def test_every_obsolete_code_with_a_replacement_links_it(lc, given, current):
    # (DLC)00008926 with its 041 $a set to the obsolete code.
    record = changed(lc["00008926"], "041", f"=041  1\\$a{given}")
    desc = convert(record)
    assert languages(desc.expression) == [current]
    assert texts(desc.expression, T.MB_INVALID_LANGUAGE) == []
    assert violations(record) == [] and warnings_of(record, "Expression-languageCodeNotRecognised") == []
    assert fields(convert_back(desc), "041") == [f"=041  1\\$a{given}"]


@pytest.mark.parametrize("given", ["esk", "ajm", "cro"])
def test_codes_without_one_replacement_are_kept_unlinked(lc, given):
    """esk (Eskimo languages) and ajm (Aljamía) are obsolete with several replacements, so none is
    chosen; cro (Crow) is no MARC code at all (the list codes Crow as sio, Siouan languages)."""
    record = changed(lc["00008926"], "041", f"=041  1\\$a{given}")
    desc = convert(record)
    assert texts(desc.expression, T.MB_INVALID_LANGUAGE) == [given]
    assert languages(desc.expression) == ["eng"]  # 008/35-37, the record's fallback


def test_packed_codes_are_split_and_an_undefined_one_kept_with_a_warning(lc):
    # (DLC)00023289: =041  0\$aengja (English, with Japanese given as "ja").
    record = lc["00023289"]
    desc = convert(record)
    assert languages(desc.expression) == ["eng"]
    assert texts(desc.expression, T.MB_INVALID_LANGUAGE) == ["ja"]
    (warning,) = warnings_of(record, "Expression-languageCodeNotRecognised")
    assert "ja" in warning.message and "041" in warning.message
    assert fields(convert_back(desc), "041") == ["=041  0\\$aengja"]


@pytest.mark.parametrize("cn,linked,kept", [
    ("00001671", ["und"], ["ung"]),         # =041  1\$aungund
    ("00029265", ["eng"], ["arb"]),         # =041  0\$aengarb (arb is ISO 639-3, not MARC)
    ("00033708", ["eng"], ["jap"]),         # =041  0\$aengjap
    ("00034010", ["eng"], ["jap"]),         # =041  1\$aeng$hjap
    ("00030061", ["eng"], ["jpa"]),         # =041  0\$aeng$hjpa
])
def test_invalid_codes_are_kept_as_given_and_warned(lc, cn, linked, kept):
    record = lc[cn]
    desc = convert(record)
    assert languages(desc.expression) == linked
    assert texts(desc.expression, T.MB_INVALID_LANGUAGE) == kept
    assert violations(record) == []
    assert len(warnings_of(record, "Expression-languageCodeNotRecognised")) == 1
    assert fields(convert_back(desc), "041") == fields(record, "041")


def test_split_codes():
    assert fixed.language_codes("hinrajpra") == ["hin", "raj", "pra"]
    assert fixed.language_codes("engfre") == ["eng", "fre"]
    assert fixed.language_codes("(eng)") == ["eng"]
    assert fixed.language_codes("it") == ["it"]


def test_obsolete_code_in_008_links_its_replacement(lc):
    # (DLC)00001671 without its 041 and with 008/35-37 "scr".
    record = changed(lc["00001671"], "041")
    f008 = record["008"].data
    record["008"].data = f008[:35] + "scr" + f008[38:]
    assert languages(convert(record).expression) == ["hrv"]
    assert violations(record) == []


def test_invalid_code_in_008_is_kept_and_warned(lc):
    record = changed(lc["00001671"], "041")
    f008 = record["008"].data
    record["008"].data = f008[:35] + "jap" + f008[38:]
    desc = convert(record)
    assert languages(desc.expression) == []
    assert texts(desc.expression, T.MB_INVALID_LANGUAGE) == ["jap"]
    assert violations(record) == []
    assert convert_back(desc)["008"].data == record["008"].data


def test_obsolete_code_in_008_goes_out_as_it_came(lc):
    record = changed(lc["00001671"], "041")
    f008 = record["008"].data
    record["008"].data = f008[:35] + "scr" + f008[38:]
    assert convert_back(convert(record))["008"].data == record["008"].data


# --- carriers, kits and 007 -----------------------------------------------------------------

def test_a_books_accompanying_videocassette_does_not_make_it_a_video(lc):
    # (DLC)00030925: a manual with a videocassette: =007  v|, 300 $a1 v. … +$e1 videocassette.
    record = lc["00030925"]
    m = convert(record).manifestation
    assert iris(m, T.M_MEDIA) == [T.media_iri("n")] and iris(m, T.M_CARRIER) == [T.carrier_iri("nc")]
    assert violations(record) == []


def test_every_007_is_read():
    leader = "01652cjm a22003253i 4500"
    sz_cr = ["sz zungnnuunea", "cr zna---uuaua"]
    # A sound recording coded "sz" (other) and then "cr": the second says the carrier.
    assert fixed.infer_media(leader, sz_cr, "") == "c"
    assert fixed.infer_carrier(leader, sz_cr, "", "c") == "cr"
    # A disc and its online copy: the carrier of the media type 337 gave.
    sd_cr = ["sd zungnnuunea", "cr zna---uuaua"]
    assert fixed.infer_carrier(leader, sd_cr, "", "s") == "sd"
    assert fixed.infer_carrier(leader, sd_cr, "", "c") == "cr"
    # One 007 as a string, as before.
    assert fixed.infer_carrier(leader, "sd zungnnuunea", "", "s") == "sd"


def test_a_sound_recording_with_two_007s(m2bf2):
    # marc2bibframe2 7925404: =007  sd …, =007  cr …, no 337/338.
    record = m2bf2["7925404"]
    m = convert(record).manifestation
    assert iris(m, T.M_MEDIA) == [T.media_iri("s")] and iris(m, T.M_CARRIER) == [T.carrier_iri("sd")]
    assert violations(record) == []


def test_a_sound_recording_coded_sz_then_cr_is_an_online_resource(m2bf2):
    # 7925404 with its first 007 coded "sz" (other) and its 300 $a left out.
    record = copy.deepcopy(m2bf2["7925404"])
    record.get_fields("007")[0].data = "sz zungnnuunea"
    record.remove_fields("300")
    m = convert(record).manifestation
    assert iris(m, T.M_CARRIER) == [T.carrier_iri("cr")]


def test_an_old_sound_recording_that_names_no_carrier_is_stored_with_a_warning(m2bf2):
    # marc2bibframe2 429272: Leader/06 j, no 007, 300 or 338: nothing says the carrier.
    record = m2bf2["429272"]
    assert iris(convert(record).manifestation, T.M_CARRIER) == []
    assert violations(record) == []
    assert len(warnings_of(record, "Manifestation-carrierType")) == 1


def test_a_kit(m2bf2):
    # marc2bibframe2 11587214: Leader/06 o, a DVD set with a booklet and an audio disc.
    record = m2bf2["11587214"]
    desc = convert(record)
    assert len(iris(desc.manifestation, T.M_CARRIER)) == 3
    assert violations(record) == []
    # The same kit without 336/337/338: the Leader says nothing of a kit's content, a Warning.
    bare = changed(record, "336")
    bare.remove_fields("337", "338")
    assert violations(bare) == []
    assert len(warnings_of(bare, "Expression-contentType")) == 1
    assert iris(convert(bare).manifestation, T.M_CARRIER) == [T.carrier_iri("sd")]


def test_mixed_materials_without_336(m2bf2):
    # marc2bibframe2 1177292: Leader/06 p, a photograph album, no 336.
    record = m2bf2["1177292"]
    assert violations(record) == []
    assert len(warnings_of(record, "Expression-contentType")) == 1


# --- headings, titles, ISBNs ------------------------------------------------------------------

def test_an_empty_name_makes_no_agent_and_a_warning(lc):
    # (DLC)00001671 with its 100 $a emptied: =100  1\$a$cgraf,$d1828-1910.
    record = changed(lc["00001671"], "100", "=100  1\\$a$cgraf,$d1828-1910.")
    desc = convert(record)
    assert desc.work.values(T.W_AUTHOR) == []  # Tolstoy's heading, without its name, names no one
    assert [e.basis for e in desc.entities if e.kind is Kind.PERSON] == [("aap", "person", "Smith, William E.")]
    assert texts(desc.manifestation, T.MB_HEADING_WITHOUT_NAME) == ["100 $a $cgraf, $d1828-1910."]
    assert violations(record) == []
    (warning,) = warnings_of(record, "Manifestation-headingWithoutAName")
    assert "1828-1910" in warning.message
    assert fields(convert_back(desc), "100") == fields(record, "100")


def test_an_empty_added_entry_name(lc):
    # (DLC)00034010 with a 700 whose $a is empty beside its translator's role.
    record = changed(lc["00034010"], "700", "=700  1\\$a$etranslator.")
    desc = convert(record)
    assert desc.expression.values(T.E_TRANSLATOR) == []
    assert texts(desc.manifestation, T.MB_HEADING_WITHOUT_NAME) == ["700 $a $etranslator."]
    assert violations(record) == []
    assert fields(convert_back(desc), "700") == fields(record, "700")


def test_a_title_statement_with_only_a_form(m2bf2):
    # marc2bibframe2 1177292 with its 245 reduced to the form and the dates.
    record = changed(m2bf2["1177292"], "245", "=245  00$kPhotograph album,$f1923.")
    desc = convert(record)
    assert texts(desc.manifestation, T.M_TITLE_PROPER) == ["Photograph album"]
    assert texts(desc.work, T.W_PREFERRED_TITLE) == ["Photograph album"]
    assert violations(record) == []
    assert fields(convert_back(desc), "245") == fields(record, "245")


def test_an_isbn13_with_a_wrong_check_digit_is_kept_as_invalid(lc):
    # (DLC)00033708 with its first 020 $a given as 13 digits whose check digit is wrong.
    record = changed(lc["00033708"], "020", "=020  \\\\$a9780521641556 (hardback)",
                     "=020  \\\\$a0521646146 (paperback)")
    desc = convert(record)
    m = desc.manifestation
    assert "urn:isbn:9780521641556" in texts(m, T.MB_INVALID_IDENTIFIER)
    assert "urn:isbn:9780521641556" not in texts(m, T.M_IDENTIFIER)
    assert "urn:isbn:9780521646147" in texts(m, T.M_IDENTIFIER)
    assert violations(record) == []
    (warning,) = warnings_of(record, "Manifestation-isbnWithAWrongCheckDigit")
    assert warning.value.value == "urn:isbn:9780521641556"
    assert fields(convert_back(desc), "020") == fields(record, "020")


def test_thirteen_digits_that_are_no_isbn_are_kept_as_invalid_with_a_warning(lc):
    # (DLC)00285285 as LC gives it: its third 020 $a, 9999609708336, has a right check digit but
    # the prefix 999, which no ISBN has (a slip for 9960970833, the 020 before it).
    record = lc["00285285"]
    desc = convert(record)
    m = desc.manifestation
    assert "urn:isbn:9999609708336" in texts(m, T.MB_INVALID_IDENTIFIER)
    assert not any("9999609708336" in v for v in texts(m, T.M_IDENTIFIER) + texts(m, T.SCHEMA_ISBN))
    assert {"urn:isbn:9789960693286", "urn:isbn:9789960970837"} <= set(texts(m, T.M_IDENTIFIER))
    assert violations(record) == []
    (warning,) = warnings_of(record, "Manifestation-isbnPrefix978Or979")
    assert warning.value.value == "urn:isbn:9999609708336"
    assert fields(convert_back(desc), "020") == fields(record, "020")


# --- 010 and 856 --------------------------------------------------------------------------------

def test_lccn_and_urls(lc):
    # (DLC)00023289: =010  \\$a   00023289 , three 856 (description, contents, biography).
    record = lc["00023289"]
    desc = convert(record)
    m = desc.manifestation
    assert "info:lccn/00023289" in texts(m, T.M_IDENTIFIER)
    assert texts(m, T.M_URL) == [f.get_subfields("u")[0] for f in record.get_fields("856")]
    back = convert_back(desc)
    assert fields(back, "010") == fields(record, "010") and fields(back, "856") == fields(record, "856")


@pytest.mark.parametrize("given,normal", [
    ("   00023289 ", "00023289"), ("n  78890351 ", "n78890351"), ("85-2", "85000002"),
    ("  2001012345 //r892", "2001012345"),
])
def test_lccn_normalisation(given, normal):
    from metadatabronn.mapping.fields import lccn

    assert lccn(given) == normal


# --- a record without 001 -------------------------------------------------------------------

def test_a_record_without_001_takes_its_identity_from_035_else_010(lc):
    # (DLC)00001671 without its 001 and 003: =035  \\$a(OCoLC)1655659, =010  \\$a   00001671 .
    record = copy.deepcopy(lc["00001671"])
    record.remove_fields("001", "003")
    assert convert(record).control_number == "(OCoLC)1655659"
    assert violations(record) == []
    record.remove_fields("035")
    assert convert(record).control_number == "(DLC)00001671"
    assert violations(record) == []


def test_a_record_without_001_is_stored_with_a_warning(lc):
    record = copy.deepcopy(lc["00001671"])
    record.remove_fields("001", "003")
    assert texts(convert(record).manifestation, T.MB_CONTROL_NUMBER_FROM) == ["035"]
    assert len(warnings_of(record, "Manifestation-controlNumberNotFrom001")) == 1
