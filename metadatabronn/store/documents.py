"""Entity documents for mirrors: what the store holds of an entity, as stored, graph names and all.

A manifestation's document is its record's graph (the tombstone, once deleted); any other
entity's is its statements in the default graph (its core, and what edits in the well added
there), the writer graphs its core links with ``mb:statedIn`` (what each organisation says of
it: :mod:`.editing`) and the authority record graphs that describe it (``<graph> mb:describes
<entity>`` in the graph itself, a tombstone's too: ``{base}/authority/{slug}``), whole, with
their graph names. Together, over every entity the change feed names, they are the store less
its own bookkeeping, so a mirror that replaces each document it is told of holds what the well
holds. A writer graph goes with the entity whose core links it, an authority graph with the
entity it describes, not with the entities either names (an expression's graph may name a work,
an authority's 5XX another agent): whatever changes the graph (a write, a load of the authority
record, a merge that renames what it names or moves the link to the survivor) announces that
entity. Read from the copies (:mod:`.copies`) where the snapshot may use them (cores and record
graphs), else from the store; writer and authority graphs always from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..rdf import MB_DESCRIBES
from .editing import MB_STATED_IN

if TYPE_CHECKING:
    from .core import Store


@dataclass(frozen=True, slots=True)
class Document:
    iri: str
    graph: str | None  # the named graph it is, or None: the entity's default-graph statements and writer graphs
    nquads: str  # empty: the well holds nothing of it (a mirror drops its copy)


def linked_graphs(quads) -> list[str]:
    """The writer graphs an entity's core links (``mb:statedIn``), among its default-graph quads."""
    return sorted({q.object.value for q in quads
                   if q.predicate.value == MB_STATED_IN and isinstance(q.object, ox.NamedNode)
                   and isinstance(q.graph_name, ox.DefaultGraph)})


def described_by(quads, iri: str) -> list[str]:
    """The graphs among these quads that describe the entity (each says ``<graph> mb:describes
    <iri>`` in itself, as an authority record's graph does)."""
    return sorted({q.graph_name.value for q in quads
                   if isinstance(q.graph_name, ox.NamedNode) and q.predicate.value == MB_DESCRIBES
                   and q.object == ox.NamedNode(iri) and q.subject == q.graph_name})


def authority_graphs(store: Store, iri: str) -> list[str]:
    """The authority record graphs that describe an entity (one look-up in the object index)."""
    prefix = f"{store.base}/authority/"
    return [g for g in described_by(store._store.quads_for_pattern(None, ox.NamedNode(MB_DESCRIBES),
                                                                   ox.NamedNode(iri), None), iri)
            if g.startswith(prefix)]


def graph_of(base: str, iri: str) -> str | None:
    """The record graph a manifestation's document is (None for other entities)."""
    head, sep, local = iri.rpartition("/manifestation/")
    return f"{head}/record/{local}" if sep and head == base else None


def documents(store: Store, iris: list[str]) -> list[Document]:
    """The documents of these entities, in the order asked."""
    graphs = {iri: graph_of(store.base, iri) for iri in iris}
    view = store._copies()
    copied = view.fetch([g or iri for iri, g in graphs.items()]) if view is not None else {}
    out = []
    for iri in iris:
        g = graphs[iri]
        quads = copied.get(g or iri)
        if quads is None:
            if g is not None:
                quads = list(store._store.quads_for_pattern(None, None, None, ox.NamedNode(g)))
            else:
                quads = list(store._store.quads_for_pattern(ox.NamedNode(iri), None, None, ox.DefaultGraph()))
        else:  # a core's copy is its default-graph statements; a record's, its graph's
            quads = [q for q in quads if (q.graph_name == ox.NamedNode(g) if g is not None
                                          else isinstance(q.graph_name, ox.DefaultGraph) and q.subject.value == iri)]
        if g is None:
            for linked in (*linked_graphs(quads), *authority_graphs(store, iri)):
                quads += store._store.quads_for_pattern(None, None, None, ox.NamedNode(linked))
        body = ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.N_QUADS) if quads else b""
        out.append(Document(iri, g, body.decode("utf-8")))
    return out
