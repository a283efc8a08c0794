"""RDA entities → MARC 21: the mapping run backwards, for library systems that read MARC.

The carried layout (see :mod:`.convert`) is the record's shape: every field in its original
order with its indicators and subfield codes. Values the model does not hold are carried as
they were; each value the entities hold is replaced by a fingerprint (:func:`.text.hint`).
A record nothing was edited in since its load (``Source.unedited``) goes out as written, with no
look-up. Otherwise export fills each such slot from the entities (:mod:`.finder`):

1. the entity text whose fingerprint matches the slot: the value as it came in, minus its ISBD
   punctuation, found whatever order the store returns statements in; or a run of words inside
   a longer text (a heading's name and dates inside its access point);
2. failing that, the entity has changed since (a work retitled in the well): the current value
   of the element the slot maps to, one not yet written elsewhere in the record;
3. failing that, the value has gone from the entities and the subfield is dropped.

ISBD punctuation is then regenerated from the subfield sequence (:mod:`.isbd`). Leader, 001, 003, 005 and 008
are rebuilt from the record's identity and entities; 336/337/338 are always written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pymarc import Field, Indicators, Record, Subfield

from ..marc import fields as marc_fields
from . import terms as T
from .model import Description
from .finder import FORM_TAGS, HEADING_TAGS, NAME_PARTS, Finder
from .control import control_field, deleted_record, identity_fields, record_leader
from .additions import add_types, add_uniform_title, rda_style
from .edited import add_new_notes, reconcile_subjects
from .concepts import concept_label
from .isbd import punctuate
from .source import AgentRef, Source, from_description, from_triples
from .text import FOLDED_TAGS, hint, hint_folded, layout_of, normalise

# Where a changed value is found again: (tag, code) → (main entity, element).
_FALLBACK = {
    ("240", "a"): ("w", T.W_PREFERRED_TITLE), ("130", "a"): ("w", T.W_PREFERRED_TITLE),
    ("245", "a"): ("m", T.M_TITLE_PROPER), ("245", "b"): ("m", T.M_OTHER_TITLE),
    ("245", "c"): ("m", T.M_SOR), ("246", "a"): ("m", T.M_VARIANT_TITLE),
    ("250", "a"): ("m", T.M_EDITION),
    ("300", "a"): ("m", T.M_EXTENT), ("300", "b"): ("m", T.M_ILLUSTRATIVE), ("300", "c"): ("m", T.M_DIMENSIONS),
    ("260", "a"): ("m", T.M_PLACE_PUB), ("260", "b"): ("m", T.M_PUBLISHER_NAME), ("260", "c"): ("m", T.M_DATE_PUB),
    ("260", "e"): ("m", T.M_PLACE_MANU), ("260", "f"): ("m", T.M_MANUFACTURER_NAME), ("260", "g"): ("m", T.M_DATE_MANU),
    ("500", "a"): ("m", T.M_NOTE), ("504", "a"): ("m", T.M_SUPPLEMENTARY),
    ("505", "a"): ("w", T.W_CONTENTS), ("520", "a"): ("e", T.E_SUMMARY),
}
for _ind, (_s, _place, _name, _date) in {
    "0": (T.M_PRODUCTION, T.M_PLACE_PROD, T.M_PRODUCER_NAME, T.M_DATE_PROD),
    "1": (T.M_PUBLICATION, T.M_PLACE_PUB, T.M_PUBLISHER_NAME, T.M_DATE_PUB),
    "2": (T.M_DISTRIBUTION, T.M_PLACE_DIST, T.M_DISTRIBUTOR_NAME, T.M_DATE_DIST),
    "3": (T.M_MANUFACTURE, T.M_PLACE_MANU, T.M_MANUFACTURER_NAME, T.M_DATE_MANU),
}.items():
    _FALLBACK[("264" + _ind, "a")] = ("m", _place)
    _FALLBACK[("264" + _ind, "b")] = ("m", _name)
    _FALLBACK[("264" + _ind, "c")] = ("m", _date)
_FALLBACK[("2644", "c")] = ("m", T.M_COPYRIGHT)

_EMPTY = hint("")
_SUBJECT_TAGS = {"630", "648", "650", "651", "653", "655"}


# -- the record -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Options:
    """``rda``: write 264 for every record, turning 260 into 264 publication and manufacture."""

    rda: bool = False


def to_marc(src: Source, options: Options = Options()) -> Record:
    """Write one MARC 21 bibliographic record (a pymarc Record) for a manifestation."""
    if src.deleted or not src.carried:
        return deleted_record(src)
    layout = layout_of(src.carried)
    leader = layout["leader"]
    # The entities' values are looked up only where a record's values may have changed.
    exact = None if src.unedited else Finder(src, 1)
    made: list[Finder] = []

    def folded() -> Finder:
        """For a shared entity's values, found again in the entity's form; made when first needed."""
        if not made:
            made.append(Finder(src, 2))
            made[0].used = exact.used  # one record: what one field took, another does not take again
        return made[0]

    fields: list[Field] = []
    has = set()
    has_041 = any(entry[0] == "041" for entry in layout["fields"])
    has_001 = any(entry[0] == "001" for entry in layout["fields"]) or layout.get("h", 1) < 3
    for entry in layout["fields"]:
        tag = entry[0]
        if len(entry) == 2:
            out = control_field(tag, entry[1], src, leader, has_041, has_001)
            if out is not None:
                fields.append(out)
                has.add(tag)
            continue
        out = _as_written(tag, entry[1], entry[2], src) if src.unedited else _NOT_WRITTEN
        if out is _NOT_WRITTEN:
            if exact is None:
                exact = Finder(src, 1)
            out = _data_field(tag, entry[1], entry[2], (exact, folded), src)
        if out is not None:
            fields.append(out)
            has.add(tag)
    if "001" not in has and layout.get("h", 1) < 3:
        # Older layouts left 001/003 out: they are written from the control number. A record
        # that came without 001 (its identity taken from 035 or 010) goes out without one.
        fields[:0] = identity_fields(src)
    if "005" not in has and src.modified:
        # Every record out of the store says when it last changed in the well.
        stamp = control_field("005", None, src, leader)
        at = next((i for i, f in enumerate(fields) if f.tag > "005"), len(fields))
        fields.insert(at, stamp)
    add_types(fields, has, src)
    add_uniform_title(fields, has, src)
    if not src.unedited:  # (a note or subject added or changed in the well is an edit)
        add_new_notes(fields, src, exact.used)
        if src.subject_concepts is not None:
            fields = reconcile_subjects(fields, src)
    if options.rda:
        fields = rda_style(fields)
    record = Record(leader=record_leader(leader, src), force_utf8=True)
    record.fields = fields
    return record


_NOT_WRITTEN = object()


def _as_written(tag: str, indicators: str, subs: list, src: Source):
    """A field of a record nothing was edited in since its load (``Source.unedited``): each value
    the entities hold goes out as the record wrote it, with no look-up among them, which is what
    :func:`_data_field` finds for such a record (``bench/export.py --fidelity`` checks that both
    agree). The identifiers an authority gives a heading are added as there.
    ``_NOT_WRITTEN`` for a field whose layout kept a fingerprint instead of the value (version 2
    and before): that one is found among the entities."""
    subfields = []
    whole = True
    for code, value in subs:
        if type(value) is str:
            subfields.append(marc_fields.subfield(code, value))
        elif type(value) is list and value and type(value[0]) is str:
            subfields.append(marc_fields.subfield(code, value[0]))
            whole = False
        else:
            return _NOT_WRITTEN
    if not subfields:
        return None
    if tag in HEADING_TAGS:
        _identifiers(subfields, src)
    elif whole and tag in _SUBJECT_TAGS:
        _identifiers(subfields, src, subject=True)
    return marc_fields.data(tag, marc_fields.indicators((indicators + "  ")[:2]), subfields)



def _data_field(tag: str, indicators: str, subs: list, pools: tuple[Finder, Callable[[], Finder]], src: Source):
    if all(type(v) is str for _, v in subs):  # carried whole: nothing to look up
        return _as_written(tag, indicators, subs, src)
    ind = (indicators + "  ")[:2]
    # Slots: [code, value, found?, hit, folded fingerprint, as written, edited?]
    slots: list[list] = []
    held = carried_values = 0
    key = tag if tag != "264" else tag + indicators[1:2]
    paired = tag
    if tag == "880":
        paired = next((v[:3] for c, v in subs if c == "6" and isinstance(v, str)), "880")
    heading = paired in HEADING_TAGS
    shared = paired in FOLDED_TAGS
    pool, loose = pools
    open_slots: list[int] = []
    for code, value in subs:
        if isinstance(value, str) or value is None:
            if value is None:  # a layout written before fingerprints: the value is not recoverable
                continue
            slots.append([code, value, False, None, None, None, False])
            if code not in "68":
                carried_values += 1
            continue
        held += 1
        written = None
        if isinstance(value, list) and value and isinstance(value[0], str):
            # Layout version 3: the value as written; its fingerprints are computed here.
            written = value[0]
            exact, folded = hint(written), (hint_folded(written) if shared else None)
        else:
            # A shared entity's value has its fingerprint as written and folded (version 2).
            exact, folded = (value[0], value[1]) if isinstance(value, list) else (value, None)
        if exact == _EMPTY:  # a subfield of punctuation only ("$b;"): nothing to look up
            slots.append([code, "", True, ("", None), None, written, False])
            continue
        # A heading's name parts are found in order inside the agent's access point.
        if heading and code in NAME_PARTS:
            hit = None
        else:
            hit = pool.whole(exact, paired, _element(key, code) or _PART_OF.get((paired, code)))
            if hit is None and paired in FORM_TAGS:
                hit = pool.forms(exact)
        slots.append([code, exact, hit is not None, hit, folded, written, False])
        if hit is None:
            open_slots.append(len(slots) - 1)
    if open_slots:
        _find(pool, slots, open_slots, 1, paired, key)
        # Not found as written: the entity it names may hold it in another form, the first one
        # it met ("(Unnumbered)" for this record's "(unnumbered)"); the record's own form is
        # still what it says, and goes out.
        unfound = [i for i in open_slots if not slots[i][2] and slots[i][4] is not None]
        if unfound:
            _find(loose(), slots, unfound, 4, paired, key, whole=not heading)
        for i in open_slots:
            if not slots[i][2]:
                hit = _changed(key, slots[i][0], pool, src)
                slots[i][2], slots[i][3], slots[i][6] = hit is not None, hit, hit is not None
            else:
                _grown(key, slots, i, pool, src)
    found_any = any(s[2] for s in slots)
    if held and not carried_values and not found_any:
        return None  # every value it held has gone from the entities
    out: list[list] = []
    edited = False
    for code, value, found, hit, _, written, changed in slots:
        if found:
            if written is not None and not changed:
                out.append([code, written, False, hit[1]])  # as it came: nobody edited it
            else:
                out.append([code, hit[0], True, hit[1]])
                edited = True
        elif not isinstance(value, int):
            out.append([code, value, False, None])  # carried
        elif written is not None and found_any and _element(key, code) is None:
            # Held, but no entity value is its own: the other values of the field are still
            # there, so this one was not removed in the well. It goes out as written.
            out.append([code, written, False, None])
    if edited:
        # Punctuation is the well's own only where the well's value goes out.
        punctuate(paired if tag == "880" else tag, out)
    subfields = [Subfield(code, value) for code, value, _, _ in out]
    if tag in HEADING_TAGS:
        _identifiers(subfields, src)
    if not subfields:
        return None
    return Field(tag=tag, indicators=Indicators(ind[0], ind[1]), subfields=subfields)


def _find(pool: Finder, slots: list[list], todo: list[int], at: int, tag: str, key: str, whole: bool = False) -> None:
    """Look the slots ``todo`` up by the fingerprint at ``slots[i][at]``: whole texts (when
    asked), then runs of words in subfield order, then any piece of any text."""
    if not todo:
        return
    if whole:
        for i in todo:
            code = slots[i][0]
            hit = pool.whole(slots[i][at], tag, _element(key, code) or _PART_OF.get((tag, code)))
            slots[i][2], slots[i][3] = hit is not None, hit
        todo = [i for i in todo if not slots[i][2]]
        if not todo:
            return
    first = slots[todo[0]][0]
    hits = pool.sequence([slots[i][at] for i in todo], tag, _element(key, first) or _PART_OF.get((tag, first)))
    for i, hit in zip(todo, hits):
        h = slots[i][at]
        hit = hit or pool.piece(h, tag) or pool.anywhere(h)
        slots[i][2], slots[i][3] = hit is not None, hit


# Subfields whose value is part of one element's text: found inside it, never replaced by it.
_PART_OF = {("245", "n"): T.M_TITLE_PROPER, ("245", "p"): T.M_TITLE_PROPER,
            ("240", "n"): T.W_PREFERRED_TITLE, ("240", "p"): T.W_PREFERRED_TITLE,
            ("130", "n"): T.W_PREFERRED_TITLE, ("130", "p"): T.W_PREFERRED_TITLE}


def _element(key: str, code: str) -> str | None:
    spec = _FALLBACK.get((key, code))
    return spec[1] if spec else None


def _changed(key: str, code: str, pool: Finder, src: Source):
    """The element's current value not yet written: the slot's value has changed in the well."""
    spec = _FALLBACK.get((key, code))
    if spec is None:
        return None
    role, predicate = spec
    for value in src.values[role].get(predicate, ()):
        if (predicate, value) not in pool.used:
            pool.used.add((predicate, value))
            return value, predicate
    return None


def _grown(key: str, slots: list[list], i: int, pool: Finder, src: Source) -> None:
    """A slot that is a whole element's value, found only as a run of words inside it: the
    element has grown in the well ("Seitsemän veljestä" retitled "Seitsemän veljestä
    (romaani)"), so the slot takes the whole current value.

    Not when another subfield of the field is found in the same element: a 245 $a with its $n
    and $p are runs of one title proper.
    """
    spec = _FALLBACK.get((key, slots[i][0]))
    hit = slots[i][3]
    if spec is None or hit is None or hit[1] != spec[1]:
        return
    role, element = spec
    values = src.values[role].get(element, ())
    if hit[0] in values or any(j != i and s[2] and s[3] is not None and s[3][1] == element
                               for j, s in enumerate(slots)):
        return
    part = normalise(hit[0])
    for value in values:
        if (element, value) not in pool.used and part in normalise(value):
            pool.used.add((element, value))
            slots[i][3] = (value, element)
            slots[i][6] = True
            return


def _identifiers(subfields: list[Subfield], src: Source, subject: bool = False) -> None:
    """Add the agent's or concept's identifiers ($0, $1) the heading does not have yet."""
    if not (src.concepts if subject else src.agents):
        return  # (most records read for MARC out name no entity an authority describes)
    if subject:
        h, refs = hint(concept_label(subfields)), src.concepts
    else:
        h, refs = hint(" ".join(v for c, v in subfields if c in "abcdgjnq")), src.agents
    present = {v for c, v in subfields if c in "01"}
    for agent in refs:
        # Only identifiers a cataloguer gave the entity in the well, or its authority record
        # gives it: another record's $0 for a shared heading is that record's, not this one's.
        if agent.external or not (agent.edited or agent.authority_ids):
            continue
        if h in agent.headings:
            uris = [*agent.uris, *agent.authority_uris] if agent.edited else agent.authority_uris
            ids = [*agent.ids, *agent.authority_ids] if agent.edited else agent.authority_ids
            for uri in uris:
                if uri not in present:
                    subfields.append(Subfield("1", uri))
                    present.add(uri)
            for ident in ids:
                if ident not in present:
                    subfields.append(Subfield("0", ident))
                    present.add(ident)
            return


def convert_back(desc: Description, options: Options = Options()) -> Record:
    """Entities of a freshly converted record → MARC 21 (the round trip without the store)."""
    return to_marc(from_description(desc), options)


__all__ = ["AgentRef", "Options", "Source", "convert_back", "from_description", "from_triples", "to_marc"]
