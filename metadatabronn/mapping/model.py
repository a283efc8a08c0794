"""The record model the mapping produces: entities with statements, no RDF library involved.

A :class:`Description` is everything one source record says. Entities are identified by a
*basis*: the raw ingredients of their identity (control number, creator and title, heading or
authority identifier). The identity stage turns a basis into a normalised key and an IRI, so the
mapping stays a pure function of the record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.Enum):
    WORK = "work"
    EXPRESSION = "expression"
    MANIFESTATION = "manifestation"
    ITEM = "item"
    PERSON = "person"
    CORPORATE = "corporate"
    FAMILY = "family"
    CONCEPT = "concept"

    # Members are singletons: identity hashing is correct and cheaper than Enum's by-name hash.
    __hash__ = object.__hash__


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal value; ``lang`` is a BCP 47 tag, ``datatype`` an IRI (never both)."""

    text: str
    lang: str | None = None
    datatype: str | None = None


@dataclass(frozen=True, slots=True)
class IRI:
    """A reference to a resource outside the record (vocabulary term, external authority)."""

    value: str


@dataclass(slots=True, eq=False)
class Entity:
    """One entity the record describes or refers to.

    ``basis`` carries the identity ingredients (see the identity stage). Two entities of the
    same kind and basis within one record are the same entity; :meth:`Description.entity`
    returns the existing one.
    """

    kind: Kind
    basis: tuple[str, ...]
    statements: list[tuple[str, "Lit | IRI | Entity"]] = field(default_factory=list)

    def add(self, predicate: str, value: "Lit | IRI | Entity | str | None", lang: str | None = None) -> None:
        # (Strings first: asking a Lit or an IRI whether it equals "" runs its dataclass __eq__.)
        if isinstance(value, str):
            if not value:
                return
            value = Lit(value, lang)
        elif value is None:
            return
        self.statements.append((predicate, value))

    def values(self, predicate: str) -> list:
        return [v for p, v in self.statements if p == predicate]

    def first(self, predicate: str):
        for p, v in self.statements:
            if p == predicate:
                return v
        return None


@dataclass(slots=True)
class Description:
    """What one bibliographic record says, as RDA entities.

    ``work``, ``expression`` and ``manifestation`` are the primary chain; ``entities`` holds
    every entity including those three, in creation order. ``carried`` is the JSON text of the
    MARC the model does not hold, ``carried_tags`` the tags of whole fields carried (for the
    ingest summary), ``inferred`` the elements whose values were inferred from coded data.
    ``layout`` is the carried fields before they became that text (read by the search index's
    worker step, which would otherwise parse the text back).
    """

    control_number: str
    manifestation: Entity
    expression: Entity
    work: Entity
    entities: list[Entity]
    carried: str = ""
    carried_tags: list[str] = field(default_factory=list)
    inferred: list[str] = field(default_factory=list)
    deleted: bool = False
    layout: list = field(default_factory=list, repr=False, compare=False)


@dataclass(slots=True)
class Nomen:
    """One access point of an authority record as an RDA nomen (rdac:C10012): the form, which
    field gave it (``position``, 1-based among the record's fields), and who gave it."""

    position: int
    tag: str
    string: str
    preferred: bool
    kind: Kind  # the kind of entity the form names (a 410 on a person's record names a body)
    scheme: str = ""  # 040 $f, or the 4XX's $2
    source: str = ""  # 040 $a, or the 4XX's $5 (else $2)
    work: tuple[str, str] = ()  # a work's form: (creator, title) as its work key takes them
    notes: list = field(default_factory=list)  # (element, text): sources and notes on the form


@dataclass(slots=True)
class AuthorityDescription:
    """What one MARC 21 authority record says: its main entity (agent, work or concept), the
    entities its 5XX relate it to, its access points as nomens, and its identifiers.

    ``entity`` is ``entities[0]``; the other entities are related ones, whose cores are written
    only when they are new to the store. ``identifiers`` are ``(scheme)value`` forms (024 by $2,
    035 $a, 010), ``same_as`` the URIs they give. ``replaced_by`` lists the authority identifiers
    (``(ORG)CTRL``) a replaced or split record (Leader/05 x, s) names in 682 $0 or 5XX $w/$0.
    """

    identifier: str  # "(ORG)CTRL"
    control: str  # CTRL: 001 stripped (or the number part of the identifier taken instead)
    entity: Entity
    entities: list[Entity]
    nomens: list[Nomen] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    same_as: list[str] = field(default_factory=list)
    status: str = "n"  # Leader/05
    replaced_by: list[str] = field(default_factory=list)
    quality: str = ""  # 901 $a: kat1, kat2, kat3
    scheme: str = ""  # a concept's scheme code (040 $f, else 008/11), for its keys
    carried: str = ""
    deleted: bool = False
