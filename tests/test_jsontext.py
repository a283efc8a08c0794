"""The server's JSON writer: what orjson refuses the standard library writes, in the same form."""

from __future__ import annotations

import json

import orjson
from hypothesis import given, strategies as st

from metadatabronn.web import jsontext

VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                      max_leaves=12)


@given(value=VALUES, indent=st.booleans(), newline=st.booleans())
def test_the_fallback_writes_what_orjson_writes(value, indent, newline):
    fast = jsontext.dumps(value, indent=indent, newline=newline)
    real = orjson.dumps

    def refuse(*args, **kwargs):
        raise TypeError("refused")

    orjson.dumps = refuse
    try:
        slow = jsontext.dumps(value, indent=indent, newline=newline)
    finally:
        orjson.dumps = real
    assert slow == fast


def test_an_integer_past_64_bits_is_written_all_the_same():
    assert json.loads(jsontext.dumps({"n": 2**70, "t": "ø"}, newline=True)) == {"n": 2**70, "t": "ø"}
