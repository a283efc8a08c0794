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

import threading
from datetime import datetime, timezone
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..errors import StoreError
from . import oai_authority
from .oai_lists import FORMATS, TYPE_SET, OaiError, Repository, _stamp, horizon, list_page, prefix_of, record, untoken

router = APIRouter(tags=["OAI-PMH"])
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
}
_LISTS = {"ListIdentifiers", "ListRecords"}
_building = threading.Lock()


def repository(request: Request, snapshot) -> Repository:
    """The harvesting view of ``snapshot`` (the app's current one when the request came)."""
    repo = snapshot.oai
    if repo is None:
        with _building:
            repo = snapshot.oai
            if repo is None:
                if snapshot.catalogue is None:
                    raise StoreError("the store has no catalogue index to harvest from: open it for writing once "
                                     "(any ingest or update does) or run 'metadatabronn reindex'")
                state = request.app.state
                repo = snapshot.oai = Repository(snapshot.store, snapshot.catalogue, snapshot.sequence, state.base,
                                                 snapshot.started, state.queries)
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
            when = min(when, untoken(args["resumptionToken"])["h"].astimezone(timezone.utc))
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
    names = {TYPE_SET: "Bibliographic records", oai_authority.SET: "Authority records (MARC 21 authority format)"}
    items = "".join(f"<set><setSpec>{escape(s)}</setSpec><setName>{escape(names[s] if s in names else _source_label(s))}</setName></set>"
                    for s in ["type", "source", *repo.sets] if s)
    return f"<ListSets>{items}</ListSets>"


def _source_label(spec: str) -> str:
    if spec == "type":
        return "By record type"
    if spec == "source":
        return "By source file"
    return f"Records loaded from {spec.split(':', 1)[1]}"


def _get_record(repo: Repository, args, endpoint, now) -> str:
    prefix = prefix_of(args)
    entry = repo.entry(args["identifier"])
    return b"<GetRecord>" + record(repo, entry, prefix) + b"</GetRecord>"


_VERB_HANDLERS = {
    "Identify": _identify,
    "ListMetadataFormats": _formats,
    "ListSets": _sets,
    "GetRecord": _get_record,
    "ListIdentifiers": lambda r, a, e, n: list_page(r, a, n, records=False),
    "ListRecords": lambda r, a, e, n: list_page(r, a, n, records=True),
}

__all__ = ["router", "Repository", "horizon"]
