"""OAI-PMH 2.0 at /oai: the six verbs by GET and POST, MARC 21 (``marc21``, also ``marcxml``),
``oai_dc`` and RDF (``rdf``), sets by record type and source, deletions kept (persistent).

Datestamps are the latest change-log time of the record or of any shared entity it embeds (a
work retitled in the well makes every record of it be harvested again). Lists are in identifier
order; a resumption token carries the harvest's start, the last identifier sent and the cursor,
so it survives restarts and changes: a record changed after the harvest began is still sent
once (in its current form), never skipped, never twice.

A change's datestamp is the time it was written (an ingest's start), but the server shows it only
once it opens a fresh snapshot of the store. So the responseDate is not the time of the request:
it is the snapshot's :func:`horizon`, the time it was opened, and a page of a list never says a
later time than its harvest's start. A harvester that takes any responseDate of one harvest as
the ``from`` of its next one misses no change, whichever server process answered.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
from dataclasses import dataclass
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape, quoteattr

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from .records import MARC_NS, OAI_DC_NS

router = APIRouter(tags=["OAI-PMH"])
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
PAGE = 250
FORMATS = {
    "marc21": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS),
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS),
    "rdf": ("http://www.w3.org/2000/07/rdf.xsd", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
}
ALIASES = {"marcxml": "marc21"}  # the name Koha and LIBRIS harvest with
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_SET_CHARS = re.compile(r"[^A-Za-z0-9\-_.!~*'()]")
_LISTS = {"ListIdentifiers", "ListRecords"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_building = threading.Lock()


class OaiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    graph: str
    manifestation: str
    datestamp: datetime
    deleted: bool
    sets: tuple[str, ...]


class Repository:
    """The harvestable records of one store snapshot, in identifier order.

    Records are written in the query worker processes, a page split between them, and the next
    page of a list is written while the harvester reads this one: a harvester asks for pages
    one after another, and this is what keeps it busy.
    """

    def __init__(self, store, base: str, started: datetime, workers=None):
        self.store, self.base, self.workers = store, base, workers
        self._chunks = ThreadPoolExecutor(max(1, workers.size if workers else 1), thread_name_prefix="oai-render")
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="oai-prefetch")
        self._prefetched: dict[tuple, Future] = {}
        self._lists: dict[tuple, list[Entry]] = {}
        self._lock = threading.Lock()
        changes = {iri: _time(t) for iri, t in store.change_times().items()}
        bumped: dict[str, datetime] = {}
        for iri, when in changes.items():
            if "/manifestation/" not in iri:  # a shared entity edited in the well
                for graph in store.graphs_naming(iri):
                    bumped[graph] = max(when, bumped.get(graph, when))
        entries = []
        for graph, m, source, deleted in store.record_index():
            stamp = changes.get(m, started)
            if graph in bumped and not deleted:
                stamp = max(stamp, bumped[graph])
            sets = ("type:bibliographic",) + ((f"source:{_set_name(source)}",) if source else ())
            entries.append(Entry(m.rsplit("/", 1)[-1], graph, m, stamp, deleted, sets))
        entries.sort(key=lambda e: e.id)
        self.entries = entries
        self.by_id = {e.id: e for e in entries}
        self.sets = sorted({s for e in entries for s in e.sets})
        self.earliest = min((e.datestamp for e in entries), default=started)
        self.host = urlparse(base).hostname or "localhost"

    def matching(self, key: tuple, wanted) -> list[Entry]:
        """The entries a list request selects; the same for every page of one harvest."""
        with self._lock:
            found = self._lists.get(key)
        if found is None:
            found = [e for e in self.entries if wanted(e)]
            with self._lock:
                while len(self._lists) >= 16:
                    self._lists.pop(next(iter(self._lists)))
                self._lists[key] = found
        return found

    def bodies(self, entries: list[Entry], prefix: str) -> list[bytes | None]:
        """The metadata of each entry (None for a deleted one), prefetched if it was."""
        live = [e for e in entries if not e.deleted]
        key = (prefix, tuple(e.id for e in live))
        with self._lock:
            ahead = self._prefetched.pop(key, None)
        rendered = iter(ahead.result() if ahead is not None else self._render(live, prefix))
        return [None if e.deleted else next(rendered) for e in entries]

    def prefetch(self, entries: list[Entry], prefix: str) -> None:
        live = [e for e in entries if not e.deleted]
        key = (prefix, tuple(e.id for e in live))
        with self._lock:
            if key in self._prefetched:
                return
            while len(self._prefetched) >= 4:  # harvests that stopped half-way
                self._prefetched.pop(next(iter(self._prefetched)))
            self._prefetched[key] = self._ahead.submit(self._render, live, prefix)

    def _render(self, live: list[Entry], prefix: str) -> list[bytes | None]:
        iris = [e.manifestation for e in live]
        if self.workers is None or len(iris) < 8:
            from .queries import _render

            return _render(self.store, prefix, iris)
        n = self.workers.size
        size = -(-len(iris) // n)
        chunks = [iris[i:i + size] for i in range(0, len(iris), size)]
        parts = self._chunks.map(lambda chunk: self.workers.render(prefix, chunk), chunks)
        return [body for part in parts for body in part]

    def identifier(self, entry: Entry) -> str:
        return f"oai:{self.host}:{entry.id}"

    def entry(self, identifier: str) -> Entry:
        prefix = f"oai:{self.host}:"
        entry = self.by_id.get(identifier[len(prefix):]) if identifier.startswith(prefix) else None
        if entry is None:
            raise OaiError("idDoesNotExist", f"no record {identifier} in this repository")
        return entry


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).replace(microsecond=0)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _set_name(source: str) -> str:
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    return _SET_CHARS.sub("_", name) or "unknown"


def horizon(store, opened: datetime) -> datetime:
    """The responseDate of every answer from a snapshot opened at ``opened``: a change missing from
    the snapshot has a datestamp at or after it, so a harvest ``from`` it gets that change later.

    A change's datestamp is the start of the ingest that wrote it, though, and an ingest still
    running when the snapshot was opened writes more under that earlier time. A bulk load caught
    half-way (its pending mark in the store) says so; the snapshot then answers for no later than
    the latest change it holds (which is that ingest's start, or an earlier one's). Between two
    bulk loads nothing in the store tells that an ingest is under way."""
    if not store.pending():
        return opened
    latest = max((_time(t) for t in store.change_times().values()), default=_EPOCH)
    return min(opened, latest)


def repository(request: Request, snapshot) -> Repository:
    """The index of ``snapshot`` (the app's current one when the request came), built once."""
    repo = snapshot.oai
    if repo is None:
        with _building:
            repo = snapshot.oai
            if repo is None:
                state = request.app.state
                repo = snapshot.oai = Repository(snapshot.store, state.base, snapshot.started, state.queries)
    return repo


# requests ----------------------------------------------------------------------------------

@router.get("/oai", summary="OAI-PMH 2.0 (GET)", response_class=Response,
            responses={200: {"content": {"text/xml": {}}, "description": "an OAI-PMH response, or an OAI-PMH error"}})
async def oai_get(request: Request):
    params = parse_qs(str(request.url.query), keep_blank_values=True)
    return await anyio.to_thread.run_sync(_respond, request, params)


@router.post("/oai", summary="OAI-PMH 2.0 (POST, application/x-www-form-urlencoded)", response_class=Response,
             responses={200: {"content": {"text/xml": {}}}})
async def oai_post(request: Request):
    body = (await request.body()).decode("utf-8", "replace")
    return await anyio.to_thread.run_sync(_respond, request, parse_qs(body, keep_blank_values=True))


def _respond(request: Request, params: dict[str, list[str]]) -> Response:
    endpoint = f"{str(request.base_url).rstrip('/')}/oai"
    # One read: the index and the time it answers for are of the same snapshot, even if a fresh
    # one is installed meanwhile.
    snapshot = request.app.state.snapshot
    when = snapshot.horizon
    verb_values = params.get("verb", [])
    attributes: dict[str, str] = {}
    try:
        if len(verb_values) != 1 or verb_values[0] not in VERBS:
            raise OaiError("badVerb", "verb is missing, repeated or not an OAI-PMH verb" if len(verb_values) != 1
                           else f"{verb_values[0]!r} is not an OAI-PMH verb")
        verb = verb_values[0]
        required, optional = VERBS[verb]
        args = {}
        for key, values in params.items():
            if key == "verb":
                continue
            if key not in required | optional:
                raise OaiError("badArgument", f"{key!r} is not an argument of {verb}")
            if len(values) != 1:
                raise OaiError("badArgument", f"{key!r} is repeated")
            args[key] = values[0]
        if "resumptionToken" in args and len(args) > 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        if "resumptionToken" not in args:
            missing = sorted(required - set(args))
            if missing:
                raise OaiError("badArgument", f"{verb} needs {', '.join(missing)}")
        attributes = {k: v for k, v in args.items()}
        repo = repository(request, snapshot)
        if verb in _LISTS and "resumptionToken" in args:
            # Every page of a list answers for its harvest's start: records behind the cursor
            # that changed since then are not sent again, so a harvester that keeps the last
            # page's responseDate must get them next time.
            when = min(when, _untoken(args["resumptionToken"])["h"].astimezone(timezone.utc))
        body = _VERB_HANDLERS[verb](repo, args, endpoint, snapshot.horizon)
        attributes = {"verb": verb, **attributes}
    except OaiError as exc:
        if exc.code in ("badVerb", "badArgument"):
            attributes = {}  # the request element then carries no attributes (spec 3.6)
        else:
            attributes = {"verb": verb_values[0], **attributes}
        body = f'<error code="{exc.code}">{escape(exc.message)}</error>'
    request_el = "<request" + "".join(f" {k}={quoteattr(v)}" for k, v in attributes.items()) + f">{escape(endpoint)}</request>"
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
            f"<responseDate>{_stamp(when)}</responseDate>{request_el}")
    # A page of records is already bytes: join, never decode and encode 1 MB again.
    payload = body if isinstance(body, bytes) else body.encode("utf-8")
    return Response(head.encode("utf-8") + payload + b"</OAI-PMH>", media_type="text/xml; charset=utf-8")


# verbs -------------------------------------------------------------------------------------

def _identify(repo: Repository, args, endpoint: str, now: datetime) -> str:
    return (f"<Identify><repositoryName>metadatabronn</repositoryName><baseURL>{escape(endpoint)}</baseURL>"
            f"<protocolVersion>2.0</protocolVersion><adminEmail>metadata@{escape(repo.host)}</adminEmail>"
            f"<earliestDatestamp>{_stamp(repo.earliest)}</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
            f"<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
            # Identifiers are oai:{host}:{manifestation id}; the oai-identifier description is left
            # out because its schema is not among those a harvester validates responses with.
            f"</Identify>")


def _formats(repo: Repository, args, endpoint, now) -> str:
    if "identifier" in args:
        repo.entry(args["identifier"])  # idDoesNotExist; every record comes in every format
    items = "".join(f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>{schema}</schema>"
                    f"<metadataNamespace>{ns}</metadataNamespace></metadataFormat>"
                    for p, (schema, ns) in FORMATS.items())
    return f"<ListMetadataFormats>{items}</ListMetadataFormats>"


def _sets(repo: Repository, args, endpoint, now) -> str:
    if "resumptionToken" in args:
        raise OaiError("badResumptionToken", "ListSets is complete in one response: no token is issued")
    names = {"type:bibliographic": "Bibliographic records"}
    items = "".join(f"<set><setSpec>{escape(s)}</setSpec><setName>{escape(names.get(s, _source_label(s)))}</setName></set>"
                    for s in ["type", "source", *repo.sets] if s)
    return f"<ListSets>{items}</ListSets>"


def _source_label(spec: str) -> str:
    if spec == "type":
        return "By record type"
    if spec == "source":
        return "By source file"
    return f"Records loaded from {spec.split(':', 1)[1]}"


def _prefix(args) -> str:
    prefix = ALIASES.get(args["metadataPrefix"], args["metadataPrefix"])
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"{args['metadataPrefix']!r} is not a format of this repository: "
                                                  f"{', '.join(FORMATS)} (marcxml is marc21)")
    return prefix


def _get_record(repo: Repository, args, endpoint, now) -> str:
    prefix = _prefix(args)
    entry = repo.entry(args["identifier"])
    return b"<GetRecord>" + _record(repo, entry, prefix) + b"</GetRecord>"


def _header(repo: Repository, entry: Entry) -> str:
    status = ' status="deleted"' if entry.deleted else ""
    sets = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in _with_parents(entry.sets))
    return (f"<header{status}><identifier>{escape(repo.identifier(entry))}</identifier>"
            f"<datestamp>{_stamp(entry.datestamp)}</datestamp>{sets}</header>")


def _with_parents(sets) -> list[str]:
    out = []
    for s in sets:
        parent = s.split(":", 1)[0]
        if parent not in out:
            out.append(parent)
        out.append(s)
    return out


def _record(repo: Repository, entry: Entry, prefix: str, body: bytes | None = None) -> bytes:
    header = _header(repo, entry).encode("utf-8")
    if entry.deleted:
        return b"<record>" + header + b"</record>"
    if body is None:
        body = repo.bodies([entry], prefix)[0]
    if body is None:
        return b"<record>" + header + b"</record>"
    return b"<record>" + header + b"<metadata>" + body + b"</metadata></record>"


# lists and their resumption tokens ---------------------------------------------------------

def _parse_date(value: str, end: bool) -> tuple[datetime, str]:
    """A ``from`` or ``until`` argument: its time and granularity; badArgument unless it is a real
    day or second (no month 13, no 30 February, no hour 25, no year 0)."""
    granularity = "second" if _SECOND.match(value) else "day" if _DAY.match(value) else None
    try:
        if granularity == "second":
            when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        elif granularity == "day":
            when = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            if end:
                when += timedelta(days=1, seconds=-1)
    except (ValueError, OverflowError):
        granularity = None
    if granularity is None:
        raise OaiError("badArgument", f"{value!r} is not a UTC date (YYYY-MM-DD) or time (YYYY-MM-DDThh:mm:ssZ)")
    return when, granularity


def _token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict:
    """A resumption token's state, its times read back; badResumptionToken for anything this
    repository would not have issued."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict) or data.get("v") != 1 or not {"p", "h", "a", "c"} <= set(data):
            raise ValueError
        if not (all(isinstance(data[k], str) for k in "pah") and type(data["c"]) is int and data["c"] >= 0
                and all(data.get(k) is None or isinstance(data[k], str) for k in "sfu")):
            raise ValueError
        for key in ("h", "f", "u"):
            if data.get(key) is not None:
                when = datetime.fromisoformat(data[key])
                if when.tzinfo is None:
                    raise ValueError
                data[key] = when
        return data
    except (ValueError, TypeError, UnicodeDecodeError):
        raise OaiError("badResumptionToken", "the resumption token is not one this repository issued") from None


def _list(repo: Repository, args, endpoint, horizon: datetime, *, records: bool) -> str:
    # On a first page the snapshot is the one the harvest starts from, so `until` holds as given
    # (its horizon may be lowered to the latest change it holds: that change is not "after").
    resumed = "resumptionToken" in args
    if resumed:
        state = _untoken(args["resumptionToken"])
        asked = state["p"]
        prefix = _prefix({"metadataPrefix": asked})
        after, cursor = state["a"], state["c"]
        started, since, until = state["h"], state.get("f"), state.get("u")
        set_spec = state.get("s")
    else:
        asked = args["metadataPrefix"]
        prefix = _prefix(args)
        since = until = None
        grains = set()
        if "from" in args:
            since, g = _parse_date(args["from"], end=False)
            grains.add(g)
        if "until" in args:
            until, g = _parse_date(args["until"], end=True)
            grains.add(g)
        if len(grains) > 1:
            raise OaiError("badArgument", "from and until must have the same granularity")
        if since and until and since > until:
            raise OaiError("badArgument", "from is later than until")
        set_spec = args.get("set")
        if set_spec is not None and set_spec not in repo.sets and set_spec not in ("type", "source"):
            raise OaiError("noRecordsMatch", f"no set {set_spec!r} in this repository")
        # The harvest starts at the snapshot's horizon, the responseDate of this first page.
        after, cursor, started = "", 0, horizon

    def wanted(e: Entry) -> bool:
        if set_spec and not any(s == set_spec or s.startswith(set_spec + ":") for s in e.sets):
            return False
        if since and e.datestamp < since:
            return False
        # A record changed after this harvest began is still sent, in its current form: the
        # harvest must not skip it, and identifier order means it cannot come twice. A change
        # missing from the first page's snapshot may be dated in the harvest's starting second:
        # that counts as after.
        if until and e.datestamp > until and (not resumed or e.datestamp < started):
            return False
        return True

    matching = repo.matching((set_spec, since, until, started), wanted)
    remaining = matching[bisect.bisect_right([e.id for e in matching], after):] if after else matching
    if not matching or (not remaining and cursor == 0):
        raise OaiError("noRecordsMatch", "no records match the arguments")
    page, rest = remaining[:PAGE], remaining[PAGE:]
    if records:
        bodies = repo.bodies(page, prefix)
        if rest:
            repo.prefetch(rest[:PAGE], prefix)
        items = b"".join(_record(repo, e, prefix, b) for e, b in zip(page, bodies))
    else:
        items = "".join(_header(repo, e) for e in page).encode("utf-8")
    complete = cursor + len(remaining)
    if rest:
        token = _token({"v": 1, "p": asked, "s": set_spec, "f": since.isoformat() if since else None,
                        "u": until.isoformat() if until else None, "h": started.isoformat(),
                        "a": page[-1].id, "c": cursor + len(page)})
        resumption = (f'<resumptionToken completeListSize="{complete}" cursor="{cursor}">{token}</resumptionToken>')
    elif cursor:
        resumption = f'<resumptionToken completeListSize="{complete}" cursor="{cursor}"/>'
    else:
        resumption = ""
    tag = "ListRecords" if records else "ListIdentifiers"
    return f"<{tag}>".encode() + items + f"{resumption}</{tag}>".encode()


_VERB_HANDLERS = {
    "Identify": _identify,
    "ListMetadataFormats": _formats,
    "ListSets": _sets,
    "GetRecord": _get_record,
    "ListIdentifiers": lambda r, a, e, n: _list(r, a, e, n, records=False),
    "ListRecords": lambda r, a, e, n: _list(r, a, e, n, records=True),
}

__all__ = ["router", "Repository"]
