"""The ``mirror`` command: keep a copy of a well in step with its dump and change feed."""

from __future__ import annotations

import sys

from .. import config


def add_mirror(sub, logs) -> None:
    """The ``mirror`` command, for the parser of :mod:`metadatabronn.cli`."""
    m = sub.add_parser("mirror", parents=[logs], help="copy a well over HTTP (its dump, then its change feed) and "
                       "keep the copy in step: run it again to catch up")
    m.add_argument("url", metavar="URL", help="the well's address (e.g. https://data.example.org) or its /changes")
    m.add_argument("--store", required=True, metavar="DIR",
                   help="the mirror's directory: its store and its state file (mirror.json, the source and the "
                        "feed position reached). It follows one source; another URL is refused")
    m.add_argument("--retries", type=int, help="retries of a request after a network error or a 5xx (env "
                   f"METADATABRONN_MIRROR_RETRIES, default {config.DEFAULT_MIRROR_RETRIES})")
    m.add_argument("--backoff", type=float, help="seconds before the first retry, doubled for each next one, at "
                   f"most {config.MIRROR_MAX_BACKOFF:g} (env METADATABRONN_MIRROR_BACKOFF, default "
                   f"{config.DEFAULT_MIRROR_BACKOFF:g})")
    m.add_argument("--http-timeout", type=float, help="seconds a request may wait for the source (env "
                   f"METADATABRONN_MIRROR_TIMEOUT, default {config.DEFAULT_MIRROR_TIMEOUT:g})")
    m.add_argument("--fresh", action="store_true", help="load the newest dump again (the mirror emptied first), "
                   "then follow the feed from its position")
    m.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    m.set_defaults(func=_mirror)


def _mirror(args) -> int:
    from ..pipeline.mirror import Settings, mirror

    settings = Settings(retries=config.mirror_retries(args.retries), backoff=config.mirror_backoff(args.backoff),
                        max_backoff=config.MIRROR_MAX_BACKOFF, timeout=config.mirror_timeout(args.http_timeout))
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit=" changes", desc="mirror", file=sys.stderr, smoothing=0.1)
        if total != bar.total:
            bar.total = total
            bar.refresh()
        bar.update(done)

    def say(message: str) -> None:
        if bar is not None:
            bar.clear()
        sys.stderr.write(f"metadatabronn: {message}\n")

    show = sys.stderr.isatty() and not args.quiet
    try:
        result = mirror(args.url, args.store, settings, progress=progress if show else None, say=say,
                        fresh=args.fresh)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        if result.dump is not None:
            sys.stderr.write(f"loaded the dump of sequence {result.dump.get('sequence')} (feed position "
                             f"{result.dump.get('position')}): {result.dump_quads:,} statements in "
                             f"{result.dump_seconds:.1f} s\n")
        sys.stderr.write(f"applied {result.activities:,} changes ({result.documents:,} documents, "
                         f"{result.quads:,} statements) in {result.seconds:.1f} s, {result.rate:,.0f} changes/s; "
                         f"now at feed position {result.position:,}\n")
    return 0
