"""Validation reports for people (text), programs (JSON) and SHACL tools (Turtle)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..rdf import iri, literal
from .check import SH, VIOLATION, WARNING, INFO, Result

MB = "https://w3id.org/metadatabronn/ns#"
SEVERITY_NAMES = {VIOLATION: "Violation", WARNING: "Warning", INFO: "Info"}
JSON_VERSION = 1


@dataclass
class RecordReport:
    """One record's results, with what a cataloguer needs to find the record."""

    source: str
    number: int
    control_number: str
    results: list[Result] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == VIOLATION for r in self.results)


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
            lines.append(f"           {rep.control_number or '?'} (record {rep.number} of {rep.source}) "
                         f"{r.focus}: {r.message}")
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


def result_quads(subject_base: str, results: list[Result], graph: str) -> str:
    """Results as N-Quads in a record's graph: ``{graph}#result-N a sh:ValidationResult``."""
    g = f" <{graph}> .\n"
    out = []
    for i, r in enumerate(results, 1):
        s = f"<{subject_base}#result-{i}>"
        out.append(f"{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{SH}ValidationResult>{g}")
        out.append(f"{s} <{SH}focusNode> {iri(r.focus)}{g}")
        out.append(f"{s} <{SH}resultPath> {iri(r.path)}{g}")
        out.append(f"{s} <{SH}resultSeverity> <{r.severity}>{g}")
        out.append(f"{s} <{SH}sourceConstraintComponent> <{r.component}>{g}")
        out.append(f"{s} <{SH}sourceShape> {iri(r.shape)}{g}")
        out.append(f"{s} <{SH}resultMessage> {literal(r.message)}{g}")
        if r.marc_tags:
            out.append(f"{s} <{MB}marcTags> {literal(r.marc_tags)}{g}")
        if r.value is not None:
            v = r.value
            o = iri(v.value) if v.kind == "I" else literal(v.value, v.lang, None if v.lang else v.datatype)
            out.append(f"{s} <{SH}value> {o}{g}")
    return "".join(out)


def validation_quads(graph: str, profile: str, results: list[Result]) -> str:
    """What a stored record carries of its validation: the profile and every result."""
    g = f" <{graph}> .\n"
    return (f"<{graph}> <{MB}validatedWith> {literal(profile)}{g}"
            + result_quads(graph, results, graph))


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
