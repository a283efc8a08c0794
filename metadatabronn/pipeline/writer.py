"""The one writer: a process that holds the store open for writing and makes every write a
server takes (entity writes, merges, submitted MARC files), one at a time.

RocksDB lets one process write a store. ``serve`` with writes enabled starts this process before
its HTTP workers; they keep reading their own read-only snapshots (nothing waits on the writer to
read) and send each write over a local socket (``multiprocessing.connection``, with a key only
the server's processes know). The writer answers with what it did, or with the refusal
(:class:`~metadatabronn.errors.EditRefused`) and its HTTP status. A submitted file is loaded by
``metadatabronn ingest`` run as a child process while the writer has the store closed, so a
load behaves exactly as on the command line (rejects, report, compaction) and writes wait for it.

While the writer runs, a separate ``metadatabronn ingest`` of the same store is refused ("store
locked"): submit the file to the server instead (``ingest --server URL``, or ``POST /records``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable, TypeVar

from ..errors import EditRefused, MetadatabronnError, StoreError
from ..store import editing as E
from ..store.core import Store
from . import channel, editing

log = logging.getLogger(__name__)
T = TypeVar("T")

# Writes between two flushes of the store (Store.flush): each view a server opens reads what was
# written since the last flush again, so its opening grows with this number (about 10 ms at 500
# entity writes), while each flush costs a few small files for RocksDB to merge later.
FLUSH_EVERY = 500


class _Service:
    """What the writer process does with each request; one write at a time."""

    def __init__(self, store_path: Path, base: str, profile: str):
        self.path, self.base, self.profile = store_path, base, profile
        self.store = Store(store_path, base)
        # Reentrant: :func:`_answer` holds it while it answers a write (see there).
        self.lock = threading.RLock()
        self.unflushed = 0  # writes since the store was last flushed

    def _write(self, make: Callable[[], T]) -> T:
        """``make()`` under the lock, one write at a time, the store flushed every
        :data:`FLUSH_EVERY` writes."""
        with self.lock:
            done = make()
            self.unflushed += 1
            if self.unflushed >= FLUSH_EVERY:
                self.store.flush()
                self.unflushed = 0
            return done

    def about(self, iri: str):
        with self.lock:
            rows = self.store.about(iri, raw=True)
            graphs = {r[0] for r in rows if r[0]}
            return rows, {g: self.store.generated(g) or "" for g in graphs}

    def put(self, kind, iri, statements, org, user, if_match):
        return self._write(lambda: editing.put(self.store, kind, iri, statements, E.Author(org, user), if_match,
                                               self.profile))

    def create(self, kind, statements, org, user, iri=None):
        iri = iri or editing.mint(self.base, kind)
        statements = [(iri if s == "" else s, v) for s, v in statements]
        return self._write(lambda: editing.create(self.store, kind, iri, statements, E.Author(org, user),
                                                  self.profile))

    def delete(self, kind, iri, if_match):
        return self._write(lambda: editing.delete(self.store, kind, iri, if_match))

    def merge(self, kind, iri, into, if_match):
        return self._write(lambda: editing.merge(self.store, kind, iri, into, if_match))

    def ingest(self, path: str, name: str):
        """Load a submitted file with ``metadatabronn ingest``, the store closed meanwhile."""
        with self.lock:
            work = Path(tempfile.mkdtemp(prefix="submitted-"))
            try:
                source = work / Path(name).name  # its own name: what the records' provenance says
                shutil.move(path, source)
                report = work / "report.json"
                self.store.close()
                try:
                    done = subprocess.run([sys.executable, "-m", "metadatabronn", "ingest", "--store", str(self.path),
                                           "--base-iri", self.base, "--profile", self.profile, "--report",
                                           str(report), str(source)], capture_output=True, text=True)
                finally:
                    self.store = Store(self.path, self.base)
                summary = json.loads(report.read_text()) if report.exists() else None
                return {"exit": done.returncode, "summary": summary,
                        "messages": [line for line in done.stderr.splitlines() if line.strip()][-20:]}
            finally:
                shutil.rmtree(work, ignore_errors=True)

    def close(self) -> None:
        with self.lock:
            self.store.close()


def _answer(service: _Service, conn: Connection) -> None:
    while True:
        try:
            op, kw = conn.recv()
        except (EOFError, OSError):
            return
        # The answer is sent before the next write begins. Sent after, its sending waited for
        # the interpreter's lock, which the next write's thread then held, up to Python's switch
        # interval (5 ms) a time: with 4 clients writing on the LC 20k store, sending an answer
        # took 2.2 ms on average (p99 10 ms); sent under the write lock, 0.3-0.5 ms.
        with service.lock:
            try:
                reply = ("ok", getattr(service, op)(**kw))
            except EditRefused as exc:
                reply = ("refused", (exc.status, str(exc), exc.report))
            except MetadatabronnError as exc:
                reply = ("error", str(exc))
            except Exception as exc:  # noqa: BLE001 - a defect: logged here, reported to the client
                log.exception("the writer failed on %s", op)
                reply = ("error", f"the writer failed: {type(exc).__name__}: {exc}")
            try:
                conn.send(reply)
            except (EOFError, OSError):
                return


def _run(address: str, authkey: bytes, store_path: str, base: str, profile: str, nice: int, parent: int,
         level: int) -> None:
    channel.hold_stop_signals()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if nice:
        # Below the HTTP workers: under load a read is answered first, and the writer, which
        # takes writes one at a time anyway, uses what the reads leave (serve's --writer-nice).
        os.nice(nice)
    try:
        service = _Service(Path(store_path), base, profile)
    except MetadatabronnError as exc:
        log.error("the writer cannot open the store: %s", exc)
        raise SystemExit(2)

    log.info("the writer holds the store at %s", store_path)
    # (the write under way ends first, then the store closes cleanly)
    channel.run_service(address, authkey, parent, service.close, lambda conn: _answer(service, conn), "writer")


WriterProcess = channel.ServiceProcess  # the writer as its owner (``serve``) sees it


def start(store_path: Path, base: str, profile: str, *, wait: float = 60.0, nice: int = 0) -> WriterProcess:
    """Start the writer and wait until it answers; :class:`StoreError` if it cannot open the
    store (another process writes it: an ingest, another server)."""
    return channel.spawn(
        _run, "metadatabronn-writer", "writer", (str(store_path), base, profile, nice), wait=wait,
        failed=lambda: StoreError(f"the writer could not open the store at {store_path} for writing (is an ingest "
                                  "or another server writing it? stop it, or submit files to this server with "
                                  "'metadatabronn ingest --server URL')"),
        late=lambda: StoreError("the writer did not start in time"))


class WriteFailed(MetadatabronnError):
    """The writer took the request and could not make the write (what it said is the message)."""


class Writer:
    """A server process's line to the writer (:class:`.channel.Channel`)."""

    def __init__(self, address: str, authkey: bytes):
        self._channel = channel.Channel(address, authkey, "writer", StoreError)

    def call(self, op: str, **kw):
        return self._answer(*self._channel.request(op, **kw))

    async def call_async(self, op: str, **kw):
        """:meth:`call` from the event loop."""
        return self._answer(*await self._channel.request_async(op, **kw))

    @staticmethod
    def _answer(status: str, value):
        if status == "ok":
            return value
        if status == "refused":
            code, message, report = value
            raise EditRefused(message, status=code, report=report)
        raise WriteFailed(value)

    def close(self) -> None:
        self._channel.close()
