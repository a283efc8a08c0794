"""One snapshot a request: whatever a request reads of the store, it reads of the same view.

Why: a fresh snapshot is installed by the watcher thread while requests are answered, and a
request that read ``app.state.store`` and then ``app.state.key`` could get one from each view (a
listing from one and the rendering of its items from the other; an entity GET once sent a landed
write back without its change that way). The snapshot a request starts with is pinned for it
(a context variable, which FastAPI carries into the worker threads that run its endpoints), and
``app.state.store``, ``key``, ``started`` and ``snapshot`` answer from it. Outside a request
(start-up, the watcher) they answer from the snapshot installed last.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.datastructures import State

_pinned: ContextVar = ContextVar("metadatabronn_snapshot", default=None)


class WellState(State):
    """``app.state``, with the store's view read off the request's snapshot."""

    @property
    def snapshot(self):
        pinned = _pinned.get()
        if pinned is not None:
            return pinned
        try:
            return self._state["snapshot"]
        except KeyError:
            raise AttributeError("snapshot") from None

    @property
    def store(self):
        return self.snapshot.store

    @property
    def key(self):
        return self.snapshot.key

    @property
    def started(self):
        return self.snapshot.started


class PinSnapshot:
    """ASGI middleware: pins the snapshot installed when a request starts, for that request."""

    def __init__(self, app, state: State) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        token = _pinned.set(self.state._state.get("snapshot"))
        try:
            await self.app(scope, receive, send)
        finally:
            _pinned.reset(token)
