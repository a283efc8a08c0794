"""pymarc fields made as pymarc's constructor makes them (the same slots, the same values),
without its checks of what the caller has already checked.

Why: a record has some twenty to thirty fields and a hundred subfields, and ingest parses every
one and MARC out writes every one. ``Field(...)`` took 2 µs a field and ``Subfield(...)`` 0.6 µs a
subfield, a sixth of a parse and of MARC out; these take a quarter of that. Where a tag is one
pymarc would rewrite or treat otherwise (not three characters, a data field with a control
field's tag), they call the constructor, so the result is always the constructor's.
"""

from __future__ import annotations

from pymarc import Field, Indicators, Subfield

_new_field = Field.__new__
_new_tuple = tuple.__new__

# Indicators are immutable tuples: one per pair of ASCII characters serves every field.
INDICATORS = {a + b: Indicators(a, b) for a in map(chr, range(32, 127)) for b in map(chr, range(32, 127))}


def indicators(pair: str) -> Indicators:
    """The indicators of a two-character string."""
    found = INDICATORS.get(pair)
    return found if found is not None else Indicators(pair[0], pair[1])


def subfield(code: str, value: str) -> Subfield:
    return _new_tuple(Subfield, (code, value))


def control(tag: str, data: str) -> Field:
    """``Field(tag, data=data)`` for a control field's tag (00X)."""
    if len(tag) != 3 or not (tag < "010" and tag.isdigit()):
        return Field(tag, data=data)
    field = _new_field(Field)
    field.tag, field.data, field.control_field, field.subfields, field._indicators = tag, data, True, [], None
    return field


def data(tag: str, indicators: Indicators, subfields: list[Subfield]) -> Field:
    """``Field(tag, indicators, subfields)`` for a data field's tag."""
    if len(tag) != 3 or (tag < "010" and tag.isdigit()):
        return Field(tag, indicators, subfields)
    field = _new_field(Field)
    field.tag, field.data, field.control_field, field.subfields, field._indicators = (
        tag, None, False, subfields, indicators)
    return field
