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

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Mapping

from pymarc import Field, Indicators, Record, Subfield

from . import terms as T
from .control import record_leader
from .edited import insert_field
from .text import strip_heading

# (graph, predicate, object, is_literal, language, datatype), as ``Reading.about`` gives them
Row = tuple[str, str, str, bool, "str | None", "str | None"]

PROV_GENERATED = "http://www.w3.org/ns/prov#generatedAtTime"
AS_TOMBSTONE = "https://www.w3.org/ns/activitystreams#Tombstone"
MB_CLEARED = T.MB + "cleared"
MB_DESCRIBES = T.MB + "describes"

# The preferred access point and name elements a 1XX is written from, by kind of heading.
_AGENT_ELEMENTS = {
    "person": (T.A_PERSON_AAP, T.A_PERSON_NAME),
    "family": (T.A_FAMILY_AAP, T.A_FAMILY_NAME),
    "corporate": (T.A_CORPORATE_AAP, T.A_CORPORATE_NAME),
}
_CONCEPT_TAGS = frozenset({"150", "151", "155"})
_NAME_CODES = {"100": "abcdgjqu", "110": "abcdgnu", "111": "acdegjnqu"}
# A URI of an identifier scheme → the scheme's 024 $2 code and the identifier in the URI.
_URI_SCHEMES = (
    (re.compile(r"^https?://(?:www\.)?isni\.org/isni/([0-9]{15}[0-9Xx])$"), "isni"),
    (re.compile(r"^https?://(?:www\.)?viaf\.org/viaf/([0-9]+)/?$"), "viaf"),
    (re.compile(r"^https?://orcid\.org/([0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9Xx])$"), "orcid"),
    (re.compile(r"^https?://www\.wikidata\.org/(?:entity|wiki)/(Q[0-9]+)$"), "wikidata"),
)
_DATES = re.compile(r"(?:^|[ ,])(\(?[0-9]{3,4}\??-(?:[0-9]{3,4}\??)?\)?\.?)$")


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
    layout = json.loads(src.carried)
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
    _heading(fields, src)
    fields = _identifiers(fields, src)
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


# -- a heading edited in the well -------------------------------------------------------------

def _heading(fields: list[Field], src: AuthoritySource) -> None:
    """The 1XX with the preferred access point, name or label a writer changed after the load."""
    if not src.edited:
        return
    f = next((f for f in fields if f.tag[:1] == "1" and not f.is_control_field()), None)
    if f is None:
        return
    if f.tag in _CONCEPT_TAGS:
        new = _changed(src, T.SKOS_PREFLABEL, _label(f))
        if new is not None:
            f.subfields = _relabelled(f.subfields, new)
        return
    title_at = next((i for i, s in enumerate(f.subfields) if s.code == "t"), None)
    if f.tag == "130" or title_at is not None and f.tag in _NAME_CODES:
        # A work: its preferred title (130 $a $n $p, or a name/title heading's $t $n $p)
        parts = [i for i, s in enumerate(f.subfields) if s.code in ("anp" if title_at is None else "tnp")
                 and i >= (title_at or 0)]
        title = strip_heading(" ".join(f.subfields[i].value.strip() for i in parts))
        new = _changed(src, T.W_PREFERRED_TITLE, title) if parts else None
        if new is not None:
            f.subfields = _laid_over(f.subfields, parts, new)
        return
    if f.tag not in _NAME_CODES:
        return
    kind = "corporate" if f.tag != "100" else "family" if f.indicator1 == "3" else "person"
    aap_element, name_element = _AGENT_ELEMENTS[kind]
    codes = _NAME_CODES[f.tag]
    parts = [i for i, s in enumerate(f.subfields) if s.code in codes]
    if not parts:
        return
    aap = strip_heading(" ".join(f.subfields[i].value.strip() for i in parts))
    new = _changed(src, aap_element, aap)
    if new is None:
        parts = [i for i in parts if f.subfields[i].code in "ab"]
        name = strip_heading(" ".join(f.subfields[i].value.strip() for i in parts))
        new = _changed(src, name_element, name)
        if new is None or not parts:
            return
    f.subfields = _laid_over(f.subfields, parts, new)


def _changed(src: AuthoritySource, element: str, given: str) -> str | None:
    """The element's value a writer set after the load, when it is not the record's own."""
    values = src.edited.get(element)
    if not values:
        return None  # not stated, or cleared: the record's own heading stays
    own = set(src.own.get(element, ())) | {given}
    if own & set(values):
        return None
    return values[0]


def _laid_over(subfields: list[Subfield], parts: list[int], new: str) -> list[Subfield]:
    """The subfields ``parts`` (a heading's name part, in order) with the text ``new`` laid over
    them: each part after the first takes its own text again where the new text still has it
    (``$d 1941-`` in "…, 1941-2011" takes "1941-2011"), the first takes what comes before; a part
    the new text no longer has is left out. A final full stop the heading had is kept."""
    starts: list[tuple[int, int]] = []  # (subfield index, where its text starts in new)
    cursor = 0
    for i in parts[1:]:
        own = strip_heading(subfields[i].value).strip(" ,.:;")
        at = new.find(own, cursor) if own else -1
        if at < 0 and subfields[i].code == "d":
            m = _DATES.search(new, cursor)
            at = m.start(1) if m else -1
        if at > 0:
            starts.append((i, at))
            cursor = at + len(own)
    pieces: dict[int, str] = {}
    edges = [(parts[0], 0), *starts]
    for n, (i, at) in enumerate(edges):
        end = edges[n + 1][1] if n + 1 < len(edges) else len(new)
        # The record's own punctuation between the parts (",", or none as in Norwegian practice)
        piece = new[at:end].strip().rstrip(" ,;:")
        pieces[i] = piece + _tail(subfields[i].value) if piece else ""
    last_old = subfields[parts[-1]].value.rstrip()
    last_new = edges[-1][0]
    if last_old.endswith(".") and pieces[last_new] and pieces[last_new][-1] not in ".?!-),;:":
        pieces[last_new] += "."
    out = []
    for i, s in enumerate(subfields):
        if i in pieces:
            if pieces[i]:
                out.append(Subfield(s.code, pieces[i]))
        elif i not in parts:
            out.append(s)
    return out


def _tail(value: str) -> str:
    """The punctuation a subfield ends with before the next one (",", " :"), if any."""
    m = re.search(r"\s*[,;:]+$", value.rstrip())
    return m.group(0) if m else ""


def _label(f: Field) -> str:
    return " -- ".join(strip_heading(s.value) for s in f.subfields if s.code in "avxyz")


def _relabelled(subfields: list[Subfield], label: str) -> list[Subfield]:
    """A 15X with a concept's new label: its parts in the old subdivisions' codes, in order
    (``$x`` for a part beyond them)."""
    parts = [p.strip() for p in label.split(" -- ") if p.strip()]
    old = [s for s in subfields if s.code in "avxyz"]
    rest = [s for s in subfields if s.code not in "avxyz"]
    made = [Subfield(old[n].code if n < len(old) else ("a" if n == 0 else "x"), p) for n, p in enumerate(parts)]
    return made + rest


# -- identifiers ------------------------------------------------------------------------------

def identifier_key(ident: str) -> str:
    """``(scheme)value`` compared whatever its case and spacing (an ISNI is given with spaces)."""
    return "".join(ident.split()).casefold()


def scheme_identifier(value: str) -> tuple[str, str] | None:
    """``(scheme)value`` or a known identifier URI as (scheme, value); None for anything else."""
    if value.startswith("(") and ")" in value:
        scheme, ident = value[1:].split(")", 1)
        return (scheme, ident) if scheme and ident else None
    for pattern, scheme in _URI_SCHEMES:
        m = pattern.match(value)
        if m:
            return scheme, m.group(1).upper() if scheme == "isni" else m.group(1)
    return None


def _of_024(f: Field) -> str | None:
    a = next((s.value for s in f.subfields if s.code == "a"), None)
    scheme = next((s.value.strip() for s in f.subfields if s.code == "2"), None)
    if not a or not scheme:
        return None
    return identifier_key(f"({scheme}){a}")


def _keys(value: str) -> set[str]:
    """Every way an identifier is compared: as given, and as its scheme's identifier when it is
    (or its value is) a known identifier URI (``(viaf)http://viaf.org/viaf/1`` is ``(viaf)1``)."""
    keys = {identifier_key(value)}
    found = scheme_identifier(value)
    if found is not None:
        scheme, ident = found
        keys.add(identifier_key(f"({scheme}){ident}"))
        inner = scheme_identifier(ident.strip())
        if inner is not None and inner[0].casefold() == scheme.casefold():
            keys.add(identifier_key(f"({inner[0]}){inner[1]}"))
    return keys


def _identifiers(fields: list[Field], src: AuthoritySource) -> list[Field]:
    """Fields with the identifiers writers added as new 024s, and without the 024s of the
    identifiers a writer removed after the load."""
    own: set[str] = set()
    for value in (*src.own.get(T.MB_IDENTIFIER, ()), *src.own.get(T.OWL_SAMEAS, ()), src.identifier):
        if value:
            own |= _keys(value)
    for f in fields:
        if f.tag == "024":
            key = _of_024(f)
            if key:
                own |= _keys(key)
        elif f.tag == "035":
            own.update(identifier_key(s.value) for s in f.subfields if s.code in "az")
    stated = src.edited.get(T.MB_IDENTIFIER)
    if stated is not None:
        kept: set[str] = set()
        for value in (*stated, *src.edited.get(T.OWL_SAMEAS, ())):
            kept |= _keys(value)
        held: set[str] = set()
        for value in src.own.get(T.MB_IDENTIFIER, ()):
            held |= _keys(value)
        fields = [f for f in fields if not (f.tag == "024" and (key := _of_024(f)) in held
                                            and not _keys(key) & kept)]
    new: dict[str, tuple[str, str]] = {}
    for value in src.identifiers:
        found = scheme_identifier(value)
        if found is None or _keys(value) & own:
            continue
        scheme, ident = found
        key = min(_keys(value), key=lambda k: (len(k), k))  # one 024 for an identifier and its URI
        if key not in new:
            new[key] = (scheme, "".join(ident.split()) if scheme.casefold() == "isni" else ident)
    for scheme, ident in sorted(new.values(), key=lambda p: (p[0].casefold(), p[1])):
        insert_field(fields, Field(tag="024", indicators=Indicators("7", " "),
                                   subfields=[Subfield("a", ident), Subfield("2", scheme)]))
    return fields


__all__ = ["AuthoritySource", "from_rows", "identifier_key", "scheme_identifier", "to_marc"]
