"""Reading the store and explaining records: query, explain."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import MetadatabronnError, RecordError
from ..mapping import convert
from ..marc import iter_chunks, parse_chunk
from ..store import Store

log = logging.getLogger(__name__)


def query(store_path: Path, base: str, sparql: str, fmt: str) -> bytes:
    store = Store(store_path, base, read_only=True)
    try:
        # CONSTRUCT and DESCRIBE: JSON-LD for json, RDF/XML for xml, N-Triples otherwise.
        body, _ = store.run_query(sparql, results=fmt, graph={"json": "jsonld", "xml": "rdfxml"}.get(fmt, "ntriples"))
        return body
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


def record_texts(path: str | Path, base: str):
    """(chunk, description, N-Quads of the record and of every entity core it names) for each
    bibliographic record of a file that converts; the others are logged and passed over."""
    from ..marc import RecordKind, record_kind
    from ..rdf import serialise

    for chunk in iter_chunks(path):
        try:
            record = parse_chunk(chunk)
            if record_kind(str(record.leader)) is not RecordKind.BIBLIOGRAPHIC:
                continue
            description = convert(record, chunk.number)
        except RecordError as exc:
            log.warning("%s record %d cannot be validated: %s", chunk.source, chunk.number, exc)
            continue
        if description.deleted:
            continue
        s = serialise(description, base, source=chunk.source, source_hash="", when="1970-01-01T00:00:00Z")
        yield chunk, description, s.nquads + "".join(c for _, _, c in s.cores)


def validate_files(paths: list[str], base: str, profile_name: str, engine: str = "fast") -> list:
    """Convert the records of files (no store) and check them against a profile."""
    from ..validate import Data, RecordReport, check, load_profile
    from ..validate import reference

    profile = load_profile(profile_name)
    reports = []
    for path in paths:
        if not Path(path).is_file():
            raise MetadatabronnError(f"no such input file: {path}")
        for chunk, description, text in record_texts(path, base):
            results = (reference.validate(text, profile) if engine == "pyshacl"
                       else check(Data.from_nquads(text), profile))
            reports.append(_with_tags(RecordReport(chunk.source, chunk.number, description.control_number, results),
                                      profile))
    return reports


def validate_store(store_path: Path, base: str, profile_name: str, engine: str = "fast") -> list:
    """Check every record in the store, as stored: its graph and the cores of what it names."""
    from ..validate import Data, RecordReport, check, load_profile
    from ..validate import reference

    profile = load_profile(profile_name)
    store = Store(store_path, base, read_only=True)
    reports = []
    try:
        for graph, source, control_number, text in store.record_views():
            results = (reference.validate(text, profile) if engine == "pyshacl"
                       else check(Data.from_nquads(text), profile))
            reports.append(_with_tags(RecordReport(source, 0, control_number, results), profile))
    finally:
        store.close()
    return reports


def _with_tags(report, profile):
    """pySHACL's results do not know the MARC tags; the profile does."""
    from dataclasses import replace

    tags = {c.id: c.marc_tags for c in profile.constraints}
    report.results = [r if r.marc_tags else replace(r, marc_tags=tags.get(r.shape, "")) for r in report.results]
    return report
