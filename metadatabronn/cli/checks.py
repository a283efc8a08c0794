"""Commands that read files: ``validate``, ``explain``, ``roundtrip``."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import config
from ..errors import MetadatabronnError, UsageError
from ..validate.report import record_label
from .common import _check_report, store_base


def _validate(args) -> int:
    from ..pipeline.tools import Tally, validate_files, validate_store
    from ..validate import to_json, to_text, to_turtle

    profile = config.profile(args.profile)
    if args.files and args.store:
        raise UsageError("give input files or --store, not both")
    base = config.base_iri(args.base_iri) if args.files else store_base(config.store_path(args.store), args.base_iri)
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
                lines.append(f"           {record_label(u.control_number, u.number, u.source)}: {u.reason}")
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
    out["not_checked"] = [{"source": u.source, "record": u.number, "control_number": u.control_number or None,
                           "tag": u.tag, "reason": u.reason}
                          for u in tally.unchecked]
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def _files_turtle(text: str, tally) -> str:
    """The SHACL report covers the records that could be converted; the others are named in
    comments before it."""
    if not tally.unchecked:
        return text
    lines = [f"# {len(tally.unchecked):,} of {tally.records:,} records could not be converted and are not "
             f"in this report:"]
    lines += [f"#   {record_label(u.control_number, u.number, u.source)}: {' '.join(u.reason.split())}"
              for u in tally.unchecked]
    return "\n".join(lines) + "\n" + text


def _explain(args) -> int:
    from ..pipeline import explain_records

    sys.stdout.write(explain_records(args.file, args.first, args.second) + "\n")
    return 0


def _roundtrip(args) -> int:
    import json

    from ..mapping.reverse import Options
    from ..pipeline.roundtrip import roundtrip

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

