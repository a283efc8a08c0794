"""Export benchmark: the store's manifestations as MARC 21, records/s and peak memory.

    python bench/export.py [CORPUS...] [--store DIR] [--format marc|marcxml|json] [--fidelity [--report FILE]]
                           [--fresh] [--again]

Ingests CORPUS (default: the LC Books 2016 part 01 first-20k file; several files go into one
store) into a fresh store (or uses --store as it is), then runs ``metadatabronn export`` in a
child process, so its peak memory is the export's own, and reads the output back with pymarc.

``--fidelity`` compares every exported record with the record it was ingested from (by control
number; control numbers that occur twice in the input are left out). Unlike ``roundtrip``,
which converts each record alone, this sees what sharing entities in the store does: a heading
written in the form another record gave the shared agent or work.

An export keeps each record's bytes as a rendition (store.renditions) unless ``--fresh``;
``--again`` times a second export, which reuses them, and checks it writes the same bytes.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymarc

from metadatabronn.pipeline import Settings, ingest

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
BASE = "http://localhost:8000"


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="*", default=[str(DEFAULT)])
    ap.add_argument("--store", help="an existing store to export (no ingest)")
    ap.add_argument("--format", default="marc", choices=["marc", "marcxml", "json"])
    ap.add_argument("--fidelity", action="store_true", help="compare each exported record with its input")
    ap.add_argument("--report", help="with --fidelity: write the comparison (classes, per tag, worst records) as JSON here")
    ap.add_argument("--fresh", action="store_true", help="export --fresh: neither reuse nor keep renditions")
    ap.add_argument("--again", action="store_true", help="then export again, reusing the renditions the first kept, "
                    "and check the two give the same bytes")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mb-export-"))
    try:
        store = Path(args.store) if args.store else tmp / "store"
        if not args.store:
            summary = ingest(args.corpus, Settings(store=store, base=BASE, workers=2, profile=None))
            print(f"ingested {summary.records_stored:,} records of {', '.join(Path(c).name for c in args.corpus)}")
        out = tmp / f"out.{args.format}"
        cli = Path(sys.executable).parent / "metadatabronn"
        start = time.perf_counter()
        command = [str(cli), "export", "--store", str(store), "--base-iri", BASE, "--format", args.format, "-q"]
        if args.fresh:
            command.append("--fresh")
        subprocess.run([*command, "--out", str(out)], check=True)
        seconds = time.perf_counter() - start
        if args.again:
            start = time.perf_counter()
            subprocess.run([*command, "--out", str(tmp / "again")], check=True)
            again = time.perf_counter() - start
            same = (tmp / "again").read_bytes() == out.read_bytes()
            print(f"export again: {again:.1f} s ({'the same bytes' if same else 'OTHER BYTES'})")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if args.format == "marc":
            with open(out, "rb") as fh:
                n = sum(1 for r in pymarc.MARCReader(fh, force_utf8=True) if r is not None)
        elif args.format == "marcxml":
            n = len(pymarc.parse_xml_to_array(str(out)))
        else:
            import json

            n = len(json.loads(out.read_text()))
        print(f"export --format {args.format}: {n:,} records in {seconds:.1f} s = {n / seconds:,.0f} records/s "
              f"(process start included); peak memory {peak:,.0f} MiB; {out.stat().st_size / 1e6:,.1f} MB")
        if args.fidelity and args.format == "marc":
            fidelity(args.corpus, out, args.report)
            looked_up(store)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def fidelity(corpora: list[str], exported: Path, report: str | None = None) -> None:
    from metadatabronn.errors import MetadatabronnError
    from metadatabronn.mapping.convert import convert, record_control_number
    from metadatabronn.marc import iter_chunks, parse_chunk
    from metadatabronn.marc.compare import compare
    from metadatabronn.marc.fidelity import Fidelity

    given: dict[str, pymarc.Record] = {}
    twice: set[str] = set()
    for path in corpora:
        for chunk in iter_chunks(path):
            try:
                record = parse_chunk(chunk)
                convert(record)
            except MetadatabronnError:  # rejected at ingest too, with its reason (UNIMARC, no title, …)
                continue
            cn = record_control_number(record)
            if cn is not None:
                if cn in given:
                    twice.add(cn)
                given[cn] = record
    result = Fidelity()
    n = 0
    seen: set[str] = set()
    with open(exported, "rb") as fh:
        for record in pymarc.MARCReader(fh, force_utf8=True):
            cn = record_control_number(record)
            seen.add(cn)
            if cn in given and cn not in twice:
                n += 1
                result.add(compare(given[cn], record, n))
    missing = sorted(cn for cn in given if cn not in seen and cn not in twice)
    totals = result.totals()
    expected = len(given) - len(twice)
    classes = result.classes()
    print(f"fidelity of the store's export, {n:,} of {expected:,} records (missing: {expected - n:,}); "
          f"fields kept {totals.fields_kept / totals.fields_in:.4%}")
    if missing:
        # Stored at ingest but not exported.
        print(f"  missing: {', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}")
    print(f"  subfields identical after NFC {classes['identical'] / totals.subfields_in:.4%} "
          f"(005, the time of the last change in the well, counts as identical)")
    print("  " + "; ".join(f"{k.replace('_', '/')} {v:,}" for k, v in classes.items()))
    added = result.added_by_tag()
    if added:
        print("  added, by tag: " + ", ".join(f"{t} {v:,}" for t, v in added.items()))
    if report:
        import json

        Path(report).write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
        print(f"  report: {report}")


def looked_up(store_path: Path) -> None:
    """Export writes a record nobody edited straight from its layout. Written the long way as
    well, each held value looked up among the entities as for an edited record, it must give the
    same bytes: that keeps the look-up, which edited records need, true on every unedited one."""
    from metadatabronn.mapping.reverse import from_triples, to_marc
    from metadatabronn.mapping.source import control_number_of
    from metadatabronn.marc.writer import encode
    from metadatabronn.store import Store

    reader = Store(store_path, BASE, read_only=True)
    unedited = same = 0
    differ: list[str] = []
    try:
        authorities = f"{reader.base}/authority/"
        for graph in reader.record_graphs(None):
            if graph.startswith(authorities):
                continue
            unchanged: list[bool] = []
            found = reader.record_statements(graph, edits=True, unchanged=unchanged)
            if found is None:
                continue
            m, carried, modified, deleted, statements, edited = found
            cn = control_number_of(statements, m)
            src = from_triples(cn, m, statements, carried, modified=modified, deleted=deleted, edited=edited,
                               unchanged=unchanged[0])
            if not src.unedited:
                continue
            unedited += 1
            # (read again: a record nobody edited is read without the cores the long way looks in)
            m, carried, modified, deleted, statements, edited = reader.record_statements(graph, edits=True)
            long_way = from_triples(cn, m, statements, carried, modified=modified, deleted=deleted, edited=edited)
            if encode(to_marc(src), "marc") == encode(to_marc(long_way), "marc"):
                same += 1
            else:
                differ.append(src.control_number)
    finally:
        reader.close()
    print(f"  records nobody edited: {unedited:,}; written the long way (values looked up) {same:,} give the "
          f"same bytes{', differ: ' + ', '.join(differ[:20]) if differ else ''}")


if __name__ == "__main__":
    sys.exit(main())
