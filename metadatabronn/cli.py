"""The ``metadatabronn`` command: a thin layer over the pipeline."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from . import __version__, config
from .errors import ConfigError, MetadatabronnError, StoreError, UsageError

__all__ = ["UsageError", "build_parser", "main"]


def _check_report(flag: str, value: str | None) -> None:
    """A report file can be written where the flag says: found before anything is read."""
    if not value:
        return
    path = Path(value)
    parent = path.resolve().parent
    if path.is_dir():
        raise UsageError(f"{flag} {value}: is a directory; give the name of a file to write", usage=False)
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(f"{flag} {value}: cannot write the report there, {parent} {what}", usage=False)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{flag} {value}: no permission to write this file", usage=False)
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {value}: no permission to write in {parent}", usage=False)


def _ingest(args) -> int:
    from .pipeline import Settings, ingest
    from .pipeline.run import check_inputs, directory_problem

    _check_report("--report", args.report)
    if args.rejects:
        problem = directory_problem(Path(args.rejects))
        if problem:
            raise UsageError(f"--rejects {args.rejects}: {problem}; it names the directory for rejected "
                             f"records", usage=False)
    check_inputs(args.files)
    profile = config.profile(args.profile)
    settings = Settings(store=config.store_path(args.store), base=config.base_iri(args.base_iri),
                        workers=config.workers(args.workers),
                        rejects_dir=Path(args.rejects) if args.rejects else None,
                        profile=None if profile == "none" else profile, on_invalid=args.on_invalid)
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" records", desc="ingest", file=sys.stderr, smoothing=0.1)
    try:
        summary = ingest(args.files, settings, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    if args.report:
        Path(args.report).write_text(summary.to_json() + "\n", encoding="utf-8")
    if not args.quiet:
        _print_summary(summary, settings.store)
    return 0


def _print_summary(s, store) -> None:
    out = sys.stdout
    out.write(f"store: {store}\n")
    out.write(f"records read      {s.records_read:>9,}\n")
    out.write(f"  stored          {s.records_stored:>9,}  (new {s.records_new:,}, updated {s.records_updated:,}, "
              f"unchanged {s.records_unchanged:,}, deleted {s.records_deleted:,})\n")
    out.write(f"  rejected        {s.records_rejected:>9,}\n")
    for reason, n in list(s.rejection_reasons.items())[:10]:
        out.write(f"      {n:>7,}  {reason}\n")
    if s.rejects_file:
        out.write(f"  kept aside in   {s.rejects_file}\n")
    if s.profile:
        out.write(f"profile {s.profile} (on invalid: {s.on_invalid}): {s.records_invalid:,} rejected for "
                  f"violations, {s.records_stored_with_violations:,} stored with violations, "
                  f"{s.records_with_warnings:,} with warnings\n")
    out.write(f"works             {s.works:>9,}\n")
    out.write(f"expressions       {s.expressions:>9,}\n")
    out.write(f"manifestations    {s.manifestations:>9,}\n")
    out.write(f"agents            {s.agents:>9,}\n")
    if s.unmapped_fields:
        top = sorted(s.unmapped_fields.items(), key=lambda kv: -kv[1])[:12]
        out.write("unmapped fields carried: " + ", ".join(f"{t} ×{n:,}" for t, n in top) + "\n")
    out.write(f"{s.seconds:.1f} s, {s.records_per_second:,.0f} records/s\n")


def _read_sparql(arg: str) -> str:
    """A query or update as given: the text itself, '-' for standard input, '@FILE' for a file."""
    if arg == "-":
        return sys.stdin.read()
    if arg.startswith("@"):
        return Path(arg[1:]).read_text(encoding="utf-8")
    return arg


def _query(args) -> int:
    from .pipeline import query

    sparql = _read_sparql(args.sparql)
    store = config.store_path(args.store)
    if not store.exists():
        raise MetadatabronnError(f"no store at {store}: run 'metadatabronn ingest' first or give --store")
    sys.stdout.buffer.write(query(store, config.base_iri(args.base_iri), sparql, args.format))
    sys.stdout.flush()
    return 0


def _validate(args) -> int:
    from .pipeline.tools import Tally, validate_files, validate_store
    from .validate import to_json, to_text, to_turtle

    profile = config.profile(args.profile)
    base = config.base_iri(args.base_iri)
    if args.files and args.store:
        raise UsageError("give input files or --store, not both")
    tally = None
    if args.files:
        tally = Tally()
        reports = validate_files(args.files, base, profile, args.engine, tally=tally)
    else:
        store = config.store_path(args.store)
        if not store.exists():
            raise MetadatabronnError(f"no store at {store}: run 'metadatabronn ingest' first or give --store")
        reports = validate_store(store, base, profile, args.engine)
    if tally is None:
        render = {"text": lambda: to_text(reports, profile), "json": lambda: to_json(reports, profile),
                  "turtle": lambda: to_turtle(reports)}[args.format]
    else:
        render = {"text": lambda: _files_text(to_text(reports, profile), reports, tally, profile),
                  "json": lambda: _files_json(to_json(reports, profile), tally),
                  "turtle": lambda: _files_turtle(to_turtle(reports), tally)}[args.format]
    sys.stdout.write(render())
    conforms = all(r.conforms for r in reports) and not (tally and tally.unchecked)
    return 0 if conforms else 1


def _files_text(text: str, reports: list, tally, profile: str) -> str:
    """The text report, counting every record read: those that could not be converted (and so
    not checked, as ingest rejects them) and those with nothing to check (set aside, deleted)."""
    conforming = sum(1 for r in reports if r.conforms)
    if not tally.records:
        return text
    head = (f"profile {profile}: {conforming:,} of {tally.records:,} records conform "
            f"({100 * conforming / tally.records:.1f} %)")
    if tally.unchecked:
        head += f"; {len(tally.unchecked):,} could not be checked (below)"
    if tally.skipped:
        head += "; not checked: " + ", ".join(f"{n:,} {why}" for why, n in tally.skipped.most_common())
    lines = [head]
    if tally.unchecked:
        from collections import Counter

        by_reason = Counter(u.reason_class() for u in tally.unchecked)
        lines += ["", "Not checked (the record cannot be converted)"]
        for why, n in by_reason.most_common():
            lines.append(f"  {n:>7,}  {why}")
            for u in [u for u in tally.unchecked if u.reason_class() == why][:5]:
                lines.append(f"           record {u.number} of {u.source}: {u.reason}")
    return "\n".join(lines) + text[text.index("\n"):]


def _files_json(text: str, tally) -> str:
    """The JSON report with every record read counted (docs/api.md)."""
    import json

    report = json.loads(text)
    out = {}
    for key, value in report.items():
        out[key] = value
        if key == "conforms":
            out[key] = value and not tally.unchecked
        elif key == "records":
            out[key] = tally.records
        elif key == "records_conforming":
            out["records_not_checked"] = len(tally.unchecked)
            out["records_skipped"] = sum(tally.skipped.values())
    out["not_checked"] = [{"source": u.source, "record": u.number, "tag": u.tag, "reason": u.reason}
                          for u in tally.unchecked]
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def _files_turtle(text: str, tally) -> str:
    """The SHACL report covers the records that could be converted; the others are named in
    comments before it."""
    if not tally.unchecked:
        return text
    lines = [f"# {len(tally.unchecked):,} of {tally.records:,} records could not be converted and are not "
             f"in this report:"]
    lines += [f"#   record {u.number} of {u.source}: {' '.join(u.reason.split())}" for u in tally.unchecked]
    return "\n".join(lines) + "\n" + text


def _explain(args) -> int:
    from .pipeline import explain_records

    sys.stdout.write(explain_records(args.file, args.first, args.second) + "\n")
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
    from .mapping.reverse import Options
    from .pipeline.export import export

    since = _since(args.since)
    store = config.store_path(args.store)
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" records", desc="export", file=sys.stderr, smoothing=0.1)
    out = open(args.out, "wb") if args.out else sys.stdout.buffer
    try:
        result = export(store, config.base_iri(args.base_iri), out, args.format, since=since,
                        options=Options(rda=args.rda), workers=config.workers(args.workers),
                        progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
        if args.out:
            out.close()
    if not args.quiet:
        sys.stderr.write(f"exported {result.records:,} records ({result.deleted:,} deleted) in "
                         f"{result.seconds:.1f} s; {len(result.failed):,} could not be written\n")
    return 1 if result.failed else 0


def _roundtrip(args) -> int:
    import json

    from .mapping.reverse import Options
    from .pipeline.roundtrip import roundtrip

    _check_report("--report", args.report)
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" records", desc="round trip", file=sys.stderr, smoothing=0.1)
    try:
        result = roundtrip(args.files, workers=config.workers(args.workers), options=Options(rda=args.rda),
                           worst=args.worst, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    if args.report:
        Path(args.report).write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    if not args.quiet:
        sys.stdout.write(result.fidelity.text(args.show_worst))
        skipped = ", ".join(f"{n:,} {why}" for why, n in result.skipped.most_common())
        sys.stdout.write(f"\n{result.records:,} records in {result.seconds:.1f} s, "
                         f"{result.records_per_second:,.0f} records/s"
                         + (f"; not compared: {skipped}" if skipped else "") + "\n")
        for line in result.unreadable[:10]:
            sys.stdout.write(f"unreadable output: {line}\n")
    return 1 if result.unreadable else 0


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
        raise UsageError(f"--entity {iri}: not an entity of this store; its IRIs are {base}/{{{kinds}}}/... "
                         f"(give --base-iri if the store has another base)", usage=False)
    return value


def _update(args) -> int:
    from .store import Store

    sparql = _read_sparql(args.sparql)
    store_path = config.store_path(args.store)
    base = config.base_iri(args.base_iri)
    # Every argument is checked before the store is touched: a bad one changes nothing.
    entities = [_entity(iri, base) for iri in args.entity or ()]
    if not sparql.strip():
        raise UsageError("the update is empty", usage=False)
    if not store_path.exists():
        raise MetadatabronnError(f"no store at {store_path}: run 'metadatabronn ingest' first or give --store")
    # The shared entities an edit names: every record embedding them is then harvested and
    # exported again (OAI-PMH datestamps, export --since).
    entities = entities or sorted(set(re.findall(
        rf"<({re.escape(base)}/(?:{'|'.join(_ENTITY_KINDS)})/[^>\s]+)>", sparql)))
    store = Store(store_path, base)
    try:
        store.update(sparql, changed=entities)
    finally:
        store.close()
    sys.stdout.write(f"updated; {len(entities)} entities logged as changed\n")
    return 0


def _serve(args) -> int:
    import uvicorn

    store = config.store_path(args.store)
    if not store.exists():
        raise MetadatabronnError(f"no store at {store}: run 'metadatabronn ingest' first or give --store")
    os.environ["METADATABRONN_STORE"] = str(store)
    os.environ["METADATABRONN_BASE_IRI"] = config.base_iri(args.base_iri)
    timeout = config.number(args.timeout, "QUERY_TIMEOUT", config.DEFAULT_QUERY_TIMEOUT, "--timeout")
    os.environ["METADATABRONN_QUERY_TIMEOUT"] = str(timeout)
    max_bytes = config.number(args.max_result_bytes, "MAX_RESULT_BYTES", config.DEFAULT_MAX_RESULT_BYTES,
                              "--max-result-bytes")
    os.environ["METADATABRONN_MAX_RESULT_BYTES"] = str(int(max_bytes))
    refresh = config.number(args.refresh, "REFRESH", config.DEFAULT_REFRESH, "--refresh", minimum=-1)
    if refresh < 0:
        raise ConfigError(f"--refresh must be 0 (never) or more seconds, got {refresh:g}")
    os.environ["METADATABRONN_REFRESH"] = str(refresh)
    host = f"[{args.host}]" if ":" in args.host else args.host
    sys.stderr.write(f"metadatabronn: serving {store} at http://{host}:{args.port}/ "
                     f"(base IRI {os.environ['METADATABRONN_BASE_IRI']}); Ctrl-C stops\n")
    sys.stderr.flush()
    # uvicorn imports the factory in each of its worker processes; settings travel in the environment.
    uvicorn.run("metadatabronn.web:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.http_workers, log_level=config.log_level(args.log_level).lower(),
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips, timeout_graceful_shutdown=10)
    return 0


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
    common.add_argument("--base-iri", help=f"base of minted IRIs (env METADATABRONN_BASE_IRI, default {config.DEFAULT_BASE_IRI})")

    i = sub.add_parser("ingest", parents=[common], help="load MARC 21 files (ISO 2709, MARCXML, MARC-in-JSON; .gz too)")
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--report", help="write the summary as JSON to this file")
    i.add_argument("--rejects", help="directory for rejected records (default: STORE.rejects beside the store)")
    i.add_argument("--workers", type=int, help="conversion processes (env METADATABRONN_WORKERS, default: CPUs, at most 2)")
    i.add_argument("--profile", help=f"application profile checked at ingest (env METADATABRONN_PROFILE, default "
                   f"{config.DEFAULT_PROFILE}); 'none' switches the gate off")
    i.add_argument("--on-invalid", choices=["reject", "keep", "warn"], default="reject",
                   help="a record that violates the profile: keep it aside (reject, default), store it with its "
                        "report (keep), or store it and log a warning (warn)")
    i.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
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

    x = sub.add_parser("export", parents=[common], help="write the store's manifestations as MARC 21")
    x.add_argument("--format", choices=["marc", "marcxml", "json"], default="marc",
                   help="ISO 2709 (default), MARCXML, or MARC-in-JSON")
    x.add_argument("--out", help="file to write (default: standard output)")
    x.add_argument("--since", help="only records created, changed or deleted since this ISO 8601 date or time; "
                   "deleted ones come out with Leader/05 = d")
    x.add_argument("--rda", action="store_true", help="write 264 throughout, also for records that came in with 260")
    x.add_argument("--workers", type=int, help="processes reading and writing records (env METADATABRONN_WORKERS, "
                   "default: CPUs, at most 2)")
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
    up.set_defaults(func=_update)

    sv = sub.add_parser("serve", parents=[common], help="serve the store: REST, SPARQL endpoint, query page")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=_whole_number(1, 65535), default=8000, help="port, 1-65535 (default 8000)")
    sv.add_argument("--http-workers", type=_whole_number(1), default=1, help="server processes (default 1; 2 on a 2-core machine "
                    "for throughput)")
    sv.add_argument("--timeout", type=float, help=f"SPARQL query time limit in seconds (env METADATABRONN_QUERY_TIMEOUT, "
                    f"default {config.DEFAULT_QUERY_TIMEOUT:g})")
    sv.add_argument("--max-result-bytes", type=float, help="largest SPARQL result in bytes (env "
                    f"METADATABRONN_MAX_RESULT_BYTES, default {config.DEFAULT_MAX_RESULT_BYTES:,})")
    sv.add_argument("--refresh", type=float, help="seconds a store written meanwhile (by ingest or update) must "
                    f"stay quiet before it is served (env METADATABRONN_REFRESH, default {config.DEFAULT_REFRESH:g}; "
                    "0: serve the store as it was at start)")
    sv.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                    help="proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1)")
    sv.set_defaults(func=_serve)

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
                f"still running?); try again when it has finished")
    return text


def main(argv: list[str] | None = None) -> int:
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
