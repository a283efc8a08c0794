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
from typing import Iterable, NamedTuple

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


class Term(NamedTuple):
    """An RDF term: ``kind`` "I" (IRI), "L" (literal) or "B" (blank node).

    A named tuple: the gate makes some fifty a record, and a tuple is made, compared and hashed
    in C, where a frozen dataclass runs Python for each.
    """

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
        make = tuple.__new__
        last, props = None, {}
        for s, p, o in rows:
            if s is not last:  # the serialiser gives each subject's rows together
                last = s
                props = values_of.setdefault(s, {})
            if p == RDF_TYPE:
                types.setdefault(s, set()).add(o[1])
            term = make(Term, o)
            values = props.get(p)
            if values is None:
                props[p] = [term]
            elif term not in values:
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
        return list(dict.fromkeys([t[1] for props in self.values.values()
                                   for t in props.get(predicate, ()) if t[0] != "L"]))


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


class _Plan(NamedTuple):
    """A profile made ready for checking, once per process: its constraints by target, each
    with what its checks of the values need (see :func:`_value_test`)."""

    profile: Profile
    paths: frozenset[str]
    by_target: tuple[tuple[str, bool, tuple[tuple[Constraint, int, str | None, frozenset[str] | None], ...]], ...]


# How a constraint's values are looked at: not at all, by kind alone ("I" or "L"), by kind and
# membership of a value list, by a prefix none of them may have (nor be a blank node), or (any
# other check) only by _check_constraint itself.
_NO_TEST, _KIND, _IN, _PREFIX, _FULL = 0, 1, 2, 3, 4
_ISBN = "urn:isbn:"  # what _ISBN13_FORM begins with


def _value_test(c: Constraint) -> tuple[int, str | None, frozenset[str] | None]:
    """A cheap test that passes only values on which _check_constraint reports nothing; the
    values it does not pass go to _check_constraint."""
    if c.node_kind is None and c.datatype is None and c.vocabulary is None:
        # A prefixed pattern checks only values with its prefix; the ISBN-13 check digit only
        # values of the ISBN-13 form.
        if c.pattern is not None and c.pattern_prefix and not c.isbn13:
            return _PREFIX, c.pattern_prefix, None
        if c.isbn13 and c.pattern is None:
            return _PREFIX, _ISBN, None
    if c.datatype is not None or c.pattern is not None or c.isbn13:
        return _FULL, None, None
    kind = {"IRI": "I", "Literal": "L"}.get(c.node_kind or "")
    if c.node_kind and kind is None:
        return _FULL, None, None
    if c.vocabulary is not None:
        # A value in a value list must be an IRI, whatever the node kind asks.
        return (_IN, "I", c.vocabulary) if kind in (None, "I") else (_FULL, None, None)
    return (_KIND, kind, None) if kind else (_NO_TEST, None, None)


# By the profile object's id: a Profile hashes all its constraints (and their value lists) each
# time it is hashed, which cost more than the checks themselves. The plan holds the profile, so
# the id is not reused while its entry lives.
_PLANS: dict[int, _Plan] = {}


def _plan(profile: Profile) -> _Plan:
    plan = _PLANS.get(id(profile))
    if plan is not None and plan.profile is profile:
        return plan
    by_target: dict[tuple[str, bool], list] = {}
    for c in profile.constraints:
        by_target.setdefault((c.target, c.target_objects_of), []).append((c, *_value_test(c)))
    paths = frozenset([c.path for c in profile.constraints]
                      + [c.target for c in profile.constraints if c.target_objects_of])
    plan = _Plan(profile, paths, tuple((t, o, tuple(cs)) for (t, o), cs in by_target.items()))
    if len(_PLANS) >= 16:
        _PLANS.clear()
    _PLANS[id(profile)] = plan
    return plan


def paths_of(profile: Profile) -> frozenset[str]:
    """Every predicate the profile's constraints read, their targets' included."""
    return _plan(profile).paths


_NO_VALUES: dict[str, list[Term]] = {}


def check(data: Data, profile: Profile) -> list[Result]:
    """Every result the profile's constraints give on the data, in a stable order."""
    out: list[Result] = []
    values_of = data.values
    members: dict[str, list[str]] = {}  # class -> its focus nodes, in the data's order
    for s, classes in data.types.items():
        for cls_iri in classes:
            members.setdefault(cls_iri, []).append(s)
    for target, objects_of, constraints in _plan(profile).by_target:
        for focus in data.objects_of(target) if objects_of else members.get(target, ()):
            props = values_of.get(focus, _NO_VALUES)
            for c, test, arg, allowed in constraints:  # arg: the kind or the prefix tested
                values = props.get(c.path)
                if values is None:
                    if c.min_count:
                        _check_constraint(c, focus, [], out)
                    continue
                # Only a count out of bounds or a value that fails a check can give a result:
                # the values that pass are passed over here, the rest reported by _check_constraint.
                n = len(values)
                if n < c.min_count or (c.max_count is not None and n > c.max_count) or test == _FULL:
                    _check_constraint(c, focus, values, out)
                elif test == _KIND:
                    for v in values:
                        if v[0] != arg:
                            _check_constraint(c, focus, values, out)
                            break
                elif test == _IN:
                    for v in values:
                        if v[0] != "I" or v[1] not in allowed:
                            _check_constraint(c, focus, values, out)
                            break
                elif test == _PREFIX:
                    for v in values:
                        if v[0] == "B" or v[1].startswith(arg):
                            _check_constraint(c, focus, values, out)
                            break
    return out


def conforms(results: Iterable[Result]) -> bool:
    return not any(r.severity == VIOLATION for r in results)
