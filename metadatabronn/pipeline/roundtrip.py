"""The round trip without the store: MARC → entities → MARC, and how much came back.

Each record is converted, written back as ISO 2709, read again with pymarc (what a library
system would do) and compared with the original, field by field and subfield by subfield.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from pymarc import Record

from ..errors import MetadatabronnError, RecordError
from ..mapping.convert import convert
from ..mapping.reverse import Options, convert_back
from ..marc import Chunk, iter_chunks, record_kind
from ..marc.compare import compare
from ..marc.writer import encode
from ..marc.fidelity import Fidelity
from ..marc.kinds import RecordKind
from ..marc.parse import parse_chunk
from .processes import Processes

log = logging.getLogger(__name__)
_KIND = re.compile(r"\b(byte|length|address|entry|at) \d+")


@dataclass
class RoundTrip:
    """What a round trip measured: the fidelity, and the records it could not take part in."""

    fidelity: Fidelity
    records: int = 0
    skipped: Counter = field(default_factory=Counter)  # input that is not a convertible bibliographic record
    unreadable: list[str] = field(default_factory=list)  # output pymarc could not read again: a defect
    seconds: float = 0.0

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        out = self.fidelity.to_json()
        out["skipped"] = dict(self.skipped)
        out["unreadable"] = self.unreadable
        out["seconds"] = round(self.seconds, 3)
        out["records_per_second"] = round(self.records_per_second, 1)
        return out


def _batch(chunks: list[Chunk], options: Options, worst: int,
           measure: bool = True) -> tuple[Fidelity, Counter, list[str], int]:
    fidelity = Fidelity(worst)
    skipped: Counter = Counter()
    unreadable: list[str] = []
    done = _run_batch(chunks, options, measure, fidelity, skipped, unreadable)
    return fidelity, skipped, unreadable, done


def _run_batch(chunks, options, measure, fidelity, skipped, unreadable) -> int:
    done = 0
    for chunk in chunks:
        try:
            record = parse_chunk(chunk)
            kind = record_kind(record)
            if kind is not RecordKind.BIBLIOGRAPHIC:
                skipped[f"{kind.value} record"] += 1
                continue
            desc = convert(record, chunk.number)
            if desc.deleted:
                skipped["deleted record"] += 1
                continue
            out = convert_back(desc, options)
            data = encode(out, "marc")  # as export writes it: only what ISO 2709 can hold
        except RecordError as exc:
            # Each named, as ingest names them; counted by kind of fault ("invalid UTF-8 in field
            # N at byte N"), not by every byte offset.
            log.warning("%s record %d%s: %s", chunk.source, chunk.number,
                        f", field {exc.tag}" if exc.tag else "", exc.reason)
            skipped[_KIND.sub(r"\1 N", exc.reason.split(":", 1)[0])] += 1
            continue
        if not measure:  # conversion both ways only, as an export would do it
            done += 1
            continue
        try:
            again = Record(data=data, force_utf8=True)
        except Exception as exc:  # noqa: BLE001 - any failure to reread is the defect being measured
            unreadable.append(f"{chunk.source} record {chunk.number}: {exc}")
            continue
        fidelity.add(compare(record, again, chunk.number))
        done += 1
    return done


def roundtrip(paths: list[str], *, workers: int = 2, options: Options = Options(), worst: int = 20,
              progress: Callable[[int], None] | None = None, measure: bool = True) -> RoundTrip:
    """Convert every record of ``paths`` to entities and back (ISO 2709), in memory, and
    compare each with its original once pymarc has read it again. ``measure=False`` leaves
    the reading and comparing out: the conversion alone, for benchmarks."""
    for p in paths:
        if not Path(p).is_file():
            raise MetadatabronnError(f"no such input file: {p}")
    started = time.perf_counter()
    result = RoundTrip(Fidelity(worst))
    work = partial(_batch, options=options, worst=worst, measure=measure)
    pool = Processes(workers) if workers > 1 else None
    try:
        for fidelity, skipped, unreadable, done in _results(paths, work, pool, workers):
            result.fidelity.merge(fidelity)
            result.skipped.update(skipped)
            result.unreadable.extend(unreadable)
            result.records += done
            if progress is not None:
                progress(done + sum(skipped.values()) + len(unreadable))
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    result.seconds = time.perf_counter() - started
    return result


def _results(paths, work, pool, workers) -> Iterator:
    pending: deque = deque()
    batch: list[Chunk] = []
    for chunk in (c for p in paths for c in iter_chunks(p)):
        batch.append(chunk)
        if len(batch) >= 500:
            if pool is None:
                yield work(batch)
            else:
                pending.append(pool.apply_async(work, (batch,)))
                while len(pending) > workers * 3:
                    yield pending.popleft().get()
            batch = []
    if batch:
        if pool is None:
            yield work(batch)
        else:
            pending.append(pool.apply_async(work, (batch,)))
    while pending:
        yield pending.popleft().get()
