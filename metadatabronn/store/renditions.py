"""Renditions: each record as an export last encoded it, with a stamp of what it was made from,
in a file of their own beside the catalogue index (``renditions.sqlite``).

Why: reading a record and writing it as MARC costs about 2 ms of CPU, most of an export's time,
and a record nobody touched since the last export comes out as the same bytes. With its
rendition kept, a later export of it is one SQLite read and a stamp compared.

The stamp is a digest of everything the record's bytes depend on, computed again at every read
from the catalogue index, in step with the reader's snapshot:
- the copy sequence of the record's graph and of each entity core it read, or that the core
  had no copy (a reload gives a copy a new sequence, a dropped or a new copy is a change; a
  record graph without a copy is never stamped). Every load writes the copies of what it
  writes, and everything else that changes an entity is logged of it, as below;
- the latest change time of the manifestation and of each of those entities (an edit, a merge,
  an authority's load or deletion is logged of the entity);
- the salt: the store's base, whether it holds authorities, the format and options, and the
  code's fingerprint (another version of the mapping writes other bytes).
A rendition whose stamp differs is not used; the record is read and written again, and its
rendition replaced. Only readers write this file, never the writer: it is a cache, and removing
it costs time, never truth.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path
from typing import Iterable, NamedTuple

from . import copies
from .copies import CopyDamaged, pack, unpack

log = logging.getLogger(__name__)

FILE = "renditions.sqlite"
SCHEMA = ("CREATE TABLE IF NOT EXISTS renditions (graph TEXT NOT NULL, format TEXT NOT NULL, reads TEXT NOT NULL, "
          "stamp BLOB NOT NULL, body BLOB NOT NULL, PRIMARY KEY (graph, format));")


class Reads(NamedTuple):
    """What one record's MARC was made from: its graph, its manifestation, the cores it read."""

    graph: str
    manifestation: str
    cores: tuple[str, ...]


class Renditions:
    """The renditions of one store in one format, for one reader's snapshot (``view``)."""

    def __init__(self, directory: Path, view: copies.View, fmt: str, salt: str):
        self.file = Path(directory) / FILE
        self.view, self.format = view, fmt
        self.salt = f"{salt}\0{fmt}".encode()
        self._connection: sqlite3.Connection | None | bool = False

    def _conn(self) -> sqlite3.Connection | None:
        if self._connection is False:
            try:
                conn = sqlite3.connect(self.file, isolation_level=None, timeout=30)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")  # a lost rendition is made again
                conn.execute(SCHEMA)
                self._connection = conn
            except sqlite3.Error as exc:  # a store on a read-only disk: export without them
                log.info("renditions not kept (%s): %s", self.file, exc)
                self._connection = None
        return self._connection

    def close(self) -> None:
        if self._connection:
            self._connection.close()
        self._connection = False

    def stamps(self, reads: Iterable[Reads]) -> dict[str, bytes]:
        """The stamp of each record whose reads the index can vouch for in this snapshot."""
        reads = list(reads)
        if not reads:
            return {}
        sequences = self.view.sequences(sorted({r.graph for r in reads} | {c for r in reads for c in r.cores}))
        times = self.view.changes(sorted({r.manifestation for r in reads} | {c for r in reads for c in r.cores}))
        if sequences is None or times is None:
            return {}
        out = {}
        for r in reads:
            if r.graph not in sequences:
                continue
            h = hashlib.blake2b(self.salt, digest_size=16)
            h.update(f"\0{r.graph}\0{sequences[r.graph]}\0{r.manifestation}\0{times[r.manifestation] or ''}".encode())
            for c in r.cores:
                h.update(f"\0{c}\0{sequences.get(c, '-')}\0{times[c] or ''}".encode())
            out[r.graph] = h.digest()
        return out

    def lookup(self, graphs: list[str]) -> dict[str, bytes]:
        """The kept bytes of those of ``graphs`` whose stamp still holds."""
        conn = self._conn()
        if conn is None or not graphs:
            return {}
        try:
            rows = conn.execute(f"SELECT graph, reads, stamp, body FROM renditions WHERE format = ? "
                                f"AND graph IN ({','.join('?' * len(graphs))})", [self.format, *graphs]).fetchall()
        except sqlite3.Error as exc:
            log.info("renditions not read: %s", exc)
            return {}
        kept = {}
        for graph, reads, stamp, body in rows:
            manifestation, *cores = reads.split("\n") if reads else [""]
            kept[graph] = (Reads(graph, manifestation, tuple(cores)), stamp, body)
        now = self.stamps(r for r, _, _ in kept.values())
        out = {}
        for g, (_, stamp, body) in kept.items():
            if now.get(g) == stamp:
                try:
                    out[g] = unpack(body)
                except CopyDamaged:  # a damaged row: the record is written anew, and the row replaced
                    log.info("rendition of %s unreadable: written anew", g)
        return out

    def keep(self, made: list[tuple[Reads, bytes]]) -> int:
        """Keep these records' bytes, with the stamp of what they were made from; how many were kept."""
        conn = self._conn()
        if conn is None or not made:
            return 0
        now = self.stamps(r for r, _ in made)
        rows = [(r.graph, self.format, "\n".join((r.manifestation, *r.cores)), now[r.graph], pack(body))
                for r, body in made if r.graph in now]
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT OR REPLACE INTO renditions VALUES (?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:  # another reader holding the file too long: these are made again
            log.info("renditions not kept: %s", exc)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return 0
        return len(rows)
