"""Export: the store's manifestations, or its authority records, as MARC 21, one record at a time.

Record graphs are streamed from the store in its own order; worker processes, each with the store open read-only,
turn batches of them into encoded records, and the main process writes those in order. Reading
a record back out of pyoxigraph costs about as much as writing it as MARC, so both run in
parallel. Authority records (``kind="authority"``) go the same way: their graphs are found by
their entity's ``mb:authorityId`` (one range of the predicate index), and each is read as its
graph's own statements, its entity's statements in every graph (the writers' edits among them)
and the entity's latest change (:func:`read_authority`).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..errors import ExportError, MetadatabronnError
from ..mapping import authority_out
from ..mapping import terms as T
from ..mapping.reverse import Options, from_triples, to_marc
from ..mapping.source import control_number_of
from ..marc.writer import Writer, encode
from ..rdf import AS, MB_DESCRIBES, XSD_DATETIME, literal
from ..store import Store
from ..store.renditions import Reads, Renditions
from .batches import batches, in_order
from .processes import Processes

log = logging.getLogger(__name__)
_BATCH = 250


@dataclass
class Exported:
    """What an export wrote. ``failed``: one line per record not written (its control number
    and why), e.g. a record over 99,999 bytes in ISO 2709; the CLI exits non-zero when there
    is any. ``changed``: one line per value replaced so that the output stays valid (a control
    character in MARCXML, a non-ASCII leader position), also logged as a warning. ``reused``:
    records written from the rendition an earlier export kept (:mod:`..store.renditions`)."""

    records: int = 0
    deleted: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    seconds: float = 0.0


_worker_store: Store | None = None
_worker_renditions: Renditions | None = None


# A worker's full collections walked every object it keeps, the memo of up to 50,000 entity cores
# among them, and found nothing to free (its objects make no cycles): 10-13 % of its CPU at
# 250,000 records. A collection every 100,000 allocations instead of 700 leaves a full one to
# every 20 M (none in an export of 40,000 records); what refcounting frees is freed as before.
GC_THRESHOLDS = (100_000, 20, 10)


def _open(store_path: Path, base: str, fmt: str = "", salt: str = "") -> None:
    global _worker_store, _worker_renditions
    gc.set_threshold(*GC_THRESHOLDS)
    _worker_store = Store(store_path, base, read_only=True)
    _worker_renditions = _worker_store.renditions(fmt, salt) if salt else None


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the package's code and vocabularies: a record's kept rendition is of the
    code that wrote it (:mod:`..store.renditions`), and another version may write other bytes."""
    root = Path(__file__).resolve().parent.parent
    vocabularies = root / "vocabularies"  # an installed copy carries them inside, a checkout beside
    if not vocabularies.is_dir():
        vocabularies = root.parent / "vocabularies"
    h = hashlib.blake2b(digest_size=16)
    for top, files in ((root, sorted(root.rglob("*.py"))), (vocabularies, sorted(vocabularies.rglob("*")))):
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                h.update(str(file.relative_to(top)).encode() + b"\0" + file.read_bytes())
    return h.hexdigest()


def _encode_batch(graphs: list[str], fmt: str, full: bool, options: Options,
                  store: Store | None = None, renditions: Renditions | None = None,
                  ) -> list[tuple[str, bytes | None, bool, str, list[str], bool]]:
    """(graph, encoded record or None, deleted?, failure, what was changed, from a rendition?)
    per graph. With
    ``renditions``, a record whose kept rendition still holds is not read or written again,
    and each record written whole, without a change, is kept for the next export."""
    if store is None:
        store, renditions = _worker_store, _worker_renditions
    kept = renditions.lookup(graphs) if renditions is not None else {}
    made: list[tuple[Reads, bytes]] = []
    out = []
    ahead = store.read_ahead([g for g in graphs if g not in kept])
    for graph in graphs:
        data = kept.get(graph)
        if data is not None:  # (only a record not deleted is kept)
            out.append((graph, data, False, "", [], True))
            continue
        reads: list[str] = []
        unchanged: list[bool] = []
        found = store.record_statements(graph, edits=True, reads=reads, unchanged=unchanged, ahead=ahead)
        if found is None:
            continue
        manifestation, carried, modified, deleted, statements, edited = found
        if deleted and full:
            continue  # a full export is of what the well holds now
        cn = control_number_of(statements, manifestation)
        notes: list[str] = []
        try:
            src = from_triples(cn, manifestation, statements, carried, modified=modified, deleted=deleted,
                               edited=edited, unchanged=unchanged[0])
            data = encode(to_marc(src, options), fmt, notes)
            out.append((graph, data, deleted, "", notes, False))
            if renditions is not None and not deleted and not notes:
                made.append((Reads(graph, reads[0], tuple(reads[1:])), data))
        except ExportError as exc:  # the format cannot hold it: skipped, and said plainly
            out.append((graph, None, deleted, f"{cn}: not written: {exc}", notes, False))
        except Exception as exc:  # noqa: BLE001 - one record must not stop an export; it is reported
            out.append((graph, None, deleted, f"{cn}: {exc}", notes, False))
    if made:
        renditions.keep(made)
    return out


# -- authority records ------------------------------------------------------------------------

def authority_graphs(store: Store, since: str | None = None) -> Iterator[tuple[str, str]]:
    """(authority record graph, its entity), streamed in the store's order: every one, or with
    ``since`` (an xsd:dateTime) those whose entity the change log names since then."""
    prefix = literal(f"{store.base}/authority/")
    if since is None:
        sparql = (f"SELECT ?g ?e WHERE {{ GRAPH ?g {{ ?e <{T.MB_AUTHORITY_ID}> ?id }} "
                  f"FILTER (STRSTARTS(STR(?g), {prefix})) }}")
    else:
        # An authority's load, deletion and every edit of its entity are logged of the entity.
        sparql = f"""SELECT DISTINCT ?g ?e WHERE {{
            GRAPH <{store.changes_graph}> {{ ?c <{AS}object> ?e ; <{AS}published> ?t }}
            FILTER (?t >= {literal(since, datatype=XSD_DATETIME)})
            GRAPH ?g {{ ?e <{T.MB_AUTHORITY_ID}> ?id }}
            FILTER (STRSTARTS(STR(?g), {prefix})) }}"""
    return ((row["g"].value, row["e"].value) for row in store.query(sparql))


def read_authority(store: Store, graph: str, entity: str | None = None) -> authority_out.AuthoritySource | None:
    """One authority record as plain data for MARC out (None if ``graph`` holds none): the
    record graph's own statements, the entity's in every graph, the times of the writer graphs
    among them, and the entity's latest change in the well (for 005)."""
    graph_rows = [r for r in store.about(graph, raw=True) if r[0] == graph]
    if entity is None:
        entity = min((r[2] for r in graph_rows if r[1] == MB_DESCRIBES), default=None)
        if entity is None:
            return None
    edits = f"{store.base}/edit/"
    rows = [r for r in store.about(entity, raw=True) if r[0] == graph or r[0].startswith(edits)]
    stamps = {g: store.generated(g) or "" for g in {r[0] for r in rows if r[0] != graph}}
    modified = store.latest_change(entity, shared=True) or ""
    return authority_out.from_rows(graph, graph_rows, rows, store.base, stamps, modified)


def authority_record(store: Store, graph: str):
    """The authority record of ``graph`` as a pymarc Record, or None (for OAI-PMH and the web)."""
    src = read_authority(store, graph)
    return authority_out.to_marc(src) if src is not None else None


def _encode_authorities(pairs: list[tuple[str, str]], fmt: str, full: bool,
                        store: Store | None = None) -> list[tuple[str, bytes | None, bool, str, list[str], bool]]:
    store = store if store is not None else _worker_store
    out = []
    for graph, entity in pairs:
        notes: list[str] = []
        try:
            src = read_authority(store, graph, entity)
            if src is None or (src.deleted and full):
                continue
            out.append((graph, encode(authority_out.to_marc(src), fmt, notes), src.deleted, "", notes, False))
        except ExportError as exc:
            out.append((graph, None, False, f"{graph}: not written: {exc}", notes, False))
        except Exception as exc:  # noqa: BLE001 - one record must not stop an export; it is reported
            out.append((graph, None, False, f"{graph}: {exc}", notes, False))
    return out


KINDS = ("bibliographic", "authority")


def export(store_path: Path, base: str, out: BinaryIO, fmt: str = "marc", *, since: str | None = None,
           options: Options = Options(), workers: int = 2, kind: str = "bibliographic",
           progress: Callable[[int], None] | None = None, renditions: bool = True) -> Exported:
    """Write the store's records to ``out``; with ``since`` (an xsd:dateTime), those created,
    changed or deleted since then, deleted ones as records with Leader/05 = d. ``kind``:
    "bibliographic" (its manifestations) or "authority" (its authority records). The store is
    opened read-only: an export can run beside a server. ``renditions``: reuse the bytes an
    earlier export wrote of a bibliographic record nothing has changed since, and keep them
    (:mod:`..store.renditions`); False writes every record again and keeps nothing."""
    if kind not in KINDS:
        raise MetadatabronnError(f"unknown kind of record {kind!r}: choose one of {', '.join(KINDS)}")
    if not Path(store_path).exists():
        raise MetadatabronnError(f"no store at {store_path}: run 'metadatabronn ingest' first or give --store")
    started = time.perf_counter()
    result = Exported()
    # Workers are forked before the main process opens the store; each opens its own.
    salt = f"{code_fingerprint()}\0{options!r}" if renditions and kind == "bibliographic" else ""
    pool = Processes(workers, initializer=_open, initargs=(store_path, base, fmt, salt)) if workers > 1 else None
    store = None
    writer = None
    kept = None
    if kind == "authority":
        work = partial(_encode_authorities, fmt=fmt, full=since is None)
    else:
        work = partial(_encode_batch, fmt=fmt, full=since is None, options=options)
    try:
        store = Store(store_path, base, read_only=True)
        if salt and pool is None:
            kept = store.renditions(fmt, salt)
        writer = Writer(out, fmt)
        if kind == "authority":
            items = authority_graphs(store, since)
        else:
            authorities = f"{store.base}/authority/"  # an authority's graph is not a manifestation's
            items = (g for g in store.record_graphs(since) if not g.startswith(authorities))
        here = partial(work, store=store, renditions=kept) if kind != "authority" else partial(work, store=store)
        for encoded in in_order(batches(items, _BATCH), work, here, pool, workers):
            for graph, data, deleted, failure, notes, reused in encoded:
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
                result.reused += reused
            if progress is not None:
                progress(len(encoded))
    finally:
        if writer is not None:
            writer.close()
        if pool is not None:
            pool.terminate()
            pool.join()
        if kept is not None:
            kept.close()
        if store is not None:
            store.close()
    result.seconds = time.perf_counter() - started
    return result
