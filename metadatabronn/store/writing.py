"""Writing to the store: bulk batches marked pending, their roll-back, the change log's entries,
and the catalogue index kept in step with them (:mod:`.catalogue`)."""

from __future__ import annotations

import errno
import io
import logging
import os
import sqlite3
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from ..errors import StoreError, StoreFullError
from ..rdf import iri, literal, XSD_DATETIME
from . import catalogue, catchup, copies, names
from .layout import AS_OBJECT, AS_PUBLISHED, CHANGE_TYPES, MB_LAST_SEQUENCE, MB_PENDING, MB_SEQUENCE, RDF_TYPE

log = logging.getLogger(__name__)

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


class Writing:
    """The write side of :class:`~metadatabronn.store.Store` (``self._store`` is pyoxigraph's)."""

    _store: ox.Store
    path: Path
    base: str
    changes_graph: str
    pending_graph: str
    read_only: bool
    catalogue: catalogue.Catalogue | None
    batched_reads: bool
    _last_sequence: int | None

    def _sequence_update(self, last: int, previous: int | None = None) -> str:
        """The update that makes ``last`` the change log's last number. ``previous``: the number
        it replaces, when the caller read it in this write (one writer: nothing moves it
        meanwhile), so that it is deleted by its key; a pattern would step over every number
        replaced since compaction (1 ms of a write after 5,000 writes, and growing)."""
        cg = self.changes_graph
        self._last_sequence = last  # next_sequence's guess: checked before it is believed
        if previous is not None:
            drop = f"DELETE DATA {{ GRAPH <{cg}> {{ <{cg}> <{MB_LAST_SEQUENCE}> \"{previous}\"^^<{XSD_INTEGER}> }} }}"
        else:
            drop = f"DELETE WHERE {{ GRAPH <{cg}> {{ <{cg}> <{MB_LAST_SEQUENCE}> ?n }} }}"
        return (f"{drop} ;\n"
                f"INSERT DATA {{ GRAPH <{cg}> {{ <{cg}> <{MB_LAST_SEQUENCE}> \"{last}\"^^<{XSD_INTEGER}> }} }}")

    # the catalogue index -----------------------------------------------------------------------
    def _open_catalogue(self) -> None:
        """The index beside the store, for the writer: made if missing, caught up if behind
        (unless a load cut short is to be rolled back first: that catches up after)."""
        self.catalogue = catalogue.Catalogue(self.path)
        with self.catalogue._lock:
            copies.fill_leaves(self.catalogue.conn, self.base)  # (an index from before leaves were kept)
        if self.catalogue.created:
            log.info("the store at %s has no catalogue index yet: building it from the change log", self.path)
        if not self.pending():
            catchup.timed_catch_up(self, self.catalogue)

    def catch_up(self, upto: int | None = None) -> int:
        """Bring the catalogue index in step with the change log (as far as entry ``upto``, the
        last one, when the caller has just written it); how many entries it read."""
        if self.catalogue is None:
            return 0
        return catchup.timed_catch_up(self, self.catalogue, upto)

    def reindex(self) -> int:
        """Rebuild the catalogue index from the change log; how many entries it read."""
        if self.catalogue is None:
            raise StoreError("the store is open read-only: its catalogue index cannot be rebuilt")
        read = catchup.rebuild(self, self.catalogue)
        names.rebuild(self, self.catalogue)  # agents' names, read from the store as the rows are
        self.catalogue.optimize()  # written in many transactions: one segment each
        return read

    FORGET_LIMIT = 50_000

    def graphs_naming_any(self, iri: str, limit: int | None = None) -> list[str]:
        """The named graphs with a statement whose object is ``iri``. Asked of the query engine:
        an entity edited often is named by as many change-log entries, each of which a loop
        over the statements here would make a Python object of."""
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return []
        text = f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p {node} }} }}" + (f" LIMIT {limit}" if limit else "")
        return [row["g"].value for row in self._store.query(text)]

    def forget_copies(self, named: Iterable[str], *, everything: bool = False, only: Iterable[str] = ()) -> None:
        """After an edit: the copies (:mod:`.copies`) of the IRIs it names and of the record
        graphs naming them go, or all of them after a drop of whole graphs. What an edit changes
        without naming it is as unknown to the copies as to the change log. The copies of
        ``only`` go too, without looking for what names them (the caller knows it)."""
        if self.catalogue is None:
            return
        stale: set[str] = set(only)
        for value in () if everything else named:
            stale.add(value)
            for g in self.graphs_naming_any(value, self.FORGET_LIMIT + 1):
                stale.add(g)
                if len(stale) > self.FORGET_LIMIT:  # a class or a vocabulary term: cheaper to drop all
                    everything = True
                    break
            if everything:
                break
        with self.catalogue.transaction() as conn:
            if everything:
                copies.clear(conn)
            else:
                copies.drop(conn, stale)

    def refill_copies(self) -> int:
        """Write the copies of records and entities the index lacks (:mod:`.refill`); how many."""
        if self.catalogue is None:
            raise StoreError("the store is open read-only: its copies cannot be written")
        from .refill import refill

        done = [0]

        def progress(n: int) -> None:
            done[0] += n
            if done[0] % 50_000 < n:
                log.info("copies: %d records looked at", done[0])

        return refill(self, self.catalogue, progress)

    # pending loads ---------------------------------------------------------------------------
    def pending(self) -> set[str]:
        """What a bulk load that did not finish was writing: graphs and change entries."""
        return {iri for q in self._store.quads_for_pattern(
            None, ox.NamedNode(MB_PENDING), None, ox.NamedNode(self.pending_graph))
            for iri in q.object.value.split()}

    def roll_back(self) -> int:
        """Remove everything an interrupted bulk load wrote; returns how many items it named.

        Its records are then simply absent (not current), so loading the same input again
        writes them whole.
        """
        pending = self.pending()
        if self.batched_reads:
            self._roll_back_in_groups(sorted(pending))
        else:
            changes = ox.NamedNode(self.changes_graph)
            for value in pending:
                node = ox.NamedNode(value)
                if self._store.contains_named_graph(node):  # a record graph
                    self._store.remove_graph(node)
                for graph in (changes, ox.DefaultGraph()):  # a change entry, an entity core
                    for q in list(self._store.quads_for_pattern(node, None, None, graph)):
                        self._store.remove(q)
        self._store.clear_graph(ox.NamedNode(self.pending_graph))
        if self.catalogue is not None and pending:
            # The batch's rows may have been indexed before the load was cut short: the graphs
            # it named are indexed again as they now are (gone, mostly), then the rest caught up.
            catchup.rederive(self, self.catalogue, pending)
            catchup.timed_catch_up(self, self.catalogue)
        return len(pending)

    def _roll_back_in_groups(self, pending: list[str], group: int = 200) -> None:
        """The roll-back on a store on a server, a group of items at a time: their graphs
        dropped in one update (dropping a graph that does not exist is a no-op, so each item's
        graph is dropped whatever the item is), then their change entries and entity cores read
        in two queries and removed in one ``DELETE DATA`` (a look-up an item and a request a
        quad took 4 s for an 80-record batch on Virtuoso). Removed as read back, not by
        ``DELETE … WHERE``: Virtuoso keeps an ``xsd:dateTime`` with a fraction of a second that
        such an update has bound (a change entry's ``as:published``)."""
        cg = ox.NamedNode(self.changes_graph)
        for i in range(0, len(pending), group):
            items = pending[i:i + group]
            values = " ".join(f"<{v}>" for v in items)
            self._store.update(" ;\n".join(f"DROP SILENT GRAPH <{v}>" for v in items))
            found = [ox.Quad(r["s"], r["p"], r["o"], cg) for r in self._store.query(
                f"SELECT ?s ?p ?o WHERE {{ GRAPH <{cg.value}> {{ VALUES ?s {{ {values} }} ?s ?p ?o }} }}")]
            found += [ox.Quad(r["s"], r["p"], r["o"], ox.DefaultGraph()) for r in self._store.query(
                f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} ?s ?p ?o }}")]
            if found:
                self._store.remove_many(found)

    # writing -----------------------------------------------------------------------------
    def _mark(self, batch: int | None) -> ox.NamedNode:
        return ox.NamedNode(self.pending_graph if batch is None else f"{self.pending_graph}/{batch}")

    def mark_pending(self, iris: Iterable[str], batch: int | None = None) -> None:
        """Name, in one write, what the next bulk load will write (one literal: a quad per
        item would cost as much as a tenth of the load itself). ``batch`` tells two loads under
        way apart (one loading while the one before is indexed); a roll-back takes every mark."""
        pg = ox.NamedNode(self.pending_graph)
        try:
            self._store.add(ox.Quad(self._mark(batch), ox.NamedNode(MB_PENDING), ox.Literal("\n".join(iris)), pg))
        except OSError as exc:
            raise store_failure("cannot write to the store", exc) from exc

    def clear_pending(self, last_sequence: int | None = None, counts: dict[str, int] | None = None,
                      batch: int | None = None) -> None:
        """The bulk load under way (or the one ``batch`` names) is whole: its pending mark goes,
        and the last change-log sequence number it used and the entity counts after it are kept,
        in one transaction."""
        if batch is None:
            text = f"CLEAR SILENT GRAPH <{self.pending_graph}>"
        else:
            text = f"DELETE WHERE {{ GRAPH <{self.pending_graph}> {{ <{self._mark(batch).value}> ?p ?o }} }}"
        if last_sequence is not None:
            text = self._sequence_update(last_sequence) + " ;\n" + text
        if counts is not None:
            text = self._counts_update(counts) + " ;\n" + text
        try:
            self._store.update(text)
        except OSError as exc:
            raise store_failure("cannot write to the store", exc) from exc

    def drop_graphs(self, graphs: Iterable[str]) -> None:
        try:
            for g in graphs:
                node = ox.NamedNode(g)
                if self._store.contains_named_graph(node):
                    self._store.remove_graph(node)
        except OSError as exc:
            raise store_failure("cannot write to the store", exc) from exc

    def bulk_load(self, nquads: bytes | list[bytes]) -> None:
        """Load N-Quads (UTF-8) fast: one text, or its parts in order (read one after another,
        never joined: a batch's parts are tens of megabytes, held already by the batch). Not
        transactional: callers mark the batch pending first."""
        try:
            source = nquads
            if isinstance(nquads, list):  # (a SPARQL server's loader takes one text)
                source = b"".join(nquads) if self.batched_reads else _Parts(nquads)
            self._store.bulk_load(input=source, format=ox.RdfFormat.N_QUADS, lenient=True)
        except (SyntaxError, OSError) as exc:
            raise store_failure("bulk load failed", exc) from exc

    def change_iri(self, seq: int) -> str:
        return f"{self.base}/change/{seq}"

    def change_quads(self, seq: int, kind: str, obj: str, when: str) -> str:
        c = f"<{self.change_iri(seq)}>"
        g = f" <{self.changes_graph}> .\n"
        return (f"{c} <{RDF_TYPE}> <{CHANGE_TYPES[kind]}>{g}"
                f"{c} {iri(AS_OBJECT)} {iri(obj)}{g}"
                f"{c} {iri(AS_PUBLISHED)} {literal(when, datatype=XSD_DATETIME)}{g}"
                f"{c} {iri(MB_SEQUENCE)} \"{seq}\"^^<{XSD_INTEGER}>{g}")

    def flush(self) -> None:
        """Write what the store holds in memory to its files. RocksDB keeps each write in
        memory and in its log until a memory table fills, and every reader that opens the store
        (a server's fresh view) reads that whole log again: 13 ms after no writes, 60 ms after
        4,000 small ones (LC 20k store), and more with every write. A writer of many small writes
        flushes every so often, so that a view opens quickly whatever was written before."""
        try:
            self._store.flush()
        except OSError as exc:
            raise store_failure("cannot write to the store", exc) from exc

    def compact(self) -> None:
        """Rewrite the store's files into as few as its indexes need. Bulk loads leave many
        overlapping files, and a read-only reader (a server, an export) cannot merge them: at
        250,000 records a record graph read three times slower before this than after. A full
        rewrite (about 0.2 ms a record), so worth it after a load that wrote much of the store.
        The catalogue index's full-text segments are merged too (2 s at 250,000 records)."""
        try:
            self._store.optimize()
        except OSError as exc:
            raise store_failure("compacting the store failed", exc) from exc
        if self.catalogue is not None:  # and the full-text index's segments, merged into one
            self.catalogue.optimize()

    def backup(self, target: str | os.PathLike) -> None:
        """A consistent copy of the store in a new directory (hard links where it can), with its
        catalogue index (copied as it is: an index behind the copy catches up when the copy is
        first opened for writing)."""
        self._store.backup(str(target))
        source = self.catalogue or (catalogue.Catalogue(self.path, read_only=True)
                                    if catalogue.path_of(self.path).exists() else None)
        if source is None:
            return
        try:
            copy = sqlite3.connect(catalogue.path_of(target))
            with source._lock:
                source.conn.backup(copy)
            copy.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot copy the catalogue index: {exc}") from exc
        finally:
            if source is not self.catalogue:
                source.close()



def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    # SQLite says SQLITE_FULL in words of its own
    return "No space left on device" in text or "Disk quota exceeded" in text or "database or disk is full" in text


def store_failure(what: str, exc: BaseException) -> StoreError:
    """The error for a failed write; a full disk says so, and what becomes of the batch."""
    if _is_disk_full(exc):
        return StoreFullError("the disk holding the store is full: ingest stopped. What the batch under way "
                              "wrote is rolled back the next time the store is opened for ingest; make room "
                              "and run the same ingest again to load the rest")
    return StoreError(f"{what}: {exc}")


class _Parts(io.RawIOBase):
    """Byte strings read as one stream, without copying them into one."""

    def __init__(self, parts: list[bytes]):
        self._parts, self._i, self._at = parts, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        n = 0
        while n < len(view) and self._i < len(self._parts):
            part = self._parts[self._i]
            take = min(len(view) - n, len(part) - self._at)
            view[n:n + take] = part[self._at:self._at + take]
            n += take
            self._at += take
            if self._at == len(part):
                self._i, self._at = self._i + 1, 0
        return n
