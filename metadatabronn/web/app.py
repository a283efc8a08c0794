"""The web app factory: REST entities and look-ups, SPARQL, OAI-PMH and SRU, the query page.

The app opens the store read-only, so ingest can run beside it, and serves a snapshot of it; a
store written meanwhile is shown once it has been quiet for ``refresh`` seconds.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from .. import __version__
from ..config import DEFAULT_QUERY_NICE, DEFAULT_QUERY_WAIT  # kept in config: serve reads them without the app
from ..errors import StoreError
from ..pipeline.dump import dumps_dir as _dumps_dir
from ..store import Store, generation
from ..store.catalogue import Catalogue
from ..pipeline.writer import Writer
from . import (agents, bundle, documents, dumps, entities, feed, lookups, oai, problems, recordgraphs, sparql, sru,
               statistics, statistics_chart, writes)
from .audit import Audit, default_audit_log
from .auth import AuthSettings, authenticator
from .pinning import PinSnapshot, WellState
from .catalogue import routes as catalogue
from .queries import Admission, QueryWorkers

log = logging.getLogger(__name__)


class Snapshot:
    """One read-only view of the store, and what is worked out from it once: entity counts,
    response caches (keyed by this snapshot), the SRU index (built on first use); and a read-only
    view of the catalogue index, which OAI-PMH lists from as far as ``sequence``, the last
    change-log entry this view of the store holds.

    ``started`` is taken before the store is opened, so every write that had ended by then is in
    the view; ``horizon`` is the OAI-PMH responseDate of every answer from it (see
    :func:`oai.horizon`)."""

    def __init__(self, store_path: Path, base: str):
        self.base = base
        # The catalogue index first: opening it read-only can make its shared-memory file, which
        # must not count as a change of the store.
        self.catalogue = _catalogue(store_path)
        self.started = datetime.now(timezone.utc).replace(microsecond=0)
        self.generation = generation(store_path)
        self.store = Store(store_path, base, read_only=True)
        # The index's sequence is the likely answer (it is caught up with every write): checked
        # by one look-up instead of a walk over every number the writer replaced since compaction.
        hint = self.catalogue.sequence if self.catalogue is not None else None
        self.sequence = self.store.next_sequence(hint) - 1  # the last change this view holds
        self.horizon = oai.horizon(self.store, self.started, self.sequence)
        self.oai: oai.Repository | None = None
        self._counts: dict[str, int] | None = None
        self._counting = threading.Lock()
        self.key = entities.register(self)

    @property
    def counts(self) -> dict[str, int] | None:
        """Works, expressions, manifestations and agents as the store keeps them with each write
        (one look-up: counting them would read the whole store); None for a store that has
        not been written since counts were kept."""
        with self._counting:
            if self._counts is None:
                self._counts = self.store.entity_counts() or {}
            return self._counts or None


def _catalogue(store_path: Path) -> Catalogue | None:
    try:
        return Catalogue(store_path, read_only=True)
    except StoreError as exc:
        log.warning("%s; OAI-PMH cannot answer until it has one", exc)
        return None


class Well:
    """The served store. With ``refresh`` seconds, a change on disk (an ingest, an update) that
    has then stayed quiet for that long is picked up: a new snapshot replaces the old one
    between requests. Requests under way finish on the snapshot they started with."""

    def __init__(self, store_path: Path, base: str, refresh: float):
        self.store_path, self.base, self.refresh = store_path, base, refresh
        self.snapshot = Snapshot(store_path, base)
        self._seen, self._seen_at = self.snapshot.generation, time.monotonic()
        self._lock = threading.Lock()
        self._lost = False  # a request found a file of the view gone: reopen without waiting for quiet
        # Set when this server's own writer writes the store: every write ends whole (a load
        # marks itself pending), so a change is served after ``refresh`` seconds, quiet or not.
        self.eager = False
        self._opened_at = time.monotonic()

    def lost_files(self) -> None:
        """A file of the view is gone (the writer compacted the store under it): the next look
        opens a fresh view at once, not once the store has been quiet for ``refresh`` seconds."""
        self._lost = True

    def install(self, app: FastAPI) -> None:
        snap = self.snapshot
        # One assignment: store, key and started are read off the snapshot (pinning), and a
        # request answers from the snapshot installed when it began.
        app.state.snapshot = snap

    def refresh_if_changed(self, app: FastAPI, now: float | None = None) -> bool:
        """Open a fresh snapshot if the store on disk has changed and has then stayed quiet for
        ``refresh`` seconds (measured from when this process first saw it as it is now).
        Whether it did."""
        now = time.monotonic() if now is None else now
        with self._lock:
            current = generation(self.store_path)
            lost, self._lost = self._lost, False
            if current == self.snapshot.generation and not lost:
                self._seen, self._seen_at = current, now
                return False
            if not lost:
                if self.eager:
                    if now - self._opened_at < self.refresh:
                        return False
                elif current != self._seen:  # still being written: wait until it has been quiet
                    self._seen, self._seen_at = current, now
                    return False
                elif now - self._seen_at < self.refresh:
                    return False
            opening = time.monotonic()
            quiet = opening - self._seen_at
            snapshot = Snapshot(self.store_path, self.base)
            # Installed under the lock a harvesting request takes to make its view, so that
            # such a request sees the fresh snapshot whole.
            with oai._building:
                self.snapshot, self._seen, self._seen_at = snapshot, snapshot.generation, now
                self._opened_at = time.monotonic()
                self.install(app)
                log.info("the store changed on disk: serving a fresh view of it (opened in %.1f s; quiet since "
                         "%.1f s before)", time.monotonic() - opening, quiet)
                if snapshot.catalogue is not None:
                    snapshot.oai = oai.Repository(snapshot.store, snapshot.catalogue, snapshot.sequence, self.base,
                                                  snapshot.started, app.state.queries)
            return True

    def watch(self, app: FastAPI) -> threading.Event:
        """Look at the store on disk several times per ``refresh`` seconds, on a thread of its
        own: neither requests in the event loop nor a full thread pool (queries waiting for a
        worker) hold it up, so a change is served within ``refresh`` seconds plus one look
        (a quarter of ``refresh``, at most 1 s) and the time it takes to open. Set the
        returned event to stop it."""
        stop = threading.Event()
        every = min(1.0, max(0.05, self.refresh / 4))

        def run() -> None:
            while not stop.wait(every):
                try:
                    self.refresh_if_changed(app)
                except Exception:  # noqa: BLE001 - a failed look is logged and tried again later
                    log.exception("could not open a fresh view of the store")

        threading.Thread(target=run, name="metadatabronn-refresh", daemon=True).start()
        return stop


def create_app(store_path: Path, base: str, *, query_workers: int = 2, timeout: float = 30.0,
               max_bytes: int = 50_000_000, refresh: float = 5.0, query_wait: float = DEFAULT_QUERY_WAIT,
               query_nice: int = DEFAULT_QUERY_NICE, dumps_dir: Path | None = None,
               auth: AuthSettings | None = None, writer: Writer | None = None,
               audit_log: Path | None = None, freeze: bool = False) -> FastAPI:
    """The FastAPI app over the store at ``store_path`` (which must exist).

    Writes are taken only with ``auth`` enabled (an OpenID Connect issuer or API keys) and a
    ``writer`` (the process holding the store for writing, :mod:`..pipeline.writer`); every
    request that may change something is then logged to ``audit_log`` (default
    STORE/audit.jsonl).

    ``query_wait``: seconds a SPARQL request waits for a free query worker before it is
    answered 503 with Retry-After; ``query_nice``: the query workers' lower CPU priority.

    ``freeze``: hand what start-up made to Python's garbage collector as permanent (``serve``
    does: the process serves until it stops; a test that builds many apps must not)."""
    if not Path(store_path).exists():
        raise StoreError(f"no store at {store_path}: run 'metadatabronn ingest' first or give --store")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        well = Well(Path(store_path), base, refresh)
        queries = QueryWorkers(Path(store_path), base, workers=query_workers, timeout=timeout, max_bytes=max_bytes,
                               refresh=refresh, nice=query_nice)
        app.state.well, app.state.base, app.state.queries = well, base, queries
        app.state.admission = Admission(query_workers, query_wait)
        app.state.writer = writer if authenticator_ is not None else None
        app.state.auth = authenticator_ if writer is not None else None
        well.eager = app.state.writer is not None
        well.install(app)
        watcher = well.watch(app) if refresh else None
        if freeze:
            # What start-up made (modules, the app, the profiles: some 100,000 objects) lives
            # as long as the process. Left to the garbage collector, each full collection
            # walked it again, 70-100 ms during whichever request set one off: at 250,000
            # records, most of SRU's slowest answers. Frozen, a collection walks only what
            # serving made since.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if watcher is not None:
                watcher.set()
            queries.close()
            statistics.close(app)
            if writer is not None:
                writer.close()

    authenticator_ = authenticator(auth) if auth is not None else None
    app = FastAPI(title="metadatabronn", version=__version__, lifespan=lifespan,
                  description="A metadata well: RDA entities from MARC 21, as linked data, SPARQL and MARC. "
                              "Every error is an RFC 9457 problem document (`application/problem+json`).")
    app.state = WellState()
    app.add_middleware(PinSnapshot, state=app.state)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["ETag", "Last-Modified", "Link", "Location"])
    problems.install(app)
    app.add_middleware(problems.FilesGone)
    if authenticator_ is not None and writer is not None:
        app.add_middleware(Audit, path=audit_log or default_audit_log(Path(store_path)))
    app.state.dumps = _dumps_dir(dumps_dir, Path(store_path))  # /dumps: --dumps, METADATABRONN_DUMPS or STORE/dumps

    # A request is matched against the routes in order, at about 3 µs a route. An entity's own
    # routes come first, each kind's reads beside its writes: those are the requests a busy well
    # gets most. (With every write route first, a PUT of a work went past 17 routes, not the 90
    # of the read routes before it; a GET of a work still went past the writes, 50 µs of 200.)
    routers = [_head_too(module.router) for module in (
        writes, sparql, entities, recordgraphs, bundle, lookups, agents, oai, sru, feed, documents, catalogue, dumps,
        statistics, statistics_chart)]
    own = [f"/{kind}/{{id}}" for kind in entities.KINDS]
    app.include_router(APIRouter(routes=[r for path in own for router in (entities.router, writes.router)
                                         for r in router.routes if getattr(r, "path", None) == path]))
    own_paths = set(own)
    for router in routers:
        app.include_router(_without(router, own_paths))

    @app.get("/health", tags=["Service"], summary="The store and its counts")
    def health(request: Request):
        s = request.app.state
        snapshot = s.snapshot
        return {"status": "ok", "store": str(store_path), "base": s.base, "version": __version__,
                "read_only": s.writer is None, "opened": snapshot.started.isoformat(), "sequence": snapshot.sequence,
                "counts": snapshot.counts}

    _head_too(app.router)
    try:
        from . import page
    except ImportError:  # pragma: no cover - the query page is optional in a stripped-down install
        page = None
    if page is not None:
        _head_too(page.router)
        page.install(app)
    return app


def _without(router: APIRouter, paths: set[str]) -> APIRouter:
    """``router`` without its routes for ``paths`` (itself when it has none)."""
    kept = [r for r in router.routes if getattr(r, "path", None) not in paths]
    return router if len(kept) == len(router.routes) else APIRouter(routes=kept)


def _head_too(router: APIRouter) -> APIRouter:
    """HEAD wherever the router answers GET: the same answer, headers and all, without its body
    (the server leaves the body out). The HEAD routes stay out of the OpenAPI description."""
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    heads = {r.path for r in routes if "HEAD" in r.methods}
    for route in routes:
        if "GET" in route.methods and route.path not in heads:
            router.add_api_route(route.path, route.endpoint, methods=["HEAD"], name=f"{route.name}_head",
                                 response_class=route.response_class, include_in_schema=False)
            heads.add(route.path)
    return router
