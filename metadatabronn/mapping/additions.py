"""What MARC out writes beside a record's own fields: 336/337/338, a uniform title a cataloguer set
in the well, and the RDA style (264 for 260) when asked for."""

from __future__ import annotations

import re

from pymarc import Field, Indicators, Subfield

from ..marc import fields as marc_fields
from . import terms as T
from .edited import insert_field
from .isbd import end_full_stop
from .source import Source


_BLANKS = Indicators(" ", " ")


def add_types(fields: list[Field], has: set[str], src: Source) -> None:
    """336/337/338 are always written, also for records that came in without them."""
    for tag, role, predicate in (("336", "e", T.E_CONTENT_TYPE), ("337", "m", T.M_MEDIA),
                                 ("338", "m", T.M_CARRIER)):
        if tag in has:
            continue
        for value in src.values[role].get(predicate, ()):
            spec = T.TYPE_FIELDS.get(value)
            if spec is not None:
                code, label, source = spec
                insert_field(fields, marc_fields.data(tag, _BLANKS, [
                    marc_fields.subfield("a", label), marc_fields.subfield("b", code),
                    marc_fields.subfield("2", source)]))


def add_uniform_title(fields: list[Field], has: set[str], src: Source) -> None:
    """A work whose preferred title a cataloguer set in the well, and which is not the
    manifestation's title, gets a 240 (or 130). A record that had none never gets one from a
    title the well only inferred (a "Translation of" note) or another record gave the work."""
    if "240" in has or "130" in has:
        return
    if "w" not in src.edited:
        return
    title = next(iter(src.values["w"].get(T.W_PREFERRED_TITLE, ())), None)
    proper = next(iter(src.values["m"].get(T.M_TITLE_PROPER, ())), "")
    if not title or _same_title(title, proper, fields):
        return
    main_entry = any(f.tag in ("100", "110", "111") for f in fields)
    if main_entry:
        new = Field(tag="240", indicators=Indicators("1", "0"), subfields=[Subfield("a", title)])
    else:
        new = Field(tag="130", indicators=Indicators("0", " "), subfields=[Subfield("a", end_full_stop(title))])
    insert_field(fields, new)


def _same_title(title: str, proper: str, fields: list[Field]) -> bool:
    f245 = next((f for f in fields if f.tag == "245"), None)
    skip = int(f245.indicator2) if f245 is not None and f245.indicator2.isdigit() else 0
    norm = re.compile(r"[\W_]+")
    t = norm.sub("", title.casefold())
    return t in (norm.sub("", proper.casefold()), norm.sub("", proper[skip:].casefold())) or not proper


def rda_style(fields: list[Field]) -> list[Field]:
    out = []
    for f in fields:
        if f.tag != "260":
            out.append(f)
            continue
        pub = [s for s in f.subfields if s.code in "abc368"]
        manu = [Subfield({"e": "a", "f": "b", "g": "c"}[s.code], s.value) for s in f.subfields if s.code in "efg"]
        out.append(Field(tag="264", indicators=Indicators(" ", "1"), subfields=pub))
        if manu:
            out.append(Field(tag="264", indicators=Indicators(" ", "3"), subfields=manu))
    return out
