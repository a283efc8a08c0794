"""Handlers for the fields of an authority record other than its headings: identifiers (010,
024, 035), dates (046), attributes (370-378), sources and notes (670, 675, 678, 680), the
replacement of a record (682), and the register's quality level (901)."""

from __future__ import annotations

import re

from . import terms as T
from .authority import State
from .authority_terms import N_NOTE, N_REFERENCE_SOURCE
from .model import IRI, Lit
from .text import strip_heading

# 024 $2 schemes held as identifiers, and how each makes a URI (owl:sameAs) from its value.
SCHEMES = ("isni", "viaf", "orcid", "wikidata", "NO-TrBIB", "hdl", "bibbi")
_VIAF = re.compile(r"(?:https?://viaf\.org/viaf/)?(\d+)/?$")
_ORCID = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_WIKIDATA = re.compile(r"(?:https?://www\.wikidata\.org/(?:entity|wiki)/)?(Q\d+)$")
_ISNI = re.compile(r"(?:https?://isni\.org/isni/)?([\d ]{15,19}[\dXx])$")


def same_as(scheme: str, value: str) -> str | None:
    """The URI an identifier stands for, when its scheme has one.

    >>> same_as("isni", "0000 0001 2103 268X"), same_as("viaf", "http://viaf.org/viaf/803679")
    ('https://isni.org/isni/000000012103268X', 'http://viaf.org/viaf/803679')
    """
    value = value.strip()
    if scheme == "isni" and (m := _ISNI.match(value)):
        return "https://isni.org/isni/" + m.group(1).replace(" ", "").upper()
    if scheme == "viaf" and (m := _VIAF.match(value)):
        return "http://viaf.org/viaf/" + m.group(1)
    if scheme == "orcid" and (m := _ORCID.match(value)):
        return "https://orcid.org/" + m.group(1)
    if scheme == "wikidata" and (m := _WIKIDATA.match(value)):
        return "http://www.wikidata.org/entity/" + m.group(1)
    if scheme in ("hdl", "uri") and value.startswith("http"):
        return value
    return None


def identifier_024(st: State, field) -> None:
    """024 by $2: ``(scheme)value`` as mb:identifier and the kind's identifier element, and the
    URI it stands for as owl:sameAs. Other schemes ($2 uri, gnd, lccn…) only as sameAs when a
    URI, else carried."""
    scheme = next((v.strip() for c, v in field.subfields if c == "2"), "")
    for c, v in field.subfields:
        if c != "a" or not v.strip():
            continue
        value = v.strip().replace(" ", "") if scheme == "isni" else v.strip()
        uri = same_as(scheme, value)
        if scheme in SCHEMES:
            form = f"({scheme}){value}"
            st.main.add(T.MB_IDENTIFIER, form)
            st.add("identifier", form)
            st.identifier(form)
            if scheme == "viaf" and uri and uri.rsplit("/", 1)[-1] != value:  # a URL: the number too
                st.identifier(f"(viaf){uri.rsplit('/', 1)[-1]}")
        if uri and uri not in st.same_as:
            st.same_as.append(uri)
            st.main.add(T.OWL_SAMEAS, IRI(uri))


def identifier_035(st: State, field) -> None:
    """035 $a: another system's number for this record, a link key ($z, cancelled, is not)."""
    for c, v in field.subfields:
        value = "".join(v.split())
        if c == "a" and value:
            st.identifier(value)
            st.add("identifier", value)


def lccn_010(st: State, field) -> None:
    """010 $a: the LC control number, as ``(DLC)n79021164``."""
    for c, v in field.subfields:
        value = "".join(v.split())
        if c == "a" and value:
            st.identifier(f"(DLC){value}")
            st.add("identifier", f"(DLC){value}")


def dates_046(st: State, field) -> None:
    """046: $f birth, $g death (a person); $q/$s establishment or start, $r/$t termination or
    end (a body; a person's or family's $s-$t period of activity); $k a work's date."""
    values = {c: v.strip() for c, v in field.subfields if v.strip()}
    st.add("birth", values.get("f"))
    st.add("death", values.get("g"))
    start, end = values.get("q") or values.get("s"), values.get("r") or values.get("t")
    if st.main is not None and st.kind.value == "corporate":
        st.add("establishment", start)
        st.add("termination", end)
    elif values.get("s") or values.get("t"):
        st.add("period", f"{values.get('s', '')}-{values.get('t', '')}")
    st.add("date of work", values.get("k"))


def places_370(st: State, field) -> None:
    """370: $a place of birth, $b of death, $e of residence (a person); $c, $e, $f places of a
    corporate body."""
    for c, v in field.subfields:
        v = strip_heading(v)
        if not v:
            continue
        if c == "a":
            st.add("place of birth", v)
        elif c == "b":
            st.add("place of death", v)
        elif c == "e":
            st.add("residence", v)
            st.add("related place", v)
        elif c in "cf":
            st.add("related place", v)


def attribute(element: str, codes: str = "a"):
    """372 field of activity, 374 occupation, 375 gender, 378 $q fuller form: each value as given."""

    def handler(st: State, field) -> None:
        for c, v in field.subfields:
            if c in codes and v.strip():
                st.add(element, strip_heading(v))

    handler.__name__ = f"attribute_{element.replace(' ', '_')}"
    return handler


def language_377(st: State, field) -> None:
    """377 $a: a MARC language code, linked as the ISO 639-2 term; $l the language's name as given."""
    for c, v in field.subfields:
        v = v.strip()
        if c == "a" and v:
            code = v.lower()
            st.add("language", IRI(T.language_iri(code)) if code in T.LANGUAGE_CODES else Lit(v))
        elif c == "l" and v:
            st.add("language", Lit(strip_heading(v)))


def source_670(st: State, field) -> None:
    """670 source data found: the preferred nomen's reference source ($a, with $b as found)."""
    text = " ".join(v.strip() for c, v in field.subfields if c in "ab" and v.strip())
    if text:
        _on_preferred(st, N_REFERENCE_SOURCE, text)
        st.add("source consulted", text)


def not_found_675(st: State, field) -> None:
    """675 source data not found: a note on the preferred nomen, each $a."""
    for c, v in field.subfields:
        if c == "a" and v.strip():
            _on_preferred(st, N_NOTE, f"Not found: {v.strip()}")


def history_678(st: State, field) -> None:
    """678 biographical or historical data: $a and $b as the person's biographical information,
    the body's or family's history, a work's history, a concept's note."""
    text = " ".join(v.strip() for c, v in field.subfields if c in "ab" and v.strip())
    st.add("history", text)


def scope_680(st: State, field) -> None:
    """680 public general note ($i, $a) of a concept: its scope note."""
    text = " ".join(v.strip() for c, v in field.subfields if c in "ai" and v.strip())
    st.add("scope note", text)


def replaced_682(st: State, field) -> None:
    """682 deleted heading information: each $0 names the record (or records, of a split) that
    replace this one."""
    for c, v in field.subfields:
        if c == "0" and (found := st.authority_id(v)):
            st.replaced_by.append(found)


def quality_901(st: State, field) -> None:
    """901 $a: the register's quality level (kat1, kat2, kat3), as given."""
    for c, v in field.subfields:
        if c == "a" and v.strip().lower() in ("kat1", "kat2", "kat3"):
            st.quality = v.strip().lower()
            st.main.add(T.MB_QUALITY, st.quality)
            return


def _on_preferred(st: State, predicate: str, text: str) -> None:
    if st.nomens:  # the 1XX's, made first
        st.nomens[0].notes.append((predicate, text))
