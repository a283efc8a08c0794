"""What the link report reads: the agents and concepts that headings named and no authority
record covers, by how many records name them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import pyoxigraph as ox

from ..mapping import terms as T
from .feed import DCT_IS_REPLACED_BY
from .names import KINDS

if TYPE_CHECKING:
    from .core import Store

_CLASSES = {**KINDS, T.SKOS + "Concept": "concept"}
_NAMES = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP, T.SKOS_PREFLABEL)
_IDS = (T.A_PERSON_ID, T.A_CORPORATE_ID, T.A_AGENT_ID, T.OWL_SAMEAS)


@dataclass
class Unlinked:
    entity: str
    kind: str
    name: str
    records: int  # record graphs that name it
    identifiers: tuple[str, ...]  # its $0 identifiers and $1 URIs, as its core and records give them


def unlinked(store: Store, limit: int | None = None) -> list[Unlinked]:
    """The entities minted from headings that no authority covers, the most named first.

    Walks the entity cores of the four classes once (index range reads), and for each counts the
    record graphs naming it. A report, not a per-request read."""
    found = list(_walk(store))
    found.sort(key=lambda u: (-u.records, u.name, u.entity))
    return found[:limit] if limit else found


def _walk(store: Store) -> Iterator[Unlinked]:
    s = store._store
    rdf_type = ox.NamedNode(T.RDF_TYPE)
    authority_id = ox.NamedNode(T.MB_AUTHORITY_ID)
    replaced = ox.NamedNode(DCT_IS_REPLACED_BY)
    records = store.base + "/record/"
    for cls, kind in _CLASSES.items():
        for q in s.quads_for_pattern(None, rdf_type, ox.NamedNode(cls), ox.DefaultGraph()):
            e = q.subject
            if not isinstance(e, ox.NamedNode) or not e.value.startswith(store.base + "/"):
                continue  # a concept known by its vocabulary's URI is that vocabulary's
            if next(iter(s.quads_for_pattern(e, authority_id, None, None)), None) is not None:
                continue
            if next(iter(s.quads_for_pattern(e, replaced, None, ox.DefaultGraph())), None) is not None:
                continue
            graphs = {g.graph_name.value for g in s.quads_for_pattern(None, None, e, None)
                      if isinstance(g.graph_name, ox.NamedNode) and g.graph_name.value.startswith(records)}
            if not graphs:
                continue
            name, ids = "", []
            for st in s.quads_for_pattern(e, None, None, None):
                p = st.predicate.value
                if not name and p in _NAMES:
                    name = st.object.value
                elif p in _IDS and st.object.value not in ids:
                    ids.append(st.object.value)
            yield Unlinked(e.value, kind, name, len(graphs), tuple(ids))


def is_authority(store: Store, entity: str) -> bool:
    """Whether an authority record describes the entity (one index look-up)."""
    try:
        node = ox.NamedNode(entity)
    except ValueError:
        return False
    return next(iter(store._store.quads_for_pattern(node, ox.NamedNode(T.MB_AUTHORITY_ID), None, None)), None) is not None
