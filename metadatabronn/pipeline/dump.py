"""Dumps: the whole well in one file, N-Quads, JSON-LD (one entity a line) or MARCXML, stating the
change-log position of the snapshot it was read from, so that a mirror loads it and then follows
the change feed from that position.

Where: ``--out FILE`` (gzip if it ends ``.gz``), else the dumps directory (``--dumps DIR``, else
``METADATABRONN_DUMPS``, else ``<store>/dumps``), as ``{format}-{sequence}.{ext}.gz`` with the
sequence zero-padded, so that names sort oldest first. A dump is written under a temporary name
beside its final one and renamed when whole: a reader never sees half a dump, and the one before
it stays until then. The newest few of each format are kept there (``keep``), older ones deleted.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import ConfigError, MetadatabronnError
from ..store import Store
from ..store import dumping
from .batches import batches, in_order
from .processes import Processes

log = logging.getLogger(__name__)

FORMATS = {"nquads": "nq", "jsonld": "jsonld", "marcxml": "xml"}  # format: file extension
KEEP = 3
HEADER = "metadatabronn dump"  # the words before the header's JSON in N-Quads and MARCXML
LEVEL = 3  # gzip: as fast as level 1 on N-Quads, 8 % smaller; level 6 takes twice as long
_NAME = re.compile(r"^(nquads|jsonld|marcxml)-(\d+)\.(nq|jsonld|xml)\.gz$")
EntityLine = Callable[[str, list], bytes]  # (entity IRI, its statements) -> one JSON-LD line


def dumps_dir(flag: str | os.PathLike | None, store: Path) -> Path:
    """The dumps directory: the flag, else ``METADATABRONN_DUMPS``, else ``<store>/dumps``."""
    value = flag or os.environ.get("METADATABRONN_DUMPS")
    return Path(value) if value else Path(store) / "dumps"


def is_dump_name(name: str) -> bool:
    """Whether ``name`` is one a dump is written under (never a path)."""
    return _NAME.match(name) is not None


def file_name(fmt: str, sequence: int) -> str:
    return f"{fmt}-{sequence:010d}.{FORMATS[fmt]}.gz"


@dataclass(frozen=True)
class DumpInfo:
    """A dump in the dumps directory, as the list and the change feed give it."""

    name: str
    format: str
    sequence: int
    time: str | None  # of the change-log entry at ``sequence``
    size: int  # bytes on disk (gzip)
    made: str | None = None
    path: Path | None = None


@dataclass
class Dumped:
    """What a dump wrote: where, its position, and how much (statements for N-Quads, entities
    for JSON-LD, records for MARCXML)."""

    path: Path
    format: str
    sequence: int
    time: str | None
    made: str
    items: int
    bytes: int
    seconds: float


def header(fmt: str, position: dumping.Position, base: str, made: str) -> dict:
    head = {"sequence": position.sequence, "time": position.time, "base": base, "format": fmt, "made": made}
    if position.feed is not None:
        head["position"] = position.feed
    return head


def header_line(fmt: str, head: dict) -> bytes:
    """The line that states a dump's position: a comment in N-Quads, a JSON object (line 1 of
    the JSON-LD lines), an XML comment after MARCXML's declaration."""
    text = json.dumps(head, ensure_ascii=False)
    if fmt == "nquads":
        return f"# {HEADER} {text}\n".encode()
    if fmt == "jsonld":
        return text.encode() + b"\n"
    return f"<!-- {HEADER} {text} -->\n".encode()  # "--" cannot occur in the JSON of these values


def read_header(path: Path) -> dict | None:
    """The header of a dump on disk (gzip or not), or None."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            for _ in range(2):  # MARCXML: the declaration comes first
                line = fh.readline(65536).decode("utf-8", "replace").strip()
                if line.startswith("{"):
                    return json.loads(line)
                at = line.find(HEADER + " {")
                if at >= 0:
                    body = line[at + len(HEADER) + 1:]
                    return json.loads(body[:-3].strip() if body.endswith("-->") else body)
    except (OSError, EOFError, ValueError):
        return None
    return None


@lru_cache(maxsize=256)
def _info(path: Path, mtime: int, size: int) -> DumpInfo | None:
    found = _NAME.match(path.name)
    if not found:
        return None
    head = read_header(path) or {}
    return DumpInfo(path.name, found.group(1), int(found.group(2)), head.get("time"), size, head.get("made"), path)


def listing(directory: Path, fmt: str | None = None) -> list[DumpInfo]:
    """The whole dumps in a directory, newest first (by sequence, then by when made)."""
    found = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if not _NAME.match(entry.name):
            continue
        try:
            st = entry.stat()
        except OSError:  # deleted meanwhile
            continue
        info = _info(Path(entry.path), st.st_mtime_ns, st.st_size)
        if info is not None and (fmt is None or info.format == fmt):
            found.append(info)
    return sorted(found, key=lambda i: (i.sequence, i.made or "", i.name), reverse=True)


def latest(dumps_dir: str | os.PathLike, fmt: str = "nquads") -> DumpInfo | None:
    """The newest whole dump of a format in the dumps directory (the change feed links it)."""
    found = listing(Path(dumps_dir), fmt)
    return found[0] if found else None


def prune(directory: Path, fmt: str, keep: int = KEEP) -> list[str]:
    """Delete all but the newest ``keep`` dumps of a format, and what dumps of it killed
    part-way left; the names deleted."""
    gone = []
    for info in listing(directory, fmt)[keep:]:
        try:
            os.unlink(directory / info.name)
            gone.append(info.name)
        except FileNotFoundError:
            pass
    # What a dump that was killed part-way left behind (its process is gone).
    for partial in directory.glob(f".{fmt}-*.partial"):
        try:
            pid = int(partial.name.rsplit(".", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
            gone.append(partial.name)
        except (ValueError, PermissionError):  # not ours to judge
            pass
    if gone:
        log.info("older dumps deleted: %s", ", ".join(gone))
    return gone


class _Background:
    """Compresses and writes on a thread of its own (zlib lets go of the interpreter), so reading
    the store and compressing overlap. Chunks are gathered to 1 MiB; at most 16 wait, so memory
    stays flat."""

    CHUNK = 1 << 20

    def __init__(self, sink: BinaryIO):
        self.sink = sink
        self.buffer: list[bytes] = []
        self.held = 0
        self.queue: queue.Queue = queue.Queue(maxsize=16)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="metadatabronn-dump-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            if self.error is None:
                try:
                    self.sink.write(chunk)
                except BaseException as exc:  # noqa: BLE001 - given back to the writing thread
                    self.error = exc

    def write(self, data) -> int:
        if self.error is not None:
            raise self.error
        data = bytes(data)
        self.buffer.append(data)
        self.held += len(data)
        if self.held >= self.CHUNK:
            self.queue.put(b"".join(self.buffer))
            self.buffer, self.held = [], 0
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.buffer:
            self.queue.put(b"".join(self.buffer))
            self.buffer, self.held = [], 0
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def dump(store_path: Path, fmt: str, *, out: str | os.PathLike | None = None, dumps: str | os.PathLike | None = None,
         keep: int = KEEP, entity_line: EntityLine | None = None, workers: int = 1,
         progress: Callable[[int], None] | None = None) -> Dumped:
    """Write a dump of the store at ``store_path`` (opened read-only: a dump can run beside
    ingest and a server) in ``fmt``; to ``out``, else into the dumps directory, keeping the
    newest ``keep`` of the format there. ``entity_line`` writes one entity as a JSON-LD line
    (the web layer's compaction); ``workers``: processes writing JSON-LD and MARCXML."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown dump format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "jsonld" and entity_line is None:
        raise ConfigError("a JSON-LD dump needs the entity writer of the web layer")
    if not Path(store_path).exists():
        raise MetadatabronnError(f"no store at {store_path}: run 'metadatabronn ingest' first or give --store")
    started = time.perf_counter()
    pool = None
    if fmt == "jsonld" and workers > 1:
        # The position first, from a snapshot let go before the workers are forked (each opens
        # its own, later): they may hold changes after it, never lack one before it.
        first = Store(store_path, read_only=True)
        position = dumping.position(first)
        first.close()
        del first
        pool = Processes(workers, initializer=_open, initargs=(Path(store_path), entity_line))
    store = Store(store_path, read_only=True)
    try:
        if pool is None:
            position = dumping.position(store)
        made = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        directory = None
        if out is not None:
            target = Path(out)
        else:
            directory = dumps_dir(dumps, Path(store_path))
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / file_name(fmt, position.sequence)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        head = header(fmt, position, store.base, made)
        log.info("dumping %s as %s at sequence %d (%s)", store_path, fmt, position.sequence, position.time)
        try:
            with open(partial, "wb") as raw:
                zipped = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=LEVEL, mtime=0)
                          if target.name.endswith(".gz") else None)
                sink = _Background(zipped if zipped is not None else raw)
                try:
                    items = _write(store, store_path, fmt, head, sink, entity_line, workers, pool, progress)
                finally:
                    sink.close()
                    if zipped is not None:
                        zipped.close()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    finally:
        store.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    if directory is not None:
        prune(directory, fmt, keep)
    result = Dumped(target, fmt, position.sequence, position.time, made, items, target.stat().st_size,
                    time.perf_counter() - started)
    log.info("dump %s written: %d %s, %d bytes, %.1f s", target.name, items, _UNITS[fmt], result.bytes,
             result.seconds)
    return result


_UNITS = {"nquads": "statements", "jsonld": "entities", "marcxml": "records"}


def _write(store: Store, store_path: Path, fmt: str, head: dict, sink: _Background, entity_line: EntityLine | None,
           workers: int, pool, progress: Callable[[int], None] | None) -> int:
    if fmt == "nquads":
        sink.write(header_line(fmt, head))
        return dumping.nquads(store, sink, _logged(progress, "graphs"))
    if fmt == "jsonld":
        sink.write(header_line(fmt, head))
        count = 0
        tick = _logged(progress, "entities")
        for lines, n in _entity_batches(store, entity_line, pool, workers):
            sink.write(lines)
            count += n
            tick(n)
        return count
    from .export import export

    # The export reads a snapshot of its own, opened after this one: it may hold changes after
    # the stated position, which the feed then brings again (a mirror applies them twice, the
    # same way), but none before it is missed.
    result = export(store_path, store.base, _AfterDeclaration(sink, header_line(fmt, head)), "marcxml",
                    workers=workers, progress=_logged(progress, "records"))
    if result.failed:
        log.warning("%d records could not be written: %s", len(result.failed), "; ".join(result.failed[:5]))
    return result.records


# JSON-LD: reading an entity out of pyoxigraph (about 5 µs a statement) is most of the cost, so
# worker processes, each with a snapshot of its own, read and write batches of entities while
# the main process walks the type index and writes their lines in order.
_ENTITY_BATCH = 500
_worker: tuple[Store, EntityLine] | None = None


def _open(store_path: Path, entity_line: EntityLine) -> None:
    global _worker
    _worker = (Store(store_path, read_only=True), entity_line)


def _entity_lines(batch: list[tuple[str, int, bool]], store: Store | None = None,
                  entity_line: EntityLine | None = None) -> tuple[bytes, int]:
    if store is None:
        store, entity_line = _worker
    lines = []
    for iri, rank, in_default in batch:
        triples = dumping.statements(store, iri, rank, in_default)
        if triples:
            lines.append(entity_line(iri, triples))
    return b"".join(lines), len(lines)


def _entity_batches(store: Store, entity_line: EntityLine, pool, workers: int):
    return in_order(batches(dumping.candidates(store), _ENTITY_BATCH), _entity_lines,
                    lambda batch: _entity_lines(batch, store, entity_line), pool, workers)


class _AfterDeclaration:
    """Puts the header comment right after the XML declaration the MARCXML writer begins with."""

    def __init__(self, sink: _Background, comment: bytes):
        self.sink, self.comment = sink, comment

    def write(self, data: bytes) -> int:
        if self.comment is not None:
            end = data.find(b"?>\n")
            if end >= 0:
                data = data[:end + 3] + self.comment + data[end + 3:]
                self.comment = None
        return self.sink.write(data)

    def flush(self) -> None:
        pass


def _logged(progress: Callable[[int], None] | None, unit: str) -> Callable[[int], None]:
    """``progress`` as given, and a log line every so often (a dump of a large store runs long)."""
    done = [0, time.monotonic()]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(n)
        now = time.monotonic()
        if now - done[1] >= 10:
            done[1] = now
            log.info("dumped %d %s so far", done[0], unit)

    return tick
