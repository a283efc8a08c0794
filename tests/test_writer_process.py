"""The writer process of a server that takes writes (pipeline.writer)."""

import os
import signal
import time

import pytest

from metadatabronn.pipeline import writer

BASE = "http://localhost:8000"


def test_the_writer_runs_below_the_server_s_priority_as_asked(tmp_path):
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for nice in (0, 3):
        process = writer.start(tmp_path / "store", BASE, "base", nice=nice)
        try:
            assert os.getpriority(os.PRIO_PROCESS, process.process.pid) == min(19, mine + nice)
        finally:
            process.stop()


def _blocks_sigterm(pid: int, tid: str) -> bool:
    for line in open(f"/proc/{pid}/task/{tid}/status"):
        if line.startswith("SigBlk:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    raise AssertionError("no SigBlk line")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the threads' signal masks from /proc")
def test_sigterm_stops_the_writer_whichever_of_its_threads_the_kernel_gives_it_to(tmp_path):
    """A SIGTERM goes to any thread that does not block it. RocksDB's own threads never run
    Python, so one taken there was lost, and the server's exit waited for the writer for ever:
    every thread but the one that waits for the signal must block it."""
    process = writer.start(tmp_path / "store", BASE, "base")
    pid = process.process.pid
    threads = os.listdir(f"/proc/{pid}/task")
    names = {tid: open(f"/proc/{pid}/task/{tid}/comm").read().strip() for tid in threads}
    assert len(threads) > 3, names  # the store's own threads are there
    # The one that waits for it shows it unblocked while it waits (the kernel lets sigwait take
    # it). It is started before the socket the server waits for, and soon waits.
    for _ in range(600):
        open_to_it = [tid for tid in os.listdir(f"/proc/{pid}/task") if not _blocks_sigterm(pid, tid)]
        if open_to_it:
            break
        time.sleep(0.05)
    assert len(open_to_it) == 1, names
    socket_dir = os.path.dirname(process.address)
    os.kill(pid, signal.SIGTERM)
    process.process.join(60)
    assert process.process.exitcode == 0
    assert not os.path.exists(socket_dir)  # it went the clean way, taking its socket with it
    again = writer.start(tmp_path / "store", BASE, "base")  # and it let go of the store
    again.stop()


def test_ctrl_c_leaves_the_writer_to_the_server(tmp_path):
    """Ctrl-C reaches the whole process group; the HTTP workers finish their requests, which
    may be writes, and the server stops the writer after them."""
    process = writer.start(tmp_path / "store", BASE, "base")
    try:
        os.kill(process.process.pid, signal.SIGINT)
        process.process.join(1)
        assert process.process.is_alive()
    finally:
        process.stop()
    assert process.process.exitcode == 0
