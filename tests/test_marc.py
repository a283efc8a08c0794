"""Behaviour of metadatabronn.marc: format detection, chunking, parsing, record kinds.

The fixtures in tests/data/marc/ are real records; the README there gives origin and licence.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import unicodedata
from pathlib import Path

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from metadatabronn.errors import InputError, MarcError, ReadError
from metadatabronn.marc import Chunk, Format, RecordKind, iter_chunks, parse_chunk, record_kind

DATA = Path(__file__).parent / "data" / "marc"
SLIM = "http://www.loc.gov/MARC21/slim"


def chunks(name: str | Path) -> list[Chunk]:
    return list(iter_chunks(DATA / name))  # an absolute Path replaces DATA


def records(name: str | Path) -> list[pymarc.Record]:
    return [parse_chunk(c) for c in chunks(name)]


def outcomes(name: str | Path) -> list[pymarc.Record | MarcError]:
    result: list[pymarc.Record | MarcError] = []
    for chunk in iter_chunks(DATA / name):
        try:
            result.append(parse_chunk(chunk))
        except MarcError as exc:
            result.append(exc)
    return result


def shape(record: pymarc.Record, normalise: bool = False) -> list[tuple]:
    def text(value: str) -> str:
        return unicodedata.normalize("NFC", value) if normalise else value

    return [
        (f.tag, text(f.data))
        if f.control_field
        else (f.tag, tuple(f.indicators), tuple((s.code, text(s.value)) for s in f.subfields))
        for f in record.fields
    ]


def lc(number: int) -> bytes:
    return chunks("lc5.mrc")[number - 1].data


def patched(record: bytes, offset: int, replacement: bytes) -> bytes:
    return record[:offset] + replacement + record[offset + len(replacement) :]


# Detection, compression, numbering, whole-file errors ----------------------------------------


ISO, XML, JSON = Format.ISO2709, Format.MARCXML, Format.MARCJSON


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [("lc5.mrc", ISO, 5), ("pymarc-marc8.dat", ISO, 1), ("pymarc-batch.xml", XML, 2),
     ("bibsys-SRU_response_2_hits.xml", XML, 2), ("scriptotek-oaipmh-bibsys.xml.gz", XML, 89),
     ("pymarc-one.json", JSON, 1), ("pymarc-batch.json", JSON, 2)],
)
def test_format_is_detected_from_content(name, fmt, count):
    found = chunks(name)
    assert [(c.number, c.format, c.source) for c in found] == [(n, fmt, str(DATA / name))
                                                               for n in range(1, count + 1)]


def test_names_do_not_matter_and_gzip_is_transparent(tmp_path):
    for fixture, disguise, fmt in [("pymarc-batch.xml", "records.mrc", XML),
                                   ("lc5.mrc", "records.json", ISO), ("lc5.mrc.gz", "lc5.dat", ISO)]:
        shutil.copy(DATA / fixture, tmp_path / disguise)
        assert {c.format for c in iter_chunks(tmp_path / disguise)} == {fmt}
    assert [c.data for c in chunks(tmp_path / "lc5.dat")] == [c.data for c in chunks("lc5.mrc")]
    assert {c.source for c in iter_chunks(DATA / "lc5.mrc", source="upload.mrc")} == {"upload.mrc"}


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b" \n\t\n", "empty"), (b"just some text\n", "unrecognised format"),
     ((DATA / "lc5.mrc.gz").read_bytes()[:-40], "cannot read"), (None, "cannot read")],
)
def test_unusable_files_raise_one_line_input_error(tmp_path, content, message):
    path = tmp_path / "input.bin"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        list(iter_chunks(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def truncated_gzip(tmp_path: Path, plain: bytes, keep: float = 0.6) -> tuple[Path, bytes]:
    """A gzip of *plain* cut short, and the bytes a decompressor can still give of it."""
    import gzip
    import zlib

    packed = gzip.compress(plain)
    cut = packed[: int(len(packed) * keep)]
    path = tmp_path / "cut.gz"
    path.write_bytes(cut)
    return path, zlib.decompressobj(31).decompress(cut)


@pytest.mark.parametrize(("name", "fmt", "end"), [("lc5.mrc.gz", ISO, b"\x1d"),
                                                  ("scriptotek-oaipmh-bibsys.xml.gz", XML, b"</marc:record>"),
                                                  ("pymarc-batch.json", JSON, None)])
def test_truncated_gzip_yields_every_whole_record_then_says_where_reading_stopped(tmp_path, name, fmt, end):
    import gzip

    raw = (DATA / name).read_bytes()
    plain = gzip.decompress(raw) if name.endswith(".gz") else raw
    path, readable = truncated_gzip(tmp_path, plain)
    whole = chunks(name)
    got = []
    with pytest.raises(ReadError) as info:
        for chunk in iter_chunks(path):
            got.append(chunk)
    # Every record the cut left whole is read, with the bytes of the intact file's record.
    expected = readable.count(end) if end else sum(1 for c in whole if readable.find(c.data) >= 0)
    assert 0 < len(got) == expected < len(whole)
    assert [(c.number, c.format, c.data) for c in got] == [(c.number, c.format, c.data) for c in whole[: len(got)]]
    error = info.value
    assert isinstance(error, InputError) and error.after == len(got) and error.format == fmt.value
    message = str(error)
    assert "\n" not in message and str(path) in message and f"after record {len(got)}" not in message
    assert f"past record {len(got)}" in message and "Compressed file ended" in message
    if fmt is ISO:  # the record cut short is kept, as it was read
        assert error.data and whole[len(got)].data.startswith(error.data)


def test_a_gzip_cut_before_its_first_record_cannot_be_read(tmp_path):
    path, readable = truncated_gzip(tmp_path, (DATA / "lc5.mrc").read_bytes(), keep=0.02)
    assert not readable
    with pytest.raises(InputError, match="cannot read: Compressed file ended") as info:
        list(iter_chunks(path))
    assert not isinstance(info.value, ReadError)


# ISO 2709 -----------------------------------------------------------------------------------


def test_iso_chunks_are_the_original_record_bytes():
    found = chunks("lc5.mrc")
    assert b"".join(c.data for c in found) == (DATA / "lc5.mrc").read_bytes()
    assert all(c.data.endswith(b"\x1d") and len(c.data) == int(c.data[:5]) for c in found)
    copy = pickle.loads(pickle.dumps(found[2]))  # as sent to a worker process
    assert copy == found[2] and shape(parse_chunk(copy)) == shape(parse_chunk(found[2]))


@pytest.mark.parametrize("name", ["lc5.mrc", "pymarc-test.dat", "lc-unicode.mrc", "pymarc-marc8.dat"])
def test_iso_parse_matches_pymarc_and_a_chunk_reads_back_alone(tmp_path, name):
    with open(DATA / name, "rb") as handle:
        theirs = list(pymarc.MARCReader(handle, to_unicode=True, utf8_handling="strict"))
    ours = records(name)
    assert [str(r.leader) for r in ours] == [str(r.leader) for r in theirs]
    assert [shape(r) for r in ours] == [shape(r, normalise=True) for r in theirs]
    for chunk in chunks(name):  # as when written to a rejects file and read again
        (tmp_path / "alone.mrc").write_bytes(chunk.data)
        (again,) = chunks(tmp_path / "alone.mrc")
        assert shape(parse_chunk(again)) == shape(parse_chunk(chunk))


def test_text_is_unicode_nfc_from_utf8_and_marc8():
    french, hebrew = chunks("lc-unicode.mrc")
    assert b"Come\xcc\x81die" in french.data  # LC distributes decomposed UTF-8
    assert "Com\u00e9die humaine" in parse_chunk(french)["245"].value()
    assert "פריימן" in parse_chunk(hebrew).get_fields("880")[0]["a"]
    (marc8,) = records("pymarc-marc8.dat")
    assert marc8["240"]["a"] == "De la solitude \u00e0 la communaut\u00e9."
    assert shape(marc8) == shape(records("pymarc-utf8_with_leader_flag.dat")[0])
    assert "Eva Hemmungs Wirt\u00e9n" in records("pymarc-diacritic.dat")[0]["505"]["a"]
    for path in (p for p in DATA.iterdir() if p.suffix != ".md"):
        for record in (r for r in outcomes(path) if isinstance(r, pymarc.Record)):
            texts = [t for f in shape(record) for t in ([f[1]] if len(f) == 2 else dict(f[2]).values())]
            assert all(unicodedata.is_normalized("NFC", t) for t in texts), path


def test_damage_tolerated_as_pymarc_tolerates_it():
    (record,) = records("pymarc-bad_marc8_escape.dat")
    assert record["260"]["b"] == "La Soci\u00e9t\x1b,"
    (eacc,) = records("pymarc-bad_eacc_encoding.dat")
    assert len(eacc["880"]["a"]) == 12 and eacc["880"]["a"].endswith(" ")
    (indicators,) = records("pymarc-bad_indicator.dat")
    assert indicators["020"].indicators == pymarc.Indicators(" ", " ")
    assert records("pymarc-alphatag.dat")[0].get_fields("CAT")[0]["a"] == "CONV"


def test_bad_records_are_rejected_one_by_one():
    results = outcomes("pymarc-bad_records.mrc")
    assert [i for i, r in enumerate(results, 1) if isinstance(r, pymarc.Record)] == [1, 8]
    reasons = {r.number: r.reason for r in results if isinstance(r, MarcError)}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 9]
    assert reasons[2] == "base address 99937 is outside the record (127 bytes)"
    assert reasons[4] == "directory length 13 is not a multiple of 12"
    assert reasons[6] == "base address 'f0037' in the leader is not a number"
    assert reasons[7] == "record has no fields"
    assert "record terminator" in reasons[9]


@pytest.mark.parametrize(
    ("name", "tag", "reason"),
    [("pymarc-utf8_invalid.mrc", "260", "subfield code '\ufffd' is not ASCII"),
     ("pymarc-bad_subfield_code.dat", "245", "directory entry 12 does not end at a field terminator")],
)
def test_damaged_field_names_tag_and_reason(name, tag, reason):
    (chunk,) = chunks(name)
    with pytest.raises(MarcError) as info:
        parse_chunk(chunk)
    assert (info.value.number, info.value.tag, info.value.reason) == (1, tag, reason)


@pytest.mark.parametrize(
    ("damage", "tag", "reason"),
    [
        (lambda r: patched(r, r.index(b"Botanical") + 3, b"\xff"), "245",
         "invalid UTF-8 in field 245 at byte 7"),
        (lambda r: patched(r, 24 + 7, b"90000"), "001", "directory entry 1 points past end of record"),
        (lambda r: patched(r, 0, b"0x720"), None, "record length '0x720' in the leader is not a number"),
        (lambda r: patched(r, 0, b"00900"), None,
         "leader gives a length of 900 bytes but the record has 720"),
    ],
)
def test_one_damaged_record_among_good_ones(tmp_path, damage, tag, reason):
    path = tmp_path / "mixed.mrc"
    path.write_bytes(lc(2) + damage(lc(1)) + lc(3) + b"\n")
    first, bad, *rest = outcomes(path)
    assert isinstance(first, pymarc.Record) and isinstance(bad, MarcError)
    assert (bad.number, bad.tag, bad.reason) == (2, tag, reason)
    assert len(rest) <= 1 and all(isinstance(r, pymarc.Record) for r in rest)


def test_separators_and_a_short_leader_length_are_harmless_a_cut_tail_is_not(tmp_path):
    path = tmp_path / "padded.mrc"
    path.write_bytes(patched(lc(1), 0, b"00100") + b"\r\n" + lc(2) + b"\n\n  \n")
    assert [c.data for c in chunks(path)] == [patched(lc(1), 0, b"00100"), lc(2)]
    assert all(isinstance(r, pymarc.Record) for r in outcomes(path))
    path.write_bytes(lc(1) + lc(2)[:300])
    good, cut = outcomes(path)
    assert cut.number == 2 and "does not end with a record terminator" in cut.reason


def test_files_larger_than_a_read_block(tmp_path):
    damaged = patched(lc(4), 0, b"?????")
    (tmp_path / "big.mrc").write_bytes(((DATA / "lc5.mrc").read_bytes() + damaged) * 340)
    found = chunks(tmp_path / "big.mrc")
    assert [c.number for c in found] == list(range(1, 6 * 340 + 1))
    assert all(c.data == (damaged if c.number % 6 == 0 else lc(c.number % 6)) for c in found)
    objects = json.loads((DATA / "pymarc-batch.json").read_text(encoding="utf-8"))
    # Pretty-printed behind a byte order mark, so that objects straddle the read blocks.
    text = json.dumps(objects * 160, indent=2)
    (tmp_path / "big.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    expected = [shape(r) for r in records("pymarc-batch.json")]
    found = chunks(tmp_path / "big.json")
    assert [shape(parse_chunk(c)) for c in found] == expected * 160


# MARCXML ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",  # marc: prefix; no namespace in SRU; marcxchange in SRU 2.0 and in OAI-PMH; xsi
    ["pymarc-batch.xml", "scriptotek-sru-alma.xml", "deichman-BS_external_sru_data_micromarc.xml",
     "scriptotek-oaipmh-bibsys.xml.gz", "deichman-ragde.marcxml"],
)
def test_xml_chunks_are_standalone_slim_documents(name):
    for chunk in chunks(name):
        assert chunk.data.startswith(b'<record xmlns="http://www.loc.gov/MARC21/slim"')
        root = etree.fromstring(chunk.data)
        assert all(etree.QName(e).namespace == SLIM for e in root.iter())
        assert root.find(f"{{{SLIM}}}leader") is not None


def test_envelopes_yield_only_marc_records():
    sru = records("bibsys-SRU_response_2_hits.xml")
    assert [r["001"].data for r in sru] == ["998611116644702201", "998610776954702201"]
    assert len(records("scriptotek-sru-alma.xml")) == 3
    (micromarc,) = records("deichman-BS_external_sru_data_micromarc.xml")
    assert micromarc["245"]["a"].startswith("Verdens fineste julefortellinger")
    oai = records("scriptotek-oaipmh-bibsys.xml.gz")
    kinds = [record_kind(r.leader) for r in oai]
    assert (kinds.count(RecordKind.BIBLIOGRAPHIC), kinds.count(RecordKind.HOLDINGS)) == (7, 82)
    assert oai[0]["245"]["a"].startswith("Sprøytvarsel")


def test_oai_deleted_records_are_skipped(tmp_path, caplog):
    marc = (DATA / "deichman-ragde.marcxml").read_text(encoding="utf-8").split("?>", 1)[1]
    (tmp_path / "oai.xml").write_text(
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record>'
        '<header status="deleted"><identifier>oai:x:1</identifier></header></record><record>'
        f"<header><identifier>oai:x:2</identifier></header><metadata>{marc}</metadata>"
        "</record></ListRecords></OAI-PMH>",
        encoding="utf-8",
    )
    with caplog.at_level(logging.DEBUG, logger="metadatabronn.marc"):
        (chunk,) = chunks(tmp_path / "oai.xml")
    assert chunk.number == 1 and parse_chunk(chunk)["001"].data == "626460"
    assert "deleted OAI record oai:x:1" in caplog.text


def test_truncated_xml_gives_good_records_then_a_rejected_chunk():
    good, broken = chunks("bibsys-SRU_response_truncated.xml")
    assert parse_chunk(good)["001"].data == "991004248644702201"
    assert broken.number == 2 and broken.is_xml_error and not good.is_xml_error
    with pytest.raises(MarcError) as info:
        parse_chunk(broken)
    assert info.value.number == 2 and "line 58" in info.value.reason
    assert info.value.reason.startswith("XML not well-formed: Premature end of data")
    for name in ("bibsys-SRU_response_bad_xml.xml", "scriptotek-alma-bibs-api-invalid.xml"):
        (only,) = chunks(name)
        with pytest.raises(MarcError, match="XML not well-formed"):
            parse_chunk(only)


# MARC-in-JSON -------------------------------------------------------------------------------


def test_marc_in_json_reads_like_the_same_records_in_marcxml():
    as_json, as_xml = records("pymarc-batch.json"), records("pymarc-batch.xml")
    assert list(map(shape, as_json)) == list(map(shape, as_xml))
    assert records("pymarc-one.json")[0]["245"]["a"] == "ActivePerl with ASP and ADO /"
    # Raw control characters in strings pass, as with pymarc's JSONReader.
    assert records("pymarc-test.json")[0]["100"]["a"].startswith("Dylan")


def test_json_lines_with_bad_lines_in_between(tmp_path):
    first, second = (json.dumps(o) for o in json.loads((DATA / "pymarc-batch.json").read_bytes()))
    lines = [first, '{"leader": "too short", "fields": []}', "null", second, first[:100]]
    (tmp_path / "records.jsonl").write_text("\n".join(lines), encoding="utf-8")
    results = outcomes(tmp_path / "records.jsonl")
    assert [isinstance(r, pymarc.Record) for r in results] == [True, False, False, True, False]
    assert results[1].reason == "leader has 9 characters, expected 24"
    assert results[2].reason == "JSON NoneType where a MARC-in-JSON object was expected"
    assert results[4].number == 5 and results[4].reason.startswith("invalid JSON")


# Record kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "kind"),
    [("acdefgijkmoprt", RecordKind.BIBLIOGRAPHIC), ("z", RecordKind.AUTHORITY),
     ("uvxy", RecordKind.HOLDINGS), ("w", RecordKind.CLASSIFICATION),
     ("q", RecordKind.COMMUNITY), ("bhlnsA 0|", RecordKind.UNKNOWN)],
)
def test_record_kind_by_leader_06(codes, kind):
    assert {record_kind(f"00000n{code}m a2200000 a 4500") for code in codes} == {kind}


@pytest.mark.parametrize(
    ("name", "kind"),
    [("scriptotek-examples_holdings.xml", RecordKind.HOLDINGS),
     ("scriptotek-examples_authority.xml", RecordKind.AUTHORITY),
     ("bibsys-authority_SRU_response.xml", RecordKind.AUTHORITY)],
)
def test_record_kind_of_real_records(name, kind):
    (record,) = records(name)
    assert record_kind(record.leader) is record_kind(str(record.leader)) is kind
    assert record_kind("00000") is RecordKind.UNKNOWN


# Property: whatever pymarc writes, in any of the three formats, reads back the same ----------

_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=30)
_control = st.builds(lambda tag, value: pymarc.Field(tag=tag, data=value),
                     st.sampled_from([f"00{i}" for i in range(1, 10)]), _text)
_subfield = st.builds(pymarc.Subfield, st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), _text)
_data = st.builds(
    lambda tag, ind, subs: pymarc.Field(tag=tag, indicators=pymarc.Indicators(*ind), subfields=subs),
    st.integers(10, 999).map(lambda n: f"{n:03d}"),
    st.tuples(*[st.sampled_from(" 0123456789")] * 2),
    st.lists(_subfield, min_size=1, max_size=5),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.lists(st.one_of(_control, _data), min_size=1, max_size=12),
       kind=st.sampled_from("acjmztuw"))
def test_written_records_read_back_unchanged(tmp_path, fields, kind):
    record = pymarc.Record(leader=f"00000n{kind}m a2200000 a 4500")
    record.fields = fields
    expected = shape(record, normalise=True)
    xml, json_text = pymarc.record_to_xml(record, namespace=True), record.as_json().encode()
    for suffix, content in (("mrc", record.as_marc()), ("xml", xml), ("json", json_text)):
        (tmp_path / f"generated.{suffix}").write_bytes(content)
        (chunk,) = chunks(tmp_path / f"generated.{suffix}")
        parsed = parse_chunk(chunk)
        assert shape(parsed) == expected, suffix
        assert record_kind(parsed.leader) is record_kind(f"000000{kind}")


def test_marcxml_writer_escapes_markup_and_replaces_characters_xml_cannot_carry():
    import io as _io

    import pymarc as _pymarc
    from lxml import etree

    from metadatabronn.marc.writer import marcxml

    record = _pymarc.Record(leader="00000cam a2200000 a 4500")
    record.add_field(_pymarc.Field(tag="001", data="x<1>"),
                     _pymarc.Field(tag="245", indicators=_pymarc.Indicators("1", "0"),
                                   subfields=[_pymarc.Subfield("a", 'Tom & "Jerry" <b>'),
                                              _pymarc.Subfield("c", "bell\x07here")]))
    text = marcxml(record, "http://www.loc.gov/MARC21/slim")
    etree.fromstring(text.encode())  # well-formed
    (back,) = _pymarc.parse_xml_to_array(_io.BytesIO(text.encode()))
    assert back["001"].data == "x<1>"
    assert back["245"]["a"] == 'Tom & "Jerry" <b>' and back["245"]["c"] == "bell\ufffdhere"


def test_a_record_with_blank_type_and_a_title_is_bibliographic():
    # Koha exports records whose Leader/06 is blank; with a 245 they are books all the same.
    import pymarc

    record = pymarc.Record(leader="00234    a2200109   4500")
    assert record_kind(record) is RecordKind.UNKNOWN
    record.add_field(pymarc.Field(tag="245", indicators=[" ", " "], subfields=[pymarc.Subfield("a", "X Power Tools")]))
    assert record_kind(record) is RecordKind.BIBLIOGRAPHIC
    assert record_kind(str(record.leader)) is RecordKind.UNKNOWN
    assert record_kind(record.leader) is RecordKind.UNKNOWN  # a Leader alone says no more than its text
