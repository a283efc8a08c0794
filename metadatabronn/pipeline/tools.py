"""Reading the store, explaining records and checking files: query, explain, validate."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, MetadatabronnError, RecordError
from ..mapping import convert
from ..marc import iter_chunks, parse_chunk
from ..store import Store

log = logging.getLogger(__name__)


# What a SPARQL Update starts with, after its prologue; no query starts so. A comment is
# skipped whole: "# works shared with ..." does not make a query an update.
_UPDATE = re.compile(
    r"""\A(?:\s+|\#[^\n]*(?:\n|\Z)|(?i:PREFIX)\s+[^\s:]*:\s*<[^>]*>|(?i:BASE)\s*<[^>]*>)*
        (?i:(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH))\b""", re.VERBOSE)


def update_keyword(sparql: str) -> str | None:
    """The operation a SPARQL Update starts with (INSERT, DELETE, ...), or None for anything else."""
    m = _UPDATE.match(sparql)
    return m.group(1).upper() if m else None


def query(store_path: Path, base: str, sparql: str, fmt: str) -> bytes:
    keyword = update_keyword(sparql)
    if keyword:
        raise MetadatabronnError(f"this is a SPARQL Update ({keyword}), not a query: run it with "
                                 f"'metadatabronn update', which also logs the change")
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
    from . import aliases

    # As ingest does: a translation's own title that the file states is another name of its
    # original puts the record under the original's work.
    table = aliases.scan([path])
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
                description = convert(record, chunk.number)
                aliases.join(description, record, table)
                found[w] = description
        if len(found) == len(wanted):
            break
    missing = wanted - set(found)
    if missing:
        raise MetadatabronnError(f"not found in {path}: {', '.join(sorted(missing))}")
    return str(explain(found[first], found[second]))


@dataclass
class Unchecked:
    """A record that could not be converted, so not checked: where it is and why."""

    source: str
    number: int
    reason: str
    tag: str | None = None
    control_number: str = ""  # 001 (with 003), else 035, else 010, when the record has one

    def reason_class(self) -> str:
        reason = self.reason.split(":", 1)[0]
        return f"field {self.tag}: {reason}" if self.tag else reason


@dataclass
class Tally:
    """What checking files found besides the reports, counted as ingest counts: every record
    read is checked (a report), could not be (``unchecked``, as ingest rejects it), or has
    nothing to check (``skipped``: set aside as not bibliographic, or deleted)."""

    records: int = 0
    unchecked: list[Unchecked] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def record_texts(path: str | Path, base: str, tally: Tally | None = None):
    """(chunk, description, N-Quads of the record and of every entity core it names) for each
    bibliographic record of a file that converts; the others are logged and passed over, and
    counted in *tally* if one is given. Without one, a file that cannot be read raises."""
    from ..marc import RecordKind, record_kind
    from ..rdf import serialise
    from .inputs import read_failure

    counting = tally is not None
    tally = tally if counting else Tally()
    try:
        for chunk in iter_chunks(path):
            tally.records += 1
            try:
                record = parse_chunk(chunk)
                kind = record_kind(record)
                if kind is not RecordKind.BIBLIOGRAPHIC:
                    tally.skipped[f"{kind.name.lower()} record set aside"] += 1
                    continue
                description = convert(record, chunk.number)
            except RecordError as exc:
                problem = Unchecked(chunk.source, chunk.number, exc.reason, exc.tag, exc.control_number or "")
            except Exception as exc:  # one odd record must not stop the check of the others
                log.debug("unexpected error in record %s", chunk.number, exc_info=True)
                problem = Unchecked(chunk.source, chunk.number, f"unexpected {type(exc).__name__}: {exc}")
            else:
                if description.deleted:
                    tally.skipped["deleted record"] += 1
                    continue
                s = serialise(description, base, source=chunk.source, source_hash="", when="1970-01-01T00:00:00Z")
                yield chunk, description, s.nquads + "".join(c for _, _, c in s.cores)
                continue
            tally.unchecked.append(problem)
            log.warning("%s record %d%s cannot be validated: %s", problem.source, problem.number,
                        f", field {problem.tag}" if problem.tag else "", problem.reason)
    except InputError as exc:
        if not counting:
            raise
        failure = read_failure(str(path), exc)
        tally.records += 1
        tally.unchecked.append(Unchecked(failure.source, failure.number, failure.reason))
        log.warning("%s record %d cannot be validated: %s", failure.source, failure.number, failure.reason)


def validate_files(paths: list[str], base: str, profile_name: str, engine: str = "fast",
                   tally: Tally | None = None) -> list:
    """Convert the records of files (no store) and check them against a profile. Records that
    cannot be converted, or have nothing to check, are counted in *tally* if one is given."""
    from ..validate import Data, RecordReport, check, load_profile
    from ..validate import reference
    from .inputs import check_inputs

    profile = load_profile(profile_name)
    check_inputs(paths)
    tally = tally if tally is not None else Tally()
    reports = []
    for path in paths:
        for chunk, description, text in record_texts(path, base, tally):
            results = (reference.validate(text, profile) if engine == "pyshacl"
                       else check(Data.from_nquads(text), profile))
            reports.append(_with_tags(RecordReport(chunk.source, chunk.number, description.control_number, results),
                                      profile))
    return reports


def validate_store(store_path: Path, base: str, profile_name: str, engine: str = "fast") -> list:
    """Check every record in the store, as stored: its graph and the cores of what it names."""
    from ..validate import Data, RecordReport, check, control_number_of, load_profile
    from ..validate import reference

    profile = load_profile(profile_name)
    store = Store(store_path, base, read_only=True)
    reports = []
    try:
        for graph, source, control_number, text in store.record_views():
            data = Data.from_nquads(text)
            results = reference.validate(text, profile) if engine == "pyshacl" else check(data, profile)
            # The record's own control number (the one its IRI was minted from), not any 035.
            reports.append(_with_tags(RecordReport(source, 0, control_number_of(data) or control_number, results),
                                      profile))
    finally:
        store.close()
    return reports


def _with_tags(report, profile):
    """pySHACL's results do not know the MARC tags; the profile does."""
    from dataclasses import replace

    tags = {c.id: c.marc_tags for c in profile.constraints}
    report.results = [r if r.marc_tags else replace(r, marc_tags=tags.get(r.shape, "")) for r in report.results]
    return report
