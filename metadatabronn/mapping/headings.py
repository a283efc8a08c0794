"""Handlers for headings: agents (1XX/7XX), preferred titles (240/130), subjects (6XX: agents and
works as themselves, the rest as concepts of :mod:`.concepts`), series (440/8XX) and related works
(7XX $t, 730, 740)."""

from __future__ import annotations

import re

from . import roles as R
from . import terms as T
from .builder import Builder
from .model import Entity, IRI, Kind
from .concepts import _concept, concept, concept_labels
from .text import join_parts, strip_heading, strip_isbd

_NAME_CODES = {"00": "abcdgjq", "10": "abcdgn", "11": "acdegnq"}
_AFTER_NAME = set("tklfhmnoprs")  # a title part begins: the heading names a work
_TITLE_CODES = "tnpklfmors"
_SUBDIVISION_CODES = frozenset("vxyz")
# 7XX $i wordings that make the named work the original of this record's translation.
_TRANSLATION_OF = ("translation of", "oversettelse av", "oversettelse", "översättning av",
                   "käännöksen perustana", "käännös", "übersetzung von")
_DATES = re.compile(r"(\d{3,4})\??\s*-\s*(\d{3,4})?")


def _kind(field) -> Kind:
    suffix = field.tag[1:]
    if suffix == "00":
        return Kind.FAMILY if field.indicator1 == "3" else Kind.PERSON
    return Kind.CORPORATE


def _name_part(field) -> list[tuple[str, str]]:
    codes = _NAME_CODES.get(field.tag[1:], "abcdgnq")
    out = []
    # In X10 a $n before any title is the meeting's number ("(21st :"), part of the name.
    stop = _AFTER_NAME - {"n"} if field.tag[1:] == "10" else _AFTER_NAME
    for code, value in field.subfields:
        if code in stop and field.tag[1:] != "11" or code == "t":
            break
        if code in codes:
            out.append((code, value))
    return out


def _heading(parts) -> str:
    return strip_heading(" ".join([v.strip() for _, v in parts]))


def _creator_key(field, parts=None) -> str:
    # The cluster key names the creator without dates or fuller form, which records of one
    # work give or omit at random; agents themselves keep their full heading.
    return _heading([(c, v) for c, v in (_name_part(field) if parts is None else parts) if c in "abcgn"])


def local_number(field) -> str | None:
    """The local number of the authority record a heading is linked to (Koha's ``$9``), if any.

    Only a number is one: other systems put other things in ``$9`` (``FENNI<KEEP>``)."""
    for c, v in field.subfields:
        if c == "9":
            v = v.strip()
            if v.isdigit():
                return v
    return None


def agent(b: Builder, field, parts=None) -> Entity | None:
    """The agent a name heading names, created once per record with its name and identifiers.
    ``parts`` is the heading's name part when the caller has it already."""
    if parts is None:
        parts = _name_part(field)
    if not parts:
        return None
    name = strip_heading(" ".join(v for c, v in parts if c in "ab"))
    if not name:
        # An empty $a ("$a,$d1828-1910."): no agent can be named or matched. The field is
        # carried as it came; the manifestation notes it for a cataloguer.
        if b.lang_tag is None:
            text = " ".join(f"${c}{v}" for c, v in field.subfields if c not in "68")
            b.add(b.manifestation, T.MB_HEADING_WITHOUT_NAME, f"{field.tag} {text}")
        return None
    aap = _heading(parts)
    kind = _kind(field)
    uri = ident = None  # the first $1 that is a URI, the first $0 that is not blank
    for c, v in field.subfields:
        if c == "1":
            if uri is None:
                v = v.strip()
                if v.startswith("http"):
                    uri = v
        elif c == "0" and ident is None:
            ident = v.strip() or None
    if uri is None and ident and ident.startswith("http"):
        uri, ident = ident, None
    if uri:
        basis = ("uri", uri)
    elif ident:
        basis = ("id", ident)
    elif (local := local_number(field)) is not None:
        basis = ("local", local)
    else:
        basis = ("aap", kind.value, aap)
    entity = b.entity(kind, basis)
    if entity.statements:
        return entity
    b.add(entity, _NAME[kind], name)
    b.add(entity, _AAP[kind], aap)
    for c, v in parts:
        if c == "d" and kind is Kind.PERSON:
            m = _DATES.search(v)
            if m:
                b.add(entity, T.A_BIRTH, m.group(1))
                b.add(entity, T.A_DEATH, m.group(2))
            elif v.strip():
                b.add(entity, T.A_PERSON_ACTIVITY, strip_heading(v))
    for c, v in field.subfields:
        v = v.strip()
        if c in "01" and v:
            if v.startswith("http"):
                b.add(entity, T.OWL_SAMEAS, IRI(v))
            else:
                b.add(entity, _ID[kind], v)
    return entity


_NAME = {Kind.PERSON: T.A_PERSON_NAME, Kind.CORPORATE: T.A_CORPORATE_NAME, Kind.FAMILY: T.A_FAMILY_NAME}
_AAP = {Kind.PERSON: T.A_PERSON_AAP, Kind.CORPORATE: T.A_CORPORATE_AAP, Kind.FAMILY: T.A_FAMILY_AAP}
_ID = {Kind.PERSON: T.A_PERSON_ID, Kind.CORPORATE: T.A_CORPORATE_ID, Kind.FAMILY: T.A_AGENT_ID}


def name_is_empty(field, code: str, value: str) -> bool:
    """A name heading whose name ($a, $b) is empty names no agent: every subfield is carried as
    written, since no entity holds its values."""
    for c, v in field.subfields:
        if (c == "a" or c == "b") and v.strip(" ,.;:/="):
            return False
    return True


def _link_880(b: Builder, field, entity: Entity | None) -> None:
    if entity is None:
        return
    for code, value in field.subfields:
        if code == "6" and value.startswith("880-"):
            b.linked[value[4:6]] = entity


def _place_role(b: Builder, entity: Entity, codes: list[str], default: tuple[str, str]) -> None:
    placed = False
    for code in codes:
        spec = R.CODES.get(code)
        if spec:
            b.add(getattr(b, spec[0]), spec[1], entity)
            placed = True
    if not placed:
        b.add(getattr(b, default[0]), default[1], entity)


def main_entry(b: Builder, field) -> None:
    """100/110/111: the creator; also the first half of the work's cluster key."""
    parts = _name_part(field)
    entity = agent(b, field, parts)
    _link_880(b, field, entity)
    if entity is None:
        return
    b.creator_basis = _creator_key(field, parts)
    b.creator_heading = _heading(parts)
    default = ("work", T.W_AUTHOR if b.textual else T.W_CREATOR)
    _place_role(b, entity, R.roles(field), default)


def _title_of(field, codes: str = "anp", skip: int = 0) -> str:
    parts = []
    for c, v in field.subfields:
        if c in codes:
            if skip and c in "at":
                v, skip = v[skip:], 0
                v = v[:1].upper() + v[1:]
            parts.append(strip_isbd(v))
    return join_parts(p for p in parts if p)


def nonfiling(field) -> int:
    ind = field.indicator1 if field.tag in ("130", "730") else field.indicator2
    return int(ind) if ind.isdigit() else 0


def has_nonfiling_article(field, code: str, value: str) -> bool:
    return code == "a" and nonfiling(field) > 0


def preferred_title(b: Builder, field) -> None:
    """240/130: the preferred title of the work; $l names the expression's language."""
    title = _title_of(field, "anp", nonfiling(field))
    if not title:
        return
    # A work has one preferred title: its 880 form in another script becomes a variant title.
    _link_880(b, field, b.work)
    b.uniform_titles.append(title)
    selection = " ".join(strip_isbd(v) for c, v in field.subfields if c == "k")
    if selection:
        b.selection = selection
    if b.work.first(T.W_PREFERRED_TITLE) is None:
        b.work.add(T.W_PREFERRED_TITLE, title)
    elif b.work.first(T.W_PREFERRED_TITLE).text != title:
        b.work.add(T.W_VARIANT_TITLE, title)  # a second 130/240, against the format: kept all the same


def added_entry(b: Builder, field) -> None:
    """700/710/711: an agent in a role, or (with $t) a related work, or the original of a translation."""
    has_title = any(c == "t" for c, _ in field.subfields)
    if has_title:
        relation = " ".join(v for c, v in field.subfields if c == "i").strip().lower()
        creator = _creator_key(field)
        title = _title_of(field, "tnp")
        if relation.startswith(_TRANSLATION_OF):
            b.translation_of = (creator, title)
            # The original's creator is this work's creator too; naming the agent keeps its
            # full heading (dates, fuller name) for MARC export.
            author = agent(b, field)
            if author is not None:
                _link_880(b, field, author)
                _place_role(b, author, [], ("work", T.W_AUTHOR if b.textual else T.W_CREATOR))
            return
        work = related_work(b, creator, title, field)
        _link_880(b, field, work)
        b.add(b.work, T.W_RELATED_WORK, work)
        return
    entity = agent(b, field)
    _link_880(b, field, entity)
    if entity is None:
        return
    _place_role(b, entity, R.roles(field), ("expression", T.E_CREATOR))


def related_work(b: Builder, creator: str, title: str, field=None) -> Entity:
    work = b.entity(Kind.WORK, ("work", creator, title))
    if not work.statements:
        work.add(T.W_PREFERRED_TITLE, title)
        name = _heading(_name_part(field)) if field is not None and creator else creator
        work.add(T.W_AAP, f"{name} {title}" if name.endswith(".") else f"{name}. {title}" if name else title)
        if field is not None and creator:
            author = agent(b, field)
            if author is not None:
                work.add(T.W_CREATOR, author)
    return work


def uniform_title_730(b: Builder, field) -> None:
    """730 and 740: a related work named by its title alone."""
    title = _title_of(field, "anp")
    if title:
        b.add(b.work, T.W_RELATED_WORK, related_work(b, "", title))



def subject(b: Builder, field) -> None:
    """6XX: agents and works as themselves; topics, places, genres as SKOS concepts.

    A 653 holds uncontrolled index terms, one in each (repeatable) $a: each is a concept of its own.
    """
    tag = field.tag
    predicate = T.W_CATEGORY if tag == "655" else T.W_SUBJECT
    if tag == "653":
        for term in concept_labels(tag, field.subfields):
            b.add(b.work, predicate, _concept(b, term, "", None, ()))
        return
    codes = {c for c, _ in field.subfields} if tag in ("600", "610", "611") else None
    if codes is not None and not codes & _SUBDIVISION_CODES:
        if "t" in codes:
            target = related_work(b, _creator_key(field), _title_of(field, "tnp"), field)
        else:
            target = agent(b, field)
        if target is not None:
            b.add(b.work, predicate, target)
        return
    b.add(b.work, predicate, concept(b, field))


def series_added_entry(b: Builder, field) -> None:
    """440/800/810/811/830: the series as a work of its own, which this work is part of."""
    if field.tag in ("800", "810", "811"):
        creator, title = _creator_key(field), _title_of(field, "tnp")
    else:
        creator, title = "", _title_of(field, "anp")
    if not title:
        return
    series = related_work(b, creator, title, field if creator else None)
    _link_880(b, field, series)
    b.add(b.work, T.W_PART_OF, series)
    if field.tag == "440":
        text = title
        for c, v in field.subfields:
            if c == "v":
                text += " ; " + strip_isbd(v)
        b.add(b.manifestation, T.M_SERIES_STATEMENT, text)


def alternate_script(b: Builder, field, handler) -> None:
    """880: the paired field's values in another script, on the entity the pair names.

    Headings (1XX, 240, 6XX, 7XX, 8XX) register their entity for their 880 as they are mapped;
    descriptive fields (245, 250, 260, 5XX…) are mapped again by their own handler with
    script-tagged literals. Headings' handlers never see an 880 themselves.
    """
    linkage = next((v for c, v in field.subfields if c == "6"), "")
    entity = b.linked.get(linkage[4:6]) if len(linkage) >= 6 else None
    b.lang_tag = b.alternate_tag(linkage)
    try:
        if entity is not None and entity.kind is not Kind.WORK and entity.kind is not Kind.CONCEPT:
            parts = _name_part(field)
            if parts:
                b.add(entity, _AAP.get(entity.kind, T.A_PERSON_AAP), _heading(parts))
        elif entity is not None and entity.kind is Kind.WORK:
            b.add(entity, T.W_VARIANT_TITLE, _title_of(field, "atnp"))
        elif handler is not None:
            handler(b, field)
    finally:
        b.lang_tag = None
