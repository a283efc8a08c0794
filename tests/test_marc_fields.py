"""The fields :mod:`metadatabronn.marc.fields` makes are the fields pymarc's constructor makes."""

from hypothesis import given, settings
from hypothesis import strategies as st
from pymarc import Field, Indicators, Subfield

from metadatabronn.marc import fields

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
