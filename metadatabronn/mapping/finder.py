"""Finding each fingerprinted slot's value among the entities' texts (see :mod:`.reverse`)."""

from __future__ import annotations

import zlib

from . import terms as T
from .rules import RULES
from .source import AAPS, NAMES, Source
from .text import HEADING_TAGS, HINTS, strip_heading, strip_isbd

AGENT_TEXTS = frozenset((*AAPS, *NAMES))
NAME_PARTS = set("abcdgjnq")  # a heading's name parts: found in order inside its access point
FORM_TAGS = {"020", "022", "024", "336", "337", "338"}  # values written in a form of their own
# Elements whose texts may hold a slot's value inside a longer text (a heading's name and
# dates, a title proper with its part number): these are split into pieces when needed.
_SOURCES: dict[str, frozenset[str]] = {}
_HEADING_TEXTS = (*AAPS, *NAMES, T.W_AAP, T.W_PREFERRED_TITLE, T.OWL_SAMEAS,
                  T.A_PERSON_ID, T.A_CORPORATE_ID, T.A_AGENT_ID)
for _rule in RULES:
    for _tag in _rule.tags:
        # A heading's values are in its agent's access point, not in loose dates.
        elements = _HEADING_TEXTS if _tag in HEADING_TAGS else _rule.elements
        if T.W_PART_OF in elements or T.W_RELATED_WORK in elements:  # a series or related work: its title
            elements = (*elements, T.W_PREFERRED_TITLE, T.W_AAP, T.W_VARIANT_TITLE)
        _SOURCES[_tag] = frozenset(elements)
_EVERYTHING = frozenset().union(*_SOURCES.values())


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


class Finder:
    """The record's entity texts by fingerprint, and where a value sits inside a longer text."""

    __slots__ = ("src", "_found", "_forms", "by_element", "texts", "by_source", "expanded", "used",
                 "_hint", "_key")

    def __init__(self, src: Source, version: int = 1):
        # The layout's own fingerprint function: older layouts were written with another.
        self._hint, self._key = HINTS[version]
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
        self.texts = [t for t in texts if t[0] in AGENT_TEXTS] + [t for t in texts if t[0] not in AGENT_TEXTS]
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
                found.setdefault(self._hint(text), (text, element))
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
                    found.setdefault(self._hint(bare), (bare, T.M_IDENTIFIER))
            for note in m.get(T.M_IDENTIFIER_NOTE, ()):
                wrapped = note if note[:1] == "(" else f"({note})"  # $q as RDA records write it
                found.setdefault(self._hint(wrapped), (wrapped, T.M_IDENTIFIER_NOTE))
                for given in givens:
                    given = given.split(":", 2)[-1] if given.startswith("urn:") else given
                    # A qualifier the cataloguer left unbalanced ("(pbk") may have come without
                    # the parentheses the other form adds.
                    for combined in (f"{given} ({note})", f"{given} {note}"):
                        found.setdefault(self._hint(combined), (combined, T.M_IDENTIFIER))
            for role in "em":
                for predicate, iris in self.src.values[role].items():
                    for value in iris:
                        spec = T.TYPE_FIELDS.get(value)
                        if spec is not None:
                            found.setdefault(self._hint(spec[0]), (spec[0], predicate))
                            found.setdefault(self._hint(spec[1]), (spec[1], predicate))
            self._forms = found
        return self._use(self._forms.get(h))

    def anywhere(self, h: int):
        """Any text of the record: the last resort, for a value mapped by another field's rule."""
        if self._found is None:
            found: dict[int, tuple[str, str]] = {}
            for predicate, text in self.src.texts:
                found.setdefault(self._hint(text), (text, predicate))
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
                    own.setdefault(self._hint(text), (text, predicate))
        return self._use(own.get(h))

    def sequence(self, hints: list[int], tag: str, element: str | None = None) -> list:
        """Consecutive runs of words of one text that are the slots' values, in order: a
        heading's name, dates and fuller form inside its access point; a title proper's part
        number and name. Returns a hit or None per slot, from the text that matches most."""
        sources = _SOURCES.get(tag, _EVERYTHING)
        tidy = strip_heading if tag in HEADING_TAGS else strip_isbd
        best: list = [None] * len(hints)
        best_score = 0
        texts = self.texts
        if element is not None:  # the element the first slot maps to, first
            texts = sorted(texts, key=lambda t: t[0] != element)
        for predicate, text in texts:
            if predicate not in sources:
                continue
            words = text.split(" ")
            keys = [self._key(w) for w in words]
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
                        found.setdefault(self._hint(piece), (piece, predicate))
        return self._use(found.get(h))

    def _use(self, hit):
        if hit is not None:
            self.used.add((hit[1], hit[0]))
        return hit


