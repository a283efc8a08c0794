"""What a work bundle holds, read by IRI: the work, its expressions, their live manifestations,
the agents in any role on them, the work's subjects, and the works it names (series, related
works, works as subjects).

Every read is a look-up of one IRI in the subject index (an entity's statements) or the object
index (the expressions of a work, the manifestations of an expression), never a scan of the
store: the cost grows with the size of the work, not of the well. Statements are read from
every graph (the core in the default graph, what each record says in its own graph) and each
is kept once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..mapping import roles as R
from ..mapping import terms as T
from .layout import AS_TOMBSTONE
from .reading import Reading

# (predicate, object, is_literal, language, datatype) of one statement about a node
Row = tuple[str, str, bool, "str | None", "str | None"]

AGENT_CLASSES = frozenset({T.C_PERSON, T.C_CORPORATE, T.C_FAMILY})
# Elements whose object is an agent: every role the mapping states, and the general elements
# it states beside them.
AGENT_LINKS = frozenset({*(element for _, element in R.CODES.values()), T.W_CREATOR, T.E_CREATOR})
# Elements of a work whose object is another work: read for its title only.
WORK_LINKS = frozenset({T.W_PART_OF, T.W_RELATED_WORK})
_AS_DELETED = "https://www.w3.org/ns/activitystreams#deleted"
MAX_LINKED = 100_000  # expressions of a work, manifestations of an expression: more than any work has


@dataclass
class WorkBundle:
    """One work and everything its bundle shows, as plain statements per node."""

    work: str
    nodes: dict[str, list[Row]] = field(default_factory=dict)  # every node read, by IRI
    expressions: list[str] = field(default_factory=list)  # in IRI order
    manifestations: dict[str, list[str]] = field(default_factory=dict)  # expression -> its live ones
    agents: list[str] = field(default_factory=list)  # in IRI order
    graphs: set[str] = field(default_factory=set)  # record graphs the statements come from
    deleted_at: str | None = None  # the work is a tombstone (deleted in the well), and since when
    deleted: bool = False

    def types(self, iri: str) -> set[str]:
        return {o for p, o, lit, _, _ in self.nodes.get(iri, ()) if p == T.RDF_TYPE and not lit}


def _read(store: Reading, iri: str, graphs: set[str] | None = None) -> list[Row]:
    """The statements whose subject is ``iri``, in any graph, each once, in a stable order."""
    seen: dict[Row, None] = {}
    for graph, p, o, lit, lang, dt in store.about(iri):
        if graph and graphs is not None and "/record/" in graph:
            graphs.add(graph)
        seen[(p, o, lit, lang, dt)] = None
    return sorted(seen, key=lambda r: (r[0], r[1], r[3] or "", r[4] or ""))


def _deleted(rows: list[Row]) -> bool:
    return any(p == T.RDF_TYPE and o == AS_TOMBSTONE and not lit for p, o, lit, _, _ in rows)


def read_bundle(store: Reading, work: str) -> WorkBundle | None:
    """The bundle of ``work``; None if the store holds nothing about that IRI."""
    bundle = WorkBundle(work)
    rows = _read(store, work, bundle.graphs)
    if not rows:
        return None
    bundle.nodes[work] = rows
    if _deleted(rows):
        bundle.deleted = True
        bundle.deleted_at = next((o for p, o, *_ in rows if p == _AS_DELETED), None)
        return bundle
    for expression in sorted(store.linking(T.E_WORK, work, limit=MAX_LINKED)):
        found = _read(store, expression, bundle.graphs)
        if not found or _deleted(found):
            continue
        bundle.nodes[expression] = found
        bundle.expressions.append(expression)
        live = []
        for manifestation in sorted(store.linking(T.M_EXPRESSION, expression, limit=MAX_LINKED)):
            statements = _read(store, manifestation, bundle.graphs)
            if statements and not _deleted(statements):
                bundle.nodes[manifestation] = statements
                live.append(manifestation)
        bundle.manifestations[expression] = live
    agents: set[str] = set()
    for subject in list(bundle.nodes):
        for p, o, lit, _, _ in bundle.nodes[subject]:
            if lit or o in bundle.nodes:
                continue
            if p in AGENT_LINKS:
                agents.add(o)
            elif subject == work and (p == T.W_SUBJECT or p in WORK_LINKS):
                found = _read(store, o)  # a concept, an agent or a work; nothing for an outside URI
                if found:
                    bundle.nodes[o] = found
                    if bundle.types(o) & AGENT_CLASSES:
                        agents.add(o)
    for agent in sorted(agents):
        if agent not in bundle.nodes:
            found = _read(store, agent)
            if not found:
                continue
            bundle.nodes[agent] = found
        bundle.agents.append(agent)
    return bundle


def generated(store: Reading, graphs: set[str]) -> list[str]:
    """When each of these record graphs was loaded (xsd:dateTime texts)."""
    return [t for t in (store.generated(g) for g in sorted(graphs)) if t]


def works_of(store: Reading, manifestations: list[str]) -> list[str]:
    """The works these manifestations belong to (by the work they manifest, else by their
    expression's work), each once, in IRI order."""
    works: set[str] = set()
    for m in manifestations:
        found = store.values(m, T.M_WORK)
        if not found:
            for expression in store.values(m, T.M_EXPRESSION):
                found += store.values(expression, T.E_WORK)
        works.update(found)
    return sorted(works)


def deleted_with(store: Reading, identifiers: list[str]) -> list[str]:
    """Deleted manifestations (tombstones) that had one of these identifiers."""
    found: dict[str, None] = {}
    for ident in identifiers:
        for m in store.subjects_with(T.M_IDENTIFIER, ident):
            if "/manifestation/" in m and AS_TOMBSTONE in store.values(m, T.RDF_TYPE):
                found[m] = None
    return sorted(found)


__all__ = ["WorkBundle", "Row", "read_bundle", "works_of", "deleted_with", "generated", "AGENT_CLASSES"]
