"""Ingest: read → convert (workers) → load, with a summary and the rejects kept aside."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Callable

from ..config import DEFAULT_BATCH_RECORDS
from ..errors import ConfigError
from ..validate import DEFAULT_PROFILE, load_profile, to_shacl
from ..marc import Chunk, Format
from ..store import Store
from . import aliases, allocator, linking
from .inputs import _outcomes, _prefetched, check_inputs, directory_problem
from .loader import Loader
from .processes import Processes
from .rejects import Rejects
from .worker import Gate, Outcome, _convert_batch, convert_chunk

log = logging.getLogger(__name__)

ON_INVALID = ("reject", "keep", "warn")
COMPACT = ("auto", "always", "never")
# "auto" compacts after a run that wrote at least this share of the records the store then holds.
COMPACT_SHARE = 0.25


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
    records_authority: int = 0  # authority records stored: new, changed or deleted (also in records_new …)
    profile: str | None = None
    on_invalid: str | None = None
    records_invalid: int = 0  # rejected for violating the profile (also in records_rejected)
    records_stored_with_violations: int = 0
    records_with_warnings: int = 0
    rejection_reasons: dict = field(default_factory=dict)
    records_joined: int = 0  # put under their original's work by an alias (pipeline.aliases)
    # Records' headings that name an authority record's entity (a record's headings of one entity count once)
    headings_linked: int = 0
    headings_linked_by_variant: int = 0  # of them, by a variant access point of the authority
    # The first headings linked by a variant (for a person to check): record, folded heading, entity
    variant_matches: list = field(default_factory=list)
    entities_merged_into_authorities: int = 0  # made by headings before their authority came (pipeline.linking)
    linking_seconds: float = 0.0  # merging those (in ``seconds``; after compaction, when there is one)
    works: int = 0
    expressions: int = 0
    manifestations: int = 0
    agents: int = 0
    unmapped_fields: dict = field(default_factory=dict)
    seconds: float = 0.0
    records_per_second: float = 0.0
    engine: str = "local"
    # --engine dask: per worker (as Dask names it) records converted, CPU seconds of conversion, peak RSS
    cluster_workers: dict = field(default_factory=dict)
    startup_seconds: float = 0.0  # from the start until the store is open and ready to load
    # The scan for aliases: in startup_seconds when it runs before conversion (one process, a cluster),
    # beside the first conversions with a process pool
    aliases_seconds: float = 0.0
    compact_seconds: float = 0.0  # compacting the store after the load (not in ``seconds``)
    rejects_file: str | None = None
    files_unreadable: list = field(default_factory=list)  # "FILE: why", for files not read at all

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


@dataclass
class Settings:
    store: Path
    base: str | None  # None: the store's own (a new store: the default base IRI)
    workers: int = 2
    batch_records: int = DEFAULT_BATCH_RECORDS  # records a bulk load writes (config.batch_records)
    rejects_dir: Path | None = None
    profile: str | None = DEFAULT_PROFILE  # None: no validation gate
    on_invalid: str = "reject"
    compact: str = "auto"  # after the load: "auto" (when it wrote much of the store), "always", "never"
    # Where records are converted: "local" (a process pool of ``workers``) or "dask" (pipeline.dask_engine:
    # a LocalCluster of ``workers`` processes, or the cluster of the scheduler at ``scheduler``).
    engine: str = "local"
    scheduler: str | None = None  # a Dask scheduler's address, tcp://HOST:PORT
    when: datetime | None = None  # the load's time (timezone-aware); None: now. Fixed, a load is reproducible

    def check_engine(self) -> None:
        from .dask_engine import check_engine

        check_engine(self.engine, self.scheduler)

    def gate(self) -> Gate | None:
        if self.profile is None:
            return None
        if self.on_invalid not in ON_INVALID:
            raise ConfigError(f"--on-invalid must be one of {', '.join(ON_INVALID)}, got {self.on_invalid!r}")
        shacl = to_shacl(load_profile(self.profile))  # also: an unknown profile fails here, early
        return Gate(self.profile, self.on_invalid, hashlib.sha1(shacl.encode()).hexdigest()[:16])


def ingest(paths: list[str], settings: Settings, progress: Callable[[int], None] | None = None) -> Summary:
    """Load MARC files into the store. One bad record, or one file that cannot be read (wholly
    or from some record on), never stops the run: it is rejected with its reason."""
    check_inputs(paths)
    rejects_dir = settings.rejects_dir or Path(f"{settings.store}.rejects")
    problem = directory_problem(rejects_dir)
    if problem:
        raise ConfigError(f"cannot keep rejected records: {problem}")
    settings.check_engine()
    allocator.steady()
    gate = settings.gate()
    started = time.perf_counter()
    now = _load_time(settings.when)
    # In the form the store gives it back (no trailing zeros in the fraction), so that what a
    # batch writes beside the store (its rows, its copies) says what the store then holds.
    when = now.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "Z"
    summary = Summary(profile=settings.profile, on_invalid=settings.on_invalid if gate else None,
                      engine=settings.engine)
    rejects = Rejects(rejects_dir, now.strftime("%Y%m%dT%H%M%S%f"))
    carried: Counter = Counter()
    reasons: Counter = Counter()
    aside: Counter = Counter()
    # With a pool, the workers are forked first and the scan runs beside their first conversions
    # (aliases.DEFERRED); else the table is made first, and set before a cluster's workers start.
    deferred = settings.engine != "dask" and settings.workers > 1
    table = None if deferred else aliases.scan(paths)
    aliases.activate(aliases.DEFERRED if deferred else table)
    # Workers are forked before the store is opened, so none of them holds a handle on it.
    pool = cluster = scanning = None
    try:
        if settings.engine == "dask":
            from .dask_engine import Cluster

            cluster = Cluster(settings.scheduler, settings.workers, progress)
        elif settings.workers > 1:
            pool = Processes(settings.workers)
        if deferred:
            aliases.activate(None)  # this process converts again with the table once it is made
    except BaseException:
        aliases.activate(None)
        raise
    try:
        store = Store(settings.store, settings.base)
    except BaseException:
        aliases.activate(None)
        if pool is not None:
            pool.terminate()
        if cluster is not None:
            cluster.close()
        raise
    loader = None
    try:
        if deferred:  # once the store is open: a run that cannot open it leaves no scan behind
            scanning = aliases.Scanning(paths)
        loader = Loader(store, when, gate)
        summary.startup_seconds = round(time.perf_counter() - started, 3)
        log.info("store %s open under base IRI %s, ready to load after %.3f s", settings.store, store.base,
                 summary.startup_seconds)
        minted: set[str] = set()  # alias keys the store gave a work of its own (an earlier run): not applied
        if table is not None:
            minted = _minted(store, table)
        convert = partial(_convert_batch, base=store.base, when=when, gate=gate)
        ahead = loader.prefetch_digests if store.answers_in_groups else None
        if cluster is not None:
            cluster.start(store.base, when, gate, table)
            outcomes = _outcomes(paths, loader.is_current, cluster.submit, cluster.window, convert,
                                 aside=cluster.tally.count, ahead=ahead)
        else:
            submit = None if pool is None else (lambda chunks: pool.apply_async(convert, (chunks,)))
            outcomes = _outcomes(paths, loader.is_current, submit, settings.workers * 3, convert, ahead=ahead)
        if store.answers_in_groups:
            outcomes = _prefetched(outcomes, loader)
        for o in outcomes:
            if table is None:  # the first outcome: the workers have had the scan's time to convert
                table = scanning.table()
                aliases.activate(table)
                minted = _minted(store, table)
            if o.aliased and o.aliased in minted:
                o = convert_chunk(Chunk(o.number, Format(o.format), o.data, o.source), store.base, when, gate,
                                  join=False)
            elif o.own_key and o.own_key in table.targets and o.own_key not in minted:
                o = convert_chunk(Chunk(o.number, Format(o.format), o.data, o.source), store.base, when, gate)
            summary.records_read += 1
            if o.status == "unchanged":
                summary.records_stored += 1
                summary.records_unchanged += 1
            elif o.status in ("ok", "deleted"):
                summary.records_stored += 1
                if o.aliased:
                    summary.records_joined += 1
                carried.update(o.carried_tags)
                if o.violations:
                    summary.records_stored_with_violations += 1
                    if settings.on_invalid == "warn":
                        log.warning("%s record %d (%s): %d violation(s) of profile %s, stored all the same",
                                    o.source, o.number, o.control_number, o.violations, settings.profile)
                if o.warnings:
                    summary.records_with_warnings += 1
                loader.add(o, summary)
                if len(loader) >= settings.batch_records:
                    loader.flush()
            else:
                summary.records_rejected += 1
                rejects.add(o)
                if o.status == "aside":
                    aside[o.kind] += 1
                    reasons[f"{o.kind} record set aside"] += 1
                elif o.status == "invalid":
                    summary.records_invalid += 1
                    if o.warnings:
                        summary.records_with_warnings += 1
                    reasons[f"violates profile {settings.profile}"] += 1
                    log.warning("%s record %d (%s): %s", o.source, o.number, o.control_number, o.reason)
                else:
                    reasons[_reason_class(o)] += 1
                    if o.kind == "file":
                        summary.files_unreadable.append(f"{o.source}: {o.reason[len('file unreadable: '):]}")
                    log.warning("%s record %s%s: %s", o.source,
                                f"{o.control_number} (no. {o.number})" if o.control_number else o.number,
                                f", field {o.tag}" if o.tag else "", o.reason)
            if progress is not None and cluster is None:  # the cluster reports as it converts
                progress(1)
        if table is None:  # no record came: the scan still says what it read
            table = scanning.table()
        summary.aliases_seconds = table.seconds
        loader.close()
        _count_entities(loader.totals, summary)
        summary.seconds = round(time.perf_counter() - started, 3)
        if should_compact(settings.compact, summary):
            log.info("compacting the store after writing %d records", _written(summary))
            t = time.perf_counter()
            store.compact()
            summary.compact_seconds = round(time.perf_counter() - t, 3)
        if loader.declared:  # authorities loaded: what headings made before them joins them
            # (after compaction: each merge reads where the merged entity is named, and reads in a
            # store as a bulk load left it are several times slower)
            t = time.perf_counter()
            absorbed = linking.absorb(store, loader.declared, loader.minted_in_store())
            summary.entities_merged_into_authorities = len(absorbed.merged)
            summary.variant_matches += [{"entity": into, "heading": key.split("|", 3)[-1], "merged": old}
                                        for old, into, key in absorbed.merged if key in absorbed.variant_keys]
            summary.linking_seconds = round(time.perf_counter() - t, 3)
            summary.seconds = round(summary.seconds + summary.linking_seconds, 3)
    except BaseException:
        if loader is not None:
            loader.close()
        raise
    finally:
        aliases.activate(None)
        if pool is not None:
            pool.terminate()
            pool.join()
        if cluster is not None:
            summary.cluster_workers = cluster.tally.report()
            cluster.close()
        rejects.close()
        store.close()
    summary.records_aside = dict(aside)
    summary.rejection_reasons = dict(reasons.most_common())
    summary.unmapped_fields = dict(sorted(carried.items()))
    if not summary.seconds:
        summary.seconds = round(time.perf_counter() - started, 3)
    summary.records_per_second = round(summary.records_read / summary.seconds, 1) if summary.seconds else 0.0
    summary.rejects_file = str(rejects.path) if rejects.path else None
    return summary


def _minted(store: Store, table: aliases.Table) -> set[str]:
    """The table's alias keys that the store already gave a work of their own (an earlier run):
    IRIs once minted stay, so those aliases are not applied."""
    return {k for k in table.targets if store.key_iri(k) is not None}


def _load_time(when: datetime | None) -> datetime:
    """The load's time in UTC: ``when`` (a naive one is taken as UTC), or now."""
    if when is None:
        return datetime.now(timezone.utc)
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _written(summary: Summary) -> int:
    return summary.records_new + summary.records_updated + summary.records_deleted


def should_compact(mode: str, summary: Summary) -> bool:
    """Whether a run's store is compacted after it: ``auto`` does it when the run wrote at least
    :data:`COMPACT_SHARE` of the records the store now holds (a first load, a reload), never for
    a daily update into a large store, which ``metadatabronn compact`` serves now and then."""
    if mode not in COMPACT:
        raise ConfigError(f"--compact must be one of {', '.join(COMPACT)}, got {mode!r}")
    written = _written(summary)
    if mode == "never" or written == 0:
        return False
    return mode == "always" or written >= COMPACT_SHARE * max(summary.manifestations, 1)


def _reason_class(o: Outcome) -> str:
    reason = o.reason.split(":", 1)[0]
    return f"field {o.tag}: {reason}" if o.tag else reason


def _count_entities(totals: dict[str, int], summary: Summary) -> None:
    """The store's totals after the run, as the loader kept them batch by batch (counting the
    store itself would cost in proportion to its size)."""
    summary.works = totals.get("works", 0)
    summary.expressions = totals.get("expressions", 0)
    summary.manifestations = totals.get("manifestations", 0)
    summary.agents = totals.get("agents", 0)
