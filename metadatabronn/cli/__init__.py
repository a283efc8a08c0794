"""The ``metadatabronn`` command: a thin layer over the pipeline.

One module per group of commands: :mod:`.ingest`; :mod:`.store` (query, update, rebase, export,
serve); :mod:`.checks` (validate, explain, roundtrip); :mod:`.common` what they share.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys

from .. import __version__, config
from ..errors import ConfigError, MetadatabronnError, StoreError, UsageError
from .checks import _explain, _roundtrip, _validate
from .dump import add_dump
from .ingest import _ingest
from .isni import add_isni
from .mirror import add_mirror
from .keys import add_keys
from .links import add_link_report
from .stats import add_stats
from .store import _export, _merge, _query, _rebase, _serve, _update, add_compact, add_reindex

__all__ = ["UsageError", "build_parser", "main"]


def _whole_number(low: int, high: int | None = None):
    """An argparse type: a whole number in a range, refused with the range in the message."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"a whole number is wanted, not {text!r}") from None
        if n < low or (high is not None and n > high):
            wanted = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {n}")
        return n

    return parse


def _port(text: str) -> int | str:
    # imported when used, so that ``python -m metadatabronn.cli.ports`` (make demo) finds the
    # module not yet loaded
    from .ports import parse_port

    return parse_port(text)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="metadatabronn", description="MARC 21 → RDA entities in a linked-data store.")
    p.add_argument("--version", action="version", version=f"metadatabronn {__version__}")
    log_help = "DEBUG, INFO, WARNING (default) or ERROR; env METADATABRONN_LOG_LEVEL"
    p.add_argument("--log-level", help=log_help)
    sub = p.add_subparsers(dest="command", required=True)

    # Every command takes --log-level after its name too; SUPPRESS keeps one given before it.
    logs = argparse.ArgumentParser(add_help=False)
    logs.add_argument("--log-level", default=argparse.SUPPRESS, help=log_help)
    common = argparse.ArgumentParser(add_help=False, parents=[logs])
    common.add_argument("--store", help=f"store directory (env METADATABRONN_STORE, default {config.DEFAULT_STORE})")
    common.add_argument("--base-iri", help="base of minted IRIs (env METADATABRONN_BASE_IRI). A store records the "
                        f"base it was made with and works under it; another one is refused (see 'rebase'). Default: "
                        f"the store's own; for a new store {config.DEFAULT_BASE_IRI}")

    i = sub.add_parser("ingest", parents=[common], help="load MARC 21 files (ISO 2709, MARCXML, MARC-in-JSON; .gz too)")
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--report", help="write the summary as JSON to this file")
    i.add_argument("--rejects", help="directory for rejected records (default: STORE.rejects beside the store)")
    i.add_argument("--workers", type=int, help="conversion processes (env METADATABRONN_WORKERS, default: CPUs, at most 2)")
    i.add_argument("--batch-records", type=int, metavar="N", help="records written to the store in one bulk load (env "
                   f"METADATABRONN_BATCH_RECORDS, default {config.DEFAULT_BATCH_RECORDS:,}): more is faster and takes "
                   "more memory")
    i.add_argument("--engine", choices=["local", "dask"], help="where records are converted: 'local' processes, or "
                   "'dask', a local Dask cluster of --workers processes or the one of --scheduler (env "
                   "METADATABRONN_ENGINE, default local; dask needs: pip install 'metadatabronn[dask]')")
    i.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="with --engine dask: the address of a running Dask "
                   "scheduler whose workers convert (env METADATABRONN_SCHEDULER, default none: a local cluster)")
    i.add_argument("--profile", help=f"application profile checked at ingest (env METADATABRONN_PROFILE, default "
                   f"{config.DEFAULT_PROFILE}); 'none' switches the gate off")
    i.add_argument("--on-invalid", choices=["reject", "keep", "warn"], default="reject",
                   help="a record that violates the profile: keep it aside (reject, default), store it with its "
                        "report (keep), or store it and log a warning (warn)")
    i.add_argument("--compact", choices=["auto", "always", "never"], default="auto",
                   help="compact the store after the load: auto (default) when the run wrote at least a quarter "
                        "of the records the store then holds, always, or never")
    i.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    i.add_argument("--server", help="submit the files to a running server taking writes (its URL) instead of "
                   "loading them into a store here; it loads them as this command would")
    i.add_argument("--token", help="with --server: an OpenID Connect bearer token or API key with the scope "
                   "'ingest' (env METADATABRONN_TOKEN)")
    i.set_defaults(func=_ingest)

    q = sub.add_parser("query", parents=[common], help="run a SPARQL query over the store")
    q.add_argument("sparql", help="the query; '-' reads it from standard input, '@FILE' from a file")
    q.add_argument("--format", choices=["csv", "tsv", "json", "xml"], default="csv",
                   help="W3C SPARQL 1.1 results format (default csv)")
    q.set_defaults(func=_query)

    v = sub.add_parser("validate", parents=[common], help="check records or the store against an application profile")
    v.add_argument("files", nargs="*", metavar="FILE", help="MARC files to convert and check (or --store)")
    v.add_argument("--profile", help=f"profile name (env METADATABRONN_PROFILE, default {config.DEFAULT_PROFILE})")
    v.add_argument("--format", choices=["text", "json", "turtle"], default="text",
                   help="text summary (default), JSON (docs/api.md), or the W3C SHACL report in Turtle")
    v.add_argument("--engine", choices=["fast", "pyshacl"], default="fast",
                   help="fast (default) or pySHACL, the reference; both give the same results")
    v.set_defaults(func=_validate)

    x = sub.add_parser("export", parents=[common], help="write the store's manifestations (or authority records) as "
                       "MARC 21")
    x.add_argument("--kind", choices=["bibliographic", "authority"], default="bibliographic",
                   help="bibliographic records (default: the store's manifestations) or authority records")
    x.add_argument("--format", choices=["marc", "marcxml", "json"], default="marc",
                   help="ISO 2709 (default), MARCXML, or MARC-in-JSON")
    x.add_argument("--out", help="file to write (default: standard output)")
    x.add_argument("--since", help="only records created, changed or deleted since this ISO 8601 date or time; "
                   "deleted ones come out with Leader/05 = d")
    x.add_argument("--rda", action="store_true", help="write 264 throughout, also for records that came in with 260")
    x.add_argument("--workers", type=int, help="processes reading and writing records (env METADATABRONN_WORKERS, "
                   "default: CPUs, at most 2)")
    x.add_argument("--fresh", action="store_true", help="write every record anew: neither reuse nor keep the "
                   "renditions an export keeps of records nothing has changed since (renditions.sqlite in the store)")
    x.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    x.set_defaults(func=_export)

    r = sub.add_parser("roundtrip", parents=[logs], help="convert MARC files to entities and back in memory, and report fidelity")
    r.add_argument("files", nargs="+", metavar="FILE")
    r.add_argument("--report", help="write the measurements as JSON to this file")
    r.add_argument("--workers", type=int, help="conversion processes (env METADATABRONN_WORKERS, default: CPUs, at most 2)")
    r.add_argument("--rda", action="store_true", help="write 264 throughout (fidelity then counts 260 as changed)")
    r.add_argument("--worst", type=int, default=20, help="how many of the worst records the JSON report keeps (default 20)")
    r.add_argument("--show-worst", type=int, default=5, help="how many of them the text report shows (default 5)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar or report on standard output")
    r.set_defaults(func=_roundtrip)

    up = sub.add_parser("update", parents=[common], help="edit the well with a SPARQL Update (a cataloguer's "
                        "correction of a shared work or agent)")
    up.add_argument("sparql", help="the update; '-' reads it from standard input, '@FILE' from a file")
    up.add_argument("--entity", action="append", metavar="IRI",
                    help="an entity the update edits (repeatable); default: every entity IRI the update names. "
                         "Records embedding them get a new datestamp and are exported by --since")
    up.add_argument("--force", action="store_true",
                    help="run DROP, CLEAR, MOVE or COPY, which empty whole graphs (refused without it); the change "
                         "log and tombstones are kept even then")
    up.add_argument("--allow-network", action="store_true",
                    help="run LOAD and SERVICE, which fetch data over the network (refused without it)")
    up.set_defaults(func=_update)

    mg = sub.add_parser("merge", parents=[common], help="merge two works (or expressions, agents, concepts) that "
                        "are one: records naming the first name the second; the first is deprecated, "
                        "replaced by the second")
    mg.add_argument("merged", metavar="MERGED", help="the IRI that goes (it keeps resolving, replaced by INTO)")
    mg.add_argument("into", metavar="INTO", help="the IRI that stays")
    mg.set_defaults(func=_merge)
    rb = sub.add_parser("rebase", parents=[logs], help="give the store a new base IRI: rewrite every IRI minted "
                        "under its base (entities, record graphs, change log)")
    rb.add_argument("new_base", metavar="NEW_IRI", help="the new base IRI, e.g. https://data.example.org")
    rb.add_argument("--store", help=f"store directory (env METADATABRONN_STORE, default {config.DEFAULT_STORE})")
    rb.set_defaults(func=_rebase)
    add_reindex(sub, common)
    add_compact(sub, common)
    add_dump(sub, common, _whole_number)
    add_mirror(sub, logs)

    sv = sub.add_parser("serve", parents=[common], help="serve the store: REST, SPARQL endpoint, query page")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=_port, default=8000,
                    help="port, 1-65535 (default 8000), or auto: 8000 if it is free, "
                         "else one the system chooses. The address served at is printed")
    sv.add_argument("--http-workers", type=_whole_number(1), default=1, help="server processes (default 1; 2 on a 2-core machine "
                    "for throughput)")
    sv.add_argument("--timeout", type=float, help=f"SPARQL query time limit in seconds (env METADATABRONN_QUERY_TIMEOUT, "
                    f"default {config.DEFAULT_QUERY_TIMEOUT:g})")
    sv.add_argument("--max-result-bytes", type=float, help="largest SPARQL result in bytes (env "
                    f"METADATABRONN_MAX_RESULT_BYTES, default {config.DEFAULT_MAX_RESULT_BYTES:,})")
    sv.add_argument("--refresh", type=float, help="seconds a store written meanwhile (by ingest or update) must "
                    f"stay quiet before it is served (env METADATABRONN_REFRESH, default {config.DEFAULT_REFRESH:g}; "
                    "0: serve the store as it was at start)")
    sv.add_argument("--query-wait", type=float, help="seconds a SPARQL query waits for a free query worker, first "
                    "come first served, before 503 with Retry-After (env METADATABRONN_QUERY_WAIT, default 1)")
    sv.add_argument("--query-nice", type=int, help="how much lower the query workers' CPU priority is than the "
                    "server's, so entity pages stay fast beside runaway queries (env METADATABRONN_QUERY_NICE, "
                    "default 5; 0: the same)")
    sv.add_argument("--writer-nice", type=int, help="how much lower the writer process's CPU priority is than the "
                    "server's, so reads stay fast while writes keep coming (env METADATABRONN_WRITER_NICE, default 5; "
                    "0: the same)")
    sv.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                    help="proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1)")
    sv.add_argument("--dumps", help="directory of the dumps served at /dumps (env METADATABRONN_DUMPS, default STORE/dumps)")
    sv.add_argument("--oidc-issuer", help="OpenID Connect issuer whose bearer tokens may write (env "
                    "METADATABRONN_OIDC_ISSUER; none: no token writes)")
    sv.add_argument("--oidc-audience", help="the audience those tokens must name (env METADATABRONN_OIDC_AUDIENCE)")
    sv.add_argument("--api-keys", help="file of API keys that may write, made by 'metadatabronn keys' (env "
                    "METADATABRONN_API_KEYS, default STORE/api-keys.json)")
    sv.add_argument("--audit-log", help="append-only log of every write request (env METADATABRONN_AUDIT_LOG, "
                    "default STORE/audit.jsonl)")
    sv.add_argument("--profile", help=f"application profile that gates writes (env METADATABRONN_PROFILE, default "
                    f"{config.DEFAULT_PROFILE})")
    sv.add_argument("--stats-min-cell", type=_whole_number(1), help="loan counts below this are suppressed in "
                    "public statistics (env METADATABRONN_STATS_MIN_CELL, default 5; 1 shows every count)")
    sv.add_argument("--publishers", help="JSON file naming each publisher's ISBN registrant prefixes, "
                    '{"Gyldendal": ["978-82-05"]}: who sees ISBN-level loans (env METADATABRONN_PUBLISHERS, '
                    "default STORE/publishers.json)")
    sv.set_defaults(func=_serve)
    add_keys(sub, common)
    add_isni(sub, common, _whole_number)
    add_link_report(sub, common)
    add_stats(sub, common)

    e = sub.add_parser("explain", parents=[logs], help="say why two records of a file do or do not share a work")
    e.add_argument("file")
    e.add_argument("first", help="control number (001) or 1-based record number")
    e.add_argument("second", help="control number (001) or 1-based record number")
    e.set_defaults(func=_explain)
    return p


def _store_error(exc: StoreError, args) -> str:
    """A store held by another process says so, not what the storage engine's lock call said."""
    text = str(exc)
    if re.search(r"\bLOCK\b.*(temporarily unavailable|No locks available)|lock hold by", text):
        store = config.store_path(getattr(args, "store", None))
        return (f"the store {store} is in use: another process is writing to it (an ingest or update "
                f"still running, or a server taking writes: submit files to it with 'metadatabronn ingest "
                f"--server URL FILE'); try again when it has finished")
    return text


def main(argv: list[str] | None = None) -> int:
    # A blocked signal stays blocked through exec. The writer blocks SIGTERM in all its threads
    # (pipeline.channel) and runs a submitted file as ``metadatabronn ingest``, whose conversion
    # workers would then never stop when told.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        logging.basicConfig(level=config.log_level(args.log_level), format="%(levelname)s %(name)s: %(message)s")
        return args.func(args)
    except UsageError as exc:
        if exc.usage:
            parser.print_usage(sys.stderr)
        sys.stderr.write(f"metadatabronn: error: {exc}\n")
        return 2
    except ConfigError as exc:
        sys.stderr.write(f"metadatabronn: error: {exc}\n")
        return 2 if args.command == "validate" else 1
    except StoreError as exc:
        sys.stderr.write(f"metadatabronn: error: {_store_error(exc, args)}\n")
        return 1
    except MetadatabronnError as exc:
        sys.stderr.write(f"metadatabronn: error: {exc}\n")
        return 1
    except OSError as exc:  # a file the user named cannot be read or written
        sys.stderr.write(f"metadatabronn: error: {exc.strerror or exc}: {exc.filename or ''}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("metadatabronn: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
