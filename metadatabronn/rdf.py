"""Descriptions → N-Quads text, one named graph per source record.

Written as text lines rather than through an RDF library: this is the ingest hot path, and
pyoxigraph parses N-Quads far faster than Python can build graph objects (see
``docs/architecture.md``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .identity import assign, record_graph
from .mapping import terms as T
from .mapping.model import IRI, Description, Entity, Kind, Lit

PROV_GENERATED = "http://www.w3.org/ns/prov#generatedAtTime"
DCT_SOURCE = "http://purl.org/dc/terms/source"
DCT_MODIFIED = "http://purl.org/dc/terms/modified"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
AS = "https://www.w3.org/ns/activitystreams#"
AS_TOMBSTONE = AS + "Tombstone"
AS_FORMER_TYPE = AS + "formerType"
AS_DELETED = AS + "deleted"
MB_KEY = T.MB + "key"
MB_RECORD = T.MB + "Record"
MB_DESCRIBES = T.MB + "describes"

CLASS = {
    Kind.WORK: T.C_WORK, Kind.EXPRESSION: T.C_EXPRESSION, Kind.MANIFESTATION: T.C_MANIFESTATION,
    Kind.ITEM: T.C_ITEM, Kind.PERSON: T.C_PERSON, Kind.CORPORATE: T.C_CORPORATE,
    Kind.FAMILY: T.C_FAMILY, Kind.CONCEPT: T.C_CONCEPT,
}

_BAD_IRI_CHARS = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def literal(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    # JSON string syntax is a subset of N-Triples' STRING_LITERAL_QUOTE once non-ASCII is left as is.
    s = json.dumps(text, ensure_ascii=False)
    if lang:
        return f"{s}@{lang}"
    if datatype:
        return f"{s}^^<{datatype}>"
    return s


def iri(value: str) -> str:
    if _BAD_IRI_CHARS.search(value):
        value = _BAD_IRI_CHARS.sub(lambda m: "%%%02X" % ord(m.group(0)), value)
    return f"<{value}>"


@dataclass(slots=True)
class Serialised:
    """One record as N-Quads, with what the store and the summary need to know of it."""

    graph: str
    manifestation: str
    nquads: str
    registered: list[tuple[str, str]]
    counts: dict[str, int]


def serialise(description: Description, base: str, *, source: str, source_hash: str, when: str,
              registry: dict[str, str] | None = None) -> Serialised:
    """The record's named graph: its entities, the carried MARC and its provenance."""
    graph = record_graph(base, description.control_number)
    iris, registered = assign(base, description, registry)
    g = f" <{graph}> .\n"
    lines: list[str] = []
    append = lines.append
    counts = {"works": 0, "expressions": 0, "manifestations": 0, "agents": 0, "items": 0}
    for entity in description.entities:
        s = iri(iris[id(entity)])
        kind = entity.kind
        if kind is not Kind.CONCEPT or not entity.basis[0] == "uri" or entity.statements:
            append(f"{s} <{T.RDF_TYPE}> <{CLASS[kind]}>{g}")
        for predicate, value in entity.statements:
            if isinstance(value, Lit):
                o = literal(value.text, value.lang, value.datatype)
            elif isinstance(value, IRI):
                o = iri(value.value)
            else:
                o = iri(iris[id(value)])
            append(f"{s} <{predicate}> {o}{g}")
    for k, v in registered:
        append(f"<{v}> <{MB_KEY}> {literal(k)}{g}")
    m = iris[id(description.manifestation)]
    gs = f"<{graph}>"
    append(f"{gs} <{T.RDF_TYPE}> <{MB_RECORD}>{g}")
    append(f"{gs} <{MB_DESCRIBES}> <{m}>{g}")
    append(f"{gs} <{DCT_SOURCE}> {literal(source)}{g}")
    append(f"{gs} <{PROV_GENERATED}> {literal(when, datatype=XSD_DATETIME)}{g}")
    append(f"{gs} <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}")
    if description.carried:
        append(f"{gs} <{T.MB_CARRIED}> {literal(description.carried)}{g}")
    for element in description.inferred:
        append(f"{gs} <{T.MB_INFERRED}> <{element}>{g}")
    return Serialised(graph, m, "".join(lines), registered, counts)


def tombstone(base: str, control_number: str, identifiers: list[str], *, source: str,
              source_hash: str, when: str) -> Serialised:
    """What is left of a deleted manifestation: its IRI, its identifiers and when it went."""
    from .identity import manifestation_id

    graph = record_graph(base, control_number)
    m = f"{base}/manifestation/{manifestation_id(control_number)}"
    g = f" <{graph}> .\n"
    lines = [
        f"<{m}> <{T.RDF_TYPE}> <{AS_TOMBSTONE}>{g}",
        f"<{m}> <{AS_FORMER_TYPE}> <{T.C_MANIFESTATION}>{g}",
        f"<{m}> <{AS_DELETED}> {literal(when, datatype=XSD_DATETIME)}{g}",
        f"<{graph}> <{T.RDF_TYPE}> <{MB_RECORD}>{g}",
        f"<{graph}> <{MB_DESCRIBES}> <{m}>{g}",
        f"<{graph}> <{DCT_SOURCE}> {literal(source)}{g}",
        f"<{graph}> <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}",
    ]
    for ident in dict.fromkeys([control_number, *identifiers]):
        lines.append(f"<{m}> <{T.M_IDENTIFIER}> {literal(ident)}{g}")
    return Serialised(graph, m, "".join(lines), [], {})
