"""A process of a server's own, and the line to it: what the writer (:mod:`.writer`) and the
statistics process (:mod:`.statistics_process`) share.

Such a process is spawned (the server has threads: a fork would copy their locks), listens on a
Unix socket in a directory of its own, and takes only connections that know a random key passed
to the server's processes in their environment. Each connection carries one call at a time,
``(op, kwargs)`` → ``(status, value)``; a caller keeps a few connections and reuses them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from queue import Empty, LifoQueue
from typing import Callable

log = logging.getLogger(__name__)


@dataclass
class ServiceProcess:
    """The process as its owner (``serve``) sees it: the process, and where to reach it."""

    process: multiprocessing.Process
    address: str
    authkey: bytes

    def stop(self, wait: float = 60.0) -> None:
        """Ask the process to stop (it ends the call under way first); kill it if it has not
        gone after ``wait`` seconds, since the server's own exit waits for it."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(wait)
            if self.process.is_alive():
                log.warning("the %s did not stop within %g s of being asked: killed", self.process.name, wait)
                self.process.kill()
                self.process.join()
        shutil.rmtree(Path(self.address).parent, ignore_errors=True)


def spawn(target: Callable, name: str, socket_name: str, args: tuple, *, wait: float,
          failed: Callable[[], Exception], late: Callable[[], Exception]) -> ServiceProcess:
    """Start ``target(address, authkey, *args, parent_pid, log_level)`` and wait until it listens;
    ``failed()`` is raised if it dies first, ``late()`` if it takes longer than ``wait`` seconds."""
    directory = Path(tempfile.mkdtemp(prefix=f"mb-{socket_name}-"))
    address = str(directory / f"{socket_name}.sock")  # short: a socket's path is limited to about 100 bytes
    authkey = secrets.token_bytes(32)
    ctx = multiprocessing.get_context("spawn")
    process = ctx.Process(target=target, name=name, daemon=True,
                          args=(address, authkey, *args, os.getpid(), logging.getLogger().getEffectiveLevel()))
    process.start()
    handle = ServiceProcess(process, address, authkey)
    deadline = time.monotonic() + wait
    while not os.path.exists(address):
        if not process.is_alive():
            handle.stop()
            raise failed()
        if time.monotonic() > deadline:
            handle.stop()
            raise late()
        time.sleep(0.02)
    return handle


def hold_stop_signals() -> None:
    """The first thing a service process does, before it starts a thread or opens a store.

    A SIGTERM sent to the process is taken by any one of its threads that does not block it.
    Python runs its handler only in the main thread, the next time that thread runs, and the
    main thread waits in ``accept`` for a connection that may never come: a signal taken by one
    of RocksDB's or DuckDB's own threads left the process running, and the server's exit waiting
    for it. So SIGTERM is blocked here, in the one thread there is, and every thread started
    after inherits that; :func:`on_stop` takes it with ``sigwait``. Ctrl-C reaches the whole
    process group: the HTTP workers finish their requests, which may call this process, and the
    server stops it after them (SIGTERM), so SIGINT is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def on_stop(then: Callable[[], None]) -> None:
    """Run ``then`` in a thread of its own when the process is sent SIGTERM (after
    :func:`hold_stop_signals`)."""

    def wait() -> None:
        signal.sigwait({signal.SIGTERM})
        then()

    threading.Thread(target=wait, name="stop", daemon=True).start()


def run_service(address: str, authkey: bytes, parent: int, close: Callable[[], None],
                answer: Callable[[Connection], None], who: str) -> None:
    """Listen at ``address`` and answer each connection with ``answer`` in a thread of its own,
    until SIGTERM (after :func:`hold_stop_signals`) or until the server (``parent``) has gone
    without stopping this process; then ``close()`` (the call under way ends first) and leave."""

    def finish() -> None:
        try:
            close()
        finally:
            leave(address)

    when_orphaned(parent, finish)
    on_stop(finish)
    listener = Listener(address, family="AF_UNIX", authkey=authkey)  # the server waits for this socket
    serve_forever(listener, answer, who)


def serve_forever(listener: Listener, answer: Callable[[Connection], None], who: str) -> None:
    """Accept connections for ever, each answered in a thread of its own."""
    while True:
        try:
            conn = listener.accept()
        except (OSError, EOFError, multiprocessing.AuthenticationError) as exc:
            log.warning("a connection to the %s was refused: %s", who, exc)
            continue
        if conn is None:
            continue
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


def leave(address: str) -> None:
    """End this service process, taking its socket's directory with it: the server that made
    the directory may be gone (killed), and nobody else would remove it."""
    shutil.rmtree(Path(address).parent, ignore_errors=True)
    os._exit(0)


def when_orphaned(parent: int, then: Callable[[], None]) -> None:
    """Run ``then`` once the server (``parent``) is gone without stopping this process."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        then()

    threading.Thread(target=watch, daemon=True).start()


class Channel:
    """A server process's line to such a process: a few connections, reused, one call each at a
    time. Calls block; make them from a thread pool, not the event loop."""

    def __init__(self, address: str, authkey: bytes, who: str, unreachable: type[Exception]):
        self.address, self.authkey, self.who, self.unreachable = address, authkey, who, unreachable
        self._idle: LifoQueue[Connection] = LifoQueue()

    def request(self, op: str, **kw) -> tuple[str, object]:
        """``(status, value)`` of one call; ``unreachable`` when the process cannot be reached
        or stops answering."""
        try:
            conn = self._idle.get_nowait()
        except Empty:
            try:
                conn = Client(self.address, family="AF_UNIX", authkey=self.authkey)
            except OSError as exc:
                raise self.unreachable(f"the {self.who} cannot be reached: {exc}") from exc
        try:
            conn.send((op, kw))
            reply = conn.recv()
        except (EOFError, OSError) as exc:
            conn.close()
            raise self.unreachable(f"the {self.who} stopped answering: {exc}") from exc
        self._idle.put(conn)
        return reply

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except Empty:
                return
