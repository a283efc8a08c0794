"""Errors as RFC 9457 problem details: one JSON shape for every error the API returns; a browser
(an Accept header that prefers HTML) gets the same status, title and detail as a page."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .catalogue.errors import error_page, wants_html

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           406: "Not acceptable", 409: "Conflict", 410: "Gone", 412: "Precondition failed", 428: "Precondition required", 413: "Result too large", 415: "Unsupported media type",
           422: "Invalid parameters", 500: "Internal error", 503: "Busy", 504: "Query timed out"}


class Problem(Exception):
    """An error answer: ``status``, a short ``title``, a ``detail`` for this occurrence, and
    any extension members (``position`` of a syntax error, ``deleted`` of a tombstone)."""

    def __init__(self, status: int, detail: str, *, title: str | None = None, type_: str = "about:blank",
                 headers: dict | None = None, **extensions):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.type = type_
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(request: Request, status: int, detail: str, *, title: str | None = None,
                     type_: str = "about:blank", headers: dict | None = None, **extensions) -> JSONResponse:
    if wants_html(request):
        page = error_page(request, status, title or _TITLES.get(status, "Error"), detail, extensions)
        return HTMLResponse(page, status_code=status, headers={**(headers or {}), "Vary": "Accept"})
    body = {"type": type_, "title": title or _TITLES.get(status, "Error"), "status": status,
            "detail": detail, "instance": str(request.url.path), **extensions}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(request, exc.status, exc.detail, title=exc.title, type_=exc.type,
                                headers=exc.headers, **exc.extensions)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        return problem_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['where']}: {e['message']}" for e in errors)
        return problem_response(request, 422, detail, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - a defect, logged
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(request, 500, "an unexpected error; it has been logged")


def _files_gone(exc: BaseException) -> bool:
    """Whether a read failed because a file of the store's view was removed by its writer
    (RocksDB's "IO error: No such file or directory" from a read-only view)."""
    return isinstance(exc, OSError) and "No such file or directory" in str(exc) and "IO error" in str(exc)


class FilesGone:
    """ASGI middleware: a request that failed because the writer compacted the store under the
    server's read-only view (its files replaced) opens a fresh view at once. A GET or HEAD is
    then answered again from the fresh view (it changes nothing, and a reader beside busy
    writers would otherwise see the error: 1 read in 1,200 under 4 writing clients on the LC
    20k store); any other request, or a GET that meets it twice, is answered 503 with
    Retry-After. A plain exception handler would answer too, but the server would still log the
    error as a defect, with its traceback, for what is an expected moment."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        again = scope.get("method") in ("GET", "HEAD")
        received: list = []

        async def recording():
            message = await receive()
            received.append(message)
            return message

        exc = await self._attempt(scope, recording if again else receive, send)
        if exc is None:
            return
        await self._reopen(scope, exc)
        if again:
            replay = list(received)

            async def replaying():
                return replay.pop(0) if replay else await receive()

            exc = await self._attempt(scope, replaying, send)
            if exc is None:
                return
            await self._reopen(scope, exc)
        response = problem_response(Request(scope), 503, "the store changed under this view of it; a fresh "
                                    "view is being opened: try again in a moment", headers={"Retry-After": "1"})
        await response(scope, receive, send)

    async def _attempt(self, scope, receive, send) -> Exception | None:
        """None when the app answered; the exception when a file of the view was gone before
        any of the answer went out (anything else goes on as it was raised)."""
        started = False

        async def sending(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started or not _files_gone(exc):
                raise
            return exc
        return None

    @staticmethod
    async def _reopen(scope, exc: Exception) -> None:
        app = scope.get("app")
        well = getattr(getattr(app, "state", None), "well", None)
        log.warning("a file of the store's view is gone (%s): opening a fresh view", exc)
        if well is None:
            return
        well.lost_files()
        try:  # now, not at the next look (a server may look never: --refresh 0)
            await run_in_threadpool(well.refresh_if_changed, app)
        except Exception:  # noqa: BLE001 - the watcher tries again; the client retries
            log.exception("could not open a fresh view of the store")
