"""Work clustering and IRI minting.

A key is a normalised, explainable string built from an entity's basis (see
``mapping.model``). IRIs are minted from keys deterministically, so conversion in any process
proposes the same IRI; a :class:`Registry` built from the store has the last word, so an IRI
once minted is kept even if a later rule or a cataloguer's merge would mint another.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from .mapping import terms as T
from .mapping.model import AuthorityDescription, Description, Entity, Kind, Lit
from .mapping.text import manifestation_id, normalise

SEGMENT = {
    Kind.WORK: "work", Kind.EXPRESSION: "expression", Kind.MANIFESTATION: "manifestation",
    Kind.ITEM: "item", Kind.PERSON: "agent", Kind.CORPORATE: "agent", Kind.FAMILY: "agent",
    Kind.CONCEPT: "concept",
}

_DATES = re.compile(r"\(?\b(?:b|d|fl|ca)\.?\s*\d{3,4}\??\)?|\(?\b\d{3,4}\??\s*-\s*(\d{3,4}\??)?\)?|\(?-\s*\d{3,4}\??\)?|\(\d{3,4}\)")


_DIGIT = re.compile(r"\d")


def creator_key(name: str) -> str:
    """A creator's name for the work key: dates dropped, as records give them or not.

    >>> creator_key("Austen, Jane (1775-1817)")
    'austen jane'
    """
    if _DIGIT.search(name) is None:  # every form of a date has digits
        return normalise(name)
    return normalise(_DATES.sub(" ", name))


# Folded names and titles, by the text folded: a record's work and expression keys fold the same
# creator and title, and names recur from record to record. Bounded.
_folded = lru_cache(maxsize=50_000)(normalise)
_creator = lru_cache(maxsize=50_000)(creator_key)


def work_key(creator: str, title: str) -> str:
    """The work key of a creator and a title: what a work's basis gives, and what a translation
    takes from the original its record names (``mapping.translation.read``).

    >>> work_key("Runeberg, Johan Ludvig,", "Fänrik Ståls sägner")
    'work|runeberg johan ludvig|fanrik stals sagner'
    """
    return f"work|{_creator(creator)}|{_folded(title)}"


def key(entity: Entity) -> str:
    """The normalised identity key of an entity, from its basis."""
    basis = entity.basis
    kind = entity.kind
    if kind is Kind.WORK:
        return f"work|{_creator(basis[1])}|{_folded(basis[2])}"
    if kind is Kind.EXPRESSION:
        return f"expression|{_creator(basis[1])}|{_folded(basis[2])}|{basis[3]}|{basis[4]}"
    if kind is Kind.MANIFESTATION:
        return f"manifestation|{basis[0]}"
    if kind is Kind.CONCEPT:
        if basis[0] == "uri":
            return f"uri|{basis[1]}"
        if basis[0] == "local":  # a heading's $9: the local number of its authority record
            return f"concept|local|{basis[1].strip()}"
        if basis[0] == "id":  # an authority record's own identifier, "(ORG)CTRL"
            return f"concept|id|{basis[1].replace(' ', '')}"
        return f"concept|{basis[0]}|{basis[1]}|{_folded(basis[2])}"
    if kind is Kind.ITEM:
        return f"item|{basis[0]}|{basis[1]}"
    # agents: an identifier wins over the heading
    if basis[0] == "uri":
        return f"agent|uri|{basis[1]}"
    if basis[0] == "id":
        return f"agent|id|{basis[1].replace(' ', '')}"
    if basis[0] == "local":
        return f"agent|local|{basis[1].strip()}"
    return f"agent|{basis[1]}|{_folded(basis[2])}"


def adopt(description: Description, basis: tuple[str, ...], title: str, access_point: str) -> None:
    """Put a record's work under another work's identity: its basis (so its key and IRI), its
    preferred title and access point, as the record that named that work gave them.

    For a record whose own title is, by another record's word, a translation's name of an
    original (``pipeline.aliases``). The record's expressions of its work (its own, and the
    original-language one its 041 $h makes) follow the work, keeping their languages and content
    types. The core statements are replaced, not added to: whichever record mints the work first,
    its core says what the record naming the original says. Nothing of the record's own fields
    changes (its 245 stays the manifestation's title proper).
    """
    work = description.work
    old = work.basis
    work.basis = basis
    for entity in description.entities:
        if entity.kind is Kind.EXPRESSION and entity.basis[1:3] == old[1:3]:
            entity.basis = (entity.basis[0], basis[1], basis[2], *entity.basis[3:])
    statements = work.statements
    titles = [i for i, (p, _) in enumerate(statements) if p == T.W_PREFERRED_TITLE]
    points = [i for i, (p, _) in enumerate(statements) if p == T.W_AAP]
    # The converter puts the key's preferred title first and appends the access point it makes
    # from it after every other (an 880's access point comes before).
    if titles:
        statements[titles[0]] = (T.W_PREFERRED_TITLE, Lit(title))
    else:
        statements.insert(0, (T.W_PREFERRED_TITLE, Lit(title)))
        points = [i + 1 for i in points]
    if points:
        statements[points[-1]] = (T.W_AAP, Lit(access_point))
    else:
        statements.append((T.W_AAP, Lit(access_point)))


def _digest(text: str) -> str:
    # 80 bits: a collision among even a billion keys is about a one-in-a-million chance.
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


def mint(base: str, entity: Entity, entity_key: str | None = None) -> str:
    """The IRI a fresh entity gets: ``{base}/{segment}/{id}``."""
    kind = entity.kind
    if kind is Kind.MANIFESTATION:
        return f"{base}/manifestation/{manifestation_id(entity.basis[0])}"
    if kind is Kind.CONCEPT and entity.basis[:1] == ("uri",):  # (an entity made from a key alone has no basis)
        return entity.basis[1]
    return f"{base}/{SEGMENT[kind]}/{_digest(entity_key or key(entity))}"


def record_graph(base: str, control_number: str) -> str:
    return f"{base}/record/{manifestation_id(control_number)}"


def assign(base: str, description: Description, registry: dict[str, str] | None = None) -> tuple[dict[int, str], dict[int, str]]:
    """IRIs and keys for every entity of a description, as ``{id(entity): value}``.

    With a ``registry`` (key → IRI, from the store), known keys keep the IRI they were given.
    """
    iris: dict[int, str] = {}
    keys: dict[int, str] = {}
    for entity in description.entities:
        k = key(entity)
        known = registry.get(k) if registry else None
        iris[id(entity)] = known or mint(base, entity, k)
        keys[id(entity)] = k
    return iris, keys


def authority_keys(description: AuthorityDescription) -> tuple[list[str], list[str]]:
    """The identity keys a bibliographic heading could have that mean an authority's entity
    (its link keys), and those made from its variant access points (variant keys).

    A heading is keyed by its $1/$0 (an identifier or a URI), else Koha's $9, else its access
    point (``mapping.headings.agent``, ``mapping.concepts.concept``): the authority offers every
    one of those forms of itself, so the heading's key finds it whichever it carries.
    """
    main = description.entity
    kind = main.kind
    own = key(main)
    if kind is Kind.WORK:
        # A 630 subject heading names its work as a concept (mapping.headings.subject): its $9
        # finds the work all the same.
        links = [own, f"concept|local|{description.control.strip()}"]
        variants = [work_key(*n.work) for n in description.nomens if not n.preferred and n.work]
        return links, [v for v in dict.fromkeys(variants) if v not in links]
    concept = kind is Kind.CONCEPT
    prefix = "concept" if concept else "agent"
    links = [own, f"{prefix}|local|{description.control.strip()}"]
    for ident in description.identifiers:
        links.append(f"{prefix}|id|{ident.replace(' ', '')}")
    for uri in description.same_as:
        for form in _uri_forms(uri):
            links.append(f"uri|{form}" if concept else f"agent|uri|{form}")
    variants = []
    for n in description.nomens:
        k = _nomen_key(n, description.scheme)
        if k is None:
            continue
        (links if n.preferred else variants).append(k)
    links = list(dict.fromkeys(links))
    return links, [v for v in dict.fromkeys(variants) if v not in links]


def _nomen_key(nomen, scheme: str) -> str | None:
    """The key a heading without identifiers gets when it gives this access point."""
    if nomen.kind is Kind.CONCEPT:
        return f"concept|label|{scheme}|{_folded(nomen.string)}"
    if nomen.kind in (Kind.PERSON, Kind.CORPORATE, Kind.FAMILY):
        return key(Entity(nomen.kind, ("aap", nomen.kind.value, nomen.string)))
    return None


def _uri_forms(uri: str) -> list[str]:
    """A URI as given, and in its other scheme (http/https): registries publish both."""
    if uri.startswith("https://"):
        return [uri, "http://" + uri[8:]]
    if uri.startswith("http://"):
        return [uri, "https://" + uri[7:]]
    return [uri]


@dataclass(frozen=True)
class Explanation:
    same_work: bool
    reasons: list[str]

    def __str__(self) -> str:
        verdict = "same work" if self.same_work else "different works"
        return verdict + ": " + "; ".join(self.reasons)


def explain(a: Description, b: Description) -> Explanation:
    """Why two records did or did not cluster under one work, in words a cataloguer can check."""
    ka, kb = key(a.work), key(b.work)
    ca, cb = creator_key(a.work.basis[1]), creator_key(b.work.basis[1])
    ta, tb = normalise(a.work.basis[2]), normalise(b.work.basis[2])
    reasons = []
    reasons.append(f"creator {'matches' if ca == cb else 'differs'}: {ca!r} vs {cb!r}")
    reasons.append(f"preferred title {'matches' if ta == tb else 'differs'}: {ta!r} vs {tb!r}")
    if ka == kb:
        ea, eb = key(a.expression), key(b.expression)
        reasons.append("same expression (language and content type match)" if ea == eb
                       else f"different expressions: {a.expression.basis[3:]} vs {b.expression.basis[3:]}")
    return Explanation(ka == kb, reasons)
