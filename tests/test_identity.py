"""Behaviour of metadatabronn.identity: keys, IRI minting and explanations.

Keys and IRIs must be pure functions of an entity's basis (the same in every process and
every run); explanations must give the reasons a cataloguer can check.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pymarc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metadatabronn.identity import (
    Explanation,
    assign,
    creator_key,
    explain,
    key,
    manifestation_id,
    mint,
    normalise,
    record_graph,
    work_key,
)
from metadatabronn.mapping.convert import convert
from metadatabronn.mapping.model import Description, Entity, Kind

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data" / "sample.mrc"
BASE = "http://example.org"
HEX20 = re.compile(r"[0-9a-f]{20}")


def sample_records(*control_numbers: str) -> dict[str, pymarc.Record]:
    wanted = set(control_numbers)
    found = {}
    with open(SAMPLE, "rb") as fh:
        for record in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True):
            cn = record["001"].data.strip()
            if cn in wanted:
                found[cn] = record
    assert set(found) == wanted
    return found


def work(creator: str, title: str) -> Entity:
    return Entity(Kind.WORK, ("work", creator, title))


# normalise ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Pride & Prejudice /", "pride and prejudice"),
    ("Pride and prejudice.", "pride and prejudice"),
    ("  PRIDE   and\tPREJUDICE ", "pride and prejudice"),
    ("Järki ja tunteet", "jarki ja tunteet"),
    ("Saint-Exupéry, Antoine de", "saint exupery antoine de"),
    ("Sogni mancini", "sogni mancini"),
    ("L'Aiglon", "l aiglon"),
    ("", ""),
    (" ;:/ ", ""),
])
def test_normalise_folds_case_diacritics_punctuation_and_spacing(text, expected):
    assert normalise(text) == expected


def test_normalise_treats_decomposed_and_precomposed_forms_alike():
    composed = unicodedata.normalize("NFC", "Les Misérables; Ça ira")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert normalise(composed) == normalise(decomposed) == "les miserables ca ira"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_is_idempotent(text):
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_has_no_case_punctuation_or_edge_space_left(text):
    out = normalise(text)
    assert out == out.strip()
    assert "  " not in out
    assert out == out.casefold()
    assert not re.search(r"[^\w\s]", out)


LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:/-'()[]"
# Left out: U+0345 (Greek ypogegrammeni), which upper() turns into a capital iota, a letter;
# U+034F (combining grapheme joiner), a format mark with combining class 0, not a diacritic.
COMBINING = [chr(c) for c in range(0x0300, 0x0370) if c not in (0x0345, 0x034F)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=LATIN))
def test_normalise_is_case_insensitive(text):
    assert normalise(text.upper()) == normalise(text.lower()) == normalise(text) == normalise(text.swapcase())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LATIN), st.lists(st.sampled_from(COMBINING), max_size=2)),
                max_size=30),
       st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_normalise_is_diacritic_insensitive(pieces, form):
    plain = "".join(ch for ch, _ in pieces)
    marked = unicodedata.normalize(form, "".join(ch + "".join(marks) for ch, marks in pieces))
    assert normalise(marked) == normalise(plain)
    assert normalise(marked.upper()) == normalise(plain)


# creator_key -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "Austen, Jane",
    "Austen, Jane.",
    "Austen, Jane, 1775-1817",
    "Austen, Jane, 1775-1817.",
    "Austen, Jane (1775-1817)",
    "AUSTEN, JANE",
])
def test_creator_key_drops_dates_and_folds_forms(name):
    assert creator_key(name) == "austen jane"


@given(st.text(max_size=40), st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_work_key_of_a_creator_and_title_is_the_key_of_a_work_with_that_basis(creator, title):
    """A translation takes the key its original's work would have: one function for both."""
    assert work_key(creator, title) == key(Entity(Kind.WORK, ("work", creator, title)))


@pytest.mark.parametrize("name, expected", [
    ("Duranti, Francesca, 1935-", "duranti francesca"),
    ("Defoe, Daniel, 1661?-1731.", "defoe daniel"),
    ("Saint-Exupéry, Antoine de, 1900-1944.", "saint exupery antoine de"),
    ("Louis XIV, King of France, 1638-1715", "louis xiv king of france"),
    ("", ""),
])
def test_creator_key_examples(name, expected):
    assert creator_key(name) == expected


# key -------------------------------------------------------------------------------------------

def test_work_key_is_creator_and_title_normalised():
    assert key(work("Austen, Jane, 1775-1817", "Pride & Prejudice /")) == "work|austen jane|pride and prejudice"
    assert key(work("AUSTEN, Jane", "pride and prejudice")) == key(work("Austen, Jane", "Pride and Prejudice."))
    assert key(work("Austen, Jane", "Emma")) != key(work("Austen, Jane", "Persuasion"))
    assert key(work("", "Human rights")) == "work||human rights"


def test_expression_key_separates_language_and_content():
    def expr(lang, content="txt"):
        return Entity(Kind.EXPRESSION, ("expression", "Saint-Exupéry, Antoine de", "Petit prince", lang, content))

    assert key(expr("fre")) == "expression|saint exupery antoine de|petit prince|fre|txt"
    assert key(expr("fre")) != key(expr("ger"))
    assert key(expr("fre")) != key(expr("fre", "spw"))


def test_agent_key_prefers_identifier_over_heading():
    by_id = Entity(Kind.PERSON, ("id", "n 79021164"))
    by_uri = Entity(Kind.PERSON, ("uri", "http://id.loc.gov/authorities/names/n79021164"))
    by_name = Entity(Kind.PERSON, ("aap", "person", "Austen, Jane, 1775-1817"))
    assert key(by_id) == "agent|id|n79021164"
    assert key(by_uri) == "agent|uri|http://id.loc.gov/authorities/names/n79021164"
    assert key(by_name) == "agent|person|austen jane 1775 1817"
    assert key(Entity(Kind.CORPORATE, ("aap", "corporate", "Library of Congress."))) \
        == "agent|corporate|library of congress"


def test_manifestation_and_concept_keys():
    assert key(Entity(Kind.MANIFESTATION, ("(DLC)00001813",))) == "manifestation|(DLC)00001813"
    assert key(Entity(Kind.CONCEPT, ("uri", "http://id.loc.gov/x"))) == "uri|http://id.loc.gov/x"
    assert key(Entity(Kind.CONCEPT, ("lcsh", "topic", "Horsemanship."))) == "concept|lcsh|topic|horsemanship"


# mint ------------------------------------------------------------------------------------------

def test_manifestation_iri_from_control_number():
    m = Entity(Kind.MANIFESTATION, ("(DLC)00001813",))
    assert mint(BASE, m) == "http://example.org/manifestation/DLC-00001813"
    assert manifestation_id("(DLC)   00022737") == "DLC-00022737"
    assert manifestation_id("(OCoLC)ocm 123") == "OCoLC-ocm123"
    assert manifestation_id("12345") == "12345"
    # Characters unsafe in a path segment are escaped, so the IRI stays one segment.
    assert "/" not in manifestation_id("(NO-TrBIB)99/12#3?x")
    assert record_graph(BASE, "(DLC)00001813") == "http://example.org/record/DLC-00001813"


def test_mint_is_deterministic_and_key_based():
    a = work("Austen, Jane", "Pride and prejudice")
    b = work("AUSTEN, JANE, 1775-1817", "Pride & Prejudice.")
    c = work("Austen, Jane", "Emma")
    iri = mint(BASE, a)
    assert iri == mint(BASE, a) == mint(BASE, b)
    assert iri != mint(BASE, c)
    segment, _, digest = iri.removeprefix(BASE + "/").partition("/")
    assert segment == "work" and HEX20.fullmatch(digest)
    assert mint("https://other.example", a).endswith("/work/" + digest)
    person = Entity(Kind.PERSON, ("aap", "person", "Austen, Jane"))
    corporate = Entity(Kind.CORPORATE, ("aap", "corporate", "Austen, Jane"))
    assert mint(BASE, person).startswith(BASE + "/agent/")
    assert mint(BASE, person) != mint(BASE, corporate)
    uri_concept = Entity(Kind.CONCEPT, ("uri", "http://id.loc.gov/authorities/subjects/sh85061212"))
    assert mint(BASE, uri_concept) == "http://id.loc.gov/authorities/subjects/sh85061212"


def test_mint_is_the_same_in_another_process():
    """IRIs must not depend on the interpreter's hash seed (workers are separate processes)."""
    code = ("from metadatabronn.identity import mint; from metadatabronn.mapping.model import Entity, Kind; "
            "print(mint('http://example.org', Entity(Kind.WORK, ('work', 'Austen, Jane', 'Emma'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}, cwd=ROOT).stdout.strip()
    assert out == mint(BASE, work("Austen, Jane", "Emma"))


def test_assign_keeps_registered_iris():
    records = sample_records("00007090")
    description = convert(records["00007090"])
    iris, keys = assign(BASE, description)
    work_key = keys[id(description.work)]
    assert work_key == "work|austen jane|pride and prejudice"
    assert iris[id(description.work)] == mint(BASE, description.work)
    assert iris[id(description.manifestation)] == "http://example.org/manifestation/DLC-00007090"
    kept = "http://example.org/work/merged-by-a-cataloguer"
    again, _ = assign(BASE, description, {work_key: kept})
    assert again[id(description.work)] == kept
    assert again[id(description.manifestation)] == iris[id(description.manifestation)]


# explain ---------------------------------------------------------------------------------------

def test_explain_same_work_same_expression():
    r = sample_records("00007090", "00007091")
    result = explain(convert(r["00007090"]), convert(r["00007091"]))
    assert isinstance(result, Explanation)
    assert result.same_work
    assert any("creator matches" in x and "austen jane" in x for x in result.reasons)
    assert any("preferred title matches" in x and "pride and prejudice" in x for x in result.reasons)
    assert any(x.startswith("same expression") for x in result.reasons)
    assert str(result).startswith("same work: ")


def test_explain_different_works_names_the_difference():
    r = sample_records("00007090", "00007077")
    result = explain(convert(r["00007090"]), convert(r["00007077"]))
    assert not result.same_work
    assert any("creator matches" in x for x in result.reasons)
    assert any("preferred title differs" in x and "northanger abbey" in x for x in result.reasons)
    assert str(result).startswith("different works: ")


def test_explain_translation_is_same_work_other_expression():
    r = sample_records("00012999", "00013000")  # Le petit prince; Der kleine Prinz (240 $l German)
    result = explain(convert(r["00012999"]), convert(r["00013000"]))
    assert result.same_work
    assert any(x.startswith("different expressions") and "fre" in x and "ger" in x for x in result.reasons)


def test_explain_is_symmetric_in_verdict():
    r = sample_records("00007090", "00007077", "00012999", "00013000")
    d = {cn: convert(rec) for cn, rec in r.items()}
    for a, b in [("00007090", "00007077"), ("00012999", "00013000")]:
        assert explain(d[a], d[b]).same_work == explain(d[b], d[a]).same_work


def test_key_and_explain_do_not_need_a_store_and_are_pure():
    r = sample_records("00007090")
    first, second = convert(r["00007090"]), convert(r["00007090"])
    assert isinstance(first, Description)
    assert [key(e) for e in first.entities] == [key(e) for e in second.entities]
    assert [mint(BASE, e) for e in first.entities] == [mint(BASE, e) for e in second.entities]


def test_adopt_puts_a_records_work_and_its_expressions_under_another_works_identity():
    """Runeberg's Finnish edition that names no original takes the work of the one whose 240
    names Fänrik Ståls sägner: its key, preferred title and access point, and its expressions
    (its own Finnish one and the Swedish one of its 041 $h) follow, keeping their languages."""
    from metadatabronn.identity import adopt
    from metadatabronn.mapping import convert
    from metadatabronn.mapping import terms as T
    from metadatabronn.marc import iter_chunks, parse_chunk

    fennica = {}
    for chunk in iter_chunks(str(Path(__file__).parent.parent / "data" / "fennica-sample.marcxml")):
        record = parse_chunk(chunk)
        cn = record["001"].data if record.get("001") else None
        if cn in ("000408932", "003091846"):
            fennica[cn] = convert(record)
    joiner, naming = fennica["000408932"], fennica["003091846"]
    original = naming.work
    title, point = original.first(T.W_PREFERRED_TITLE).text, original.values(T.W_AAP)[-1].text
    swedish = joiner.expression.first(T.E_TRANSLATION_OF)
    adopt(joiner, original.basis, title, point)
    assert key(joiner.work) == key(original) == "work|runeberg johan ludvig|fanrik stals sagner"
    assert key(joiner.expression) == key(naming.expression)
    assert key(swedish) == key(naming.expression.first(T.E_TRANSLATION_OF))
    assert joiner.work.values(T.W_PREFERRED_TITLE)[0].text == "Fänrik Ståls sägner"
    assert [v.text for v in joiner.work.values(T.W_AAP)] == [point]
    # The record's own title stays the manifestation's title proper.
    assert joiner.manifestation.first(T.M_TITLE_PROPER).text.startswith("Vänrikki Stoolin tarinat")
