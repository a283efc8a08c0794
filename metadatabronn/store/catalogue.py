"""The catalogue index: a SQLite file beside the store, ``<store>/catalogue.sqlite3``, kept in step
with it so that harvesting and search never read the whole store.

- ``records``: one row per record graph (identifier, graph, manifestation, the change-log sequence
  and datestamp of its latest change or of a shared entity it names, deleted, source set);
- ``changed``: the latest change of each shared entity edited in the well, and of each
  manifestation changed after its record's load (a merge, an edit naming it);
- ``copies``: each record graph and entity core as last loaded, compressed (:mod:`.copies`);
- ``activities``: the change feed's log (:mod:`.feed`), kept through a rebuild;
- ``meta``: the change-log sequence the index is in step with, and the schema version;
- the full-text tables of :mod:`.search`, fed with a :class:`~.search.Text` per manifestation.

The writing process owns writes (WAL, so server processes read beside it, read-only). Ingest
writes a batch's rows in one transaction with ``meta.sequence``, between the bulk load and the end
of the batch; anything else (an edit in the well, an index older than the store, one missing) is
made good by :func:`catch_up`, which reads the change-log entries the index has not seen one by one
by their IRI (:mod:`.catchup`). A rebuild is a catch-up from nothing.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import StoreError
from . import copies, feed, minted
from .checkpointer import Checkpointer

try:  # the full-text tables; the index works without them
    from . import search
except ImportError:  # pragma: no cover - an install without search
    search = None

log = logging.getLogger(__name__)

FILE = "catalogue.sqlite3"
VERSION = "1"
CHUNK = 2000  # change-log entries read per transaction of a catch-up
# The writer's page cache: a bound, taken only as pages are read. An ingest fills whatever bound
# there is once the index outgrows it: at 256 MiB, SQLite held 55 MiB of the main process at 10,000
# records and 255 MiB from 40,000 on: some 200 of the 550 MiB its peak grew by from 10,000 to
# 250,000 records.
# The pages a batch's inserts come back to (the B-trees' inner pages) fit in far less; the rest are
# read again from the OS's page cache.
WRITE_CACHE_KIB = 64 * 1024
# Set in an index that has kept, from its start, each edit of a manifestation (a change-log entry
# about it later than its record's load) in ``changed``: a reader may then take a record's latest
# change from there instead of reading the change log (indexes older than this rule do not).
RECORD_EDITS = "record_edits"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, graph TEXT NOT NULL, manifestation TEXT NOT NULL, seq INTEGER NOT NULL,
    datestamp TEXT NOT NULL, deleted INTEGER NOT NULL, source TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_source ON records (source, id);
CREATE INDEX IF NOT EXISTS records_datestamp ON records (datestamp);
CREATE TABLE IF NOT EXISTS changed (iri TEXT PRIMARY KEY, seq INTEGER NOT NULL, time TEXT NOT NULL) WITHOUT ROWID;
"""

_SET_CHARS = re.compile(r"[^A-Za-z0-9\-_.!~*'()]")
_PLAIN_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@dataclass(slots=True)
class Row:
    id: str
    graph: str
    manifestation: str
    seq: int
    datestamp: str
    deleted: bool
    source: str | None

    def values(self) -> tuple:
        return (self.id, self.graph, self.manifestation, self.seq, self.datestamp, int(self.deleted), self.source)


# what a record's row and text are made of, from either side -----------------------------------

def set_name(source: str | None) -> str | None:
    """A source file's name as an OAI-PMH setSpec part (``source:{name}``)."""
    if not source:
        return None
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    return _SET_CHARS.sub("_", name) or "unknown"


def stamp(when: str) -> str:
    """An xsd:dateTime as a UTC second, ``YYYY-MM-DDThh:mm:ssZ``: text that sorts as time does."""
    if _PLAIN_STAMP.match(when):
        return when[:19] + "Z"
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return "1970-01-01T00:00:00Z"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_text(manifestation: str, work: str | None, titles, creators, wtitle: str | None):
    return search.Text(manifestation, work, tuple(titles), tuple(creators), wtitle)


# the file -------------------------------------------------------------------------------------

def path_of(store_path: str | Path) -> Path:
    return Path(store_path) / FILE


class Catalogue:
    """The index of one store. ``read_only``: a server's view (the file must exist)."""

    def __init__(self, store_path: str | Path, *, read_only: bool = False):
        self.path = path_of(store_path)
        self.read_only = read_only
        self._lock = threading.RLock()  # one connection, shared by the writer thread or request threads
        self.recent = None
        self._checkpointer: Checkpointer | None = None
        try:
            if read_only:
                if not self.path.exists():
                    raise StoreError(f"the store at {store_path} has no catalogue index ({FILE}): open it for "
                                     f"writing once (any ingest or update does), or run 'metadatabronn reindex'")
                self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False,
                                            isolation_level=None)
                # A server's: its searches remember what they found while the index stays as it is.
                self.recent = search.Recent() if search is not None else None
                # Read once now: the first read makes the WAL's files if the writer left none, and
                # that must happen before the server notes how the store's files stand.
                self.conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            else:
                self.created = not self.path.exists()
                self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                # Each batch inserts into B-trees keyed by text (identifiers, search keys, copies)
                # all over their range: with SQLite's default 2 MB of cache, a big store's index
                # pages were read again for every few rows.
                self.conn.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
                # Checkpoints are made beside this connection, not in its commits (:mod:`.checkpointer`).
                self.conn.execute("PRAGMA wal_autocheckpoint=0")
                self._checkpointer = Checkpointer(self.path)
                copies.migrate(self.conn)  # (before its schema names a column a table from before lacks)
                self.conn.executescript(_SCHEMA + copies.SCHEMA + feed.SCHEMA + minted.SCHEMA)
                if search is not None:
                    with self.transaction():
                        search.create(self.conn)
                if self.get_meta("version") is None:
                    with self.transaction():
                        self.set_meta("version", VERSION)
                        self.set_meta("sequence", "0")
                        self.set_meta(RECORD_EDITS, "1")
                        self.set_meta(copies.LEAVES_FLAG, "1")  # (no copies yet: each put notes its leaves)
        except sqlite3.Error as exc:
            if self._checkpointer is not None:
                self._checkpointer.close()
            raise StoreError(f"cannot open the catalogue index {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._lock:
            self.conn.close()

    # meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def sequence(self) -> int:
        """The change-log sequence number through which the index is in step with the store."""
        return int(self.get_meta("sequence") or 0)

    def transaction(self):
        return _Transaction(self)

    # writing -------------------------------------------------------------------------------
    def write(self, rows: Iterable[Row], texts: Iterable = (), removed: Iterable[str] = (),
              drop: Iterable[str] = (), sequence: int | None = None, *,
              copied: Iterable[tuple[str, int, bytes, bytes | None]] = (), stale: Iterable[str] = (),
              activities: Iterable[feed.Item] = (), base: str = "") -> None:
        """Rows (inserted or replaced), texts, manifestations whose text goes, row ids that go,
        copies written (:mod:`.copies`, of a store minting under ``base``: without it only a
        core naming no IRI is taken for a leaf, which costs readers speed only) and IRIs whose
        copy goes, the change feed's activities (:mod:`.feed`), and the sequence the index is then in step with: one transaction. The
        feed never runs ahead of that sequence (a roll-back's activities go with it)."""
        with self.transaction():
            if sequence is not None:
                feed.trim(self.conn, sequence)
            feed.append(self.conn, activities)
            copies.drop(self.conn, stale)
            copies.put(self.conn, copied, base)
            self.conn.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  [r.values() for r in rows])
            self.conn.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in drop])
            if search is not None:
                removed = list(removed)
                if removed:
                    search.remove(self.conn, removed)
                texts = list(texts)
                if texts:
                    search.put(self.conn, texts)
            if sequence is not None:
                self.set_meta("sequence", str(sequence))

    def optimize(self) -> None:
        """Merge the full-text index into one segment (:func:`.search.optimize`)."""
        if search is not None:
            with self.transaction() as conn:
                search.optimize(conn)

    def changed_after(self, iri: str, sequence: int) -> bool:
        """Whether the index knows of a change of ``iri`` (an entity edited in the well, or a
        manifestation's record) later than change-log entry ``sequence``: a view of that age
        shows it as it was."""
        with self._lock:
            r = self.conn.execute("SELECT seq FROM changed WHERE iri = ?", (iri,)).fetchone()
            if r is None and "/manifestation/" in iri:
                r = self.conn.execute("SELECT seq FROM records WHERE id = ?", (iri.rsplit("/", 1)[-1],)).fetchone()
        return r is not None and r[0] > sequence

    def row(self, record_id: str) -> Row | None:
        with self._lock:
            r = self.conn.execute("SELECT id, graph, manifestation, seq, datestamp, deleted, source FROM records "
                                  "WHERE id = ?", (record_id,)).fetchone()
        return Row(*r[:5], bool(r[5]), r[6]) if r else None

    def clear(self) -> None:
        with self.transaction():
            if search is not None:
                search.remove(self.conn, [m for (m,) in self.conn.execute("SELECT manifestation FROM records")])
            self.conn.execute("DELETE FROM records")
            self.conn.execute("DELETE FROM changed")
            copies.clear(self.conn)
            for table in minted.TABLES:  # rebuilt from the store before the next load
                self.conn.execute(f"DELETE FROM {table}")
            self.set_meta(minted.FLAG, "0")
            self.set_meta("sequence", "0")
            self.set_meta(RECORD_EDITS, "1")

    # reading (harvesting) ------------------------------------------------------------------
    def page(self, after: str, upto: int | None, limit: int, *, since: str | None = None, until: str | None = None,
             late: str | None = None, source: str | None = None, sourced: bool = False) -> list[Row]:
        """Rows in identifier order after ``after`` whose latest change is at or before sequence
        ``upto``: with ``since``, datestamps from then; with ``until``, up to then, or (``late``)
        from then on; with ``source`` only that set, with ``sourced`` only rows with a source.

        Read in identifier order, dates checked row by row, unless the dates select few rows:
        then from the datestamp index, and sorted. (Left to itself, SQLite takes the index for
        any date range and sorts every row in it, each page.)"""
        by_date = (since is not None or until is not None) and self._few(since, until, late)
        sql, args = self._where(after, upto, since, until, late, source, sourced, by_date)
        with self._lock:
            rows = self.conn.execute("SELECT id, graph, manifestation, seq, datestamp, deleted, source FROM records"
                                     f" WHERE {sql} ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        return [Row(*r[:5], bool(r[5]), r[6]) for r in rows]

    FEW = 5000  # rows a date range may select and still be read through the datestamp index

    def _few(self, since, until, late) -> bool:
        ranges = [(since or "", until if until is not None else "~")]
        if late is not None and until is not None:
            ranges.append((max(late, since or ""), "~"))
        seen = 0
        with self._lock:
            for low, high in ranges:
                seen += self.conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE datestamp >= ? AND "
                                          "datestamp <= ? LIMIT ?)", (low, high, self.FEW)).fetchone()[0]
        return seen < self.FEW

    def count(self, upto: int | None, *, since=None, until=None, late=None, source=None, sourced=False) -> int:
        sql, args = self._where("", upto, since, until, late, source, sourced)
        with self._lock:
            return self.conn.execute(f"SELECT COUNT(*) FROM records WHERE {sql}", args).fetchone()[0]

    @staticmethod
    def _where(after, upto, since, until, late, source, sourced, by_date: bool = True) -> tuple[str, list]:
        parts, args = [], []
        if after:
            parts.append("id > ?")
            args.append(after)
        if upto is not None:
            parts.append("seq <= ?")
            args.append(upto)
        if source is not None:
            parts.append("source = ?")
            args.append(source)
        elif sourced:
            parts.append("source IS NOT NULL")
        date = "datestamp" if by_date else "+datestamp"  # "+": a term no index answers
        if since is not None:
            parts.append(f"{date} >= ?")
            args.append(since)
        if until is not None:
            if late is not None:
                parts.append(f"({date} <= ? OR {date} >= ?)")
                args += [until, late]
            else:
                parts.append(f"{date} <= ?")
                args.append(until)
        return " AND ".join(parts) or "1", args

    def sources(self) -> list[str]:
        """Every source set, one index look-up each (DISTINCT would read the whole index)."""
        found: list[str] = []
        with self._lock:
            while True:
                (nxt,) = self.conn.execute("SELECT MIN(source) FROM records WHERE source > ?",
                                           (found[-1] if found else "",)).fetchone()
                if nxt is None:
                    return found
                found.append(nxt)

    def feed(self, upto: int) -> feed.Log:
        """The change feed as a snapshot whose last change-log entry is ``upto`` sees it."""
        return feed.Log(self.conn, upto, self._lock)

    def earliest(self) -> str | None:
        with self._lock:
            return self.conn.execute("SELECT MIN(datestamp) FROM records").fetchone()[0]


class _Transaction:
    def __init__(self, cat: Catalogue):
        self.cat = cat

    def __enter__(self):
        self.cat._lock.acquire()
        self.cat.conn.execute("BEGIN IMMEDIATE")
        return self.cat.conn

    def __exit__(self, kind, exc, tb):
        try:
            self.cat.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        except sqlite3.Error as failed:  # a COMMIT that found the disk full, above all
            exc = exc or failed
        finally:
            self.cat._lock.release()
        if self.cat._checkpointer is not None:
            self.cat._checkpointer.nudge()
        if isinstance(exc, sqlite3.Error):  # said as the store says a failed write (a full disk: so)
            from .writing import store_failure  # (writing reads through this module)

            raise store_failure("cannot write the catalogue index", exc) from exc
        return False


def rows_of(cat: Catalogue) -> Iterator[tuple]:
    """Every row, in identifier order (for checks and tests)."""
    with cat._lock:
        yield from cat.conn.execute("SELECT id, graph, manifestation, seq, datestamp, deleted, source FROM records "
                                    "ORDER BY id").fetchall()
