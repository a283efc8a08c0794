"""The audit log: one JSON line per request that may change something (every method but GET,
HEAD and OPTIONS): when, what, from where, who, and the result.

The file is opened for appending (``O_APPEND``) and each line goes out in one ``write()``, so
several server processes can share it without interleaving lines; a lock keeps this process's
threads in turn. The line is written as the answer begins, before its first byte leaves, so a
client holding its answer finds its line. Writing it never breaks a request: a failure is logged
and the answer goes out.
What an endpoint wants recorded besides (the entity's IRI, the outcome) it puts in
``scope["state"]["audit"]`` (``request.state.audit``), a dict merged into the line.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from . import jsontext


log = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"  # in the store's directory unless METADATABRONN_AUDIT_LOG names another
_QUIET = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that only read (a query, a harvest, documents asked for by a list too long for a URL)
_READING_POSTS = frozenset({"/sparql", "/oai", "/documents"})
_RESERVED = frozenset({"time", "method", "path", "query", "client", "forwarded_for", "principal", "status",
                       "seconds"})


def default_audit_log(store: Path, environ=os.environ, flag: str | None = None) -> Path:
    """The audit log: ``flag``, else ``METADATABRONN_AUDIT_LOG``, else STORE/audit.jsonl."""
    given = flag or environ.get("METADATABRONN_AUDIT_LOG")
    return Path(given) if given else Path(store) / AUDIT_FILE


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class Audit:
    """ASGI middleware writing the audit log at ``path``."""

    def __init__(self, app, path: Path | str):
        self.app = app
        self.path = Path(path)
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        method = scope.get("method", "GET").upper() if scope["type"] == "http" else ""
        if not method or method in _QUIET or (method == "POST" and scope.get("path") in _READING_POSTS):
            return await self.app(scope, receive, send)
        # The endpoint's request.state is this very dict only if it exists before the app runs.
        state = scope.setdefault("state", {})
        began, written = time.monotonic(), False

        async def sending(message):
            nonlocal written
            if message["type"] == "http.response.start" and not written:
                # before the answer goes out: a client that has its answer finds its line
                written = True
                self.record(scope, state, message["status"], time.monotonic() - began)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not written:  # no answer began: the app failed (the server answers 500)
                self.record(scope, state, 500, time.monotonic() - began)

    def record(self, scope, state, status: int | None, seconds: float) -> None:
        try:
            line = self._line(scope, state, status, seconds)
            data = jsontext.dumps(line, newline=True, default=str)
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
        except Exception:  # noqa: BLE001 - the request has been answered; its record is logged as lost
            log.exception("could not write the audit log %s for %s %s", self.path, scope.get("method"),
                          scope.get("path"))

    @staticmethod
    def _line(scope, state, status, seconds) -> dict:
        client = scope.get("client")
        line = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "method": scope.get("method"), "path": scope.get("path"),
                "query": (scope.get("query_string") or b"").decode("latin-1") or None,
                "client": client[0] if client else None}
        forwarded = _header(scope, b"x-forwarded-for")
        if forwarded:
            line["forwarded_for"] = forwarded
        principal = state.get("principal") if isinstance(state, dict) else None
        if principal is not None:
            line["principal"] = {"org": getattr(principal, "org", None), "user": getattr(principal, "user", None),
                                 "method": getattr(principal, "method", None)}
        line["status"] = status
        line["seconds"] = round(seconds, 4)
        extra = state.get("audit") if isinstance(state, dict) else None
        if isinstance(extra, dict):
            # the endpoint's own entries cannot overwrite who, when and the result
            line.update({k: v for k, v in extra.items() if k not in _RESERVED})
        return line
