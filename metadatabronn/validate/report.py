"""Validation reports for people (text), programs (JSON) and SHACL tools (Turtle)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..rdf import iri, iri_value, kind_of, literal, nquads_of
from .check import RDF_TYPE, SH, VIOLATION, WARNING, INFO, Result

MB = "https://w3id.org/metadatabronn/ns#"
MANIFESTATION = "http://rdaregistry.info/Elements/c/C10007"
IDENTIFIER = "http://rdaregistry.info/Elements/m/P30004"
SEVERITY_NAMES = {VIOLATION: "Violation", WARNING: "Warning", INFO: "Info"}
JSON_VERSION = 1


@dataclass
class RecordReport:
    """One record's results, with what a cataloguer needs to find the record.

    The profile's findings fall in two kinds: *violations*, which make an entity unusable (no
    title, a broken link between entities, a value outside its list) and reject the record, and
    *warnings* (and counted Info), which a cataloguer should fix later: the record is stored
    with them, as ``sh:ValidationResult``s in its graph.
    """

    source: str
    number: int
    control_number: str
    results: list[Result] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == VIOLATION for r in self.results)

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == VIOLATION]

    @property
    def warnings(self) -> list[Result]:
        return [r for r in self.results if r.severity != VIOLATION]

    @property
    def label(self) -> str:
        return record_label(self.control_number, self.number, self.source)

    def rejection(self, profile: str, tags=None) -> tuple[str, str | None]:
        """(reason, tag at fault) for a record its violations reject: the reason gives every
        violation (the record is named beside it by :attr:`label`: its control number, then its
        position); the tag is the field really at fault among ``tags``, the tags the record has
        (see :func:`tag_at_fault`)."""
        found = self.violations
        if not found:
            return "", None
        messages = list(dict.fromkeys(r.message for r in found))
        reason = f"does not conform to profile {profile}: {len(found)} violation(s): " + "; ".join(messages)
        return reason, tag_at_fault(found[0], tags)


def record_label(control_number: str, number: int = 0, source: str = "") -> str:
    """How reports name a record: by its control number (001/003, else 035, else 010, as the
    mapping gives it), with its position in the file after it, or by the position alone when
    it has none. A record read from the store has no position (``number`` 0).

    >>> record_label("(DLC)00001671", 410, "lc.mrc")
    '(DLC)00001671 (record 410 of lc.mrc)'
    >>> record_label("", 4, "lc.mrc"), record_label("(DLC)00001671", 0, "")
    ('record 4 of lc.mrc', '(DLC)00001671')
    """
    where = f"record {number} of {source}" if number else source
    if control_number:
        return f"{control_number} ({where})" if where else control_number
    return where or "?"


_TAG_TOKENS = re.compile(r"Leader|\b[0-9][0-9X]{2}\b")


def tag_at_fault(result: Result, tags=None) -> str | None:
    """The field a result is about: of the tags its row names (``marcTags``, in the order the
    mapping reads them: "338 $b, else 007/00-01, 300, 008"), the first the record has, else the
    first named (a missing 245 is the 245's fault). ``None`` for the leader, or a row that names
    no tag ("the record's expression").

    >>> r = Result("", "", "", "", "", None, "", "338 $b, else 007/00-01, 300, 008")
    >>> tag_at_fault(r, {"001", "007", "245", "300"}), tag_at_fault(r, None)
    ('007', '338')
    """
    named = _TAG_TOKENS.findall(result.marc_tags)
    if not named:
        return None
    if tags:
        for token in named:
            if token == "Leader":
                return None
            if "X" in token:
                found = sorted(t for t in tags if t[:1] == token[0])
                if found:
                    return found[0]
            elif token in tags:
                return token
    return None if named[0] == "Leader" else named[0]


def control_number_of(data) -> str:
    """A record's control number from its data (a :class:`~.check.Data` of its graph): the
    identifier of its manifestation whose form names the manifestation's IRI, which the mapping
    mints from the control number. Other identifiers (an 035's "(OCoLC)…") are not it."""
    from ..identity import manifestation_id

    for subject, types in data.types.items():
        if MANIFESTATION not in types or "/manifestation/" not in subject:
            continue
        local = subject.rsplit("/manifestation/", 1)[1]
        for term in data.values.get(subject, {}).get(IDENTIFIER, ()):
            if term.kind == "L" and manifestation_id(term.value) == local:
                return term.value
    return ""


def _curie(value: str) -> str:
    for ns, prefix in (("http://rdaregistry.info/Elements/", "rda"), (SH, "sh:"), (MB, "mb:"),
                       ("https://w3id.org/metadatabronn/shapes/", "")):
        if value.startswith(ns):
            rest = value[len(ns):]
            return prefix + rest.replace("/", ":", 1) if prefix == "rda" else prefix + rest
    return value


def summary(reports: list[RecordReport]) -> list[dict]:
    """Results grouped by severity, shape and path, most frequent first."""
    counts: Counter = Counter()
    for rep in reports:
        for r in rep.results:
            counts[(r.severity, r.shape, r.path)] += 1
    order = {VIOLATION: 0, WARNING: 1, INFO: 2}
    return [{"severity": SEVERITY_NAMES[s], "shape": shape, "path": path, "count": n}
            for (s, shape, path), n in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], -kv[1]))]


def to_text(reports: list[RecordReport], profile: str, examples: int = 5) -> str:
    records = len(reports)
    conforming = sum(1 for r in reports if r.conforms)
    lines = [f"profile {profile}: {conforming:,} of {records:,} records conform"
             f" ({100 * conforming / records:.1f} %)" if records else f"profile {profile}: no records"]
    grouped: dict[tuple, list] = defaultdict(list)
    for rep in reports:
        for r in rep.results:
            grouped[(r.severity, r.shape, r.path)].append((rep, r))
    current = None
    for row in summary(reports):
        sev = row["severity"]
        if sev != current:
            current = sev
            lines.append("")
            lines.append(f"{sev}s")
        items = grouped[(next(k for k, v in SEVERITY_NAMES.items() if v == sev), row["shape"], row["path"])]
        lines.append(f"  {row['count']:>7,}  {_curie(row['shape'])}  {_curie(row['path'])}")
        for rep, r in items[:examples]:
            lines.append(f"           {rep.label} {r.focus}: {r.message}")
    return "\n".join(lines) + "\n"


def to_json(reports: list[RecordReport], profile: str) -> str:
    """The stable JSON shape, documented in docs/api.md."""
    return json.dumps({
        "version": JSON_VERSION,
        "profile": profile,
        "conforms": all(r.conforms for r in reports),
        "records": len(reports),
        "records_conforming": sum(1 for r in reports if r.conforms),
        "summary": summary(reports),
        "results": [
            {"source": rep.source, "record": rep.number, "control_number": rep.control_number,
             "focus_node": r.focus, "path": r.path, "severity": SEVERITY_NAMES[r.severity],
             "constraint_component": r.component, "source_shape": r.shape,
             "value": r.value.value if r.value is not None else None,
             "marc_tags": r.marc_tags, "message": r.message}
            for rep in reports for r in rep.results],
    }, indent=2, ensure_ascii=False) + "\n"


def validation_statements(graph: str, profile: str, results: list[Result]) -> list[tuple[str, str, str, bool | str]]:
    """What a stored record carries of its validation, in its graph: the profile and every
    result (``{graph}#result-N a sh:ValidationResult``), as statements noted the way
    ``rdf.serialise`` notes a record's (:func:`..rdf.nquads_of` writes them)."""
    out: list[tuple[str, str, str, bool | str]] = [(graph, f"{MB}validatedWith", profile, "")]
    for i, r in enumerate(results, 1):
        s = f"{graph}#result-{i}"
        out += [(s, RDF_TYPE, f"{SH}ValidationResult", False),
                (s, f"{SH}focusNode", iri_value(r.focus), False),
                (s, f"{SH}resultPath", iri_value(r.path), False),
                (s, f"{SH}resultSeverity", r.severity, False),
                (s, f"{SH}sourceConstraintComponent", r.component, False),
                (s, f"{SH}sourceShape", iri_value(r.shape), False),
                (s, f"{SH}resultMessage", r.message, "")]
        if r.marc_tags:
            out.append((s, f"{MB}marcTags", r.marc_tags, ""))
        if r.value is not None:
            v = r.value
            out.append((s, f"{SH}value", iri_value(v.value) if v.kind == "I"
                        else v.value, False if v.kind == "I" else kind_of(v.lang, None if v.lang else v.datatype)))
    return out


def validation_quads(graph: str, profile: str, results: list[Result]) -> str:
    """:func:`validation_statements` as N-Quads."""
    return nquads_of(graph, validation_statements(graph, profile, results))


def to_turtle(reports: list[RecordReport]) -> str:
    """The W3C SHACL validation report (sh:ValidationReport) for all the records."""
    lines = ["@prefix sh: <http://www.w3.org/ns/shacl#> .",
             f"@prefix mb: <{MB}> .", "",
             "[] a sh:ValidationReport ;",
             f"  sh:conforms {'true' if all(r.conforms for r in reports) else 'false'}"]
    results = [r for rep in reports for r in rep.results]
    if not results:
        return "\n".join(lines) + " .\n"
    lines[-1] += " ;"
    body = []
    for r in results:
        parts = [f"    sh:focusNode {iri(r.focus)}", f"    sh:resultPath {iri(r.path)}",
                 f"    sh:resultSeverity {iri(r.severity)}", f"    sh:sourceConstraintComponent {iri(r.component)}",
                 f"    sh:sourceShape {iri(r.shape)}", f"    sh:resultMessage {literal(r.message)}"]
        if r.value is not None:
            v = r.value
            parts.append(f"    sh:value {iri(v.value) if v.kind == 'I' else literal(v.value, v.lang, None if v.lang else v.datatype)}")
        if r.marc_tags:
            parts.append(f"    mb:marcTags {literal(r.marc_tags)}")
        body.append("  [ a sh:ValidationResult ;\n" + " ;\n".join(parts) + "\n  ]")
    return "\n".join(lines) + "\n  sh:result\n" + " ,\n".join(body) + " .\n"
