"""The loader's path for authority records (:class:`.loader.Loader` takes it from here).

An authority record is written as a bibliographic record is (its graph in a bulk batch, a
change-log entry, a catalogue row, its copy), with these differences: its change-log entry and
feed activity are about its entity, its row is ``authority-{slug}``, its names go to the name
index (``store.names``), and its link keys are declared so that headings met later in the same
load name its entity (``pipeline.linking``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..rdf import source_name
from ..rdf_authority import authority_record_id, authority_tombstone
from ..store import catalogue

_KEYED = ("work|", "expression|")  # keys the store keeps in entity cores (mb:key): looked up there

if TYPE_CHECKING:
    from .loader import _Batch
    from .run import Summary
    from .worker import Outcome


# What the authority path remembers of the load to answer its look-ups without the store (below),
# up to this many records; past it, the store answers them, as for any other load.
KNOWN_RECORDS = 400_000


class _Known:
    """What the store holds that the authority path can know without reading it.

    ``links``: every link and variant key of the store, when it held none before this load's
    first authority (only authorities declare them, and this load's all pass through
    ``declare_links``): a key that none of them declared is linked to nothing, which saves two
    index reads an entity. ``graphs`` and ``cores``: when the store was empty at the start (the
    register's first load), every record graph and core it holds came from here, so long as
    every record this load wrote is an authority (``written`` keeps count): which graph holds
    which digest, and which entities are minted, without a read each."""

    __slots__ = ("links", "seen", "graphs", "cores", "written")

    def __init__(self, links: bool, fresh: bool):
        self.links: set[str] | None = set() if links else None
        self.seen = 0  # entries of Loader.declared already in ``links``
        self.graphs: dict[str, str] | None = {} if fresh else None
        self.cores: set[str] | None = set() if fresh else None
        self.written = 0  # change-log entries (records) this path added


def _rank(claim: tuple[str, bool]) -> tuple[bool, str]:
    """How a claim on a link key ranks (least first): as ``Store.link_iri`` chooses."""
    entity, variant = claim
    return variant, entity


class AuthorityLoading:
    """Methods of the loader for authority records and for linking headings to them; they use
    its state and look-ups."""

    _known: _Known | None = None

    def _link_iri(self, key: str) -> str | None:
        """The authority entity a heading's key is linked to (pipeline.linking), if any: of all
        that claim the key, written or on their way, the one ``Store.link_iri`` would choose (an
        authorised form before a variant, then the least IRI), whatever the order they came in."""
        pending = [b.links[key] for b in self._unwritten() if key in b.links]
        if not pending:
            try:
                return self._keys[key]
            except KeyError:
                pass
        found = self.store.link_iri(key)
        best = min([*pending, *([found] if found is not None else [])], key=_rank, default=None)
        iri, variant = best if best is not None else (None, False)
        if not pending:
            if len(self._keys) >= self.cache_entries:
                self._keys.clear()
            self._keys[key] = iri
        if variant:
            self.variant_links.add(key)
        return iri

    def declare_links(self, entity: str, keys, variant_keys=()) -> None:
        """An authority record in this load says these keys mean ``entity``: headings met from
        now on are linked to it (its batch is looked at until the store has it)."""
        self.declared.append((entity, tuple(keys), tuple(variant_keys)))
        links = self.batch.links
        for claim in [*((k, (entity, True)) for k in variant_keys), *((k, (entity, False)) for k in keys)]:
            k, candidate = claim
            links[k] = min(links.get(k, candidate), candidate, key=_rank)
        for k in (*keys, *variant_keys):
            self._keys.pop(k, None)
        self._linking = True

    def _knowing(self) -> _Known:
        known = self._known
        if known is None:
            # Before the load's first authority: nothing of it has declared a key yet.
            known = self._known = _Known(links=not self.store.has_authorities(), fresh=self.seq == 1)
        if known.graphs is not None and (known.written != self.seq - 1 or known.written >= KNOWN_RECORDS):
            known.graphs = known.cores = None  # another kind of record came, or too many to hold
        if known.links is not None:
            declared = self.declared
            if len(declared) > known.seen:
                for _, keys, variants in declared[known.seen:]:
                    known.links.update(keys)
                    known.links.update(variants)
                known.seen = len(declared)
                if len(known.links) >= 8 * KNOWN_RECORDS:
                    known.links = None
        return known

    def minted_in_store(self) -> set[str] | None:
        """Every entity whose core the store holds, when the store was empty before this load and
        every record of it was an authority (the register's first load); else None. After
        :meth:`close`, a caller looking for entities headings made (``linking.absorb``) need not
        look up any other."""
        known = self._known
        if known is None or known.cores is None or known.written != self.seq - 1:
            return None
        return known.cores

    def _add_authority(self, o: Outcome, summary: Summary) -> None:
        """An authority record: its graph (or tombstone), the cores of its entities that are new,
        a change-log entry about its entity, its catalogue row (``authority-{slug}``, set
        ``authority``) and its names. Its entity is announced as created when its core is new
        here, else as updated (its authority changed what the well says of it)."""
        if o.graph in self.batch.digests:
            self.flush()
        batch = self.batch
        known = self._knowing()
        old = known.graphs.get(o.graph) if known.graphs is not None else self._digest_of_graph(o.graph)
        if old == o.digest:
            summary.records_unchanged += 1
            return
        summary.records_authority += 1
        entity = o.manifestation
        text = o.nquads
        created = False
        if o.status == "deleted":
            source = (self.store.source_of(o.graph) if old is not None else None) or o.source
            text = authority_tombstone(self.store.base, o.control_number, entity, o.entity_class, source=source,
                                       source_hash=o.digest, when=self.when).encode("utf-8")
            change = "delete"
            summary.records_deleted += 1
            batch.tombstones[o.graph] = True
            batch.unnamed.append(entity)
        else:
            names = list(o.names)
            packs = o.packed_cores or (None,) * len(o.cores)
            for (k, iri, core), packed in zip(o.cores, packs):
                target = self._core_target(batch, k, iri, core, known, packed)
                if target != iri:
                    text = text.replace(f"<{iri}>".encode(), f"<{target}>".encode())
                    names = [(target if n[0] == iri else n[0], *n[1:]) for n in names]
                    entity = target if entity == iri else entity
                elif iri == o.manifestation and iri in batch.cores and iri in batch.announced:
                    created = True
            batch.names += names
            # Headings met from now on that have one of these keys name this entity.
            self.declare_links(entity, o.links, o.variant_links)
            batch.tombstones[o.graph] = False
            change = "update" if old is not None else "create"
            source = o.source
            if old is None:
                summary.records_new += 1
            else:
                summary.records_updated += 1
        if not created:
            self._announce(batch, "Update", entity, o.entity_class, once=True)
        if old is not None:
            batch.replace.append(o.graph)
            batch.superseded.add(old)
        batch.parts.append(text)
        batch.copied.append((o.graph, self.seq, text, o.packed if text is o.nquads else None))
        batch.parts.append(self.store.change_quads(self.seq, change, entity, self.when).encode("utf-8"))
        batch.written += (o.graph, self.store.change_iri(self.seq))
        batch.rows.append(catalogue.Row(authority_record_id(self.store.base, o.graph), o.graph, entity, self.seq,
                                        self._stamp, change == "delete", catalogue.set_name(source_name(source))))
        batch.last_sequence = self.seq
        self.seq += 1
        batch.digests[o.graph] = o.digest
        batch.added.add(o.digest)
        batch.superseded.discard(o.digest)
        known.written += 1
        if known.graphs is not None:
            known.graphs[o.graph] = o.digest

    def _core_target(self, batch: _Batch, k: str, iri: str, core: bytes, known: _Known,
                     packed: bytes | None = None) -> str:
        """The IRI an entity of an authority record is written under: the one the store gives
        its key, a merged entity's survivor, or its own; its core is written when it is new."""
        if k.startswith(_KEYED):
            # A fresh store keeps a work's key only in the core minted from it, under that IRI.
            target = self._key_iri(k) if known.cores is None else None
        elif known.links is not None and k not in known.links:
            target = None  # no authority declared the key: it is its entity's own
        else:
            target = self._key_iri(k)
        if target is not None:
            return target
        if known.cores is not None:  # (nothing is merged in a fresh store)
            if iri in known.cores:
                return iri
        elif self._is_minted(iri):
            return self._merged.get(iri, iri)
        if known.cores is not None:
            known.cores.add(iri)
        self._new_core(batch, iri, core, packed)
        return iri
