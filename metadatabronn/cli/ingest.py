"""``ingest``: load MARC files into the store."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import config
from ..errors import UsageError
from .common import _check_report, store_base


def _ingest(args) -> int:
    from ..pipeline import Settings, ingest
    from ..pipeline.run import check_inputs, directory_problem

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
                        workers=config.workers(args.workers),
                        rejects_dir=Path(args.rejects) if args.rejects else None,
                        profile=None if profile == "none" else profile, on_invalid=args.on_invalid,
                        compact=args.compact)
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
    if s.compact_seconds:
        out.write(f"store compacted in {s.compact_seconds:.1f} s\n")

