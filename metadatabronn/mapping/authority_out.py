"""An authority record graph → a MARC 21 authority record, as it came in plus what the well changed.

The record's carried layout (``mb:carriedMarc``, layout version 3 of :mod:`.convert`) holds every
field in its order with its indicators and subfields, a value the entities hold written as it came
(``["value"]``). So the record goes out exactly as it came, and only what the well changed is
written anew:

- Leader lengths and base address, Leader/09 (UTF-8) and 005 (the time the record or its entity
  last changed in the well) are regenerated, as bibliographic MARC out does; Leader/05 is ``d``
  for a deleted record.
- An identifier a writer gave the entity (``mb:identifier "(isni)…"``, or an ``owl:sameAs`` to an
  ISNI, VIAF, ORCID or Wikidata URI) that the record does not give goes out as a new 024
  ``$a … $2 scheme``: ISNIs assigned through the ISNI flow reach the register this way. An
  identifier a writer removed after the record was loaded takes its 024 with it.
- A preferred name or access point (a work's preferred title, a concept's label) a writer changed
  after the record was loaded goes out in the 1XX: the new text is laid over the heading's
  subfields, each old subfield finding its part of the new text again (``$d`` stays ``$d``).

What a writer stated before the record was last loaded is older than the record, and the record
wins (as for bibliographic records, see ``Reading.record_statements``), except that an identifier
is never taken back by a later load that simply did not have it yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Mapping

from pymarc import Field, Indicators, Record, Subfield

from . import terms as T
from .authority_out_edited import edited, identifier_key, scheme_identifier
from .control import record_leader
from .text import layout_of

# (graph, predicate, object, is_literal, language, datatype), as ``Reading.about`` gives them
Row = tuple[str, str, str, bool, "str | None", "str | None"]

PROV_GENERATED = "http://www.w3.org/ns/prov#generatedAtTime"
AS_TOMBSTONE = "https://www.w3.org/ns/activitystreams#Tombstone"
MB_CLEARED = T.MB + "cleared"
MB_DESCRIBES = T.MB + "describes"


@dataclass(frozen=True)
class AuthoritySource:
    """What an authority record's MARC is written from: plain data, read off the store.

    ``own``: predicate → the values the record graph states of its entity. ``edited``: the
    elements writers stated after the record was loaded, each with the values of the writer that
    stated it last (empty: cleared). ``identifiers``: the identifiers writers give the entity now,
    whenever they gave them (``(scheme)value``, and ``owl:sameAs`` URIs)."""

    identifier: str
    entity: str
    carried: str
    modified: str = ""
    deleted: bool = False
    own: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    edited: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    identifiers: tuple[str, ...] = ()


# -- from the store's rows ------------------------------------------------------------------

def from_rows(graph: str, graph_rows: Iterable[Row], entity_rows: Iterable[Row], base: str,
              stamps: Mapping[str, str], modified: str = "") -> AuthoritySource | None:
    """The source of one authority record from the statements about its graph (layout, load
    time), those about its entity in any graph (``Reading.about(entity, raw=True)``), the times
    of the writer graphs among them and the entity's latest change (``modified``); None if the
    graph holds no authority record."""
    carried = loaded = entity = ""
    for _, p, o, *_ in graph_rows:
        if p == T.MB_CARRIED:
            carried = o
        elif p == PROV_GENERATED:
            loaded = o
        elif p == MB_DESCRIBES:
            entity = o
    entity_rows = list(entity_rows)
    own: dict[str, list[str]] = {}
    writers: dict[str, list[Row]] = {}
    edit = base.rstrip("/") + "/edit/"
    for row in entity_rows:
        g = row[0]
        if g == graph:
            own.setdefault(row[1], []).append(row[2])
        elif g.startswith(edit):
            writers.setdefault(g, []).append(row)
    ids = own.get(T.MB_AUTHORITY_ID, ())
    if not ids and not carried:
        return None
    identifier = ids[0] if ids else ""
    if not entity and entity_rows:
        entity = next((r[2] for r in entity_rows if r[1] == T.MB_AUTHORITY_ID), "")
    deleted = AS_TOMBSTONE in own.get(T.RDF_TYPE, ())
    later = {g: rows for g, rows in writers.items() if not loaded or _instant(stamps.get(g, "")) > _instant(loaded)}
    current = _stated(writers, stamps)
    identifiers = tuple(sorted(set(current.get(T.MB_IDENTIFIER, ())) | set(current.get(T.OWL_SAMEAS, ()))))
    latest = max((t for t in (loaded, modified) if t), key=_instant, default="")
    return AuthoritySource(identifier, entity, carried, latest, deleted,
                           {p: tuple(v) for p, v in own.items()}, _stated(later, stamps), identifiers)


def _stated(writers: Mapping[str, list[Row]], stamps: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Element → its values as the writer graph that stated it last gives them (a writer's
    ``mb:cleared`` states "none")."""
    owner: dict[str, str] = {}
    for g in sorted(writers, key=lambda g: (_instant(stamps.get(g, "")), g)):
        for row in writers[g]:
            owner[row[2] if row[1] == MB_CLEARED else row[1]] = g
    out: dict[str, list[str]] = {element: [] for element in owner}
    for g, rows in writers.items():
        for row in rows:
            if row[1] != MB_CLEARED and owner.get(row[1]) == g:
                out[row[1]].append(row[2])
    return {element: tuple(sorted(values)) for element, values in out.items()}


def _instant(stamp: str) -> datetime:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- the record -----------------------------------------------------------------------------

def to_marc(src: AuthoritySource) -> Record:
    """One MARC 21 authority record (a pymarc Record)."""
    if not src.carried:
        return _deleted_record(src)
    layout = layout_of(src.carried)
    leader = layout.get("leader", "")
    fields: list[Field] = []
    has_005 = False
    for entry in layout["fields"]:
        tag = entry[0]
        if len(entry) == 2:
            data = entry[1] if entry[1] is not None else ""
            if tag == "005":
                has_005 = True
                data = _stamp(src.modified) or data
            fields.append(Field(tag=tag, data=data))
            continue
        subfields = [Subfield(code, _written(value)) for code, value in entry[2] if _written(value) is not None]
        if not subfields:
            continue
        ind = (entry[1] + "  ")[:2]
        fields.append(Field(tag=tag, indicators=Indicators(ind[0], ind[1]), subfields=subfields))
    if not has_005 and src.modified:
        at = next((i for i, f in enumerate(fields) if f.tag > "005"), len(fields))
        fields.insert(at, Field(tag="005", data=_stamp(src.modified)))
    fields = edited(fields, src)
    # As bibliographic MARC out: lengths and base address regenerated, 09 UTF-8, 05 d when deleted
    record = Record(leader=record_leader(leader, src), force_utf8=True)
    record.fields = fields
    return record


def _written(value) -> str | None:
    """A layout subfield's value as it came: carried (a string) or held (``[value]``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None


def _stamp(modified: str) -> str:
    if not modified:
        return ""
    digits = re.sub(r"[^0-9]", "", modified[:19])
    return (digits + "000000")[:14] + ".0"


def _deleted_record(src: AuthoritySource) -> Record:
    """A deleted record whose layout is gone: Leader/05 d and its control number."""
    record = Record(leader="00000dz  a2200000n  4500", force_utf8=True)
    org, _, number = src.identifier[1:].partition(")")  # "(ORG)CTRL", always
    record.fields = [Field(tag="001", data=number), Field(tag="003", data=org)]
    if src.modified:
        record.fields.append(Field(tag="005", data=_stamp(src.modified)))
    return record


__all__ = ["AuthoritySource", "from_rows", "identifier_key", "scheme_identifier", "to_marc"]
