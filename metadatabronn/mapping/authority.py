"""One MARC 21 authority record (Leader/06 = z) → one :class:`AuthorityDescription`. Pure.

The record's 1XX names its main entity: a person, family or corporate body (100/110/111), a
work (100/110/111 with $t, 130) or a SKOS concept (150/151/155). Its other fields add to that
entity by the rules of :mod:`.authority_rules`; every field is carried whole in the record's
layout (``mb:carriedMarc``, version 3, nothing marked as held), so authority MARC out gives
back exactly what came in.
"""

from __future__ import annotations

import json

from ..errors import MappingError
from . import headings as H
from . import terms as T
from .authority_terms import ELEMENTS, N_NOTE, SKOS_ALTLABEL, SKOS_BROADER, SKOS_NARROWER, SKOS_RELATED, kind_element
from .builder import Builder
from .concepts import SCHEMES, concept_label, scheme_iri
from .convert import access_point
from .model import IRI, AuthorityDescription, Entity, Kind, Nomen
from .text import LAYOUT_VERSION, strip_heading

HEADING_TAGS = ("100", "110", "111", "130", "150", "151", "155")
# 008/11 (subject heading system) → the scheme codes the bibliographic 6XX second indicator gives
# (``mapping.concepts.SCHEMES``), so an authority's concept keys are the headings' keys.
SCHEME_008 = {"a": "0", "b": "1", "c": "2", "d": "3", "k": "5", "v": "6"}


def authority_identifier(record) -> tuple[str | None, str]:
    """``((ORG)CTRL, CTRL)`` of an authority record: 001 with 003 (else 040 $a, else ``local``);
    without 001 the first 035 $a, else 010 $a as ``(DLC)…``; ``(None, "")`` without any."""
    f001 = record.get("001")
    if f001 is not None and (f001.data or "").strip():
        control = f001.data.strip()
        f003 = record.get("003")
        org = (f003.data or "").strip() if f003 is not None else ""
        if not org:
            org = next((v.strip() for f in record.get_fields("040") for v in f.get_subfields("a") if v.strip()), "")
        return f"({org or 'local'}){control}", control
    for f035 in record.get_fields("035"):
        for value in f035.get_subfields("a"):
            value = "".join(value.split())
            if value.startswith("(") and ")" in value[1:]:
                return value, value.split(")", 1)[1]
    for f010 in record.get_fields("010"):
        for value in f010.get_subfields("a"):
            number = "".join(value.split())
            if number:
                return f"(DLC){number}", number
    return None, ""


class State:
    """One authority record's conversion: its main entity, and what the rules add to it."""

    __slots__ = ("b", "main", "kind", "nomens", "identifiers", "same_as", "replaced_by", "quality",
                 "scheme", "source", "org", "position", "status")

    def __init__(self, identifier: str, org: str, source: str, scheme: str, status: str):
        # A bibliographic builder makes related entities exactly as a bibliographic heading would.
        self.b = Builder(identifier, "", True)
        self.main: Entity | None = None
        self.kind: Kind = Kind.PERSON
        self.nomens: list[Nomen] = []
        self.identifiers: list[str] = []
        self.same_as: list[str] = []
        self.replaced_by: list[str] = []
        self.quality = ""
        self.scheme = scheme
        self.source = source
        self.org = org
        self.position = 0
        self.status = status

    def add(self, element: str, value) -> None:
        """A value of one of the kind-dependent elements (``authority_terms.ELEMENTS``)."""
        predicate = kind_element(element, self.kind)
        if predicate is not None and self.main is not None:
            self.main.add(predicate, value)

    def nomen(self, tag: str, string: str, preferred: bool, kind: Kind, scheme: str = "", source: str = "",
              work: tuple[str, str] = ()) -> None:
        if string:
            self.nomens.append(Nomen(self.position, tag, string, preferred, kind, scheme, source, work))

    def identifier(self, value: str) -> None:
        if value and value not in self.identifiers:
            self.identifiers.append(value)

    def authority_id(self, value: str) -> str | None:
        """A $0 naming another authority record: ``(ORG)CTRL`` (this record's ORG when it has
        none); None for a URI or an empty one."""
        value = "".join(value.split())
        if not value or value.startswith("http"):
            return None
        if value.startswith("(") and ")" in value:
            return value
        return f"({self.org}){value}"


_SUBDIVISIONS = frozenset("vxyz")


def kind_of(field) -> Kind:
    tag = field.tag
    if tag in ("150", "151", "155", "450", "451", "455", "550", "551", "555"):
        return Kind.CONCEPT
    if any(c in _SUBDIVISIONS for c, _ in field.subfields):
        # A name or title with subject subdivisions ("Lenin … $x Travel $z Europe") is a subject
        # heading, as a bibliographic 600/610/611/630 with them is (mapping.headings.subject).
        return Kind.CONCEPT
    if tag[1:] == "30" or any(c == "t" for c, _ in field.subfields):
        return Kind.WORK
    if tag[1:] == "00":
        return Kind.FAMILY if field.indicator1 == "3" else Kind.PERSON
    return Kind.CORPORATE


def work_parts(field) -> tuple[str, str, str]:
    """(creator for the key, name heading as given, title) of a name/title or title heading,
    as a bibliographic record's 1XX and 240/130 give them to its work key."""
    if field.tag[1:] == "30":
        skip = field.indicator2  # an authority 130/430/530 files by its second indicator
        skip = int(skip) if skip.isdigit() else 0
        return "", "", H._title_of(field, "anp", skip)
    parts = H._name_part(field)
    return H._creator_key(field, parts), H._heading(parts), H._title_of(field, "tnp")


def heading_form(field, kind: Kind, scheme: str = "") -> tuple[str, tuple[str, str]]:
    """The access point a heading field gives (as a bibliographic heading would), and for a work
    its (creator, title) for the work key."""
    if kind is Kind.CONCEPT:
        return label_of(field), ()
    if kind is Kind.WORK:
        creator, name, title = work_parts(field)
        return access_point(name, title), (creator, title)
    return H._heading(H._name_part(field)), ()


def label_of(field) -> str:
    """A topical, geographic or genre heading's label, as a 6XX heading's: the tracing's control
    subfields ($w, $i, $4; digits) are not part of it."""
    return concept_label([(c, v) for c, v in field.subfields if c not in _CONTROL])


_CONTROL = frozenset("wi4")


def main_heading(st: State, field) -> None:
    """1XX: the main entity, its preferred name or title, its access point, its core."""
    kind = st.kind = kind_of(field)
    identifier = st.b.manifestation.basis[0]
    form, work = heading_form(field, kind)
    if kind is Kind.WORK:
        creator, _, title = work_parts(field)
        st.main = Entity(Kind.WORK, ("work", creator, title))
        st.main.add(T.W_PREFERRED_TITLE, title)
        st.main.add(T.W_AAP, form)
    elif kind is Kind.CONCEPT:
        st.main = Entity(Kind.CONCEPT, ("id", identifier))
        st.main.add(T.SKOS_PREFLABEL, form)
        if st.scheme:
            st.main.add(T.SKOS_INSCHEME, IRI(scheme_iri(st.scheme)))
    else:
        st.main = Entity(kind, ("id", identifier))
        name = strip_heading(" ".join(v for c, v in H._name_part(field) if c in "ab"))
        st.add("name", name)
        st.add("aap", form)
    st.nomen(field.tag, form, True, kind, st.scheme, st.source, work)


def variant_heading(st: State, field) -> None:
    """4XX: a variant access point of the main entity, as a nomen of its own and as a literal."""
    kind = kind_of(field)
    form, work = heading_form(field, kind)
    if not form:
        return
    if st.kind is Kind.CONCEPT:
        st.main.add(SKOS_ALTLABEL, form)
    else:
        st.add("variant", form)
    scheme = next((v.strip() for c, v in field.subfields if c == "2"), "")
    source = next((v.strip() for c, v in field.subfields if c == "5"), "") or scheme
    st.nomen(field.tag, form, False, kind, scheme, source, work)
    w = next((v for c, v in field.subfields if c == "w"), "")
    if w[:1] in _VARIANT_W:
        st.nomens[-1].notes.append((N_NOTE, _VARIANT_W[w[:1]]))


# 4XX $w/0, the relationship of a variant to the heading (MARC 21 authority, tracings).
_VARIANT_W = {"a": "earlier form of heading", "b": "later form of heading", "d": "acronym",
              "e": "earlier established form of heading", "f": "musical composition"}


def related_heading(st: State, field) -> None:
    """5XX: a related agent, work or concept; $w, $4 (an RDA element's IRI) pick the relation."""
    kind = kind_of(field)
    target = _related_entity(st, field, kind)
    if target is None:
        return
    w = next((v for c, v in field.subfields if c == "w"), "")
    if st.status in "xs" and w[:1] == "b":  # the later heading of a replaced or split record
        for c, v in field.subfields:
            if c == "0" and (found := st.authority_id(v)):
                st.replaced_by.append(found)
    st.main.add(relation(st.kind, kind, w, [v for c, v in field.subfields if c == "4"]), target)


def relation(main: Kind, related: Kind, w: str, codes: list[str]) -> str:
    """The element relating the main entity to a 5XX's entity."""
    for code in codes:
        code = code.strip()
        if code.startswith(("http://rdaregistry.info/Elements/a/", "http://rdaregistry.info/Elements/w/")):
            return code
    if main is Kind.CONCEPT or related is Kind.CONCEPT:
        return {"g": SKOS_BROADER, "h": SKOS_NARROWER}.get(w[:1], SKOS_RELATED)
    if main is Kind.CORPORATE and related is Kind.CORPORATE and w[:1] in "ab" and w:
        return ELEMENTS["predecessor" if w[:1] == "a" else "successor"][Kind.CORPORATE]
    return ELEMENTS["related"][(main, related)]


def _related_entity(st: State, field, kind: Kind) -> Entity | None:
    b = st.b
    if kind is Kind.CONCEPT:
        label = label_of(field)
        if not label:
            return None
        uri = ident = None
        for c, v in field.subfields:
            if c in "01" and v.strip():
                if v.strip().startswith("http"):
                    uri = uri or v.strip()
                elif c == "0" and ident is None:
                    ident = st.authority_id(v)
        basis = ("uri", uri) if uri else ("id", ident) if ident else ("label", st.scheme, label)
        entity = b.entity(Kind.CONCEPT, basis)
        if not entity.statements:
            entity.add(T.SKOS_PREFLABEL, label)
            if st.scheme or not uri:
                entity.add(T.SKOS_INSCHEME, IRI(scheme_iri(st.scheme)))
        return entity
    if kind is Kind.WORK:
        creator, _, title = work_parts(field)
        if not title:
            return None
        return H.related_work(b, creator, title, field if creator else None)
    return H.agent(b, field)


def convert_authority(record, number: int | None = None) -> AuthorityDescription:
    """Map one MARC 21 authority record (a pymarc Record) to its main entity and statements.

    Raises :class:`MappingError` for a record that cannot be used: one without an identifier
    (001, 035 $a or 010) or without a 1XX heading."""
    from .authority_rules import BY_TAG

    identifier, control = authority_identifier(record)
    if identifier is None:
        raise MappingError("authority record without an identifier (no 001, and no 035 $a or 010 to take one "
                           "from)", number=number, tag="001")
    heading = next((f for f in record.fields if f.tag in HEADING_TAGS), None)
    if heading is None:
        raise MappingError("authority record without a heading (no 100, 110, 111, 130, 150, 151 or 155)",
                           number=number, tag="1XX", control_number=identifier)
    leader = str(record.leader)
    f040 = record.get("040")
    source = (f040.get("a") or "").strip() if f040 is not None else ""
    scheme = ""
    if heading.tag[0] == "1" and heading.tag[1:] in ("50", "51", "55"):
        scheme = ((f040.get("f") or "").strip() if f040 is not None else "")
        if not scheme:
            f008 = record.get("008")
            code = f008.data[11:12] if f008 is not None and f008.data else ""
            scheme = SCHEMES.get(SCHEME_008.get(code, ""), "")
    status = leader[5:6] or "n"
    st = State(identifier, identifier[1:].split(")", 1)[0], source, scheme, status)
    st.position = next(i for i, f in enumerate(record.fields, 1) if f is heading)
    main_heading(st, heading)
    if status != "d":  # a deleted record leaves a tombstone: its identity is all that is needed
        for position, field in enumerate(record.fields, 1):
            if field is heading:
                continue
            rule = BY_TAG.get(field.tag)
            if rule is not None:
                st.position = position
                try:
                    rule.handler(st, field)
                except (IndexError, ValueError, AttributeError, KeyError) as exc:
                    raise MappingError(f"cannot map: {exc}", number=number, tag=field.tag,
                                       control_number=identifier) from exc
    main = st.main
    related = [e for e in st.b.entities[1:] if e is not main]
    return AuthorityDescription(
        identifier, control, main, [main, *related], st.nomens, st.identifiers, st.same_as, status,
        list(dict.fromkeys(st.replaced_by)), st.quality, scheme, layout(record), deleted=status == "d")


def layout(record) -> str:
    """Every field in order with its indicators and subfields, nothing marked as held: authority
    MARC out writes the record back from this as it came."""
    fields: list = []
    for field in record.fields:
        if field.is_control_field():
            fields.append([field.tag, field.data])
        else:
            fields.append([field.tag, field.indicators[0] + field.indicators[1],
                           [[c, v] for c, v in field.subfields]])
    return _JSON({"h": LAYOUT_VERSION, "leader": str(record.leader), "fields": fields})


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
