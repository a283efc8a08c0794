"""The change feed's log (table ``activities`` in the catalogue index): one row per activity a
partner syncs by, in the order the well made them, numbered 1, 2, 3 … without gaps.

Why a log of its own and not the change log read at request time: an activity names more than
the change-log entry it comes from (a record's new manifestation is also an update of its work
and expression, and a new work's core is a create), and what it names must not change once it
is published, while a record graph read later may say something else. So activities are worked
out once, when the change is written, in the same SQLite transaction as the index rows and the
sequence the index is then in step with:

- ingest writes each batch's activities with its rows (:func:`activities_of_record`);
- a catch-up (an edit in the well, an index behind its store) writes those of the change-log
  entries beyond the log's last one (:func:`activities_of_entry`): entries the log already
  covers are never announced twice, so a rebuild of the index keeps the feed as it was;
- a roll-back of a batch cut short takes its activities with it (:func:`trim`).

Each row keeps the change-log sequence it comes from, so a dump taken at sequence ``s`` is
followed by the activities after the last one of ``s``; and its position among activities of
its kind (``kn``), so that a feed filtered by kind pages as stably as the whole one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import pyoxigraph as ox

from ..mapping import terms as T
from .layout import CHANGE_TYPES

DCT_IS_REPLACED_BY = "http://purl.org/dc/terms/isReplacedBy"

if TYPE_CHECKING:
    from .core import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS activities (
    n INTEGER PRIMARY KEY, kn INTEGER NOT NULL, seq INTEGER NOT NULL, verb TEXT NOT NULL,
    iri TEXT NOT NULL, kind TEXT NOT NULL, class TEXT NOT NULL, time TEXT NOT NULL, target TEXT);
CREATE INDEX IF NOT EXISTS activities_kind ON activities (kind, kn);
"""

VERBS = ("Create", "Update", "Delete", "Deprecate")
KIND_OF_CLASS = {T.C_WORK: "work", T.C_EXPRESSION: "expression", T.C_MANIFESTATION: "manifestation",
                 T.C_PERSON: "agent", T.C_CORPORATE: "agent", T.C_FAMILY: "agent", T.C_CONCEPT: "concept",
                 T.C_ITEM: "item"}  # (an item a record describes is in its manifestation's document; one written over HTTP is its own)
KINDS = ("work", "expression", "manifestation", "agent", "concept", "item")
VERB_OF_CHANGE = {"create": "Create", "update": "Update", "delete": "Delete", "deprecate": "Deprecate",
                  "absorb": "Update"}
# A change-log entry's type (layout.CHANGE_TYPES) → the verb the feed announces it with
VERB_OF_TYPE = {iri: VERB_OF_CHANGE[name] for name, iri in CHANGE_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Activity:
    n: int  # position in the whole feed
    kn: int  # position among activities of its kind
    seq: int  # the change-log entry it comes from
    verb: str  # Create, Update, Delete, Deprecate
    iri: str
    kind: str  # work, expression, manifestation, agent, concept
    cls: str  # the entity's class IRI
    time: str  # xsd:dateTime of the change
    target: str | None = None  # Deprecate: the entity that replaces it


# (seq, verb, iri, class, time, target): an activity before it has a position
Item = tuple[int, str, str, str, str, "str | None"]


# writing (inside the caller's transaction) -------------------------------------------------------

def append(conn: sqlite3.Connection, items: Iterable[Item]) -> int:
    """Give these activities the next positions, in order; how many."""
    items = [i for i in items if i[3] in KIND_OF_CLASS]
    if not items:
        return 0
    (last,) = conn.execute("SELECT COALESCE(MAX(n), 0) FROM activities").fetchone()
    counters: dict[str, int] = {}
    rows = []
    for seq, verb, iri, cls, when, target in items:
        kind = KIND_OF_CLASS[cls]
        if kind not in counters:
            (counters[kind],) = conn.execute("SELECT COALESCE(MAX(kn), 0) FROM activities WHERE kind = ?",
                                             (kind,)).fetchone()
        counters[kind] += 1
        last += 1
        rows.append((last, counters[kind], seq, verb, iri, kind, cls, when, target))
    conn.executemany("INSERT INTO activities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def last_sequence(conn: sqlite3.Connection) -> int:
    """The change-log sequence of the newest activity (0: none)."""
    row = conn.execute("SELECT seq FROM activities ORDER BY n DESC LIMIT 1").fetchone()
    return row[0] if row else 0


def trim(conn: sqlite3.Connection, sequence: int) -> None:
    """Remove the activities of change-log entries after ``sequence`` (a roll-back's): they are
    always the newest, so the positions stay without gaps."""
    start = _first_after(conn, sequence, None)
    if start is not None:
        conn.execute("DELETE FROM activities WHERE n >= ?", (start,))


def _first_after(conn: sqlite3.Connection, sequence: int, kind: str | None, upto: int | None = None) -> int | None:
    """The first position (``n``, or ``kn`` within ``kind``) whose entry is after ``sequence``:
    a binary search over the positions (sequences grow with them), a few look-ups by key."""
    high = _last_position(conn, kind)
    if upto is not None:
        high = min(high, upto)
    low = 1
    if high < 1 or _seq_at(conn, high, kind) <= sequence:
        return None
    while low < high:
        mid = (low + high) // 2
        if _seq_at(conn, mid, kind) > sequence:
            high = mid
        else:
            low = mid + 1
    return low


def _last_position(conn: sqlite3.Connection, kind: str | None) -> int:
    if kind is None:
        (last,) = conn.execute("SELECT COALESCE(MAX(n), 0) FROM activities").fetchone()
    else:
        (last,) = conn.execute("SELECT COALESCE(MAX(kn), 0) FROM activities WHERE kind = ?", (kind,)).fetchone()
    return last


def _seq_at(conn: sqlite3.Connection, position: int, kind: str | None) -> int:
    if kind is None:
        row = conn.execute("SELECT seq FROM activities WHERE n = ?", (position,)).fetchone()
    else:
        row = conn.execute("SELECT seq FROM activities WHERE kind = ? AND kn = ?", (kind, position)).fetchone()
    return row[0]


# reading -----------------------------------------------------------------------------------------

class Log:
    """The feed as one snapshot of the store sees it: activities of change-log entries up to
    ``upto`` (the snapshot's last), so the feed never names what the snapshot cannot show.
    Positions are ``n`` for the whole feed, ``kn`` for one ``kind``."""

    def __init__(self, conn: sqlite3.Connection, upto: int, lock=None):
        self.conn, self.upto = conn, upto
        self._lock = lock
        self._totals: dict[str | None, int] = {}

    def _run(self, fn, *args):
        if self._lock is None:
            return fn(*args)
        with self._lock:
            return fn(*args)

    def total(self, kind: str | None = None) -> int:
        """How many activities this snapshot shows (those of entries up to ``upto``)."""
        if kind not in self._totals:
            def count():
                after = _first_after(self.conn, self.upto, kind)
                return (after - 1) if after is not None else _last_position(self.conn, kind)
            self._totals[kind] = self._run(count)
        return self._totals[kind]

    def items(self, start: int, count: int, kind: str | None = None) -> list[Activity]:
        """The activities at positions ``start`` … ``start + count - 1`` (within the total)."""
        end = min(start + count - 1, self.total(kind))
        if end < start:
            return []
        if kind is None:
            sql, args = "SELECT * FROM activities WHERE n BETWEEN ? AND ? ORDER BY n", (start, end)
        else:
            sql, args = ("SELECT * FROM activities WHERE kind = ? AND kn BETWEEN ? AND ? ORDER BY kn",
                         (kind, start, end))
        rows = self._run(lambda: self.conn.execute(sql, args).fetchall())
        return [Activity(*r) for r in rows]

    def after_sequence(self, sequence: int, kind: str | None = None) -> int:
        """The position of the first activity after change-log entry ``sequence`` (one past the
        total if there is none yet)."""
        found = self._run(_first_after, self.conn, sequence, kind, self.total(kind))
        return found if found is not None else self.total(kind) + 1

    def at_time(self, when: str, kind: str | None = None) -> int:
        """The position of the first activity published at or after ``when`` (an xsd:dateTime
        in UTC; times grow with positions)."""
        total = self.total(kind)
        low, high = 1, total + 1
        while low < high:
            mid = (low + high) // 2
            if _compare_time(self._time_at(mid, kind), when) >= 0:
                high = mid
            else:
                low = mid + 1
        return low

    def _time_at(self, position: int, kind: str | None) -> str:
        if kind is None:
            sql, args = "SELECT time FROM activities WHERE n = ?", (position,)
        else:
            sql, args = "SELECT time FROM activities WHERE kind = ? AND kn = ?", (kind, position)
        return self._run(lambda: self.conn.execute(sql, args).fetchone()[0])


def _compare_time(a: str, b: str) -> int:
    from .catalogue import stamp  # to the second, UTC: text that sorts as time does

    sa, sb = stamp(a), stamp(b)
    return (sa > sb) - (sa < sb)


# what each change names ----------------------------------------------------------------------

def class_of_core(core: bytes) -> str | None:
    """The class of an entity core as loaded: its first statement is its type."""
    first = core.split(b" ", 3)
    return first[2][1:-1].decode() if len(first) > 2 and first[1] == _TYPE else None


_TYPE = f"<{T.RDF_TYPE}>".encode()


def class_of(store: Store, iri: str) -> str | None:
    """An entity's class, from its core in the default graph (else from any graph)."""
    node = ox.NamedNode(iri)
    types = [q.object.value for q in store._store.quads_for_pattern(node, ox.NamedNode(T.RDF_TYPE), None,
                                                                    ox.DefaultGraph())]
    if not types:
        types = [q.object.value for q in store._store.quads_for_pattern(node, ox.NamedNode(T.RDF_TYPE), None, None)]
    return next((t for t in sorted(types) if t in KIND_OF_CLASS), None)


def links_of(store: Store, graph: str, manifestation: str) -> list[tuple[str, str]]:
    """``(class, IRI)`` of the work and expression a record graph gives its manifestation."""
    g, m = ox.NamedNode(graph), ox.NamedNode(manifestation)
    found = []
    for predicate, cls in ((T.M_WORK, T.C_WORK), (T.M_EXPRESSION, T.C_EXPRESSION)):
        for q in store._store.quads_for_pattern(m, ox.NamedNode(predicate), None, g):
            if isinstance(q.object, ox.NamedNode):
                found.append((cls, q.object.value))
    return sorted(set(found), key=lambda x: (x[0] != T.C_WORK, x[1]))


def manifestation_of_graph(base: str, graph: str) -> str:
    return f"{base}/manifestation/{graph.rsplit('/', 1)[-1]}"


def replacement(store: Store, iri: str) -> str | None:
    """What a merge put in place of a deprecated entity (``dcterms:isReplacedBy`` on its core)."""
    for q in store._store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(DCT_IS_REPLACED_BY), None,
                                            ox.DefaultGraph()):
        return q.object.value
    return None
