"""Application profiles: DCTAP-style tables in ``shapes/`` compiled to SHACL.

A profile is a CSV table a cataloguer can read and edit, one row per check (columns
:data:`COLUMNS`); ``shapes/profiles.toml`` names the profiles, the profile each one extends,
and the value lists a row may name; ``shapes/prefixes.csv`` declares the CURIE prefixes.
:func:`load_profile` reads a profile (its base's rows first) into :class:`Constraint` objects,
:func:`~metadatabronn.validate.shacl.to_shacl` compiles one to SHACL (Turtle), and
:func:`~metadatabronn.validate.docs.render_docs` renders ``docs/profiles.md``. Rebuild the committed Turtle and docs after editing a table::

    python -m metadatabronn.validate.profile           # writes shapes/*.ttl, docs/profiles.md
    python -m metadatabronn.validate.profile --check   # exit 1 when they are stale

Row semantics: ``mandatory`` TRUE gives ``sh:minCount 1``, ``repeatable`` FALSE
``sh:maxCount 1``; ``valueConstraintType`` is empty, ``vocabulary`` (``sh:in`` the concepts of
a named value list), ``pattern`` (``sh:pattern``; written ``prefix P pattern REGEX`` it checks
only values whose string form starts with P) or ``isbn13`` (values ``P`` + 13 digits, P being
the valueConstraint or ``urn:isbn:``, must have a valid ISBN-13 check digit: a SHACL-SPARQL
constraint, since SHACL core cannot compute one) or ``absent`` (the element should have no value:
``sh:maxCount 0``, so a focus node with any is reported with the row's severity; the mapping writes what a
cataloguer should look at, such as an invalid language code, under such an element). ``severity`` applies to every component of
the row's property shape. Blank ``mandatory`` means FALSE, blank ``repeatable`` TRUE, blank
``severity`` Violation; ``note`` (the one-line justification) is required.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .index import ROOT, ProfileError, _Index, _index, _show, vocabulary

DOCS_PATH = ROOT / "docs" / "profiles.md"
SHAPES_NS = "https://w3id.org/metadatabronn/shapes/"
SH = "http://www.w3.org/ns/shacl#"

COLUMNS = ("shapeID", "target", "propertyID", "propertyLabel", "mandatory", "repeatable",
           "valueNodeType", "valueDataType", "valueConstraint", "valueConstraintType", "severity",
           "marcTags", "note")
SEVERITIES = {"Violation": SH + "Violation", "Warning": SH + "Warning", "Info": SH + "Info"}
NODE_KINDS = {"iri": "IRI", "literal": "Literal"}
CONSTRAINT_TYPES = ("", "vocabulary", "pattern", "isbn13", "absent")
ISBN_PREFIX = "urn:isbn:"

PROFILES: tuple[str, ...] = ("base", "language-based")
DEFAULT_PROFILE = "base"


@dataclass(frozen=True)
class Constraint:
    """One row of a profile: one SHACL property shape."""

    shape: str            # shapeID, e.g. "ManifestationShape"
    target: str           # full class IRI; with target_objects_of, a full property IRI
    path: str             # full property IRI
    label: str
    min_count: int        # 1 when mandatory, else 0
    max_count: int | None  # 1 when not repeatable, else None
    node_kind: str | None  # "IRI" | "Literal" | None
    datatype: str | None  # full IRI or None
    vocabulary: frozenset[str] | None  # allowed IRIs when valueConstraintType is vocabulary
    pattern: str | None
    pattern_prefix: str | None  # only values whose string form starts with this are checked
    isbn13: bool
    severity: str         # full SHACL IRI: http://www.w3.org/ns/shacl#Violation | #Warning | #Info
    marc_tags: str
    note: str
    id: str               # a stable IRI for the property shape
    # The shape's focus nodes are the values of the target property (sh:targetObjectsOf), not
    # the members of a class: the table's target reads "^rdam:P30135".
    target_objects_of: bool = False

    @property
    def target_key(self) -> str:
        return ("^" if self.target_objects_of else "") + self.target


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    constraints: tuple[Constraint, ...]


# --- reading a profile ----------------------------------------------------------------

_CURIE = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*):(\S*)$")
_SHAPE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PREFIXED_PATTERN = re.compile(r"^prefix\s+(\S+)\s+pattern\s+(.+)$", re.S)
# Python-only regex syntax that SHACL's XPath regular expressions lack.
_NOT_XPATH = re.compile(r"\(\?|\\[bBAZzG]")


def shape_iri(profile: str, shape: str) -> str:
    return f"{SHAPES_NS}{profile}#{shape}"


def constraint_id(profile: str, shape: str, label: str) -> str:
    """The property shape's IRI: the profile that defines the row, the shape and the label.

    >>> constraint_id("base", "ManifestationShape", "title proper")
    'https://w3id.org/metadatabronn/shapes/base#Manifestation-titleProper'
    >>> constraint_id("base", "ManifestationShape", "ISBN check digit")
    'https://w3id.org/metadatabronn/shapes/base#Manifestation-isbnCheckDigit'
    """
    entity = shape[:-5] if shape.endswith("Shape") and len(shape) > 5 else shape
    words = re.findall(r"[A-Za-z0-9]+", label)
    camel = words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])
    return f"{SHAPES_NS}{profile}#{entity}-{camel}"


def load_profile(name: str, *, directory: Path | str | None = None) -> Profile:
    """The profile's constraints: those of the profile it extends, then its own rows.

    A row whose shapeID and propertyLabel equal an inherited row replaces it in place; other
    rows are added after the last inherited row of their shape. Raises :class:`ProfileError`
    (a :class:`~metadatabronn.errors.ConfigError`) for an unknown name or a malformed table,
    naming the file, row and column.
    """
    index = _index(Path(directory) if directory is not None else None)
    if name not in index.profiles:
        raise ProfileError(f"unknown profile {name!r}; known profiles: {', '.join(index.profiles)}")
    chain: list[str] = []
    current: str | None = name
    while current is not None:
        if current in chain:
            raise ProfileError(f"profiles.toml: profile {current!r} extends itself")
        if current not in index.profiles:
            raise ProfileError(f"profiles.toml: {chain[-1]!r} extends unknown profile {current!r}")
        chain.append(current)
        current = index.profiles[current].get("extends")
    merged: list[Constraint] = []
    for profile_name in reversed(chain):
        own = _read_table(index, profile_name)
        for c in own:
            key = (c.shape, c.label)
            at = next((i for i, old in enumerate(merged) if (old.shape, old.label) == key), None)
            if at is not None:
                if merged[at].target_key != c.target_key:
                    raise ProfileError(f"{profile_name}: shape {c.shape} targets {c.target_key}, "
                                       f"but its base says {merged[at].target_key}")
                merged[at] = c
                continue
            same_shape = [i for i, old in enumerate(merged) if old.shape == c.shape]
            if same_shape and merged[same_shape[0]].target_key != c.target_key:
                raise ProfileError(f"{profile_name}: shape {c.shape} targets {c.target_key}, "
                                   f"but its base says {merged[same_shape[0]].target_key}")
            merged.insert(same_shape[-1] + 1 if same_shape else len(merged), c)
    title = index.profiles[name].get("title", name)
    return Profile(name=name, title=title, constraints=tuple(merged))


def _read_table(index: _Index, profile: str) -> list[Constraint]:
    path = index.directory / index.profiles[profile]["table"]
    where = _show(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise ProfileError(f"{where}: table of profile {profile!r} not found") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ProfileError(f"{where}: unreadable CSV: {e}") from None
    if not rows or tuple(c.strip() for c in rows[0]) != COLUMNS:
        raise ProfileError(f"{where}: row 1 must be the header {','.join(COLUMNS)}")
    out: list[Constraint] = []
    seen: dict[str, int] = {}
    targets: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(COLUMNS):
            raise ProfileError(f"{where}: row {number} has {len(row)} columns, the header {len(COLUMNS)}")
        c = _constraint(index, profile, dict(zip(COLUMNS, (v.strip() for v in row))),
                        lambda col, problem: ProfileError(f"{where}: row {number}, column {col}: {problem}"))
        if c.id in seen:
            raise ProfileError(f"{where}: row {number}, column propertyLabel: {c.label!r} repeats "
                               f"row {seen[c.id]} of shape {c.shape}; each row of a shape needs its own label")
        if targets.setdefault(c.shape, c.target_key) != c.target_key:
            raise ProfileError(f"{where}: row {number}, column target: shape {c.shape} "
                               f"already targets {targets[c.shape]}")
        seen[c.id] = number
        out.append(c)
    return out


def _constraint(index: _Index, profile: str, v: dict[str, str], fail) -> Constraint:
    def iri(col: str) -> str:
        m = _CURIE.match(v[col])
        if not m:
            raise fail(col, f"{v[col]!r} is not a CURIE (prefix:name)")
        if m.group(1) not in index.prefixes:
            raise fail(col, f"unknown prefix {m.group(1)!r} (prefixes.csv declares "
                            f"{', '.join(index.prefixes)})")
        return index.prefixes[m.group(1)] + m.group(2)

    def flag(col: str, blank: bool) -> bool:
        text = v[col].upper()
        if text == "":
            return blank
        if text not in ("TRUE", "FALSE"):
            raise fail(col, f"{v[col]!r} is not TRUE or FALSE")
        return text == "TRUE"

    if not _SHAPE_ID.match(v["shapeID"]):
        raise fail("shapeID", f"{v['shapeID']!r} is not a name (letters, digits, _)")
    objects_of = v["target"].startswith("^")
    if objects_of:  # "^rdam:P30135": the values of that element
        v = {**v, "target": v["target"][1:].strip()}
    target, path = iri("target"), iri("propertyID")
    if not re.search(r"[A-Za-z0-9]", v["propertyLabel"]):
        raise fail("propertyLabel", "empty, or without a letter or digit to name the row by")
    mandatory, repeatable = flag("mandatory", False), flag("repeatable", True)
    node_kind = None
    if v["valueNodeType"]:
        node_kind = NODE_KINDS.get(v["valueNodeType"].lower())
        if node_kind is None:
            raise fail("valueNodeType", f"{v['valueNodeType']!r} is not IRI or Literal")
    datatype = iri("valueDataType") if v["valueDataType"] else None
    kind, value = v["valueConstraintType"], v["valueConstraint"]
    terms = pattern = prefix = None
    isbn13 = False
    if kind not in CONSTRAINT_TYPES:
        raise fail("valueConstraintType", f"{kind!r} is not one of vocabulary, pattern, isbn13, absent (or empty)")
    if kind == "" and value:
        raise fail("valueConstraintType", "empty, but valueConstraint is given")
    if kind == "vocabulary":
        if value not in index.vocabularies:
            raise fail("valueConstraint", f"unknown value list {value!r}; profiles.toml names "
                                          f"{', '.join(index.vocabularies)}")
        terms = vocabulary(value, index.directory)
    elif kind == "pattern":
        m = _PREFIXED_PATTERN.match(value)
        prefix, pattern = (m.group(1), m.group(2).strip()) if m else (None, value)
        if not pattern:
            raise fail("valueConstraint", "empty pattern")
        if _NOT_XPATH.search(pattern):
            raise fail("valueConstraint", f"{pattern!r} uses syntax SHACL regular expressions "
                                          "lack (lookaround, (?...) groups, \\b, \\A, \\Z)")
        try:
            re.compile(pattern)
        except re.error as e:
            raise fail("valueConstraint", f"{pattern!r} is not a regular expression: {e}") from None
    elif kind == "absent":
        if value:
            raise fail("valueConstraint", "absent takes no valueConstraint")
    elif kind == "isbn13":
        prefix = value or ISBN_PREFIX
        if re.search(r"\s|'|\\", prefix):
            raise fail("valueConstraint", f"{prefix!r} is not a usable prefix")
        isbn13 = True
    severity = SEVERITIES.get(v["severity"] or "Violation")
    if severity is None:
        raise fail("severity", f"{v['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if not v["note"]:
        raise fail("note", "empty: give the one-line reason for the row")
    if not (mandatory or not repeatable or node_kind or datatype or kind):
        raise fail("mandatory", "the row checks nothing (not mandatory, repeatable, no value type "
                                "or constraint)")
    return Constraint(
        shape=v["shapeID"], target=target, path=path, label=v["propertyLabel"],
        min_count=1 if mandatory else 0, max_count=0 if kind == "absent" else None if repeatable else 1,
        node_kind=node_kind, datatype=datatype, vocabulary=terms, pattern=pattern,
        pattern_prefix=prefix, isbn13=isbn13, severity=severity, marc_tags=v["marcTags"],
        note=v["note"], id=constraint_id(profile, v["shapeID"], v["propertyLabel"]),
        target_objects_of=objects_of)


# --- messages -----------------------------------------------------------------------------


if __name__ == "__main__":  # the documented way to rebuild shapes/*.ttl and docs/profiles.md
    from .docs import main

    sys.exit(main())
