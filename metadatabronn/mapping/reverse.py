"""RDA entities → MARC 21: the mapping run backwards, for library systems that read MARC.

The carried layout (see :mod:`.convert`) is the record's shape: every field in its original
order with its indicators and subfield codes. Values the model does not hold are carried as
they were; each value the entities hold is replaced by a fingerprint (:func:`.text.hint`).
Export fills each such slot from the entities:

1. the entity text whose fingerprint matches the slot: the value as it came in, minus its ISBD
   punctuation, found whatever order the store returns statements in;
2. failing that, the entity has changed since (a work retitled in the well): the current value
   of the element the slot maps to, one not yet written elsewhere in the record;
3. failing that, the value has gone from the entities and the subfield is dropped.

ISBD punctuation is then regenerated from the subfield sequence. Leader, 001, 003, 005 and 008
are rebuilt from the record's identity and entities; 336/337/338 are always written.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field

from pymarc import Field, Indicators, Record, Subfield

from . import fixed
from . import terms as T
from .model import IRI, Description, Lit
from .rules import RULES
from .text import hint, hint_key, strip_heading, strip_isbd

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

_AAPS = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP)
_NAMES = (T.A_PERSON_NAME, T.A_CORPORATE_NAME, T.A_FAMILY_NAME)
_AGENT_TEXTS = frozenset((*_AAPS, *_NAMES))
_NAME_PARTS = set("abcdgjnq")
_EMPTY = hint("")
_FORM_TAGS = {"020", "022", "024", "336", "337", "338"}
_HEADING_TAGS = {"100", "110", "111", "600", "610", "611", "700", "710", "711", "800", "810", "811"}
# Elements whose texts may hold a slot's value inside a longer text (a heading's name and
# dates, a title proper with its part number): these are split into pieces when needed.
_SOURCES: dict[str, frozenset[str]] = {}
_HEADING_TEXTS = (*_AAPS, *_NAMES, T.W_AAP, T.W_PREFERRED_TITLE, T.OWL_SAMEAS,
                  T.A_PERSON_ID, T.A_CORPORATE_ID, T.A_AGENT_ID)
for _rule in RULES:
    for _tag in _rule.tags:
        # A heading's values are in its agent's access point, not in loose dates.
        elements = _HEADING_TEXTS if _tag in _HEADING_TAGS else _rule.elements
        if T.W_PART_OF in elements or T.W_RELATED_WORK in elements:  # a series or related work: its title
            elements = (*elements, T.W_PREFERRED_TITLE, T.W_AAP, T.W_VARIANT_TITLE)
        _SOURCES[_tag] = frozenset(elements)
_EVERYTHING = frozenset().union(*_SOURCES.values())
# Provenance texts are the record's, not its entities': they never fill a subfield.
_NOT_VALUES = {T.MB_CARRIED, T.MB_SOURCE_HASH, T.MB + "key", "http://purl.org/dc/terms/source"}


@dataclass(slots=True)
class AgentRef:
    """An agent named in the record: its headings and the identifiers export may add to them."""

    headings: set[int]
    ids: list[str]
    uris: list[str]


@dataclass(slots=True)
class Source:
    """What one manifestation's MARC record is written from.

    ``values`` holds the values of the primary chain by element (``"m"``, ``"e"``, ``"w"``),
    texts for literals and IRIs as strings; ``texts`` every literal of the record and the
    entities it names, as ``(element, text)``.
    """

    control_number: str
    carried: str
    values: dict[str, dict[str, list[str]]]
    texts: list[tuple[str, str]]
    agents: list[AgentRef] = field(default_factory=list)
    modified: str = ""
    deleted: bool = False
    identifiers: list[str] = field(default_factory=list)


def from_description(desc: Description) -> Source:
    """A :class:`Source` from a freshly converted record (the in-memory round trip)."""
    values: dict[str, dict[str, list[str]]] = {"m": {}, "e": {}, "w": {}}
    texts: list[tuple[str, str]] = []
    agents: list[AgentRef] = []
    main = {id(desc.manifestation): "m", id(desc.expression): "e", id(desc.work): "w"}
    for entity in desc.entities:
        role = main.get(id(entity))
        slot = values[role] if role else None
        for predicate, value in entity.statements:
            if isinstance(value, Lit):
                texts.append((predicate, value.text))
                if slot is not None:
                    slot.setdefault(predicate, []).append(value.text)
            elif isinstance(value, IRI):
                if predicate == T.OWL_SAMEAS:
                    texts.append((predicate, value.value))
                if slot is not None:
                    slot.setdefault(predicate, []).append(value.value)
        if entity.kind.value in ("person", "corporate", "family"):
            agents.append(_agent_ref(entity.statements))
    return Source(desc.control_number, desc.carried, values, texts, agents, deleted=desc.deleted)


def _agent_ref(statements) -> AgentRef:
    ref = AgentRef(set(), [], [])
    for predicate, value in statements:
        if predicate in _AAPS and isinstance(value, Lit):
            ref.headings.add(hint(value.text))
        elif predicate == T.OWL_SAMEAS:
            ref.uris.append(value.value if isinstance(value, IRI) else str(value))
        elif predicate in (T.A_PERSON_ID, T.A_CORPORATE_ID, T.A_AGENT_ID) and isinstance(value, Lit):
            ref.ids.append(value.text)
    return ref


def from_triples(control_number: str, manifestation: str, triples, carried: str, *, modified: str = "",
                 deleted: bool = False) -> Source:
    """A :class:`Source` from a record's statements as read from the store.

    ``triples`` are ``(subject, predicate, object, is_literal)`` of the record's graph and of
    the cores of the entities it names.
    """
    by_subject: dict[str, list[tuple[str, str, bool]]] = {}
    for s, p, o, is_literal in triples:
        by_subject.setdefault(s, []).append((p, o, is_literal))
    own = by_subject.get(manifestation, [])
    expression = next((o for p, o, lit in own if p == T.M_EXPRESSION and not lit), "")
    work = next((o for p, o, lit in own if p == T.M_WORK and not lit), "")
    values: dict[str, dict[str, list[str]]] = {"m": {}, "e": {}, "w": {}}
    for role, subject in (("m", manifestation), ("e", expression), ("w", work)):
        slot = values[role]
        for p, o, _ in by_subject.get(subject, ()):
            slot.setdefault(p, []).append(o)
    texts: list[tuple[str, str]] = []
    agents: list[AgentRef] = []
    for subject, statements in by_subject.items():
        is_agent = False
        for p, o, is_literal in statements:
            if is_literal and p not in _NOT_VALUES:
                texts.append((p, o))
            elif p == T.OWL_SAMEAS:
                texts.append((p, o))
            if p in _AAPS:
                is_agent = True
        if is_agent:
            agents.append(_agent_ref([(p, Lit(o) if lit else IRI(o)) for p, o, lit in statements]))
    identifiers = values["m"].get(T.M_IDENTIFIER, [])
    return Source(control_number, carried, values, texts, agents, modified, deleted, identifiers)


# -- finding values -------------------------------------------------------------------------

def _pieces(text: str):
    """Every run of whole words of ``text``: where a slot's value sits inside a longer text."""
    words = text.split(" ")
    if len(words) > 24:
        return
    for i in range(len(words)):
        for j in range(i + 1, len(words) + 1):
            piece = " ".join(words[i:j]).strip(" ,;:/=")
            if piece:
                yield piece


class _Pool:
    """The record's entity texts by fingerprint, and where a value sits inside a longer text."""

    __slots__ = ("src", "_found", "_forms", "by_element", "texts", "by_source", "expanded", "used")

    def __init__(self, src: Source):
        # Fingerprints are computed when a slot first asks for them: most slots are found
        # among the few texts of the one element they map to.
        self.src = src
        self._found: dict[int, tuple[str, str]] | None = None
        self._forms: dict[int, tuple[str, str]] | None = None
        self.by_element: dict[str, dict[int, tuple[str, str]] | list[str]] = {}
        for predicate, text in src.texts:
            self.by_element.setdefault(predicate, []).append(text)
        # An agent's own heading first: a work's access point ends the name with ". ".
        texts = src.texts
        self.texts = [t for t in texts if t[0] in _AGENT_TEXTS] + [t for t in texts if t[0] not in _AGENT_TEXTS]
        self.by_source: dict[frozenset, dict[int, tuple[str, str]]] = {}
        self.expanded: dict[frozenset, dict[int, tuple[str, str]]] = {}
        self.used: set[tuple[str, str]] = set()

    def _element(self, element: str) -> dict[int, tuple[str, str]]:
        texts = self.by_element.get(element)
        if texts is None:
            return {}
        if isinstance(texts, list):
            found: dict[int, tuple[str, str]] = {}
            for text in texts:
                found.setdefault(hint(text), (text, element))
            self.by_element[element] = texts = found
        return texts

    def forms(self, h: int):
        """The forms identifiers and types are written in: the number of a urn:isbn, an ISBN
        with its qualifier, a content, media or carrier type's code and label."""
        if self._forms is None:
            found: dict[int, tuple[str, str]] = {}
            m = self.src.values["m"]
            givens = [*m.get(T.M_IDENTIFIER, ()), *m.get(T.MB_INVALID_IDENTIFIER, ())]
            for given in givens:
                if given.startswith("urn:"):
                    bare = given.split(":", 2)[-1]
                    found.setdefault(hint(bare), (bare, T.M_IDENTIFIER))
            for note in m.get(T.M_IDENTIFIER_NOTE, ()):
                wrapped = note if note[:1] == "(" else f"({note})"  # $q as RDA records write it
                found.setdefault(hint(wrapped), (wrapped, T.M_IDENTIFIER_NOTE))
                for given in givens:
                    given = given.split(":", 2)[-1] if given.startswith("urn:") else given
                    # A qualifier the cataloguer left unbalanced ("(pbk") may have come without
                    # the parentheses the other form adds.
                    for combined in (f"{given} ({note})", f"{given} {note}"):
                        found.setdefault(hint(combined), (combined, T.M_IDENTIFIER))
            for role in "em":
                for predicate, iris in self.src.values[role].items():
                    for value in iris:
                        spec = T.TYPE_FIELDS.get(value)
                        if spec is not None:
                            found.setdefault(hint(spec[0]), (spec[0], predicate))
                            found.setdefault(hint(spec[1]), (spec[1], predicate))
            self._forms = found
        return self._use(self._forms.get(h))

    def anywhere(self, h: int):
        """Any text of the record: the last resort, for a value mapped by another field's rule."""
        if self._found is None:
            found: dict[int, tuple[str, str]] = {}
            for predicate, text in self.src.texts:
                found.setdefault(hint(text), (text, predicate))
            self._found = found
        return self._use(self._found.get(h))

    def whole(self, h: int, tag: str, element: str | None = None):
        """A text that is the slot's value, preferring the element the slot maps to, then the
        elements of the field's rule ("©1900" and "[1900]" have one fingerprint)."""
        if element is not None:
            # Only there: "00" as other title information is not the title proper's "00".
            return self._use(self._element(element).get(h))
        sources = _SOURCES.get(tag, _EVERYTHING)
        own = self.by_source.get(sources)
        if own is None:
            own = self.by_source[sources] = {}
            for predicate, text in self.texts:
                if predicate in sources:
                    own.setdefault(hint(text), (text, predicate))
        return self._use(own.get(h))

    def sequence(self, hints: list[int], tag: str, element: str | None = None) -> list:
        """Consecutive runs of words of one text that are the slots' values, in order: a
        heading's name, dates and fuller form inside its access point; a title proper's part
        number and name. Returns a hit or None per slot, from the text that matches most."""
        sources = _SOURCES.get(tag, _EVERYTHING)
        tidy = strip_heading if tag in _HEADING_TAGS else strip_isbd
        best: list = [None] * len(hints)
        best_score = 0
        texts = self.texts
        if element is not None:  # the element the first slot maps to, first
            texts = sorted(texts, key=lambda t: t[0] != element)
        for predicate, text in texts:
            if predicate not in sources:
                continue
            words = text.split(" ")
            keys = [hint_key(w) for w in words]
            # A long text (a summary with its $b) is only searched from where the last slot
            # ended: quadratic search of a 300-word text would cost milliseconds.
            anchored = len(words) > 80
            got: list = []
            cursor = 0
            for h in hints:
                hit = None
                for i in (range(cursor, min(cursor + 1, len(words))) if anchored else range(cursor, len(words))):
                    if not keys[i]:
                        continue
                    crc = zlib.crc32(keys[i])
                    j = i
                    while True:
                        if crc == h:
                            hit = (i, j + 1)
                            break
                        j += 1
                        if j == len(words):
                            break
                        if keys[j]:
                            crc = zlib.crc32(b" " + keys[j], crc)
                    if hit:
                        break
                if hit is None:
                    got.append(None)
                    continue
                cursor = hit[1]
                # The text joined its parts with ". " or ", ": off with the joint, as ingest
                # took the parts' own punctuation off.
                got.append((tidy(" ".join(words[hit[0]:hit[1]])), predicate))
            score = sum(g is not None for g in got)
            if score > best_score:
                best, best_score = got, score
                if score == len(hints):
                    break
        for hit in best:
            self._use(hit)
        return best

    def piece(self, h: int, tag: str):
        """Any run of words of any text of the field's elements that is the slot's value."""
        sources = _SOURCES.get(tag, _EVERYTHING)
        found = self.expanded.get(sources)
        if found is None:
            found = self.expanded[sources] = {}
            for predicate, text in self.texts:
                if predicate in sources:
                    for piece in _pieces(text):
                        found.setdefault(hint(piece), (piece, predicate))
        return self._use(found.get(h))

    def _use(self, hit):
        if hit is not None:
            self.used.add((hit[1], hit[0]))
        return hit


# -- punctuation ----------------------------------------------------------------------------

_ENDS = (".", "?", "!", "-", ")", "]", '"')
_CONTROL_CODES = set("0123456789")


def _end(value: str) -> str:
    return value if value.endswith(_ENDS) else value + "."


def _title_245(code, nxt, value, nxt_pred):
    if nxt is None:
        return _end(value)
    if nxt == "b":
        return value + (" =" if nxt_pred == T.M_PARALLEL_TITLE else " :")
    if nxt == "c":
        return value + " /"
    if nxt in "np":
        return value + "," if code == "n" and nxt == "p" else _end(value)
    return value


def _publication(code, nxt, value, nxt_pred, final=True):
    if nxt is None or nxt in _CONTROL_CODES:
        return _end(value) if final and code == "c" or final and code == "g" else value
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
    if nxt is None or nxt in _CONTROL_CODES:
        return _end(value)
    if nxt in "deju" or nxt == "c" and code != "a" or nxt == "q" and code != "a":
        return value if value.endswith("-") else value + ","  # an open date takes no comma
    if nxt in "tbklnpf":
        return _end(value)
    return value


def _uniform(code, nxt, value, nxt_pred, final=False):
    if nxt is None or nxt in _CONTROL_CODES:
        return _end(value) if final else value
    if nxt in "nplkfsmor":
        return value + "," if code == "n" and nxt == "p" else _end(value)
    if nxt == "v":
        return value + " ;"
    return value


_PUNCTUATE = {
    "245": _title_245, "250": lambda c, n, v, p: (v + " /" if n == "b" else _end(v) if n is None else v),
    "260": _publication, "264": lambda c, n, v, p: _publication(c, n, v, p, final=False),
    "300": _extent, "490": _series, "440": _series,
    "240": _uniform, "130": lambda c, n, v, p: _uniform(c, n, v, p, True),
    "730": lambda c, n, v, p: _uniform(c, n, v, p, True), "740": lambda c, n, v, p: _uniform(c, n, v, p, True),
    "830": lambda c, n, v, p: _uniform(c, n, v, p, True),
}
for _tag in _HEADING_TAGS:
    _PUNCTUATE[_tag] = _heading


def _punctuate(tag: str, slots: list[list]) -> None:
    """Regenerate ISBD punctuation on the values taken from the entities (``slots[i][2]``)."""
    rule = _PUNCTUATE.get(tag)
    if rule is None:
        return
    for i, slot in enumerate(slots):
        if not slot[2] or slot[0] in _CONTROL_CODES:  # identifiers ($0, $1) take no punctuation
            continue
        nxt = slots[i + 1] if i + 1 < len(slots) else None
        slot[1] = rule(slot[0], nxt[0] if nxt else None, slot[1], nxt[3] if nxt else None)


# -- the record -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Options:
    """``rda``: write 264 for every record, turning 260 into 264 publication and manufacture."""

    rda: bool = False


def to_marc(src: Source, options: Options = Options()) -> Record:
    """Write one MARC 21 bibliographic record (a pymarc Record) for a manifestation."""
    if src.deleted or not src.carried:
        return _deleted(src)
    layout = json.loads(src.carried)
    leader = layout["leader"]
    pool = _Pool(src)
    fields: list[Field] = []
    has = set()
    has_041 = any(entry[0] == "041" for entry in layout["fields"])
    for entry in layout["fields"]:
        tag = entry[0]
        if len(entry) == 2:
            out = _control(tag, entry[1], src, leader, has_041)
            if out is not None:
                fields.append(out)
                has.add(tag)
            continue
        out = _data_field(tag, entry[1], entry[2], pool, src)
        if out is not None:
            fields.append(out)
            has.add(tag)
    if "001" not in has:
        fields[:0] = _identity_fields(src)
    _add_types(fields, has, src)
    _add_uniform_title(fields, has, src)
    if options.rda:
        fields = _rda_style(fields)
    record = Record(leader=_leader(leader, src), force_utf8=True)
    record.fields = fields
    return record


def _leader(leader: str, src: Source) -> str:
    leader = (leader + " " * 24)[:24]
    status = "d" if src.deleted else leader[5]
    # Lengths and base address are computed when the record is written; 09 says UTF-8.
    return "00000" + status + leader[6:9] + "a" + "22" + "00000" + leader[17:20] + "4500"


def _identity_fields(src: Source) -> list[Field]:
    cn = src.control_number
    if cn.startswith("(") and ")" in cn:
        org, number = cn[1:].split(")", 1)
        return [Field(tag="001", data=number), Field(tag="003", data=org)]
    return [Field(tag="001", data=cn)]


def _control(tag: str, data, src: Source, leader: str, has_041: bool = False):
    if tag == "001":
        return _identity_fields(src)[0]
    if tag == "003":
        ident = _identity_fields(src)
        return ident[1] if len(ident) > 1 else None
    if tag == "005" and src.modified:
        stamp = re.sub(r"[^0-9]", "", src.modified[:19])
        return Field(tag="005", data=(stamp + "000000")[:14] + ".0")
    if tag == "008" and data is not None:
        return Field(tag="008", data=_rebuild_008(data, src, leader, has_041))
    return Field(tag=tag, data=data or "")


def _rebuild_008(data: str, src: Source, leader: str, has_041: bool) -> str:
    """008 with the positions the entities hold set from them (language, audience, literary form)."""
    f008 = data.ljust(40)[:40] if len(data) < 40 else data
    e, w = src.values["e"], src.values["w"]
    languages = [v[len(T.LANG_BASE):] for v in e.get(T.E_LANGUAGE, ()) if v.startswith(T.LANG_BASE)]
    # With a 041 the expression's languages come from it, and 008 keeps its own choice
    # ("mul", the predominant one); without, they come from 008, so a difference is an edit.
    if languages and f008[35:38] not in languages and not has_041:
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
    return f008


def _data_field(tag: str, indicators: str, subs: list, pool: _Pool, src: Source):
    ind = (indicators + "  ")[:2]
    if all(type(v) is str for _, v in subs):  # carried whole
        if not subs:
            return None
        subfields = [Subfield(c, v) for c, v in subs]
        if tag in _HEADING_TAGS:
            _identifiers(subfields, src)
        return Field(tag=tag, indicators=Indicators(ind[0], ind[1]), subfields=subfields)
    # Slots: [code, value, from the entities?, element]
    slots: list[list] = []
    held = carried_values = 0
    key = tag if tag != "264" else tag + indicators[1:2]
    paired = tag
    if tag == "880":
        paired = next((v[:3] for c, v in subs if c == "6" and isinstance(v, str)), "880")
    heading = paired in _HEADING_TAGS
    open_slots: list[int] = []
    for code, value in subs:
        if isinstance(value, str) or value is None:
            if value is None:  # a layout written before fingerprints: the value is not recoverable
                continue
            slots.append([code, value, False, None])
            if code not in "68":
                carried_values += 1
            continue
        held += 1
        if value == _EMPTY:  # a subfield of punctuation only ("$b;"): nothing to look up
            slots.append([code, "", True, ("", None)])
            continue
        # A heading's name parts are found in order inside the agent's access point.
        if heading and code in _NAME_PARTS:
            hit = None
        else:
            hit = pool.whole(value, paired, _element(key, code) or _PART_OF.get((paired, code)))
            if hit is None and paired in _FORM_TAGS:
                hit = pool.forms(value)
        slots.append([code, value, hit is not None, hit])
        if hit is None:
            open_slots.append(len(slots) - 1)
    if open_slots:
        first = slots[open_slots[0]][0]
        hits = pool.sequence([slots[i][1] for i in open_slots], paired,
                             _element(key, first) or _PART_OF.get((paired, first)))
        for i, hit in zip(open_slots, hits):
            h = slots[i][1]
            hit = hit or pool.piece(h, paired) or pool.anywhere(h) or _changed(key, slots[i][0], pool, src)
            slots[i][2], slots[i][3] = hit is not None, hit
    slots = [[c, hit[0], True, hit[1]] if found else [c, v, False, None]
             for c, v, found, hit in ([s[0], s[1], s[2], s[3]] for s in slots)
             if found or not isinstance(v, int)]
    if held and not carried_values and not any(s[2] for s in slots):
        return None  # every value it held has gone from the entities
    _punctuate(paired if tag == "880" else tag, slots)
    subfields = [Subfield(code, value) for code, value, _, _ in slots]
    if tag in _HEADING_TAGS:
        _identifiers(subfields, src)
    if not subfields:
        return None
    return Field(tag=tag, indicators=Indicators(ind[0], ind[1]), subfields=subfields)


# Subfields whose value is part of one element's text: found inside it, never replaced by it.
_PART_OF = {("245", "n"): T.M_TITLE_PROPER, ("245", "p"): T.M_TITLE_PROPER,
            ("240", "n"): T.W_PREFERRED_TITLE, ("240", "p"): T.W_PREFERRED_TITLE,
            ("130", "n"): T.W_PREFERRED_TITLE, ("130", "p"): T.W_PREFERRED_TITLE}


def _element(key: str, code: str) -> str | None:
    spec = _FALLBACK.get((key, code))
    return spec[1] if spec else None


def _changed(key: str, code: str, pool: _Pool, src: Source):
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


def _identifiers(subfields: list[Subfield], src: Source) -> None:
    """Add the agent's identifiers ($0, $1) the heading does not have yet."""
    name = " ".join(v for c, v in subfields if c in "abcdgjnq")
    h = hint(name)
    present = {v for c, v in subfields if c in "01"}
    for agent in src.agents:
        if h in agent.headings:
            for uri in agent.uris:
                if uri not in present:
                    subfields.append(Subfield("1", uri))
            for ident in agent.ids:
                if ident not in present:
                    subfields.append(Subfield("0", ident))
            return


def _insert(fields: list[Field], new: Field) -> None:
    for i, f in enumerate(fields):
        if f.tag > new.tag and f.tag != "880" or f.tag == "880" and new.tag != "880":
            if not f.tag.startswith("00"):
                fields.insert(i, new)
                return
    fields.append(new)


def _add_types(fields: list[Field], has: set[str], src: Source) -> None:
    """336/337/338 are always written, also for records that came in without them."""
    for tag, role, predicate in (("336", "e", T.E_CONTENT_TYPE), ("337", "m", T.M_MEDIA),
                                 ("338", "m", T.M_CARRIER)):
        if tag in has:
            continue
        for value in src.values[role].get(predicate, ()):
            spec = T.TYPE_FIELDS.get(value)
            if spec is not None:
                code, label, source = spec
                _insert(fields, Field(tag=tag, indicators=Indicators(" ", " "), subfields=[
                    Subfield("a", label), Subfield("b", code), Subfield("2", source)]))


def _add_uniform_title(fields: list[Field], has: set[str], src: Source) -> None:
    """A work whose preferred title is not the manifestation's title gets a 240 (or 130)."""
    if "240" in has or "130" in has:
        return
    title = next(iter(src.values["w"].get(T.W_PREFERRED_TITLE, ())), None)
    proper = next(iter(src.values["m"].get(T.M_TITLE_PROPER, ())), "")
    if not title or _same_title(title, proper, fields):
        return
    main_entry = any(f.tag in ("100", "110", "111") for f in fields)
    if main_entry:
        new = Field(tag="240", indicators=Indicators("1", "0"), subfields=[Subfield("a", title)])
    else:
        new = Field(tag="130", indicators=Indicators("0", " "), subfields=[Subfield("a", _end(title))])
    _insert(fields, new)


def _same_title(title: str, proper: str, fields: list[Field]) -> bool:
    f245 = next((f for f in fields if f.tag == "245"), None)
    skip = int(f245.indicator2) if f245 is not None and f245.indicator2.isdigit() else 0
    norm = re.compile(r"[\W_]+")
    t = norm.sub("", title.casefold())
    return t in (norm.sub("", proper.casefold()), norm.sub("", proper[skip:].casefold())) or not proper


def _rda_style(fields: list[Field]) -> list[Field]:
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


def _deleted(src: Source) -> Record:
    """A deleted record: Leader/05 d, its control number and identifiers."""
    record = Record(leader="00000dam a2200000 a 4500", force_utf8=True)
    record.fields = _identity_fields(src)
    for ident in src.identifiers:
        if ident.startswith("(") and ident != src.control_number:
            record.fields.append(Field(tag="035", indicators=Indicators(" ", " "), subfields=[Subfield("a", ident)]))
        elif ident.startswith("urn:isbn:"):
            record.fields.append(Field(tag="020", indicators=Indicators(" ", " "),
                                       subfields=[Subfield("a", ident[9:])]))
    return record


def convert_back(desc: Description, options: Options = Options()) -> Record:
    """Entities of a freshly converted record → MARC 21 (the round trip without the store)."""
    return to_marc(from_description(desc), options)


__all__ = ["AgentRef", "Options", "Source", "convert_back", "from_description", "from_triples", "to_marc"]
