"""The mirror client: a copy of a well kept in step by its dump and its change feed.

A first run reads the feed's entry point (``/changes``), downloads the N-Quads dump it links
(streamed to a file beside the mirror, resumed with ``Range`` after a network error), loads it,
and takes the feed position the dump is in step with from its first line. Every run then follows
the feed from the position it saved: the distinct entities the activities after it name are
fetched (``POST /documents``) and written, each entity whole in one transaction, and only then
is the position saved, so a run cut short anywhere repeats at most the write it was in, which
replaces the same documents again. A position the feed no longer keeps (410) is met with a fresh dump.
The mirror's name index is made again after a dump, and each entity's names after its document
(:meth:`~metadatabronn.store.mirroring.MirrorStore.index_names`), so a server over the mirror
finds agents by name; authority records come in their entities' documents.

The state file (``mirror.json`` in the mirror's directory) holds the source and the position; a
mirror follows one source, and another is refused, as a store refuses another base IRI.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin

import httpx

from ..errors import MirrorError
from ..store.documents import Document
from ..store.mirroring import STATE_FILE, MirrorStore, State, dump_header
from .fetching import Settings, Source

log = logging.getLogger(__name__)

DUMP_FILE = "dump.nq.part"  # the dump under download, in the mirror's directory


@dataclass
class Result:
    activities: int = 0  # activities applied
    documents: int = 0  # documents fetched and written
    quads: int = 0  # statements the documents held
    seconds: float = 0.0
    position: int = 0  # where the mirror now stands in the feed
    dump: dict | None = None  # the header of the dump loaded in this run, if one was
    dump_quads: int = 0
    dump_seconds: float = 0.0
    retried: int = 0  # requests retried after a network error or a 5xx

    @property
    def rate(self) -> float:
        """Activities applied a second, the dump's load left out."""
        follow = self.seconds - self.dump_seconds
        return self.activities / follow if follow > 0 else 0.0


def entry_point(url: str) -> str:
    """The feed's entry point, from the well's root or the entry point itself."""
    url = url.strip().split("#", 1)[0].rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise MirrorError(f"the source must be an http(s) URL (the well's root or its /changes), not {url!r}")
    return url if url.endswith("/changes") else url + "/changes"


# the dump ------------------------------------------------------------------------------------------

def dump_link(entry: str, body: dict) -> str | None:
    """The N-Quads dump the entry point links (``url``: a string, a Link, or a list of them)."""
    links = body.get("url")
    links = links if isinstance(links, list) else [links] if links else []
    found = []
    for link in links:
        if isinstance(link, str):
            found.append((True, link))
        elif isinstance(link, dict) and (link.get("href") or link.get("id")):
            media = str(link.get("mediaType") or "")
            found.append(("n-quads" in media or not media, link.get("href") or link.get("id")))
    for nquads, href in sorted(found, key=lambda x: not x[0]):
        if nquads:
            return urljoin(entry, href)
    return None


# the run ---------------------------------------------------------------------------------------------

class _Expired(Exception):
    """The feed no longer keeps a position (410): its problem document's detail."""


def _named(activities: list[dict]) -> list[str]:
    try:
        return list(dict.fromkeys(a["object"]["id"] for a in activities))
    except (KeyError, TypeError) as exc:
        raise MirrorError(f"an activity of the feed has no object id: {exc}") from exc


class Run:
    """One mirror run over a directory: the store, its state, the source."""

    def __init__(self, source: Source, directory: Path, state: State,
                 progress: Callable[[int, int], None] | None, say: Callable[[str], None]):
        self.source, self.directory, self.state = source, directory, state
        self.progress, self.say = progress, say
        self.store = MirrorStore(directory)
        self.result = Result()

    def fresh_dump(self, entry: dict, why: str | None) -> None:
        link = dump_link(self.source.entry, entry)
        if link is None:
            if why is not None:
                raise MirrorError(f"{why}, and the source links no dump to start again from")
            log.info("the source links no dump: following its feed from the start")
            self.store.clear()
            self.store.index_names()
            self.state.position, self.state.sequence, self.state.dump = 0, 0, None
            self.state.save(self.directory)
            return
        if why is not None:
            self.say(f"{why}: loading a fresh dump ({link})")
        started = time.perf_counter()
        self.state.position = None  # wanted again if the load is cut short
        self.state.save(self.directory)
        target = self.directory / DUMP_FILE
        log.info("downloading the dump %s", link)
        try:
            size = self.source.download(link, target)
            header = dump_header(target)
            log.info("dump of %d bytes downloaded; loading it", size)
            self.store.clear()
            self.result.dump_quads = self.store.load_dump(target)
            self.store.index_names()
        finally:
            target.unlink(missing_ok=True)
        self.state.position = self.position_of(header)
        header = {**header, "position": self.state.position}
        self.state.sequence = header.get("sequence")
        self.state.dump = header
        self.state.save(self.directory)
        self.result.dump = header
        self.result.dump_seconds += time.perf_counter() - started

    def position_of(self, header: dict) -> int:
        """The feed position a dump is in step with: its header's, else the position before the
        first activity after its change-log sequence, as the feed finds it (``since``)."""
        if header.get("position") is not None:
            return int(header["position"])
        r = self.source.request("GET", f"{self.source.entry}?since={int(header['sequence'])}",
                                follow_redirects=False)
        first = r.headers.get("feed-position")
        if r.status_code != 303 or not (first or "").isdigit():
            raise MirrorError(f"the dump states no feed position, and the feed gives none for its sequence "
                              f"{header['sequence']} ({r.status_code})")
        return int(first) - 1

    def page(self, url: str) -> dict:
        status, body = self.source.json(url, allow=(410,))
        if status == 410:
            raise _Expired(body.get("detail") or "gone")
        return body

    def follow(self, entry: dict) -> None:
        """Apply the feed from the saved position to its end as the source now shows it; from
        a fresh dump's position when the feed no longer keeps the saved one (410)."""
        try:
            self._follow(entry)
        except _Expired as gone:
            self.fresh_dump(self.source.json(self.source.entry)[1],
                            f"position {self.state.position} is no longer in the source's feed ({gone})")
            try:
                self._follow(entry)
            except _Expired as again:
                raise MirrorError(f"the feed no longer keeps the position of its own latest dump "
                                  f"({self.state.position}): {again}") from None

    def _follow(self, entry: dict) -> None:
        position = self.state.position
        total = int(entry.get("totalItems") or 0)
        page = self.page(f"{self.source.entry}?after={position}")
        todo = max(total - position, 0)
        if self.progress:
            self.progress(0, todo)
        # The next batch's pages and documents come over the network, in a thread of its own,
        # while one is written (pyoxigraph lets go of the interpreter while it writes).
        batches = self.batches(page, position)
        fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mirror-fetch")
        try:
            coming = fetcher.submit(next, batches, None)
            while (batch := coming.result()) is not None:
                coming = fetcher.submit(next, batches, None)
                self.write(*batch)
                if self.progress:
                    todo = max(todo, self.result.activities)
                    self.progress(len(batch[0]), todo)
        finally:
            fetcher.shutdown(wait=False, cancel_futures=True)

    def batches(self, page: dict, position: int) -> Iterator[tuple[list[dict], list[Document]]]:
        """The activities after ``position`` from ``page`` on, a batch of whole pages naming up to
        ``settings.batch`` entities at a time, each with the documents of what it names."""
        batch: list[dict] = []
        while True:
            items = page.get("orderedItems") or []
            start = int(page.get("startIndex") or 0)
            for i, a in enumerate(items):
                at = int(a.get("position", start + i + 1))
                if at > (batch[-1]["_at"] if batch else position):
                    batch.append({**a, "_at": at})
            ahead = page.get("next")
            ahead = ahead.get("id") if isinstance(ahead, dict) else ahead
            ids = _named(batch)
            if batch and (len(ids) >= self.source.settings.batch or not ahead):
                yield batch, self.source.documents(ids, max(int(a.get("sequence") or 0) for a in batch))
                position, batch = batch[-1]["_at"], []
            if not ahead:
                return
            page = self.page(urljoin(self.source.entry, ahead))

    def write(self, activities: list[dict], documents: list[Document]) -> None:
        """Write the documents of what these activities name, then save the position of the last."""
        self.result.quads += self.store.apply(documents)
        self.store.index_names(documents)
        self.result.documents += len(documents)
        self.result.activities += len(activities)
        last = activities[-1]
        self.state.position = last["_at"]
        self.state.sequence = last.get("sequence", self.state.sequence)
        self.state.save(self.directory)


def mirror(url: str, directory: str | os.PathLike, settings: Settings | None = None, *,
           progress: Callable[[int, int], None] | None = None, say: Callable[[str], None] | None = None,
           client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
           fresh: bool = False) -> Result:
    """Bring the mirror in ``directory`` up to the well at ``url`` (its root or its
    ``/changes``). ``progress(done, total)``: activities applied since the last call, and how many
    the run now expects; ``say``: a message the user should see (a fallback to a fresh dump);
    ``client``: one that follows redirects (the feed answers ``after`` with 303); ``fresh``: load
    the newest dump again, whatever the position (what the feed does not announce, such as the
    labels graph of a newer release, comes with it)."""
    settings = settings or Settings()
    say = say or log.warning
    entry = entry_point(url)
    directory = Path(directory)
    started = time.perf_counter()
    state = State.read(directory)
    if state is not None and state.source != entry:
        raise MirrorError(f"the mirror at {directory} follows {state.source}, not {entry}: give that source, or "
                          f"another directory for a mirror of {entry}")
    if state is None and directory.exists() and any(directory.iterdir()):
        raise MirrorError(f"{directory} is not empty and holds no mirror ({STATE_FILE}): give an empty or new "
                          "directory for the mirror")
    source = Source(entry, settings, client, sleep)
    run = None
    try:
        _, body = source.json(entry)
        if body.get("type") not in ("OrderedCollection", "as:OrderedCollection"):
            raise MirrorError(f"{entry} is not a change feed's entry point (an OrderedCollection)")
        if state is None:  # the source is remembered once it has answered as one, before anything is written
            directory.mkdir(parents=True, exist_ok=True)
            state = State(source=entry)
            state.save(directory)
        run = Run(source, directory, state, progress, say)
        if state.position is None or fresh:
            run.fresh_dump(body, None)
        run.follow(body)
    finally:
        if run is not None:
            run.store.close()
        if client is None:
            source.close()
    run.result.position = state.position or 0
    run.result.retried = source.retried
    run.result.seconds = time.perf_counter() - started
    return run.result
