"""Entities that dereference: GET /{work|expression|manifestation|item|agent|concept}/{id} in
JSON-LD, Turtle, N-Triples, RDF/XML, HTML (and MARC for manifestations), with ETag,
Last-Modified and 304; 404 for an unknown entity, 410 for a deleted one, 308 for a merged one.
Record graphs are in :mod:`.recordgraphs`, the look-ups in :mod:`.lookups`."""

from __future__ import annotations

import hashlib
import itertools
from email.utils import format_datetime, parsedate_to_datetime
from datetime import datetime
from functools import lru_cache

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..mapping import terms as T
from ..errors import ExportError, MetadatabronnError
from ..store import Store, serialise_triples, statement_order
from ..store.editing import effective, is_writer_graph, state_tag
from ..store.feed import DCT_IS_REPLACED_BY
from .catalogue.labels import choose as page_language
from .catalogue.pages import render as catalogue_page
from . import jsonld
from .context import CONTEXT
from .negotiate import ENTITY_TYPES, choose
from .problems import Problem
from .records import iso2709, marc_record, marcxml
from .sparql import is_iri
from .statistics_chart_http import fill as loans_section

router = APIRouter(tags=["Entities"])
KINDS = ("work", "expression", "manifestation", "item", "agent", "concept")
TOMBSTONE = "https://www.w3.org/ns/activitystreams#Tombstone"
DELETED = "https://www.w3.org/ns/activitystreams#deleted"
PREFIXES = {"rdac": T.RDAC, "rdaw": T.RDAW, "rdae": T.RDAE, "rdam": T.RDAM, "rdai": T.RDAI, "rdaa": T.RDAA,
            "skos": T.SKOS, "mb": T.MB, "owl": "http://www.w3.org/2002/07/owl#",
            "rdan": "http://rdaregistry.info/Elements/n/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
_LABELS = (T.M_TITLE_PROPER, T.W_PREFERRED_TITLE, T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP,
           T.SKOS_PREFLABEL, T.I_LOCATION)


class Entity:
    """What the store holds about one IRI, and when it last changed. ``tag`` is a digest of every
    statement about it in every graph (``store.editing.state_tag``): the state writes are
    checked against (``If-Match``). ``rows``/``stamps``: the statements and graph times as
    the writer reads them, when this process's snapshot is older than the entity."""

    def __init__(self, store: Store, iri: str, fallback_modified: datetime, rows=None, stamps=None):
        self.iri = iri
        read = rows is None
        if read:
            rows = store.about(iri, raw=True)
        graphs = {g for g, *_ in rows if g}
        if stamps is None:
            stamps = {g: store.generated(g) for g in graphs}
            # On a SPARQL server each read sees the server as it is then, not one snapshot: a
            # write between the rows and the graphs' times would pair one state's statements
            # with another's times, and the body would show an older writer's value under the
            # new state's ETag. Read again until the rows hold still (a few tries: then as read).
            for _ in range(3 if read and getattr(store, "batched_reads", False) else 0):
                again = store.about(iri, raw=True)
                if state_tag(again) == state_tag(rows):
                    break
                rows = again
                graphs = {g for g, *_ in rows if g}
                stamps = {g: store.generated(g) for g in graphs}
        self.tag = state_tag(rows)
        if any(is_writer_graph(store.base, g) for g in graphs):
            rows = effective(rows, stamps, store.base)
        seen = set()
        self.triples = []
        for graph, p, o, lit, lang, dt in rows:
            key = (p, o, lit, lang, dt)
            if key not in seen:
                seen.add(key)
                self.triples.append((iri, p, o, lit, lang, dt))
        # One order whatever store the rows came from (a server gives them in its own order):
        # every representation of the same statements is the same, byte for byte.
        self.triples.sort(key=statement_order)
        types = {o for _, p, o, lit, _, _ in self.triples if p == T.RDF_TYPE and not lit}
        self.exists = bool(self.triples)
        self.deleted = TOMBSTONE in types
        self.deleted_at = next((o for _, p, o, _, _, _ in self.triples if p == DELETED), None)
        self.replaced_by = next((o for _, p, o, _, _, _ in self.triples if p == DCT_IS_REPLACED_BY), None)
        self.types = types
        found = [s for s in (stamps.get(g) for g in graphs) if s]
        self.modified = max((_parse_time(s) for s in found), default=fallback_modified)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(microsecond=0)


def _store(request: Request) -> Store:
    return request.app.state.store


@lru_cache(maxsize=20_000)
def _render(app_key: int, iri: str, fmt: str, base_url: str, lang: str = "en"
            ) -> tuple[str | None, tuple[bytes, str, str, str] | None]:
    """``(successor, None)`` of an entity merged into another of this well, else ``(None,
    (body, media type, ETag, Last-Modified))``; the store is a snapshot, so this never goes
    stale for the life of the process. ``lang``: the language of an HTML page. (The successor
    comes from the same read as the body: asked of the store apart, it cost a look-up a GET.)"""
    state = _STATES[app_key]
    entity = Entity(state.store, iri, state.started)
    if _successor(state, entity) is not None:
        return entity.replaced_by, None
    return None, _rendered(state, entity, fmt, base_url, lang)


def _successor(state, entity: Entity) -> str | None:
    """The entity of this well that ``entity`` was merged into, if any."""
    successor = entity.replaced_by
    return successor if successor is not None and successor.startswith(state.base + "/") else None


def _rendered(state, entity: Entity, fmt: str, base_url: str, lang: str = "en") -> tuple[bytes, str, str, str]:
    iri = entity.iri
    if not entity.exists:
        raise Problem(404, f"no entity {iri} in the well")
    if entity.deleted:
        raise Problem(410, f"{iri} was deleted", deleted=entity.deleted_at)
    nomens = _nomens(state.store, entity) if fmt not in ("html", "marcxml", "marc") else {}
    if fmt == "html":
        body = catalogue_page(state.store, state.base, iri, entity.types, entity.triples, lang).encode("utf-8")
    elif fmt == "jsonld":
        body = _jsonld(entity, base_url, nomens)
    elif fmt in ("marcxml", "marc"):
        body = _marc(state.store, iri, fmt)
    else:
        body = serialise_triples(entity.triples + [t for ts in nomens.values() for t in ts], fmt, PREFIXES)
    if fmt in ("html", "marcxml", "marc"):  # these show other entities too: their bytes are the version
        etag = 'W/"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    else:  # the entity's own statements, nothing else: its state, which a write's If-Match names
        # (an agent's nomens, which the document includes, change its tag after the state's ".")
        etag = f'"{entity.tag}.{fmt}"' if not nomens else f'"{entity.tag}.{fmt}.{_digest_of(nomens)}"'
    return body, ENTITY_TYPES[fmt], etag, format_datetime(entity.modified, usegmt=True)


_STATES: dict[int, object] = {}


# Keys of the response caches: a number never given twice in a process (an id() comes back
# once its object is freed, and a fresh view would then be answered from an old one's cache).
_SERIAL = itertools.count(1)


def register(state) -> int:
    """Make a snapshot's store known to the response caches; older snapshots than the last few
    are forgotten, so a server that refreshes does not keep every store it ever opened."""
    key = next(_SERIAL)
    _STATES[key] = state
    state.store._cache_key = key
    _LABEL_STORES[key] = state.store
    while len(_STATES) > 3:
        old_key = next(iter(_STATES))
        _STATES.pop(old_key)
        _LABEL_STORES.pop(old_key, None)
    return key


def _digest_of(nomens: dict[str, list[tuple]]) -> str:
    text = repr(sorted((n, sorted(map(repr, rows))) for n, rows in nomens.items()))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def _nomens(store: Store, entity: Entity) -> dict[str, list[tuple]]:
    """The statements of the nomens (the forms of its name an authority record gives, with who
    gave them and the sources consulted) an agent links to, by nomen: its document includes them."""
    if "/agent/" not in entity.iri:
        return {}
    prefix = f"{store.base}/authority/"
    found = sorted({o for _, _, o, lit, _, _ in entity.triples if not lit and o.startswith(prefix) and "#" in o})
    out = {}
    for nomen in found:
        rows = dict.fromkeys((nomen, p, o, lit, lang, dt) for _, p, o, lit, lang, dt in store.about(nomen))
        if rows:
            out[nomen] = list(rows)
    return out


def _jsonld(entity: Entity, base_url: str, embedded: dict | None = None) -> bytes:
    """Compact JSON-LD against the published context, written directly: the context gives each
    element a name, and an element the context types as "@id" takes plain IRIs. ``embedded``:
    nodes written inside the one that links to them (an agent's nomens)."""
    return jsonld.text({"@context": f"{base_url}context.jsonld", **jsonld.node(entity.iri, entity.triples, embedded)})


def _marc(store: Store, iri: str, fmt: str) -> bytes:
    record = marc_record(store, iri)
    if record is None:
        raise Problem(404, f"{iri} has no source record to write as MARC")
    if fmt == "marc":
        try:
            return iso2709(record)
        except ExportError as exc:  # over 99,999 bytes, a field over 9,999: ISO 2709 cannot hold it
            raise Problem(406, f"{iri} cannot be written as ISO 2709: {exc.reason}; ask for MARCXML "
                               "(format=marcxml or Accept: application/marcxml+xml)", alternate="marcxml") from exc
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + marcxml(record) + b"\n"


def _local(iri: str, base: str) -> str:
    return iri[len(base):] if iri.startswith(base + "/") else iri


def _label(store: Store, iri: str) -> str:
    key = getattr(store, "_cache_key", None)
    if key is None:  # a store no snapshot registered (a tool's): a key of its own
        key = store._cache_key = next(_SERIAL)
        _LABEL_STORES[key] = store
    return _cached_label(key, iri)


_LABEL_STORES: dict[int, Store] = {}


@lru_cache(maxsize=100_000)
def _cached_label(store_key: int, iri: str) -> str:
    """How the look-ups name an entity: its title, name or label; an expression by its work's."""
    store = _LABEL_STORES[store_key]
    for p in _LABELS:
        values = store.values(iri, p)
        if values:
            return values[0]
    works = store.values(iri, T.E_WORK)
    if works:  # an expression: its work's title, language and content type
        details = [_term_label(v) for v in store.values(iri, T.E_LANGUAGE) + store.values(iri, T.E_CONTENT_TYPE)]
        return f"{_cached_label(store_key, works[0])} ({', '.join(details)})" if details else _cached_label(
            store_key, works[0])
    return iri.rsplit("/", 1)[-1]


def _term_label(iri: str) -> str:
    """A vocabulary term as the look-ups give it: "volume", "eng", "NonFiction"."""
    spec = T.TYPE_FIELDS.get(iri)
    if spec is not None:
        return spec[1]
    return iri.rsplit("#", 1)[-1] if "#" in iri else iri.rstrip("/").rsplit("/", 1)[-1] or iri


def _conditional(request: Request, etag: str, modified: str) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip() for t in match.split(",")}
        return "*" in tags or etag in tags or etag.removeprefix("W/") in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _format(request: Request, format: str | None, allowed: dict, what: str) -> str:
    """The format to answer in: ``format`` if given, else the Accept header's choice among
    ``allowed`` (Turtle when it has none, or only a wildcard); 406 for any other."""
    accept = request.headers.get("accept")
    fmt = choose(format, accept, allowed, "turtle", strict=True)
    if fmt is None:
        asked = f"not {format!r}" if format else f"not {accept!r} (the Accept header)"
        raise Problem(406, f"{what} come as {', '.join(allowed)}; {asked}")
    return fmt


def _send(request: Request, rendered: tuple[bytes, str, str, str], vary: str = "Accept") -> Response:
    body, media, etag, modified = rendered
    headers = {"ETag": etag, "Last-Modified": modified, "Vary": vary, "Cache-Control": "no-cache"}
    if _conditional(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media, headers=headers)


async def _entity_response(request: Request, kind: str, id_: str, format: str | None) -> Response:
    state = request.app.state  # (the request's snapshot, pinned: web.pinning)
    iri = f"{state.base}/{kind}/{id_}"
    allowed = ENTITY_TYPES if kind == "manifestation" else {k: v for k, v in ENTITY_TYPES.items()
                                                           if k not in ("marcxml", "marc")}
    fmt = _format(request, format, allowed, f"{kind}s")
    if not is_iri(iri):
        raise Problem(404, f"no entity {iri} in the well")
    live = await _live(request, iri)
    lang = page_language(request.headers.get("accept-language")) if fmt == "html" else "en"
    vary = "Accept, Accept-Language" if fmt == "html" else "Accept"
    if live is not None:
        successor = _successor(state, live)
        rendered = _rendered(state, live, fmt, str(request.base_url), lang) if successor is None else None
    else:
        successor, rendered = _render(state.key, iri, fmt, str(request.base_url), lang)
    if successor is not None:
        # Merged into another: links to it keep working, and lead to where it went (308: a
        # write sent here is sent on there unchanged).
        target = str(request.url.replace(path=successor[len(state.base):]))
        return Response(status_code=308, headers={"Location": target, "Link": f'<{successor}>; rel="successor-version"'})
    if fmt == "html" and kind == "work":  # its loans as they are now, not as the cached page was drawn
        # (in a worker thread: the figures may come from the statistics process, or wait for the
        # loans' edition map to catch up with a new snapshot)
        rendered = await run_in_threadpool(loans_section, request, iri, rendered)
    return _send(request, rendered, vary)


async def _live(request: Request, iri: str) -> Entity | None:
    """The entity as the writer holds it, when a write has changed it since this process's
    snapshot (read-your-writes, and the tag a write's If-Match is checked against); None when
    the snapshot shows it as it is, or the server takes no writes. The answer waits for the write
    under way, and the event loop meanwhile answers other requests."""
    state = request.app.state
    writer = getattr(state, "writer", None)
    snapshot = getattr(state, "snapshot", None)
    catalogue = getattr(snapshot, "catalogue", None)
    if writer is None or catalogue is None or not catalogue.changed_after(iri, snapshot.sequence):
        return None
    try:
        rows, stamps = await writer.call_async("about", iri=iri)
    except MetadatabronnError:  # the writer is busy loading or gone: the snapshot answers
        return None
    return Entity(state.store, iri, state.started, rows, stamps)


_FORMAT = Query(default=None, description="jsonld, turtle, ntriples, rdfxml, html (manifestations also marcxml, marc); "
                                          "else the Accept header decides")
_ENTITY_RESPONSES = {200: {"content": {t.split(";")[0]: {} for t in ENTITY_TYPES.values()}},
                     304: {"description": "not modified"}, 404: {"description": "no such entity"},
                     308: {"description": "merged into another entity: `Location` names it"},
                     406: {"description": "a format this entity does not come in"},
                     410: {"description": "deleted: a tombstone remains"}}


def _entity_route(kind: str):
    async def get(request: Request, id: str, format: str | None = _FORMAT):
        return await _entity_response(request, kind, id, format)

    get.__name__ = f"get_{kind}"
    router.add_api_route(f"/{kind}/{{id}}", get, methods=["GET"], summary=f"A {kind}, by content negotiation",
                         responses=_ENTITY_RESPONSES, response_class=Response)


for _kind in KINDS:
    _entity_route(_kind)


@router.get("/context.jsonld", summary="The JSON-LD context of the entity documents")
async def context():
    return JSONResponse(CONTEXT, media_type="application/ld+json")


__all__ = ["router", "register", "KINDS"]
