"""Copies (:mod:`.copies`) made from the store for records that have none: a store loaded before
copies were kept, or one whose index was rebuilt. A pass over every record graph, so a repair
run by hand (``metadatabronn reindex``), never part of a load or a start; it can stop and
resume, since only what has no copy is copied."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

import pyoxigraph as ox

from . import copies
from .catalogue import Catalogue
from .copies import follows

if TYPE_CHECKING:
    from .core import Store

log = logging.getLogger(__name__)
CHUNK = 500  # records a transaction


def refill(store: Store, cat: Catalogue, progress: Callable[[int], None] | None = None) -> int:
    """Copy every record graph and entity core the index has no copy of; returns how many
    copies were written. Each carries the index's sequence: a reader whose snapshot is older
    reads the store, as it would have."""
    seq, after, written = cat.sequence, "", 0
    while True:
        rows = cat.page(after, None, CHUNK)
        if not rows:
            return written
        after = rows[-1].id
        items: list[tuple[str, int, bytes, None]] = []
        taken: set[str] = set()

        def missing(iri: str) -> bool:
            if iri in taken:
                return False
            taken.add(iri)
            with cat._lock:
                return not copies.select(cat.conn, "seq", [iri])

        for row in rows:
            base = row.graph.rsplit("/record/", 1)[0]
            quads = list(store._store.quads_for_pattern(None, None, None, ox.NamedNode(row.graph)))
            if quads and missing(row.graph):
                items.append((row.graph, seq, ox.serialize(quads, format=ox.RdfFormat.N_QUADS), None))
            # The cores a reader follows (:meth:`Reading.record_statements`): the well's own
            # entities, subject concepts, and what their cores name in turn.
            todo = [q.object.value for q in quads if isinstance(q.object, ox.NamedNode) and q.subject.value != row.graph
                    and follows(q.predicate.value, q.object.value, base, in_record=True)]
            while todo:
                entity = todo.pop()
                if not missing(entity):
                    continue
                core = list(store._store.quads_for_pattern(ox.NamedNode(entity), None, None, ox.DefaultGraph()))
                if not core:
                    continue
                items.append((entity, seq, ox.serialize(core, format=ox.RdfFormat.N_QUADS), None))
                todo += [q.object.value for q in core if isinstance(q.object, ox.NamedNode)
                         and follows(q.predicate.value, q.object.value, base)]
        with cat.transaction() as conn:
            copies.put(conn, items, store.base)
        written += len(items)
        if progress is not None:
            progress(len(rows))
