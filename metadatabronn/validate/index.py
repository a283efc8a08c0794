"""The profile index (``shapes/profiles.toml``), the CURIE prefixes (``shapes/prefixes.csv``)
and the value lists a profile row may name (concept schemes in ``vocabularies/``)."""

from __future__ import annotations

import csv
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
# An installed copy carries shapes/ (and vocabularies/ beside it) inside the package; a checkout
# has them at the top of the repository.
_INSTALLED = Path(__file__).resolve().parents[1] / "shapes"
SHAPES_DIR = _INSTALLED if (_INSTALLED / "profiles.toml").is_file() else ROOT / "shapes"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OWL_DEPRECATED = "http://www.w3.org/2002/07/owl#deprecated"


class ProfileError(ConfigError):
    """A profile name is unknown, or a profile's table or index cannot be used."""


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
    """scheme IRI -> the concepts in it that are not deprecated, for one vocabulary file.

    Parsed by pyoxigraph, not rdflib: every process that checks records (each ingest worker,
    each server process) reads the vocabularies once, and rdflib's Turtle parser took about a
    second of CPU for them where pyoxigraph takes a few milliseconds."""
    import pyoxigraph as ox  # only needed when a profile is loaded, not when this module is imported

    in_scheme, deprecated = SKOS + "inScheme", OWL_DEPRECATED
    schemes: dict[str, set[str]] = {}
    gone: set[str] = set()
    try:
        with open(path, "rb") as fh:
            for triple in ox.parse(fh, format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()):
                predicate = triple.predicate.value
                if predicate == in_scheme:
                    schemes.setdefault(triple.object.value, set()).add(triple.subject.value)
                elif predicate == deprecated and isinstance(triple.object, ox.Literal) and \
                        triple.object.datatype.value == XSD + "boolean" and triple.object.value in ("true", "1"):
                    gone.add(triple.subject.value)
    except FileNotFoundError:
        raise ProfileError(f"value list file {path} not found") from None
    except SyntaxError as exc:
        raise ProfileError(f"value list file {_show(path)}: not Turtle: {exc}") from None
    return {k: frozenset(v - gone) for k, v in schemes.items() if v - gone}


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
