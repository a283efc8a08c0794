"""The fast paths of reading and writing MARC give what the careful ones give: the fields
:mod:`metadatabronn.marc.fields` makes are pymarc's constructor's, and ISO 2709 written a record
whole is the bytes written a subfield at a time, or, for a record the careful path must mend or
refuse, left to it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymarc import Field, Indicators, Record, Subfield

from metadatabronn.errors import ExportError
from metadatabronn.marc import fields, iter_chunks, parse_chunk
from metadatabronn.marc.writer import _iso2709, _iso2709_plain, iso2709

from .conftest import ROOT

SLOTS = ("tag", "data", "control_field", "subfields", "_indicators")
tags = st.one_of(st.sampled_from(["001", "005", "008", "009", "010", "245", "880", "FMT", "00A", "LDR"]),
                 st.text(st.sampled_from("0123456789AZaz"), min_size=1, max_size=4))
values = st.text(max_size=12)


def same(made: Field, expected: Field) -> None:
    assert [getattr(made, s) for s in SLOTS] == [getattr(expected, s) for s in SLOTS]
    assert made.as_marc("utf-8") == expected.as_marc("utf-8")
    assert str(made) == str(expected)


@given(tags, st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=2, max_size=2),
       st.lists(st.tuples(st.sampled_from("a6z0"), values), max_size=4))
@settings(max_examples=300)
def test_a_data_field_is_the_constructors(tag, pair, pairs):
    subfields = [fields.subfield(c, v) for c, v in pairs]
    assert subfields == [Subfield(c, v) for c, v in pairs]
    assert all(type(s) is Subfield for s in subfields)
    ind = fields.indicators(pair)
    assert ind == Indicators(pair[0], pair[1])
    same(fields.data(tag, ind, list(subfields)), Field(tag, Indicators(pair[0], pair[1]), list(subfields)))


@given(tags, values)
@settings(max_examples=200)
def test_a_control_field_is_the_constructors(tag, value):
    same(fields.control(tag, value), Field(tag, data=value))


def test_a_field_made_here_iterates_and_edits_as_pymarcs():
    made = fields.data("245", fields.indicators("10"), [fields.subfield("a", "Title /"), fields.subfield("c", "X.")])
    assert list(made) == [Subfield("a", "Title /"), Subfield("c", "X.")]
    made.add_subfield("b", "more")
    made.indicator2 = "4"
    assert made.get("b") == "more" and made.indicators == Indicators("1", "4")
    assert made.value() == Field("245", Indicators("1", "4"), list(made.subfields)).value()


# Values with what ISO 2709 cannot carry as it is (its structure bytes, lone surrogates, long runs).
hazards = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from("\x1d\x1e\x1f\ud800é")), max_size=6)
codes = st.sampled_from([*"a6z0" * 4, " ", "", "ab", "\x1f", "é"])
data_fields = st.tuples(st.sampled_from(["245", "100", "880", "2X5", "650", "24", "005"]),
                        st.sampled_from(["10", "  ", " 4", "04", "\x1f ", "é1"]),
                        st.lists(st.tuples(codes, hazards), max_size=4))
control_fields = st.tuples(st.sampled_from(["001", "008"]), hazards)


def record_of(leader: str, items) -> Record:
    record = Record(leader=leader, force_utf8=True)
    for item in items:
        if len(item) == 2:
            record.fields.append(Field(item[0], data=item[1]))
        else:
            tag, (a, b), pairs = item
            record.fields.append(Field(tag, Indicators(a, b), [Subfield(c, v) for c, v in pairs]))
    return record


@given(st.sampled_from(["00000nam a2200000 a 4500", "00000nam a2200000 a 45é0", "00000nam\x01a2200000 a 4500"]),
       st.lists(st.one_of(data_fields, control_fields), max_size=5))
@settings(max_examples=400, deadline=None)
def test_iso2709_whole_is_the_careful_writers(leader, items):
    record = record_of(leader, items)
    plain = _iso2709_plain(record)
    notes: list[str] = []
    try:
        careful = _iso2709(record, notes)
    except ExportError:
        assert plain is None
        return
    if plain is None:
        return  # the careful path wrote it, and said what it mended (or there was nothing to write)
    assert plain == careful and notes == []


def test_iso2709_whole_writes_real_records_and_leaves_the_hard_ones():
    chunks = list(iter_chunks(ROOT / "tests" / "data" / "marc" / "lc5.mrc"))
    records = [parse_chunk(c) for c in chunks]
    assert records and all(_iso2709_plain(r) == _iso2709(r) for r in records)
    broken = records[0]
    broken.fields[-1].subfields.append(Subfield("a", "a\x1dz"))
    notes: list[str] = []
    assert _iso2709_plain(broken) is None
    assert b"a\xef\xbf\xbdz" in iso2709(broken, notes) and notes
    lone = parse_chunk(chunks[1])
    lone.fields[-1].subfields.append(Subfield("a", "a\ud800z"))
    assert _iso2709_plain(lone) is None and b"a\xef\xbf\xbdz" in iso2709(lone, [])
    broken.fields.append(Field("245", Indicators("1", "0"), [Subfield("a", "x" * 10_000)]))
    with pytest.raises(ExportError):
        iso2709(broken)
