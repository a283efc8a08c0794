"""The name index: every preferred and variant name of an agent, searched by word (``/agents``);
the works and concepts of authority records have theirs here too (their kind says which).

It lives in the catalogue file (:mod:`.catalogue`), beside the text index, as two tables:
``names`` (one row per name of an entity: its kind, whether it is the preferred name, and whether
the entity's core gave it or its authority record did) and ``names_index`` (FTS5, the folded name,
same rowid).

**Folding** (:func:`fold`): the text index's rule (:func:`.search.fold`), then every ``aa`` as
``a`` (:func:`.search.skeleton`), both when indexing and when asking: ``Bjørnson``, ``bjornson``
and ``BJØRNSON`` are one word, ``Kjærstad`` is ``kjaerstad``, ``Ålesund`` is ``alesund`` as
``Aalesund`` and ``Alesund`` are. FTS5's own ``remove_diacritics`` leaves ø and æ as they are, so
folding is done here, in Python, on both sides.

An authority record's names replace what the record said before (:func:`add`); a heading-made
agent's preferred name comes from its core as it is first written (:func:`add_cores`) and stays
beside the authority's names (a heading may have spelled the name another way). The index is
made again from the store by :func:`rebuild` when the catalogue index is.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

import pyoxigraph as ox

from ..mapping import terms as T
from .feed import DCT_IS_REPLACED_BY
from .search import Words, fold as _fold_words, skeleton

if TYPE_CHECKING:
    from .catalogue import Catalogue
    from .core import Store

log = logging.getLogger(__name__)

KINDS = {T.C_PERSON: "person", T.C_CORPORATE: "corporate", T.C_FAMILY: "family"}
# The element a core's or an authority's preferred name is in, by kind (the access point first:
# it is what a heading and an authority both give).
PREFERRED = {"person": (T.A_PERSON_AAP, T.A_PERSON_NAME),
             "corporate": (T.A_CORPORATE_AAP, T.A_CORPORATE_NAME),
             "family": (T.A_FAMILY_AAP, T.A_FAMILY_NAME)}
# RDA "has variant access point for person / corporate body / family / work"; a concept's altLabel
VARIANT = {"person": T.RDAA + "P50412", "corporate": T.RDAA + "P50408", "family": T.RDAA + "P50410",
           "work": T.RDAW + "P10332", "concept": T.SKOS + "altLabel"}
# What authority records describe besides agents, and the element of their preferred name.
OTHER_KINDS = {T.C_WORK: "work", T.C_CONCEPT: "concept"}
PREFERRED_OTHER = {"work": (T.W_AAP,), "concept": (T.SKOS_PREFLABEL,)}
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
CHUNK = 200  # matching names read at a time while distinct entities are gathered

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS names (
        id INTEGER PRIMARY KEY, entity TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
        preferred INTEGER NOT NULL, core INTEGER NOT NULL, key TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS names_entity ON names(entity, core, name)",
    "CREATE INDEX IF NOT EXISTS names_key ON names(key)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS names_index USING fts5(
        name, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')""",
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One entity found: its preferred name, and the name that matched when that is another."""

    entity: str
    kind: str
    name: str
    matched: str | None  # a variant (or another spelling) that matched; None: the preferred name

    def as_dict(self) -> dict:
        return {"iri": self.entity, "kind": self.kind, "name": self.name, "matched": self.matched}


def fold(text: str) -> str:
    """A name as it is indexed and asked for: ``fold("Bjørnson, Bjørnstjerne")`` is
    ``"bjornson bjornstjerne"``, ``fold("Ålesund")`` is ``"alesund"``."""
    return skeleton(_fold_words(text))


# the connection ------------------------------------------------------------------------------

class _Writing:
    """A connection to write on: a caller's own (its transaction), or the catalogue's (one
    transaction here)."""

    def __init__(self, db):
        if not isinstance(db, sqlite3.Connection) and not hasattr(db, "transaction"):
            db = getattr(db, "catalogue", None)  # a store: its catalogue index, if it has one
        self.db = db
        self._tx = None

    def __enter__(self) -> sqlite3.Connection | None:
        if self.db is None:
            return None
        if isinstance(self.db, sqlite3.Connection):
            return self.db
        self._tx = self.db.transaction()
        return self._tx.__enter__()

    def __exit__(self, kind, exc, tb):
        if self._tx is not None:
            return self._tx.__exit__(kind, exc, tb)
        return False


def create(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


def _connection(db) -> sqlite3.Connection | None:
    """A reader's connection (a Catalogue, a Store, or one given)."""
    if isinstance(db, sqlite3.Connection):
        return db
    if hasattr(db, "conn"):
        return db.conn
    cat = getattr(db, "catalogue", None)
    return None if cat is None else cat.conn


# writing -----------------------------------------------------------------------------------

def _insert(conn: sqlite3.Connection, entity: str, kind: str, name: str, preferred: bool, core: bool) -> None:
    key = fold(name)
    if not key:
        return
    row = conn.execute("SELECT id, preferred FROM names WHERE entity = ? AND core = ? AND name = ?",
                       (entity, int(core), name)).fetchone()
    if row is not None:  # a name given twice (as preferred and as a variant): preferred wins
        if preferred and not row[1]:
            conn.execute("UPDATE names SET preferred = 1 WHERE id = ?", (row[0],))
        return
    rowid = conn.execute("INSERT INTO names (entity, kind, name, preferred, core, key) VALUES (?, ?, ?, ?, ?, ?)",
                         (entity, kind, name, int(preferred), int(core), key)).lastrowid
    conn.execute("INSERT INTO names_index (rowid, name) VALUES (?, ?)", (rowid, key))


def _delete(conn: sqlite3.Connection, entity: str, core: bool | None) -> None:
    where, args = ("entity = ?", (entity,)) if core is None else ("entity = ? AND core = ?", (entity, int(core)))
    ids = [(i,) for (i,) in conn.execute(f"SELECT id FROM names WHERE {where}", args)]
    conn.executemany("DELETE FROM names_index WHERE rowid = ?", ids)
    conn.executemany("DELETE FROM names WHERE id = ?", ids)


def add(db, rows: Iterable[tuple[str, str, str, bool]]) -> None:
    """An authority record's names: rows ``(entity IRI, kind, name, preferred)``, kind being
    ``person``, ``corporate``, ``family``, ``work`` or ``concept``. Each entity named here has what its
    authority said before replaced by these rows (a heading's name from its core stays).

    ``db``: the catalogue index (written in a transaction of its own), the store holding it, or a
    connection already in a transaction (written in that one)."""
    rows = list(rows)
    if not rows:
        return
    with _Writing(db) as conn:
        if conn is None:
            return
        create(conn)
        for entity in dict.fromkeys(r[0] for r in rows):
            _delete(conn, entity, core=False)
        for entity, kind, name, preferred in rows:
            _insert(conn, entity, kind, name, bool(preferred), core=False)


def remove(db, entities: Iterable[str], *, everything: bool = False) -> None:
    """The names these entities' authority records gave go (a deleted authority); with
    ``everything``, their cores' names too (an entity merged into another)."""
    entities = list(entities)
    if not entities:
        return
    with _Writing(db) as conn:
        if conn is None:
            return
        create(conn)
        for entity in entities:
            _delete(conn, entity, None if everything else False)


def core_rows(iri: str, core: bytes) -> list[tuple[str, str, str, bool]]:
    """The preferred name of an agent as its core (N-Quads) says it; nothing for other cores."""
    if T.RDAA.encode() not in core:
        return []
    kind, values = None, {}
    for q in ox.parse(core, format=ox.RdfFormat.N_QUADS, lenient=True):
        if q.subject.value != iri:
            continue
        p = q.predicate.value
        if p == RDF_TYPE and q.object.value in KINDS:
            kind = KINDS[q.object.value]
        elif isinstance(q.object, ox.Literal):
            values.setdefault(p, []).append(q.object.value)
    if kind is None:
        return []
    for p in PREFERRED[kind]:
        if values.get(p):
            return [(iri, kind, min(values[p]), True)]
    return []


def add_cores(db, cores: Iterable[tuple[str, bytes]]) -> None:
    """Agents' cores as first written ``(IRI, N-Quads)``: their preferred names are indexed, so
    an agent only headings name is found too. Cores of other entities are passed over."""
    found = [r for iri, body in cores if "/agent/" in iri for r in core_rows(iri, body)]
    if not found:
        return
    with _Writing(db) as conn:
        if conn is None:
            return
        create(conn)
        for entity, kind, name, preferred in found:
            _insert(conn, entity, kind, name, preferred, core=True)


# reading -----------------------------------------------------------------------------------

def _expression(text: str) -> tuple[str | None, str]:
    """The FTS5 query for a name being looked up (every word; the last one also as a beginning,
    unless the text ends in a space), and the folded text."""
    words = Words.of(text, last_is_prefix=True)
    parts = []
    for word, prefix in zip(words.words, words.prefixes):
        w = skeleton(word)
        quoted = '"' + w + '"'
        # A single letter alone stays a word (as a beginning it would match a good part of the
        # index); after other words it is an initial being typed ("bjornson b").
        if prefix is None and (len(w) > 1 or len(words.words) > 1):
            parts.append(f"({quoted} OR {quoted} *)")
        elif prefix:
            parts.append(quoted + " *")
        else:
            parts.append(quoted)
    return (" AND ".join(parts) or None), skeleton(words.text)


def _matches(conn: sqlite3.Connection, expr: str, folded: str) -> Iterator[tuple[str, str, str, int]]:
    """(entity, kind, name, preferred) of the names matching, the best first: a name that is the
    text asked exactly, then preferred names, then by BM25."""
    query = ("SELECT n.entity, n.kind, n.name, n.preferred FROM names_index JOIN names n ON n.id = names_index.rowid "
             "WHERE names_index MATCH ? ORDER BY (n.key = ?) DESC, n.preferred DESC, names_index.rank, n.id "
             "LIMIT ? OFFSET ?")
    start = 0
    while True:
        rows = conn.execute(query, (expr, folded, CHUNK, start)).fetchall()
        yield from rows
        if len(rows) < CHUNK:
            return
        start += CHUNK


def preferred_name(conn: sqlite3.Connection, entity: str) -> tuple[str, str] | None:
    """(kind, preferred name) of an entity: its authority's, else its core's."""
    row = conn.execute("SELECT kind, name FROM names WHERE entity = ? AND preferred = 1 ORDER BY core, name LIMIT 1",
                       (entity,)).fetchone()
    return (row[0], row[1]) if row else None


def iter_hits(db, text: str, *, kind: str | Iterable[str] | None = None) -> Iterator[Hit]:
    """Entities with a preferred or variant name holding every word of ``text`` (folded; the last
    word also as a beginning), each once, the best first. ``kind``: only those of that kind (or
    of those kinds). Nothing from an index made before names were kept."""
    kinds = None if kind is None else {kind} if isinstance(kind, str) else set(kind)
    conn = _connection(db)
    expr, folded = _expression(text or "")
    if conn is None or expr is None:
        return
    seen: set[str] = set()
    try:
        for entity, found_kind, name, preferred in _matches(conn, expr, folded):
            if entity in seen or (kinds is not None and found_kind not in kinds):
                continue
            seen.add(entity)
            # The authority's preferred name before a heading's (the register's form)
            best = preferred_name(conn, entity) or (found_kind, name)
            yield Hit(entity, best[0], best[1], None if best[1] == name else name)
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise


def search(db, text: str, limit: int = 20, offset: int = 0, *, kind: str | Iterable[str] | None = None
           ) -> list[Hit]:
    """A page of :func:`iter_hits`."""
    return [h for i, h in zip(range(offset + limit), iter_hits(db, text, kind=kind)) if i >= offset]


def names_of(db, entity: str) -> list[tuple[str, bool]]:
    """Every name indexed of an entity, ``(name, preferred)``, preferred first."""
    conn = _connection(db)
    if conn is None:
        return []
    try:
        return [(n, bool(p)) for n, p in conn.execute(
            "SELECT DISTINCT name, preferred FROM names WHERE entity = ? ORDER BY preferred DESC, core, name",
            (entity,))]
    except sqlite3.OperationalError:
        return []


# rebuilding --------------------------------------------------------------------------------

def _literals(store: Store, subject: ox.NamedNode, predicate: str, graph) -> list[str]:
    return sorted(q.object.value for q in store._store.quads_for_pattern(subject, ox.NamedNode(predicate), None, graph)
                  if isinstance(q.object, ox.Literal))


def _kind_of(store: Store, entity: ox.NamedNode) -> str | None:
    for q in store._store.quads_for_pattern(entity, ox.NamedNode(RDF_TYPE), None, None):
        found = KINDS.get(q.object.value) or OTHER_KINDS.get(q.object.value)
        if found:
            return found
    return None


def authority_rows(store: Store, entity: str, graph: str) -> list[tuple[str, str, str, bool]]:
    """What an authority record graph says of its entity's names (preferred and variant access
    points; a concept's labels), as :func:`add` takes them."""
    node, g = ox.NamedNode(entity), ox.NamedNode(graph)
    kind = _kind_of(store, node)
    if kind is None:
        return []
    rows = []
    for p in (PREFERRED.get(kind) or PREFERRED_OTHER[kind])[:1]:
        rows += [(entity, kind, v, True) for v in _literals(store, node, p, g)]
    rows += [(entity, kind, v, False) for v in _literals(store, node, VARIANT[kind], g)]
    return rows


def rebuild(store: Store, cat: Catalogue) -> int:
    """The name index made again from the store: every agent's core (by class, an index read
    each) and every authority record graph's agent (by ``mb:authorityId``). How many names."""
    with cat.transaction() as conn:
        create(conn)
        conn.execute("DELETE FROM names_index")
        conn.execute("DELETE FROM names")
    count = 0
    batch: list[tuple[str, str, str, bool, bool]] = []

    def flush():
        nonlocal count
        with cat.transaction() as conn:
            for entity, kind, name, preferred, core in batch:
                _insert(conn, entity, kind, name, preferred, core)
        count += len(batch)
        batch.clear()

    replaced = ox.NamedNode(DCT_IS_REPLACED_BY)
    # A replaced authority (Leader/05 x) says so in its record graph and keeps its names, as at ingest.
    authority = f"<{store.base}/authority/"
    for cls, kind in KINDS.items():
        for q in store._store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), ox.NamedNode(cls), ox.DefaultGraph()):
            if any(not str(r.graph_name).startswith(authority) for r in
                   store._store.quads_for_pattern(q.subject, replaced, None, None)):
                continue  # merged into another: found as that one (ingest takes its names out too)
            for p in PREFERRED[kind]:
                found = _literals(store, q.subject, p, ox.DefaultGraph())
                if found:
                    batch.append((q.subject.value, kind, found[0], True, True))
                    break
            if len(batch) >= 5000:
                flush()
    for q in store._store.quads_for_pattern(None, ox.NamedNode(T.MB_AUTHORITY_ID), None, None):
        if isinstance(q.graph_name, ox.NamedNode) and isinstance(q.subject, ox.NamedNode):
            batch += [(*r, False) for r in authority_rows(store, q.subject.value, q.graph_name.value)]
        if len(batch) >= 5000:
            flush()
    flush()
    return count
