"""The fast checker: the SHACL Core subset the profiles use, run in plain Python.

pySHACL is the reference and gives the same results on every profile and corpus (a test holds
the two together); this runs on every record at ingest, where pySHACL would cost more than the
rest of the ingest. Data comes in as quads (the record's graph plus the cores of the entities it
names), so both engines check exactly the RDF that is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import pyoxigraph as ox

from .profile import Constraint, Profile

SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
VIOLATION = SH + "Violation"
WARNING = SH + "Warning"
INFO = SH + "Info"
MIN_COUNT = SH + "MinCountConstraintComponent"
MAX_COUNT = SH + "MaxCountConstraintComponent"
NODE_KIND = SH + "NodeKindConstraintComponent"
DATATYPE = SH + "DatatypeConstraintComponent"
IN = SH + "InConstraintComponent"
PATTERN = SH + "PatternConstraintComponent"
SPARQL = SH + "SPARQLConstraintComponent"
OR = SH + "OrConstraintComponent"
_ISBN13_FORM = re.compile(r"^urn:isbn:[0-9]{13}$")
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass(frozen=True, slots=True)
class Term:
    """An RDF term: ``kind`` "I" (IRI), "L" (literal) or "B" (blank node)."""

    kind: str
    value: str
    datatype: str | None = None
    lang: str | None = None

    def n3(self) -> str:
        if self.kind == "I":
            return f"<{self.value}>"
        if self.kind == "B":
            return f"_:{self.value}"
        if self.lang:
            return f'"{self.value}"@{self.lang}'
        return f'"{self.value}"^^<{self.datatype}>'


@dataclass(frozen=True, slots=True)
class Result:
    """One validation result, in the terms of a SHACL ``sh:ValidationResult``."""

    focus: str
    path: str
    severity: str
    component: str
    shape: str
    value: Term | None
    message: str
    marc_tags: str

    def key(self) -> tuple:
        """What must agree with pySHACL's result for the same data."""
        return (self.focus, self.path, self.severity, self.component, self.shape,
                self.value.n3() if self.value is not None else None)


class Data:
    """Subject → predicate → values, and subject → classes: what the checks read."""

    __slots__ = ("values", "types")

    def __init__(self) -> None:
        self.values: dict[str, dict[str, list[Term]]] = {}
        self.types: dict[str, set[str]] = {}

    @classmethod
    def from_quads(cls, quads: Iterable, paths: frozenset[str] | None = None) -> "Data":
        """The data of the quads; with ``paths``, only rdf:type and those predicates, which is
        all a profile reads (and a third of the cost on the ingest path)."""
        data = cls()
        values_of = data.values
        types = data.types
        NamedNode, Literal = ox.NamedNode, ox.Literal
        for q in quads:
            p = q.predicate.value
            is_type = p == RDF_TYPE
            if paths is not None and not is_type and p not in paths:
                continue
            s = q.subject
            if type(s) is not NamedNode:
                continue
            o = q.object
            if type(o) is NamedNode:
                term = Term("I", o.value)
                if is_type:
                    types.setdefault(s.value, set()).add(o.value)
            elif type(o) is Literal:
                term = Term("L", o.value, o.datatype.value, o.language)
            else:
                term = Term("B", o.value)
            values = values_of.setdefault(s.value, {}).setdefault(p, [])
            if term not in values:  # RDF is a set: the same statement twice is one statement
                values.append(term)
        return data

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, tuple]]) -> "Data":
        """The data of ``(subject, predicate, (kind, value, datatype, lang))`` rows, as the
        serialiser gives them beside its text (see ``rdf.serialise``): the same data as
        parsing that text back, at a fraction of the cost."""
        data = cls()
        values_of = data.values
        types = data.types
        for s, p, o in rows:
            if p == RDF_TYPE:
                types.setdefault(s, set()).add(o[1])
            term = Term(*o)
            values = values_of.setdefault(s, {}).setdefault(p, [])
            if term not in values:
                values.append(term)
        return data

    @classmethod
    def from_nquads(cls, text: bytes | str, paths: frozenset[str] | None = None) -> "Data":
        return cls.from_quads(ox.parse(text, format=ox.RdfFormat.N_QUADS), paths)

    def focus_nodes(self, cls_iri: str) -> list[str]:
        return [s for s, types in self.types.items() if cls_iri in types]

    def objects_of(self, predicate: str) -> list[str]:
        """The IRI and blank-node values of a predicate (sh:targetObjectsOf); the mapping
        never gives a literal where a target element is concerned."""
        return list(dict.fromkeys(t.value for props in self.values.values()
                                  for t in props.get(predicate, ()) if t.kind != "L"))


def isbn13_ok(digits: str) -> bool:
    if len(digits) != 13 or not digits.isdigit():
        return False
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


@lru_cache(maxsize=None)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _message(c: Constraint, component: str, value: Term | None) -> str:
    where = f" ({c.marc_tags})" if c.marc_tags else ""
    if component == MIN_COUNT:
        return f"{c.label} is missing{where}"
    if component == MAX_COUNT and c.max_count == 0:
        return f"{c.label}{where}"
    if component == MAX_COUNT:
        return f"{c.label} is given more than {c.max_count} time(s){where}"
    shown = value.value if value is not None else ""
    if component == IN:
        return f"{c.label}: {shown} is not in the allowed vocabulary{where}"
    if component == SPARQL:
        return f"{c.label}: {shown} is not a valid ISBN-13 (check digit){where}"
    if component in (PATTERN, OR):
        return f"{c.label}: {shown!r} is not well-formed{where}"
    if component == DATATYPE:
        return f"{c.label}: {shown!r} does not have datatype {c.datatype}{where}"
    return f"{c.label}: {shown} is not {'an IRI' if c.node_kind == 'IRI' else 'a literal'}{where}"


def _check_constraint(c: Constraint, focus: str, values: list[Term], out: list[Result]) -> None:
    def fail(component: str, value: Term | None) -> None:
        out.append(Result(focus, c.path, c.severity, component, c.id, value, _message(c, component, value), c.marc_tags))

    n = len(values)
    if n < c.min_count:
        fail(MIN_COUNT, None)
    if c.max_count == 0 and n:
        # An element that should have no value (the mapping's notes for a cataloguer): the
        # message names what was found, as sh:maxCount's result has no sh:value.
        message = f"{c.label}: " + "; ".join(v.value for v in values) + (f" ({c.marc_tags})" if c.marc_tags else "")
        out.append(Result(focus, c.path, c.severity, MAX_COUNT, c.id, None, message, c.marc_tags))
    elif c.max_count is not None and n > c.max_count:
        fail(MAX_COUNT, None)
    for v in values:
        if c.node_kind == "IRI" and v.kind != "I" or c.node_kind == "Literal" and v.kind != "L":
            fail(NODE_KIND, v)
        if c.datatype is not None and (v.kind != "L" or (v.datatype or RDF_LANGSTRING) != c.datatype):
            fail(DATATYPE, v)
        if c.vocabulary is not None and (v.kind != "I" or v.value not in c.vocabulary):
            fail(IN, v)
        if c.pattern is not None:
            if c.pattern_prefix is None:
                if v.kind == "B" or _regex(c.pattern).search(v.value) is None:
                    fail(PATTERN, v)
            # A prefixed pattern compiles to sh:or ([sh:not [sh:pattern "^prefix"]] [sh:pattern p]).
            elif v.kind == "B" or (v.value.startswith(c.pattern_prefix) and _regex(c.pattern).search(v.value) is None):
                fail(OR, v)
        if c.isbn13 and v.kind != "B" and _ISBN13_FORM.match(v.value) and not isbn13_ok(v.value[9:]):
            fail(SPARQL, v)  # wrong lengths are the ISBN-form row's to report


@lru_cache(maxsize=16)
def paths_of(profile: Profile) -> frozenset[str]:
    """Every predicate the profile's constraints read, their targets' included."""
    return frozenset([c.path for c in profile.constraints]
                     + [c.target for c in profile.constraints if c.target_objects_of])


def check(data: Data, profile: Profile) -> list[Result]:
    """Every result the profile's constraints give on the data, in a stable order."""
    out: list[Result] = []
    by_target: dict[tuple[str, bool], list[Constraint]] = {}
    for c in profile.constraints:
        by_target.setdefault((c.target, c.target_objects_of), []).append(c)
    for (target, objects_of), constraints in by_target.items():
        for focus in data.objects_of(target) if objects_of else data.focus_nodes(target):
            props = data.values.get(focus, {})
            for c in constraints:
                _check_constraint(c, focus, props.get(c.path, []), out)
    return out


def conforms(results: Iterable[Result]) -> bool:
    return not any(r.severity == VIOLATION for r in results)
