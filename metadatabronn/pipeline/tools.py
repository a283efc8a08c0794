"""Reading the store and explaining records: query, explain."""

from __future__ import annotations

from pathlib import Path

from ..errors import MetadatabronnError, RecordError
from ..mapping import convert
from ..marc import iter_chunks, parse_chunk
from ..store import Store


def query(store_path: Path, base: str, sparql: str, fmt: str) -> bytes:
    store = Store(store_path, base, read_only=True)
    try:
        return store.serialise_results(store.query(sparql), fmt)
    finally:
        store.close()


def explain_records(path: str, first: str, second: str) -> str:
    """Convert two records of a file and say whether, and why, they share a work."""
    from ..identity import explain

    wanted = {first, second}
    found: dict[str, object] = {}
    for chunk in iter_chunks(path):
        try:
            record = parse_chunk(chunk)
        except RecordError:
            continue
        cn = record.get("001").data.strip() if record.get("001") else ""
        for w in wanted:
            if w in (str(chunk.number), cn) and w not in found:
                found[w] = convert(record, chunk.number)
        if len(found) == len(wanted):
            break
    missing = wanted - set(found)
    if missing:
        raise MetadatabronnError(f"not found in {path}: {', '.join(sorted(missing))}")
    return str(explain(found[first], found[second]))
