"""The look-ups the loader asks of a store: a record graph's digest, an identity key's IRI,
whether an entity's core is stored, a merged entity's survivor, an authority's link key; one at
a time, or a group at once where the store says that is worth it (a store on a SPARQL server,
where each look-up is a round trip)."""

from __future__ import annotations

from typing import Iterable

import pyoxigraph as ox

from ..mapping import terms as T
from ..rdf import MB_KEY, iri_value
from . import minted
from .feed import DCT_IS_REPLACED_BY
from .layout import RDF_TYPE


def _node(value: str) -> ox.NamedNode | None:
    try:
        return ox.NamedNode(iri_value(value))
    except ValueError:
        return None


class Lookups:
    """A mixin of :class:`.core.Store`: ``self._store`` holds the quads."""

    _minted: minted.Reader | None = None  # the look-up index, once a loader asked for it

    def prepare_lookups(self) -> None:
        """Answer "the store holds no such key or core" off the look-up index (:mod:`.minted`),
        built first if it is not known to be whole. For the one writer, on disk: a store on a
        SPARQL server is asked in groups instead (:attr:`batched_reads`)."""
        cat = getattr(self, "catalogue", None)
        if self._minted is not None or cat is None or self.read_only or self.batched_reads:
            return
        if cat.get_meta(minted.FLAG) != minted.CURRENT:
            minted.build(self, cat)
        self._minted = minted.Reader(cat.path)

    def record_hash(self, graph: str) -> str | None:
        """The digest of the source record a record graph was loaded from, if it is stored."""
        g = _node(graph)
        if g is None or (self._minted is not None and not self._minted.has_graph(g.value)):
            return None
        for q in self._store.quads_for_pattern(g, ox.NamedNode(T.MB_SOURCE_HASH), None, g):
            return q.object.value
        return None

    def holds_digest(self, digest: str) -> bool:
        """Whether a record graph was loaded from a record with this digest (and still is)."""
        if self._minted is not None and not self._minted.has_digest(digest):
            return False
        for _ in self._store.quads_for_pattern(None, ox.NamedNode(T.MB_SOURCE_HASH), ox.Literal(digest), None):
            return True
        return False

    def key_iri(self, key: str, *, asked: bool = False) -> str | None:
        """The IRI the store gave an identity key (works and expressions), if any. ``asked``:
        the look-up index was asked already (:meth:`not_held`) and did not say no."""
        if not asked and self._minted is not None and not self._minted.has_key(key):
            return None
        found = None  # keys are in entity cores: the default graph (one index, not two)
        for q in self._store.quads_for_pattern(None, ox.NamedNode(MB_KEY), ox.Literal(key), ox.DefaultGraph()):
            found = q.subject.value  # the last, as a registry read whole kept it
        return found

    def has_core(self, entity: str, *, asked: bool = False) -> bool:
        """Whether a shared entity's core is in the default graph (it has been minted). ``asked``:
        as for :meth:`key_iri`."""
        node = _node(entity)
        if node is None or (not asked and self._minted is not None and not self._minted.has_core(node.value)):
            return False
        for _ in self._store.quads_for_pattern(node, ox.NamedNode(RDF_TYPE), None, ox.DefaultGraph()):
            return True
        return False

    # The same look-ups for many at once. On a SPARQL server each look-up is a round trip, so a
    # loader asks for a group of records' worth in one query (``batched_reads``); on disk the
    # index reads one by one are cheaper than a query, and the loader does not ask.
    @property
    def batched_reads(self) -> bool:
        """Whether look-ups are worth asking for in groups (a store on a SPARQL server)."""
        return bool(getattr(self._store, "batched_reads", False))

    def _object_hint(self) -> str:
        """What the server needs after a pattern joined on its object with a ``VALUES`` list to
        read it by the object index (:attr:`.remote.RemoteStore.object_index_hint`)."""
        return getattr(self._store, "object_index_hint", "")

    @property
    def indexed_lookups(self) -> bool:
        """Whether "not held" comes off the look-up index (:meth:`prepare_lookups` made it ready)."""
        return self._minted is not None

    @property
    def answers_in_groups(self) -> bool:
        """Whether a loader should ask about a group of records at once: on a SPARQL server
        (:attr:`batched_reads`), or on disk with the look-up index (:meth:`not_held`)."""
        return self.batched_reads or self._minted is not None

    def not_held(self, *, graphs: Iterable[str] = (), keys: Iterable[str] = (), entities: Iterable[str] = (),
                 digests: Iterable[str] = ()) -> tuple[set[str], set[str], set[str], set[str]]:
        """Of these record graphs, identity keys, entities (a core) and digests, those the
        look-up index says the store does not hold, in one read each; the others may be held
        (ask one by one). Nothing without the index."""
        index = self._minted
        if index is None:
            return set(), set(), set(), set()
        # The index holds IRIs as the store writes them; the caller has them as it asks.
        g = {(n.value if (n := _node(i)) is not None else i): i for i in graphs}
        e = {(n.value if (n := _node(i)) is not None else i): i for i in entities}
        return ({g[w] for w in index.absent(minted.GRAPHS, g)}, index.absent(minted.KEYS, keys),
                {e[w] for w in index.absent(minted.CORES, e)}, index.absent(minted.DIGESTS, digests))

    def digests_held(self, digests: Iterable[str]) -> set[str]:
        """Which of these digests :meth:`holds_digest` would say the store holds, asked at once."""
        values = " ".join(str(ox.Literal(d)) for d in dict.fromkeys(digests))
        if not values:
            return set()
        rows = self._store.query(f"SELECT DISTINCT ?h WHERE {{ VALUES ?h {{ {values} }} "
                                 f"GRAPH ?g {{ ?s <{T.MB_SOURCE_HASH}> ?h{self._object_hint()} }} }}")
        return {row["h"].value for row in rows}

    def record_hashes(self, graphs: Iterable[str]) -> dict[str, str]:
        """:meth:`record_hash` of each graph that has one."""
        nodes = {g: n for g in graphs if (n := _node(g)) is not None}
        if not nodes:
            return {}
        values = " ".join(str(n) for n in nodes.values())
        rows = self._store.query(f"SELECT ?g ?h WHERE {{ VALUES ?g {{ {values} }} "
                                 f"GRAPH ?g {{ ?g <{T.MB_SOURCE_HASH}> ?h }} }}")
        return {row["g"].value: row["h"].value for row in rows}

    def key_iris(self, keys: Iterable[str]) -> dict[str, str | None]:
        """:meth:`key_iri` of each key (None: no IRI). A key the store gave more than one IRI
        (which only a merge leaves) is looked up alone, so the answer is key_iri's own."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        values = " ".join(str(ox.Literal(k)) for k in keys)
        found: dict[str, list[str]] = {}
        for row in self._store.query(f"SELECT ?k ?s WHERE {{ VALUES ?k {{ {values} }} "
                                     f"?s <{MB_KEY}> ?k{self._object_hint()} }}"):
            found.setdefault(row["k"].value, []).append(row["s"].value)
        return {k: (self.key_iri(k) if len(found.get(k, ())) > 1 else (found[k][0] if k in found else None))
                for k in keys}

    def cores_held(self, entities: Iterable[str]) -> set[str]:
        """Those of ``entities`` whose core is in the default graph (:meth:`has_core`)."""
        nodes = [n for e in dict.fromkeys(entities) if (n := _node(e)) is not None]
        if not nodes:
            return set()
        values = " ".join(str(n) for n in nodes)
        rows = self._store.query(f"SELECT DISTINCT ?e WHERE {{ VALUES ?e {{ {values} }} ?e <{RDF_TYPE}> ?t }}")
        return {row["e"].value for row in rows}

    def successor(self, entity: str) -> str | None:
        """The entity a minted entity was merged into (``dcterms:isReplacedBy``), if it was."""
        node = _node(entity)
        if node is None:
            return None
        for q in self._store.quads_for_pattern(node, ox.NamedNode(DCT_IS_REPLACED_BY), None, ox.DefaultGraph()):
            return q.object.value
        return None

    def has_merges(self) -> bool:
        """Whether any entity of the store was merged into another (one index look-up)."""
        for _ in self._store.quads_for_pattern(None, ox.NamedNode(DCT_IS_REPLACED_BY), None, ox.DefaultGraph()):
            return True
        return False

    def has_authorities(self) -> bool:
        """Whether the store holds an authority record's link keys (one index look-up): only
        then are headings looked up among them, and MARC out looks for authority identifiers.

        A read-only store answers once for its life: MARC out asks for every record, and on a
        SPARQL server each asking is a round trip (half the time of an OAI-PMH page at 250,000
        records). A snapshot cannot change; a reader of a server sees authorities loaded since
        it opened when it is opened again, as ``serve --refresh`` does."""
        known = getattr(self, "_has_authorities", None)
        if known is not None:
            return known
        found = next(iter(self._store.quads_for_pattern(None, ox.NamedNode(T.MB_LINK_KEY), None, None)), None) is not None
        if self.read_only:
            self._has_authorities = found
        return found

    def link_iri(self, key: str) -> tuple[str, bool] | None:
        """The entity of the authority record that a heading's identity key means, and whether it
        was found among variant access points only: ``(iri, variant)``, or None.

        Link keys live in authority record graphs, so a replaced or deleted authority takes
        its keys with it. When two authorities claim one key (an undifferentiated name), the
        one whose IRI sorts first wins, so every process links alike."""
        lit = ox.Literal(key)
        for predicate, variant in ((T.MB_LINK_KEY, False), (T.MB_VARIANT_KEY, True)):
            found = [q.subject.value for q in self._store.quads_for_pattern(None, ox.NamedNode(predicate), lit, None)]
            if found:
                return min(found), variant
        return None
