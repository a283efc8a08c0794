"""The worker step: one record's bytes → its N-Quads and validation results. Pure.

Runs in worker processes; nothing here touches the store or any state outside its arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from ..errors import RecordError
from . import aliases
from ..identity import key as work_key_of, record_graph
from ..mapping import convert
from ..mapping.convert import record_control_number
from ..marc import Chunk, RecordKind, parse_chunk, record_kind
from ..mapping.authority import convert_authority
from ..mapping.model import Lit
from ..rdf import nquads_of, serialise
from ..rdf_authority import serialise_authority
from ..store.record_text import TITLES, creators_in, titles_of
from ..store.copies import pack
from ..store.nquads import kept
from ..validate import Data, RecordReport, VIOLATION, check, load_profile, to_json, validation_statements
from ..validate.check import paths_of

log = logging.getLogger(__name__)


class Outcome(NamedTuple):
    """What became of one record in a worker.

    A named tuple with the N-Quads as UTF-8 bytes: results cross from the workers by pickle,
    and this form pickles several times faster than a dataclass of strings.
    """

    number: int
    status: str  # "ok", "deleted", "unchanged", "aside", "rejected", "invalid"
    source: str
    graph: str = ""
    manifestation: str = ""
    control_number: str = ""
    nquads: bytes = b""
    cores: tuple = ()  # (key, iri, N-Quads bytes) per shared entity
    digest: str = ""
    carried_tags: tuple = ()
    reason: str = ""
    tag: str | None = None
    kind: str = ""
    data: bytes = b""
    format: str = ""
    violations: int = 0
    warnings: int = 0
    report: str = ""  # JSON of the validation results, for a record kept aside
    text: tuple = ()  # (work IRI, titles, creators) for the catalogue's full-text search
    # The catalogue's copy of the record (store.copies), packed: its graph's statements as the
    # store reads them back (store.nquads.kept), or, for an authority record, its N-Quads.
    packed: bytes = b""
    aliased: str = ""  # the record's own work key, when an alias put it under its original's work
    own_key: str = ""  # the record's own work key, when the run's alias table was not made yet (aliases.DEFERRED)
    # An authority record (kind "authority"): its entity's class, and its names for the names index,
    # (entity IRI, kind, name, preferred) each. ``manifestation`` is then the entity's IRI.
    entity_class: str = ""
    names: tuple = ()
    links: tuple = ()  # its link keys and variant keys (mb:linkKey, mb:variantKey)
    variant_links: tuple = ()
    # An authority record's cores packed as ``packed`` is (store.copies), in the order of ``cores``:
    # the loader's indexer, which the end of a load waits for, then need not pack them.
    packed_cores: tuple = ()


@dataclass(frozen=True)
class Gate:
    """The validation gate: which profile, and what to do with a record that violates it."""

    profile: str
    on_invalid: str = "reject"  # "reject" | "keep" | "warn"
    fingerprint: str = ""  # changes whenever the profile's rules change


def digest_of(data: bytes, gate: Gate | None) -> str:
    """What a stored record is current against: its bytes and the rules it was checked by."""
    h = hashlib.sha1(data)
    if gate is not None:
        h.update(f"\0{gate.profile}\0{gate.on_invalid}\0{gate.fingerprint}".encode())
    return h.hexdigest()


@lru_cache(maxsize=8)
def _profile(name: str):
    return load_profile(name)


def convert_chunk(chunk: Chunk, base: str, when: str, gate: Gate | None = None, join: bool = True) -> Outcome:
    """One record's bytes → its N-Quads, or the reason it cannot be stored. Pure, but for the
    run's alias table (``aliases.active``), which ``join=False`` leaves aside."""
    digest = digest_of(chunk.data, gate)
    try:
        record = parse_chunk(chunk)
        kind = record_kind(record)
        if kind is RecordKind.AUTHORITY:
            return convert_authority_chunk(chunk, record, base, when, digest)
        if kind is not RecordKind.BIBLIOGRAPHIC:
            return Outcome(chunk.number, "aside", chunk.source, kind=kind.name.lower(),
                           reason=f"{kind.name.lower()} record (Leader/06 = {str(record.leader)[6:7]!r}): "
                                  "set aside, not converted as a bibliographic record",
                           data=chunk.data, format=chunk.format.value,
                           control_number=record_control_number(record) or "")
        description = convert(record, chunk.number)
        if description.deleted:
            return Outcome(chunk.number, "deleted", chunk.source, digest=digest,
                           graph=record_graph(base, description.control_number),
                           control_number=description.control_number)
        table = aliases.active() if join else None
        deferred = table is aliases.DEFERRED
        # The run joins it later if its table names this key (aliases.DEFERRED)
        own_key = work_key_of(description.work) if deferred else ""
        aliased = aliases.join(description, record, table) if table and not deferred else ""
        profile = _profile(gate.profile) if gate is not None else None
        s = serialise(description, base, source=chunk.source, source_hash=digest, when=when,
                      rows_for=paths_of(profile) if profile is not None else None, position=chunk.number)
        nquads = s.nquads
        said = s.statements
        violations = warnings = 0
        if profile is not None:
            results = check(Data.from_rows(s.rows), profile)
            violations = sum(1 for r in results if r.severity == VIOLATION)
            warnings = len(results) - violations
            if violations and gate.on_invalid == "reject":
                rep = RecordReport(chunk.source, chunk.number, description.control_number, results)
                # Every violation in the reason, and the field really at fault among the record's.
                reason, tag = rep.rejection(gate.profile, {f.tag for f in record.fields})
                return Outcome(chunk.number, "invalid", chunk.source, control_number=description.control_number,
                               reason=reason, tag=tag, data=chunk.data, format=chunk.format.value, own_key=own_key,
                               violations=violations, warnings=warnings,
                               report=json.dumps(json.loads(to_json([rep], gate.profile))["results"]))
            # Results live in the record's own graph: a fixed record's reload clears them.
            validation = validation_statements(s.graph, gate.profile, results)
            nquads += nquads_of(s.graph, validation)
            said = said + validation
        data = nquads.encode("utf-8")
        return Outcome(chunk.number, "ok", chunk.source, graph=s.graph, manifestation=s.manifestation,
                       nquads=data, packed=pack(kept(s.graph, said)),
                       cores=tuple((k, i, c.encode("utf-8")) for k, i, c in s.cores), digest=digest,
                       carried_tags=tuple(description.carried_tags),
                       control_number=description.control_number, violations=violations, warnings=warnings,
                       text=_text(description, s.work), aliased=aliased, own_key=own_key,
                       # kept so that the run can convert it again, without the alias or with it (run.ingest)
                       data=chunk.data if aliased or own_key else b"",
                       format=chunk.format.value if aliased or own_key else "")
    except RecordError as exc:
        return Outcome(chunk.number, "rejected", chunk.source, reason=exc.reason, tag=exc.tag,
                       data=chunk.data, format=chunk.format.value, control_number=exc.control_number or "")
    except Exception as exc:  # a record must never stop the run; its reason is kept with it
        log.debug("unexpected error in record %s", chunk.number, exc_info=True)
        return Outcome(chunk.number, "rejected", chunk.source,
                       reason=f"unexpected {type(exc).__name__}: {exc}", data=chunk.data,
                       format=chunk.format.value)


def convert_authority_chunk(chunk: Chunk, record, base: str, when: str, digest: str) -> Outcome:
    """An authority record → its graph's N-Quads and its entities' cores (no profile gate: the
    application profile is for bibliographic descriptions). Raises RecordError for an unusable one."""
    description = convert_authority(record, chunk.number)
    if description.deleted:
        s = serialise_authority(description, base, source=chunk.source, source_hash=digest, when=when)
        return Outcome(chunk.number, "deleted", chunk.source, digest=digest, graph=s.graph, manifestation=s.entity,
                       control_number=description.identifier, kind="authority", entity_class=s.entity_class)
    s = serialise_authority(description, base, source=chunk.source, source_hash=digest, when=when,
                            position=chunk.number)
    data = s.nquads.encode("utf-8")
    cores = tuple((k, i, c.encode("utf-8")) for k, i, c in s.cores)
    return Outcome(chunk.number, "ok", chunk.source, graph=s.graph, manifestation=s.entity, nquads=data,
                   packed=pack(data), cores=cores, digest=digest, control_number=description.identifier,
                   kind="authority", entity_class=s.entity_class, names=tuple(s.names), links=tuple(s.links),
                   variant_links=tuple(s.variant_links), packed_cores=tuple(pack(c) for _, _, c in cores))


def _text(description, work: str | None) -> tuple:
    """What search reads of a record, as the store will hold it (the catalogue index reads the
    same from the store when it is rebuilt)."""
    values: dict[str, list[str]] = {}
    for p, v in description.manifestation.statements:
        if p in TITLES and isinstance(v, Lit):
            values.setdefault(p, []).append(v.text)
    return work, titles_of(values), creators_in(description.layout)


def _convert_batch(chunks: list[Chunk], base: str, when: str, gate: Gate | None = None) -> list[Outcome]:
    return [convert_chunk(c, base, when, gate) for c in chunks]


