"""Export: the store's manifestations as MARC 21, one record at a time."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import MetadatabronnError
from ..mapping import terms as T
from ..mapping.reverse import Options, from_triples, to_marc
from ..marc.writer import Writer
from ..store import Store

log = logging.getLogger(__name__)


@dataclass
class Exported:
    records: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _control_number(statements, manifestation: str) -> str:
    ids = [o for s, p, o, lit in statements if s == manifestation and p == T.M_IDENTIFIER and lit]
    return next((i for i in ids if i.startswith("(")), ids[0] if ids else manifestation.rsplit("/", 1)[-1])


def export(store_path: Path, base: str, out: BinaryIO, fmt: str = "marc", *, since: str | None = None,
           options: Options = Options(), progress: Callable[[int], None] | None = None) -> Exported:
    """Write the store's records to ``out``; with ``since``, those changed since then, deleted
    ones as records with Leader/05 = d. Opens the store read-only: an export can run beside
    a server."""
    if not Path(store_path).exists():
        raise MetadatabronnError(f"no store at {store_path}: run 'metadatabronn ingest' first or give --store")
    started = time.perf_counter()
    result = Exported()
    writer = Writer(out, fmt)
    store = Store(store_path, base, read_only=True)
    try:
        for graph in store.record_graphs(since):
            found = store.record_statements(graph)
            if found is None:
                continue
            manifestation, carried, modified, deleted, statements = found
            if deleted and since is None:
                continue  # a full export is of what the well holds now
            cn = _control_number(statements, manifestation)
            try:
                src = from_triples(cn, manifestation, statements, carried, modified=modified, deleted=deleted)
                record = to_marc(src, options)
                writer.write(record)
            except Exception as exc:  # noqa: BLE001 - one record must not stop an export; it is reported
                log.error("record %s (%s) cannot be exported: %s", cn, graph, exc)
                result.failed.append(f"{cn}: {exc}")
                continue
            result.records += 1
            result.deleted += deleted
            if progress is not None:
                progress(1)
    finally:
        writer.close()
        store.close()
    result.seconds = time.perf_counter() - started
    return result
