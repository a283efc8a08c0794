"""ISNI AtomPub requests: what the well knows of one person or corporate body, as the XML an ISNI
registration agency sends to ISNI's AtomPub service to have the identity matched or assigned.

The request is a ``Request`` element without a namespace: ``identityInformation`` (the requestor's
own identifier of the identity, other identifiers, then the ``identity`` itself: a
``personOrFiction`` or an ``organisation``, with its name, dates, works and name variants),
followed by external information (URIs). Elements come in the order ISNI's schema gives them; an
element with nothing to say is left out, never written empty.

Pure: the caller gathers the facts (:mod:`metadatabronn.pipeline.isni`); this module only writes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

PERSON = "personOrFiction"
ORGANISATION = "organisation"


@dataclass(frozen=True)
class PersonalName:
    surname: str
    forename: str = ""
    numeration: str = ""
    name_title: str = ""
    marc_date: str = ""  # the dates as the heading gives them ("1832-1910")
    use: str = "public"


@dataclass(frozen=True)
class OrganisationName:
    main: str
    subdivisions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resource:
    """A work the identity created: its title and the role (a MARC relator code: aut, cmp…)."""

    title: str
    role: str = ""
    creation_class: str = ""  # Leader/06-07 of a record of it ("am": a book)
    publisher: str = ""
    date: str = ""
    identifiers: tuple[tuple[str, str], ...] = ()  # (type, value): ("ISBN", "9788203…")


@dataclass
class Identity:
    kind: str  # PERSON or ORGANISATION
    requestor_id: str  # the requestor's own identifier of the identity
    name: PersonalName | OrganisationName
    variants: list[PersonalName | OrganisationName] = field(default_factory=list)
    birth: str = ""  # a person's dates ...
    death: str = ""
    date_type: str = ""  # "circa" or "flourished" when the dates are not exact
    usage_from: str = ""  # ... a body's
    usage_to: str = ""
    other_ids: list[tuple[str, str]] = field(default_factory=list)  # (type, value): ("VIAF", "…")
    uris: list[str] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)  # ISO 639-2 codes


def _add(parent: ET.Element, tag: str, text: str = "") -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text:
        child.text = text
    return child


def _texts(parent: ET.Element, pairs) -> None:
    for tag, text in pairs:
        if text:
            _add(parent, tag, text)


def _personal(parent: ET.Element, tag: str, name: PersonalName) -> None:
    el = _add(parent, tag)
    _texts(el, (("nameUse", name.use), ("surname", name.surname), ("forename", name.forename),
                ("numeration", name.numeration), ("nameTitle", name.name_title), ("marcDate", name.marc_date)))


def _organisation(parent: ET.Element, tag: str, name: OrganisationName) -> None:
    el = _add(parent, tag)
    _add(el, "mainName", name.main)
    for sub in name.subdivisions:
        _add(el, "subdivisionName", sub)


def _resource(parent: ET.Element, r: Resource) -> None:
    el = _add(parent, "resource")
    _texts(el, (("creationClass", r.creation_class), ("creationRole", r.role)))
    work = _add(el, "titleOfWork")
    _add(work, "title", r.title)
    if r.publisher or r.date:
        imprint = _add(work, "imprint")
        _texts(imprint, (("publisher", r.publisher), ("date", r.date)))
    for kind, value in r.identifiers:
        ident = _add(work, "identifier")
        _add(ident, "identifierValue", value)
        _add(ident, "identifierType", kind)


def element(identity: Identity) -> ET.Element:
    """The request as an element tree."""
    if identity.kind not in (PERSON, ORGANISATION):
        raise ValueError(f"an ISNI request is for a {PERSON} or an {ORGANISATION}, not {identity.kind!r}")
    root = ET.Element("Request")
    info = _add(root, "identityInformation")
    _add(_add(info, "requestorIdentifierOfIdentity"), "identifier", identity.requestor_id)
    for kind, value in identity.other_ids:
        other = _add(info, "otherIdentifierOfIdentity")
        _add(other, "identifier", value)
        _add(other, "type", kind)
    who = _add(_add(info, "identity"), identity.kind)
    if identity.kind == PERSON:
        assert isinstance(identity.name, PersonalName)
        _personal(who, "personalName", identity.name)
        _texts(who, (("birthDate", identity.birth), ("deathDate", identity.death), ("dateType", identity.date_type)))
        for r in identity.resources:
            _resource(who, r)
        for v in identity.variants:
            if isinstance(v, PersonalName):
                _personal(who, "personalNameVariant", v)
    else:
        assert isinstance(identity.name, OrganisationName)
        _organisation(who, "organisationName", identity.name)
        _texts(who, (("usageDateFrom", identity.usage_from), ("usageDateTo", identity.usage_to)))
        for r in identity.resources:
            _resource(who, r)
        for v in identity.variants:
            if isinstance(v, OrganisationName):
                _organisation(who, "organisationNameVariant", v)
    for code in identity.languages:
        _add(info, "languageOfIdentity", code)
    for uri in identity.uris:
        _add(_add(info, "externalInformation"), "URI", uri)
    return root


def write(identity: Identity) -> bytes:
    """The request as UTF-8 XML, indented: the same identity always gives the same bytes."""
    root = element(identity)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def person_name(name: str, dates: str = "") -> PersonalName:
    """A personal name as a heading gives it (``Surname, Forename``, inverted; else the name in
    direct order, all of it taken as the surname, as ISNI asks for names it cannot split)."""
    text = name.strip().rstrip(",").strip()
    surname, sep, forename = text.partition(",")
    if not sep:
        return PersonalName(surname=text, marc_date=dates)
    return PersonalName(surname=surname.strip(), forename=forename.strip().rstrip(",").strip(), marc_date=dates)


def organisation_name(name: str) -> OrganisationName:
    """A corporate body's name as a heading gives it: its parts ($a, then each $b) are joined by
    ". ", so the first part is the main name and each other part a subdivision."""
    parts = [p.strip().rstrip(".").strip() for p in name.strip().split(". ")]
    parts = [p for p in parts if p]
    if not parts:
        return OrganisationName(main=name.strip())
    return OrganisationName(main=parts[0], subdivisions=tuple(parts[1:]))
