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
    are asked for (``store`` then reads them)."""

    __slots__ = ("_iri", "_text", "_store", "_rows", "_leaf")

    def __init__(self, iri: str, text: bytes | None, store: Callable | None, rows: tuple | None = None, *,
                 leaf: bool = False):
        self._iri, self._text, self._store, self._rows, self._leaf = iri, text, store, rows, leaf

    # A snapshot's memo is shared by its request threads: each reads the fields once into locals,
    # and a parse sets the rows before it lets go of the text, so a reader that finds the text
    # gone finds the rows there (two threads may parse one core; both get the same rows).

    def rows(self) -> tuple[tuple[str, str, bool], ...]:
        """(predicate, object, literal?) of each statement."""
        rows = self._rows
        if rows is not None:
            return rows
        text, from_store = self._text, self._store
        if text is None:
            if from_store is None:  # parsed by another thread just now
                return self._rows
            rows = from_store()  # a leaf, read now
        else:
            try:
                rows = tuple((p, o, is_literal) for _, p, o, is_literal in nquads.statements(text))
            except SyntaxError:  # a damaged copy: the store is read
                copies.damaged(self._iri)
                rows = from_store()
        self._rows = rows
        self._text = self._store = None
        return rows

    def links(self, base: str) -> list[str]:
        """The entities it names whose cores a record's reader reads too."""
        if self._leaf:
            return []
        text = self._text
        if text is not None and copies.plainly_leaf(text, base):
            return []
        return [o for p, o, is_literal in self.rows() if not is_literal and copies.follows(p, o, base)]
