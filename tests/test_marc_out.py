"""MARC 21 out: the reverse mapping, export from the store, and the round trip's promises."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadatabronn.cli import main
from metadatabronn.mapping import RULES, convert
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.reverse import Options, convert_back, from_description, from_triples, to_marc
from metadatabronn.mapping.source import control_number_of
from metadatabronn.mapping.text import isbn13
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.marc.compare import compare, normal
from metadatabronn.marc.fidelity import Fidelity
from metadatabronn.marc.writer import encode
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.export import export
from metadatabronn.pipeline.roundtrip import roundtrip
from metadatabronn.store import Store

from .conftest import ROOT, field_from_mnemonic, record_with

SAMPLE = ROOT / "data" / "sample.mrc"
GOLDEN = Path(__file__).parent / "data" / "golden" / "golden.mrc"
SCHEMAS = ROOT.parent / "shared" / "reference" / "schemas"
BASE = "http://example.org"


def lines(record) -> list[str]:
    return [str(f) for f in record.fields]


def back(record, options: Options = Options()):
    return convert_back(convert(record), options)


def sample(*cns: str) -> list[pymarc.Record]:
    with open(SAMPLE, "rb") as fh:
        records = {r["001"].data.strip(): r for r in pymarc.MARCReader(fh)}
    return [records[cn] for cn in cns]


# each rule's example comes back ------------------------------------------------------------

@pytest.mark.parametrize("rule", RULES, ids=lambda r: "/".join(r.tags))
def test_rule_example_comes_back(rule):
    """Every mapping rule's own example field survives MARC → entities → MARC exactly: its
    values as written, punctuation included, in its place, with its indicators."""
    original = field_from_mnemonic(rule.example)
    out = back(record_with(rule.example))
    same_tag = [f for f in out.fields if f.tag == original.tag]
    assert same_tag, f"{rule.example} is gone: {lines(out)}"
    f = same_tag[0]
    assert f.indicators == original.indicators
    assert [s.code for s in f.subfields] == [s.code for s in original.subfields]
    assert [s.value for s in f.subfields] == [s.value for s in original.subfields]


def test_values_nobody_edited_go_out_as_they_came():
    """A value nobody edited keeps the punctuation, case and spacing it came with, also where
    ISBD would want otherwise: a record typed without ISBD punctuation stays without it, and
    one with unusual punctuation keeps it."""
    bare = record_with("=100  1\\$aMackay, Charles H$d1860-1920$eauthor",
                       "=245  10$aA new system of occult training$bWest Gate philosophy$nBook I$cby Charles H. Mackay",
                       "=260  \\\\$aChicago$bAdvanced Thought Pub. Co$c1911",
                       "=300  \\\\$a96 p$bill$c20 cm")
    out = back(bare)
    wanted = ("100", "245", "260", "300")
    assert [str(f) for f in out.fields if f.tag in wanted] == [str(f) for f in bare.fields if f.tag in wanted]
    odd = record_with("=245  10$aThe sea (poems).$cby  X. Y. ",
                      "=300  \\\\$a6 pl. ;$c24 cm.",
                      "=260  \\\\$a[S.l.] :$bLee and Shepard,$c[1900?]")
    out = back(odd)
    assert str(out["245"]) == "=245  10$aThe sea (poems).$cby  X. Y. "
    assert str(out["300"]) == "=300  \\\\$a6 pl. ;$c24 cm."
    assert str(out["260"]) == "=260  \\\\$a[S.l.] :$bLee and Shepard,$c[1900?]"


def test_punctuation_is_regenerated_only_for_values_edited_in_the_well():
    """An edited value goes out with ISBD punctuation made from the subfield sequence; the
    values around it keep theirs as they came."""
    record = record_with("=245  10$aA new system of occult training$bWest Gate philosophy$cby Charles H. Mackay",
                         "=300  \\\\$a96 p$bill$c20 cm")
    src = from_description(convert(record))
    src.values["m"][T.M_OTHER_TITLE] = ["East Gate philosophy"]
    src.texts = [(p, "East Gate philosophy" if v == "West Gate philosophy" else v) for p, v in src.texts]
    src.values["m"][T.M_EXTENT] = ["97 p"]
    src.texts = [(p, "97 p" if v == "96 p" else v) for p, v in src.texts]
    out = to_marc(src)
    assert str(out["245"]) == "=245  10$aA new system of occult training$bEast Gate philosophy /$cby Charles H. Mackay"
    assert str(out["300"]) == "=300  \\\\$a97 p :$bill$c20 cm"


def test_parallel_title_keeps_its_equals_sign():
    out = back(record_with("=245  10$aKalevala =$bThe Kalevala /$ctranslated by X."))
    assert str(out["245"]) == "=245  10$aKalevala =$bThe Kalevala /$ctranslated by X."


def test_content_media_carrier_are_always_written_with_their_source_codes():
    record = sample("00000226")[0]
    assert not record.get_fields("336", "337", "338")
    out = back(record)
    assert [str(f) for f in out.get_fields("336", "337", "338")] == [
        "=336  \\\\$atext$btxt$2rdacontent", "=337  \\\\$aunmediated$bn$2rdamedia",
        "=338  \\\\$avolume$bnc$2rdacarrier"]
    # in tag order, before 440
    tags = [f.tag for f in out.fields]
    assert tags.index("300") < tags.index("336") < tags.index("338") < tags.index("440")


def test_unmapped_fields_come_back_in_their_original_order():
    record = sample("00000119")[0]
    out = back(record)
    carried = [str(f) for f in record.fields if f.tag in ("007", "010", "040", "530", "856")]
    assert [str(f) for f in out.fields if f.tag in ("007", "010", "040", "530", "856")] == carried
    assert [f.tag for f in out.fields if f.tag not in ("336", "337", "338")] == [f.tag for f in record.fields]


def test_leader_and_control_fields_are_regenerated():
    record = sample("00000119")[0]
    out = back(record)
    assert out["001"].data == "   00000119 " and out["003"].data == "DLC"  # 001 as LC gave it
    assert out.leader[9] == "a"  # UTF-8
    assert out.leader[5:9] == str(record.leader)[5:9]
    data = out.as_marc()
    again = pymarc.Record(data=data)
    assert int(data[:5]) == len(data) and again["245"].value() == out["245"].value()


def test_008_is_rebuilt_from_the_entities():
    desc = convert(record_with(f008="160101s2016    nyu           000 1 eng  "))
    src = from_description(desc)
    assert to_marc(src)["008"].data == "160101s2016    nyu           000 1 eng  "
    src.values["e"][T.E_LANGUAGE] = [T.LANG_BASE + "nob"]
    src.values["w"][T.W_CATEGORY] = [T.MB_NONFICTION]
    src.values["e"][T.E_AUDIENCE] = [T.MB_JUVENILE]
    f008 = to_marc(src)["008"].data
    assert (f008[35:38], f008[33], f008[22]) == ("nob", "0", "j")


def test_a_changed_entity_value_flows_out():
    """A value changed in the well is written in place of the one that came in."""
    desc = convert(sample("00007090")[0])
    src = from_description(desc)
    src.values["w"][T.W_PREFERRED_TITLE] = ["Pride & prejudice"]
    src.values["m"][T.M_TITLE_PROPER] = ["Pride and prejudice (revised)"]
    src.texts = [(p, t) for p, t in src.texts if t != "Pride and prejudice"]
    assert "240" not in lines(to_marc(src))[0] and to_marc(src).get("240") is None  # the work is not edited
    src.edited = frozenset({"w"})
    out = to_marc(src)
    assert out["245"]["a"].startswith("Pride and prejudice (revised)")
    assert out["240"]["a"] == "Pride & prejudice"  # the work's title was set in the well: a 240 says so


def test_agent_identifiers_are_written_in_0_and_1():
    record = record_with("=100  1\\$aIbsen, Henrik,$d1828-1906.")
    src = from_description(convert(record))
    agent = next(a for a in src.agents)
    agent.uris.append("http://isni.org/isni/0000000121032683")
    # Another record's identifier for a shared agent is not this record's to carry ...
    assert to_marc(src)["100"].get_subfields("1") == []
    # ... one a cataloguer gave the agent in the well is.
    agent.edited = True
    out = to_marc(src)
    assert out["100"].get_subfields("1") == ["http://isni.org/isni/0000000121032683"]
    assert back(record_with("=100  1\\$aIbsen, Henrik,$d1828-1906.$1http://viaf.org/viaf/7392250"))["100"] \
        .get_subfields("1") == ["http://viaf.org/viaf/7392250"]


def test_subject_identifiers_added_in_the_well_are_written_in_1():
    record = record_with("=650  \\0$aKansas$xHistory$y1854-1861.")
    src = from_description(convert(record))
    (kansas,) = src.concepts
    kansas.uris.append("http://id.loc.gov/authorities/subjects/sh85071934")
    kansas.edited = True
    assert to_marc(src)["650"].get_subfields("1") == ["http://id.loc.gov/authorities/subjects/sh85071934"]
    # A heading that already has it is left alone.
    again = record_with("=650  \\0$aKansas$xHistory.$0http://id.loc.gov/authorities/subjects/sh85071934")
    out = back(again)["650"]
    assert out.get_subfields("0") == ["http://id.loc.gov/authorities/subjects/sh85071934"]
    assert out.get_subfields("1") == []


def test_880_fields_keep_their_linkage():
    record = record_with("=100  1\\$6880-01$aTolstoy, Leo,$d1828-1910.",
                         "=245  10$6880-02$aVoĭna i mir /$cL.N. Tolstoĭ.",
                         "=880  1\\$6100-01/(N$aТолстой, Лев,$d1828-1910.",
                         "=880  10$6245-02/(N$aВойна и мир /$cЛ.Н. Толстой.")
    out = back(record)
    assert [f.get_subfields("6") for f in out.get_fields("880")] == [["100-01/(N"], ["245-02/(N"]]
    assert [normal(f.value()) for f in out.get_fields("880")] == \
        [normal(f.value()) for f in record.get_fields("880")]
    assert out["245"]["6"] == "880-02"


def test_260_stays_260_unless_rda_style_is_asked_for():
    record = record_with("=260  \\\\$aLondon :$bMacmillan,$c1900$eEdinburgh :$fR. & R. Clark")
    assert [f.tag for f in back(record).fields if f.tag.startswith("26")] == ["260"]
    rda = back(record, Options(rda=True))
    assert [str(f) for f in rda.get_fields("264")] == [
        "=264  \\1$aLondon :$bMacmillan,$c1900", "=264  \\3$aEdinburgh :$bR. & R. Clark"]


def test_golden_records_round_trip_without_loss():
    fidelity = Fidelity()
    with open(GOLDEN, "rb") as fh:
        for n, record in enumerate(pymarc.MARCReader(fh), 1):
            out = pymarc.Record(data=back(record).as_marc())
            fidelity.add(compare(record, out, n))
    rates = fidelity.rates()
    assert rates["fields_kept"] == 1.0
    assert rates["subfields_modulo"] >= 0.998
    assert fidelity.rate_for(["020", "1XX", "245", "260", "264"]) == 1.0


# the fixpoint property ---------------------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZæøåéü0123456789'&-",
                min_size=2, max_size=9)
_phrase = st.lists(_word, min_size=1, max_size=5).map(" ".join)
_punct = st.sampled_from(["", ".", " :", " /", ",", " ;", " =", "?"])
_value = st.tuples(_phrase, _punct).map("".join)


@st.composite
def records(draw):
    lines = []
    if draw(st.booleans()):
        dates = draw(st.sampled_from(["", "$d1900-1980,", "$d1954-", "$db. 1901,"]))
        lines.append(f"=100  1\\$a{draw(_phrase)}, {draw(_phrase)},{dates}$eauthor.")
    if draw(st.booleans()):
        lines.append(f"=240  10$a{draw(_phrase)}")
    title = f"=245  1{draw(st.sampled_from('0234'))}$a{draw(_value)}"
    for code in draw(st.lists(st.sampled_from("bnpc"), max_size=3, unique=True)):
        title += f"${code}{draw(_value)}"
    lines.append(title)
    if draw(st.booleans()):
        digits = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
        check = (11 - sum((10 - i) * int(c) for i, c in enumerate(digits)) % 11) % 11
        isbn = digits + ("X" if check == 10 else str(check))
        assert isbn13(isbn)
        qualifier = draw(st.sampled_from(["", " (pbk.)", " (hardcover : alk. paper)"]))
        lines.append(f"=020  \\\\$a{isbn}{qualifier}")
    if draw(st.booleans()):
        lines.append(f"=250  \\\\$a{draw(_value)}")
    tag = draw(st.sampled_from(["=260  \\\\", "=264  \\1"]))
    lines.append(f"{tag}$a{draw(_value)}$b{draw(_value)}$c{draw(_value)}")
    lines.append(f"=300  \\\\$a{draw(_value)}$b{draw(_value)}$c{draw(_value)}")
    if draw(st.booleans()):
        lines.append(f"=490  1\\$a{draw(_value)}$v{draw(_value)}")
        lines.append(f"=830  \\0$a{draw(_value)}")
    for _ in range(draw(st.integers(0, 2))):
        lines.append(f"=500  \\\\$a{draw(_value)}")
    for _ in range(draw(st.integers(0, 2))):
        lines.append(f"=650  \\0$a{draw(_value)}$x{draw(_value)}")
    for _ in range(draw(st.integers(0, 3))):
        lines.append(f"=700  1\\$a{draw(_phrase)}, {draw(_phrase)},$e{draw(st.sampled_from(['editor.', 'translator.']))}")
    return record_with(*lines, cn=draw(st.text(alphabet="0123456789", min_size=6, max_size=10)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_round_trip_output_is_a_fixpoint(record):
    """Converting the round trip's output again gives the same output."""
    once = back(record)
    twice = back(pymarc.Record(data=once.as_marc()))
    assert lines(twice) == lines(once)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_round_trip_gives_back_every_field_as_it_came(record):
    """Nobody edited it: every field comes back in its place exactly as given, punctuation,
    case and spacing included; the well only adds 336/337/338, which it always writes."""
    out = back(record)
    assert [str(f) for f in out.fields if f.tag not in ("336", "337", "338")] == [str(f) for f in record.fields]


# export from the store ---------------------------------------------------------------------

def _ingest(paths, store):
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=1))


def _write(path: Path, records) -> Path:
    with open(path, "wb") as fh:
        for r in records:
            fh.write(r.as_marc())
    return path


def _export(store, fmt="marc", **kw) -> bytes:
    out = io.BytesIO()
    result = export(store, BASE, out, fmt, **kw)
    assert not result.failed
    return out.getvalue()


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("golden") / "store"
    _ingest([GOLDEN], store)
    return store


def test_export_streams_every_stored_record_and_pymarc_rereads_them(golden_store):
    # As ingest read them: Unicode NFC, which is what the well stores and exports.
    originals = {r["001"].data.strip(): r for r in (parse_chunk(c) for c in iter_chunks(GOLDEN))}
    data = _export(golden_store)
    exported = list(pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True))
    assert all(r is not None for r in exported)
    assert sorted(r["001"].data.strip() for r in exported) == sorted(originals)
    fidelity = Fidelity()
    for n, r in enumerate(exported, 1):
        fidelity.add(compare(originals[r["001"].data.strip()], r, n))
    assert fidelity.rates()["fields_kept"] == 1.0
    assert fidelity.rate_for(["020", "1XX", "245", "260", "264"]) == 1.0


def test_export_as_json_and_marcxml_read_back(golden_store):
    as_json = json.loads(_export(golden_store, "json"))
    assert len(as_json) == 22 and all("leader" in r and "fields" in r for r in as_json)
    records = pymarc.parse_xml_to_array(io.BytesIO(_export(golden_store, "marcxml")))
    assert len(records) == 22
    assert {r["001"].data for r in records} == {r["fields"][0]["001"] for r in as_json}


def test_exported_marcxml_validates_against_marc21slim(golden_store):
    xsd = SCHEMAS / "MARC21slim.xsd"
    if not xsd.exists():
        pytest.skip("MARC21slim.xsd not available")
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(xsd)))
    doc = etree.parse(io.BytesIO(_export(golden_store, "marcxml")))
    assert schema.validate(doc), schema.error_log.last_error


def _sources(store_path, look_up: bool = False):
    """Each record's source for MARC out, as export reads it; ``look_up``: as for a record
    edited since its load, every value then looked up among the entities."""
    reader = Store(store_path, BASE, read_only=True)
    try:
        out = {}
        for graph in reader.record_graphs(None):
            unchanged: list[bool] = [False]
            m, carried, modified, deleted, statements, edited = reader.record_statements(
                graph, edits=True, unchanged=None if look_up else unchanged)
            out[control_number_of(statements, m)] = from_triples(
                control_number_of(statements, m), m, statements, carried, modified=modified, deleted=deleted,
                edited=edited, unchanged=unchanged[0])
        return out
    finally:
        reader.close()


def test_a_record_nobody_edited_is_written_as_it_came_without_looking_its_values_up(golden_store):
    # Export writes such a record's held values straight from its layout; looked up among the
    # entities, as for an edited record, they come out the same, byte for byte.
    sources, looked_up = _sources(golden_store), _sources(golden_store, look_up=True)
    assert len(sources) == 22 and all(src.unedited for src in sources.values())
    assert not any(src.unedited for src in looked_up.values())
    for cn, src in sources.items():
        assert encode(to_marc(src), "marc") == encode(to_marc(looked_up[cn]), "marc")


def test_an_edit_of_a_shared_work_sends_its_records_the_long_way(tmp_path):
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "a.mrc", sample("00007090", "00007091", "00000226"))], store)
    time.sleep(0.01)  # the edit is logged after the load
    s = Store(store, BASE)
    try:
        (work,) = {row["w"].value for row in s.query(f"SELECT ?w ?i WHERE {{ ?m <{T.M_WORK}> ?w ; "
                                                         f"<{T.M_IDENTIFIER}> ?i }}") if "00007090" in row["i"].value}
        s.update(f"""INSERT DATA {{ <{work}> <{T.W_CONTENTS}> "Chapters 1-61" }}""", changed=[work])
    finally:
        s.close()
    sources = _sources(store)
    # The two records of that work may now say what the well says of it; the third, untouched.
    assert {cn: src.unedited for cn, src in sources.items()} == {
        "(DLC)00007090": False, "(DLC)00007091": False, "(DLC)00000226": True}


def test_export_since_gives_changed_and_deleted_records(tmp_path):
    store = tmp_path / "store"
    records = sample("00007090", "00007091", "00033956", "00000226")
    _ingest([_write(tmp_path / "a.mrc", records)], store)
    time.sleep(0.01)
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    changed = records[3]
    changed["245"]["a"] = "The essentials of grammar /"
    deleted = records[1]
    deleted.leader = str(deleted.leader)[:5] + "d" + str(deleted.leader)[6:]
    _ingest([_write(tmp_path / "b.mrc", [changed, deleted])], store)

    out = list(pymarc.MARCReader(io.BytesIO(_export(store, since=since)), force_utf8=True))
    by_cn = {r["001"].data.strip(): r for r in out}
    assert set(by_cn) == {"00000226", "00007091"}
    assert by_cn["00007091"].leader[5] == "d"
    assert by_cn["00000226"].leader[5] != "d"
    assert by_cn["00000226"]["245"]["a"] == "The essentials of grammar /"
    # A full export is of what the well holds now: the deleted record is not in it.
    full = {r["001"].data.strip() for r in pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)}
    assert full == {"00007090", "00033956", "00000226"}


def test_a_shared_work_retitled_in_the_well_flows_into_every_manifestation(tmp_path):
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "pride.mrc", sample("00007090", "00007091", "00033956"))], store)
    # Read before the store is opened for writing: a reader beside a writer sees whatever state
    # its files are in.
    before = list(pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True))
    assert [r.get("240") for r in before] == [None] * 3  # no record had one, and the well invents none
    time.sleep(0.01)  # the edit is logged after the load
    s = Store(store, BASE)
    try:
        (work,) = {row["w"].value for row in s.query(
            f"SELECT ?w WHERE {{ ?m <{T.M_WORK}> ?w }}")}
        s.update(f"""DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}
                     INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> "Pride and prejudice (novel)" }}
                     WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}""", changed=[work])
    finally:
        s.close()
    out = list(pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True))
    assert len(out) == 3
    assert [r["240"]["a"] for r in out] == ["Pride and prejudice (novel)"] * 3


def test_a_work_retitled_to_a_longer_title_comes_out_whole_with_a_new_005(tmp_path):
    # The old title is a run of words of the new one: found there, it must not be taken for the
    # record's value; the work has changed and its new title is written.
    record = record_with("=100  1\\$aKivi, Aleksis,$d1834-1872.", "=240  10$aSeitsemän veljestä.$lruotsi",
                         "=245  10$aSju bröder /$cAleksis Kivi.", cn="KIVI1")
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "k.mrc", [record])], store)
    (before,) = pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)
    time.sleep(1.1)  # 005 counts whole seconds
    s = Store(store, BASE)
    try:
        (row,) = list(s.query(f"SELECT ?w WHERE {{ ?m <{T.M_WORK}> ?w }}"))
        work = row["w"].value
        s.update(f"""DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}
                     INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> "Seitsemän veljestä (romaani)" }}
                     WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}""", changed=[work])
    finally:
        s.close()
    (out,) = pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)
    assert str(out["240"]) == "=240  10$aSeitsemän veljestä (romaani)$lruotsi"
    # The record changed in the well when its work did: 005 says so, as the OAI datestamp does.
    assert out["005"].data > before["005"].data


def test_export_since_includes_records_whose_shared_work_was_edited(tmp_path):
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "p.mrc", sample("00007090", "00007091", "00033956", "00000226"))], store)
    time.sleep(0.01)
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    s = Store(store, BASE)
    try:
        (work,) = {row["w"].value for row in s.query(
            f"SELECT ?w WHERE {{ <{BASE}/manifestation/DLC-00007090> <{T.M_WORK}> ?w }}")}
        s.update(f"""DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}
                     INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> "Pride and prejudice (novel)" }}
                     WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}""", changed=[work])
    finally:
        s.close()
    out = list(pymarc.MARCReader(io.BytesIO(_export(store, since=since)), force_utf8=True))
    assert sorted(r["001"].data.strip() for r in out) == ["00007090", "00007091", "00033956"]


def test_notes_and_subjects_added_in_the_well_flow_out(tmp_path):
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "p.mrc", sample("00007090", "00007091"))], store)
    original = {r["001"].data.strip(): r for r in pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)}
    m, g = f"{BASE}/manifestation/DLC-00007090", f"{BASE}/record/DLC-00007090"
    lcsh = "http://id.loc.gov/authorities/subjects"
    s = Store(store, BASE)
    try:
        (row,) = list(s.query(f"SELECT ?e ?w WHERE {{ <{m}> <{T.M_EXPRESSION}> ?e ; <{T.M_WORK}> ?w }}"))
        e, w = row["e"].value, row["w"].value
        s.update(f"""INSERT DATA {{
            GRAPH <{g}> {{
                <{m}> <{T.M_NOTE}> "Bookplate of the Boston Athenaeum." .
                <{e}> <{T.E_SUMMARY}> "Elizabeth Bennet meets Mr. Darcy." .
                <{w}> <{T.W_SUBJECT}> <{lcsh}/sh85033433> , <{BASE}/concept/local-1> , <{BASE}/concept/tag-1> .
            }}
            <{lcsh}/sh85033433> a <{T.C_CONCEPT}> ; <{T.SKOS_PREFLABEL}> "Courtship -- England" ;
                <{T.SKOS_INSCHEME}> <{lcsh}> .
            <{BASE}/concept/local-1> a <{T.C_CONCEPT}> ; <{T.SKOS_PREFLABEL}> "Frieri" ;
                <{T.SKOS_INSCHEME}> <https://w3id.org/metadatabronn/scheme/noubomn> .
            <{BASE}/concept/tag-1> a <{T.C_CONCEPT}> ; <{T.SKOS_PREFLABEL}> "regency romance" ;
                <{T.SKOS_INSCHEME}> <https://w3id.org/metadatabronn/scheme/uncontrolled> .
        }}""", changed=[m])
    finally:
        s.close()
    out = {r["001"].data.strip(): r for r in pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)}
    edited, before = out["00007090"], original["00007090"]
    added = [str(f) for f in edited.fields if str(f) not in {str(x) for x in before.fields} and f.tag != "005"]
    assert added == [
        "=500  \\\\$aBookplate of the Boston Athenaeum.",
        "=520  \\\\$aElizabeth Bennet meets Mr. Darcy.",
        "=650  \\0$aCourtship$xEngland.$0http://id.loc.gov/authorities/subjects/sh85033433",
        "=650  \\7$aFrieri.$2noubomn$0http://example.org/concept/local-1",
        "=653  \\\\$aregency romance",
    ]
    # Fields stay in tag order, and nothing was added to the record nobody edited.
    tags = [f.tag for f in edited.fields]
    assert tags == sorted(tags, key=lambda t: (t == "880", t))
    assert [str(f) for f in out["00007091"].fields if f.tag != "005"] == \
           [str(f) for f in original["00007091"].fields if f.tag != "005"]
    # Exporting the edited record again gives the same record: the new fields are found as written.
    again = {r["001"].data.strip(): r for r in pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)}
    assert [str(f) for f in again["00007090"].fields] == [str(f) for f in edited.fields]


def test_a_subject_relabelled_or_removed_in_the_well_changes_its_heading(tmp_path):
    record = record_with("=100  1\\$aHamsun, Knut,$d1859-1952,$eauthor.", "=245  10$aSult /$cKnut Hamsun.",
                         "=650  \\0$aHunger$vFiction.", "=650  \\0$aNorway$xSocial life and customs.",
                         "=650  \\7$aSult$2noubomn$0http://example.net/noubomn/c123", cn="HAM1")
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "h.mrc", [record])], store)

    def subjects():
        (r,) = pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)
        return [str(f) for f in r.get_fields("650")]

    assert subjects() == ["=650  \\0$aHunger$vFiction.", "=650  \\0$aNorway$xSocial life and customs.",
                          "=650  \\7$aSult$2noubomn$0http://example.net/noubomn/c123"]
    s = Store(store, BASE)
    try:
        def concept(text):
            (row,) = list(s.query(f"SELECT ?c WHERE {{ ?c <{T.SKOS_PREFLABEL}> ?n FILTER(STRSTARTS(?n, '{text}')) }}"))
            return row["c"].value
        hunger, norway = concept("Hunger"), concept("Norway")
        s.update(f"""DELETE {{ <{hunger}> <{T.SKOS_PREFLABEL}> ?x }}
                     INSERT {{ <{hunger}> <{T.SKOS_PREFLABEL}> "Starvation -- Fiction" }}
                     WHERE {{ <{hunger}> <{T.SKOS_PREFLABEL}> ?x }}""", changed=[hunger])
        s.update(f"DELETE WHERE {{ GRAPH ?g {{ ?w <{T.W_SUBJECT}> <{norway}> }} }}", changed=[norway])
    finally:
        s.close()
    # The relabelled concept's heading is written from its new label (subdivisions in $x, as
    # the label does not say which kind they were); the removed one is gone; the heading known
    # by its URI is left as it was. A new heading follows the headings of its tag.
    assert subjects() == ["=650  \\7$aSult$2noubomn$0http://example.net/noubomn/c123",
                          f"=650  \\0$aStarvation$xFiction.$0{hunger}"]


def test_export_writes_the_record_own_control_number_without_003(tmp_path):
    # Without 003 the control number is a bare number among other bare numbers (ISBNs, LCCNs):
    # 001 must be the one the manifestation's IRI was minted from.
    record = record_with("=020  \\\\$a0850670837", "=245  10$aPride and prejudice.", cn="2091983")
    record.remove_fields("003")
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "p.mrc", [record])], store)
    for _ in range(3):  # the identifiers come back in the store's order, whatever it is
        (r,) = pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)
        assert r["001"].data == "2091983" and r.get_fields("003") == []
        assert r["020"]["a"] == "0850670837"


def test_headings_that_share_an_entity_keep_each_record_own_form(tmp_path):
    # The series work and the agent are each one entity for both records, and keep the form
    # they met first; each record's heading still goes out in the record's own form.
    series = sample("00032159", "00032996")
    assert series[1]["830"]["a"] == "Opposing viewpoints series (unnumbered)"
    first = record_with("=100  1\\$aManninen, Otto,$d1872-1950.", "=245  10$aKootut runot.", cn="MAN1")
    second = record_with("=245  10$aValitut.", "=700  1\\$amanninen, otto,$d1872-1950.", cn="MAN2")
    store = tmp_path / "store"
    _ingest([_write(tmp_path / "s.mrc", [*series, first, second])], store)
    out = {r["001"].data.strip(): r for r in pymarc.MARCReader(io.BytesIO(_export(store)), force_utf8=True)}
    assert [str(f) for f in out["00032996"].get_fields("830")] == ["=830  \\0$aOpposing viewpoints series (unnumbered)"]
    assert [str(f) for f in out["00032159"].get_fields("830")] == ["=830  \\0$aOpposing viewpoints series (Unnumbered)"]
    assert [str(f) for f in out["MAN2"].get_fields("700")] == ["=700  1\\$amanninen, otto,$d1872-1950."]
    assert [str(f) for f in out["MAN1"].get_fields("100")] == ["=100  1\\$aManninen, Otto,$d1872-1950."]


def test_layouts_written_before_values_were_kept_still_export():
    """Layouts of version 1 and 2 held fingerprints instead of values: they still export every
    field, their values found in the entities (with the well's punctuation)."""
    from metadatabronn.mapping.text import hint, hint_folded

    record = sample("00007090")[0]
    desc = convert(record)
    layout = json.loads(desc.carried)
    assert layout["h"] == 3 and any(isinstance(v, list) for f in layout["fields"] if len(f) == 3 for _, v in f[2])
    src = from_description(desc)
    new_out = to_marc(src)
    for version, held in ((1, lambda v: hint(v)), (2, lambda v: [hint(v), hint_folded(v)])):
        old = {"leader": layout["leader"], **({"h": version} if version > 1 else {}),
               "fields": [f if len(f) == 2 else [f[0], f[1], [[c, held(v[0]) if isinstance(v, list) else v]
                                                              for c, v in f[2]]]
                          for f in layout["fields"]]}
        src.carried = json.dumps(old)
        out = to_marc(src)
        assert [f.tag for f in out.fields] == [f.tag for f in new_out.fields]
        assert [[normal(x.value) for x in f.subfields] if not f.is_control_field() else f.data for f in out.fields] == \
               [[normal(x.value) for x in f.subfields] if not f.is_control_field() else f.data for f in new_out.fields]


def test_export_is_the_same_whatever_the_hash_seed(tmp_path):
    # Two headings of one record can fit one agent's name (Fennica has "Hawking, Stephen." with
    # and without its $0); which agent a heading took its identifiers from used to follow
    # Python's set order, which changes from process to process.
    store = tmp_path / "store"
    _ingest([ROOT / "data" / "fennica-sample.marcxml"], store)
    outputs = set()
    for seed in ("1", "2", "3", "5"):
        out = tmp_path / f"out-{seed}.mrc"
        subprocess.run([sys.executable, "-m", "metadatabronn", "export", "--store", str(store), "--base-iri", BASE,
                        "--out", str(out)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.add(out.read_bytes())
    assert len(outputs) == 1


def test_a_store_export_adds_no_note_or_subject_field_to_unedited_records(golden_store):
    originals = {r["001"].data.strip(): r for r in (parse_chunk(c) for c in iter_chunks(GOLDEN))}
    for r in pymarc.MARCReader(io.BytesIO(_export(golden_store)), force_utf8=True):
        for prefix in ("5", "6"):
            n_in = sum(f.tag.startswith(prefix) for f in originals[r["001"].data.strip()].fields)
            assert sum(f.tag.startswith(prefix) for f in r.fields) == n_in, (r["001"].data.strip(), prefix)


# commands ----------------------------------------------------------------------------------

def test_roundtrip_command_reports_fidelity_as_json(tmp_path, capsys):
    report = tmp_path / "report.json"
    assert main(["roundtrip", str(GOLDEN), "--report", str(report), "--workers", "1"]) == 0
    data = json.loads(report.read_text())
    assert data["records"] == 22 and data["rates"]["fields_kept"] == 1.0
    assert set(data["key_tags"]) == {"020", "1XX", "245", "260/264"}
    assert "245" in data["tags"] and data["records_per_second"] > 0
    printed = capsys.readouterr().out
    assert "fields kept" in printed and "records/s" in printed


def test_roundtrip_of_the_sample_meets_the_targets():
    result = roundtrip([str(SAMPLE)], workers=1)
    rates = result.fidelity.rates()
    assert result.records == 400 and not result.unreadable
    assert rates["fields_kept"] >= 0.995 and rates["subfields_modulo"] >= 0.99
    for tags in (["020"], ["1XX"], ["245"], ["260", "264"]):
        assert result.fidelity.rate_for(tags) == 1.0, tags


def test_export_command_writes_marcxml_to_a_file(tmp_path, golden_store, capsys):
    out = tmp_path / "out.xml"
    assert main(["export", "--store", str(golden_store), "--base-iri", BASE, "--format", "marcxml",
                 "--out", str(out), "-q"]) == 0
    assert len(pymarc.parse_xml_to_array(str(out))) == 22


def test_export_command_refuses_a_bad_since(golden_store, capsys):
    assert main(["export", "--store", str(golden_store), "--since", "last tuesday"]) == 2
    assert "--since wants an ISO 8601 date" in capsys.readouterr().err


def test_export_of_a_missing_store_is_a_clear_error(tmp_path, capsys):
    assert main(["export", "--store", str(tmp_path / "nothing")]) == 1
    assert "no store at" in capsys.readouterr().err
