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
