"""OAI-PMH records and lists, read from the catalogue index beside the store (``store.catalogue``).

A page of a list is one range read of the index in identifier order, after the last identifier
sent, limited to rows whose latest change the snapshot holds (its change-log sequence at most the
snapshot's): a record changed after the snapshot was opened drops out of lists until a fresh one
is opened, and since its datestamp is then later than the snapshot's horizon, a harvester ``from``
any responseDate of this snapshot gets it next time. Nothing here reads the whole store or the
whole index: opening a snapshot, the first page and a page deep in the list cost the same.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse
from xml.sax.saxutils import escape

from ..store.catalogue import Row
from ..store.catchup import change_time
from . import oai_authority
from .records import MARC_NS, OAI_DC_NS

PAGE = 250
FORMATS = {
    "marc21": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS),
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS),
    "rdf": ("http://www.w3.org/2000/07/rdf.xsd", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
}
ALIASES = {"marcxml": "marc21"}  # the name Koha and LIBRIS harvest with
TYPE_SET = "type:bibliographic"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class OaiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def sets_of(row: Row) -> tuple[str, ...]:
    kind = oai_authority.SET if oai_authority.is_authority(row.id) else TYPE_SET
    return (kind,) + ((f"source:{row.source}",) if row.source else ())


class Repository:
    """The harvestable records of one store snapshot, in identifier order, from the catalogue
    index (``upto``: the snapshot's last change-log sequence).

    Records are written in the query worker processes, a page split between them, and the next
    page of a list is written while the harvester reads this one: a harvester asks for pages
    one after another, and this is what keeps it busy.
    """

    def __init__(self, store, catalogue, upto: int, base: str, started: datetime, workers=None):
        self.store, self.catalogue, self.upto, self.base, self.workers = store, catalogue, upto, base, workers
        self.started = started
        self._chunks = ThreadPoolExecutor(max(1, workers.size if workers else 1), thread_name_prefix="oai-render")
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="oai-prefetch")
        self._prefetched: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        self._sets: list[str] | None = None
        self.host = urlparse(base).hostname or "localhost"

    @property
    def sets(self) -> list[str]:
        """Every set a record is in (the source sets read off the index once, on first use)."""
        if self._sets is None:
            authority = [oai_authority.SET] if oai_authority.present(self.catalogue) else []
            self._sets = sorted({TYPE_SET, *authority, *(f"source:{s}" for s in self.catalogue.sources())})
        return self._sets

    @property
    def earliest(self) -> datetime:
        first = self.catalogue.earliest()
        return _time(first) if first else self.started

    def page(self, after: str, limit: int, *, authority: bool | None = False, **filters) -> list[Row]:
        """Rows after ``after``: the authority records (``authority``), the others (False), or
        all of them (None: a source set)."""
        if authority is None:
            return self.catalogue.page(after, self.upto, limit, **filters)
        return oai_authority.page(self.catalogue, after, self.upto, limit, authority=authority, **filters)

    def count(self, *, authority: bool | None = False, **filters) -> int:
        # Counted without the snapshot's limit, so that an index of the datestamps or sources
        # answers it: completeListSize is an estimate of a list that may change while it is paged.
        if authority is None:
            return self.catalogue.count(None, **filters)
        return oai_authority.count(self.catalogue, authority=authority, **filters)

    def bodies(self, entries: list[Row], prefix: str) -> list[bytes | None]:
        """The metadata of each entry (None for a deleted one), prefetched if it was."""
        live = [e for e in entries if not e.deleted]
        key = (prefix, tuple(e.id for e in live))
        with self._lock:
            ahead = self._prefetched.pop(key, None)
        rendered = iter(ahead.result() if ahead is not None else self._render(live, prefix))
        return [None if e.deleted else next(rendered) for e in entries]

    def prefetch(self, entries: list[Row], prefix: str) -> None:
        live = [e for e in entries if not e.deleted]
        key = (prefix, tuple(e.id for e in live))
        with self._lock:
            if key in self._prefetched:
                return
            while len(self._prefetched) >= 4:  # harvests that stopped half-way
                self._prefetched.pop(next(iter(self._prefetched)))
            self._prefetched[key] = self._ahead.submit(self._render, live, prefix)

    def _render(self, live: list[Row], prefix: str) -> list[bytes | None]:
        authorities = [e for e in live if oai_authority.is_authority(e.id)]
        if authorities:  # written here: the query workers write bibliographic records only
            others = [e for e in live if not oai_authority.is_authority(e.id)]
            written = dict(zip((e.id for e in authorities),
                               oai_authority.render(self.store, prefix, [e.graph for e in authorities])))
            written.update(zip((e.id for e in others), self._render(others, prefix) if others else ()))
            return [written[e.id] for e in live]
        iris = [e.manifestation for e in live]
        if self.workers is None or len(iris) < 8:
            from .queries import _render

            return _render(self.store, prefix, iris)
        n = self.workers.size
        size = -(-len(iris) // n)
        chunks = [iris[i:i + size] for i in range(0, len(iris), size)]
        parts = self._chunks.map(lambda chunk: self.workers.render(prefix, chunk), chunks)
        return [body for part in parts for body in part]

    def identifier(self, entry: Row) -> str:
        return f"oai:{self.host}:{entry.id}"

    def entry(self, identifier: str) -> Row:
        """The record an identifier names: its latest row, even one newer than the snapshot."""
        prefix = f"oai:{self.host}:"
        entry = self.catalogue.row(identifier[len(prefix):]) if identifier.startswith(prefix) else None
        if entry is None:
            raise OaiError("idDoesNotExist", f"no record {identifier} in this repository")
        return entry


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).replace(microsecond=0)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def horizon(store, opened: datetime, upto: int) -> datetime:
    """The responseDate of every answer from a snapshot opened at ``opened``: a change missing from
    the snapshot has a datestamp at or after it, so a harvest ``from`` it gets that change later.

    A change's datestamp is the start of the ingest that wrote it, though, and an ingest still
    running when the snapshot was opened writes more under that earlier time. A bulk load caught
    half-way (its pending mark in the store) says so; the snapshot then answers for no later than
    the last change it holds whole (entry ``upto``: that ingest's start, or an earlier one's).
    Between two bulk loads nothing in the store tells that an ingest is under way."""
    if not store.pending():
        return opened
    latest = change_time(store, upto) if upto > 0 else None
    return min(opened, _time(latest)) if latest else _EPOCH


# records -----------------------------------------------------------------------------------------

def prefix_of(args) -> str:
    prefix = ALIASES.get(args["metadataPrefix"], args["metadataPrefix"])
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"{args['metadataPrefix']!r} is not a format of this repository: "
                                                  f"{', '.join(FORMATS)} (marcxml is marc21)")
    return prefix


def header(repo: Repository, entry: Row) -> str:
    status = ' status="deleted"' if entry.deleted else ""
    sets = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in _with_parents(sets_of(entry)))
    return (f"<header{status}><identifier>{escape(repo.identifier(entry))}</identifier>"
            f"<datestamp>{entry.datestamp}</datestamp>{sets}</header>")


def _with_parents(sets) -> list[str]:
    out = []
    for s in sets:
        parent = s.split(":", 1)[0]
        if parent not in out:
            out.append(parent)
        if s != parent:
            out.append(s)
    return out


def record(repo: Repository, entry: Row, prefix: str, body: bytes | None = None) -> bytes:
    head = header(repo, entry).encode("utf-8")
    if entry.deleted:
        return b"<record>" + head + b"</record>"
    if body is None:
        body = repo.bodies([entry], prefix)[0]
    if body is None:
        return b"<record>" + head + b"</record>"
    return b"<record>" + head + b"<metadata>" + body + b"</metadata></record>"


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


def untoken(token: str) -> dict:
    """A resumption token's state, its times read back; badResumptionToken for anything this
    repository would not have issued."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict) or data.get("v") != 1 or not {"p", "h", "a", "c"} <= set(data):
            raise ValueError
        if not (all(isinstance(data[k], str) for k in "pah") and type(data["c"]) is int and data["c"] >= 0
                and all(data.get(k) is None or isinstance(data[k], str) for k in "sfu")
                and (data.get("n") is None or type(data["n"]) is int)):
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


def _set_filter(repo: Repository, set_spec: str | None) -> dict:
    # Authority records are in their own set (and in their file's): the other lists step over them.
    if not set_spec or set_spec in ("type", TYPE_SET):
        return {}
    if set_spec == oai_authority.SET:
        return {"authority": True}
    if set_spec == "source":
        return {"sourced": True, "authority": None}
    if set_spec.startswith("source:"):
        return {"source": set_spec[len("source:"):], "authority": None}
    raise OaiError("noRecordsMatch", f"no set {set_spec!r} in this repository")


def list_page(repo: Repository, args, horizon: datetime, *, records: bool) -> bytes:
    # On a first page the snapshot is the one the harvest starts from, so `until` holds as given
    # (its horizon may be lowered to the latest change it holds: that change is not "after").
    resumed = "resumptionToken" in args
    if resumed:
        state = untoken(args["resumptionToken"])
        asked = state["p"]
        prefix = prefix_of({"metadataPrefix": asked})
        after, cursor, total = state["a"], state["c"], state.get("n")
        started, since, until = state["h"], state.get("f"), state.get("u")
        set_spec = state.get("s")
    else:
        asked = args["metadataPrefix"]
        prefix = prefix_of(args)
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
        # The harvest starts at the snapshot's horizon, the responseDate of this first page.
        after, cursor, started, total = "", 0, horizon, None
    filters = _set_filter(repo, set_spec)
    if since:
        filters["since"] = _stamp(since.astimezone(timezone.utc))
    if until:
        filters["until"] = _stamp(until.astimezone(timezone.utc))
        if resumed:
            # A record changed after this harvest began is still sent, in its current form: the
            # harvest must not skip it, and identifier order means it cannot come twice. A change
            # missing from the first page's snapshot may be dated in the harvest's starting
            # second: that counts as after.
            filters["late"] = _stamp(started.astimezone(timezone.utc))
    rows = repo.page(after, PAGE + 1, **filters)
    page, more = rows[:PAGE], len(rows) > PAGE
    if not page:
        if cursor == 0:
            raise OaiError("noRecordsMatch", "no records match the arguments")
    if total is None:
        total = repo.count(**filters) if more else cursor + len(page)
    if records:
        bodies = repo.bodies(page, prefix)
        if more:
            repo.prefetch(repo.page(page[-1].id, PAGE, **filters), prefix)
        items = b"".join(record(repo, e, prefix, b) for e, b in zip(page, bodies))
    else:
        items = "".join(header(repo, e) for e in page).encode("utf-8")
    total = max(total, cursor + len(page))
    if more:
        token = _token({"v": 1, "p": asked, "s": set_spec, "f": since.isoformat() if since else None,
                        "u": until.isoformat() if until else None, "h": started.isoformat(),
                        "a": page[-1].id, "c": cursor + len(page), "n": total})
        resumption = f'<resumptionToken completeListSize="{total}" cursor="{cursor}">{token}</resumptionToken>'
    elif cursor:
        resumption = f'<resumptionToken completeListSize="{cursor + len(page)}" cursor="{cursor}"/>'
    else:
        resumption = ""
    tag = "ListRecords" if records else "ListIdentifiers"
    return f"<{tag}>".encode() + items + f"{resumption}</{tag}>".encode()
