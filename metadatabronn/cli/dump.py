"""The ``dump`` command: the whole well in one file (N-Quads, JSON-LD lines or MARCXML), stating
the change-feed position it was read at."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import config
from ..errors import UsageError
from .common import store_base


def _dump(args) -> int:
    from ..pipeline.dump import dump
    from .store import _existing_store

    _check_out(args.out)
    store = _existing_store(args.store)
    base = store_base(store, args.base_iri)  # refuses a --base-iri that is not the store's
    entity_line = None
    if args.format == "jsonld":
        from ..web.dumps import entity_line as writer

        entity_line = writer(base)
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        unit = {"nquads": " graphs", "jsonld": " entities", "marcxml": " records"}[args.format]
        bar = tqdm(unit=unit, desc=f"dump {args.format}", file=sys.stderr, smoothing=0.1)
    try:
        result = dump(store, args.format, out=args.out, dumps=args.dumps, keep=args.keep,
                      entity_line=entity_line, workers=config.workers(args.workers),
                      progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        what = {"nquads": "statements", "jsonld": "entities", "marcxml": "records"}[args.format]
        sys.stderr.write(f"dumped {result.items:,} {what} at sequence {result.sequence:,} to {result.path} "
                         f"({result.bytes:,} bytes, {result.seconds:.1f} s)\n")
    return 0


def _check_out(value: str | None) -> None:
    """An --out that cannot be written is said before the store is read."""
    if not value:
        return
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"--out {value}: is a directory; give the name of a file to write", usage=False)
    if not path.resolve().parent.is_dir():
        raise UsageError(f"--out {value}: the directory {path.resolve().parent} does not exist", usage=False)


def add_dump(sub, common, whole_number) -> None:
    """The ``dump`` command, for the parser of :mod:`metadatabronn.cli`."""
    d = sub.add_parser("dump", parents=[common], help="write the whole well to one file, stating the change-feed "
                       "position it was read at (N-Quads, JSON-LD lines or MARCXML)")
    d.add_argument("--format", choices=["nquads", "jsonld", "marcxml"], default="nquads",
                   help="N-Quads (default; every graph but the change log), JSON-LD (one entity a line, line 1 "
                        "the header) or MARCXML (one collection, the MARC export)")
    d.add_argument("--out", help="file to write (gzip if it ends .gz); default: the dumps directory, as "
                   "FORMAT-SEQUENCE.EXT.gz, written whole under a temporary name and then renamed")
    d.add_argument("--dumps", help="the dumps directory (env METADATABRONN_DUMPS, default STORE/dumps)")
    d.add_argument("--keep", type=whole_number(1), default=3,
                   help="how many dumps of the format to keep in the dumps directory (default 3); older ones "
                        "are deleted")
    d.add_argument("--workers", type=int, help="JSON-LD and MARCXML: processes reading and writing (env METADATABRONN_WORKERS, "
                   "default: CPUs, at most 2)")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    d.set_defaults(func=_dump)
