"""The entity cores a record's reader reads (:mod:`.records`), and the memo a read-only snapshot
keeps of them and of shared entities' change times."""

from __future__ import annotations

from typing import Callable

from . import copies, nquads


MEMO_ENTITIES = 50_000  # entities whose change times a read-only snapshot keeps (a few MB)
UNKNOWN = object()  # what Memo.get gives for a key it does not hold, when asked to (None is a value)


class Memo:
    """A bounded memo of two generations, each a plain dictionary: when the new one is full it
    becomes the old one, and what is asked for from the old one moves to the new. It holds the
    last ``size`` to ``2 * size`` entries, and what is in use stays. (An ordered dictionary
    moving every entry asked for to its end, and dropping its first on every insert once full,
    was 2 % of an export's worker at 250,000 records.)"""

    __slots__ = ("size", "_new", "_old")

    def __init__(self, size: int):
        self.size, self._new, self._old = size, {}, {}

    def get(self, key, default=None):
        found = self._new.get(key, UNKNOWN)
        if found is UNKNOWN:
            found = self._old.get(key, UNKNOWN)
            if found is UNKNOWN:
                return default
            self.put(key, found)
        return found

    def put(self, key, value) -> None:
        new = self._new
        new[key] = value
        if len(new) >= self.size:
            self._old, self._new = new, {}

    def __len__(self) -> int:
        return len(self._new.keys() | self._old.keys())


class Core:
    """An entity's core as its copy holds it, parsed when its statements are asked for: a record
    nobody edited needs few of its cores' statements (``record_statements``), but all of their
    links. A core without the base IRI in an object's place names nothing (``follows``), and
    its text says so without being parsed; a leaf's text is not even read until its statements
    are asked for.

    Whoever asks passes ``read(iri, copy_first)``, the snapshot's reader of one core (its copy
    first, else the store; or the store alone), rather than each core keeping a closure: a
    snapshot's memo holds up to ``2 * MEMO_ENTITIES`` cores, and each object they keep is one
    more for every full collection of Python's garbage collector to walk, in a server, during
    a request."""

    __slots__ = ("_iri", "_text", "_rows", "_leaf")

    def __init__(self, iri: str, text: bytes | None, rows: tuple | None = None, *, leaf: bool = False):
        self._iri, self._text, self._rows, self._leaf = iri, text, rows, leaf

    # A snapshot's memo is shared by its request threads: each reads the fields once into locals,
    # and a parse sets the rows before it lets go of the text, so a reader that finds the text
    # gone finds the rows there (two threads may parse one core; both get the same rows).

    def rows(self, read: Callable) -> tuple[tuple[str, str, bool], ...]:
        """(predicate, object, literal?) of each statement."""
        rows = self._rows
        if rows is not None:
            return rows
        text = self._text
        if text is None:
            rows = self._rows
            if rows is not None:  # parsed by another thread just now
                return rows
            rows = read(self._iri, True)  # a leaf, read now
        else:
            rows = parse(self._iri, text, read)
        self._rows = rows
        self._text = None
        return rows

    def links(self, base: str, read: Callable) -> list[str]:
        """The entities it names whose cores a record's reader reads too."""
        if self._leaf:
            return []
        text = self._text
        if text is not None and copies.plainly_leaf(text, base):
            return []
        return [o for p, o, is_literal in self.rows(read) if not is_literal and copies.follows(p, o, base)]


def parse(iri: str, text: bytes, read: Callable) -> tuple[tuple[str, str, bool], ...]:
    """The statements of a core's copy; a damaged copy is said so, and the store is read."""
    try:
        return tuple((p, o, is_literal) for _, p, o, is_literal in nquads.statements(text))
    except SyntaxError:
        copies.damaged(iri)
        return read(iri, False)
