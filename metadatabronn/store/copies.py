"""Copies: each record graph and each entity core as it was last loaded, compressed, in the
catalogue index (table ``copies``), so that a reader gets a record without walking pyoxigraph.
A copy holds N-Quads, or, for a record graph ingest wrote, its statements (:func:`.nquads.kept`).

Why: a record read out of pyoxigraph costs a dozen index seeks plus a dictionary look-up for
every IRI of every quad (terms are stored as hashes). At 250,000 records that is 2-5 ms a
record, most of the time of an export or an OAI-PMH page; the same record from its copy is one
SQLite read, a Zstandard decompression and a parse (about a tenth of that), whatever the store's
size. The store stays the truth: a copy is only ever a faster way to read what it holds.

Kept in step by whoever changes the store:
- ingest writes the copy of each record graph and of each core it loads, in the same
  transaction as the record's index row;
- catch-up drops the copies of what a change-log entry names (an edited entity, and the record
  graphs naming it), and a roll-back those of what the batch named; an edit drops the copies
  of the IRIs it names, and a wholesale drop all of them. Without a copy, a reader reads the
  store, so a dropped copy costs speed, never truth.

A reader uses a copy only if the index is in step with the reader's snapshot (its sequence is
at least the snapshot's) and the copy is no newer than the snapshot.

Copies are found by the fingerprint of their IRI (:mod:`.fingerprints`), one copy a
fingerprint, and the IRI is then compared: an index of the IRIs themselves was the most written
part of a load into a big store (a batch of 2,000 new records touched 9,000 of its pages at
240,000 records).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import zlib
from pathlib import Path
from time import perf_counter
from typing import Iterable

import pyoxigraph as ox
import zstandard

from ..mapping.terms import W_SUBJECT
from . import nquads
from .fingerprints import fingerprint
from .layout import RDF_TYPE

log = logging.getLogger(__name__)

_TABLE = "(id INTEGER PRIMARY KEY, h INTEGER NOT NULL, iri TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL)"
SCHEMA = (f"CREATE TABLE IF NOT EXISTS copies {_TABLE};\n"
          "CREATE UNIQUE INDEX IF NOT EXISTS copies_h ON copies (h);\n"
          "CREATE TABLE IF NOT EXISTS leaves (h INTEGER PRIMARY KEY, iri TEXT NOT NULL, seq INTEGER NOT NULL);\n")
# Set once ``leaves`` holds every core copy that is a leaf (:func:`fill_leaves`).
LEAVES_FLAG = "leaves"
# Zstandard at its default level: on the LC records' graphs (7.8 KB of N-Quads on average) it
# packs 5.6-fold in 20 µs and unpacks in 7, where zlib's fastest level packed 5.4-fold in 73 µs
# and unpacked in 19. Ingest packs every record's graph in its conversion worker, so the packing
# was an eighth of a record's conversion. Each frame carries a checksum, as a zlib stream does: a
# damaged copy is found, not parsed. Copies packed by zlib before stay readable (each body says
# by its first bytes which it is).
LEVEL = 3
_ZSTD = b"\x28\xb5\x2f\xfd"  # a Zstandard frame's magic number; a zlib stream begins 0x78
_codecs = threading.local()  # a compressor or decompressor serves one thread at a time


def pack(nquads: bytes) -> bytes:
    compressor = getattr(_codecs, "compressor", None)
    if compressor is None:
        compressor = _codecs.compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=True)
    return compressor.compress(nquads)


def unpack(body: bytes) -> bytes:
    """A body :func:`pack` made, or zlib made before it; ``CopyDamaged`` if it is neither."""
    try:
        if body[:4] == _ZSTD:
            decompressor = getattr(_codecs, "decompressor", None)
            if decompressor is None:
                decompressor = _codecs.decompressor = zstandard.ZstdDecompressor()
            return decompressor.decompress(body)
        return zlib.decompress(body)
    except (zlib.error, zstandard.ZstdError) as exc:
        raise CopyDamaged(str(exc)) from exc


class CopyDamaged(ValueError):
    """A packed body that cannot be unpacked (the reader reads the store instead)."""


def migrate(conn: sqlite3.Connection) -> None:
    """A copies table from before fingerprints (keyed by its IRIs) made into today's, rows kept
    (23 s for the 1.35 M copies of a 240,000-record store, once)."""
    columns = [c[1] for c in conn.execute("PRAGMA table_info(copies)")]
    if not columns or "h" in columns:
        return
    started = perf_counter()
    conn.create_function("mb_fingerprint", 1, fingerprint, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE copies_new {_TABLE}")
        conn.execute("INSERT INTO copies_new (h, iri, seq, body) SELECT mb_fingerprint(iri), iri, seq, body "
                     "FROM copies ORDER BY rowid")
        conn.execute("DROP TABLE copies")
        conn.execute("ALTER TABLE copies_new RENAME TO copies")
        # Two IRIs with one fingerprint keep one copy, the later (as put does): the other is read
        # from the store.
        conn.execute("DELETE FROM copies WHERE id NOT IN (SELECT max(id) FROM copies GROUP BY h)")
        conn.execute("CREATE UNIQUE INDEX copies_h ON copies (h)")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.info("copies keyed by fingerprint in %.1f s", perf_counter() - started)


_told = threading.Event()  # a damaged copy is reported once a process, then only in the debug log


def damaged(iri: str) -> None:
    """Say (once at warning level) that a copy could not be read."""
    level = logging.DEBUG if _told.is_set() else logging.WARNING
    _told.set()
    log.log(level, "the catalogue index's copy of %s cannot be read: read from the store instead "
                   "('metadatabronn reindex' writes the copies anew)", iri)


def unpacked(rows: Iterable[tuple[str, int, bytes]], upto: int) -> dict[str, bytes]:
    """The N-Quads of copies ``(iri, seq, body)`` no newer than ``upto``; a damaged one is left
    out (its IRI is then read from the store)."""
    out = {}
    for iri, seq, body in rows:
        if seq <= upto:
            try:
                out[iri] = unpack(body)
            except CopyDamaged:
                damaged(iri)
    return out


def select(conn: sqlite3.Connection, columns: str, iris: Iterable[str]) -> list[tuple]:
    """``iri`` and ``columns`` of the copies of these IRIs (those that have one)."""
    wanted = set(iris)
    hashes = list({fingerprint(i) for i in wanted})
    if not hashes:
        return []
    rows = conn.execute(f"SELECT iri, {columns} FROM copies WHERE h IN ({','.join('?' * len(hashes))})",
                        hashes).fetchall()
    return [r for r in rows if r[0] in wanted]  # (another IRI with the same fingerprint is not wanted)


def put(conn: sqlite3.Connection, items: Iterable[tuple[str, int, bytes, bytes | None]], base: str) -> None:
    """Copies of ``(iri, change-log sequence it was loaded at, N-Quads, the N-Quads packed or
    None)``, in place of any, in a store minting under ``base``. Ingest packs a record's graph in
    its conversion worker, so that the writer, which the whole load waits for, does not."""
    # One copy a fingerprint: an IRI's replaces its own, and, were two IRIs to share a
    # fingerprint, the other's (which is then read from the store: a lost copy costs speed only).
    # In fingerprint order: each page of the index is visited once a batch, not once a row.
    rows = sorted((fingerprint(iri), iri, seq, body, packed) for iri, seq, body, packed in items)
    conn.executemany("INSERT OR REPLACE INTO copies (h, iri, seq, body) VALUES (?, ?, ?, ?)",
                     [(h, iri, seq, packed or pack(body)) for h, iri, seq, body, packed in rows])
    # A leaf row stands for the copy of its fingerprint, as the copy does for its IRI.
    cores = [(h, iri, seq, leaf(body, base)) for h, iri, seq, body, _ in rows if "/record/" not in iri]
    conn.executemany("INSERT OR REPLACE INTO leaves (h, iri, seq) VALUES (?, ?, ?)",
                     [(h, iri, seq) for h, iri, seq, is_leaf in cores if is_leaf])
    conn.executemany("DELETE FROM leaves WHERE h = ?", [(h,) for h, _, _, is_leaf in cores if not is_leaf])


def drop(conn: sqlite3.Connection, iris: Iterable[str]) -> None:
    pairs = [(fingerprint(i), i) for i in iris]
    conn.executemany("DELETE FROM copies WHERE h = ? AND iri = ?", pairs)
    conn.executemany("DELETE FROM leaves WHERE h = ? AND iri = ?", pairs)


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM copies")
    conn.execute("DELETE FROM leaves")


# leaves: the cores that name no entity a record's reader follows --------------------------------

def follows(predicate: str, obj: str, base: str, *, in_record: bool = False) -> bool:
    """Whether a record's reader reads the core of the entity an IRI object names: the well's own
    entities (vocabulary terms have no core here), and, from the record's graph, subject concepts
    known by an authority's URI, whose label a new heading is written from."""
    return predicate != RDF_TYPE and (obj.startswith(base) or (in_record and predicate == W_SUBJECT))


def leaf(text: bytes, base: str) -> bool:
    """Whether a core's copy names no entity whose core a record's reader reads in turn
    (:func:`follows`): most cores (a work, an agent, a concept; not an expression, which names
    its work). A reader of a record nobody edited then need not read a leaf's copy at all: of
    the 6.3 cores a record of the LC Books 2016 records names, 5.2 are leaves."""
    if plainly_leaf(text, base):
        return True
    try:
        return not any(not is_literal and follows(p, o, base) for _, p, o, is_literal in nquads.statements(text))
    except SyntaxError:
        return False


def plainly_leaf(text: bytes, base: str) -> bool:
    """Whether a core's N-Quads say without being parsed that it is a leaf: no IRI under the base
    in an object's place (a core is in the default graph: no graph IRI follows its objects)."""
    return text[:len(nquads.KEPT)] != nquads.KEPT and b"> <" + base.encode() not in text


def fill_leaves(conn: sqlite3.Connection, base: str) -> None:
    """Note the leaves among the copies of an index from before leaves were kept (the copies of
    the cores are read once: 1.1 M of them in a store of 250,000 records), or of a new index."""
    if conn.execute("SELECT value FROM meta WHERE key = ?", (LEAVES_FLAG,)).fetchone() is not None:
        return
    started, found = perf_counter(), 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM leaves")
        batch = []
        for h, iri, seq, body in conn.execute("SELECT h, iri, seq, body FROM copies WHERE iri NOT LIKE '%/record/%'"):
            try:
                is_leaf = leaf(unpack(body), base)
            except CopyDamaged:
                continue
            if is_leaf:
                batch.append((h, iri, seq))
        for start in range(0, len(batch), 10_000):
            conn.executemany("INSERT INTO leaves (h, iri, seq) VALUES (?, ?, ?)", batch[start:start + 10_000])
        found = len(batch)
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (LEAVES_FLAG,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if found:
        log.info("%d leaves noted among the copies in %.1f s", found, perf_counter() - started)


class View:
    """The copies a read-only snapshot may use: ``upto`` is its last change-log sequence.
    One SQLite connection a thread (request threads read side by side)."""

    # Read through the OS's page cache, not SQLite's own copy of each page: as much of the file as
    # SQLite maps at most (2 GiB). Pages past the map go through a cache of 2 MB a connection:
    # the 250k catalogue is 1.6 GB, and with a 1 GiB map an export of it ran at 3,137-3,409
    # records/s against 3,366-3,613 (four alternated pairs), a leaf's look-up 3.2-4.8 µs against 2.0-2.4.
    MMAP = 0x7FFF0000

    def __init__(self, file: Path, upto: int):
        self.file, self.upto = file, upto
        self._local = threading.local()
        # Once the index has caught up with the snapshot it stays so: later writes only drop
        # copies or add ones with later sequence numbers, which :meth:`fetch` passes over.
        self._in_step = False

    def _conn(self) -> sqlite3.Connection | None:
        conn = getattr(self._local, "conn", False)
        if conn is False:
            conn = None
            if self.file.exists():
                try:
                    conn = sqlite3.connect(f"file:{self.file}?mode=ro", uri=True, isolation_level=None)
                    conn.execute(f"PRAGMA mmap_size={self.MMAP}")
                    conn.execute("SELECT h FROM copies LIMIT 1").fetchall()
                except sqlite3.Error:  # an index from before copies were kept: the store is read
                    conn = None
            self._local.conn = conn
        return conn

    def fetch(self, iris: list[str]) -> dict[str, list[ox.Quad]]:
        """The copies of these record graphs or cores that the snapshot may use, as quads (an
        IRI left out: read the store)."""
        # As the store holds them: each statement once (a bulk load merges repeats).
        return self._parsed(iris, nquads.quads)

    def texts(self, iris: list[str]) -> dict[str, bytes]:
        """As :meth:`fetch`, each copy's N-Quads unparsed."""
        conn = self._conn()
        if conn is None or not iris:
            return {}
        try:
            if not self._caught_up(conn):
                return {}
            return unpacked(select(conn, "seq, body", iris), self.upto)
        except sqlite3.Error:
            return {}

    def statements(self, iris: list[str]) -> dict[str, list[tuple[str, str, str, bool]]]:
        """As :meth:`fetch`, each copy as plain statements (:func:`.nquads.statements`)."""
        return self._parsed(iris, nquads.statements)

    def _parsed(self, iris: list[str], parse) -> dict:
        out = {}
        for iri, text in self.texts(iris).items():
            try:
                out[iri] = parse(text)
            except SyntaxError:  # a damaged copy: read the store
                damaged(iri)
        return out

    def changes(self, iris: list[str]) -> dict[str, str | None] | None:
        """The time of the latest change-log entry about each of these shared entities (None:
        never edited), off the index's ``changed`` table; None if the index cannot say for
        this snapshot (behind it, or an entity changed again since: read the store)."""
        conn = self._conn()
        if conn is None or not self._caught_up(conn):
            return None
        try:
            rows = conn.execute(f"SELECT iri, seq, time FROM changed WHERE iri IN ({','.join('?' * len(iris))})",
                                iris).fetchall()
        except sqlite3.Error:
            return None
        found: dict[str, str | None] = dict.fromkeys(iris)
        for iri, seq, time in rows:
            if seq > self.upto:  # its change before this one is not kept: the store knows it
                return None
            found[iri] = time
        return found

    def sequences(self, iris: list[str]) -> dict[str, int] | None:
        """The sequence each of these IRIs' copies was loaded at, for those with a copy the
        snapshot may use; None if the index cannot say for this snapshot."""
        if not iris:
            return {}
        conn = self._conn()
        try:
            if conn is None or not self._caught_up(conn):
                return None
            rows = select(conn, "seq", iris)
        except sqlite3.Error:
            return None
        return {iri: seq for iri, seq in rows if seq <= self.upto}

    def leaves(self, iris: list[str]) -> set[str]:
        """Those of these cores whose copy the snapshot may use and that are leaves (:func:`leaf`):
        a lookup in a table of three integers' width a row, where a copy is a row of a table of
        1.6 GB at 250,000 records. Empty if the index cannot say."""
        conn = self._conn()
        if conn is None or not iris:
            return set()
        wanted = set(iris)
        hashes = list({fingerprint(i) for i in wanted})
        try:
            if not self._caught_up(conn):
                return set()
            rows = conn.execute(f"SELECT iri, seq FROM leaves WHERE h IN ({','.join('?' * len(hashes))})",
                                hashes).fetchall()
        except sqlite3.Error:  # an index from before leaves were kept
            return set()
        return {iri for iri, seq in rows if seq <= self.upto and iri in wanted}

    def knows_record_edits(self) -> bool:
        """Whether ``changed`` holds every edit of a manifestation (:data:`.catalogue.RECORD_EDITS`),
        so that a manifestation absent from it was last changed by its record's load."""
        known = getattr(self, "_record_edits", None)
        if known is None:
            conn = self._conn()
            known = False
            if conn is not None:
                try:
                    row = conn.execute("SELECT value FROM meta WHERE key = 'record_edits'").fetchone()
                    known = row is not None and row[0] == "1"
                except sqlite3.Error:
                    known = False
            self._record_edits = known
        return known

    def _caught_up(self, conn: sqlite3.Connection) -> bool:
        if not self._in_step:
            row = conn.execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()
            self._in_step = row is not None and int(row[0]) >= self.upto
        return self._in_step

    def quads(self, iri: str) -> list[ox.Quad] | None:
        """The copy of one record graph or core as quads, or None (read the store instead)."""
        return self.fetch([iri]).get(iri)
