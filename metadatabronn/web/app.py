"""The web app factory: REST entities and look-ups, the SPARQL endpoint, the query page.

The app opens the store read-only, so ingest can run beside it; it sees the store as it was
when it started, and is restarted (or reloaded) to see what an ingest wrote since.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from .. import __version__
from ..errors import StoreError
from ..mapping import terms as T
from ..store import Store
from . import entities, oai, problems, sparql, sru
from .queries import QueryWorkers

log = logging.getLogger(__name__)


class State:
    """What the routes share: the store, its base IRI, the query workers, counts at start."""

    def __init__(self, store_path: Path, base: str, query_workers: int, timeout: float, max_bytes: int):
        self.store_path, self.base = store_path, base
        self.store = Store(store_path, base, read_only=True)
        self.started = datetime.now(timezone.utc).replace(microsecond=0)
        self.queries = QueryWorkers(store_path, base, workers=query_workers, timeout=timeout, max_bytes=max_bytes)
        self.counts = {name: self.store.count(
            f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a <{cls}> }}") for name, cls in (
            ("works", T.C_WORK), ("expressions", T.C_EXPRESSION), ("manifestations", T.C_MANIFESTATION),
            ("items", T.C_ITEM), ("persons", T.C_PERSON), ("corporate_bodies", T.C_CORPORATE),
            ("families", T.C_FAMILY), ("concepts", T.C_CONCEPT))}
        self.key = entities.register(self)

    def close(self) -> None:
        self.queries.close()
        self.store.close()


def create_app(store_path: Path, base: str, *, query_workers: int = 2, timeout: float = 30.0,
               max_bytes: int = 50_000_000) -> FastAPI:
    """The FastAPI app over the store at ``store_path`` (which must exist)."""
    if not Path(store_path).exists():
        raise StoreError(f"no store at {store_path}: run 'metadatabronn ingest' first or give --store")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state = State(Path(store_path), base, query_workers, timeout, max_bytes)
        app.state.store, app.state.base, app.state.queries = state.store, base, state.queries
        app.state.key, app.state.started, app.state.counts = state.key, state.started, state.counts
        try:
            yield
        finally:
            state.close()

    app = FastAPI(title="metadatabronn", version=__version__, lifespan=lifespan,
                  description="A metadata well: RDA entities from MARC 21, as linked data, SPARQL and MARC. "
                              "Every error is an RFC 9457 problem document (`application/problem+json`).")
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["ETag", "Last-Modified", "Link"])
    problems.install(app)
    app.include_router(sparql.router)
    app.include_router(entities.router)
    app.include_router(oai.router)
    app.include_router(sru.router)

    @app.get("/health", tags=["Service"], summary="The store and its counts")
    async def health(request: Request):
        s = request.app.state
        return {"status": "ok", "store": str(store_path), "base": s.base, "version": __version__,
                "read_only": True, "opened": s.started.isoformat(), "counts": s.counts}

    try:
        from . import page
    except ImportError:  # pragma: no cover - the query page is optional in a stripped-down install
        page = None
    if page is not None:
        page.install(app)
    return app
