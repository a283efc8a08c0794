"""Writing converted records to the store: registry checks, change log, bulk batches."""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING

from ..rdf import tombstone
from ..store import Store
from .worker import Gate, Outcome, digest_of

if TYPE_CHECKING:
    from .run import Summary

log = logging.getLogger(__name__)


class Loader:
    """Collects converted records and writes them to the store in bulk batches.

    Writing runs in a thread of its own (pyoxigraph releases the GIL while it loads), so the
    main thread keeps the conversion workers fed meanwhile.
    """

    def __init__(self, store: Store, when: str, gate: Gate | None = None):
        self.store = store
        self.when = when
        self.gate = gate
        rolled_back = store.roll_back()
        if rolled_back:
            log.warning("rolled back an interrupted load (%d graphs and change entries); "
                        "its records are loaded again when their input is", rolled_back)
        self.hashes = store.record_hashes()
        self._current = set(self.hashes.values())
        self.registry = store.registry()
        self.known = store.entity_iris()
        self.seq = store.next_sequence()
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="metadatabronn-loader", daemon=True)
        self._thread.start()
        self._reset()

    def _reset(self) -> None:
        self.parts: list[bytes] = []
        self.graphs: set[str] = set()
        self.replace: list[str] = []
        self.written: list[str] = []  # every graph and change entry the batch writes

    def add(self, o: Outcome, summary: Summary) -> None:
        if o.graph in self.graphs:  # the same record twice in one batch: the later one wins
            self.flush()
        old = self.hashes.get(o.graph)
        if old == o.digest:
            summary.records_unchanged += 1
            return
        text = o.nquads
        if o.status == "deleted":
            if old is not None:
                self._drain()  # the graph's identifiers must be read after its last write
            ids = self.store.identifiers(o.graph) if old is not None else []
            # The tombstone stays in the record's source (an OAI-PMH set): a harvester of that
            # set must learn of the deletion, whichever file brought it.
            source = (self.store.source_of(o.graph) if old is not None else None) or o.source
            stone = tombstone(self.store.base, o.control_number, ids, source=source,
                              source_hash=o.digest, when=self.when)
            text, manifestation = stone.nquads.encode("utf-8"), stone.manifestation
            change = "delete"
            summary.records_deleted += 1
        else:
            manifestation = o.manifestation
            for k, iri, core in o.cores:
                known = self.registry.get(k)
                if known is not None and known != iri:
                    # The store gave this key another IRI (kept from an earlier minting or a merge).
                    text = text.replace(f"<{iri}>".encode(), f"<{known}>".encode())
                elif iri not in self.known:
                    self.known.add(iri)
                    self.parts.append(core)
                    self.written.append(iri)
            change = "update" if old is not None else "create"
            if old is None:
                summary.records_new += 1
            else:
                summary.records_updated += 1
        if old is not None:
            self.replace.append(o.graph)
        self.parts.append(text)
        self.parts.append(self.store.change_quads(self.seq, change, manifestation, self.when).encode("utf-8"))
        self.written += (o.graph, self.store.change_iri(self.seq))
        self.seq += 1
        self.graphs.add(o.graph)
        if old is not None:
            self._current.discard(old)
        self._current.add(o.digest)
        self.hashes[o.graph] = o.digest

    def __len__(self) -> int:
        return len(self.graphs)

    def is_current(self, data: bytes) -> bool:
        """Are these exact record bytes, checked by the same rules, what the store holds?"""
        return digest_of(data, self.gate) in self._current

    def flush(self) -> None:
        if self._error is not None:
            raise self._error
        if self.graphs:
            self._queue.put((self.written, self.replace, b"".join(self.parts)))
            self._reset()

    def _drain(self) -> None:
        self.flush()
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._queue.put(None)
            self._thread.join()

    def _write(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is not None:
                    continue
                written, replace, text = job
                # Named first: if the bulk load is cut short, the next run rolls it back.
                self.store.mark_pending(written)
                self.store.drop_graphs(replace)
                self.store.bulk_load(text)
                self.store.clear_pending()
            except BaseException as exc:  # handed to the main thread at its next flush
                self._error = exc
            finally:
                self._queue.task_done()
