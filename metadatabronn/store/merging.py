"""Merging two entities the well holds as two that are one (two works, two agents …).

What a merge does, in one SPARQL Update (one transaction):
- every record graph that names the merged entity names the one it is merged into instead, and
  what a record said *about* it (creators, subjects of a work) it now says about that one: each
  record keeps its own values, only the IRI changes, so MARC out of a record nobody edited is
  unchanged;
- the merged entity's cluster keys (``mb:key``) go to the surviving one, so a record of it loaded
  again joins the survivor instead of minting the old IRI again;
- the merged entity keeps its IRI, type and names in the default graph, with
  ``dcterms:isReplacedBy`` the survivor: links to it keep resolving, to where it went.

The change log gets a ``Deprecate`` entry for the merged entity, an ``mb:Absorb`` entry for the
survivor (it gained keys, but its values did not change: logged as edited, it would give MARC out
of its records a uniform title they never had), and an ``Update`` for each core that named the
merged entity and each manifestation whose record moved. The catch-up that follows gives the
change feed a ``Deprecate`` (with the survivor as its target), an ``Update`` of the survivor and
of each of those (a moved manifestation's work and expression too), and OAI-PMH the moved records'
new datestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..errors import MergeRefused
from ..mapping.terms import MB, OWL_SAMEAS
from ..rdf import MB_DESCRIBES, MB_KEY
from .feed import DCT_IS_REPLACED_BY, KIND_OF_CLASS, class_of, manifestation_of_graph, replacement
from .editing import MB_STATED_IN
from .layout import STORE_GRAPH
from .writing import store_failure

if TYPE_CHECKING:
    from .core import Store


MB_MERGED = MB + "merged"  # on a record graph: an entity it named was merged (into its dcterms:isReplacedBy)


@dataclass(frozen=True)
class MergeResult:
    merged: str
    into: str
    kind: str
    records: int  # record graphs that named the merged entity


def merge(store: Store, merged: str, into: str) -> MergeResult:
    """Merge ``merged`` into ``into`` (both IRIs the store holds, of one kind)."""
    results, refused = merge_many(store, [(merged, into)])
    if refused:
        raise refused[0][2]
    return results[0]


# Merges written in one transaction by merge_many: bounded, so that one update stays small.
BATCH = 200


def merge_many(store: Store, pairs, *, subjects_as_works: bool = False
               ) -> tuple[list[MergeResult], list[tuple[str, str, MergeRefused]]]:
    """Merge each ``(merged, into)`` in turn, as :func:`merge` does one, but in transactions of
    up to :data:`BATCH` merges, with one catch-up of the indexes at the end (linking a whole
    authority file to what headings made before it). A pair that cannot be merged is refused
    alone: ``(results, [(merged, into, why)])``. With ``subjects_as_works``, a concept may be
    merged into a work: the subject heading that named a work as a concept (a 630) names it."""
    results: list[MergeResult] = []
    refused: list[tuple[str, str, MergeRefused]] = []
    pending: list[tuple[str, str, str, list[str], list[str], list[str]]] = []
    taken: set[str] = set()  # merged in this call: not merged, nor merged into, again
    for merged, into in pairs:
        try:
            kind = _check(store, merged, into, taken, subjects_as_works)
        except MergeRefused as exc:
            refused.append((merged, into, exc))
            continue
        if any(merged == p[1] for p in pending):  # what it gained in this batch must be in the store first
            results += _write(store, pending)
            pending = []
        taken.add(merged)
        pending.append((merged, into, kind, *_graphs(store, merged)))
        if len(pending) >= BATCH:
            results += _write(store, pending)
            pending = []
    if pending:
        results += _write(store, pending)
    if results:
        store.catch_up()
    # The counts stand: a merged entity keeps its type (a query for works finds it, replaced).
    return results, refused


def _check(store: Store, merged: str, into: str, taken: set[str], subjects_as_works: bool = False) -> str:
    if merged == into:
        raise MergeRefused(f"{merged} cannot be merged into itself", status=409)
    kinds = {}
    for iri in (merged, into):
        if not iri.startswith(store.base + "/"):
            raise MergeRefused(f"{iri} is not an IRI of this store (its base is {store.base})")
        cls = class_of(store, iri)
        if cls is None:
            raise MergeRefused(f"the well holds no work, expression, agent or concept {iri}", status=404)
        kinds[iri] = KIND_OF_CLASS[cls]
        gone = replacement(store, iri) or (iri in taken or None)
        if gone is not None:
            raise MergeRefused(f"{iri} was already merged" + (f" into {gone}" if gone is not True else ""), status=409)
    if subjects_as_works and (kinds[merged], kinds[into]) == ("concept", "work"):
        return "concept"
    if kinds[merged] != kinds[into]:
        raise MergeRefused(f"{merged} is a {kinds[merged]} and {into} a {kinds[into]}: only entities of one kind merge")
    if kinds[merged] == "manifestation":
        raise MergeRefused("manifestations come from records and are not merged: delete the duplicate record")
    return kinds[merged]


def _graphs(store: Store, merged: str) -> tuple[list[str], list[str]]:
    """(named graphs that name or describe the entity, cores in the default graph naming it)."""
    node = ox.NamedNode(merged)
    graphs = {q.graph_name.value for q in store._store.quads_for_pattern(None, None, node, None)
              if isinstance(q.graph_name, ox.NamedNode)}
    graphs |= {q.graph_name.value for q in store._store.quads_for_pattern(node, None, None, None)
               if isinstance(q.graph_name, ox.NamedNode)}
    graphs.discard(store.changes_graph)
    # Cores that name it (an expression's work) are rewritten too: each is announced as updated.
    cores = sorted({q.subject.value for q in store._store.quads_for_pattern(None, None, node, ox.DefaultGraph())
                    if isinstance(q.subject, ox.NamedNode)})
    return sorted(graphs), cores


def _update(store: Store, merged: str, into: str, graphs: list[str]) -> str:
    o, n = f"<{merged}>", f"<{into}>"
    kept = f"FILTER(?g NOT IN (<{store.changes_graph}>, <{store.pending_graph}>, <{STORE_GRAPH}>))"
    sparql = f"""
DELETE {{ GRAPH ?g {{ ?s ?p {o} }} }} INSERT {{ GRAPH ?g {{ ?s ?p {n} }} }} WHERE {{ GRAPH ?g {{ ?s ?p {o} }} {kept} }} ;
DELETE {{ GRAPH ?g {{ {o} ?p ?x }} }} INSERT {{ GRAPH ?g {{ {n} ?p ?x }} }} WHERE {{ GRAPH ?g {{ {o} ?p ?x }} {kept} }} ;
DELETE {{ ?s ?p {o} }} INSERT {{ ?s ?p {n} }} WHERE {{ ?s ?p {o} }} ;
DELETE {{ {o} <{MB_KEY}> ?k }} INSERT {{ {n} <{MB_KEY}> ?k }} WHERE {{ {o} <{MB_KEY}> ?k }} ;
DELETE {{ {o} <{MB_STATED_IN}> ?w }} INSERT {{ {n} <{MB_STATED_IN}> ?w }} WHERE {{ {o} <{MB_STATED_IN}> ?w }} ;
INSERT DATA {{ {o} <{DCT_IS_REPLACED_BY}> {n} ; <{OWL_SAMEAS}> {n} }}
"""
    # Each record that moved says so in its own graph: MARC out of it then shows the merge (the
    # survivor's IRI in $1 of its heading, a work's uniform title), as for an edit in the well.
    moved_graphs = [g for g in graphs if g.startswith(f"{store.base}/record/")]
    if moved_graphs:
        sparql += "; INSERT DATA { " + " ".join(f"GRAPH <{g}> {{ <{g}> <{MB_MERGED}> {o} }}" for g in moved_graphs) + " }"
    return sparql


def _write(store: Store, pending) -> list[MergeResult]:
    try:
        store._store.update(" ;\n".join(_update(store, merged, into, graphs) for merged, into, _, graphs, _ in pending))
    except OSError as exc:
        raise store_failure("the merge failed", exc) from exc
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    seq = first = store.next_sequence()
    text = []
    forget: list[str] = []
    plain: list[str] = []
    results = []
    for merged, into, kind, graphs, cores in pending:
        # An organisation's statements naming the merged entity now name the survivor: the entity
        # whose core links that writer graph changed too (its document carries the graph).
        written = sorted({q.subject.value for g in graphs if g.startswith(f"{store.base}/edit/")
                          for q in store._store.quads_for_pattern(None, ox.NamedNode(MB_STATED_IN), ox.NamedNode(g),
                                                                  ox.DefaultGraph())} - {into, merged, *cores})
        # So did an authority record whose graph named it (a 5XX): its document is its entity's
        # (the graph's copy goes with ``graphs``; the entity's own core did not change).
        described = sorted({q.object.value for g in graphs if g.startswith(f"{store.base}/authority/")
                           for q in store._store.quads_for_pattern(ox.NamedNode(g), ox.NamedNode(MB_DESCRIBES), None,
                                                                   ox.NamedNode(g))} - {into, merged, *cores, *written})
        # What names the merged entity is known (its graphs, its cores); the survivor's records
        # did not change, only its own copy did.
        plain += [merged, into, *graphs]
        forget += [*cores, *written]
        # The survivor's own values did not change, so it is not logged as edited (MARC out would
        # then give its records a uniform title they never had); the records that moved to it are.
        moved = sorted(manifestation_of_graph(store.base, g) for g in graphs if g.startswith(f"{store.base}/record/"))
        text.append(store.change_quads(seq, "deprecate", merged, when) + store.change_quads(seq + 1, "absorb", into, when))
        updated = [*cores, *written, *described, *moved]
        text += [store.change_quads(seq + 2 + i, "update", iri, when) for i, iri in enumerate(updated)]
        seq += 2 + len(updated)
        results.append(MergeResult(merged, into, kind, len([g for g in graphs if "/record/" in g])))
    store.forget_copies(forget, only=plain)
    store._store.load("".join(text).encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    store._store.update(store._sequence_update(seq - 1, previous=first - 1))
    return results
