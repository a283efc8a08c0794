"""Generated files of the profiles: shapes/*.ttl and docs/profiles.md, and their rebuild."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError
from .index import ROOT, SHAPES_DIR, _index, vocabulary, vocabulary_name
from .profile import DOCS_PATH, ISBN_PREFIX, PROFILES, SEVERITIES, SHAPES_NS, Constraint, Profile, load_profile
from .shacl import _curie, entity_name, isbn13_message, message, to_shacl


DOC_INTRO = """\
# Application profiles

Generated from the tables in `shapes/` by `python -m metadatabronn.validate.profile`; a test
fails while this page, the tables and the SHACL in `shapes/*.ttl` disagree.

An application profile says what a description in the well must have (**Violation**), should
have (**Warning**), and what is merely counted (**Info**), and which values an element takes.
Each profile is a table a cataloguer can read and edit: a DCTAP-style CSV in `shapes/`, one row
per check. `shapes/profiles.toml` names the profiles, the profile each one extends and the value
lists; `shapes/prefixes.csv` declares the CURIE prefixes. The build compiles each table to SHACL:
a node shape per shape (`sh:targetClass` the RDA entity, or `sh:targetObjectsOf` an element), a
property shape per row.

| column | meaning |
|---|---|
| shapeID, target | the shape and the RDA entity (class) it checks; `^element` (e.g. `^rdam:P30135`, work manifested) checks every value of that element instead, so a shape can reach the work a manifestation embodies and leave series and related works alone |
| propertyID, propertyLabel | the RDA element, and the row's label (shape + label name the row: `…/shapes/base#Manifestation-titleProper`) |
| mandatory | TRUE: at least one value (`sh:minCount 1`); with severity Warning this is a *recommended* element |
| repeatable | FALSE: at most one value (`sh:maxCount 1`) |
| valueNodeType, valueDataType | IRI or Literal; an XSD datatype |
| valueConstraintType, valueConstraint | `vocabulary` and a value list's name (`sh:in`); `pattern` and a regular expression (`sh:pattern`), or `prefix P pattern R` to check only values starting with P; `isbn13` and the prefix (default `urn:isbn:`) of values whose ISBN-13 check digit must be valid (a SPARQL constraint); `absent`: the element should have no value, and any value is reported (`sh:maxCount 0`), for what the mapping sets aside for a cataloguer (an invalid language code, a heading without a name) |
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
  are split in two (language / language code; content type / content type term; carrier type /
  carrier type term; identifier / ISBN / ISBN check digit / ISSN).
- **Violations are what makes an entity unusable; Warnings what a cataloguer should fix.** A
  record without a title, an expression without its work, a value outside its list or a
  malformed ISBN would break identity, clustering or duplicate matching: rejected. A missing
  content or carrier type (a kit without 336, an old sound recording that names no carrier), a
  language code no list defines, an ISBN-13 with a wrong check digit, a heading without a name:
  stored, with a Warning. The mapping keeps such values apart (`mb:invalidLanguage`,
  `mb:invalidIdentifier`, `mb:headingWithoutName`) rather than linking them, and rows with the
  constraint `absent` report them.
- **Subject, author and category of work are asked of the manifested work only** (target
  `^rdam:P30135`). A series or a related work is a Work too, but the record that names it
  says nothing of its subjects or author; checked as every Work, the LC 20k gave 7,278 records a
  "subject is missing" that their own work did not deserve.
- **What the tables cannot say yet.** That a text's content types *include* text (illustrated
  texts are text and still image, so a value list or pattern on every value is wrong; it needs
  `sh:hasValue` or a qualified shape). That needs a column the DCTAP table does not have.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else text


def _constraint_cell(c: Constraint) -> str:
    if c.max_count == 0:
        return "absent: any value is reported"
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
                 "none" if c.max_count == 0 else "no" if c.max_count == 1 else "yes", value_type, _constraint_cell(c),
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


DOC_REJECTS = """\
## What rejects a record

A record is *rejected* (kept aside with its bytes and its reason in `STORE.rejects/`, for a
person to fix and load again) only when the well cannot use it; anything a cataloguer can fix
later is stored, with a Warning in its graph that SPARQL finds. Every reason names the record by
its control number (001/003; a record without 001 by its 035, else its 010), its position in
the file, and the field at fault. The reasons, all of them:

**The record cannot be read** (`marc`): its structure, encoding or leader is broken (a length or
base address that is not a number or points outside the record, a directory entry past the end,
no record terminator, invalid UTF-8 or MARC-8, non-ASCII indicators or subfield codes, a
leader that is not 24 characters, XML that does not parse or an entity that cannot be expanded).

**The record cannot be mapped** (`mapping`):
- no control number: no 001, and no 035, 010 or Koha 999 $c to take one from (field 001);
- no title statement: no 245 (field 245), or a 200 and no 245, which is UNIMARC (field 245).

Authority, holdings and classification records are not rejected: they are set aside and counted.
Deleted records (Leader/05 `d`) leave a tombstone.

**The record violates its profile** (`--on-invalid reject`, the default): each Violation row
below rejects, with the message shown (the field at fault is the first of the row's MARC tags
the record has). A profile extending another rejects for its own Violation rows too.
"""


def _rejecting(profile: Profile, own: set[str]) -> list[str]:
    lines = []
    for c in profile.constraints:
        if c.severity != SEVERITIES["Violation"] or (own and c.id not in own):
            continue
        what = message(c) if not c.isbn13 else isbn13_message(c)
        lines.append(f"- {_cell(what)} — *{c.label}*, `{c.id.rsplit('#', 1)[-1]}`")
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
    out += ["", DOC_REJECTS.rstrip("\n")]
    for pname in names:
        profile = load_profile(pname)
        spec = index.profiles[pname]
        own = set()
        if spec.get("extends"):
            ns = f"{SHAPES_NS}{pname}#"
            own = {c.id for c in profile.constraints if c.id.startswith(ns)}
        rows = _rejecting(profile, own)
        head = (f"Profile `{pname}`" + (f", beyond `{spec['extends']}`" if spec.get("extends") else "")
                + f": {len(rows)} reason(s).")
        out += ["", head, ""] + rows
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
    """``python -m metadatabronn.validate.profile [--check]``: a build step, so it reports on stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m metadatabronn.validate.profile",
        description="Compile the profiles in shapes/ to SHACL (shapes/*.ttl) and docs/profiles.md.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    try:
        stale = build(check=args.check)
    except ConfigError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    for path in stale:
        sys.stdout.write(f"{'stale' if args.check else 'wrote'}: {path.relative_to(ROOT)}\n")
    return 1 if args.check and stale else 0
