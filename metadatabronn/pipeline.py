"""Ingest: the only place the stages are chained.

read (main process) → parse + map + identity + N-Quads (worker processes, a pure function of
each record's bytes) → registry check, change log, bulk load (main process).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from .errors import MetadatabronnError, RecordError
from .identity import record_graph
from .mapping import convert
from .mapping.convert import record_control_number
from .marc import Chunk, Format, RecordKind, iter_chunks, parse_chunk, record_kind
from .rdf import serialise, tombstone
from .store import Store

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


@dataclass
class Summary:
    records_read: int = 0
    records_stored: int = 0
    records_rejected: int = 0
    records_new: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    records_deleted: int = 0
    records_aside: dict = field(default_factory=dict)
    rejection_reasons: dict = field(default_factory=dict)
    works: int = 0
    expressions: int = 0
    manifestations: int = 0
    agents: int = 0
    unmapped_fields: dict = field(default_factory=dict)
    seconds: float = 0.0
    records_per_second: float = 0.0
    rejects_file: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


class Rejects:
    """Records that could not be stored, kept for a person to fix: reasons and original bytes.

    Each run writes files of its own (``rejects-STAMP[-N].jsonl`` and, for ISO 2709 input,
    ``.mrc``); an earlier run's files are never overwritten.
    """

    def __init__(self, directory: Path, stamp: str):
        self.directory = directory
        self.stamp = stamp
        self.path: Path | None = None
        self._log = None
        self._raw = None
        self.count = 0

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            stem = f"rejects-{self.stamp}" + (f"-{n}" if n > 1 else "")
            try:
                self._log = open(self.directory / f"{stem}.jsonl", "x", encoding="utf-8")
            except FileExistsError:
                n += 1
                continue
            self.path = self.directory / f"{stem}.jsonl"
            return

    def add(self, o: Outcome) -> None:
        if self._log is None:
            self._open()
        self.count += 1
        try:
            text, encoding = o.data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(o.data).decode("ascii"), "base64"
        entry = {"source": o.source, "record": o.number, "tag": o.tag, "reason": o.reason,
                 "status": o.status, "format": o.format, "encoding": encoding, "data": text}
        self._log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        # The raw bytes too, in the input's own format, so a cataloguing tool can open them.
        if o.format == Format.ISO2709.value:
            if self._raw is None:
                self._raw = open(self.path.with_suffix(".mrc"), "xb")
            self._raw.write(o.data)

    def close(self) -> None:
        for f in (self._log, self._raw):
            if f is not None:
                f.close()


@dataclass
class Settings:
    store: Path
    base: str
    workers: int = 2
    batch_records: int = 2000
    rejects_dir: Path | None = None


def _outcomes(paths: Iterable[str], settings: Settings, when: str,
              known: Callable[[bytes], bool], pool) -> Iterator[Outcome]:
    """Outcomes of every record; conversion runs in the worker pool when there is one.

    A record whose exact bytes are already current in the store is not converted again: that
    makes re-loading a file cost little more than reading it.
    """
    work = partial(_convert_batch, base=settings.base, when=when)
    pending: deque = deque()
    batch: list[Chunk] = []

    def submit(chunks: list[Chunk]) -> Iterator[Outcome]:
        if pool is None:
            yield from work(chunks)
            return
        pending.append(pool.apply_async(work, (chunks,)))
        # A bounded window keeps memory flat however large the input.
        while len(pending) > settings.workers * 3:
            yield from pending.popleft().get()

    for chunk in (c for p in paths for c in iter_chunks(p)):
        if known(chunk.data):
            yield Outcome(chunk.number, "unchanged", chunk.source)
            continue
        batch.append(chunk)
        if len(batch) >= 200:
            yield from submit(batch)
            batch = []
    if batch:
        yield from submit(batch)
    while pending:
        yield from pending.popleft().get()


class _Loader:
    """Collects converted records and writes them to the store in bulk batches.

    Writing runs in a thread of its own (pyoxigraph releases the GIL while it loads), so the
    main thread keeps the conversion workers fed meanwhile.
    """

    def __init__(self, store: Store, when: str):
        self.store = store
        self.when = when
        rolled_back = store.roll_back()
        if rolled_back:
            log.warning("rolled back an interrupted load (%d graphs and change entries); "
                        "its records are loaded again when their input is", rolled_back)
        self.hashes = store.record_hashes()
        self._current = set(self.hashes.values())
        self.registry = store.registry()
        self.known = store.entity_iris()
        self.seq = store.next_sequence()
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="metadatabronn-loader", daemon=True)
        self._thread.start()
        self._reset()

    def _reset(self) -> None:
        self.parts: list[bytes] = []
        self.graphs: set[str] = set()
        self.replace: list[str] = []
        self.written: list[str] = []  # every graph and change entry the batch writes

    def add(self, o: Outcome, summary: Summary) -> None:
        if o.graph in self.graphs:  # the same record twice in one batch: the later one wins
            self.flush()
        old = self.hashes.get(o.graph)
        if old == o.digest:
            summary.records_unchanged += 1
            return
        text = o.nquads
        if o.status == "deleted":
            if old is not None:
                self._drain()  # the graph's identifiers must be read after its last write
            ids = self.store.identifiers(o.graph) if old is not None else []
            text = tombstone(self.store.base, o.control_number, ids, source=o.source,
                             source_hash=o.digest, when=self.when).nquads.encode("utf-8")
            change = "delete"
            summary.records_deleted += 1
        else:
            for k, iri, core in o.cores:
                known = self.registry.get(k)
                if known is not None and known != iri:
                    # The store gave this key another IRI (kept from an earlier minting or a merge).
                    text = text.replace(f"<{iri}>".encode(), f"<{known}>".encode())
                elif iri not in self.known:
                    self.known.add(iri)
                    self.parts.append(core)
                    self.written.append(iri)
            change = "update" if old is not None else "create"
            if old is None:
                summary.records_new += 1
            else:
                summary.records_updated += 1
        if old is not None:
            self.replace.append(o.graph)
        manifestation = text.split(b">", 1)[0][1:].decode() if text else ""
        self.parts.append(text)
        self.parts.append(self.store.change_quads(self.seq, change, manifestation, self.when).encode("utf-8"))
        self.written += (o.graph, self.store.change_iri(self.seq))
        self.seq += 1
        self.graphs.add(o.graph)
        if old is not None:
            self._current.discard(old)
        self._current.add(o.digest)
        self.hashes[o.graph] = o.digest

    def __len__(self) -> int:
        return len(self.graphs)

    def is_current(self, data: bytes) -> bool:
        """Are these exact record bytes what the store holds for their record?"""
        return hashlib.sha1(data).hexdigest() in self._current

    def flush(self) -> None:
        if self._error is not None:
            raise self._error
        if self.graphs:
            self._queue.put((self.written, self.replace, b"".join(self.parts)))
            self._reset()

    def _drain(self) -> None:
        self.flush()
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._queue.put(None)
            self._thread.join()

    def _write(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is not None:
                    continue
                written, replace, text = job
                # Named first: if the bulk load is cut short, the next run rolls it back.
                self.store.mark_pending(written)
                self.store.drop_graphs(replace)
                self.store.bulk_load(text)
                self.store.clear_pending()
            except BaseException as exc:  # handed to the main thread at its next flush
                self._error = exc
            finally:
                self._queue.task_done()


def ingest(paths: list[str], settings: Settings, progress: Callable[[int], None] | None = None) -> Summary:
    """Load MARC files into the store. One bad record never stops the run."""
    for p in paths:
        if not Path(p).is_file():
            raise MetadatabronnError(f"no such input file: {p}")
    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    when = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    summary = Summary()
    rejects = Rejects(settings.rejects_dir or Path(f"{settings.store}.rejects"), now.strftime("%Y%m%dT%H%M%S%f"))
    carried: Counter = Counter()
    reasons: Counter = Counter()
    aside: Counter = Counter()
    # Workers are forked before the store is opened, so none of them holds a handle on it.
    pool = multiprocessing.get_context("fork").Pool(settings.workers) if settings.workers > 1 else None
    try:
        store = Store(settings.store, settings.base)
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    loader = None
    try:
        loader = _Loader(store, when)
        for o in _outcomes(paths, settings, when, loader.is_current, pool):
            summary.records_read += 1
            if o.status == "unchanged":
                summary.records_stored += 1
                summary.records_unchanged += 1
            elif o.status in ("ok", "deleted"):
                summary.records_stored += 1
                carried.update(o.carried_tags)
                loader.add(o, summary)
                if len(loader) >= settings.batch_records:
                    loader.flush()
            else:
                summary.records_rejected += 1
                rejects.add(o)
                if o.status == "aside":
                    aside[o.kind] += 1
                    reasons[f"{o.kind} record set aside"] += 1
                else:
                    reasons[_reason_class(o)] += 1
                    log.warning("%s record %d%s: %s", o.source, o.number,
                                f", field {o.tag}" if o.tag else "", o.reason)
            if progress is not None:
                progress(1)
        loader.close()
        _count_entities(store, summary)
    except BaseException:
        if loader is not None:
            loader.close()
        raise
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        rejects.close()
        store.close()
    summary.records_aside = dict(aside)
    summary.rejection_reasons = dict(reasons.most_common())
    summary.unmapped_fields = dict(sorted(carried.items()))
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.records_per_second = round(summary.records_read / summary.seconds, 1) if summary.seconds else 0.0
    summary.rejects_file = str(rejects.path) if rejects.path else None
    return summary


def _reason_class(o: Outcome) -> str:
    reason = o.reason.split(":", 1)[0]
    return f"field {o.tag}: {reason}" if o.tag else reason


def _count_entities(store: Store, summary: Summary) -> None:
    from .mapping import terms as T

    def n(cls: str) -> int:
        return store.count(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{cls}> }}")

    summary.works = n(T.C_WORK)
    summary.expressions = n(T.C_EXPRESSION)
    summary.manifestations = n(T.C_MANIFESTATION)
    summary.agents = n(T.C_PERSON) + n(T.C_CORPORATE) + n(T.C_FAMILY)


def query(store_path: Path, base: str, sparql: str, fmt: str) -> bytes:
    store = Store(store_path, base, read_only=True)
    try:
        return store.serialise_results(store.query(sparql), fmt)
    finally:
        store.close()


def explain_records(path: str, first: str, second: str) -> str:
    """Convert two records of a file and say whether, and why, they share a work."""
    from .identity import explain

    wanted = {first, second}
    found: dict[str, object] = {}
    for chunk in iter_chunks(path):
        try:
            record = parse_chunk(chunk)
        except RecordError:
            continue
        cn = record.get("001").data.strip() if record.get("001") else ""
        for w in wanted:
            if w in (str(chunk.number), cn) and w not in found:
                found[w] = convert(record, chunk.number)
        if len(found) == len(wanted):
            break
    missing = wanted - set(found)
    if missing:
        raise MetadatabronnError(f"not found in {path}: {', '.join(sorted(missing))}")
    return str(explain(found[first], found[second]))
