"""What writers (cataloguers, partners) say about an entity, kept apart from what records say.

Each organisation's statements about one entity live in a named graph of their own,
``{base}/edit/{organisation}/{kind}/{id}``, with ``prov:wasAttributedTo`` the organisation and the
user and ``prov:generatedAtTime`` the time of the write. The entity's core (default graph) links
each such graph with ``mb:statedIn``, so a reader finds them in one look-up.

**The entity as the well states it** (:func:`effective`) is the union of what its core and its
records say, except for the elements a writer stated: for each element, the writer graph that
stated it last gives its values (``<entity> mb:cleared <element>`` says "none"). A writer graph
holds only the elements that writer changed: a write is compared with what the others state
(:func:`plan`), and an element whose values it leaves as they are is not stated, so records
loaded later still add to it. A write then reads back as it was written, and a record nobody
edited keeps its own values in MARC out (the override applies to records loaded before the
edit only: see ``Reading.record_statements``).

The entity tag (ETag) is a digest of every statement about the entity in every graph, so any
change to it, by a write or by a record, makes an older tag stale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable
from urllib.parse import quote

import pyoxigraph as ox

from ..errors import EditRefused, StoreError
from ..mapping import terms as T
from ..rdf import AS, PROV_GENERATED, XSD_DATETIME
from .layout import AS_TOMBSTONE, STORE_GRAPH

if TYPE_CHECKING:
    from .core import Store

MB_STATED_IN = T.MB + "statedIn"
MB_CLEARED = T.MB + "cleared"
MB_EDITOR = T.MB + "editor"
PROV_ATTRIBUTED = "http://www.w3.org/ns/prov#wasAttributedTo"
DCT_IS_REPLACED_BY = "http://purl.org/dc/terms/isReplacedBy"
AS_FORMER_TYPE = AS + "formerType"
AS_DELETED = AS + "deleted"
# The well's own statements: a write may repeat them as they are, never set them.
RESERVED = frozenset({T.MB + "key", MB_STATED_IN, MB_CLEARED, DCT_IS_REPLACED_BY, T.OWL_SAMEAS, AS_FORMER_TYPE,
                      AS_DELETED, T.MB + "inferred"})
CLASSES = {"work": (T.C_WORK,), "expression": (T.C_EXPRESSION,), "manifestation": (T.C_MANIFESTATION,),
           "item": (T.C_ITEM,), "agent": (T.C_PERSON, T.C_CORPORATE, T.C_FAMILY), "concept": (T.C_CONCEPT,)}
# A manifestation is described by its record: a write may only relink it to another expression
# (and that expression's work).
MANIFESTATION_WRITABLE = frozenset({T.RDF_TYPE, T.M_EXPRESSION, T.M_WORK})

# (graph, predicate, object, is_literal, language, datatype), as Reading.about gives them
Row = tuple[str, str, str, bool, "str | None", "str | None"]
# (predicate, object, is_literal, language, datatype): one value of the entity
Value = tuple[str, str, bool, "str | None", "str | None"]


@dataclass(frozen=True)
class Author:
    """Who writes: the organisation (its graph) and the user within it."""

    org: str
    user: str


def writer_graph(base: str, org: str, iri: str) -> str:
    """The graph of what ``org`` says about ``iri`` (an IRI under ``base``)."""
    return f"{base}/edit/{quote(org, safe='')}/{iri[len(base) + 1:]}"


def organisation_iri(base: str, org: str) -> str:
    return f"{base}/organisation/{quote(org, safe='')}"


def user_iri(base: str, org: str, user: str) -> str:
    """The user as an IRI: from who they are (a token's subject), not how they are shown
    ("ada (ada.l)" is subject "ada" with a display name)."""
    subject = user.split(" (", 1)[0] if user.endswith(")") else user
    return f"{base}/organisation/{quote(org, safe='')}/user/{quote(subject, safe='')}"


def is_writer_graph(base: str, graph: str) -> bool:
    return graph.startswith(f"{base}/edit/")


def state_tag(rows: Iterable[Row]) -> str:
    """A digest of every statement about an entity, graph names included: the entity's tag.

    The rows in the order of their fields as text (None as ""), the ``repr`` of each in turn."""
    h = hashlib.blake2b(digest_size=10)
    h.update("".join(map(repr, sorted(rows, key=lambda r: tuple("" if x is None else str(x) for x in r))))
             .encode("utf-8"))
    return h.hexdigest()


def effective(rows: list[Row], stamps: dict[str, str], base: str, *, leaving: str | None = None) -> list[Row]:
    """The statements the well makes about the entity: its core and records', each element a
    writer stated taken from the writer graph that stated it last (by ``stamps``, the graphs'
    times). ``leaving``: a writer graph to leave out (what the others state)."""
    writers: dict[str, list[Row]] = {}
    rest: list[Row] = []
    for row in rows:
        g = row[0]
        if g == leaving:
            continue
        if g and is_writer_graph(base, g):
            writers.setdefault(g, []).append(row)
        else:
            rest.append(row)
    if not writers:
        return rest
    owner: dict[str, str] = {}  # element -> the graph that stated it last
    for g in sorted(writers, key=lambda g: (instant(stamps.get(g, "")), g)):
        for row in writers[g]:
            element = row[2] if row[1] == MB_CLEARED else row[1]
            owner[element] = g
    out = [r for r in rest if r[1] not in owner]
    for g, found in writers.items():
        out += [r for r in found if r[1] != MB_CLEARED and owner.get(r[1]) == g]
    return out


def instant(stamp: str) -> str:
    """An xsd:dateTime in UTC as the store gives it back (no trailing zeros in the fraction) in
    a form that sorts as time does: "…:01.5Z" is later than "…:01.45Z", not as text. Anything
    else (the gate's "~", a write not yet made) sorts after every time."""
    if not stamp or not stamp[0].isdigit():
        return stamp or ""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return f"{head}.{frac.ljust(9, '0')}"


def values_of(rows: Iterable[Row]) -> dict[str, set[Value]]:
    """Element -> its values (each once, whatever graph says it)."""
    out: dict[str, set[Value]] = {}
    for _, p, o, lit, lang, dt in rows:
        out.setdefault(p, set()).add((p, o, lit, lang, dt))
    return out


def plan(others: list[Row], body: list[Value]) -> tuple[list[Value], list[str]]:
    """What a writer must state so that the entity reads as ``body``: the values of each element
    the body gives differently from what the others state (``others``, the effective view
    without this writer), and the elements the others state and the body leaves out (cleared).
    The well's own statements (:data:`RESERVED`) are never stated by a writer."""
    have = values_of(others)
    want: dict[str, set[Value]] = {}
    for v in body:
        want.setdefault(v[0], set()).add(v)
    stated: list[Value] = []
    for element, values in want.items():
        if element in RESERVED:
            continue
        if have.get(element, set()) != values:
            stated += sorted(values, key=lambda v: (v[1], v[2], v[3] or "", v[4] or ""))
    cleared = sorted(e for e in have if e not in want and e not in RESERVED and e != T.RDF_TYPE)
    return stated, cleared


def _literal(o: str, lang: str | None, dt: str | None) -> ox.Literal:
    if lang:
        return ox.Literal(o, language=lang)
    return ox.Literal(o, datatype=ox.NamedNode(dt)) if dt else ox.Literal(o)


def _term(o: str, lit: bool, lang: str | None, dt: str | None) -> str:
    return str(_literal(o, lang, dt)) if lit else str(ox.NamedNode(o))


def as_stored(row: Row) -> Row:
    """A row as the store gives it back once :func:`write` has written it: a literal's language
    tag and datatype as pyoxigraph makes them (a plain literal ``xsd:string``, a tag in lower
    case with ``rdf:langString``). A value a parser made is so already and stays as it is."""
    g, p, o, lit, lang, dt = row
    if not lit or dt is not None and (lang is None or lang == lang.lower()):
        return row
    term = _literal(o, lang, dt)
    return g, p, term.value, True, term.language, term.datatype.value


def stamps_of(store: Store, rows: Iterable[Row]) -> dict[str, str]:
    """The times of the writer graphs among ``rows``."""
    return {g: store.generated(g) or "" for g in {r[0] for r in rows} if g and is_writer_graph(store.base, g)}


@dataclass(frozen=True)
class Written:
    iri: str
    graph: str
    sequence: int  # the change-log entry of the write
    when: str


def write(store: Store, iri: str, author: Author, stated: list[Value], cleared: list[str], when: str, *,
          kind: str = "update", core: list[str] = ()) -> Written:
    """Replace what ``author`` says about ``iri`` with ``stated`` and ``cleared``, and log the
    change, in one transaction. ``core``: classes to give a new entity in the default graph
    (``kind`` "create")."""
    base = store.base
    g = writer_graph(base, author.org, iri)
    s = str(ox.NamedNode(iri))
    when_term = str(ox.Literal(when, datatype=ox.NamedNode(XSD_DATETIME)))
    seq = store.next_sequence()
    parts = [f"DROP SILENT GRAPH <{g}>"]
    inserts = []
    if stated or cleared:
        body = [f"<{g}> <{PROV_GENERATED}> {when_term} ; <{PROV_ATTRIBUTED}> <{organisation_iri(base, author.org)}>, "
                f"<{user_iri(base, author.org, author.user)}> ; <{MB_EDITOR}> {ox.Literal(author.user)} ."]
        body += [f"{s} <{p}> {_term(o, lit, lang, dt)} ." for p, o, lit, lang, dt in stated]
        body += [f"{s} <{MB_CLEARED}> <{p}> ." for p in cleared]
        inserts.append(f"GRAPH <{g}> {{ {' '.join(body)} }}")
        inserts.append(f"{s} <{MB_STATED_IN}> <{g}> .")
    else:
        parts.append(f"DELETE DATA {{ {s} <{MB_STATED_IN}> <{g}> }}")
    inserts += [f"{s} <{T.RDF_TYPE}> <{c}> ." for c in core]
    inserts.append(_entry(store, seq, kind, iri, when))
    parts.append("INSERT DATA { " + "\n".join(inserts) + " }")
    parts.append(store._sequence_update(seq, previous=seq - 1))
    _run(store, " ;\n".join(parts))
    # (the catch-up drops the copies of the entity and of the records naming it, in its transaction)
    store.catch_up(upto=seq)
    return Written(iri, g, seq, when)


def _entry(store: Store, seq: int, kind: str, iri: str, when: str) -> str:
    return f"GRAPH <{store.changes_graph}> {{ {store.change_quads(seq, kind, iri, when).replace(f' <{store.changes_graph}> .', ' .')} }}"


def _run(store: Store, sparql: str) -> None:
    try:
        store._store.update(sparql)
    except SyntaxError as exc:  # a defect: every term above is written by pyoxigraph itself
        raise StoreError(f"the write could not be run: {exc}") from exc
    except OSError as exc:
        from .writing import store_failure  # (writing reads through this module)

        raise store_failure("the write failed", exc) from exc


def users_of(store: Store, iri: str) -> list[str]:
    """Up to five statements elsewhere that name ``iri`` (records, cores, writers), as text."""
    out = []
    for q in store._store.quads_for_pattern(None, None, ox.NamedNode(iri), None):
        g = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if g in (store.changes_graph, STORE_GRAPH) or q.subject == ox.NamedNode(iri):
            continue
        out.append(f"{q.subject.value} ({g or 'the well'})")
        if len(out) >= 5:
            break
    return out


def delete(store: Store, iri: str, cls: str, when: str) -> Written:
    """The entity becomes a tombstone: its core and every writer's statements go; it keeps its
    IRI and class, with ``as:Tombstone``, ``as:formerType`` and ``as:deleted``. Refused while
    anything else names it (merge it into another instead)."""
    naming = users_of(store, iri)
    if naming:
        raise EditRefused(f"{iri} is still named by {', '.join(naming)}: merge it into another entity instead "
                          "of deleting it", status=409)
    node = ox.NamedNode(iri)
    graphs = sorted({q.object.value for q in store._store.quads_for_pattern(node, ox.NamedNode(MB_STATED_IN), None,
                                                                          ox.DefaultGraph())})
    seq = store.next_sequence()
    s = str(node)
    parts = [f"DROP SILENT GRAPH <{g}>" for g in graphs]
    parts.append(f"DELETE WHERE {{ {s} ?p ?o }}")
    parts.append("INSERT DATA { " + f"{s} <{T.RDF_TYPE}> <{cls}>, <{AS_TOMBSTONE}> ; <{AS_FORMER_TYPE}> <{cls}> ; "
                 f"<{AS_DELETED}> {ox.Literal(when, datatype=ox.NamedNode(XSD_DATETIME))} .\n"
                 + _entry(store, seq, "delete", iri, when) + " }")
    parts.append(store._sequence_update(seq, previous=seq - 1))
    _run(store, " ;\n".join(parts))
    # (the catch-up drops the copies of the entity and of the records naming it, in its transaction)
    store.catch_up(upto=seq)
    return Written(iri, "", seq, when)


def override(statements: list[tuple[str, str, str, bool]], overrides: dict[str, list[Row]], base: str,
             stamps: dict[str, str]) -> list[tuple[str, str, str, bool]]:
    """A record's statements ``(subject, predicate, object, is_literal)`` with each entity in
    ``overrides`` (its writer graphs' rows) read as the well states it (:func:`effective`)."""
    if not overrides:
        return statements
    out = [st for st in statements if st[0] not in overrides]
    for entity, writer_rows in overrides.items():
        rows = [("", p, o, lit, None, None) for s, p, o, lit in statements if s == entity] + writer_rows
        out += [(entity, p, o, lit) for _, p, o, lit, _, _ in effective(rows, stamps, base)]
    return out


def writer_rows(store: Store, iri: str, graphs: Iterable[str]) -> list[Row]:
    """The statements about ``iri`` in the given writer graphs."""
    out: list[Row] = []
    node = ox.NamedNode(iri)
    for g in graphs:
        for q in store._store.quads_for_pattern(node, None, None, ox.NamedNode(g)):
            o = q.object
            lit = isinstance(o, ox.Literal)
            out.append((g, q.predicate.value, o.value, lit, o.language if lit else None,
                        o.datatype.value if lit and o.datatype is not None else None))
    return out
