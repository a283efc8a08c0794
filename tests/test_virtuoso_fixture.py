"""The Virtuoso server the remote tests run against: it starts on free ports, answers SPARQL,
``clear()`` empties it but for its own graphs, and ``stop()`` frees its ports and ends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from .virtuoso import _port_free, installed, start_virtuoso
from .client import HTTP

pytestmark = pytest.mark.remote


def test_session_server_answers_and_clear_keeps_only_system_graphs(virtuoso_clean):
    v = virtuoso_clean
    assert v.sparql_url == f"http://127.0.0.1:{v.http_port}/sparql"
    assert v.store_url == f"sparql+http://127.0.0.1:{v.http_port}/sparql"
    assert v.load_dir.is_dir() and v.log.exists()
    v.isql("SPARQL INSERT DATA { GRAPH <urn:x-test:g> { <urn:x:s> <urn:x:p> \"o\" } };")
    (v.load_dir / "leftover.nt").write_text("")
    assert "urn:x-test:g" in v.graphs()
    v.clear()
    assert set(v.graphs()) == set(v.system_graphs)
    assert v.system_graphs  # Virtuoso keeps graphs of its own even when "empty"
    assert list(v.load_dir.iterdir()) == []


def test_updates_over_http_are_granted(virtuoso_clean):
    r = HTTP.post(virtuoso_clean.sparql_url,
                   data={"update": "INSERT DATA { GRAPH <urn:x-test:h> { <urn:x:s> <urn:x:p> 1 } }"})
    assert r.status_code == 200, r.text
    assert virtuoso_clean.select("SELECT ?o WHERE { GRAPH <urn:x-test:h> { ?s ?p ?o } }")


def test_stop_ends_the_process_and_frees_both_ports(tmp_path):
    if not installed():
        pytest.skip("Virtuoso is not installed (Debian package virtuoso-opensource)")
    v = start_virtuoso(tmp_path / "v")
    pid, ports = v.process.pid, (v.http_port, v.isql_port)
    assert not any(_port_free(p) for p in ports)
    v.stop()
    assert all(_port_free(p) for p in ports)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_server_dies_with_a_test_run_killed_outright(tmp_path):
    """SIGKILL to the process that started it leaves no server behind (parent-death signal)."""
    if not installed():
        pytest.skip("Virtuoso is not installed (Debian package virtuoso-opensource)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {root!r})
        from tests.virtuoso import start_virtuoso
        from pathlib import Path
        v = start_virtuoso(Path({str(tmp_path / 'v')!r}))
        print(v.process.pid, v.http_port, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid, port = map(int, parent.stdout.readline().split())
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    for _ in range(300):  # the kernel signals at once; the process takes a moment to be reaped
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if _zombie(pid):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"server {pid} outlived its parent")
    for _ in range(300):
        if _port_free(port):
            break
        time.sleep(0.1)
    assert _port_free(port)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
