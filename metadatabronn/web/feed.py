"""The change feed over HTTP: LD4 Entity Metadata Management API 1.0 (Activity Streams 2.0).

``/changes`` is the entry point (an ``OrderedCollection``), ``/changes/page/{k}`` its pages
(``OrderedCollectionPage``), oldest first: page 1 holds positions 1–100, page 2 101–200, and so
on, in the order the well made the changes ("immutable forward"). A page that is full never
changes again, so it carries ``next`` even before the page after it has an activity: the last
page is always the one not yet full (empty when the feed's length is a multiple of the page
size). ``?type=`` gives each entity kind a collection of its own, paged by the position within
that kind, which is as stable as the whole feed's.

Everything is read from the snapshot the server serves, up to its last change-log entry, so the
feed never names what ``/documents`` and the entity pages cannot yet show.

``/documents`` gives what a mirror needs after reading a page: each entity's statements as
stored (a manifestation's record graph, another entity's default-graph statements).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import weakref
from datetime import datetime, timezone

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..store.feed import KINDS, Log
from .negotiate import ranked
from .problems import Problem

log = logging.getLogger(__name__)
router = APIRouter(tags=["Change feed"])

DEFAULT_PAGE_SIZE = 100
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
EMM_CONTEXT = "https://emm-spec.org/1.0/context.json"
FEED_CONTEXT_PATH = "/context/feed.jsonld"
AS_MEDIA = "application/activity+json"
LD_MEDIA = f'application/ld+json; profile="{AS_CONTEXT}"'
FULL_PAGE_CACHE = "public, max-age=31536000, immutable"

# The well's own terms, defined before the AS and EMM contexts (EMM 1.0 § 2.2 puts extension
# contexts first) and with names neither of them uses, so neither redefines them.
FEED_CONTEXT = {"@context": {
    "@version": 1.1,
    "mb": "https://w3id.org/metadatabronn/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "position": {"@id": "mb:feedPosition", "@type": "xsd:integer"},
    "sequence": {"@id": "mb:sequence", "@type": "xsd:integer"},
}}


_warned: set = set()


def page_size() -> int:
    """Activities a page (``METADATABRONN_FEED_PAGE_SIZE``, default 100). Pages are immutable only
    while it stays the same: change it and every cached full page is wrong."""
    raw = os.environ.get("METADATABRONN_FEED_PAGE_SIZE")
    try:
        size = int(raw) if raw else DEFAULT_PAGE_SIZE
    except ValueError:
        size = 0
    if size < 1:
        if raw not in _warned:  # read for every request: said once
            _warned.add(raw)
            log.warning("METADATABRONN_FEED_PAGE_SIZE=%r is not a whole number from 1: pages of %d", raw,
                        DEFAULT_PAGE_SIZE)
        return DEFAULT_PAGE_SIZE
    return size


def retained_start(feed: Log, kind: str | None = None) -> int:
    """The oldest position the feed still serves. Everything is kept today; pruning would move
    this, and a client behind it gets 410 and fetches the dump again."""
    return 1


_logs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _feed(request: Request) -> Log:
    """The feed as this request's snapshot sees it (one per snapshot, so its totals are counted
    once)."""
    snapshot = request.app.state.snapshot
    found = _logs.get(snapshot)
    if found is None:
        if snapshot.catalogue is None:
            raise Problem(503, "the change feed is read from the catalogue index, which this store does not have "
                               "yet: run 'metadatabronn reindex'")
        found = _logs.setdefault(snapshot, snapshot.catalogue.feed(_settled(snapshot)))
    return found


def _settled(snapshot) -> int:
    """The snapshot's last change-log entry that no bulk load under way can still take back: a
    load caught half-way (its pending mark in the store) is rolled back if it never finishes, and
    its positions would then be given to other activities, under full pages already cached for
    good. So the feed stops before the first entry a pending mark names."""
    prefix = f"{snapshot.base}/change/"
    named = [int(i[len(prefix):]) for i in snapshot.store.pending()
             if i.startswith(prefix) and i[len(prefix):].isdigit()]
    return min(snapshot.sequence, min(named) - 1) if named else snapshot.sequence


# representation ---------------------------------------------------------------------------------

def _media(request: Request) -> str:
    """Activity Streams JSON unless the Accept header prefers JSON-LD or plain JSON."""
    for media in ranked(request.headers.get("accept")):
        if media in (AS_MEDIA, "*/*", "application/*"):
            return AS_MEDIA
        if media == "application/ld+json":
            return LD_MEDIA
        if media == "application/json":
            return "application/json"
    return AS_MEDIA


def _send(request: Request, body: dict, cache: str, status: int = 200, headers: dict | None = None) -> Response:
    media = _media(request)
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    etag = '"' + hashlib.blake2b(data + media.encode(), digest_size=12).hexdigest() + '"'
    head = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept", **(headers or {})}
    match = request.headers.get("if-none-match")
    if match is not None and status == 200:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        if "*" in tags or etag in tags:
            return Response(status_code=304, headers=head)
    return Response(data, status_code=status, media_type=media, headers=head)


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection_id(request: Request, kind: str | None) -> str:
    return f"{_root(request)}/changes" + (f"?type={kind}" if kind else "")


def _page_id(request: Request, k: int, kind: str | None) -> str:
    return f"{_root(request)}/changes/page/{k}" + (f"?type={kind}" if kind else "")


def _contexts(request: Request) -> list[str]:
    return [_root(request) + FEED_CONTEXT_PATH, AS_CONTEXT, EMM_CONTEXT]


def _pages(total: int, size: int) -> int:
    """How many pages: every full one and the one not yet full after them."""
    return total // size + 1


def _summary(verb: str, kind: str, iri: str) -> str:
    local = iri.rstrip("/").rsplit("/", 1)[-1]
    words = {"Create": "New", "Update": "Updated", "Delete": "Deleted", "Deprecate": "Deprecated"}
    return f"{words.get(verb, verb)} {kind} {local}"


def activity(a, position: int) -> dict:
    """One activity as the feed shows it; ``position`` is its place in the collection paged."""
    item = {"type": a.verb, "summary": _summary(a.verb, a.kind, a.iri), "published": a.time,
            "object": {"id": a.iri, "type": a.cls, "updated": a.time}, "position": position, "sequence": a.seq}
    if a.verb == "Deprecate" and a.target:
        item["target"] = {"id": a.target, "type": a.cls}
    return item


# the entry point and its pages ---------------------------------------------------------------------

def _kind(type_: str | None) -> str | None:
    if type_ is None:
        return None
    if type_ not in KINDS:
        raise Problem(400, f"unknown type {type_!r}: the feed has {', '.join(KINDS)}", parameter="type")
    return type_


_SEQUENCE = re.compile(r"\d{1,18}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")


def _since_position(feed: Log, since: str, kind: str | None) -> int:
    """The position of the first activity after a change-log sequence number or at or after a
    time."""
    if _SEQUENCE.fullmatch(since):
        sequence = int(since)
        if sequence > feed.upto:
            raise Problem(503, f"change-log entry {sequence} is beyond this server's view of the store (its last "
                               f"is {feed.upto}); a fresh view is opened once the store has been quiet",
                          headers={"Retry-After": "5"}, parameter="since")
        return feed.after_sequence(sequence, kind)
    if not _DATETIME.fullmatch(since):
        raise Problem(400, f"since must be a change-log sequence number or an xsd:dateTime, not {since!r}",
                      parameter="since")
    try:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, f"since {since!r} is not a date and time", parameter="since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment > datetime.now(timezone.utc):
        raise Problem(400, f"since {since!r} is in the future", parameter="since")
    return feed.at_time(moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), kind)


def _redirect(request: Request, feed: Log, first: int, kind: str | None) -> Response:
    """303 to the page holding position ``first`` (the first activity the client has not seen);
    410 if it has fallen out of what the feed keeps."""
    start = retained_start(feed, kind)
    if first < start:
        raise Problem(410, f"position {first} is no longer in the feed, which now starts at {start}: fetch the dump "
                           "again and follow the feed from its position", title="Gone", first=start,
                      dump=f"{_root(request)}/changes")
    k = (first - 1) // page_size() + 1
    page = _page_id(request, k, kind)
    location = f"{page}#position={first}"
    body = {"page": page, "position": first}
    data = json.dumps(body).encode()
    return Response(data, status_code=303, media_type="application/json",
                    headers={"Location": location, "Feed-Position": str(first), "Cache-Control": "no-cache"})


@router.get("/changes", summary="The change feed's entry point (EMM 1.0 / Activity Streams OrderedCollection)",
            response_class=Response,
            responses={200: {"content": {AS_MEDIA: {}, "application/ld+json": {}}},
                       303: {"description": "since/after: the page holding the first activity after it"},
                       400: {"description": "an unknown type, a since in the future or neither a time nor a number"},
                       410: {"description": "the position has fallen out of the feed: fetch the dump again"}})
def changes(request: Request,
            type: str | None = Query(default=None, description="work, expression, manifestation, agent or concept"),
            since: str | None = Query(default=None, description="a change-log sequence number or an xsd:dateTime"),
            after: str | None = Query(default=None, description="a position in this collection")):
    kind = _kind(type)
    feed = _feed(request)
    if after is not None:
        if not _SEQUENCE.fullmatch(after):
            raise Problem(400, f"after must be a position (a whole number), not {after!r}", parameter="after")
        position = int(after)
        if position > feed.total(kind):
            raise Problem(503, f"position {position} is beyond this server's view of the feed (its last is "
                               f"{feed.total(kind)})", headers={"Retry-After": "5"}, parameter="after")
        return _redirect(request, feed, position + 1, kind)
    if since is not None:
        return _redirect(request, feed, _since_position(feed, since, kind), kind)
    total, size = feed.total(kind), page_size()
    last = _pages(total, size)
    what = f"{kind}s" if kind else "works, expressions, manifestations, agents and concepts"
    body = {
        "@context": _contexts(request),
        "id": _collection_id(request, kind),
        "type": "OrderedCollection",
        "summary": f"metadatabronn: changes to the well's {what}, oldest first, {size} a page",
        "totalItems": total,
        "first": {"id": _page_id(request, max(1, (retained_start(feed, kind) - 1) // size + 1), kind),
                  "type": "OrderedCollectionPage"},
        "last": {"id": _page_id(request, last, kind), "type": "OrderedCollectionPage"},
    }
    dump = _latest_dump(request, feed, kind)
    if dump is not None:
        body["url"] = dump
    return _send(request, body, "no-cache")


def _latest_dump(request: Request, feed: Log, kind: str | None) -> dict | None:
    """A link to the latest N-Quads dump with where in this collection it was taken: a client
    loads it, then follows the feed ``?after=`` that position (or ``?since=`` its sequence)."""
    try:
        from ..pipeline.dump import listing
    except ImportError:
        return None
    where = getattr(request.app.state, "dumps", None)
    if where is None:
        return None
    upto = feed.upto
    try:
        # The newest this snapshot can be followed from: one taken after it would be linked
        # with a position the feed has not reached.
        info = next((d for d in listing(where, "nquads") if d.sequence <= upto), None)
    except Exception:  # noqa: BLE001 - a dump being written or unreadable leaves the entry point without it
        log.warning("could not read the dumps at %s", where, exc_info=True)
        return None
    if info is None:
        return None
    # The last activity of the dump's change-log entry or before: the position is worked out
    # from the log, so it holds for a collection of one kind as for the whole feed.
    position = feed.after_sequence(info.sequence, kind) - 1
    link = {"type": "Link", "href": f"{_root(request)}/dumps/{info.name}", "mediaType": "application/n-quads",
            "sequence": info.sequence, "position": position}
    if info.time:
        link["published"] = info.time
    return link


@router.get("/changes/page/{k}", summary="One page of the change feed (OrderedCollectionPage), oldest first",
            response_class=Response,
            responses={200: {"content": {AS_MEDIA: {}, "application/ld+json": {}}},
                       304: {"description": "not modified"},
                       400: {"description": "a page number that is not a positive whole number, an unknown type"},
                       404: {"description": "a page beyond the last"},
                       410: {"description": "a page no longer kept: fetch the dump again"}})
def page(request: Request, k: str,
         type: str | None = Query(default=None, description="work, expression, manifestation, agent or concept")):
    kind = _kind(type)
    if not _SEQUENCE.fullmatch(k) or int(k) < 1:
        raise Problem(400, f"a page number is a whole number from 1, not {k!r}", parameter="k")
    number = int(k)
    feed = _feed(request)
    total, size = feed.total(kind), page_size()
    last = _pages(total, size)
    if number > last:
        raise Problem(404, f"the feed has {last} page{'s' if last != 1 else ''}; {number} is beyond the last",
                      last=_page_id(request, last, kind))
    start = (number - 1) * size + 1
    kept = retained_start(feed, kind)
    if start + size - 1 < kept:
        raise Problem(410, f"page {number} is no longer kept (the feed now starts at position {kept}): fetch the "
                           "dump again and follow the feed from its position", first=kept)
    items = feed.items(start, size, kind)
    body = {
        "@context": _contexts(request),
        "id": _page_id(request, number, kind),
        "type": "OrderedCollectionPage",
        "partOf": {"id": _collection_id(request, kind), "type": "OrderedCollection"},
        "startIndex": start - 1,
        "totalItems": len(items),
    }
    if number > 1:
        body["prev"] = {"id": _page_id(request, number - 1, kind), "type": "OrderedCollectionPage"}
    if number < last:
        body["next"] = {"id": _page_id(request, number + 1, kind), "type": "OrderedCollectionPage"}
    body["orderedItems"] = [activity(a, a.kn if kind else a.n) for a in items]
    full = len(items) == size
    return _send(request, body, FULL_PAGE_CACHE if full else "no-cache")


@router.get(FEED_CONTEXT_PATH, summary="The JSON-LD context of the feed's own terms (position, sequence)",
            response_class=Response)
def feed_context(request: Request):
    data = json.dumps(FEED_CONTEXT, indent=1).encode()
    return Response(data, media_type="application/ld+json", headers={"Cache-Control": "public, max-age=86400"})


# documents ------------------------------------------------------------------------------------
