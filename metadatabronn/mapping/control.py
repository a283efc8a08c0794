"""The Leader and control fields of a record going out (see :mod:`.reverse`): 001/003 as given
while they spell the record's control number, 005 the time of the last change in the well,
008 as given unless the entities say otherwise, and the record of a deleted manifestation."""

from __future__ import annotations

import re

from pymarc import Field, Indicators, Record, Subfield

from ..marc import fields as marc_fields
from . import fixed
from . import terms as T
from .source import Source


def record_leader(leader: str, src: Source) -> str:
    leader = (leader + " " * 24)[:24]
    status = "d" if src.deleted else leader[5]
    # Lengths and base address are computed when the record is written; 09 says UTF-8.
    return "00000" + status + leader[6:9] + "a" + "22" + "00000" + leader[17:20] + "4500"


def identity_fields(src: Source) -> list[Field]:
    cn = src.control_number
    if cn.startswith("(") and ")" in cn:
        org, number = cn[1:].split(")", 1)
        return [marc_fields.control("001", number), marc_fields.control("003", org)]
    return [marc_fields.control("001", cn)]


def control_field(tag: str, data, src: Source, leader: str, has_041: bool = False, has_001: bool = True):
    if tag == "001":
        made = identity_fields(src)[0]
        # As it came ("  00001813 "), while it still spells the record's control number.
        return marc_fields.control("001", data) if data and data.strip() == made.data else made
    if tag == "003":
        ident = identity_fields(src)
        if data is not None and (len(ident) < 2 or data.strip() == ident[1].data or not has_001):
            return marc_fields.control("003", data)  # as given, also where the record had no 001
        return ident[1] if len(ident) > 1 else None
    if tag == "005" and src.modified:
        stamp = re.sub(r"[^0-9]", "", src.modified[:19])
        return marc_fields.control("005", (stamp + "000000")[:14] + ".0")
    if tag == "008" and data is not None:
        return marc_fields.control("008", rebuild_008(data, src, leader, has_041))
    return marc_fields.control(tag, data or "")


def rebuild_008(data: str, src: Source, leader: str, has_041: bool) -> str:
    """008 with the positions the entities hold set from them (language, audience, literary
    form) where the entities say otherwise; an 008 the entities agree with goes out as given
    (also when it is shorter than 40 characters, or codes an obsolete language)."""
    f008 = data.ljust(40) if len(data) < 40 else data
    e, w = src.values["e"], src.values["w"]
    languages = [v[len(T.LANG_BASE):] for v in e.get(T.E_LANGUAGE, ()) if v.startswith(T.LANG_BASE)]
    # With a 041 the expression's languages come from it, and 008 keeps its own choice
    # ("mul", the predominant one); without, they come from 008, so a difference is an edit.
    # An obsolete code ("gae") stands for its replacement ("gla").
    given = fixed.language(f008)
    if languages and given not in languages and f008[35:38] not in languages and not has_041:
        f008 = f008[:35] + sorted(languages)[0][:3].ljust(3) + f008[38:]
    audience = e.get(T.E_AUDIENCE, [None])[0]
    if audience is not None:
        current, _ = fixed.audience(leader, f008)
        if audience != current:
            code = "j" if audience == T.MB_JUVENILE else "e"
            f008 = f008[:22] + code + f008[23:]
    form = next((v for v in w.get(T.W_CATEGORY, ()) if v in (T.MB_FICTION, T.MB_NONFICTION)), None)
    if form is not None and form != fixed.literary_form(leader, f008):
        f008 = f008[:33] + ("1" if form == T.MB_FICTION else "0") + f008[34:]
    if f008.rstrip() == data.rstrip():
        return data
    return f008


def deleted_record(src: Source) -> Record:
    """A deleted record: Leader/05 d, its control number and identifiers."""
    record = Record(leader="00000dam a2200000 a 4500", force_utf8=True)
    record.fields = identity_fields(src)
    for ident in src.identifiers:
        if ident.startswith("(") and ident != src.control_number:
            record.fields.append(Field(tag="035", indicators=Indicators(" ", " "), subfields=[Subfield("a", ident)]))
        elif ident.startswith("urn:isbn:"):
            record.fields.append(Field(tag="020", indicators=Indicators(" ", " "),
                                       subfields=[Subfield("a", ident[9:])]))
    return record
