"""Descriptions → N-Quads text, one named graph per source record.

Written as text lines rather than through an RDF library: this is the ingest hot path, and
pyoxigraph parses N-Quads far faster than Python can build graph objects (see
``docs/architecture.md``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .identity import assign, manifestation_id, record_graph
from .mapping import terms as T
from .mapping.model import IRI, Description, Kind, Lit

PROV_GENERATED = "http://www.w3.org/ns/prov#generatedAtTime"
DCT_SOURCE = "http://purl.org/dc/terms/source"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
AS = "https://www.w3.org/ns/activitystreams#"
AS_TOMBSTONE = AS + "Tombstone"
AS_FORMER_TYPE = AS + "formerType"
AS_DELETED = AS + "deleted"
MB_KEY = T.MB + "key"
MB_DESCRIBES = T.MB + "describes"
MB_SOURCE_RECORD = T.MB + "sourceRecord"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


def source_name(source: str) -> str:
    """What ``dcterms:source`` says of an input file: its name, never the path it was read from
    (which would tell the server's directory layout to every reader of the store)."""
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]

CLASS = {
    Kind.WORK: T.C_WORK, Kind.EXPRESSION: T.C_EXPRESSION, Kind.MANIFESTATION: T.C_MANIFESTATION,
    Kind.ITEM: T.C_ITEM, Kind.PERSON: T.C_PERSON, Kind.CORPORATE: T.C_CORPORATE,
    Kind.FAMILY: T.C_FAMILY, Kind.CONCEPT: T.C_CONCEPT,
}

_BAD_IRI_CHARS = re.compile(r'[\x00-\x20<>"{}|^`\\]')


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


def literal(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        s = f'"{text}"'
    else:
        # JSON string syntax is a subset of N-Triples' STRING_LITERAL_QUOTE once non-ASCII is left as is.
        s = json.dumps(text, ensure_ascii=False)
    if lang:
        return f"{s}@{lang}"
    if datatype:
        return f"{s}^^<{datatype}>"
    return s


def iri_value(value: str) -> str:
    """The IRI as it is written: characters N-Triples forbids are percent-encoded."""
    if _BAD_IRI_CHARS.search(value):
        return _BAD_IRI_CHARS.sub(lambda m: "%%%02X" % ord(m.group(0)), value)
    return value


def iri(value: str) -> str:
    return f"<{iri_value(value)}>"


# What identifies a shared entity, written once into the default graph when it is first
# minted. Everything else a record says about it is that record's contribution and stays in
# the record's graph, so that replacing or deleting a record takes exactly what it brought.
_CORE = {
    Kind.WORK: {T.W_PREFERRED_TITLE, T.W_AAP},
    Kind.EXPRESSION: {T.E_WORK, T.E_CONTENT_TYPE, T.E_LANGUAGE},
}
# Works and expressions keep their cluster key, so a cataloguer can ask why records share
# one; an agent or concept is found again by its IRI alone, minted from its key.
_KEYED = {Kind.WORK, Kind.EXPRESSION}
_SHARED = {Kind.WORK, Kind.EXPRESSION, Kind.PERSON, Kind.CORPORATE, Kind.FAMILY, Kind.CONCEPT}


@dataclass(slots=True)
class Serialised:
    """One record as N-Quads: its own graph, and the core of each shared entity it names.

    ``cores`` holds ``(key, iri, nquads)`` per shared entity; the loader writes a core only
    when the key is new to the store.
    """

    graph: str
    manifestation: str
    nquads: str
    cores: list[tuple[str, str, str]]
    # (subject, predicate, (kind, value, datatype, lang)) for the predicates asked for: the same
    # statements as the text, as the validation gate reads them, without parsing the text back.
    rows: list[tuple[str, str, tuple]] | None = None


def _object(value, iris) -> str:
    if isinstance(value, Lit):
        return literal(value.text, value.lang, value.datatype)
    if isinstance(value, IRI):
        return iri(value.value)
    return iri(iris[id(value)])


def _term(value, iris) -> tuple:
    """The object as the store has it once parsed: a plain literal is an xsd:string, and a
    language tag is in lower case."""
    if isinstance(value, Lit):
        if value.lang:
            return ("L", value.text, RDF_LANGSTRING, value.lang.lower())
        return ("L", value.text, value.datatype or XSD_STRING, None)
    if isinstance(value, IRI):
        return ("I", iri_value(value.value), None, None)
    return ("I", iri_value(iris[id(value)]), None, None)


def serialise(description: Description, base: str, *, source: str, source_hash: str, when: str,
              registry: dict[str, str] | None = None, rows_for: frozenset[str] | None = None,
              position: int | None = None) -> Serialised:
    """The record's named graph (entities, carried MARC, provenance) and its entities' cores.

    With ``rows_for``, also the entities' statements with those predicates, and their classes,
    as ``rows``; the record's provenance statements are not among them.
    """
    graph = record_graph(base, description.control_number)
    iris, keys = assign(base, description, registry)
    g = f" <{graph}> .\n"
    lines: list[str] = []
    append = lines.append
    cores: list[tuple[str, str, str]] = []
    cored: set[str] = set()
    # The gate's view of the statements, taken as they are written (a second form of one heading
    # adds no core statements, exactly as in the text).
    rows: list[tuple[str, str, tuple]] | None = [] if rows_for is not None else None

    def keep(subject: str, kind: Kind, statements) -> None:
        v = iri_value(subject)
        rows.append((v, T.RDF_TYPE, ("I", CLASS[kind], None, None)))
        rows.extend((v, p, _term(o, iris)) for p, o in statements if p in rows_for)

    for entity in description.entities:
        subject = iris[id(entity)]
        s = iri(subject)
        kind = entity.kind
        if kind in _SHARED:
            core = _CORE.get(kind)
            if subject in cored:
                # Two headings of one record that normalise to the same key ("Gibson, Charles H."
                # and "Gibson, Charles, H.") are one entity: its first form is its core, as in the store.
                if core is not None:
                    extra = [(p, o) for p, o in entity.statements if p not in core]
                    for predicate, value in extra:
                        append(f"{s} <{predicate}> {_object(value, iris)}{g}")
                    if rows is not None:
                        keep(subject, kind, extra)
                continue
            cored.add(subject)
            eg = " .\n"  # the default graph: the well's own statements of shared entities
            core_lines = [f"{s} <{T.RDF_TYPE}> <{CLASS[kind]}>{eg}"]
            if kind in _KEYED:
                core_lines.append(f"{s} <{MB_KEY}> {literal(keys[id(entity)])}{eg}")
            for predicate, value in entity.statements:
                if core is None or predicate in core:
                    core_lines.append(f"{s} <{predicate}> {_object(value, iris)}{eg}")
                else:
                    append(f"{s} <{predicate}> {_object(value, iris)}{g}")
            cores.append((keys[id(entity)], subject, "".join(core_lines)))
        else:
            append(f"{s} <{T.RDF_TYPE}> <{CLASS[kind]}>{g}")
            for predicate, value in entity.statements:
                append(f"{s} <{predicate}> {_object(value, iris)}{g}")
        if rows is not None:
            keep(subject, kind, entity.statements)
    m = iris[id(description.manifestation)]
    gs = f"<{graph}>"
    append(f"{gs} <{MB_DESCRIBES}> <{m}>{g}")
    append(f"{gs} <{DCT_SOURCE}> {literal(source_name(source))}{g}")
    if position is not None:  # where the record was in that file (1-based)
        append(f"{gs} <{MB_SOURCE_RECORD}> \"{int(position)}\"^^<{XSD_INTEGER}>{g}")
    append(f"{gs} <{PROV_GENERATED}> {literal(when, datatype=XSD_DATETIME)}{g}")
    append(f"{gs} <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}")
    if description.carried:
        append(f"{gs} <{T.MB_CARRIED}> {literal(description.carried)}{g}")
    for element in description.inferred:
        append(f"{gs} <{T.MB_INFERRED}> <{element}>{g}")
    return Serialised(graph, m, "".join(lines), cores, rows)


def tombstone(base: str, control_number: str, identifiers: list[str], *, source: str,
              source_hash: str, when: str) -> Serialised:
    """What is left of a deleted manifestation: its IRI, its identifiers and when it went."""
    graph = record_graph(base, control_number)
    m = f"{base}/manifestation/{manifestation_id(control_number)}"
    g = f" <{graph}> .\n"
    lines = [
        f"<{m}> <{T.RDF_TYPE}> <{AS_TOMBSTONE}>{g}",
        f"<{m}> <{AS_FORMER_TYPE}> <{T.C_MANIFESTATION}>{g}",
        f"<{m}> <{AS_DELETED}> {literal(when, datatype=XSD_DATETIME)}{g}",
        f"<{graph}> <{MB_DESCRIBES}> <{m}>{g}",
        f"<{graph}> <{DCT_SOURCE}> {literal(source_name(source))}{g}",
        f"<{graph}> <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}",
    ]
    for ident in dict.fromkeys([control_number, *identifiers]):
        lines.append(f"<{m}> <{T.M_IDENTIFIER}> {literal(ident)}{g}")
    return Serialised(graph, m, "".join(lines), [])
