"""Application profiles: DCTAP-style tables in ``shapes/`` compiled to SHACL.

A profile is a CSV table a cataloguer can read and edit, one row per check (columns
:data:`COLUMNS`); ``shapes/profiles.toml`` names the profiles, the profile each one extends,
and the value lists a row may name; ``shapes/prefixes.csv`` declares the CURIE prefixes.
:func:`load_profile` reads a profile (its base's rows first) into :class:`Constraint` objects,
:func:`to_shacl` compiles one to SHACL (Turtle), :func:`render_docs` renders
``docs/profiles.md``. Rebuild the committed Turtle and docs after editing a table::

    python -m metadatabronn.validate.profile           # writes shapes/*.ttl, docs/profiles.md
    python -m metadatabronn.validate.profile --check   # exit 1 when they are stale

Row semantics: ``mandatory`` TRUE gives ``sh:minCount 1``, ``repeatable`` FALSE
``sh:maxCount 1``; ``valueConstraintType`` is empty, ``vocabulary`` (``sh:in`` the concepts of
a named value list), ``pattern`` (``sh:pattern``; written ``prefix P pattern REGEX`` it checks
only values whose string form starts with P) or ``isbn13`` (values ``P`` + 13 digits, P being
the valueConstraint or ``urn:isbn:``, must have a valid ISBN-13 check digit: a SHACL-SPARQL
constraint, since SHACL core cannot compute one). ``severity`` applies to every component of
the row's property shape. Blank ``mandatory`` means FALSE, blank ``repeatable`` TRUE, blank
``severity`` Violation; ``note`` (the one-line justification) is required.
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHAPES_DIR = ROOT / "shapes"
DOCS_PATH = ROOT / "docs" / "profiles.md"
SHAPES_NS = "https://w3id.org/metadatabronn/shapes/"
SH = "http://www.w3.org/ns/shacl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OWL_DEPRECATED = "http://www.w3.org/2002/07/owl#deprecated"

COLUMNS = ("shapeID", "target", "propertyID", "propertyLabel", "mandatory", "repeatable",
           "valueNodeType", "valueDataType", "valueConstraint", "valueConstraintType", "severity",
           "marcTags", "note")
SEVERITIES = {"Violation": SH + "Violation", "Warning": SH + "Warning", "Info": SH + "Info"}
NODE_KINDS = {"iri": "IRI", "literal": "Literal"}
CONSTRAINT_TYPES = ("", "vocabulary", "pattern", "isbn13")
ISBN_PREFIX = "urn:isbn:"

PROFILES: tuple[str, ...] = ("base", "language-based")
DEFAULT_PROFILE = "base"


class ProfileError(ConfigError):
    """A profile name is unknown, or a profile's table or index cannot be used."""


@dataclass(frozen=True)
class Constraint:
    """One row of a profile: one SHACL property shape."""

    shape: str            # shapeID, e.g. "ManifestationShape"
    target: str           # full class IRI
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


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    constraints: tuple[Constraint, ...]


# --- the index, prefixes and value lists ------------------------------------------------

@dataclass(frozen=True)
class _Index:
    directory: Path
    profiles: dict           # name -> {"title", "table", "extends"?, "description"?}
    vocabularies: dict       # name -> {"title", "scheme", "file"}
    prefixes: dict           # prefix -> namespace


def _index(directory: Path | None = None) -> _Index:
    directory = Path(directory) if directory is not None else SHAPES_DIR
    return _read_index(directory.resolve())


@functools.lru_cache(maxsize=8)
def _read_index(directory: Path) -> _Index:
    toml_path = directory / "profiles.toml"
    try:
        with open(toml_path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ProfileError(f"{toml_path} not found: no profile index") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{_show(toml_path)}: {e}") from None
    profiles = data.get("profiles", {})
    vocabularies = data.get("vocabularies", {})
    for name, p in profiles.items():
        if not isinstance(p, dict) or "table" not in p:
            raise ProfileError(f"{_show(toml_path)}: profile {name!r} names no table")
    for name, v in vocabularies.items():
        if not isinstance(v, dict) or not {"scheme", "file"} <= v.keys():
            raise ProfileError(f"{_show(toml_path)}: value list {name!r} needs scheme and file")
    return _Index(directory, profiles, vocabularies, _read_prefixes(directory / "prefixes.csv"))


def _read_prefixes(path: Path) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise ProfileError(f"{path} not found: no CURIE prefixes") from None
    if not rows or [c.strip() for c in rows[0]] != ["prefix", "namespace"]:
        raise ProfileError(f"{_show(path)}: row 1 must be the header prefix,namespace")
    out: dict[str, str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise ProfileError(f"{_show(path)}: row {n}: expected prefix,namespace")
        out[row[0].strip()] = row[1].strip()
    return out


@functools.lru_cache(maxsize=16)
def _schemes_in(path: Path) -> dict[str, frozenset[str]]:
    """scheme IRI -> the concepts in it that are not deprecated, for one vocabulary file."""
    import rdflib  # only needed when a profile is loaded, not when this module is imported

    graph = rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError:
        raise ProfileError(f"value list file {path} not found") from None
    in_scheme = rdflib.URIRef(SKOS + "inScheme")
    deprecated = rdflib.URIRef(OWL_DEPRECATED)
    found: dict[str, set[str]] = {}
    for concept, scheme in graph.subject_objects(in_scheme):
        if any(o.toPython() is True for o in graph.objects(concept, deprecated)):
            continue
        found.setdefault(str(scheme), set()).add(str(concept))
    return {k: frozenset(v) for k, v in found.items()}


def vocabulary(name: str, directory: Path | None = None) -> frozenset[str]:
    """The IRIs a value list allows (concepts of its scheme, deprecated ones left out)."""
    index = _index(directory)
    spec = index.vocabularies.get(name)
    if spec is None:
        raise ProfileError(f"unknown value list {name!r}; known: {', '.join(index.vocabularies)}")
    terms = _schemes_in(index.directory.parent / spec["file"]).get(spec["scheme"], frozenset())
    if not terms:
        raise ProfileError(f"value list {name!r}: no concepts of {spec['scheme']} in {spec['file']}")
    return terms


def vocabulary_name(terms: frozenset[str], directory: Path | None = None) -> str | None:
    """The name of the value list whose terms these are (``None`` when none matches)."""
    index = _index(directory)
    for name in index.vocabularies:
        try:
            if vocabulary(name, directory) == terms:
                return name
        except ProfileError:
            continue
    return None


def _show(path: Path) -> str:
    """A path as a message shows it: relative to the folder above shapes/ (no absolute paths)."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}"


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
                if merged[at].target != c.target:
                    raise ProfileError(f"{profile_name}: shape {c.shape} targets {c.target}, "
                                       f"but its base says {merged[at].target}")
                merged[at] = c
                continue
            same_shape = [i for i, old in enumerate(merged) if old.shape == c.shape]
            if same_shape and merged[same_shape[0]].target != c.target:
                raise ProfileError(f"{profile_name}: shape {c.shape} targets {c.target}, "
                                   f"but its base says {merged[same_shape[0]].target}")
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
        if targets.setdefault(c.shape, c.target) != c.target:
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
        raise fail("valueConstraintType", f"{kind!r} is not one of vocabulary, pattern, isbn13 (or empty)")
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
        min_count=1 if mandatory else 0, max_count=None if repeatable else 1,
        node_kind=node_kind, datatype=datatype, vocabulary=terms, pattern=pattern,
        pattern_prefix=prefix, isbn13=isbn13, severity=severity, marc_tags=v["marcTags"],
        note=v["note"], id=constraint_id(profile, v["shapeID"], v["propertyLabel"]))


# --- messages -----------------------------------------------------------------------------

def entity_name(shape: str) -> str:
    """``CorporateBodyShape`` → ``Corporate body``."""
    base = shape[:-5] if shape.endswith("Shape") and len(shape) > 5 else shape
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", base) or [base]
    text = " ".join(w.lower() for w in words)
    return text[:1].upper() + text[1:]


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _value_clause(c: Constraint) -> str | None:
    if c.vocabulary is not None:
        name = vocabulary_name(c.vocabulary)
        title = _index().vocabularies.get(name, {}).get("title", name) if name else None
        return f"not in the {title} list" if title else "not in its value list"
    if c.pattern is not None:
        return "that is not well-formed text" if c.node_kind == "Literal" else "that is not well-formed"
    if c.datatype is not None:
        return f"that is not of datatype {_curie(c.datatype)}"
    if c.node_kind == "IRI":
        return "that is not a link (IRI)"
    if c.node_kind == "Literal":
        return "that is not text"
    return None


def isbn13_message(c: Constraint) -> str:
    prefix = c.pattern_prefix or ISBN_PREFIX
    tags = f" ({c.marc_tags})" if c.marc_tags else ""
    return f"{entity_name(c.shape)} has an ISBN-13 ({prefix}…) whose check digit is wrong{tags}"


def message(c: Constraint) -> str:
    """The cataloguer's message for a result of this row's property shape.

    >>> c = Constraint("ManifestationShape", "", "", "title proper", 1, None, "Literal", None,
    ...                None, None, None, False, SH + "Violation", "245 $a", "", "")
    >>> message(c)
    'Manifestation has no title proper, or one that is not text (245 $a)'
    """
    entity, label = entity_name(c.shape), c.label
    clause = _value_clause(c)
    tails: list[str] = []
    if c.min_count:
        head = f"has no {label}"
        if c.max_count is not None:
            tails.append("more than one")
        if clause:
            tails.append(f"one {clause}")
    elif c.max_count is not None:
        head = f"has more than one {label}"
        if clause:
            tails.append(f"one {clause}")
    elif clause:
        head = f"has {_a(label)} {label} {clause}"
    else:
        head = ""
    if c.isbn13 and not head:
        return isbn13_message(c)
    text = f"{entity} {head}" + "".join(f", or {t}" for t in tails)
    if c.isbn13:
        text += ", or an ISBN-13 whose check digit is wrong"
    return text + (f" ({c.marc_tags})" if c.marc_tags else "")


# --- SHACL --------------------------------------------------------------------------------

_LOCAL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")


@functools.lru_cache(maxsize=1)
def _default_prefixes() -> dict[str, str]:
    try:
        return dict(_index().prefixes)
    except ProfileError:
        return {}


def _curie(iri: str, prefixes: dict[str, str] | None = None) -> str:
    """An IRI as a Turtle prefixed name when a declared prefix fits, else ``<iri>``."""
    prefixes = _default_prefixes() if prefixes is None else prefixes
    best = max((p for p, ns in prefixes.items() if iri.startswith(ns)),
               key=lambda p: len(prefixes[p]), default=None)
    if best is not None:
        local = iri[len(prefixes[best]):]
        if _LOCAL.match(local):
            return f"{best}:{local}"
    return f"<{iri}>"


def _string(text: str, lang: str | None = None) -> str:
    esc = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
           .replace("\r", "\\r"))
    return f'"{esc}"' + (f"@{lang}" if lang else "")


def isbn13_query(prefix: str = ISBN_PREFIX) -> str:
    """SHACL-SPARQL: the values ``prefix`` + 13 digits whose ISBN-13 check digit is wrong.

    Digits weigh 1, 3, 1, 3, …; the weighted sum of all 13 must be a multiple of 10.
    """
    start = len(prefix) + 1
    integer = f"<{XSD}integer>"
    terms = [f"{'3 * ' if i % 2 else ''}{integer}(SUBSTR(?digits, {i + 1}, 1))" for i in range(13)]
    total = "\n             + ".join(terms)
    return (
        "SELECT $this ?value WHERE {\n"
        "    $this $PATH ?value .\n"
        "    BIND (STR(?value) AS ?string)\n"
        f"    FILTER (STRSTARTS(?string, '{prefix}'))\n"
        f"    BIND (SUBSTR(?string, {start}) AS ?digits)\n"
        "    FILTER (REGEX(?digits, '^[0-9]{13}$'))\n"
        f"    BIND ((  {total}) AS ?sum)\n"
        "    FILTER (?sum - 10 * FLOOR(?sum / 10) != 0)\n"
        "}")


def _xpath_escape(text: str) -> str:
    return re.sub(r"([.\\?*+{}()\[\]|^$-])", r"\\\1", text)


def to_shacl(profile: Profile) -> str:
    """The profile as SHACL in Turtle: one sh:NodeShape per shape, one sh:PropertyShape a row."""
    prefixes = _default_prefixes()
    shape_prefixes: dict[str, str] = {}
    for c in profile.constraints:
        ns = c.id.rsplit("#", 1)[0] + "#"
        if ns.startswith(SHAPES_NS):
            shape_prefixes.setdefault(ns[len(SHAPES_NS):-1], ns)
    shape_prefixes.setdefault(profile.name, f"{SHAPES_NS}{profile.name}#")
    shape_prefixes = {p: ns for p, ns in shape_prefixes.items()
                      if re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", p) and p not in prefixes}
    all_prefixes = {"sh": SH, **shape_prefixes, **prefixes}

    def name(iri: str) -> str:
        return _curie(iri, all_prefixes)

    out = [
        f"# SHACL for the metadatabronn application profile {profile.name!r}: {profile.title}.",
        "# Generated from the tables in shapes/ (see shapes/profiles.toml) by",
        "#     python -m metadatabronn.validate.profile",
        "# Do not edit: edit the CSV and rebuild. docs/profiles.md shows the same rows as tables.",
        "",
    ]
    used = {"sh"} | set(shape_prefixes)
    body: list[str] = []
    shapes: dict[str, list[Constraint]] = {}
    for c in profile.constraints:
        shapes.setdefault(c.shape, []).append(c)
    order = 0
    for shape, rows in shapes.items():
        node = shape_iri(profile.name, shape)
        props = ",\n        ".join(name(c.id) for c in rows)
        body += ["", f"{name(node)} a sh:NodeShape ;",
                 f"    sh:targetClass {name(rows[0].target)} ;",
                 f"    sh:name {_string(entity_name(shape), 'en')} ;",
                 f"    sh:property {props} ."]
        for c in rows:
            order += 1
            severity = name(c.severity)
            lines = [f"sh:path {name(c.path)}",
                     f"sh:name {_string(c.label, 'en')}",
                     f"sh:description {_string(c.note, 'en')}",
                     f"sh:message {_string(message(c), 'en')}",
                     f"sh:severity {severity}",
                     f"sh:order {order}"]
            if c.min_count:
                lines.append(f"sh:minCount {c.min_count}")
            if c.max_count is not None:
                lines.append(f"sh:maxCount {c.max_count}")
            if c.node_kind:
                lines.append(f"sh:nodeKind sh:{c.node_kind}")
            if c.datatype:
                lines.append(f"sh:datatype {name(c.datatype)}")
            if c.vocabulary is not None:
                members = [name(t) for t in sorted(c.vocabulary)]
                chunks = [" ".join(members[i:i + 6]) for i in range(0, len(members), 6)]
                lines.append("sh:in (\n        " + "\n        ".join(chunks) + "\n    )")
            if c.pattern is not None and c.pattern_prefix is None:
                lines.append(f"sh:pattern {_string(c.pattern)}")
            elif c.pattern is not None:
                starts = "^" + _xpath_escape(c.pattern_prefix)
                lines.append(f"sh:or (\n        [ sh:not [ sh:pattern {_string(starts)} ] ]\n"
                             f"        [ sh:pattern {_string(c.pattern)} ]\n    )")
            if c.isbn13:
                query = isbn13_query(c.pattern_prefix or ISBN_PREFIX)
                lines.append("sh:sparql [\n        a sh:SPARQLConstraint ;\n"
                             f"        sh:message {_string(isbn13_message(c), 'en')} ;\n"
                             f"        sh:severity {severity} ;\n"
                             f'        sh:select """{query}"""\n    ]')
            body += ["", f"{name(c.id)} a sh:PropertyShape ;\n    " + " ;\n    ".join(lines) + " ."]
    text = "\n".join(body)
    for p in all_prefixes:
        if p not in used and re.search(rf"(?<![\w-]){re.escape(p)}:", text):
            used.add(p)
    for p, ns in all_prefixes.items():
        if p in used:
            out.append(f"@prefix {p}: <{ns}> .")
    return "\n".join(out) + "\n" + text + "\n"


# --- docs ---------------------------------------------------------------------------------

DOC_INTRO = """\
# Application profiles

Generated from the tables in `shapes/` by `python -m metadatabronn.validate.profile`; a test
fails while this page, the tables and the SHACL in `shapes/*.ttl` disagree.

An application profile says what a description in the well must have (**Violation**), should
have (**Warning**), and what is merely counted (**Info**), and which values an element takes.
Each profile is a table a cataloguer can read and edit: a DCTAP-style CSV in `shapes/`, one row
per check. `shapes/profiles.toml` names the profiles, the profile each one extends and the value
lists; `shapes/prefixes.csv` declares the CURIE prefixes. The build compiles each table to SHACL:
a node shape per shape (`sh:targetClass` the RDA entity), a property shape per row.

| column | meaning |
|---|---|
| shapeID, target | the shape and the RDA entity (class) it checks |
| propertyID, propertyLabel | the RDA element, and the row's label (shape + label name the row: `…/shapes/base#Manifestation-titleProper`) |
| mandatory | TRUE: at least one value (`sh:minCount 1`); with severity Warning this is a *recommended* element |
| repeatable | FALSE: at most one value (`sh:maxCount 1`) |
| valueNodeType, valueDataType | IRI or Literal; an XSD datatype |
| valueConstraintType, valueConstraint | `vocabulary` and a value list's name (`sh:in`); `pattern` and a regular expression (`sh:pattern`), or `prefix P pattern R` to check only values starting with P; `isbn13` and the prefix (default `urn:isbn:`) of values whose ISBN-13 check digit must be valid (a SPARQL constraint) |
| severity | Violation, Warning or Info, for every check of the row |
| marcTags | where the mapping takes the value from, for reports |
| note | the one-line reason for the row |

A profile that *extends* another lists only its own rows: a row with the shapeID and
propertyLabel of an inherited row replaces it, any other row is added. Validation runs over the
union of a record's graph and the entity cores (see [architecture.md](architecture.md)).
"""

DOC_CHOICES = """\
## Choices

- **Date of publication is recommended (Warning), not mandatory.** Unpublished and undated
  resources have none, and whether a date is known sits in 008/07-10, which the well keeps as
  carried MARC, not RDF: SHACL cannot tell "not known" from "left out". rdanl and SCIS require
  the date; here a gap is reported, not refused.
- **Language is a Warning in the base profile, a Violation for texts.** RDA makes language of
  expression core only where it tells expressions apart; music and images may have none.
- **No creator row in the base profile.** The mapping records the creator under the element of
  its role (author, compiler, composer, photographer, creator) and a property shape has one
  path, so only the language-based profile, where the role is author, checks it.
- **Repeatable titles and access points.** A record's 880 gives the title proper or a heading
  again in another script, so those rows are repeatable; preferred titles and names are not.
- **Deprecated RDA terms are refused**, and the ISO 639-2 list leaves out the local-use range
  qaa-qtz (see `vocabularies/build_iso639.py`).
- **Category of work has no value list.** rdaw:P10004 holds the 008/33 literary form and the
  655 genre/form concepts alike, so the LiteraryForm list cannot be enforced on it.
- **A wrong value is always a Violation**, even where a missing one is only a Warning: such rows
  are split in two (language / language code; identifier / ISBN / ISBN check digit / ISSN).
- **What the tables cannot say yet.** That a text's content types *include* text (illustrated
  texts are text and still image, so a value list or pattern on every value is wrong; it needs
  `sh:hasValue` or a qualified shape), and that only the work a manifestation embodies, not a
  series or related work (also rdac:C10001), should have an author (a target other than a
  class). Both need a column the DCTAP table does not have.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else text


def _constraint_cell(c: Constraint) -> str:
    if c.vocabulary is not None:
        return vocabulary_name(c.vocabulary) or f"{len(c.vocabulary)} terms"
    if c.isbn13:
        return f"ISBN-13 check digit of values {_code(c.pattern_prefix or ISBN_PREFIX)}…"
    if c.pattern is not None and c.pattern_prefix:
        return f"values starting {_code(c.pattern_prefix)} match {_code(c.pattern)}"
    if c.pattern is not None:
        return f"pattern {_code(c.pattern)}"
    return ""


def _table(profile: Profile, own: set[str]) -> list[str]:
    lines = ["| shape | property | label | mandatory | repeatable | value type | vocabulary "
             "| severity | MARC tags | note |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in profile.constraints:
        value_type = " ".join(x for x in (c.node_kind, _curie(c.datatype) if c.datatype else None) if x)
        label = f"{c.label} *" if c.id in own else c.label
        cells = [c.shape, _code(_curie(c.path)), label, "yes" if c.min_count else "no",
                 "no" if c.max_count == 1 else "yes", value_type, _constraint_cell(c),
                 c.severity.rsplit("#", 1)[-1], c.marc_tags, c.note]
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return lines


def _summary(profile: Profile) -> list[str]:
    """The profile's three parts, shape by shape: mandatory, recommended (and counted), values."""
    lines = []
    shapes: dict[str, list[Constraint]] = {}
    for c in profile.constraints:
        shapes.setdefault(c.shape, []).append(c)
    for shape, rows in shapes.items():
        def labels(keep) -> str:
            return ", ".join(c.label for c in rows if keep(c)) or "none"
        parts = [f"mandatory: {labels(lambda c: c.min_count and c.severity == SEVERITIES['Violation'])}",
                 f"recommended: {labels(lambda c: c.min_count and c.severity == SEVERITIES['Warning'])}"]
        counted = labels(lambda c: c.min_count and c.severity == SEVERITIES["Info"])
        if counted != "none":
            parts.append(f"counted: {counted}")
        parts.append("values checked: " + labels(
            lambda c: c.vocabulary is not None or c.pattern is not None or c.isbn13))
        lines.append(f"- **{entity_name(shape)}** — " + "; ".join(parts) + ".")
    return lines


def render_docs(names: tuple[str, ...] = PROFILES) -> str:
    """The text of docs/profiles.md: an intro, the value lists, each profile as a table."""
    index = _index()
    out = [DOC_INTRO, "## Value lists", "",
           "| name | scheme | terms | declared in |", "|---|---|---|---|"]
    for vname, spec in index.vocabularies.items():
        out.append(f"| {vname} | <{spec['scheme']}> | {len(vocabulary(vname))} "
                   f"| `{spec['file']}` |")
    out += ["", DOC_CHOICES.rstrip("\n")]
    for pname in names:
        profile = load_profile(pname)
        spec = index.profiles[pname]
        out += ["", f"## {profile.title} (`{pname}`)", ""]
        if spec.get("description"):
            out += [spec["description"], ""]
        own: set[str] = set()
        if spec.get("extends"):
            ns = f"{SHAPES_NS}{pname}#"
            own = {c.id for c in profile.constraints if c.id.startswith(ns)}
            out += [f"Extends `{spec['extends']}`: the table in `shapes/{spec['table']}` holds only "
                    "the rows marked *, which this profile adds or puts in place of the base row "
                    "with the same shape and label. The whole profile:", ""]
        else:
            out += [f"Table: `shapes/{spec['table']}`.", ""]
        out += _summary(profile) + [""] + _table(profile, own)
        counts = {s: sum(1 for c in profile.constraints if c.severity.endswith(s)) for s in SEVERITIES}
        out += ["", f"{len(profile.constraints)} rows: " + ", ".join(
            f"{n} {s}" for s, n in counts.items()) + ". SHACL: " + f"`shapes/{pname}.ttl`."]
    return "\n".join(out) + "\n"


# --- build ----------------------------------------------------------------------------------

def outputs() -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    files = {SHAPES_DIR / f"{name}.ttl": to_shacl(load_profile(name)) for name in PROFILES}
    files[DOCS_PATH] = render_docs()
    return files


def build(check: bool = False) -> list[Path]:
    """Write the generated files (or, with ``check``, only compare); return the stale ones."""
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(path)
            if not check:
                path.write_text(text, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m metadatabronn.validate.profile",
        description="Compile the profiles in shapes/ to SHACL (shapes/*.ttl) and docs/profiles.md.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    try:
        stale = build(check=args.check)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in stale:
        rel = path.relative_to(ROOT)
        print(f"{'stale' if args.check else 'wrote'}: {rel}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
