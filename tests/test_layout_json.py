"""A record's layout is written as JSON by orjson where it can and by the standard library
where it cannot: the text is the standard library's either way, and reads back as written."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from metadatabronn.mapping.text import LAYOUT_VERSION, layout_json, layout_of

STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
# Any character a record may hold: control characters, quotes, backslashes, astral ones, and a
# lone surrogate (which orjson refuses).
texts = st.text(st.one_of(st.characters(), st.sampled_from('\x00\x1f\x7f"\\\u2028\ud800\U0001F600')), max_size=10)
subfields = st.lists(st.tuples(st.sampled_from("a6z"), st.one_of(texts, st.lists(texts, max_size=2))).map(list),
                     max_size=3)
fields = st.one_of(st.tuples(st.sampled_from(["001", "008"]), texts).map(list),
                   st.tuples(st.sampled_from(["245", "880"]), texts, subfields).map(list))


@settings(max_examples=300, deadline=None)
@given(texts, st.lists(fields, max_size=5))
def test_a_layout_is_written_as_the_standard_library_writes_it_and_read_back(leader, items):
    layout = {"h": LAYOUT_VERSION, "leader": leader, "fields": items}
    text = layout_json(layout)
    assert text == STANDARD(layout)
    assert layout_of(text) == layout == json.loads(text)
