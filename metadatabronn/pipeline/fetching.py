"""The HTTP side of a mirror: one well's feed, documents and dump, asked for with retries.

Network errors and 5xx answers are retried with doubling waits (a ``Retry-After`` is honoured up
to the longest wait); any other error answer is a :class:`~metadatabronn.errors.MirrorError` in
the words of its problem document. A dump downloads to a file and resumes with ``Range``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx

from ..errors import MirrorError
from ..store.documents import Document

log = logging.getLogger("metadatabronn.pipeline.mirror")

MAX_IDS = 1000  # entities a /documents request may name (the well's limit)
ACCEPT_FEED = "application/activity+json, application/ld+json;q=0.9, application/json;q=0.8"


@dataclass
class Settings:
    retries: int = 6  # of one request, after a network error or a 5xx
    backoff: float = 1.0  # seconds before the first retry; doubled for each next one
    max_backoff: float = 60.0
    timeout: float = 60.0  # seconds a request may wait for the source
    batch: int = MAX_IDS  # entities fetched and written at once (whole pages: a write may name a page more)


class Source:
    """The well over HTTP: every request retried after a network error or a 5xx, with
    exponential backoff; any other error answer is a :class:`MirrorError` with the problem
    document's text, unless the caller takes its status (``allow``)."""

    def __init__(self, entry: str, settings: Settings, client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.entry = entry
        self.root = entry[: -len("/changes")]
        self.settings = settings
        self.sleep = sleep
        self.client = client or httpx.Client(timeout=settings.timeout, follow_redirects=True,
                                             headers={"User-Agent": "metadatabronn-mirror"})
        self.retried = 0

    def close(self) -> None:
        self.client.close()

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        wait = min(self.settings.backoff * 2 ** attempt, self.settings.max_backoff)
        after = response.headers.get("retry-after") if response is not None else None
        if after and after.isdigit():
            wait = min(max(wait, float(after)), self.settings.max_backoff)
        self.retried += 1
        self.sleep(wait)

    def request(self, method: str, url: str, *, allow: tuple[int, ...] = (), **kw) -> httpx.Response:
        for attempt in range(self.settings.retries + 1):
            response = None
            try:
                response = self.client.request(method, url, **kw)
            except httpx.TransportError as exc:
                why = f"cannot reach the source: {method} {url}: {type(exc).__name__}" + (f": {exc}" if str(exc) else "")
            else:
                if response.status_code < 500 or response.status_code in allow:
                    if response.status_code >= 400 and response.status_code not in allow:
                        raise MirrorError(problem(url, response))
                    return response
                why = f"the source is failing: {method} {problem(url, response)}"
            if attempt == self.settings.retries:
                raise MirrorError(why + (f" (tried {attempt + 1} times)" if attempt else ""))
            log.info("%s %s: %s; retrying", method, url, why)
            self._wait(attempt, response)
        raise AssertionError("unreachable")

    def json(self, url: str, *, allow: tuple[int, ...] = ()) -> tuple[int, dict]:
        r = self.request("GET", url, allow=allow, headers={"Accept": ACCEPT_FEED})
        try:
            return r.status_code, r.json()
        except ValueError as exc:
            raise MirrorError(f"{url} did not answer with JSON ({r.headers.get('content-type')})") from exc

    def documents(self, ids: list[str], sequence: int = 0) -> list[Document]:
        """The documents of these entities, as a view of the store at least as new as change-log
        entry ``sequence`` holds them. A server of several processes may answer from an older
        view than the page was read from; when the answer says which (its ``sequence``), an
        older one is asked again, as a 503 would be."""
        out: list[Document] = []
        for start in range(0, len(ids), MAX_IDS):
            chunk = ids[start:start + MAX_IDS]
            for attempt in range(self.settings.retries + 1):
                r = self.request("POST", f"{self.root}/documents", json={"ids": chunk})
                try:
                    body = r.json()
                    found = {d["id"]: d for d in body["documents"]}
                    docs = [Document(iri, found[iri].get("graph"), found[iri].get("nquads") or "") for iri in chunk]
                except (ValueError, KeyError, TypeError) as exc:
                    raise MirrorError(f"{self.root}/documents answered without the documents asked for ({exc})") from exc
                seen = body.get("sequence")
                if not isinstance(seen, int) or seen >= sequence:
                    break
                if attempt == self.settings.retries:
                    raise MirrorError(f"{self.root}/documents answers from change-log entry {seen}, older than the "
                                      f"feed's {sequence} (tried {attempt + 1} times)")
                log.info("documents from sequence %d, older than the feed's %d; asking again", seen, sequence)
                self._wait(attempt, r)
            out.extend(docs)
        return out

    def download(self, url: str, target: Path) -> int:
        """Stream ``url`` into ``target`` as sent (a gzipped dump stays gzipped), resuming with
        ``Range`` after a network error; the bytes written."""
        have, validator, failures = 0, None, 0
        with open(target, "wb") as out:
            while True:
                headers = {"Accept-Encoding": "identity"}
                if have:
                    headers["Range"] = f"bytes={have}-"
                    if validator:
                        headers["If-Range"] = validator
                try:
                    with self.client.stream("GET", url, headers=headers) as r:
                        if r.status_code >= 400:
                            r.read()
                            if r.status_code < 500:
                                raise MirrorError(problem(url, r))
                            raise _Retry(problem(url, r), r)
                        if r.status_code != 206:  # the whole file (again)
                            out.seek(0)
                            out.truncate()
                            have = 0
                        validator = r.headers.get("etag") or r.headers.get("last-modified") or validator
                        expected = _expected(r, have)
                        for chunk in r.iter_raw():
                            out.write(chunk)
                            have += len(chunk)
                        if expected is not None and have < expected:
                            raise _Retry(f"the download stopped at byte {have:,} of {expected:,}", None)
                        return have
                except (httpx.TransportError, _Retry) as exc:
                    failures += 1
                    if failures > self.settings.retries:
                        raise MirrorError(f"cannot download the dump {url}: {exc} (tried {failures} times; "
                                          f"{have:,} bytes arrived)") from exc
                    log.info("dump download interrupted at byte %d (%s); resuming", have, exc)
                    self._wait(failures - 1, getattr(exc, "response", None))


class _Retry(Exception):
    def __init__(self, why: str, response: httpx.Response | None):
        super().__init__(why)
        self.response = response


def _expected(r: httpx.Response, have: int) -> int | None:
    """The size the whole file will have once this answer's body is written after ``have``."""
    if r.status_code == 206:
        total = r.headers.get("content-range", "").rpartition("/")[2]
        if total.isdigit():
            return int(total)
    length = r.headers.get("content-length")
    return have + int(length) if length and length.isdigit() else None


def problem(url: str, r: httpx.Response) -> str:
    """An error answer in words: its problem document's title and detail, else its status."""
    text = f"{url} answered {r.status_code}"
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("title") or body.get("detail")):
        return f"{text} {body.get('title') or ''}: {body.get('detail') or ''}".rstrip(": ")
    return f"{text} {r.reason_phrase}".rstrip()
