"""Loan deliveries in, and the edition map kept in step with the well (docs/architecture.md,
"Loan statistics").

- :func:`load` stores a delivery file: CSV goes to DuckDB's own reader as it is (streamed by it),
  JSON (an array of objects, or one object a line) is read object by object;
- :func:`deliver` does the same for a delivery's bytes (an HTTP body);
- a delivery with bad rows stores nothing and raises :class:`~..errors.DeliveryRejected` listing
  them, unless ``partial``: then the good rows are stored and the rest reported;
- :func:`sync` brings the edition map up to the store's change feed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Iterator

from ..errors import DeliveryRejected, InputError
from ..store import Store
from ..store.loans import Delivered, Loans, RowProblem
from ..store.loans.editions import changed_since, chunks, rows_of

log = logging.getLogger(__name__)

SYNCED = "sync_feed"  # meta key: the change feed's position the map is in step with
_READ = 1 << 16


def kind_of(path: str | os.PathLike, head: bytes = b"") -> str:
    """csv or json, by the file's name, else by its first non-blank byte."""
    name = str(path).lower()
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "json" if head.lstrip()[:1] in (b"[", b"{") else "csv"


def json_rows(stream: IO[str]) -> Iterator[dict]:
    """The objects of a JSON delivery, one at a time: an array of objects, objects one a line
    (or one after another), or ``{"rows": [...]}`` (read whole). A value that is not an object
    comes out as an empty row, refused by the checks with its number."""
    decoder = json.JSONDecoder()
    buf, pos, eof = "", 0, False
    started = False

    def fill() -> bool:
        nonlocal buf, pos, eof
        more = stream.read(_READ)
        if not more:
            eof = True
            return False
        buf, pos = buf[pos:] + more, 0
        return True

    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(buf):
            if eof or not fill():
                return
            continue
        if not started and buf[pos] == "[":
            started, pos = True, pos + 1
            continue
        started = True
        if buf[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if not eof and fill():
                continue
            raise InputError(f"not a JSON delivery: {exc}") from exc
        if end == len(buf) and not eof and fill():  # a number cut at the buffer's end
            continue
        pos = end
        if isinstance(value, dict) and isinstance(value.get("rows"), list):
            for row in value["rows"]:
                yield row if isinstance(row, dict) else {}
        else:
            yield value if isinstance(value, dict) else {}


def _text_rows(rows: Iterator[dict]) -> Iterator[dict]:
    # JSON numbers come as numbers; the checks read text, and 2.0 loans is not a whole count
    for row in rows:
        yield {k: (json.dumps(v) if isinstance(v, (bool, float, list, dict)) else v) for k, v in row.items()}


def load(store_path: str | os.PathLike, path: str | os.PathLike, system: str, *, partial: bool = False,
         loans: Loans | None = None) -> Delivered:
    """Store a delivery file (CSV or JSON) for ``system``."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    own = loans is None
    loans = loans or Loans(store_path)
    try:
        if kind_of(path, head) == "csv":
            return loans.replace_file(system, path, partial=partial)
        with open(path, encoding="utf-8-sig") as fh:
            return loans.replace(system, _text_rows(json_rows(fh)), partial=partial)
    finally:
        if own:
            loans.close()


def deliver(loans: Loans, data: bytes, system: str, *, kind: str | None = None, partial: bool = False) -> Delivered:
    """Store a delivery given as bytes (an HTTP body); ``kind`` csv or json (else guessed)."""
    kind = kind or kind_of("", data[:64])
    if kind == "json":
        text = io.StringIO(data.decode("utf-8-sig"))
        return loans.replace(system, _text_rows(json_rows(text)), partial=partial)
    with tempfile.TemporaryDirectory(prefix="delivery-") as tmp:
        staged = Path(tmp) / "delivery.csv"
        staged.write_bytes(data)
        return loans.replace_file(system, staged, partial=partial)


@dataclass
class Synced:
    first: bool  # the whole map was read (no earlier sync)
    position: int  # the change feed's position the map is now in step with
    manifestations: int  # manifestations read again
    rows: int  # edition rows written
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def sync(store_path: str | os.PathLike, loans: Loans | None = None) -> Synced:
    """Bring the edition map up to the store: the first time, every manifestation with an ISBN;
    after that, only what the change feed names after the last synced position (manifestations
    created, changed, deleted or moved by a merge, and those of a work or expression it names).
    Loan rows are never touched: an ISBN unknown today matches once its record arrives."""
    started = time.perf_counter()
    own = loans is None
    loans = loans or Loans(store_path)
    try:
        synced = loans.get_meta(SYNCED)
        after = int(synced) if synced is not None else 0
        position, ms, ws, es = changed_since(store_path, after)
        if synced is not None and position < after:
            # the feed is shorter than the map's position: a batch cut short was rolled back (its
            # positions will be given again) or the index is another store's: read it all again
            log.warning("change feed at %d, behind the edition map's %d: reading the whole map again", position, after)
            synced = None
        if synced is not None and position == after:
            return Synced(False, position, 0, 0, time.perf_counter() - started)
        store = Store(store_path, read_only=True)  # opened after the feed was read: as new or newer
        try:
            if synced is None:
                rows = rows_of(store, None)
                written = loans.put_editions((), rows, {SYNCED: str(position)}, whole=True)
                result = Synced(True, position, len({r[1] for r in rows}), written, 0.0)
            else:
                ms |= set(loans.editions_of("work", sorted(ws))) if ws else set()
                ms |= set(loans.editions_of("expression", sorted(es))) if es else set()
                written = 0
                parts = list(chunks(ms)) or [[]]
                for i, part in enumerate(parts):
                    meta = {SYNCED: str(position)} if i == len(parts) - 1 else {}
                    written += loans.put_editions(part, rows_of(store, part), meta)
                result = Synced(False, position, len(ms), written, 0.0)
        finally:
            store.close()
    finally:
        if own:
            loans.close()
    result.seconds = round(time.perf_counter() - started, 3)
    log.info("edition map synced to feed position %d: %d manifestations read, %d rows (%.3f s)",
             result.position, result.manifestations, result.rows, result.seconds)
    return result


__all__ = ["DeliveryRejected", "Delivered", "RowProblem", "Synced", "deliver", "json_rows", "kind_of", "load", "sync"]
