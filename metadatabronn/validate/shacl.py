"""Compiling a profile to SHACL (Turtle), and the messages its results carry."""

from __future__ import annotations

import functools
import re

from .index import XSD, ProfileError, _index, vocabulary_name
from .profile import ISBN_PREFIX, SH, SHAPES_NS, Constraint, Profile, shape_iri


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
    if c.max_count == 0:  # absent: any value is reported
        return f"{entity} has {_a(label)} {label}" + (f" ({c.marc_tags})" if c.marc_tags else "")
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
                 f"    {'sh:targetObjectsOf' if rows[0].target_objects_of else 'sh:targetClass'} "
                 f"{name(rows[0].target)} ;",
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
