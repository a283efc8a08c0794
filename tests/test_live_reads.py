"""A GET of an entity written since the server's snapshot asks the writer for it
(read-your-writes). The writer answers when the write under way is done, and a submitted file
holds it for as long as its load takes: the GET waits for it in a worker thread, and the
server answers everything else meanwhile."""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn

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

    def close(self) -> None:
        self.released.set()


def test_a_read_waiting_for_the_writer_holds_up_no_other_request(tmp_path):
    store = tmp_path / "store"
    ingest([str(DATA / "golden" / "golden.mrc")], Settings(store=store, base=BASE))
    keys = tmp_path / "api-keys.json"
    add_key(keys, "cataloguer", "nb", ["admin"])
    writer = BusyWriter()
    app = create_app(store, BASE, writer=writer, auth=AuthSettings(keys_file=keys), refresh=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(900):  # (only how long a busy machine may take to start it)
            if server.started:
                break
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not start within 90 s")
        # A work changed after the server's snapshot was taken, as the writer would change it.
        s = Store(store, BASE)
        try:
            work, other = s.linking(T.RDF_TYPE, T.C_WORK, limit=2)
            s.update(f'INSERT DATA {{ <{work}> <{NOTE}> "a note written after the snapshot" }}', changed=[work])
        finally:
            s.close()

        answers: dict[str, int] = {}

        def read_the_work() -> None:
            with httpx.Client(timeout=150) as client:
                answers["work"] = client.get(url + work[len(BASE):], params={"format": "jsonld"}).status_code

        reader = threading.Thread(target=read_the_work, daemon=True)
        reader.start()
        assert writer.asked.wait(90), "the GET of the changed work did not ask the writer"
        # The work's GET now waits for the writer; the server still answers other requests.
        with httpx.Client(timeout=60) as client:
            assert client.get(url + "/health").status_code == 200
            assert client.get(url + other[len(BASE):], params={"format": "turtle"}).status_code == 200
        assert reader.is_alive() and "work" not in answers  # (still waiting: nothing let it go)
        writer.released.set()
        reader.join(90)
        assert answers.get("work") == 200  # the writer could not say: the snapshot answers
    finally:
        writer.released.set()
        server.should_exit = True
        thread.join(30)
