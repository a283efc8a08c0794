"""Authority ingest benchmark: authority records/s into a fresh store, and the conversion alone.

    python bench/authority_ingest.py [FILE] [--workers N] [--runs N] [--repeat N]

FILE defaults to the Koha sample's authority file in the shared corpora folder (1,706 records;
GPL, so it is read from there and never committed). ``--repeat N`` loads a file of N copies of
FILE instead, each record's 001 made distinct per copy (``1`` → ``1``, ``1-2``, ``1-3`` …), so
that a bigger input holds as many distinct authorities (written beside the stores, in FILE's own
format, and removed afterwards). Each of ``--runs`` runs loads the input into a new store (the
compaction after a first load reported apart, as ingest does) and prints the summary's
records/s; ``convert`` is the worker step alone (parse, map, N-Quads) in this process, the
ceiling of what the workers can feed the loader.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from metadatabronn.marc import Format, iter_chunks, parse_chunk
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.worker import convert_chunk

DEFAULT = (Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "koha-sample"
           / "koha_sample_authorities.marcxml")
BASE = "http://example.org"
_XML_001 = re.compile(rb'(<(?:[\w.-]+:)?controlfield tag="001">)([^<]*)(<)')
_XML_RECORDS = re.compile(rb"<(?:[\w.-]+:)?record[\s>].*</(?:[\w.-]+:)?record>", re.S)


def repeated(path: Path, copies: int, out_dir: Path) -> Path:
    """A file of ``copies`` copies of ``path``'s records, 001 made distinct in each copy after
    the first. MARCXML is copied as text (the records' own layout kept, so reading costs what it
    costs in the original); other formats through pymarc as ISO 2709."""
    if copies <= 1:
        return path
    data = path.read_bytes()
    first = next(iter_chunks(path))
    if first.format is Format.MARCXML:
        body = _XML_RECORDS.search(data)
        if body is None:
            raise SystemExit(f"{path}: no records found to repeat")
        head, records, tail = data[:body.start()], body.group(0), data[body.end():]
        out = out_dir / f"repeated-{copies}{path.suffix}"
        with out.open("wb") as f:
            f.write(head)
            for n in range(1, copies + 1):
                suffix = b"" if n == 1 else f"-{n}".encode()
                f.write(_XML_001.sub(lambda m: m.group(1) + m.group(2) + suffix + m.group(3), records))
            f.write(tail)
        return out
    out = out_dir / f"repeated-{copies}.mrc"
    with out.open("wb") as f:
        for n in range(1, copies + 1):
            for chunk in iter_chunks(path):
                record = parse_chunk(chunk)
                field = record.get("001")
                if field is not None and n > 1:
                    field.data = f"{field.data}-{n}"
                f.write(record.as_marc())
    return out


def convert_only(path: Path) -> tuple[int, float, int]:
    chunks = list(iter_chunks(path))
    start = time.perf_counter()
    refused = 0
    for chunk in chunks:
        if convert_chunk(chunk, BASE, "2026-01-01T00:00:00Z").status != "ok":
            refused += 1
    return len(chunks), time.perf_counter() - start, refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1, help="load N copies of FILE, 001 distinct per copy")
    args = parser.parse_args()
    if not args.file.exists():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="authority-bench-"))
    try:
        path = repeated(args.file, args.repeat, scratch)
        n, seconds, refused = convert_only(args.file)
        print(json.dumps({"convert": {"records": n, "records_per_second": round(n / seconds), "not_ok": refused}}))
        for _ in range(args.runs):
            work = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
            try:
                summary = ingest([str(path)], Settings(store=work / "store", base=BASE, workers=args.workers,
                                                       rejects_dir=work / "rejects"))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print(json.dumps({"ingest": {
                "records": summary.records_read, "authorities": summary.records_authority,
                "rejected": summary.records_rejected, "seconds": summary.seconds,
                "records_per_second": summary.records_per_second, "startup_seconds": summary.startup_seconds,
                "aliases_seconds": summary.aliases_seconds, "linking_seconds": summary.linking_seconds,
                "compact_seconds": summary.compact_seconds, "agents": summary.agents, "works": summary.works}}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
