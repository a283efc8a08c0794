"""The pool of SPARQL servers the suite runs against with ``--store-server N``: a new store never
takes the server of a store some live process holds open while another server is idle."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from metadatabronn.errors import StoreError
from metadatabronn.store import remote_pool

SERVERS = ["http://127.0.0.1:1/sparql", "http://127.0.0.1:2/sparql"]


@pytest.fixture
def pool(tmp_path, monkeypatch):
    path = tmp_path / "pool.json"
    path.write_text(json.dumps({"servers": SERVERS}))
    monkeypatch.setattr(remote_pool, "TEST_SERVER", str(path))
    return path


def _home(tmp_path, name):
    home = tmp_path / name
    home.mkdir()
    return home


def test_a_store_held_open_keeps_its_server_and_an_idle_one_is_taken(pool, tmp_path):
    a, b = _home(tmp_path, "a"), _home(tmp_path, "b")
    (server_a, _), (server_b, _) = remote_pool.choose(a), remote_pool.choose(b)
    assert {server_a, server_b} == set(SERVERS)
    remote_pool.opened(a, server_a)  # a still open; b opened later, so not the least recently used, but idle
    remote_pool.opened(b, server_b)
    remote_pool.closed(b, server_b)
    server_c, given_up = remote_pool.choose(_home(tmp_path, "c"))
    assert (server_c, given_up) == (server_b, b)
    remote_pool.closed(a, server_a)
    remote_pool.opened(tmp_path / "c", server_c)
    assert remote_pool.choose(_home(tmp_path, "d")) == (server_a, a)


def test_a_store_left_open_by_a_process_that_is_gone_is_idle(pool, tmp_path):
    a, b = _home(tmp_path, "a"), _home(tmp_path, "b")
    (server_a, _), (server_b, _) = remote_pool.choose(a), remote_pool.choose(b)
    remote_pool.opened(b, server_b)  # b open here, for good
    code = ("from pathlib import Path\nfrom metadatabronn.store import remote_pool\n"
            f"remote_pool.TEST_SERVER = {str(pool)!r}\n"
            f"remote_pool.opened(Path({str(a)!r}), {server_a!r})\n")  # and never closed
    subprocess.run([sys.executable, "-c", code], check=True)
    state = json.loads(pool.read_text())["held"]
    assert list(state[server_a]["open"].values()) == [1]
    assert remote_pool.choose(_home(tmp_path, "c")) == (server_a, a)


def test_a_finished_tests_stores_free_their_servers_before_a_shared_store_is_given_up(pool, tmp_path):
    shared = _home(tmp_path, "module-store")  # a module's store, closed between its tests
    test_dir = _home(tmp_path, "a-test")
    (server_shared, _), (server_test, _) = remote_pool.choose(shared), remote_pool.choose(_home(test_dir, "store"))
    remote_pool.opened(shared, server_shared)
    remote_pool.closed(shared, server_shared)
    # Without the release the least recently opened store (the shared one) would be given up.
    assert remote_pool.release_under(test_dir) == 1
    # The freed store is still told it was given up, should anything open it again.
    assert remote_pool.choose(_home(tmp_path, "next-test-store")) == (server_test, (test_dir / "store").resolve())
    assert remote_pool.release_under(tmp_path / "nothing-here") == 0
    held = json.loads(pool.read_text())["held"]
    assert held[server_shared]["home"] == str(shared.resolve())


def test_no_server_is_taken_from_a_store_another_live_process_has_open(pool, tmp_path):
    a, b = _home(tmp_path, "a"), _home(tmp_path, "b")
    (server_a, _), (server_b, _) = remote_pool.choose(a), remote_pool.choose(b)
    remote_pool.opened(a, server_a)  # open here only: may go, as the least recently opened
    remote_pool.opened(b, server_b)
    assert remote_pool.choose(_home(tmp_path, "c")) == (server_a, a)
    opener = ("from pathlib import Path\nfrom metadatabronn.store import remote_pool\nimport time\n"
              f"remote_pool.TEST_SERVER = {str(pool)!r}\n"
              "for h, s in [(Path({!r}), {!r}), (Path({!r}), {!r})]: remote_pool.opened(h, s)\n"
              "print('open', flush=True)\ntime.sleep(60)\n").format(str(tmp_path / "c"), server_a, str(b), server_b)
    other = subprocess.Popen([sys.executable, "-c", opener], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="--store-server"):
            remote_pool.choose(_home(tmp_path, "d"))
    finally:
        other.kill()
        other.wait()


def test_a_finished_files_stores_free_their_servers_unless_another_process_holds_one(pool, tmp_path):
    earlier = _home(tmp_path, "earlier-file")
    server_earlier, _ = remote_pool.choose(earlier)
    before = remote_pool.held_homes()
    served = _home(tmp_path, "served")  # a module's store, a server of the test's still serving it
    server_served, _ = remote_pool.choose(served)
    remote_pool.opened(served, server_served)  # open here too: that alone would not keep it
    opener = ("from pathlib import Path\nfrom metadatabronn.store import remote_pool\nimport time\n"
              f"remote_pool.TEST_SERVER = {str(pool)!r}\n"
              f"remote_pool.opened(Path({str(served)!r}), {server_served!r})\n"
              "print('open', flush=True)\ntime.sleep(60)\n")
    other = subprocess.Popen([sys.executable, "-c", opener], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "open"
        new = remote_pool.held_homes() - before
        assert new == {str(served.resolve())}
        assert remote_pool.release_homes(new) == 0
    finally:
        other.kill()
        other.wait()
    assert remote_pool.release_homes(new) == 1
    held = json.loads(pool.read_text())["held"]
    assert held[server_served].get("released") and not held[server_earlier].get("released")
    # A new store takes the freed server, and the store it held is told it was given up.
    assert remote_pool.choose(_home(tmp_path, "next")) == (server_served, served.resolve())
