"""How faithful a MARC → RDA → MARC round trip is: compare an original record with its copy.

Fields are paired by tag (880 by the tag it links to), subfields by code and occurrence, and
values are judged exactly, modulo ISBD punctuation and whitespace, and classified (identical,
punctuation, case/space, content, lost, added). :class:`.fidelity.Fidelity` sums the
comparisons of a whole file.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from pymarc import Field, Record

__all__ = ["CLASSES", "KEY_TAGS", "RecordDiff", "TagCounts", "classify", "compare", "normal"]

# How a subfield of the original fared, after Unicode NFC on both sides: identical; only its
# ISBD punctuation differs; only case or spacing differ; its words changed; gone; and, counted
# over the output, subfields the original did not have.
CLASSES = ("identical", "punctuation", "case_space", "content", "lost", "added")
# Regenerated on purpose, whatever the record said: the time the record last changed in the well.
RESTAMPED = frozenset({"005"})

# What the round trip promises to keep in full: identifiers, the main entry, title and
# publication statement.
KEY_TAGS: dict[str, tuple[str, ...]] = {
    "020": ("020",),
    "1XX": ("1XX",),
    "245": ("245",),
    "260/264": ("260", "264"),
}

_ISBD = " .,:;/=+"


def normal(value: str) -> str:
    """``value`` modulo ISBD punctuation and whitespace.

    Brackets and parentheses stay: they carry meaning (supplied or inferred data), not
    punctuation between elements.

    >>> normal("Smith, John,  1900-1980.")
    'Smith, John, 1900-1980'
    >>> normal(" = Parallel title /")
    'Parallel title'
    >>> normal("[2016].")
    '[2016]'
    """
    return " ".join(value.split()).strip(_ISBD)


_PUNCT_ONLY = str.maketrans("", "", _ISBD.replace(" ", "") + "[]()")


def classify(original: str, output: str) -> str:
    """Which of :data:`CLASSES` an original value and its output counterpart fall in.

    >>> classify("6 pl.", "6 pl.")
    'identical'
    >>> classify("6 pl.", "6 pl ;")
    'punctuation'
    >>> classify("Storm, Theodor,", "Storm,Theodor,")
    'case_space'
    >>> classify("Lee and Shepard", "Lee & Shepard")
    'content'
    """
    if original == output:
        return "identical"
    a, b = unicodedata.normalize("NFC", original), unicodedata.normalize("NFC", output)
    if a == b:
        return "identical"
    if normal(a) == normal(b) or " ".join(a.translate(_PUNCT_ONLY).split()) == " ".join(b.translate(_PUNCT_ONLY).split()):
        return "punctuation"
    if "".join(a.split()).casefold() == "".join(b.split()).casefold():
        return "case_space"
    return "content"


@dataclass(slots=True)
class TagCounts:
    """Counts for one tag; subfield counts are over the original's subfields."""

    fields_in: int = 0
    fields_out: int = 0
    fields_kept: int = 0
    subfields_in: int = 0
    exact: int = 0
    modulo: int = 0
    # The classification (:data:`CLASSES`), reported beside the counts above; equality of
    # two tallies is by those counts.
    identical: int = field(default=0, compare=False)
    punctuation: int = field(default=0, compare=False)
    case_space: int = field(default=0, compare=False)
    content: int = field(default=0, compare=False)
    lost: int = field(default=0, compare=False)
    added: int = field(default=0, compare=False)

    def add(self, other: TagCounts) -> None:
        self.fields_in += other.fields_in
        self.fields_out += other.fields_out
        self.fields_kept += other.fields_kept
        self.subfields_in += other.subfields_in
        self.exact += other.exact
        self.modulo += other.modulo
        self.identical += other.identical
        self.punctuation += other.punctuation
        self.case_space += other.case_space
        self.content += other.content
        self.lost += other.lost
        self.added += other.added


@dataclass(slots=True)
class RecordDiff:
    """The comparison of one original record with its round-tripped copy.

    ``lost`` and ``added`` hold mnemonic lines (``=245  10$a...``); ``changed`` holds pairs
    of (original line, output line).
    """

    control_number: str
    number: int
    tags: dict[str, TagCounts] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        """Higher is worse: a lost field weighs 10, every subfield value not kept modulo
        punctuation 1 (the subfields of a lost field included)."""
        missed = sum(c.subfields_in - c.modulo for c in self.tags.values())
        return 10 * len(self.lost) + missed


class _Side:
    """One field prepared for comparison: grouping key and subfields by (code, occurrence)."""

    __slots__ = ("field", "tag", "key", "control", "data", "indicators", "slots", "_normals")

    def __init__(self, fld: Field):
        self.field = fld
        self.tag = fld.tag
        self.control = fld.is_control_field()
        self._normals: dict[tuple[str, int], str] | None = None
        if self.control:
            self.data = fld.data if fld.data is not None else ""
            self.indicators: tuple[str, ...] = ()
            self.slots: dict[tuple[str, int], str] = {}
            self.key = (self.tag, "")
            return
        self.data = None
        self.indicators = tuple(fld.indicators or ())
        slots: dict[tuple[str, int], str] = {}
        seen: dict[str, int] = {}
        linked = ""
        for code, value in fld.subfields:
            occurrence = seen.get(code, 0)
            seen[code] = occurrence + 1
            slots[(code, occurrence)] = value if value is not None else ""
            if code == "6" and not linked and self.tag == "880":
                linked = (value or "")[:3]
        self.slots = slots
        # An 880 is only the same field as another 880 if both render the same tag.
        self.key = (self.tag, linked)

    def normals(self) -> dict[tuple[str, int], str]:
        # Most values match exactly, so normalising is deferred until a comparison needs it.
        if self._normals is None:
            self._normals = {slot: normal(value) for slot, value in self.slots.items()}
        return self._normals

    def line(self) -> str:
        return str(self.field)


def _matches(original: _Side, output: _Side, pooled: bool) -> int:
    """How many of the original's subfield values the output keeps modulo punctuation."""
    if pooled:
        # Several candidates: each original is scored against many, so normalise once.
        theirs = output.normals()
        return sum(1 for slot, value in original.normals().items() if theirs.get(slot) == value)
    found = 0
    out_slots = output.slots
    for slot, value in original.slots.items():
        other = out_slots.get(slot)
        if other is not None and (other == value or normal(other) == normal(value)):
            found += 1
    return found


def _signature(fld: Field) -> tuple:
    if fld.is_control_field():
        return (fld.tag, fld.data)
    return (fld.tag, tuple(fld.indicators or ()), tuple(fld.subfields))


def _control_number(record: Record) -> str:
    for fld in record.get_fields("001"):
        if fld.data:
            return fld.data.strip()
    return ""


def compare(original: Record, output: Record, number: int = 0) -> RecordDiff:
    """Compare ``original`` with the ``output`` of its round trip.

    ``number`` is the record's 1-based position in its file. Leaders are not compared.
    Control fields pair in order by tag. Data fields pair by tag (880 by the tag its $6
    links to), greedily in the original's order: each takes the unused output field that
    keeps most of its subfield values modulo punctuation, the earliest on a tie. Subfields
    pair by code and occurrence. A paired field goes into ``changed`` if a value differs
    modulo punctuation, an indicator differs, or the output has subfields the original has
    not.
    """
    diff = RecordDiff(control_number=_control_number(original), number=number)
    tags = diff.tags

    def counts(tag: str) -> TagCounts:
        found = tags.get(tag)
        if found is None:
            found = tags[tag] = TagCounts()
        return found

    # Most fields come back identical: pair those first by their whole content, and leave
    # the greedy best-match pairing to the rest.
    identical: dict[tuple, list[int]] = {}
    for i, fld in enumerate(output.fields):
        identical.setdefault(_signature(fld), []).append(i)
        counts(fld.tag).fields_out += 1
    rest: list[Field] = []
    taken: set[int] = set()
    for fld in original.fields:
        same = identical.get(_signature(fld))
        if same:
            taken.add(same.pop(0))
            tally = counts(fld.tag)
            n = 1 if fld.is_control_field() else len(fld.subfields)
            tally.fields_in += 1
            tally.fields_kept += 1
            tally.subfields_in += n
            tally.exact += n
            tally.modulo += n
            tally.identical += n
        else:
            rest.append(fld)

    outputs = [_Side(fld) for i, fld in enumerate(output.fields) if i not in taken]
    candidates: dict[tuple[str, str], list[_Side]] = {}
    for side in outputs:
        candidates.setdefault(side.key, []).append(side)
    used: set[int] = set()

    for fld in rest:
        orig = _Side(fld)
        tally = counts(orig.tag)
        tally.fields_in += 1
        pool = candidates.get(orig.key, ())

        if orig.control:
            tally.subfields_in += 1
            partner = next((o for o in pool if id(o) not in used), None)
            if partner is None:
                diff.lost.append(orig.line())
                tally.lost += 1
                continue
            used.add(id(partner))
            tally.fields_kept += 1
            kind = classify(orig.data, partner.data or "")
            if orig.tag in RESTAMPED:
                kind = "identical"  # the well's own stamp, by design
            setattr(tally, kind, getattr(tally, kind) + 1)
            if partner.data == orig.data:
                tally.exact += 1
                tally.modulo += 1
            elif orig.tag in RESTAMPED or partner.data is not None and partner.data.strip() == orig.data.strip():
                # (a 005 restamped is kept as the identical class counts it: the well's stamp, by design)
                tally.modulo += 1
            else:
                diff.changed.append((orig.line(), partner.line()))
            continue

        tally.subfields_in += len(orig.slots)
        partner = None
        best = -1
        pooled = len(pool) > 1
        for out in pool:
            if id(out) in used:
                continue
            found = _matches(orig, out, pooled)
            if found > best:
                partner, best = out, found
                if found == len(orig.slots):
                    break
        if partner is None:
            diff.lost.append(orig.line())
            tally.lost += len(orig.slots)
            continue
        used.add(id(partner))
        tally.fields_kept += 1

        exact = 0
        out_slots = partner.slots
        for slot, value in orig.slots.items():
            other = out_slots.get(slot)
            if other == value:
                exact += 1
                tally.identical += 1
            elif other is None:
                tally.lost += 1
            else:
                kind = classify(value, other)
                setattr(tally, kind, getattr(tally, kind) + 1)
        tally.added += sum(1 for slot in out_slots if slot not in orig.slots)
        tally.exact += exact
        tally.modulo += best
        # Subfields the output invents are a difference worth showing even though the
        # counts, which are over the original's subfields, cannot see them.
        if (
            best < len(orig.slots)
            or partner.indicators != orig.indicators
            or any(slot not in orig.slots for slot in out_slots)
        ):
            diff.changed.append((orig.line(), partner.line()))

    for out in outputs:
        if id(out) not in used:
            diff.added.append(out.line())
            counts(out.tag).added += 1 if out.control else len(out.slots)
    return diff
