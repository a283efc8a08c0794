"""``POST /statistics/loans``: a library system delivers its monthly loan report.

The credential (an OpenID Connect token or an API key, with the scope ``stats:deliver`` or
``ingest``) names the system by its organisation. The body (CSV, or JSON: an array of rows,
``{"rows": [...]}``, or one object a line) is streamed to a temporary file, never held in memory
whole, up to ``METADATABRONN_MAX_LOANS_BYTES``; then checked and stored in one transaction that
replaces every (system, month) it holds. Bad rows: 422 with their numbers and reasons, nothing
stored; ``?partial=true`` stores the good rows and reports the rest.
"""

from __future__ import annotations

import logging
import os
import tempfile

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..errors import DeliveryRejected, InputError, StoreError
from .auth import require
from .problems import Problem
from .statistics_access import DELIVER_SCOPES
from .statistics_state import state_of
from .writes import _limit, _note

log = logging.getLogger(__name__)
SUMMARY = ("Deliver a month's loans (CSV or JSON): scope stats:deliver or ingest; the credential's organisation "
           "is the library system")

DEFAULT_MAX_BYTES = 2_000_000_000  # a national month is some 420,000 rows, about 40 MB of CSV
MOST_PROBLEMS = 1_000  # rows listed in a refusal; the count says how many there were
_MEDIA = {"text/csv": "csv", "application/csv": "csv", "text/plain": "csv", "application/json": "json",
          "application/x-ndjson": "json", "application/jsonl": "json", "application/json-seq": "json"}


def _deliverer(request: Request):
    """The principal of a delivery: a credential with an organisation and either scope."""
    try:
        return require(request, DELIVER_SCOPES[0])
    except Problem as exc:
        principal = getattr(request.state, "principal", None)
        if exc.status == 403 and principal is not None and principal.org and any(
                principal.can(s) for s in DELIVER_SCOPES[1:]):
            return principal
        if exc.status == 403 and "scope" in exc.extensions:
            exc.detail = (f"a delivery needs the scope 'stats:deliver' or 'ingest'; the credential has "
                          f"{', '.join(sorted(principal.scopes)) or 'none'}")
        raise


def _store(request: Request, system: str, path: str, partial: bool):
    # in this process, or in the statistics process when the server has several HTTP workers
    return state_of(request.app).load(path, system, partial=partial)


async def deliver(request: Request, partial: bool = Query(False, description="store the good rows, report the bad")):
    principal = await run_in_threadpool(_deliverer, request)
    system = principal.org
    _note(request, system=system)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    kind = _MEDIA.get(media)
    if kind is None:
        raise Problem(415, f"a delivery comes as CSV (text/csv) or JSON (application/json), not {media or 'nothing'!r}")
    limit = _limit("MAX_LOANS_BYTES", DEFAULT_MAX_BYTES)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"the delivery is {int(declared):,} bytes; at most {limit:,} are taken "
                      "(METADATABRONN_MAX_LOANS_BYTES)", title="Body too large")
    fd, path = tempfile.mkstemp(prefix="loans-delivery-", suffix=f".{kind}")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Problem(413, f"the delivery is over {limit:,} bytes (METADATABRONN_MAX_LOANS_BYTES)",
                                  title="Body too large")
                out.write(chunk)
        if not size:
            raise Problem(400, "the body is empty: send the delivery as CSV or JSON")
        try:
            result = await run_in_threadpool(_store, request, system, path, partial)
        except DeliveryRejected as exc:
            problems = [p.as_dict() for p in exc.problems]
            _note(request, refused=len(problems))
            raise Problem(422, f"the delivery from {system} has {len(problems):,} bad rows; nothing was stored"
                          + ("" if partial else " (?partial=true stores the good rows)"),
                          title="Bad rows", system=system, bad_rows=len(problems),
                          problems=problems[:MOST_PROBLEMS]) from None
        except InputError as exc:
            raise Problem(400, f"the delivery cannot be read: {exc}; nothing was stored") from None
        except StoreError as exc:
            log.error("a delivery from %s could not be stored: %s", system, exc)
            raise Problem(503, f"the delivery could not be stored: {exc}", headers={"Retry-After": "5"}) from None
    finally:
        if os.path.exists(path):
            os.unlink(path)
    body = result.as_dict()
    problems = body.pop("problems", [])
    body["bytes"] = size
    if partial:
        body["bad_rows"] = len(problems)
        body["problems"] = problems[:MOST_PROBLEMS]
    _note(request, periods=body["periods"], rows=body["rows"], loans=body["loans"], bad_rows=len(problems))
    return JSONResponse(body)
