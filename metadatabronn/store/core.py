"""The store on disk: opening it under its own base IRI, the look-ups ingest makes, writing.

Layout (see docs/architecture.md):
- each source record's quads in its own named graph ``{base}/record/{id}``;
- each shared entity's core (type, key, preferred title or name) in the default graph, written
  once when the entity is minted: the identity registry;
- the change log in ``{base}/graph/changes``, with the last sequence number given out;
- what the bulk load under way writes (record graphs, new entity graphs, change entries) in
  ``{base}/graph/pending``, so that a load cut short can be rolled back;
- the base IRI the store's IRIs were minted under, in the graph ``mb:store``: written when the
  store is made, and checked every time it is opened.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from ..errors import BaseMismatchError, MetadatabronnError, StoreError, UpdateRefused
from ..rdf import MB_DESCRIBES, literal
from . import labels, remote_home
from .catalogue import Catalogue
from .layout import (AS_TOMBSTONE, COUNTED, MB_BASE_IRI, MB_ENTITY_COUNTS, MB_LAST_SEQUENCE, MB_SEQUENCE, RDF_TYPE,
                     STORE_GRAPH, changes_graph, pending_graph)
from .lookups import Lookups, _node
from .reading import Reading

from .sparql import named_iris, network, wiping
from .writing import XSD_INTEGER, Writing, store_failure

__all__ = ["Store", "UpdateResult", "mismatch", "store_failure"]

log = logging.getLogger(__name__)
_XSD_INTEGER = ox.NamedNode(XSD_INTEGER)


@dataclass
class UpdateResult:
    """What an update did: the store's size before and after, and whether anything changed."""

    changed: bool  # False: certainly nothing added or removed
    quads_before: int
    quads_after: int
    logged: int  # change-log entries written
    certain: bool = True  # False: too many statements to compare; ``changed`` is then assumed


class Store(Writing, Reading, Lookups):
    """A metadatabronn store on disk.

    ``base`` is the base IRI the caller expects. The store keeps the one it was made with: with
    ``base`` None that one is used, and another one is refused (:class:`BaseMismatchError`).
    A store made before the base was recorded records it at its first opening for writing: the
    base its record graphs were minted under, or else (an empty store) ``base``.
    """

    def __init__(self, path: str | os.PathLike, base: str | None = None, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self._changes: dict[str, str] | None = None  # change_times() of a read-only snapshot
        self._last_sequence: int | None = None  # a guess at the last change-log number (next_sequence)
        try:
            if not read_only:
                remote_home.adopt_new(self.path)
            if remote_home.is_remote_home(self.path):  # the quads are on a SPARQL server
                self._store = remote_home.open_home(self.path, read_only)
            elif read_only:
                self._store = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
        self.base = self._settle_base(base.rstrip("/") if base else None)
        self.changes_graph = changes_graph(self.base)
        self.pending_graph = pending_graph(self.base)
        self.catalogue: Catalogue | None = None  # a server opens its own view of it, beside its snapshot
        if not read_only:
            labels.ensure(self._store)  # once per store and vocabulary version, never per record
            self._open_catalogue()

    # the base IRI ----------------------------------------------------------------------------
    def stored_base(self) -> str | None:
        """The base IRI the store records, if it records one."""
        g = ox.NamedNode(STORE_GRAPH)
        for q in self._store.quads_for_pattern(g, ox.NamedNode(MB_BASE_IRI), None, g):
            return q.object.value
        return None

    def minted_base(self) -> str | None:
        """The base IRI the store's record graphs were minted under, read off one of them."""
        for q in self._store.quads_for_pattern(None, ox.NamedNode(MB_DESCRIBES), None, None):
            graph = q.graph_name
            if isinstance(graph, ox.NamedNode) and "/record/" in graph.value:
                return graph.value.rsplit("/record/", 1)[0]
        return None

    def _settle_base(self, given: str | None) -> str:
        from ..config import DEFAULT_BASE_IRI

        stored = self.stored_base()
        if stored is not None:
            if given is not None and given != stored:
                raise BaseMismatchError(mismatch(self.path, stored, given))
            return stored
        minted = self.minted_base()
        if minted is not None and given is not None and given != minted:
            raise BaseMismatchError(mismatch(self.path, minted, given))
        base = minted or given or DEFAULT_BASE_IRI
        if not self.read_only:
            self.record_base(base)
            if minted is not None:
                log.warning("the store at %s did not record its base IRI; it now records %s, the base its "
                            "records were minted under", self.path, base)
            else:
                log.info("the store at %s records its base IRI: %s", self.path, base)
        return base

    def record_base(self, base: str) -> None:
        """Record the store's base IRI (in place of any it recorded)."""
        self._store.update(f"DELETE WHERE {{ GRAPH <{STORE_GRAPH}> {{ <{STORE_GRAPH}> <{MB_BASE_IRI}> ?b }} }} ;\n"
                           f"INSERT DATA {{ GRAPH <{STORE_GRAPH}> {{ <{STORE_GRAPH}> <{MB_BASE_IRI}> "
                           f"{literal(base)} }} }}")

    # look-ups of ingest: a few index reads each, whatever the store's size ---------------
    def next_sequence(self, hint: int | None = None) -> int:
        """The next change-log sequence number: one after the last given out. A store from
        before the last number was kept has it worked out once, from its change entries.

        The last number is one statement, replaced at every write: each replaced value leaves a
        deletion behind in RocksDB until compaction, and a look-up by pattern steps over all of
        them (0.03 ms in a quiet store, 0.9 ms after 5,000 writes, and growing with every write).
        So a guess is checked first, by the whole statement, which goes straight to its key
        whatever was deleted around it: ``hint`` (the catalogue index's sequence, say), else
        the last number this object read or wrote. A wrong guess costs the look-up it saves."""
        cg = ox.NamedNode(self.changes_graph)
        last_node = ox.NamedNode(MB_LAST_SEQUENCE)
        for guess in dict.fromkeys((hint, self._last_sequence)):
            if guess and any(True for _ in self._store.quads_for_pattern(
                    cg, last_node, ox.Literal(str(guess), datatype=_XSD_INTEGER), cg)):
                self._last_sequence = guess
                return guess + 1
        for q in self._store.quads_for_pattern(cg, last_node, None, cg):
            self._last_sequence = int(q.object.value)
            return self._last_sequence + 1
        res = self._store.query(
            f"SELECT (MAX(?n) AS ?m) WHERE {{ GRAPH <{self.changes_graph}> {{ ?c <{MB_SEQUENCE}> ?n }} }}")
        last = next((int(row["m"].value) for row in res if row["m"] is not None), 0)
        if not self.read_only and last:
            self._store.update(self._sequence_update(last))  # worked out once
        return last + 1

    # entity counts ---------------------------------------------------------------------------
    def entity_counts(self) -> dict[str, int] | None:
        """Works, expressions, manifestations and agents, as kept with the last write; None for
        a store from before they were kept."""
        import json

        g = ox.NamedNode(STORE_GRAPH)
        for q in self._store.quads_for_pattern(g, ox.NamedNode(MB_ENTITY_COUNTS), None, g):
            return json.loads(q.object.value)
        return None

    def count_entities(self) -> dict[str, int]:
        """The same counts, worked out from the whole store (what a store of any size costs)."""
        counts = dict.fromkeys(COUNTED.values(), 0)
        for cls, name in COUNTED.items():
            counts[name] += self.count(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{cls}> }}")
        return counts

    def _counts_update(self, counts: dict[str, int]) -> str:
        import json

        g = STORE_GRAPH
        return (f"DELETE WHERE {{ GRAPH <{g}> {{ <{g}> <{MB_ENTITY_COUNTS}> ?c }} }} ;\n"
                f"INSERT DATA {{ GRAPH <{g}> {{ <{g}> <{MB_ENTITY_COUNTS}> "
                f"{literal(json.dumps(counts, sort_keys=True))} }} }}")

    def record_counts(self, counts: dict[str, int]) -> None:
        self._store.update(self._counts_update(counts))

    def is_tombstone(self, graph: str) -> bool:
        """Whether a record graph holds the tombstone of a deleted manifestation."""
        g = _node(graph)
        if g is None:
            return False
        for _ in self._store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), ox.NamedNode(AS_TOMBSTONE), g):
            return True
        return False

    # a cataloguer's edit -----------------------------------------------------------------
    def update(self, sparql: str, changed: Iterable[str] = (), *, force: bool = False,
               allow_network: bool = False) -> UpdateResult:
        """A SPARQL 1.1 Update: a cataloguer's edit of the well's own statements. ``changed``
        names the entities it edits; each gets a change-log entry, so that every record that
        embeds one is harvested again (OAI-PMH datestamps) and exported by ``--since``.

        Refused (:class:`UpdateRefused`), before anything is written: ``LOAD`` and ``SERVICE``
        unless ``allow_network``; ``DROP``, ``CLEAR``, ``MOVE`` and ``COPY`` unless ``force``, and
        even then the change log, the tombstones and the store's own statements are kept (put
        back in the same transaction). An update that changes nothing logs nothing and says so
        (``changed`` False): it is measured by the store's size and by every statement about
        the IRIs it names.
        """
        reaching = network(sparql)
        if reaching and not allow_network:
            raise UpdateRefused(f"the update uses {' and '.join(reaching)}, which fetches data over the network: "
                                "refused; give --allow-network to allow it")
        wipes = wiping(sparql)
        if wipes and not force:
            raise UpdateRefused(f"the update empties whole graphs ({', '.join(wipes)}): refused; give --force to "
                                "run it (the change log and tombstones are kept even then)")
        changed = list(dict.fromkeys(changed))
        subjects = [n for n in (_node(i) for i in dict.fromkeys([*named_iris(sparql), *changed])) if n is not None]
        before = self._signature(subjects)
        typed_before = self._counted_types(subjects)
        text = sparql
        if wipes:
            text = sparql.rstrip()
            if text.endswith(";") and not text.endswith("\\;"):
                text = text[:-1]
            text += "\n;\n" + self._kept_text()
        try:
            self._store.update(text)
        except SyntaxError as exc:
            raise MetadatabronnError(f"SPARQL syntax error: {exc}") from exc
        except OSError as exc:
            raise store_failure("the update failed", exc) from exc
        after = self._signature(subjects)
        certain = before[2] and after[2]
        if after[:2] == before[:2] and certain:
            return UpdateResult(False, before[0], after[0], 0)
        self.forget_copies([n.value for n in subjects], everything=bool(wipes))
        if changed:
            when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            seq = self.next_sequence()
            text = "".join(self.change_quads(seq + i, "update", iri, when) for i, iri in enumerate(changed))
            self._store.load(text.encode("utf-8"), format=ox.RdfFormat.N_QUADS)
            self._store.update(self._sequence_update(seq + len(changed) - 1, previous=seq - 1))
            self.catch_up()  # the records embedding them take the change's datestamp
        counts = self.entity_counts()
        if counts is not None:  # an edit may add or remove entities
            if wipes:  # whole graphs went: counted again
                self.record_counts(self.count_entities())
            else:
                # What it names, counted before and after (the counts keep no statement of what
                # an update reaches only through variables; a drop counts everything again).
                typed_after = self._counted_types(subjects)
                for _, cls in typed_before - typed_after:
                    counts[COUNTED[cls]] = counts.get(COUNTED[cls], 0) - 1
                for _, cls in typed_after - typed_before:
                    counts[COUNTED[cls]] = counts.get(COUNTED[cls], 0) + 1
                self.record_counts(counts)
        return UpdateResult(True, before[0], after[0], len(changed), certain)

    def _counted_types(self, named: list[ox.NamedNode]) -> set[tuple[str, str]]:
        """``(IRI, class)`` of each named IRI typed with a class the entity counts count."""
        found = set()
        for node in named:
            for q in self._store.quads_for_pattern(node, ox.NamedNode(RDF_TYPE), None, None):
                if q.object.value in COUNTED:
                    found.add((node.value, q.object.value))
        return found

    SIGNATURE_LIMIT = 100_000  # statements read per IRI an update names, to tell whether it changed

    def _signature(self, named: list[ox.NamedNode]) -> tuple[int, bytes, bool]:
        """The store's size, a digest of every statement with an IRI the update names (as
        subject, predicate or object), and whether that digest is whole (each IRI's statements
        within :attr:`SIGNATURE_LIMIT`). An update that changes neither changed nothing."""
        h = hashlib.blake2b(digest_size=16)
        whole = True
        for node in named:
            for pattern in ((node, None, None, None), (None, node, None, None), (None, None, node, None)):
                for n, q in enumerate(self._store.quads_for_pattern(*pattern)):
                    if n >= self.SIGNATURE_LIMIT:
                        whole = False
                        break
                    h.update(str(q).encode("utf-8"))
                    h.update(b"\n")
        return len(self._store), h.digest(), whole

    def _kept_text(self) -> str:
        """``INSERT DATA`` of what a wholesale drop must not take: the change log, the tombstones
        (whole record graphs of deleted records) and the store's own statements."""
        graphs = [ox.NamedNode(self.changes_graph), ox.NamedNode(STORE_GRAPH)]
        graphs += list(dict.fromkeys(q.graph_name for q in self._store.quads_for_pattern(
            None, ox.NamedNode(RDF_TYPE), ox.NamedNode(AS_TOMBSTONE), None) if isinstance(q.graph_name, ox.NamedNode)))
        parts = []
        for g in graphs:
            body = " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in
                            self._store.quads_for_pattern(None, None, None, g))
            if body:
                parts.append(f"GRAPH {g} {{ {body} }}")
        return "INSERT DATA { " + "\n".join(parts) + " }"

    def close(self) -> None:
        # pyoxigraph closes on garbage collection; flushing makes bulk-loaded data durable now.
        try:
            if not self.read_only:
                self._store.flush()
        except OSError as exc:
            raise store_failure("cannot write to the store", exc) from exc
        finally:
            if self._minted is not None:
                self._minted.close()
                self._minted = None
            if self.catalogue is not None:
                self.catalogue.close()
                self.catalogue = None
            closer = getattr(self._store, "close", None)  # a store on a server: its connections
            del self._store
            if closer is not None:
                closer()


def mismatch(path: Path, stored: str, given: str) -> str:
    return (f"the store at {path} holds IRIs minted under the base IRI {stored}, not {given}: leave "
            f"--base-iri and METADATABRONN_BASE_IRI unset to use the store's own, or give it a new base "
            f"deliberately with 'metadatabronn rebase {given}'")
