"""What the store holds, as the loader asks it: a record's digest, a key's IRI, whether an
entity is minted or a graph a tombstone. Each look-up sees first the batch being gathered and
the batches handed to the writer but not yet in the store (they answer for what they will
write), then what a group look-up (prefetch) brought, then the store. Answers are remembered up
to a bound, so a heading many records share is looked up once and memory stays flat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .worker import Outcome, digest_of

if TYPE_CHECKING:
    from .loader import _Batch

CACHE_ENTRIES = 200_000  # keys and minted entities remembered between look-ups (memory stays flat)
# Only works and expressions have their key in the store (mb:key); other keys are never there.
_KEYED = ("work|", "expression|")
# Keys a heading's agent or concept may have that an authority record declares its own (mb:linkKey).
_LINKED = ("agent|", "concept|")


class Lookups:
    """The loader's look-ups (a mixin of :class:`~.loader.Loader`, whose state it reads)."""

    def _unwritten(self) -> list[_Batch]:
        with self._lock:
            return [self.batch, *reversed(self._inflight)]

    def _digest_of_graph(self, graph: str) -> str | None:
        for b in self._unwritten():
            if graph in b.digests:
                return b.digests[graph]
        if graph in self._hashes:
            return self._hashes.pop(graph)
        return self.store.record_hash(graph)

    def prefetch(self, outcomes: list[Outcome]) -> None:
        """Ask the store at once what adding these outcomes will look up: their record graphs'
        digests, their entities' keys and cores. Only where the store says it is worth it
        (``answers_in_groups``): on a SPARQL server, where each look-up is a round trip, the
        answers; on disk, what the look-up index says the store does not hold (the rest is
        asked one by one). What was asked before is not asked again."""
        if not self.store.answers_in_groups:
            return
        records = [o for o in outcomes if o.kind != "authority" and o.status in ("ok", "deleted")]
        # What a batch on its way will write is not asked: the store may not hold it yet, and
        # the batch answers for it until it does.
        # Asked of each batch in turn, never merged into one set: the batches hold tens of
        # thousands of entities, and a union built for every group of 200 records cost more
        # than all the look-ups it saved (2.4 s of the main thread over an LC 20k ingest).
        unwritten = self._unwritten()
        graphs = [o.graph for o in records if o.graph and o.graph not in self._hashes
                  and not any(o.graph in b.digests for b in unwritten)]
        keys = [k for o in records for k, _, _ in o.cores if k.startswith(_KEYED) and k not in self._keys]
        entities = [iri for o in records for _, iri, _ in o.cores
                    if iri not in self._minted and iri not in self._cores
                    and not any(iri in b.cores for b in unwritten)]
        if len(self._keys) + len(keys) >= CACHE_ENTRIES:
            self._keys.clear()
        if self.store.batched_reads:
            if graphs:
                found = self.store.record_hashes(graphs)
                self._hashes.update((g, found.get(g)) for g in graphs)
            if keys:
                self._keys.update(self.store.key_iris(keys))
            if entities:
                held = self.store.cores_held(entities)
                self._cores.update((e, e in held) for e in entities)
        else:
            # For this group alone: an earlier group's answers are used or stale by now (its
            # records were all added), and answers kept would grow with the input.
            no_graphs, self._absent, no_cores, _ = self.store.not_held(graphs=graphs, keys=keys, entities=entities)
            self._hashes = dict.fromkeys(no_graphs)
            self._cores = dict.fromkeys(no_cores, False)
            # The index did not say no to these: the store answers them, the index not again.
            self._maybe = {*keys, *entities} - self._absent - no_cores
        if len(self._hashes) > CACHE_ENTRIES or len(self._cores) > CACHE_ENTRIES:  # never used: forgotten
            self._hashes.clear()
            self._cores.clear()

    def _key_iri(self, key: str) -> str | None:
        if not key.startswith(_KEYED):
            return self._link_iri(key) if self._linking and key.startswith(_LINKED) else None
        try:
            return self._keys[key]
        except KeyError:
            pass
        if key in self._absent:
            return None
        found = self.store.key_iri(key, asked=True) if key in self._maybe else self.store.key_iri(key)
        if found is None and self.store.indexed_lookups:
            return None  # not remembered: the look-up index says "no" again for a B-tree read
        if len(self._keys) >= CACHE_ENTRIES:
            self._keys.clear()
        self._keys[key] = found
        return found

    def _is_minted(self, entity: str) -> bool:
        if entity in self._minted:
            return True
        if any(entity in b.cores for b in self._unwritten()):
            self._remember(entity)
            return True
        hint = self._cores.pop(entity, None)
        if hint is None:
            hint = self.store.has_core(entity, asked=True) if entity in self._maybe else self.store.has_core(entity)
        if hint:
            self._remember(entity)
            # Merged into another (an agent, a concept: no key to move)? Looked up once, with the core.
            survivor, seen = self.store.successor(entity) if self._merges else None, {entity}
            while survivor is not None and survivor not in seen:
                self._merged[entity] = survivor
                seen.add(survivor)
                survivor = self.store.successor(survivor)
            return True
        return False

    def _remember(self, entity: str) -> None:
        if len(self._minted) >= CACHE_ENTRIES:
            self._minted.clear()
        self._minted.add(entity)

    def _was_tombstone(self, graph: str) -> bool:
        for b in self._unwritten():
            if graph in b.tombstones:
                return b.tombstones[graph]
        return self.store.is_tombstone(graph)

    def prefetch_digests(self, records: list[bytes]) -> None:
        """Ask the store at once which of these records' exact bytes it holds (is_current asks
        then no more): only where the store says it is worth it, as :meth:`prefetch`."""
        if not self.store.answers_in_groups:
            return
        digests = [digest_of(data, self.gate) for data in records]
        if self.store.batched_reads:
            held = self.store.digests_held(digests)
            self._held = {d: d in held for d in digests}
        else:  # what the look-up index says the store lacks; the rest is asked one by one
            self._held = dict.fromkeys(self.store.not_held(digests=digests)[3], False)
        self._gone = set()

    def is_current(self, data: bytes) -> bool:
        """Are these exact record bytes, checked by the same rules, what the store holds?"""
        digest = digest_of(data, self.gate)
        for b in self._unwritten():
            if digest in b.added:
                return True
            if digest in b.superseded:
                return False
        hint = self._held.pop(digest, None)
        if hint is not None and not (hint and digest in self._gone):
            return hint
        return self.store.holds_digest(digest)
