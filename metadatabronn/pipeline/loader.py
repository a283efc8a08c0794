"""Writing converted records to the store: registry checks, change log, bulk batches.

Nothing of the store is read into memory at start: each record's look-ups (is it current, what
digest does its graph hold, which IRI does the store give a key, is an entity minted) are a few
index reads in the store, made as the record comes, after the batches not yet written (held
here until their bulk load ends). What has been looked up is remembered, up to a bound, so a
heading that many records share is looked up once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from typing import TYPE_CHECKING

from ..mapping import terms as T
from ..rdf import iri_value, source_name, tombstone
from ..store import Store
from ..store import catalogue, catchup, feed, minted, names
from ..store.layout import COUNTED
from .authority_load import AuthorityLoading
from .lookups import _LINKED, CACHE_ENTRIES, Lookups
from .worker import Gate, Outcome

if TYPE_CHECKING:
    from .run import Summary

log = logging.getLogger(__name__)

VARIANT_MATCHES_LISTED = 1_000  # headings linked by a variant that the summary names, for review


class _Batch:
    """What one bulk load writes, and what the look-ups must see before it is in the store."""

    __slots__ = ("parts", "digests", "added", "superseded", "cores", "replace", "written", "last_sequence",
                 "tombstones", "counts", "rows", "texts", "removed", "copied", "activities", "announced", "links",
                 "names", "unnamed")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.digests: dict[str, str] = {}  # record graph → digest of the record it now holds
        self.added: set[str] = set()  # digests made current
        self.superseded: set[str] = set()  # digests no longer current (their graph is replaced)
        self.cores: set[str] = set()  # entities whose core this batch writes
        self.replace: list[str] = []
        self.written: list[str] = []  # every graph and change entry the batch writes
        self.last_sequence: int | None = None
        self.tombstones: dict[str, bool] = {}  # record graph → whether it now holds a tombstone
        self.counts: dict[str, int] = {}  # entities this batch adds (or, for manifestations, takes away)
        self.rows: list[catalogue.Row] = []  # the catalogue index's rows of the batch's records
        self.texts: list[tuple] = []  # (manifestation, work, titles, creators) for full-text search
        self.removed: list[str] = []  # manifestations deleted: their text goes
        self.copied: list[tuple[str, int, bytes, bytes | None]] = []  # (graph or core, sequence, N-Quads, packed)
        self.activities: list[feed.Item] = []  # what the change feed announces of the batch
        self.announced: set[str] = set()  # works and expressions already announced as updated in it
        self.names: list[tuple[str, str, str, bool]] = []  # authority records' names (store.names)
        self.unnamed: list[str] = []  # entities whose authority record was deleted: its names go
        self.links: dict[str, tuple[str, bool]] = {}  # link key of an authority in it → (entity, variant)


class Loader(AuthorityLoading, Lookups):
    """Collects converted records and writes them to the store in bulk batches.

    Writing runs in a thread of its own (pyoxigraph releases the GIL while it loads), so the
    main thread keeps the conversion workers fed meanwhile.
    """

    cache_entries = CACHE_ENTRIES

    def __init__(self, store: Store, when: str, gate: Gate | None = None):
        self.store = store
        self.when = when
        self._stamp = catalogue.stamp(when)
        self.gate = gate
        rolled_back = store.roll_back()
        if rolled_back:
            log.warning("rolled back an interrupted load (%d graphs and change entries); "
                        "its records are loaded again when their input is", rolled_back)
        store.prepare_lookups()
        self.seq = store.next_sequence()
        counts = store.entity_counts()
        if counts is None:  # a store from before the counts were kept: counted once, here
            counts = store.count_entities()
            if not store.read_only:
                store.record_counts(counts)
        self.totals: dict[str, int] = counts  # after the last batch written
        self._keys: dict[str, str | None] = {}  # key → the IRI the store gives it, or None
        self._minted: set[str] = set()  # entities whose core is in the store or on its way
        # What the store answered for a group of records asked for at once (prefetch): each
        # answer used once, where the store would otherwise be asked, then forgotten.
        self._hashes: dict[str, str | None] = {}
        self._cores: dict[str, bool] = {}
        self._absent: set[str] = set()  # keys the look-up index holds none of (this group's)
        self._maybe: set[str] = set()  # keys and entities it was asked about and did not say no to
        # Whether the store held each record digest of the group read last (prefetch_digests),
        # and the digests a batch handed to the writer since made no longer current: a hint
        # that one of those is held is stale.
        self._held: dict[str, bool] = {}
        self._gone: set[str] = set()
        self._merged: dict[str, str] = {}  # a minted entity a cataloguer merged -> its survivor
        # Whether any entity was ever merged: if not (most stores), no look-up per entity for it.
        # One writer: nothing is merged while this load runs.
        self._merges = store.has_merges()
        # Whether headings are looked up among authorities' link keys: only in a store that holds
        # authorities (or once this load brings one: declare_links).
        self._linking = store.has_authorities()
        self.variant_links: set[str] = set()  # keys linked by a variant access point
        self.declared: list[tuple[str, tuple, tuple]] = []  # (entity, keys, variant keys) of authorities loaded
        self._inflight: deque[_Batch] = deque()  # handed to the writer, oldest first
        self._lock = threading.Lock()
        # One batch waits for the writer while it loads another: enough to keep it busy (a second
        # waiting batch gained nothing), and each batch held is tens of megabytes of N-Quads.
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._loaded: queue.Queue = queue.Queue(maxsize=1)  # bulk-loaded, to be indexed and marked whole
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._write, name="metadatabronn-loader", daemon=True)
        self._finisher = threading.Thread(target=self._finish, name="metadatabronn-indexer", daemon=True)
        self._thread.start()
        self._finisher.start()
        self.batch = _Batch()

    # adding records -------------------------------------------------------------------------
    def add(self, o: Outcome, summary: Summary) -> None:
        if o.kind == "authority":
            self._add_authority(o, summary)
            return
        if o.graph in self.batch.digests:  # the same record twice in one batch: the later one wins
            self.flush()
        batch = self.batch
        old = self._digest_of_graph(o.graph)
        if old == o.digest:
            summary.records_unchanged += 1
            return
        text = o.nquads
        if o.status == "deleted":
            if old is not None:
                self._drain()  # the graph's identifiers must be read after its last write
                batch = self.batch
            ids = self.store.identifiers(o.graph) if old is not None else []
            # The tombstone stays in the record's source (an OAI-PMH set): a harvester of that
            # set must learn of the deletion, whichever file brought it.
            source = (self.store.source_of(o.graph) if old is not None else None) or o.source
            stone = tombstone(self.store.base, o.control_number, ids, source=source,
                              source_hash=o.digest, when=self.when)
            text, manifestation = stone.nquads.encode("utf-8"), stone.manifestation
            links = feed.links_of(self.store, o.graph, manifestation) if old is not None else []
            change = "delete"
            summary.records_deleted += 1
            if old is not None and not self._was_tombstone(o.graph):
                batch.counts["manifestations"] = batch.counts.get("manifestations", 0) - 1
            batch.tombstones[o.graph] = True
            batch.removed.append(manifestation)
            self._announce(batch, "Delete", manifestation, T.C_MANIFESTATION)
            for cls, iri in links:
                self._announce(batch, "Update", iri, cls, once=True)
        else:
            manifestation = o.manifestation
            work = o.text[0] if o.text else None
            updated = []  # (class, IRI) of the works and expressions that gain or change a manifestation
            if old is not None and not self._was_tombstone(o.graph):
                updated += feed.links_of(self.store, o.graph, manifestation)  # the ones it may leave
            for k, iri, core in o.cores:
                known = self._key_iri(k)
                if known is not None and known != iri:
                    # The store gave this key another IRI (kept from an earlier minting or a merge),
                    # or an authority record declared the key its own (a linked heading).
                    if k.startswith(_LINKED):
                        summary.headings_linked += 1
                        if k in self.variant_links:
                            summary.headings_linked_by_variant += 1
                            if len(summary.variant_matches) < VARIANT_MATCHES_LISTED:
                                summary.variant_matches.append(
                                    {"record": o.control_number, "heading": k.split("|", 3)[-1], "entity": known})
                    text = text.replace(f"<{iri}>".encode(), f"<{known}>".encode())
                    work = known if work == iri else work
                    updated.append((feed.class_of_core(core), known))
                elif known is not None:  # the key is in the entity's core, or an authority's own: minted
                    if k.startswith(_LINKED):
                        summary.headings_linked += 1
                    updated.append((feed.class_of_core(core), iri))
                    continue
                elif self._is_minted(iri):
                    if iri in self._merged:  # a cataloguer merged it: the record names the survivor
                        survivor = self._merged[iri]
                        text = text.replace(f"<{iri}>".encode(), f"<{survivor}>".encode())
                        work = survivor if work == iri else work
                else:
                    self._new_core(batch, iri, core)
            if old is None or self._was_tombstone(o.graph):
                batch.counts["manifestations"] = batch.counts.get("manifestations", 0) + 1
            batch.tombstones[o.graph] = False
            change = "update" if old is not None else "create"
            self._announce(batch, feed.VERB_OF_CHANGE[change], manifestation, T.C_MANIFESTATION)
            for cls, iri in updated:
                if cls in (T.C_WORK, T.C_EXPRESSION):
                    self._announce(batch, "Update", iri, cls, once=True)
            if old is None:
                summary.records_new += 1
            else:
                summary.records_updated += 1
            if o.text:
                batch.texts.append((manifestation, work, o.text[1], o.text[2]))
            source = o.source
        if old is not None:
            batch.replace.append(o.graph)
            batch.superseded.add(old)
        batch.parts.append(text)
        batch.copied.append((o.graph, self.seq, text, o.packed if text is o.nquads else None))
        batch.parts.append(self.store.change_quads(self.seq, change, manifestation, self.when).encode("utf-8"))
        batch.written += (o.graph, self.store.change_iri(self.seq))
        batch.rows.append(catalogue.Row(manifestation.rsplit("/", 1)[-1], o.graph, manifestation, self.seq,
                                        self._stamp, change == "delete", catalogue.set_name(source_name(source))))
        batch.last_sequence = self.seq
        self.seq += 1
        batch.digests[o.graph] = o.digest
        batch.added.add(o.digest)
        batch.superseded.discard(o.digest)

    def _new_core(self, batch: _Batch, iri: str, core: bytes, packed: bytes | None = None) -> None:
        """A shared entity's core this load mints: written with the batch, announced, counted."""
        self._remember(iri)
        self._cores.pop(iri, None)  # an answer from before it was minted
        batch.cores.add(iri)
        batch.parts.append(core)
        batch.copied.append((iri, self.seq, core, packed))
        batch.written.append(iri)
        cls = feed.class_of_core(core)
        self._announce(batch, "Create", iri, cls)
        counted = COUNTED.get(cls)
        if counted:
            batch.counts[counted] = batch.counts.get(counted, 0) + 1

    def _announce(self, batch: _Batch, verb: str, iri: str, cls: str | None, *, once: bool = False) -> None:
        """An activity for the change feed, of the change-log entry being written. An update of
        a work or expression is announced once a batch (one time for all its records), and not
        after the batch created it."""
        if cls is None:
            return
        if once or verb == "Create":
            if iri in batch.announced:
                return
            batch.announced.add(iri)
        batch.activities.append((self.seq, verb, iri, cls, self.when, None))

    def __len__(self) -> int:
        return len(self.batch.digests)

    # writing --------------------------------------------------------------------------------
    def flush(self) -> None:
        if self._error is not None:
            raise self._error
        if self.batch.digests:
            batch = self.batch
            if self._held:
                self._gone |= batch.superseded
            with self._lock:
                self._inflight.append(batch)
                self.batch = _Batch()
            self._queue.put(batch)

    def _drain(self) -> None:
        self.flush()
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Write what is left and stop the threads. Once: a run that fails after closing its
        loader (compacting, say) closes it again on the way out, and must not wait for threads
        that have already stopped."""
        if self._closed:
            return
        self._closed = True
        try:
            self._drain()
        finally:
            self._queue.put(None)
            self._thread.join()
            self._finisher.join()

    def _index(self, batch: _Batch) -> None:
        """The batch's rows and texts, in the catalogue index's own transaction with the sequence
        it reaches, after the bulk load and before the batch is marked whole: a load cut short
        in between is rolled back at the next start, and its rows with it."""
        cat = self.store.catalogue
        if cat is None:
            return
        titles: dict[str, str | None] = {}  # a work's title, read once a batch (after its core is loaded)
        texts = []
        if catalogue.search is not None:
            cores = {iri: body for iri, _, body, _ in batch.copied if "/record/" not in iri}
            for manifestation, work, record_titles, creators in batch.texts:
                if work not in titles:
                    # A work new in this batch has its title in the core the batch wrote (a read
                    # in a big store costs a tenth of a millisecond and more).
                    core = cores.get(work)
                    titles[work] = (catchup.core_title(core) if core is not None
                                    else catchup.work_title(self.store, work))
                texts.append(catalogue.make_text(manifestation, work, record_titles, creators, titles[work]))
        cat.write(batch.rows, texts, batch.removed, sequence=batch.last_sequence, copied=batch.copied,
                  activities=batch.activities, base=self.store.base)
        # Before the batch leaves the list in flight: a look-up after it must find its cores here.
        iris, keys = minted.of_cores(body for iri, _, body, _ in batch.copied
                                     if "/record/" not in iri and "/authority/" not in iri)
        with cat.transaction() as conn:
            minted.add(conn, iris, keys, map(iri_value, batch.digests), batch.digests.values())
        # The name index (/agents): authority records' names, and the names of agents new in the batch.
        names.add_cores(cat, [(iri, body) for iri, _, body, _ in batch.copied if "/agent/" in iri])
        names.remove(cat, batch.unnamed)
        names.add(cat, batch.names)

    def _write(self) -> None:
        """Bulk loads, one batch after another. A batch loaded goes on to :meth:`_finish`, which
        indexes it and marks it whole while the next one loads (pyoxigraph and SQLite each let go
        of the interpreter while they work, so the two overlap)."""
        while True:
            batch = self._queue.get()
            if batch is None:
                self._loaded.put(None)
                return
            try:
                if self._error is not None:
                    raise _Skipped()
                # Named first: if the bulk load is cut short, the next run rolls it back.
                self.store.mark_pending(batch.written, batch.last_sequence)
                self.store.drop_graphs(batch.replace)
                self.store.bulk_load(batch.parts)
            except BaseException as exc:  # handed to the main thread at its next flush
                if not isinstance(exc, _Skipped):
                    self._error = exc
                self._queue.task_done()
                continue
            self._loaded.put(batch)

    def _finish(self) -> None:
        failed = False  # batches are marked whole in order: after one fails, none is
        while True:
            batch = self._loaded.get()
            if batch is None:
                return
            try:
                # A batch loaded whole is finished even if the load after it failed: only what
                # was cut short is left for the roll-back.
                if not failed:
                    self._index(batch)
                    totals = dict(self.totals)
                    for name, n in batch.counts.items():
                        totals[name] = totals.get(name, 0) + n
                    self.store.clear_pending(batch.last_sequence, totals, batch.last_sequence)
                    self.totals = totals
                    with self._lock:
                        self._inflight.popleft()
            except BaseException as exc:
                failed = True
                self._error = exc
            finally:
                self._queue.task_done()


class _Skipped(Exception):
    """A batch after one that failed: not written (the run stops at the next flush)."""
