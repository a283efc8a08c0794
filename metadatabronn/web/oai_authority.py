"""The OAI-PMH set ``authority``: the authority records, each as it would be exported (``marc21``:
a MARC 21 authority record from :mod:`..mapping.authority_out`), its record graph with its
entity's core (``rdf``), or a minimal Dublin Core (``oai_dc``: the preferred name as title, the
kind of entity as type, its identifiers).

An authority record's catalogue row has the identifier ``authority-{slug}``, so the authority
records are one range of the index's identifiers: a page of the set is a range read, and lists
without a set (or with the bibliographic sets) step over that range, so a harvester of the
bibliographic records gets what it got before authorities were loaded. A source set
(``source:{file}``) holds whatever that file brought.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape

from ..mapping import terms as T
from ..store import serialise_triples
from .records import DC_NS, OAI_DC_NS, marcxml

log = logging.getLogger(__name__)

SET = "authority"
PREFIX = "authority-"
# Above every identifier of the range (identifiers are ASCII: unreserved characters and %XX).
END = PREFIX + "\x7f"
MB_DESCRIBES = T.MB + "describes"
_KIND_NAMES = {T.C_PERSON: "Person", T.C_CORPORATE: "Corporate body", T.C_FAMILY: "Family",
               T.C_CONCEPT: "Concept", T.C_WORK: "Work"}
_PREFERRED = (T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP, T.W_AAP, T.SKOS_PREFLABEL, T.A_PERSON_NAME,
              T.A_CORPORATE_NAME, T.A_FAMILY_NAME, T.W_PREFERRED_TITLE)
_RDF_PREFIXES = {"rdac": T.RDAC, "rdaw": T.RDAW, "rdaa": T.RDAA, "skos": T.SKOS, "mb": T.MB,
                 "owl": "http://www.w3.org/2002/07/owl#"}
# An identifier "(scheme)value" as a URI a harvester can follow.
_URIS = {"isni": "https://isni.org/isni/{}", "viaf": "http://viaf.org/viaf/{}", "orcid": "https://orcid.org/{}",
         "wikidata": "http://www.wikidata.org/entity/{}"}


def is_authority(record_id: str) -> bool:
    return record_id.startswith(PREFIX) and record_id < END


def entity_of(store, graph: str) -> str | None:
    """The entity an authority record graph describes."""
    found = [o for g, p, o, *_ in store.about(graph, raw=True) if g == graph and p == MB_DESCRIBES]
    return min(found) if found else None


def marc_record(store, graph: str):
    """The authority record as export writes it (None if the graph holds none)."""
    from ..pipeline.export import authority_record

    return authority_record(store, graph)


def identifier_uri(identifier: str) -> str | None:
    """``(isni)000000012103268X`` → ``https://isni.org/isni/000000012103268X``; None for a scheme
    without a resolver."""
    if not identifier.startswith("(") or ")" not in identifier:
        return None
    scheme, _, value = identifier[1:].partition(")")
    if value.startswith(("http://", "https://")):  # given as a URI in the 024
        return value if scheme.lower() in _URIS else None
    template = _URIS.get(scheme.lower())
    return template.format(value.replace(" ", "")) if template and value else None


def dublin_core(store, graph: str) -> bytes | None:
    """A minimal Dublin Core of an authority: its preferred name (title), the kind of entity
    (type), and its identifiers (its IRI, its authority number, the URIs of ISNI, VIAF, ...)."""
    entity = entity_of(store, graph)
    if entity is None:
        return None
    rows = [r for r in store.about(entity) if r[0] in (graph, "")]
    own = {}
    for g, p, o, *_ in rows:
        own.setdefault(p, []).append((g != graph, o))  # the record's own statements first

    def values(p):
        return [o for _, o in sorted(own.get(p, ()))]

    out: list[tuple[str, str]] = []

    def add(element: str, value: str | None) -> None:
        if value and (element, value) not in out:
            out.append((element, value))

    add("title", next((v for p in _PREFERRED for v in values(p)), None))
    for t in values(T.RDF_TYPE):
        add("type", _KIND_NAMES.get(t))
    add("identifier", entity)
    for v in values(T.MB_AUTHORITY_ID) + values(T.MB_IDENTIFIER):
        add("identifier", v)
    for v in values(T.MB_IDENTIFIER):
        add("identifier", identifier_uri(v))
    for v in values(T.OWL_SAMEAS):
        add("identifier", v)
    body = "".join(f"<dc:{e}>{escape(v)}</dc:{e}>" for e, v in out)
    return (f'<oai_dc:dc xmlns:oai_dc="{OAI_DC_NS}" xmlns:dc="{DC_NS}" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd">{body}</oai_dc:dc>'
            ).encode("utf-8")


def rdf_xml(store, graph: str) -> bytes | None:
    """RDF/XML of the record graph (the record's statements about its entity, its nomens, its
    provenance) and of the entity's core."""
    from .recordgraphs import _graph_triples

    triples = _graph_triples(store, graph)
    if not triples:
        return None
    entity = entity_of(store, graph)
    if entity is not None:
        seen = set(triples)
        for g, p, o, lit, lang, dt in store.about(entity):
            row = (entity, p, o, lit, lang, dt)
            if g == "" and row not in seen:
                seen.add(row)
                triples.append(row)
    body = serialise_triples(triples, "rdfxml", _RDF_PREFIXES)
    if body.startswith(b"<?xml"):
        body = body.split(b"?>", 1)[1].lstrip()
    return body


def render(store, prefix: str, graphs: list[str]) -> list[bytes | None]:
    """The metadata of each authority record graph in format ``prefix``."""
    out: list[bytes | None] = []
    for graph in graphs:
        if prefix == "rdf":
            out.append(rdf_xml(store, graph))
        elif prefix == "oai_dc":
            out.append(dublin_core(store, graph))
        else:
            record = marc_record(store, graph)
            out.append(marcxml(record) if record is not None else None)
    return out


# the range of the index ----------------------------------------------------------------------

def page(catalogue, after: str, upto: int | None, limit: int, *, authority: bool, **filters) -> list:
    """A page of index rows: only the authority records (``authority``), or every other record
    (the range of authority records stepped over)."""
    if authority:
        rows = catalogue.page(max(after, PREFIX), upto, limit, **filters)
        return [r for r in rows if is_authority(r.id)] if rows and not is_authority(rows[-1].id) else rows
    rows = catalogue.page(after, upto, limit, **filters)
    cut = next((i for i, r in enumerate(rows) if is_authority(r.id)), None)
    if cut is None:
        return rows
    return rows[:cut] + catalogue.page(max(after, END), upto, limit - cut, **filters)


def count(catalogue, *, authority: bool, **filters) -> int:
    """How many rows :func:`page` goes through (no snapshot limit: an estimate, as for the rest)."""
    sql, args = catalogue._where("", None, filters.get("since"), filters.get("until"), filters.get("late"),
                                 filters.get("source"), filters.get("sourced", False))
    with catalogue._lock:
        inside = catalogue.conn.execute(f"SELECT COUNT(*) FROM records WHERE {sql} AND id >= ? AND id < ?",
                                        (*args, PREFIX, END)).fetchone()[0]
    if authority:
        return inside
    return catalogue.count(None, **filters) - inside


def present(catalogue) -> bool:
    """Whether the index holds any authority record (one look-up)."""
    rows = catalogue.page(PREFIX, None, 1)
    return bool(rows) and is_authority(rows[0].id)
