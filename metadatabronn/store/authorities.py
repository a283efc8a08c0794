"""The look-ups the ISNI flow makes of the store, and its review list.

Every read is a range read: the agents changed since a date come off the change feed's log
(activities of kind ``agent``, found by time with a binary search) and the catalogue rows of
authority records (``authority-…`` identifiers changed since the date); an agent's works off the
object index (``?work rdaw:P10065 <agent>``); nothing reads the whole store.

**The review list** (``{base}/graph/isni-review``) holds the agents ISNI answered with possible
matches, one entry each (``{base}/graph/isni-review#{agent id}``): the agent, the candidates as
ISNI gave them (one JSON literal, so an answer read again is seen to be the same), the file they
came in, and the decision once a person made it. It is the flow's own bookkeeping, not a
description of an entity: no change-log entry and no feed activity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import pyoxigraph as ox

from ..mapping import terms as T
from ..rdf import MB_DESCRIBES, PROV_GENERATED, XSD_DATETIME
from . import feed
from .catalogue import Catalogue, stamp
from .names import KINDS

if TYPE_CHECKING:
    from .core import Store

MB_AGENT = T.MB + "reviewOf"
MB_CANDIDATES = T.MB + "isniCandidates"
MB_RESPONSE_FILE = T.MB + "isniResponse"
MB_DECISION = T.MB + "isniDecision"
AGENT_CLASSES = KINDS
PAGE = 500  # activities read at a time


def review_graph(base: str) -> str:
    return f"{base}/graph/isni-review"


# what changed ------------------------------------------------------------------------------------

def agents_changed_since(store: Store, cat: Catalogue, since: str) -> list[str]:
    """Agents created or updated at or after ``since`` (an xsd:dateTime), each once, in the
    order the feed first names them after that time; then the agents of authority records
    loaded or changed since then that the feed did not name."""
    seen: dict[str, None] = {}
    log = cat.feed(store.next_sequence() - 1)
    position = log.at_time(since, "agent")
    while True:
        items = log.items(position, PAGE, "agent")
        if not items:
            break
        for a in items:
            if a.verb in ("Create", "Update"):
                seen.setdefault(a.iri, None)
        position += len(items)
    agents = f"{store.base}/agent/"
    for graph in authority_graphs_since(cat, since):
        for entity in described(store, graph):
            if entity.startswith(agents):  # (an authority record of a work or a concept is no agent's)
                seen.setdefault(entity, None)
    return list(seen)


def authority_graphs_since(cat: Catalogue, since: str) -> list[str]:
    """Record graphs of authority records (catalogue rows ``authority-…``) changed since then,
    deleted ones too (their agent is reported as deleted)."""
    with cat._lock:
        rows = cat.conn.execute("SELECT graph FROM records WHERE id >= 'authority-' AND id < 'authority.' "
                                "AND datestamp >= ? ORDER BY id", (stamp(since),)).fetchall()
    return [r[0] for r in rows]


def described(store: Store, graph: str) -> list[str]:
    """What a record graph describes (``<graph> mb:describes ?x``, in the graph itself)."""
    g = ox.NamedNode(graph)
    return [q.object.value for q in store._store.quads_for_pattern(g, ox.NamedNode(MB_DESCRIBES), None, g)
            if isinstance(q.object, ox.NamedNode)]


def agent_kind(store: Store, iri: str) -> str | None:
    """person, corporate or family, from the entity's class; None for anything else."""
    return AGENT_CLASSES.get(feed.class_of(store, iri) or "")


def with_authority_id(store: Store, identifier: str) -> list[str]:
    """Entities whose authority record has the identifier ``(ORG)CTRL``."""
    return store.subjects_with(T.MB_AUTHORITY_ID, identifier)


# an agent's works --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Created:
    work: str
    title: str
    roles: tuple[str, ...]  # the role elements stated beside "has creator agent"
    graph: str  # a graph that says so (a record's, or "" for a work's core)


def works_created(store: Store, agent: str, limit: int, roles: tuple[str, ...]) -> list[Created]:
    """Up to ``limit`` works the agent created (``rdaw:P10065``, the general creator element every
    role element is stated beside), each once, with its preferred title; ``roles``: the role
    elements to look for beside it."""
    out: list[Created] = []
    seen: set[str] = set()
    node = ox.NamedNode(agent)
    for q in store._store.quads_for_pattern(None, ox.NamedNode(T.W_CREATOR), node, None):
        work = q.subject
        if not isinstance(work, ox.NamedNode) or work.value in seen:
            continue
        seen.add(work.value)
        title = next((t.object.value for t in store._store.quads_for_pattern(
            work, ox.NamedNode(T.W_PREFERRED_TITLE), None, ox.DefaultGraph())), "")
        if not title:
            continue  # a work without a title cannot be sent
        graph = q.graph_name
        stated = tuple(r for r in roles if any(True for _ in store._store.quads_for_pattern(
            work, ox.NamedNode(r), node, graph)))
        out.append(Created(work.value, title, stated, graph.value if isinstance(graph, ox.NamedNode) else ""))
        if len(out) >= limit:
            break
    return out


def manifestation_facts(store: Store, graph: str, predicates: tuple[str, ...]) -> dict[str, list[str]]:
    """Of the manifestation a record graph describes: the values of ``predicates``."""
    out: dict[str, list[str]] = {}
    if not graph:
        return out
    g = ox.NamedNode(graph)
    for m in described(store, graph):
        for p in predicates:
            for q in store._store.quads_for_pattern(ox.NamedNode(m), ox.NamedNode(p), None, g):
                out.setdefault(p, []).append(q.object.value)
    return out


# the review list ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Review:
    agent: str
    candidates: list[dict]
    response: str  # the file the candidates came in
    decision: str  # "" (open), "rejected", or the ISNI chosen
    when: str


def _entry(base: str, agent: str) -> str:
    return f"{review_graph(base)}#{agent.rsplit('/', 1)[-1]}"


def reviews(store: Store) -> Iterator[Review]:
    """Every entry of the review list, by agent (one range read of its graph)."""
    g = ox.NamedNode(review_graph(store.base))
    entries: dict[str, dict[str, str]] = {}
    for q in store._store.quads_for_pattern(None, None, None, g):
        entries.setdefault(q.subject.value, {})[q.predicate.value] = q.object.value
    for _, values in sorted(entries.items()):
        if MB_AGENT not in values:
            continue
        yield Review(values[MB_AGENT], json.loads(values.get(MB_CANDIDATES, "[]")), values.get(MB_RESPONSE_FILE, ""),
                     values.get(MB_DECISION, ""), values.get(PROV_GENERATED, ""))


def review_of(store: Store, agent: str) -> Review | None:
    g = ox.NamedNode(review_graph(store.base))
    values = {q.predicate.value: q.object.value for q in store._store.quads_for_pattern(
        ox.NamedNode(_entry(store.base, agent)), None, None, g)}
    if MB_AGENT not in values:
        return None
    return Review(values[MB_AGENT], json.loads(values.get(MB_CANDIDATES, "[]")), values.get(MB_RESPONSE_FILE, ""),
                  values.get(MB_DECISION, ""), values.get(PROV_GENERATED, ""))


def candidates_text(candidates: list[dict]) -> str:
    return json.dumps(candidates, sort_keys=True, ensure_ascii=False)


def put_review(store: Store, agent: str, candidates: list[dict], response: str, when: str,
               decision: str = "") -> None:
    """The agent's entry, in place of any it had (one transaction)."""
    g = review_graph(store.base)
    entry = ox.NamedNode(_entry(store.base, agent))
    body = [f"{entry} <{MB_AGENT}> {ox.NamedNode(agent)}",
            f"{entry} <{MB_CANDIDATES}> {ox.Literal(candidates_text(candidates))}",
            f"{entry} <{MB_RESPONSE_FILE}> {ox.Literal(response)}",
            f"{entry} <{PROV_GENERATED}> {ox.Literal(when, datatype=ox.NamedNode(XSD_DATETIME))}"]
    if decision:
        body.append(f"{entry} <{MB_DECISION}> {ox.Literal(decision)}")
    store._store.update(f"DELETE WHERE {{ GRAPH <{g}> {{ {entry} ?p ?o }} }} ;\n"
                        f"INSERT DATA {{ GRAPH <{g}> {{ {' .'.join(body)} . }} }}")
