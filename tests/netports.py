"""Ports for the servers the tests start.

A port the kernel hands out for ``bind(port 0)`` lies in its ephemeral range, and the kernel
may hand the same port to the next ``bind(0)`` of anyone once it is free again: another test
process's Dask scheduler took the port a test had just picked for its server, and the test's
health check then read Dask's handshake (``BadStatusLine``). So the ports here come from below
the ephemeral range, where no ``bind(0)`` and no outgoing connection lands, and each test
process (pytest-xdist worker) takes them from a block of its own, so that no two pick the same.
"""

from __future__ import annotations

import itertools
import os
import socket

_FIRST = 10_000
_BLOCKS = 32  # test processes that can run at once without sharing a block


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # unset in the controller (its Virtuoso servers)
    number = int(worker[2:]) if worker and worker[2:].isdigit() else _BLOCKS - 1
    size = max(64, (_ephemeral_start() - _FIRST) // _BLOCKS)
    start = _FIRST + (number % _BLOCKS) * size
    return range(start, start + size)


_next = itertools.cycle(_block())


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, from this process's own block."""
    for _ in range(len(_block())):
        port = next(_next)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this test process's block")
