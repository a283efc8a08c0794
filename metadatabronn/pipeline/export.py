"""Export: the store's manifestations as MARC 21, one record at a time.

Record graphs are streamed from the store in its own order; worker processes, each with the store open read-only,
turn batches of them into encoded records, and the main process writes those in order. Reading
a record back out of pyoxigraph costs about as much as writing it as MARC, so both run in
parallel.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import ExportError, MetadatabronnError
from ..mapping.reverse import Options, from_triples, to_marc
from ..mapping.source import control_number_of
from ..marc.writer import Writer, encode
from ..store import Store
from .batches import batches, in_order

log = logging.getLogger(__name__)
_BATCH = 250


@dataclass
class Exported:
    """What an export wrote. ``failed``: one line per record not written (its control number
    and why), e.g. a record over 99,999 bytes in ISO 2709; the CLI exits non-zero when there
    is any. ``changed``: one line per value replaced so that the output stays valid (a control
    character in MARCXML, a non-ASCII leader position), also logged as a warning."""

    records: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    seconds: float = 0.0


_worker_store: Store | None = None


def _open(store_path: Path, base: str) -> None:
    global _worker_store
    _worker_store = Store(store_path, base, read_only=True)


def _encode_batch(graphs: list[str], fmt: str, full: bool, options: Options,
                  store: Store | None = None) -> list[tuple[str, bytes | None, bool, str, list[str]]]:
    """(graph, encoded record or None, deleted?, failure, what was changed) per graph."""
    store = store if store is not None else _worker_store
    out = []
    for graph in graphs:
        found = store.record_statements(graph, edits=True)
        if found is None:
            continue
        manifestation, carried, modified, deleted, statements, edited = found
        if deleted and full:
            continue  # a full export is of what the well holds now
        cn = control_number_of(statements, manifestation)
        notes: list[str] = []
        try:
            src = from_triples(cn, manifestation, statements, carried, modified=modified, deleted=deleted,
                               edited=edited)
            out.append((graph, encode(to_marc(src, options), fmt, notes), deleted, "", notes))
        except ExportError as exc:  # the format cannot hold it: skipped, and said plainly
            out.append((graph, None, deleted, f"{cn}: not written: {exc}", notes))
        except Exception as exc:  # noqa: BLE001 - one record must not stop an export; it is reported
            out.append((graph, None, deleted, f"{cn}: {exc}", notes))
    return out


def export(store_path: Path, base: str, out: BinaryIO, fmt: str = "marc", *, since: str | None = None,
           options: Options = Options(), workers: int = 2,
           progress: Callable[[int], None] | None = None) -> Exported:
    """Write the store's records to ``out``; with ``since`` (an xsd:dateTime), those created,
    changed or deleted since then, deleted ones as records with Leader/05 = d. The store is
    opened read-only: an export can run beside a server."""
    if not Path(store_path).exists():
        raise MetadatabronnError(f"no store at {store_path}: run 'metadatabronn ingest' first or give --store")
    started = time.perf_counter()
    result = Exported()
    # Workers are forked before the main process opens the store; each opens its own.
    pool = (multiprocessing.get_context("fork").Pool(workers, initializer=_open, initargs=(store_path, base))
            if workers > 1 else None)
    store = None
    writer = None
    work = partial(_encode_batch, fmt=fmt, full=since is None, options=options)
    try:
        store = Store(store_path, base, read_only=True)
        writer = Writer(out, fmt)
        for encoded in in_order(batches(store.record_graphs(since), _BATCH), work, partial(work, store=store),
                                pool, workers):
            for graph, data, deleted, failure, notes in encoded:
                for note in notes:
                    log.warning("record %s: %s", graph, note)
                    result.changed.append(f"{graph}: {note}")
                if data is None:
                    log.error("record %s cannot be exported: %s", graph, failure)
                    result.failed.append(failure)
                    continue
                writer.write_encoded(data)
                result.records += 1
                result.deleted += deleted
            if progress is not None:
                progress(len(encoded))
    finally:
        if writer is not None:
            writer.close()
        if pool is not None:
            pool.terminate()
            pool.join()
        if store is not None:
            store.close()
    result.seconds = time.perf_counter() - started
    return result
