"""The line to a server's own process (the writer, the statistics process), called from the event
loop: the same answers as a call from a thread, over the same wire; a call cancelled half-way
leaves no answer behind for the next; a burst of calls opens a bounded number of connections."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from multiprocessing.connection import Listener

import pytest
from hypothesis import given, settings, strategies as st

from metadatabronn.errors import StoreError
from metadatabronn.pipeline import channel


class Service:
    """A service as :func:`channel.serve_forever` runs one (a thread a connection), in threads of this process: ``echo``
    answers its argument, ``hold`` waits until the test lets it go, ``drop`` hangs up; it counts its connections."""

    def __init__(self, tmp_path) -> None:
        self.address, self.authkey = str(tmp_path / "s.sock"), b"k" * 32
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.open = self.most = 0
        self.listener = Listener(self.address, family="AF_UNIX", authkey=self.authkey)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:  # as channel.serve_forever, until the test closes the listener
        while True:
            try:
                conn = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        with self.lock:
            self.open += 1
            self.most = max(self.most, self.open)
        try:
            while True:
                try:
                    op, kw = conn.recv()
                except (EOFError, OSError):
                    return
                if op == "hold":
                    self.release.wait(60)
                if op == "drop":  # ends the connection without an answer, as a process that died would
                    conn.close()
                    return
                try:
                    conn.send(("ok", kw.get("value")))
                except (EOFError, OSError):
                    return
        finally:
            with self.lock:
                self.open -= 1

    def channel(self) -> channel.Channel:
        return channel.Channel(self.address, self.authkey, "test service", StoreError)


async def _until(condition, what: str) -> None:
    """Wait for ``condition``: a test whose service never gets there fails (after a minute, far
    past any busy machine's delay) instead of waiting for ever."""
    for _ in range(6000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never came: {what}")


@pytest.fixture
def service(tmp_path):
    s = Service(tmp_path)
    yield s
    s.release.set()
    s.listener.close()


_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text() | st.binary(),
                       lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
                       max_leaves=20)


@settings(max_examples=40, deadline=None)
@given(value=_values)
def test_an_answer_from_the_loop_is_the_answer_from_a_thread(tmp_path_factory, value):
    s = Service(tmp_path_factory.mktemp("line"))
    line = s.channel()
    try:
        assert asyncio.run(line.request_async("echo", value=value)) == line.request("echo", value=value) == ("ok", value)
    finally:
        line.close()
        s.listener.close()


@pytest.mark.parametrize("size", [0, 16_383, 16_385, 70_000, 3_000_000])
def test_messages_of_every_size_cross_whole(service, size):
    """Past 16 KiB a Connection sends the length and the bytes apart; past the socket's buffer
    the answer comes in pieces."""
    value = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    line = service.channel()
    try:
        assert asyncio.run(line.request_async("echo", value=value)) == ("ok", value)
    finally:
        line.close()


def test_a_call_cancelled_half_way_leaves_no_answer_for_the_next(service):
    line = service.channel()

    async def scenario():
        held = asyncio.create_task(line.request_async("hold", value="first"))
        await asyncio.sleep(0)  # the call is sent and waits for its answer
        await _until(lambda: service.open > 0, "the held call's connection")
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        service.release.set()  # the service answers the cancelled call now, to nobody
        return await line.request_async("echo", value="second")

    try:
        assert asyncio.run(scenario()) == ("ok", "second")
    finally:
        line.close()


def test_a_burst_of_calls_opens_a_bounded_number_of_connections(service):
    line = service.channel()

    async def burst():
        calls = [asyncio.create_task(line.request_async("hold", value=n)) for n in range(3 * channel.ASYNC_CONNECTIONS)]
        await _until(lambda: service.open >= channel.ASYNC_CONNECTIONS, "a connection for every slot")
        service.release.set()
        return await asyncio.gather(*calls)

    try:
        answers = asyncio.run(burst())
    finally:
        line.close()
    assert answers == [("ok", n) for n in range(3 * channel.ASYNC_CONNECTIONS)]
    assert service.most == channel.ASYNC_CONNECTIONS


def test_a_service_that_is_not_there_is_unreachable(tmp_path):
    line = channel.Channel(str(tmp_path / "none.sock"), b"k" * 32, "test service", StoreError)
    with pytest.raises(StoreError, match="cannot be reached"):
        asyncio.run(line.request_async("echo", value=1))


def test_a_service_that_ends_a_call_unanswered_is_unreachable_and_the_line_recovers(service):
    line = service.channel()

    async def scenario():
        with pytest.raises(StoreError, match="stopped answering"):
            await line.request_async("drop")
        return await line.request_async("echo", value="after")

    try:
        assert asyncio.run(scenario()) == ("ok", "after")
    finally:
        line.close()


@pytest.mark.parametrize("header", [struct.pack("!i", 5), struct.pack("!iQ", -1, 5)], ids=["short", "long"])
@pytest.mark.parametrize("piece", [1, 3, 64])
def test_a_message_read_in_pieces_is_read_whole(header, piece):
    """The long form of the length (past 2 GiB, as a Connection writes it) and a message that
    comes a few bytes at a time."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    data = header + b"hello"

    async def read():
        loop = asyncio.get_running_loop()
        reading = asyncio.create_task(channel._message(loop, ours))
        for i in range(0, len(data), piece):
            theirs.sendall(data[i:i + piece])
            await asyncio.sleep(0)
        return bytes(await reading)

    try:
        assert asyncio.run(read()) == b"hello"
    finally:
        ours.close()
        theirs.close()


def test_bytes_after_the_answer_are_refused():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.sendall(struct.pack("!i", 2) + b"ok" + b"more")
    try:
        with pytest.raises(EOFError, match="more came"):
            asyncio.run(_read_one(ours))
    finally:
        ours.close()
        theirs.close()


async def _read_one(sock):
    return await channel._message(asyncio.get_running_loop(), sock)
