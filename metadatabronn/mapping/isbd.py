"""ISBD punctuation written again on the values export takes from the entities: what goes
after a subfield depends on the subfield that follows it (` :` before other title information,
` =` before a parallel title, ` /` before a statement of responsibility, and so on)."""

from __future__ import annotations

from . import terms as T
from .finder import HEADING_TAGS

_ENDS = (".", "?", "!", "-", ")", "]", '"')
CONTROL_CODES = set("0123456789")


def end_full_stop(value: str) -> str:
    return value if value.endswith(_ENDS) else value + "."


def _title_245(code, nxt, value, nxt_pred):
    if nxt is None:
        return end_full_stop(value)
    if nxt == "b":
        return value + (" =" if nxt_pred == T.M_PARALLEL_TITLE else " :")
    if nxt == "c":
        return value + " /"
    if nxt in "np":
        return value + "," if code == "n" and nxt == "p" else end_full_stop(value)
    return value


def _publication(code, nxt, value, nxt_pred, final=True):
    if nxt is None or nxt in CONTROL_CODES:
        return end_full_stop(value) if final and code == "c" or final and code == "g" else value
    pairs = {("a", "a"): " ;", ("a", "b"): " :", ("b", "b"): " :", ("b", "c"): ",", ("a", "c"): ",",
             ("e", "e"): " ;", ("e", "f"): " :", ("f", "g"): ",", ("e", "g"): ","}
    return value + pairs.get((code, nxt), "")


def _extent(code, nxt, value, nxt_pred):
    if nxt == "b":
        return value + " :"
    if nxt == "c":
        return value + " ;"
    if nxt == "e":
        return value + " +"
    return value


def _series(code, nxt, value, nxt_pred):
    if nxt == "v":
        return value + " ;"
    if nxt == "x":
        return value + ","
    return value


def _heading(code, nxt, value, nxt_pred):
    if nxt is None or nxt in CONTROL_CODES:
        return end_full_stop(value)
    if nxt in "deju" or nxt == "c" and code != "a" or nxt == "q" and code != "a":
        return value if value.endswith("-") else value + ","  # an open date takes no comma
    if nxt in "tbklnpf":
        return end_full_stop(value)
    return value


def _uniform(code, nxt, value, nxt_pred, final=False):
    if nxt is None or nxt in CONTROL_CODES:
        return end_full_stop(value) if final else value
    if nxt in "nplkfsmor":
        return value + "," if code == "n" and nxt == "p" else end_full_stop(value)
    if nxt == "v":
        return value + " ;"
    return value


_PUNCTUATE = {
    "245": _title_245, "250": lambda c, n, v, p: (v + " /" if n == "b" else end_full_stop(v) if n is None else v),
    "260": _publication, "264": lambda c, n, v, p: _publication(c, n, v, p, final=False),
    "300": _extent, "490": _series, "440": _series,
    "240": _uniform, "130": lambda c, n, v, p: _uniform(c, n, v, p, True),
    "730": lambda c, n, v, p: _uniform(c, n, v, p, True), "740": lambda c, n, v, p: _uniform(c, n, v, p, True),
    "830": lambda c, n, v, p: _uniform(c, n, v, p, True),
}
for _tag in HEADING_TAGS:
    _PUNCTUATE[_tag] = _heading


def punctuate(tag: str, slots: list[list]) -> None:
    """Regenerate ISBD punctuation on the values taken from the entities (``slots[i][2]``)."""
    rule = _PUNCTUATE.get(tag)
    if rule is None:
        return
    for i, slot in enumerate(slots):
        if not slot[2] or slot[0] in CONTROL_CODES:  # identifiers ($0, $1) take no punctuation
            continue
        nxt = slots[i + 1] if i + 1 < len(slots) else None
        slot[1] = rule(slot[0], nxt[0] if nxt else None, slot[1], nxt[3] if nxt else None)


