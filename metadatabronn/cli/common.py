"""What the commands share: checking report paths, reading SPARQL text, the store's base IRI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import config
from ..errors import UsageError


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


def _read_sparql(arg: str) -> str:
    """A query or update as given: the text itself, '-' for standard input, '@FILE' for a file."""
    if arg == "-":
        return sys.stdin.read()
    if arg.startswith("@"):
        return Path(arg[1:]).read_text(encoding="utf-8")
    return arg



def store_base(store: Path, flag: str | None) -> str:
    """The base IRI to work under: the store's own. A base given by ``--base-iri`` or
    ``METADATABRONN_BASE_IRI`` must be that one (else the store would answer 404s, mint wrong
    IRIs or log no change): refused otherwise. A store that does not exist yet takes the one
    given, or the default."""
    from ..store import Store

    given = config.explicit_base_iri(flag)
    if not (store / "CURRENT").exists() and not (store / "remote.json").exists():  # no store there yet (RocksDB writes CURRENT when it makes one)
        return given or config.DEFAULT_BASE_IRI
    s = Store(store, given, read_only=True)  # raises BaseMismatchError on a mismatch
    try:
        return s.base
    finally:
        s.close()
