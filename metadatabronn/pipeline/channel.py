"""A process of a server's own, and the line to it: what the writer (:mod:`.writer`) and the
statistics process (:mod:`.statistics_process`) share.

Such a process is spawned (the server has threads: a fork would copy their locks), listens on a
Unix socket in a directory of its own, and takes only connections that know a random key passed
to the server's processes in their environment. Each connection carries one call at a time,
``(op, kwargs)`` → ``(status, value)``; a caller keeps a few connections and reuses them.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import secrets
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from multiprocessing.reduction import ForkingPickler
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


# Calls a server process's event loop has under way at once (each a connection, and a thread
# in the process it calls); more wait their turn, as the calls from a thread pool did.
ASYNC_CONNECTIONS = 16


class Channel:
    """A server process's line to such a process: a few connections, reused, one call each at a
    time. :meth:`request` blocks (call it from a thread pool); :meth:`request_async` is for
    the event loop."""

    def __init__(self, address: str, authkey: bytes, who: str, unreachable: type[Exception]):
        self.address, self.authkey, self.who, self.unreachable = address, authkey, who, unreachable
        self._idle: LifoQueue[Connection] = LifoQueue()
        self._idle_sockets: list[socket.socket] = []  # the event loop's, used from it alone
        self._slots: tuple[object, asyncio.Semaphore] | None = None  # (its loop, the calls it lets through)

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

    async def request_async(self, op: str, **kw) -> tuple[str, object]:
        """:meth:`request` from the event loop, awaiting the answer instead of holding a thread
        for it: a call from a worker thread cost the server more than the call itself (0.7 ms
        of a write's 2.2 ms in the HTTP process, on the LC 20k store). The bytes on the line are
        a :class:`~multiprocessing.connection.Connection`'s, so the process answers both alike.
        A call cancelled half-way (the client went away) leaves its connection closed: the
        answer it was owed would otherwise reach the next call."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(ASYNC_CONNECTIONS))
        async with self._slots[1]:
            if self._idle_sockets:
                sock = self._idle_sockets.pop()
            else:  # the handshake proves the key: in a thread, since it takes a few round trips
                sock = await loop.run_in_executor(None, self._connect)
            try:
                await loop.sock_sendall(sock, _framed(ForkingPickler.dumps((op, kw))))
                reply = pickle.loads(await _message(loop, sock))
            except (EOFError, OSError) as exc:
                sock.close()
                raise self.unreachable(f"the {self.who} stopped answering: {exc}") from exc
            except BaseException:
                sock.close()
                raise
            self._idle_sockets.append(sock)
            return reply

    def _connect(self) -> socket.socket:
        try:
            conn = Client(self.address, family="AF_UNIX", authkey=self.authkey)
        except OSError as exc:
            raise self.unreachable(f"the {self.who} cannot be reached: {exc}") from exc
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        conn.close()
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        while self._idle_sockets:
            self._idle_sockets.pop().close()
        while True:
            try:
                self._idle.get_nowait().close()
            except Empty:
                return


def _framed(payload) -> bytes:
    """A message as :class:`~multiprocessing.connection.Connection` sends it: its length (4
    bytes, or -1 and 8 bytes past 2 GiB), then the bytes."""
    n = len(payload)
    header = struct.pack("!i", n) if n <= 0x7FFFFFFF else struct.pack("!iQ", -1, n)
    return header + bytes(payload)


async def _message(loop, sock: socket.socket) -> memoryview:
    """One message as :func:`_framed` makes it, without its length: read as it comes (an answer
    of a few KB in one read, its length and all), and nothing after it (one call, one answer)."""
    buf = bytearray()
    start, size = 4, None
    while size is None or len(buf) < start + size:
        chunk = await loop.sock_recv(sock, max(_READ, start + size - len(buf)) if size is not None else _READ)
        if not chunk:
            raise EOFError("the line was closed")
        buf += chunk
        if size is None and len(buf) >= 4:
            (size,) = struct.unpack_from("!i", buf)
            if size == -1:
                if len(buf) < 12:
                    size = None
                    continue
                start, size = 12, struct.unpack_from("!Q", buf, 4)[0]
    if len(buf) > start + size:
        raise EOFError("more came than the one answer asked for")
    return memoryview(buf)[start:]


_READ = 65_536
