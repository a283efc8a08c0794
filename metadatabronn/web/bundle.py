"""The work format: one work with its expressions, their manifestations, the agents in any role
and the subjects, framed as one JSON-LD document against the context published at
``/context/work.jsonld`` (``static/work.jsonld``), whose readable keys name the RDA elements the
store holds. GET /work/{id}/bundle; /works?isbn= answers with the same document.

The framing is read off the context file itself, so the two cannot disagree: each statement goes
out under the key the context gives its element (type-scoped keys such as ``title`` per class),
and a statement whose element has no key is left out. Nothing is added: the document, read as
JSON-LD with its context, gives back only statements the store holds. A role (author, translator,
illustrator …) is written on the agent, under ``roles``, as a reverse key (``authorOf``: the works
whose author the agent is); the general ``creator`` of a work and ``contributor`` of an expression
are written on the work and the expression. Keys come in one fixed order and every list is sorted,
so the same store gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..mapping import terms as T
from ..mapping.text import isbn13
from ..store.editing import state_tag
from ..store.bundle import AGENT_CLASSES, WorkBundle, deleted_with, generated, read_bundle, works_of
from .entities import _STATES, _parse_time, _send
from .problems import Problem
from .sparql import is_iri

router = APIRouter(tags=["Work bundle"])

CONTEXT_FILE = Path(__file__).parent / "static" / "work.jsonld"
CONTEXT_BYTES = CONTEXT_FILE.read_bytes()
CONTEXT = json.loads(CONTEXT_BYTES)
CONTEXT_PATH = "/context/work.jsonld"
MEDIA = "application/ld+json"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

# The order keys come in, in every node; a nest's keys are ordered by the same list.
ORDER = ("id", "type", "title", "name", "label", "subtitle", "parallelTitle", "variantTitle", "accessPoint",
         "scheme", "notation", "dates", "born", "died", "active", "responsibility", "creator", "contributor", "form",
         "language", "contentType", "audience", "translationOf", "summary", "edition", "publisher", "place",
         "published", "copyright", "extent", "illustrations", "dimensions", "mediaType", "carrierType",
         "seriesStatement", "isbn", "isbnAsGiven", "isbnQualifier", "identifiers", "invalidIdentifiers", "sameAs",
         "contents", "subject", "classification", "lcc", "ddc", "series", "relatedWork", "roles", "authorOf",
         "compilerOf", "composerOf", "photographerOf", "issuingBodyOf", "sponsorOf", "degreeGrantorOf",
         "translatorOf", "editorOf", "narratorOf", "illustratorOf", "textContributorOf", "publisherOf",
         "expressions", "manifestations", "agents")
_RANK = {key: n for n, key in enumerate(ORDER)}
NESTS = {"classification": ("lcc", "ddc"), "dates": ("born", "died", "active")}


@dataclass(frozen=True)
class Term:
    """One key of the context: the element it names, which way, and how its values are written."""

    key: str
    iri: str
    reverse: bool
    coerce: str | None  # "@id", "@vocab", a datatype IRI, or None (plain literals)
    vocab: tuple[tuple[str, str], ...] = ()  # @vocab keys: (IRI or IRI prefix, what is written)


def expand(value: str, context: dict | None = None) -> str:
    """A compact IRI (``rdaw:P10223``) of the context as a whole IRI."""
    context = CONTEXT["@context"] if context is None else context
    prefix, sep, local = value.partition(":")
    base = context.get(prefix)
    if sep and isinstance(base, str) and "://" in base and not local.startswith("//"):
        return base + local
    return value


def _terms(definitions: dict) -> dict[str, Term]:
    terms = {}
    for key, d in definitions.items():
        if key.startswith("@") or key[:1].isupper():
            continue
        if isinstance(d, str):
            if "://" in d or d.startswith("@"):  # a prefix, or a keyword's alias
                continue
            d = {"@id": d}
        iri = expand(d.get("@reverse") or d["@id"])
        coerce = d.get("@type")
        vocab: tuple = ()
        if coerce == "@vocab":
            scoped = d.get("@context", {})
            vocab = tuple((expand(v), k) for k, v in scoped.items() if not k.startswith("@"))
            if "@vocab" in scoped:
                vocab += ((scoped["@vocab"], ""),)  # a prefix: the rest of the IRI is written
        elif coerce and coerce != "@id":
            coerce = expand(coerce)
        terms[key] = Term(key, iri, "@reverse" in d, coerce, vocab)
    return terms


TERMS = _terms(CONTEXT["@context"])
# class IRI -> (its name in the context, the keys its type-scoped context adds or replaces)
CLASSES = {expand(d["@id"] if isinstance(d, dict) else d): (name, _terms(d.get("@context", {}))
                                                          if isinstance(d, dict) else {})
           for name, d in CONTEXT["@context"].items() if name[:1].isupper()}
# A role on an agent: a reverse key such as authorOf (the two structural reverse keys aside).
ROLES = {t.iri: t.key for t in TERMS.values() if t.reverse and t.key not in ("expressions", "manifestations")}
ROLE_KEYS = frozenset(ROLES.values())


def _by_element(terms: dict[str, Term]) -> dict[str, list[Term]]:
    """The forward keys in force, by the element they name (isbnAsGiven is chosen by value)."""
    out: dict[str, list[Term]] = {}
    for t in terms.values():
        if not t.reverse and t.key != "isbnAsGiven":
            out.setdefault(t.iri, []).append(t)
    return out


# class IRI (None: a node of no class the context names) -> (its name, its keys by element)
_ACTIVE = {None: (None, _by_element(TERMS)),
           **{cls: (name, _by_element({**TERMS, **scoped})) for cls, (name, scoped) in CLASSES.items()}}


def _active(types: set[str]) -> tuple[str | None, dict[str, list[Term]]]:
    """The name of a node's class and the keys in force on it (its class's own first)."""
    return _ACTIVE[next((cls for cls in sorted(types) if cls in CLASSES), None)]


def _term_for(active: dict[str, list[Term]], p: str, lit: bool, dt: str | None) -> Term | None:
    found = active.get(p, ())
    if lit:
        return next((t for t in found if t.coerce == dt), None) or next((t for t in found if t.coerce is None), None)
    return next((t for t in found if t.coerce in ("@id", "@vocab")), None) or next(iter(found), None)


def _value(term: Term, o: str, lit: bool, lang: str | None, dt: str | None):
    if lit:
        if lang:
            return {"@value": o, "@language": lang}
        if term.coerce == dt or (term.coerce is None and dt in (None, _XSD_STRING)):
            return o
        return {"@value": o, "@type": dt}
    if term.coerce == "@vocab":
        for iri, written in term.vocab:
            if written and o == iri:
                return written
        for iri, written in term.vocab:
            if not written and o.startswith(iri) and o[len(iri):] and ":" not in o[len(iri):]:
                return o[len(iri):]
        return o
    return o if term.coerce == "@id" else {"@id": o}


def _sort_key(value) -> str:
    if isinstance(value, str):
        return value
    return value["id"] if "id" in value else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _ordered(node: dict[str, list]) -> dict:
    """The node's keys in the fixed order, lists sorted, nests gathered; one-valued keys the
    context gives no list container (title, name, label …) as a single value."""
    out: dict = {}
    for key in sorted(node, key=lambda k: _rank(k)):
        values = node[key]
        if key in ("id", "type"):
            out[key] = values
            continue
        values = sorted(values, key=_sort_key)
        values = [v for n, v in enumerate(values) if n == 0 or _sort_key(v) != _sort_key(values[n - 1])]
        nest = next((n for n, keys in NESTS.items() if key in keys), "roles" if key in ROLE_KEYS else None)
        single = key not in SET_KEYS and len(values) == 1
        target = out.setdefault(nest, {}) if nest else out
        target[key] = values[0] if single else values
    return out


def _rank(key: str) -> int:
    if key not in _RANK:  # a key the context gained but the order lacks: a defect, caught by a test
        raise KeyError(f"the work format has no place for the key {key!r}")
    return _RANK[key]


def _set_keys() -> frozenset[str]:
    """Keys the context makes lists (``@container: @set``), at the top or in a class's context."""
    scopes = [CONTEXT["@context"]] + [d["@context"] for d in CONTEXT["@context"].values()
                                      if isinstance(d, dict) and "@context" in d and "@id" in d]
    return frozenset(k for scope in scopes for k, d in scope.items()
                     if isinstance(d, dict) and d.get("@container") == "@set")


SET_KEYS = _set_keys()


def _frame(bundle: WorkBundle) -> dict:
    """The bundle as one JSON-LD node tree (without its @context)."""
    nodes = bundle.nodes
    roles: dict[str, dict[str, list[str]]] = {}  # agent -> role key -> the entities it has it on
    built: dict[str, dict] = {}

    def node(iri: str, only: tuple[str, ...] | None = None) -> dict:
        types = bundle.types(iri)
        name, active = _active(types)
        out: dict[str, list] = {"id": iri}
        if name:
            out["type"] = name
        rows = nodes.get(iri, [])
        given = {o for p, o, lit, _, _ in rows if p == T.M_IDENTIFIER and lit and o.startswith("urn:isbn:")}
        for p, o, lit, lang, dt in rows:
            if p == T.RDF_TYPE:
                continue
            if not lit and p in ROLES and o in bundle.agents:
                roles.setdefault(o, {}).setdefault(ROLES[p], []).append(iri)
                continue
            if p == T.M_IDENTIFIER and lit and not lang and isbn13(o) and f"urn:isbn:{isbn13(o)}" in given:
                term = TERMS["isbnAsGiven"]  # the printed form of an ISBN the store also holds as ISBN-13
            else:
                term = _term_for(active, p, lit, dt)
            if term is None or (only is not None and term.key not in only):
                continue
            value = _value(term, o, lit, lang, dt)
            if not lit and iri == bundle.work and p in (T.W_SUBJECT, T.W_PART_OF, T.W_RELATED_WORK) \
                    and o in nodes and o != iri and not bundle.types(o) & AGENT_CLASSES:
                value = _ordered(node(o, only=("title", "accessPoint", "label", "scheme", "notation")))
            out.setdefault(term.key, []).append(value)
        return out

    work = node(bundle.work)
    expressions = []
    for e in bundle.expressions:
        expression = node(e)
        manifestations = [_ordered(node(m)) for m in bundle.manifestations.get(e, [])]
        if manifestations:
            expression["manifestations"] = manifestations
        expressions.append(_ordered(expression))
    for agent in bundle.agents:
        built[agent] = node(agent)
    agents = []
    for agent in bundle.agents:
        a = built[agent]
        for key, entities in roles.get(agent, {}).items():
            a[key] = entities
        agents.append(_ordered(a))
    doc = _ordered(work)
    if expressions:
        doc["expressions"] = expressions
    if agents:
        doc["agents"] = agents
    return doc


def document(bundle: WorkBundle, context_url: str) -> dict:
    return {"@context": context_url, **_frame(bundle)}


@lru_cache(maxsize=5_000)
def _render(app_key: int, iri: str, base_url: str) -> tuple[bytes, str, str, str]:
    """(body, media type, ETag, Last-Modified) of a work's bundle; the store is a snapshot, so
    this never goes stale for the life of the process."""
    state = _STATES[app_key]
    bundle = read_bundle(state.store, iri)
    if bundle is None:
        raise Problem(404, f"no work {iri} in the well")
    if bundle.deleted:
        raise Problem(410, f"{iri} was deleted", deleted=bundle.deleted_at)
    if T.C_WORK not in bundle.types(iri):
        raise Problem(404, f"{iri} is not a work")
    body = json.dumps(document(bundle, base_url.rstrip("/") + CONTEXT_PATH), ensure_ascii=False,
                      indent=1).encode("utf-8") + b"\n"
    # The work's state first (what a write's If-Match is compared with), then these bytes.
    etag = f'"{state_tag(state.store.about(iri, raw=True))}.b{hashlib.blake2b(body, digest_size=6).hexdigest()}"'
    stamps = generated(state.store, bundle.graphs)
    change = state.store.latest_change(iri, shared=True)  # an edit of the work in the well
    if change:
        stamps.append(change)
    modified = max((_parse_time(s) for s in stamps), default=state.started)
    return body, MEDIA, etag, format_datetime(modified, usegmt=True)


_RESPONSES = {200: {"content": {MEDIA: {}}}, 304: {"description": "not modified"},
              404: {"description": "no such work"}, 410: {"description": "deleted: a tombstone remains"}}


@router.get("/work/{id}/bundle", summary="A work with its expressions, manifestations (ISBNs), agents and "
            "subjects, as one JSON-LD document in the work format (context: /context/work.jsonld)",
            responses=_RESPONSES, response_class=Response)
async def work_bundle(request: Request, id: str):
    state = request.app.state
    iri = f"{state.base}/work/{id}"
    if not is_iri(iri):
        raise Problem(404, f"no work {iri} in the well")
    return _send(request, _render(state.key, iri, str(request.base_url)))


def isbn_answer(request: Request, isbn: str, manifestations: list[str]) -> Response:
    """The bundle of the work of the live manifestations an ISBN found (the look-up's), for
    /works?isbn=. Several works: the first in IRI order, the others as ``Link: rel=alternate``.
    None, but deleted ones had it: 410."""
    state = request.app.state
    works = works_of(state.store, manifestations)
    if not works:
        norm = isbn13(isbn.replace("-", "").replace(" ", ""))
        gone = deleted_with(state.store, [f"urn:isbn:{norm}", isbn.strip()])
        if gone:
            raise Problem(410, f"every manifestation with ISBN {isbn} was deleted", manifestations=gone)
        raise Problem(404, f"no manifestation with ISBN {isbn} in the well")
    base_url = str(request.base_url)
    response = _send(request, _render(state.key, works[0], base_url))
    response.headers["Content-Location"] = _bundle_path(works[0], state.base)
    if len(works) > 1:
        response.headers["Link"] = ", ".join(f'<{_bundle_path(w, state.base)}>; rel="alternate"' for w in works[1:])
    return response


def _bundle_path(work: str, base: str) -> str:
    return (work[len(base):] if work.startswith(base + "/") else work) + "/bundle"


@router.get(CONTEXT_PATH, summary="The JSON-LD context of the work format", response_class=Response)
async def work_context(request: Request):
    etag = '"' + hashlib.blake2b(CONTEXT_BYTES, digest_size=10).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    match = request.headers.get("if-none-match")
    if match and (etag in {t.strip() for t in match.split(",")} or match.strip() == "*"):
        return Response(status_code=304, headers=headers)
    return Response(CONTEXT_BYTES, media_type=MEDIA, headers=headers)


__all__ = ["router", "CONTEXT", "TERMS", "ORDER", "document", "isbn_answer", "expand"]
