"""Stopping a ``metadatabronn serve`` a test started.

Each server is asked to stop as a service manager asks (SIGTERM) and must stop by itself: a
server that has to be killed has a defect the test would otherwise hide (its writer once
waited for ever, and a kill after 15 s let every test pass). The bound is only how long a busy
machine may take; a server stops in a few seconds."""

from __future__ import annotations

import signal
import subprocess

BOUND = 90.0


class DidNotStop(AssertionError):
    pass


def stop(proc: subprocess.Popen, what: str = "the server", output=None) -> None:
    """SIGTERM to ``proc`` and wait for it; if it has not stopped within :data:`BOUND`
    seconds, kill it and fail, with ``output()`` (its log) when given."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(BOUND)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)
        said = output() if output is not None else ""
        raise DidNotStop(f"{what} did not stop within {BOUND:g} s of SIGTERM: killed\n{said[-3000:]}") from None
