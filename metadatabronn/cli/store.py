"""Commands on a store: ``query``, ``update``, ``rebase``, ``reindex``, ``export``, ``serve``."""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
from pathlib import Path

from .. import config
from ..errors import ConfigError, MetadatabronnError, UsageError
from .common import _read_sparql, store_base

log = logging.getLogger(__name__)


def _existing_store(flag: str | None) -> Path:
    store = config.store_path(flag)
    if not store.exists():
        raise MetadatabronnError(f"no store at {store}: run 'metadatabronn ingest' first or give --store")
    return store


def _query(args) -> int:
    from ..pipeline import query

    sparql = _read_sparql(args.sparql)
    store = _existing_store(args.store)
    sys.stdout.buffer.write(query(store, store_base(store, args.base_iri), sparql, args.format))
    sys.stdout.flush()
    return 0


def _since(value: str | None) -> str | None:
    """An ISO 8601 date or time, as an xsd:dateTime in UTC."""
    if value is None:
        return None
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since wants an ISO 8601 date or time such as 2026-11-28 or 2026-11-28T12:00:00Z, "
                         f"not {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _export(args) -> int:
    from ..mapping.reverse import Options
    from ..pipeline.export import export

    since = _since(args.since)
    kind = getattr(args, "kind", "bibliographic")
    if kind == "authority" and args.rda:
        raise UsageError("--rda is for bibliographic records (260 and 264): an authority record has neither")
    store = _existing_store(args.store)
    base = store_base(store, args.base_iri)
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" records", desc="export", file=sys.stderr, smoothing=0.1)
    out = open(args.out, "wb") if args.out else sys.stdout.buffer
    try:
        result = export(store, base, out, args.format, since=since, kind=kind,
                        options=Options(rda=args.rda), workers=config.workers(args.workers),
                        progress=bar.update if bar else None, renditions=not args.fresh)
    finally:
        if bar is not None:
            bar.close()
        if args.out:
            out.close()
    if not args.quiet:
        what = "authority records" if kind == "authority" else "records"
        reused = f", {result.reused:,} as an earlier export wrote them" if result.reused else ""
        sys.stderr.write(f"exported {result.records:,} {what} ({result.deleted:,} deleted{reused}) in "
                         f"{result.seconds:.1f} s; {len(result.failed):,} could not be written\n")
    return 1 if result.failed else 0


_ENTITY_KINDS = ("work", "expression", "agent", "concept", "item")


def _entity(iri: str, base: str) -> str:
    """An --entity value: an IRI of one of the store's shared entities."""
    import pyoxigraph as ox

    value = iri[1:-1] if iri.startswith("<") and iri.endswith(">") else iri
    try:
        ox.NamedNode(value)
    except ValueError as exc:
        raise UsageError(f"--entity {iri!r} is not an IRI ({exc})", usage=False) from None
    kinds = "|".join(_ENTITY_KINDS)
    if not value.startswith(f"{base}/") or value[len(base) + 1:].split("/", 1)[0] not in _ENTITY_KINDS:
        raise UsageError(f"--entity {iri}: not an entity of this store; its IRIs are {base}/{{{kinds}}}/...",
                         usage=False)
    return value


def _entities_named(sparql: str, base: str) -> list[str]:
    """The store's shared entities an update names, written out or as prefixed names."""
    from ..store.sparql import named_iris

    kinds = "|".join(_ENTITY_KINDS)
    shape = re.compile(rf"{re.escape(base)}/(?:{kinds})/[^/\s]+")
    return sorted({i for i in named_iris(sparql) if shape.fullmatch(i)})


def _update(args) -> int:
    from ..store import Store

    sparql = _read_sparql(args.sparql)
    # Every argument is checked before the store is written: a bad one changes nothing.
    if not sparql.strip():
        raise UsageError("the update is empty", usage=False)
    store_path = _existing_store(args.store)
    base = store_base(store_path, args.base_iri)
    entities = [_entity(iri, base) for iri in args.entity or ()]
    # The shared entities an edit names: every record embedding them is then harvested and
    # exported again (OAI-PMH datestamps, export --since).
    entities = entities or _entities_named(sparql, base)
    store = Store(store_path, base)
    try:
        result = store.update(sparql, changed=entities, force=args.force, allow_network=args.allow_network)
    finally:
        store.close()
    if not result.changed:
        sys.stdout.write("the update matched nothing: no statement was added or removed, and no change was "
                         "logged\n")
        return 0
    delta = result.quads_after - result.quads_before
    sys.stdout.write(f"updated; {result.logged} entities logged as changed\n")
    log.info("the store holds %+d statements after the update", delta)
    return 0


def _merge(args) -> int:
    from ..store import Store
    from ..store.merging import merge

    store_path = _existing_store(args.store)
    base = store_base(store_path, args.base_iri)
    merged, into = _entity(args.merged, base), _entity(args.into, base)
    store = Store(store_path, base)
    try:
        result = merge(store, merged, into)
    finally:
        store.close()
    sys.stdout.write(f"merged {result.kind} {result.merged} into {result.into}; {result.records} records now "
                     f"name {result.into}\n")
    return 0


def _rebase(args) -> int:
    from ..store.rebase import rebase

    store = _existing_store(args.store)
    new = config.base_iri(args.new_base)
    result = rebase(store, new)
    if result.old == result.new:
        sys.stdout.write(f"the store's base IRI is already {new}: nothing to do\n")
        return 0
    sys.stdout.write(f"rebased {store} from {result.old} to {result.new}: {result.rewritten:,} IRIs rewritten in "
                     f"{result.quads:,} statements, {result.seconds:.1f} s\n")
    return 0


def _reindex(args) -> int:
    import time

    from ..store import Store
    from ..store.catalogue import path_of

    store_path = _existing_store(args.store)
    base = store_base(store_path, args.base_iri)
    started = time.perf_counter()
    existed = path_of(store_path).exists()
    store = Store(store_path, base)  # a missing index is built as the store opens
    try:
        store.roll_back()  # a load cut short is no part of the index
        if existed and not args.copies:
            store.reindex()
        read, rows = store.catalogue.sequence, store.catalogue.count(None)
        copied = store.refill_copies()
    finally:
        store.close()
    what = "copies made" if args.copies else f"reindexed {store_path}: {read:,} change-log entries read"
    sys.stdout.write(f"{what}: {rows:,} records indexed, {copied:,} copies of records and entities written, "
                     f"{time.perf_counter() - started:.1f} s\n")
    return 0


def add_reindex(sub, common) -> None:
    """The ``reindex`` command, for the parser of :mod:`metadatabronn.cli`."""
    rx = sub.add_parser("reindex", parents=[common], help="rebuild the catalogue index beside the store (records, "
                        "datestamps, search texts) from the change log: a repair, never needed in normal use")
    rx.add_argument("--copies", action="store_true",
                    help="only write the copies of records and entities the index lacks (a store loaded before "
                         "copies were kept reads faster after it), without rebuilding the index")
    rx.set_defaults(func=_reindex)


def _compact(args) -> int:
    import time

    from ..store import Store

    store_path = _existing_store(args.store)
    store = Store(store_path, store_base(store_path, args.base_iri))
    started = time.perf_counter()
    try:
        store.compact()
    finally:
        store.close()
    sys.stdout.write(f"compacted {store_path} in {time.perf_counter() - started:.1f} s\n")
    return 0


def add_compact(sub, common) -> None:
    """The ``compact`` command, for the parser of :mod:`metadatabronn.cli`."""
    c = sub.add_parser("compact", parents=[common], help="rewrite the store's files into as few as its indexes "
                       "need, so that reading is fast (ingest does it after a large load; run it now and then "
                       "after many small updates)")
    c.set_defaults(func=_compact)


def _serve(args) -> int:
    import uvicorn

    store = _existing_store(args.store)
    os.environ["METADATABRONN_STORE"] = str(store)
    os.environ["METADATABRONN_BASE_IRI"] = store_base(store, args.base_iri)
    timeout = config.number(args.timeout, "QUERY_TIMEOUT", config.DEFAULT_QUERY_TIMEOUT, "--timeout")
    os.environ["METADATABRONN_QUERY_TIMEOUT"] = str(timeout)
    max_bytes = config.number(args.max_result_bytes, "MAX_RESULT_BYTES", config.DEFAULT_MAX_RESULT_BYTES,
                              "--max-result-bytes")
    os.environ["METADATABRONN_MAX_RESULT_BYTES"] = str(int(max_bytes))
    refresh = config.number(args.refresh, "REFRESH", config.DEFAULT_REFRESH, "--refresh", minimum=-1)
    if refresh < 0:
        raise ConfigError(f"--refresh must be 0 (never) or more seconds, got {refresh:g}")
    os.environ["METADATABRONN_REFRESH"] = str(refresh)
    wait = config.number(args.query_wait, "QUERY_WAIT", config.DEFAULT_QUERY_WAIT, "--query-wait")
    os.environ["METADATABRONN_QUERY_WAIT"] = str(wait)
    os.environ["METADATABRONN_QUERY_NICE"] = str(_nice(args.query_nice, "QUERY_NICE", config.DEFAULT_QUERY_NICE,
                                                       "--query-nice"))
    writer_nice = _nice(args.writer_nice, "WRITER_NICE", config.DEFAULT_WRITER_NICE, "--writer-nice")
    if args.stats_min_cell is not None:  # loan statistics (web.statistics_access)
        os.environ["METADATABRONN_STATS_MIN_CELL"] = str(args.stats_min_cell)
    from ..web.statistics_access import min_cell

    min_cell()  # a bad METADATABRONN_STATS_MIN_CELL is said now, not at the first request
    if args.publishers:
        os.environ["METADATABRONN_PUBLISHERS"] = str(Path(args.publishers).resolve())
    if args.dumps:  # the directory /dumps serves (each server process reads the environment)
        os.environ["METADATABRONN_DUMPS"] = str(Path(args.dumps).resolve())
    from .ports import choose

    writer, says = _writes(args, store, writer_nice)
    statistics = _statistics(args, store)
    port = choose(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    sys.stderr.write(f"metadatabronn: serving {store} at http://{host}:{port}/ "
                     f"(base IRI {os.environ['METADATABRONN_BASE_IRI']}); {says}; Ctrl-C stops\n")
    sys.stderr.flush()
    # uvicorn takes SIGTERM for its graceful shutdown and, in one process, sends it again
    # afterwards with the handler it found: the default one would end this process there, and
    # the writer and statistics process would be left to notice by themselves. So the handler
    # it finds stops here instead, after them.
    previous = signal.signal(signal.SIGTERM, _stopped)
    stopped = False
    try:
        # uvicorn imports the factory in each of its worker processes; settings travel in the environment.
        uvicorn.run("metadatabronn.web:app_from_environment", factory=True, host=args.host, port=port,
                    workers=args.http_workers, log_level=config.log_level(args.log_level).lower(),
                    proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips, timeout_graceful_shutdown=10,
                    timeout_keep_alive=config.keep_alive())
    except _Stopped:
        stopped = True
    finally:
        signal.signal(signal.SIGTERM, previous)  # a second SIGTERM meanwhile ends the server at once
        if statistics is not None:
            statistics.stop()
        if writer is not None:
            writer.stop()
    if stopped:  # ended as a process SIGTERM stops, as uvicorn would have ended it
        signal.raise_signal(signal.SIGTERM)
    return 0


class _Stopped(BaseException):
    """SIGTERM, once uvicorn has shut down gracefully (:func:`_stopped`)."""


def _stopped(signum, frame) -> None:
    raise _Stopped()


def _nice(value, name: str, default: int, flag: str) -> int:
    """How much lower a helper process's CPU priority is than the server's: 0 to 19."""
    nice = config.number(value, name, default, flag, minimum=-1)
    if nice != int(nice) or nice > 19:
        raise ConfigError(f"{flag} must be a whole number from 0 to 19, got {nice:g}")
    return int(nice)


def _statistics(args, store: Path):
    """With several HTTP workers, one process holds the loans database for them all (DuckDB
    lets one process open it); with one, the worker holds it itself."""
    if (args.http_workers or 1) < 2:
        return None
    from ..pipeline import statistics_process

    process = statistics_process.start(store)
    os.environ["METADATABRONN_STATISTICS_SOCKET"] = process.address
    os.environ["METADATABRONN_STATISTICS_KEY"] = process.authkey.hex()
    return process


def _writes(args, store: Path, nice: int):
    """Start the writer if anyone may write (an issuer or API keys), ``nice`` below the server's
    CPU priority; what to say about it."""
    from ..pipeline import writer as writing
    from ..web.apikeys import default_keys_file
    from ..web.audit import default_audit_log
    from ..web.auth import AuthSettings

    # Flags travel to the HTTP workers in the environment; defaults are worked out there from the
    # store again, so nothing is set that a flag did not say.
    keys = default_keys_file(store, flag=args.api_keys)
    for flag, env in ((args.api_keys, "API_KEYS"), (args.oidc_issuer, "OIDC_ISSUER"),
                      (args.oidc_audience, "OIDC_AUDIENCE"), (args.audit_log, "AUDIT_LOG")):
        if flag:
            os.environ[f"METADATABRONN_{env}"] = str(Path(flag).resolve()) if env in ("API_KEYS", "AUDIT_LOG") else flag
    auth = AuthSettings.from_env(keys_file=keys)
    if not auth.enabled:
        return None, "read-only: no OpenID Connect issuer (--oidc-issuer) or API keys (metadatabronn keys add) configured"
    audit = default_audit_log(store, flag=args.audit_log)
    writer = writing.start(store, os.environ["METADATABRONN_BASE_IRI"], config.profile(args.profile),
                           nice=nice)
    os.environ["METADATABRONN_WRITER_SOCKET"] = writer.address
    os.environ["METADATABRONN_WRITER_KEY"] = writer.authkey.hex()
    by = " and ".join(x for x in (f"tokens of {auth.issuer}" if auth.issuer else "",
                                  f"API keys in {keys}" if keys.exists() else "") if x)
    return writer, f"writes taken from {by}, logged to {audit}"

