"""What the well changed in an authority record (see :mod:`.authority_out`): the 1XX of a name,
title or label a writer changed after the record's load, the 4XX of variants a writer added or
removed then, and the 024s of identifiers writers added (whenever) or removed (after the load).

A changed heading is written by laying the new text over the old heading's subfields: each old
subfield after the first finds its own text again in the new one (``$d 1941-`` in "…, 1941-2011"
takes "1941-2011"), the first takes what comes before, and each keeps the record's own
punctuation before the next (a comma, or none as Norwegian records give it). A new variant is
laid over the 1XX the same way, in the 4XX of the heading's tag.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pymarc import Field, Indicators, Subfield

from . import terms as T
from .authority import heading_form, kind_of
from .authority_terms import SKOS_ALTLABEL, kind_element
from .edited import insert_field
from .model import Kind
from .text import strip_heading

if TYPE_CHECKING:
    from .authority_out import AuthoritySource

# The preferred access point and name elements a 1XX is written from, by kind of heading.
_AGENT_ELEMENTS = {
    "person": (T.A_PERSON_AAP, T.A_PERSON_NAME),
    "family": (T.A_FAMILY_AAP, T.A_FAMILY_NAME),
    "corporate": (T.A_CORPORATE_AAP, T.A_CORPORATE_NAME),
}
_CONCEPT_TAGS = frozenset({"150", "151", "155"})
_NAME_CODES = {"100": "abcdgjqu", "110": "abcdgnu", "111": "acdegjnqu"}
# A URI of an identifier scheme → the scheme's 024 $2 code and the identifier in the URI.
_URI_SCHEMES = (
    (re.compile(r"^https?://(?:www\.)?isni\.org/isni/([0-9]{15}[0-9Xx])$"), "isni"),
    (re.compile(r"^https?://(?:www\.)?viaf\.org/viaf/([0-9]+)/?$"), "viaf"),
    (re.compile(r"^https?://orcid\.org/([0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9Xx])$"), "orcid"),
    (re.compile(r"^https?://www\.wikidata\.org/(?:entity|wiki)/(Q[0-9]+)$"), "wikidata"),
)
_DATES = re.compile(r"(?:^|[ ,])(\(?[0-9]{3,4}\??-(?:[0-9]{3,4}\??)?\)?\.?)$")




def edited(fields: list[Field], src: AuthoritySource) -> list[Field]:
    """The record's fields with what the well changed."""
    if src.edited:
        _heading(fields, src)
        fields = _variants(fields, src)
    return _identifiers(fields, src)


# -- a heading edited in the well -------------------------------------------------------------

def _heading(fields: list[Field], src: AuthoritySource) -> None:
    """The 1XX with the preferred access point, name or label a writer changed after the load."""
    if not src.edited:
        return
    f = next((f for f in fields if f.tag[:1] == "1" and not f.is_control_field()), None)
    if f is None:
        return
    if f.tag in _CONCEPT_TAGS:
        new = _changed(src, T.SKOS_PREFLABEL, _label(f))
        if new is not None:
            f.subfields = _relabelled(f.subfields, new)
        return
    title_at = next((i for i, s in enumerate(f.subfields) if s.code == "t"), None)
    if f.tag == "130" or title_at is not None and f.tag in _NAME_CODES:
        # A work: its preferred title (130 $a $n $p, or a name/title heading's $t $n $p)
        parts = [i for i, s in enumerate(f.subfields) if s.code in ("anp" if title_at is None else "tnp")
                 and i >= (title_at or 0)]
        title = strip_heading(" ".join(f.subfields[i].value.strip() for i in parts))
        new = _changed(src, T.W_PREFERRED_TITLE, title) if parts else None
        if new is not None:
            f.subfields = _laid_over(f.subfields, parts, new)
        return
    if f.tag not in _NAME_CODES:
        return
    kind = "corporate" if f.tag != "100" else "family" if f.indicator1 == "3" else "person"
    aap_element, name_element = _AGENT_ELEMENTS[kind]
    codes = _NAME_CODES[f.tag]
    parts = [i for i, s in enumerate(f.subfields) if s.code in codes]
    if not parts:
        return
    aap = strip_heading(" ".join(f.subfields[i].value.strip() for i in parts))
    new = _changed(src, aap_element, aap)
    if new is None:
        parts = [i for i in parts if f.subfields[i].code in "ab"]
        name = strip_heading(" ".join(f.subfields[i].value.strip() for i in parts))
        new = _changed(src, name_element, name)
        if new is None or not parts:
            return
    f.subfields = _laid_over(f.subfields, parts, new)


def _changed(src: AuthoritySource, element: str, given: str) -> str | None:
    """The element's value a writer set after the load, when it is not the record's own."""
    values = src.edited.get(element)
    if not values:
        return None  # not stated, or cleared: the record's own heading stays
    own = set(src.own.get(element, ())) | {given}
    if own & set(values):
        return None
    return values[0]


def _laid_over(subfields: list[Subfield], parts: list[int], new: str) -> list[Subfield]:
    """The subfields ``parts`` (a heading's name part, in order) with the text ``new`` laid over
    them: each part after the first takes its own text again where the new text still has it
    (``$d 1941-`` in "…, 1941-2011" takes "1941-2011"), the first takes what comes before; a part
    the new text no longer has is left out. A final full stop the heading had is kept."""
    starts: list[tuple[int, int]] = []  # (subfield index, where its text starts in new)
    cursor = 0
    for i in parts[1:]:
        own = strip_heading(subfields[i].value).strip(" ,.:;")
        at = new.find(own, cursor) if own else -1
        if at < 0 and subfields[i].code == "d":
            m = _DATES.search(new, cursor)
            at = m.start(1) if m else -1
        if at > 0:
            starts.append((i, at))
            cursor = at + len(own)
    pieces: dict[int, str] = {}
    edges = [(parts[0], 0), *starts]
    for n, (i, at) in enumerate(edges):
        end = edges[n + 1][1] if n + 1 < len(edges) else len(new)
        # The record's own punctuation between the parts (",", or none as in Norwegian practice)
        piece = new[at:end].strip().rstrip(" ,;:")
        pieces[i] = piece + _tail(subfields[i].value) if piece else ""
    last_old = subfields[parts[-1]].value.rstrip()
    last_new = edges[-1][0]
    if last_old.endswith(".") and pieces[last_new] and pieces[last_new][-1] not in ".?!-),;:":
        pieces[last_new] += "."
    out = []
    for i, s in enumerate(subfields):
        if i in pieces:
            if pieces[i]:
                out.append(Subfield(s.code, pieces[i]))
        elif i not in parts:
            out.append(s)
    return out


def _tail(value: str) -> str:
    """The punctuation a subfield ends with before the next one (",", " :"), if any."""
    m = re.search(r"\s*[,;:]+$", value.rstrip())
    return m.group(0) if m else ""


def _label(f: Field) -> str:
    return " -- ".join(strip_heading(s.value) for s in f.subfields if s.code in "avxyz")


def _relabelled(subfields: list[Subfield], label: str) -> list[Subfield]:
    """A 15X with a concept's new label: its parts in the old subdivisions' codes, in order
    (``$x`` for a part beyond them)."""
    parts = [p.strip() for p in label.split(" -- ") if p.strip()]
    old = [s for s in subfields if s.code in "avxyz"]
    rest = [s for s in subfields if s.code not in "avxyz"]
    made = [Subfield(old[n].code if n < len(old) else ("a" if n == 0 else "x"), p) for n, p in enumerate(parts)]
    return made + rest


# -- variants ---------------------------------------------------------------------------------

def _variants(fields: list[Field], src: AuthoritySource) -> list[Field]:
    """Without the 4XX of the variants a writer removed after the load, and with a 4XX for each
    variant a writer added then (laid over the 1XX, in the 4XX of its tag)."""
    main = next((f for f in fields if f.tag[:1] == "1" and not f.is_control_field()), None)
    if main is None:
        return fields
    kind = kind_of(main)
    element = SKOS_ALTLABEL if kind is Kind.CONCEPT else kind_element("variant", kind)
    wanted = src.edited.get(element) if element else None
    if wanted is None:
        return fields
    held = {_form(v) for v in src.own.get(element, ())}
    wanted_forms = {_form(v) for v in wanted}
    forms: set[str] = set()
    kept = []
    for f in fields:
        if f.tag[:1] == "4" and not f.is_control_field():
            form = _form(heading_form(f, kind_of(f))[0])
            if form in held and form not in wanted_forms:
                continue  # removed in the well
            forms.add(form)
        kept.append(f)
    forms.add(_form(heading_form(main, kind)[0]))
    for value in sorted(wanted):
        if _form(value) in forms:
            continue
        new = Field(tag="4" + main.tag[1:], indicators=Indicators(*main.indicators),
                    subfields=[s for s in main.subfields if s.code not in "0126789"])
        if kind is Kind.CONCEPT:
            new.subfields = _relabelled(new.subfields, value)
        else:
            # A name/title variant is the whole access point: name parts, then title parts
            names = "anp" if main.tag == "130" else _NAME_CODES.get(main.tag, "")
            title_at = next((i for i, s in enumerate(new.subfields) if s.code == "t"), len(new.subfields))
            parts = [i for i, s in enumerate(new.subfields) if s.code in (names if i < title_at else "tnp")]
            if not parts:
                continue
            new.subfields = _laid_over(new.subfields, parts, value)
        forms.add(_form(value))
        insert_field(kept, new)
    return kept


def _form(text: str) -> str:
    """A form compared whatever its case, punctuation and spacing (its letters as they are:
    "Aase" and "Åse" are two variants)."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


# -- identifiers ------------------------------------------------------------------------------

def identifier_key(ident: str) -> str:
    """``(scheme)value`` compared whatever its case and spacing (an ISNI is given with spaces)."""
    return "".join(ident.split()).casefold()


def scheme_identifier(value: str) -> tuple[str, str] | None:
    """``(scheme)value`` or a known identifier URI as (scheme, value); None for anything else."""
    if value.startswith("(") and ")" in value:
        scheme, ident = value[1:].split(")", 1)
        return (scheme, ident) if scheme and ident else None
    for pattern, scheme in _URI_SCHEMES:
        m = pattern.match(value)
        if m:
            return scheme, m.group(1).upper() if scheme == "isni" else m.group(1)
    return None


def _of_024(f: Field) -> str | None:
    a = next((s.value for s in f.subfields if s.code == "a"), None)
    scheme = next((s.value.strip() for s in f.subfields if s.code == "2"), None)
    if not a or not scheme:
        return None
    return identifier_key(f"({scheme}){a}")


def _keys(value: str) -> set[str]:
    """Every way an identifier is compared: as given, and as its scheme's identifier when it is
    (or its value is) a known identifier URI (``(viaf)http://viaf.org/viaf/1`` is ``(viaf)1``)."""
    keys = {identifier_key(value)}
    found = scheme_identifier(value)
    if found is not None:
        scheme, ident = found
        keys.add(identifier_key(f"({scheme}){ident}"))
        inner = scheme_identifier(ident.strip())
        if inner is not None and inner[0].casefold() == scheme.casefold():
            keys.add(identifier_key(f"({inner[0]}){inner[1]}"))
    return keys


def _identifiers(fields: list[Field], src: AuthoritySource) -> list[Field]:
    """Fields with the identifiers writers added as new 024s, and without the 024s of the
    identifiers a writer removed after the load."""
    own: set[str] = set()
    for value in (*src.own.get(T.MB_IDENTIFIER, ()), *src.own.get(T.OWL_SAMEAS, ()), src.identifier):
        if value:
            own |= _keys(value)
    for f in fields:
        if f.tag == "024":
            key = _of_024(f)
            if key:
                own |= _keys(key)
        elif f.tag == "035":
            own.update(identifier_key(s.value) for s in f.subfields if s.code in "az")
    stated = src.edited.get(T.MB_IDENTIFIER)
    if stated is not None:
        kept: set[str] = set()
        for value in (*stated, *src.edited.get(T.OWL_SAMEAS, ())):
            kept |= _keys(value)
        held: set[str] = set()
        for value in src.own.get(T.MB_IDENTIFIER, ()):
            held |= _keys(value)
        fields = [f for f in fields if not (f.tag == "024" and (key := _of_024(f)) in held
                                            and not _keys(key) & kept)]
    new: dict[str, tuple[str, str]] = {}
    for value in src.identifiers:
        found = scheme_identifier(value)
        if found is None or _keys(value) & own:
            continue
        scheme, ident = found
        key = min(_keys(value), key=lambda k: (len(k), k))  # one 024 for an identifier and its URI
        if key not in new:
            new[key] = (scheme, "".join(ident.split()) if scheme.casefold() == "isni" else ident)
    for scheme, ident in sorted(new.values(), key=lambda p: (p[0].casefold(), p[1])):
        insert_field(fields, Field(tag="024", indicators=Indicators("7", " "),
                                   subfields=[Subfield("a", ident), Subfield("2", scheme)]))
    return fields


