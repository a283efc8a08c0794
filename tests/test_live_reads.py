"""Requests that wait for another process wait without holding the event loop (awaiting the
answer, or in a worker thread), so the server answers everything else meanwhile:
- a GET of an entity written since the server's snapshot asks the writer for it
  (read-your-writes), and the writer answers when the write under way is done (a submitted file
  holds it for its whole load);
- a work's page draws its loans, which may come from the statistics process or wait for the
  loans' edition map to catch up with a new snapshot."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import Request

from metadatabronn.errors import StoreError
from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.web import create_app
from metadatabronn.web.apikeys import add_key
from metadatabronn.web.auth import AuthSettings

from .conftest import DATA
from .test_web import free_port

BASE = "http://example.org"
NOTE = "http://rdaregistry.info/Elements/w/P10330"  # a note on a work


class BusyWriter:
    """A writer in the middle of a long load: a call waits until the test lets it go."""

    def __init__(self) -> None:
        self.asked, self.released = threading.Event(), threading.Event()

    def call(self, op: str, **kw):
        self.asked.set()
        self.released.wait(120)
        raise StoreError("the writer is loading a submitted file")

    async def call_async(self, op: str, **kw):  # as the server's event loop asks
        self.asked.set()
        await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 120)
        raise StoreError("the writer is loading a submitted file")

    def close(self) -> None:
        self.released.set()


@contextmanager
def served(app):
    """``app`` on a free port in this process until the block ends; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(900):  # (only how long a busy machine may take to start it)
            if server.started:
                break
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not start within 90 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def asked_aside(url: str, params: dict) -> tuple[threading.Thread, list[int]]:
    """A GET sent from a thread of its own: the thread, and the list its status lands in."""
    answer: list[int] = []

    def ask() -> None:
        with httpx.Client(timeout=150) as client:
            answer.append(client.get(url, params=params).status_code)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread, answer


def _well(tmp_path, writer):
    store = tmp_path / "store"
    ingest([str(DATA / "golden" / "golden.mrc")], Settings(store=store, base=BASE))
    keys = tmp_path / "api-keys.json"
    add_key(keys, "cataloguer", "nb", ["admin"])
    return store, create_app(store, BASE, writer=writer, auth=AuthSettings(keys_file=keys), refresh=0)


def test_a_read_waiting_for_the_writer_holds_up_no_other_request(tmp_path):
    writer = BusyWriter()
    store, app = _well(tmp_path, writer)
    with served(app) as url:
        try:
            # A work changed after the server's snapshot was taken, as the writer would change it.
            s = Store(store, BASE)
            try:
                work, other = s.linking(T.RDF_TYPE, T.C_WORK, limit=2)
                s.update(f'INSERT DATA {{ <{work}> <{NOTE}> "a note written after the snapshot" }}', changed=[work])
            finally:
                s.close()

            reader, answer = asked_aside(url + work[len(BASE):], {"format": "jsonld"})
            assert writer.asked.wait(90), "the GET of the changed work did not ask the writer"
            # The work's GET now waits for the writer; the server still answers other requests.
            with httpx.Client(timeout=60) as client:
                assert client.get(url + "/health").status_code == 200
                assert client.get(url + other[len(BASE):], params={"format": "turtle"}).status_code == 200
            assert reader.is_alive() and not answer  # (still waiting: nothing let it go)
            writer.released.set()
            reader.join(90)
            assert answer == [200]  # the writer could not say: the snapshot answers
        finally:
            writer.released.set()


def test_a_work_page_waiting_for_its_loans_holds_up_no_other_request(tmp_path, monkeypatch):
    from metadatabronn.web import entities

    drawing, drawn = threading.Event(), threading.Event()

    def slow_loans(request, iri, rendered):  # the statistics process busy, say, loading a delivery
        drawing.set()
        drawn.wait(120)
        return rendered

    monkeypatch.setattr(entities, "loans_section", slow_loans)
    store, app = _well(tmp_path, None)
    with served(app) as url:
        try:
            s = Store(store, BASE, read_only=True)
            try:
                work = s.linking(T.RDF_TYPE, T.C_WORK, limit=1)[0]
            finally:
                s.close()
            reader, answer = asked_aside(url + work[len(BASE):], {"format": "html"})
            assert drawing.wait(90), "the work's page did not draw its loans"
            with httpx.Client(timeout=60) as client:
                assert client.get(url + "/health").status_code == 200
            assert reader.is_alive() and not answer
            drawn.set()
            reader.join(90)
            assert answer == [200]
        finally:
            drawn.set()


class HoldingWriter:
    """The writer as the HTTP process sees it, over a store this test holds open for writing."""

    def __init__(self, store: Store) -> None:
        self.store, self.lock = store, threading.Lock()

    def call(self, op: str, **kw):
        assert op == "about", op
        with self.lock:
            rows = self.store.about(kw["iri"], raw=True)
            return rows, {g: self.store.generated(g) or "" for g in {r[0] for r in rows if r[0]}}

    async def call_async(self, op: str, **kw):
        return self.call(op, **kw)

    def close(self) -> None:
        pass


class Midway:
    """``app.state`` as a fresh snapshot's installation sees it: after each assignment the
    installing thread stops (as a thread the interpreter switches away from would) and
    ``after(name)`` runs."""

    def __init__(self, state, after) -> None:
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_after", after)

    def __getattr__(self, name):
        return getattr(self._state, name)

    def __setattr__(self, name, value) -> None:
        setattr(self._state, name, value)
        self._after(name)


def test_a_write_is_read_back_while_a_fresh_snapshot_is_being_installed(tmp_path):
    """Read-your-writes holds at every point of a fresh snapshot's installation: a GET that sees
    the fresh snapshot (which holds the write, so it does not ask the writer) must not be answered
    from the older snapshot's store (seen in the conflict storm: a write's 200, then a GET without
    it)."""
    from types import SimpleNamespace

    store = tmp_path / "store"
    ingest([str(DATA / "golden" / "golden.mrc")], Settings(store=store, base=BASE))
    keys = tmp_path / "api-keys.json"
    add_key(keys, "cataloguer", "nb", ["admin"])
    s = Store(store, BASE)  # held open for writing, as the writer process holds it
    try:
        app = create_app(store, BASE, writer=HoldingWriter(s), auth=AuthSettings(keys_file=keys), refresh=0)
        with served(app) as url, httpx.Client(timeout=60) as client:
            work = s.linking(T.RDF_TYPE, T.C_WORK, limit=1)[0]
            s.update(f'INSERT DATA {{ <{work}> <{NOTE}> "written after the snapshot" }}', changed=[work])

            def body() -> str:
                r = client.get(url + work[len(BASE):], params={"format": "jsonld"})
                assert r.status_code == 200, r.text
                return r.text

            assert "written after the snapshot" in body()  # (from the writer: the snapshot is older)
            seen: list[tuple[str, str]] = []
            well = app.state.well
            well.lost_files()  # open a fresh view now
            assert well.refresh_if_changed(SimpleNamespace(state=Midway(app.state, lambda n: seen.append((n, body())))))
            assert seen and app.state.snapshot.sequence >= s.next_sequence() - 1
            assert [n for n, text in seen if "written after the snapshot" not in text] == [], seen
    finally:
        s.close()


def test_a_request_reads_one_snapshot_while_a_fresh_one_is_installed(tmp_path):
    """Whatever a request reads of the store (``app.state.store``, ``key``, ``started``,
    ``snapshot``), it reads of the snapshot installed when it began, even when a fresh one is
    installed while it runs; the next request reads the fresh one."""
    store = tmp_path / "store"
    ingest([str(DATA / "golden" / "golden.mrc")], Settings(store=store, base=BASE))
    app = create_app(store, BASE, refresh=0)

    @app.get("/test-probe")
    def probe(request: Request):
        state = request.app.state
        before = (id(state.snapshot), id(state.store), state.key, state.started)
        well = state.well
        well.lost_files()  # a fresh view now, installed while this request runs
        assert well.refresh_if_changed(app)
        assert app.state._state["snapshot"] is well.snapshot and id(well.snapshot) != before[0]
        after = (id(state.snapshot), id(state.store), state.key, state.started)
        return {"same": before == after, "key": state.key, "fresh": well.snapshot.key}

    with served(app) as url, httpx.Client(timeout=60) as client:
        first = client.get(url + "/test-probe").json()
        assert first["same"] and first["key"] != first["fresh"]
        second = client.get(url + "/test-probe").json()
        assert second["same"] and second["key"] == first["fresh"]  # the next request: the fresh view
