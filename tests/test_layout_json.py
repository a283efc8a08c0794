"""A record's layout is written as JSON by orjson where it can and by the standard library
where it cannot: the text is the standard library's either way, and reads back as written."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymarc import Subfield

from metadatabronn.mapping import text as layout_text
from metadatabronn.mapping.text import LAYOUT_VERSION, layout_json, layout_of
from metadatabronn.marc import iter_chunks, parse_chunk

STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
# Any character a record may hold: control characters, quotes, backslashes, astral ones, and a
# lone surrogate (which orjson refuses).
texts = st.text(st.one_of(st.characters(), st.sampled_from('\x00\x1f\x7f"\\\u2028\ud800\U0001F600')), max_size=10)
# As the conversion gives them: pymarc's Subfield (a named tuple), or a list.
subfields = st.lists(st.one_of(st.tuples(st.sampled_from("a6z"), texts).map(lambda t: Subfield(*t)),
                               st.tuples(st.sampled_from("a6z"), st.lists(texts, max_size=2)).map(list)),
                     max_size=3)
fields = st.one_of(st.tuples(st.sampled_from(["001", "008"]), texts).map(list),
                   st.tuples(st.sampled_from(["245", "880"]), texts, subfields).map(list))


@settings(max_examples=300, deadline=None)
@given(texts, st.lists(fields, max_size=5))
def test_a_layout_is_written_as_the_standard_library_writes_it_and_read_back(leader, items):
    layout = {"h": LAYOUT_VERSION, "leader": leader, "fields": items}
    text = layout_json(layout)
    assert text == STANDARD(layout)
    assert layout_of(text) == json.loads(STANDARD(layout)) == json.loads(text)


def test_a_real_record_s_layout_is_written_the_fast_way(monkeypatch):
    """orjson writes the layouts of LC records (their subfields are pymarc's Subfield) without
    falling back to the standard library's encoder, and writes what it would."""
    from metadatabronn.mapping import convert

    lc5 = Path(__file__).parent / "data" / "marc" / "lc5.mrc"
    expected = [convert(parse_chunk(c)).carried for c in iter_chunks(str(lc5))]

    def slow(layout):
        raise AssertionError("fell back to the standard library's encoder")

    monkeypatch.setattr(layout_text, "_STANDARD_JSON", slow)
    assert [convert(parse_chunk(c)).carried for c in iter_chunks(str(lc5))] == expected
    assert all('"fields":[["001"' in e for e in expected)


def test_what_orjson_cannot_write_falls_back_and_anything_else_is_refused():
    assert layout_json({"h": 1, "fields": [["245", "  ", [Subfield("a", "\ud800")]]]}) == \
        STANDARD({"h": 1, "fields": [["245", "  ", [Subfield("a", "\ud800")]]]})
    with pytest.raises(TypeError):
        layout_json({"h": 1, "fields": [object()]})
