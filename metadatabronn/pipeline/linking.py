"""Linking the headings of bibliographic records to authority records.

A heading names an agent or a concept by its identity key (``identity.key``): its ``$1`` URI,
its ``$0`` identifier, Koha's ``$9`` local number, or its folded access point. An authority record
declares the keys that mean its entity (``mb:linkKey``; ``mb:variantKey`` for its 4XX variants):
its own identifier, 010 and 035 numbers, 024 identifiers and their URIs, its local number, its
preferred access point. So linking works in either order:

- **bibliographic records after the authority**: the loader looks each heading's key up among
  the declared keys and names the authority's entity instead of minting one (``Loader._link_iri``);
- **the authority after bibliographic records**: the entities headings made before it are merged
  into the authority's entity (:func:`absorb`): their IRIs redirect (``dcterms:isReplacedBy``),
  the feed says ``Deprecate``, and each record that named them names the authority's entity.

In either order, the order of precedence holds: a heading with a ``$0``/``$1`` is keyed by it and
never by its text, one with a ``$9`` by that, and only a heading with neither by its access point
(first among authorised access points, then among variants).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

from ..identity import mint
from ..mapping.model import Entity, Kind
from ..store import Store
from ..store.merging import merge_many

log = logging.getLogger(__name__)

_KINDS = {"agent|": Kind.PERSON, "concept|": Kind.CONCEPT}


def iri_of_key(base: str, key: str) -> str | None:
    """The IRI a heading with this identity key is minted (agents and concepts)."""
    for prefix, kind in _KINDS.items():
        if key.startswith(prefix):
            return mint(base, Entity(kind, ()), key)
    return None


@dataclass
class Absorbed:
    """What linking the entities made before an authority did."""

    merged: list[tuple[str, str, str]] = field(default_factory=list)  # (old IRI, authority's entity, key)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (old IRI, authority's entity, why)
    records: int = 0  # record graphs that now name the authority's entity instead
    variant_keys: set[str] = field(default_factory=set)  # the keys of variant access points among them


def absorb(store: Store, declared: Iterable[tuple[str, Iterable[str], Iterable[str]]],
           minted: set[str] | None = None) -> Absorbed:
    """Merge into each declared authority entity the entities headings minted under its keys.

    A key another authority declares as its own (not as a variant) belongs to that one. An
    entity already merged is left where it went. ``minted``, when the load knows it, is every
    entity the store holds: an IRI outside it is not looked up."""
    result = Absorbed()
    done: set[str] = set()
    pairs: list[tuple[str, str]] = []
    keys: dict[str, str] = {}
    for entity, links, variant_keys in declared:
        for key in (*links, *variant_keys):
            old = iri_of_key(store.base, key)
            if old is None or old == entity or old in done or minted is not None and old not in minted:
                continue
            if not store.has_core(old) or store.successor(old) is not None:
                continue
            owner = store.link_iri(key)
            if owner is not None and owner[0] != entity:
                continue
            done.add(old)
            pairs.append((old, entity))
            keys[old] = key
            if key in variant_keys and key not in links:
                result.variant_keys.add(key)
    merged, refused = merge_many(store, pairs, subjects_as_works=True)
    for m in merged:
        result.merged.append((m.merged, m.into, keys[m.merged]))
        result.records += m.records
    for old, entity, exc in refused:
        log.warning("heading entity %s not linked to %s: %s", old, entity, exc)
        result.refused.append((old, entity, str(exc)))
    if result.merged:
        from ..store import names

        names.remove(store, [old for old, _, _ in result.merged], everything=True)  # found as the authority's now
        log.info("linked %d entities that headings made earlier to their authority (%d records)",
                 len(result.merged), result.records)
    return result


@dataclass
class Entry:
    """One heading entity of the link report: why it is not linked, and what it might be."""

    entity: str
    kind: str
    name: str
    records: int
    identifiers: tuple[str, ...]
    reason: str
    candidates: list[tuple[str, str, str | None]]  # (authority's entity, its preferred name, the variant matched)

    def to_json(self) -> dict:
        return {"entity": self.entity, "kind": self.kind, "name": self.name, "records": self.records,
                "identifiers": list(self.identifiers), "reason": self.reason,
                "candidates": [{"entity": e, "name": n, **({"matched": m} if m else {})} for e, n, m in self.candidates]}


def report(store: Store, limit: int | None = None, candidates: int = 3) -> list[Entry]:
    """The headings no authority record covers, by how many records name them, each with the
    reason and the nearest authorities by name (the name index: preferred and variant names)."""
    from ..store import links, names
    from ..store.catalogue import Catalogue

    # A store opened read-only has no index of its own: the report reads it beside it.
    index = store.catalogue or Catalogue(store.path, read_only=True)
    try:
        return _report(store, index, limit, candidates, links, names)
    finally:
        if index is not store.catalogue:
            index.close()


def _report(store: Store, index, limit, candidates, links, names) -> list[Entry]:
    out = []
    for u in links.unlinked(store, limit):
        if u.identifiers:
            reason = ("no authority record has the identifier " + ", ".join(u.identifiers) +
                      ", and a heading with an identifier is linked by it alone")
        else:
            reason = ("no authority record has this access point, as its authorised or a variant form "
                      "(nor the local number of the heading's $9, where it has one)")
        near = []
        for hit in _nearest(names, index, u.name, u.kind, candidates * 4):
            if hit.entity != u.entity and links.is_authority(store, hit.entity):
                near.append((hit.entity, hit.name, hit.matched))
                if len(near) >= candidates:
                    break
        if not near:
            reason += "; no authority has a name like it"
        elif any(names.fold(n) == names.fold(u.name) for _, n, _ in near):
            reason += ("; an authority has this very name, under another thesaurus or kind: see the heading's "
                       "second indicator or $2, or its tag")
        out.append(Entry(u.entity, u.kind, u.name, u.records, u.identifiers, reason, near))
    return out


def _nearest(names, index, name: str, kind: str, limit: int):
    """Names like this one: every word of it, else its first word (a surname, a topic's head)."""
    if not name:
        return []
    hits = names.search(index, name, limit=limit, kind=kind)
    if not hits:
        first = name.replace(",", " ").replace("--", " ").split()
        hits = names.search(index, first[0], limit=limit, kind=kind) if first else []
    return hits
