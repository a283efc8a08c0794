"""The line to a SPARQL server: one keep-alive HTTP client, the SPARQL 1.1 Protocol (queries
and updates, POSTed form-encoded) and the Graph Store HTTP Protocol, with timeouts and retries.

Settings (environment; defaults in brackets):

- ``METADATABRONN_SPARQL_TIMEOUT`` [300]: seconds a request may take (connect, read, write).
- ``METADATABRONN_SPARQL_RETRIES`` [3]: further tries of a request that failed in transit or
  that the server answered 502/503/504. Reads are always tried again; an update only when
  running it twice leaves what running it once does (see :func:`idempotent`), or when it never
  reached the server (the connection was refused).
- ``METADATABRONN_SPARQL_BACKOFF`` [0.5]: seconds before the first retry, doubled each time.
- ``METADATABRONN_SPARQL_USER`` / ``METADATABRONN_SPARQL_PASSWORD``: credentials (HTTP digest,
  which Virtuoso asks for, or basic: whichever the server asks for).
- ``METADATABRONN_SPARQL_GRAPH_STORE``: the Graph Store Protocol endpoint [the SPARQL endpoint's
  directory + ``sparql-graph-crud``, Virtuoso's].
- ``METADATABRONN_SPARQL_GZIP`` [0]: 1 asks for compressed answers. Virtuoso sends a compressed
  answer chunked and closes the connection after it, so each request then opens a new one (a
  look-up took twice as long here); worth it only where the network, not the round trip, is slow.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from ..errors import ConfigError, QueryTooCostly, StoreError
from .sparql import skeleton

log = logging.getLogger(__name__)

XML_RESULTS = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"
FORM = "application/x-www-form-urlencoded"
_RETRY_STATUS = {502, 503, 504}
_CUT_SHORT = "S1TAT"
# A transaction the server rolled back for waiting on locks too long or for a deadlock: nothing
# of it was written, and the same request may go through once the other writer is done.
_ROLLED_BACK = re.compile(r"\A\s*Virtuoso (?:40001|S1T00) Error SR17[12]")
# A query the server will not run: its estimate of the cost is over its own time limit.
_TOO_COSTLY = re.compile(r"Virtuoso \w+ Error The estimated execution time")


def _form(fields: list[tuple[str, str]]) -> bytes:
    # Repeated names (several default-graph-uri) need a list of pairs, which httpx's data= refuses.
    return urlencode(fields).encode("ascii")


def _env_number(name: str, default: float, minimum: float = 0) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def endpoint_of(url: str) -> str:
    """The HTTP(S) endpoint a ``sparql+http(s)://`` store name means (an HTTP URL is kept)."""
    if url.startswith(("sparql+http://", "sparql+https://")):
        url = url[len("sparql+"):]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"not a SPARQL endpoint: {url!r} (expected sparql+http://HOST:PORT/PATH)")
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/sparql", "", ""))


def graph_store_of(endpoint: str) -> str:
    given = os.environ.get("METADATABRONN_SPARQL_GRAPH_STORE")
    if given:
        return given
    parts = urlsplit(endpoint)
    directory = parts.path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, directory + "/sparql-graph-crud", "", ""))


_NOT_IDEMPOTENT = re.compile(r"(?i)(?<![\w?$:\-])(?:INSERT(?!\s+DATA\b)|LOAD|ADD|MOVE|COPY|WITH)(?![\w:\-])")


def idempotent(update: str) -> bool:
    """Whether running an update twice leaves what running it once does: only ``INSERT DATA``,
    ``DELETE DATA``, ``DELETE WHERE``/``DELETE … WHERE``, ``CLEAR``, ``DROP`` and ``CREATE``. An
    ``INSERT … WHERE`` may read what its first run wrote; ``LOAD`` reads the network."""
    text, _ = skeleton(update)
    if "_:" in text or "[" in text:  # blank nodes: each run makes new ones
        return False
    return _NOT_IDEMPOTENT.search(text) is None


class Line:
    """Requests to one SPARQL server over one pooled, keep-alive client."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.graph_store = graph_store_of(endpoint)
        self.timeout = _env_number("METADATABRONN_SPARQL_TIMEOUT", 300.0, 0.1)
        self.retries = int(_env_number("METADATABRONN_SPARQL_RETRIES", 3))
        self.backoff = _env_number("METADATABRONN_SPARQL_BACKOFF", 0.5)
        user = os.environ.get("METADATABRONN_SPARQL_USER")
        auth = None
        if user:
            auth = httpx.DigestAuth(user, os.environ.get("METADATABRONN_SPARQL_PASSWORD", ""))
        self.headers = {"User-Agent": "metadatabronn"}
        if not _env_number("METADATABRONN_SPARQL_GZIP", 0):
            self.headers["Accept-Encoding"] = "identity"  # keeps the connection open: see the settings
        self.client = httpx.Client(timeout=self.timeout, auth=auth, headers=self.headers,
                                   limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=30))
        self._pid = os.getpid()
        # Held by a bulk load for all its length (the server's loader locks much of its quad
        # table for seconds), and by every update: an update of another thread (the indexer
        # marking the batch before whole) waits for it instead of timing out on the server.
        self.writing = threading.RLock()

    def _client(self) -> httpx.Client:
        # A forked worker (export, dump) must not share its parent's sockets, nor a lock another
        # thread of the parent held when it forked.
        if os.getpid() != self._pid:
            self.client = httpx.Client(timeout=self.timeout, auth=self.client.auth, headers=self.headers)
            self.writing = threading.RLock()
            self._pid = os.getpid()
        return self.client

    def exclusive(self) -> threading.RLock:
        """The lock every write holds (see ``writing``)."""
        self._client()
        return self.writing

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, *, retry: bool, what: str, **kwargs) -> httpx.Response:
        """One request, tried again as the settings say; a :class:`StoreError` when it fails,
        a ``SyntaxError`` when the server says the text is not SPARQL it can run."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client().request(method, url, **kwargs)
            except httpx.ConnectError as exc:  # never reached the server: safe to send again
                if last:
                    raise StoreError(f"{what}: cannot reach the SPARQL server at {url}: {exc}") from exc
            except httpx.TransportError as exc:
                if last or not retry:
                    raise StoreError(f"{what}: the SPARQL server at {url} failed to answer: {exc!r}") from exc
            else:
                if self.server is None:
                    self.server = response.headers.get("server", "")
                # An answer the server cut short at its time limit (Virtuoso's "anytime" answer:
                # HTTP 200, X-SQL-State S1TAT) is never taken as the answer: asked again, as a
                # failed read is, then an error.
                cut = response.headers.get("x-sql-state", "").upper() == _CUT_SHORT
                if response.status_code < 400 and not cut:
                    return response
                if cut:
                    if last or not retry:
                        why = response.headers.get("x-sql-message", "").strip()
                        raise StoreError(f"{what}: the SPARQL server stopped it at its time limit and gave back only "
                                         f"part of the answer ({why}); raise the server's limit (Virtuoso: "
                                         "MaxQueryExecutionTime) or ask a narrower query")
                    log.warning("%s: the SPARQL server gave back part of the answer at its time limit", what)
                elif retry and not last and (response.status_code in _RETRY_STATUS or (
                        response.status_code == 500 and _ROLLED_BACK.match(response.text))):
                    log.warning("%s: the SPARQL server answered %d; trying again", what, response.status_code)
                else:
                    raise _failure(what, response)
            log.warning("%s: trying again in %.1f s (%d of %d)", what, delay, attempt + 1, self.retries)
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def query(self, text: str, params: list[tuple[str, str]], accept: str) -> bytes:
        return self.query_capped(text, params, accept)[0]

    def query_capped(self, text: str, params: list[tuple[str, str]], accept: str) -> tuple[bytes, int | None]:
        """The answer, and the server's cap on its rows when it says it applied it (Virtuoso's
        ``X-SPARQL-MaxRows``: the answer has that many rows, and may have been cut there)."""
        response = self.request("POST", self.endpoint, retry=True, what="the query",
                                content=_form([("query", text), *params]),
                                headers={"Accept": accept, "Content-Type": FORM})
        cap = response.headers.get("x-sparql-maxrows")
        return response.content, int(cap) if cap and cap.isdigit() else None

    def update(self, text: str, params: list[tuple[str, str]] = ()) -> None:
        with self.exclusive():
            self.request("POST", self.endpoint, retry=idempotent(text), what="the update",
                         content=_form([("update", text), *params]), headers={"Content-Type": FORM})

    graph_store_works: bool | None = None  # None: not tried yet
    server: str | None = None  # the server's ``Server`` header, from its first answer

    def is_virtuoso(self) -> bool:
        if self.server is None:
            self.query("ASK {}", [], "application/sparql-results+xml")
        return (self.server or "").lower().startswith("virtuoso")

    def post_graph(self, graph: str, ntriples: bytes, *, replace: bool = False) -> bool:
        """Add triples to a named graph (or, ``replace``, put them in place of what it held) by
        the Graph Store Protocol: one request, which the server parses as data rather than
        compiling as SPARQL (Virtuoso: five times the rate of ``INSERT DATA``, and no limit on the
        query's size). False when the server has no such endpoint or refuses it: the caller uses
        SPARQL Update instead, from then on."""
        if self.graph_store_works is False:
            return False
        try:
            with self.exclusive():
                self.request("PUT" if replace else "POST", self.graph_store, retry=True, what="the graph write",
                             params={"graph-uri": graph}, content=ntriples,
                             headers={"Content-Type": "text/turtle"})
        except StoreError as exc:
            if self.graph_store_works:  # it worked before: this write alone goes by SPARQL Update
                log.warning("the Graph Store Protocol endpoint %s refused a write to %s (%s): writing it by "
                            "SPARQL Update", self.graph_store, graph, exc)
                return False
            log.info("the Graph Store Protocol endpoint %s refused a write (%s): writing by SPARQL Update",
                     self.graph_store, exc)
            self.graph_store_works = False
            return False
        if self.graph_store_works is None:
            log.info("writing by the Graph Store Protocol at %s", self.graph_store)
        self.graph_store_works = True
        return True

    def put_graph(self, graph: str, ntriples: bytes) -> bool:
        return self.post_graph(graph, ntriples, replace=True)


def _said(body: str) -> str:
    """What the server said, on one line: Virtuoso adds the query it was sent (with the
    ``define`` lines the well put before it) after a blank line."""
    said = re.split(r"\n\s*\n\s*SPARQL (?:query|request):", body, maxsplit=1)[0]
    return " ".join(said.split())


def _failure(what: str, response: httpx.Response) -> Exception:
    body = response.text[:1000]
    if _TOO_COSTLY.search(body):
        return QueryTooCostly(f"{what}: the SPARQL server will not run it within its time limit: {_said(body)}")
    if response.status_code == 400 or "SPARQL compiler" in body or "SP030" in body:
        return SyntaxError(f"the SPARQL server refused the text: {_said(body)}")
    if response.status_code in (401, 403):
        return StoreError(f"{what}: the SPARQL server refused it ({response.status_code}): set "
                          "METADATABRONN_SPARQL_USER and METADATABRONN_SPARQL_PASSWORD, or grant the "
                          f"server's SPARQL user the right to update. {_said(body)}")
    return StoreError(f"{what}: the SPARQL server answered {response.status_code}: {_said(body)}")
