"""``ingest``: load MARC files into the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import config
from ..errors import UsageError
from .common import _check_report, store_base


def _ingest(args) -> int:
    from ..pipeline import Settings, ingest
    from ..pipeline.inputs import check_inputs, directory_problem

    if args.server:
        return _submit(args)
    _check_report("--report", args.report)
    if args.rejects:
        problem = directory_problem(Path(args.rejects))
        if problem:
            raise UsageError(f"--rejects {args.rejects}: {problem}; it names the directory for rejected "
                             f"records", usage=False)
    check_inputs(args.files)
    profile = config.profile(args.profile)
    store = config.store_path(args.store)
    settings = Settings(store=store, base=store_base(store, args.base_iri),
                        workers=config.workers(args.workers), batch_records=config.batch_records(args.batch_records),
                        rejects_dir=Path(args.rejects) if args.rejects else None,
                        profile=None if profile == "none" else profile, on_invalid=args.on_invalid,
                        compact=args.compact, **_engine(args))
    settings.check_engine()  # a missing Dask says how to install it before any progress bar
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
    for problem in summary.files_unreadable:  # an empty file, a PDF: nothing in it could be read
        sys.stderr.write(f"metadatabronn: error: {problem}\n")
    return 1 if summary.files_unreadable else 0


def _engine(args) -> dict:
    """``engine`` and ``scheduler`` from the flags, else METADATABRONN_ENGINE and
    METADATABRONN_SCHEDULER; defaults ``local`` and none. A scheduler alone means Dask."""
    import os

    scheduler = args.scheduler or os.environ.get("METADATABRONN_SCHEDULER") or None
    engine = args.engine or os.environ.get("METADATABRONN_ENGINE") or ("dask" if scheduler else "local")
    if args.scheduler and engine != "dask":
        raise UsageError(f"--scheduler is for --engine dask, not --engine {engine}")
    if engine != "dask":
        scheduler = None  # METADATABRONN_SCHEDULER set for other runs: a local ingest ignores it
    return {"engine": engine, "scheduler": scheduler}


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
        for line in _rejected_records(Path(s.rejects_file)):
            out.write(f"      {line}\n")
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
    if s.cluster_workers:
        out.write("converted on Dask: " + ", ".join(f"{w} {c['records']:,}" for w, c in s.cluster_workers.items())
                  + "\n")
    if s.compact_seconds:
        out.write(f"store compacted in {s.compact_seconds:.1f} s\n")


SHOWN_REJECTS = 10


def _rejected_records(path: Path) -> list[str]:
    """One line for each of the first rejected records: where it is, its 001, why, and what it
    holds, so that a reader sees the rejection is right (a record of nothing but a 001 has no
    title to show) without opening the rejects file."""
    lines, more = [], 0
    try:
        with path.open(encoding="utf-8") as fh:
            for text in fh:
                entry = json.loads(text)
                if entry.get("status") == "aside":  # counted apart, not as rejected
                    continue
                if len(lines) >= SHOWN_REJECTS:
                    more += 1
                    continue
                where = f"{Path(entry.get('source') or '?').name} no. {entry.get('record')}"
                if entry.get("control_number"):
                    where += f" ({entry['control_number']})"
                held = _fields_held(entry)
                lines.append(f"{where}: {entry.get('reason')}" + (f"; the record holds {held}" if held else ""))
    except (OSError, ValueError):  # the summary above still says how many and why
        return lines
    if more:
        lines.append(f"... and {more:,} more in the file below")
    return lines


def _fields_held(entry: dict) -> str:
    """'nothing but 001', or the tags of the record's fields (up to 12)."""
    from ..marc import Chunk, Format, parse_chunk

    if entry.get("encoding") != "utf-8":
        return ""
    try:
        record = parse_chunk(Chunk(entry.get("record") or 0, Format(entry.get("format")),
                                   entry["data"].encode("utf-8"), entry.get("source") or ""))
    except Exception:  # unreadable records say so in their reason already
        return ""
    tags = [f.tag for f in record.fields]
    if not tags:
        return "no fields"
    if len(tags) == 1:
        return f"nothing but {tags[0]}"
    shown = ", ".join(tags[:12]) + (", ..." if len(tags) > 12 else "")
    return f"{len(tags)} fields: {shown}"


def _submit(args) -> int:
    """Each file sent to ``POST /records`` of a server that holds the store for writing."""
    import os

    import httpx

    from ..errors import MetadatabronnError
    from ..pipeline.inputs import check_inputs

    check_inputs(args.files)
    token = args.token or os.environ.get("METADATABRONN_TOKEN")
    if not token:
        raise UsageError("--server needs a credential: --token or METADATABRONN_TOKEN (a bearer token or API key "
                         "with the scope 'ingest')", usage=False)
    url = args.server.rstrip("/") + "/records"
    failed = 0
    for name in args.files:
        with open(name, "rb") as body:
            try:
                r = httpx.post(url, params={"name": Path(name).name}, content=body, timeout=None,
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"})
            except httpx.HTTPError as exc:
                raise MetadatabronnError(f"the server at {args.server} cannot be reached: {exc}") from None
        try:
            answer = r.json()
        except ValueError:
            answer = {"detail": r.text[:500]}
        if r.status_code >= 400 and "summary" not in answer:
            sys.stderr.write(f"metadatabronn: error: {name}: {r.status_code} {answer.get('detail', answer)}\n")
            failed += 1
            continue
        summary = answer.get("summary") or {}
        if args.report:
            Path(args.report).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        if not args.quiet:
            sys.stdout.write(f"{name}: submitted to {args.server}\n")
            for key in ("records_read", "records_stored", "records_new", "records_updated", "records_unchanged",
                        "records_deleted", "records_rejected"):
                if key in summary:
                    sys.stdout.write(f"  {key.replace('_', ' '):<20}{summary[key]:>9,}\n")
        for line in answer.get("messages") or ():
            if "error" in line:
                sys.stderr.write(f"{line}\n")
        failed += answer.get("exit", 0) != 0
    return 1 if failed else 0
