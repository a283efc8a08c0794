"""The worker step: one record's bytes → its N-Quads and validation results. Pure.

Runs in worker processes; nothing here touches the store or any state outside its arguments.
"""

from __future__ import annotations

import hashlib
import logging
from typing import NamedTuple

from ..errors import RecordError
from ..identity import record_graph
from ..mapping import convert
from ..mapping.convert import record_control_number
from ..marc import Chunk, RecordKind, parse_chunk, record_kind
from ..rdf import serialise

log = logging.getLogger(__name__)


class Outcome(NamedTuple):
    """What became of one record in a worker.

    A named tuple with the N-Quads as UTF-8 bytes: results cross from the workers by pickle,
    and this form pickles several times faster than a dataclass of strings.
    """

    number: int
    status: str  # "ok", "deleted", "unchanged", "aside", "rejected"
    source: str
    graph: str = ""
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


def convert_chunk(chunk: Chunk, base: str, when: str) -> Outcome:
    """One record's bytes → its N-Quads, or the reason it cannot be stored. Pure."""
    digest = hashlib.sha1(chunk.data).hexdigest()
    try:
        record = parse_chunk(chunk)
        kind = record_kind(str(record.leader))
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
        s = serialise(description, base, source=chunk.source, source_hash=digest, when=when)
        return Outcome(chunk.number, "ok", chunk.source, graph=s.graph, nquads=s.nquads.encode("utf-8"),
                       cores=tuple((k, i, c.encode("utf-8")) for k, i, c in s.cores), digest=digest,
                       carried_tags=tuple(description.carried_tags),
                       control_number=description.control_number)
    except RecordError as exc:
        return Outcome(chunk.number, "rejected", chunk.source, reason=exc.reason, tag=exc.tag,
                       data=chunk.data, format=chunk.format.value)
    except Exception as exc:  # a record must never stop the run; its reason is kept with it
        log.debug("unexpected error in record %s", chunk.number, exc_info=True)
        return Outcome(chunk.number, "rejected", chunk.source,
                       reason=f"unexpected {type(exc).__name__}: {exc}", data=chunk.data,
                       format=chunk.format.value)


def _convert_batch(chunks: list[Chunk], base: str, when: str) -> list[Outcome]:
    return [convert_chunk(c, base, when) for c in chunks]


