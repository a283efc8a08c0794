"""What the full-text index reads of a record: its titles, in order, and its creators as the
record gave them. The same at ingest (from the conversion, in a worker) and in a rebuild (from
the store), so that both give one index."""

from __future__ import annotations

from ..mapping import terms as T
from ..mapping.text import layout_of

TITLES = (T.M_TITLE_PROPER, T.M_OTHER_TITLE, T.M_PARALLEL_TITLE, T.M_VARIANT_TITLE)
# 1XX/7XX agent headings; their name parts (a title in $t and after belongs to a work)
_AGENT_TAGS = frozenset({"100", "110", "111", "700", "710", "711"})
_NAME_CODES = frozenset("abcdq")


def creators_of(layout: str) -> tuple[str, ...]:
    """The 1XX/7XX agent headings of a record as it gave them, from its carried layout (the same
    text at ingest and in the store, so both sides agree)."""
    if not layout:
        return ()
    try:
        fields = layout_of(layout).get("fields", ())
    except (ValueError, AttributeError):
        return ()
    return creators_in(fields)


def creators_in(fields) -> tuple[str, ...]:
    """:func:`creators_of` the carried fields themselves (a list, as the layout's text holds it)."""
    out = []
    for f in fields:
        if len(f) < 3 or f[0] not in _AGENT_TAGS or not isinstance(f[2], list):
            continue
        parts = []
        for sub in f[2]:
            code, value = sub[0], sub[1]
            if code == "t":
                break
            if code in _NAME_CODES:
                parts.append(value[0] if isinstance(value, list) and value else value if isinstance(value, str) else "")
        heading = " ".join(p for p in parts if p).strip()
        if heading:
            out.append(heading)
    return tuple(dict.fromkeys(out))


def titles_of(values: dict[str, list[str]]) -> tuple[str, ...]:
    """Title proper, other title information, parallel and variant titles, in that order, each
    kind's values sorted (the store gives them in its own order)."""
    return tuple(dict.fromkeys(v for p in TITLES for v in sorted(values.get(p, ()))))
