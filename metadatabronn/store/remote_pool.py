"""The test suite against SPARQL servers: every store a test makes is a store on a server.

``METADATABRONN_TEST_STORE_SERVER`` names either one server's endpoint or a pool file (a path
ending in ``.json``: ``{"servers": [endpoint, ...]}``). A store directory made new while it is
set becomes a home on a server, which is emptied first: one server's dataset holds one store.
With a pool, several stores live at once, one a server; a new store takes a server that holds
none, else the one whose store was opened longest ago, and that store's home is marked as given
up, so that opening it again says so instead of reading another store's quads. A server whose
store some live process holds open is never taken while another is free of that: a server a
test started keeps its store however long it runs. The pool file records which home each server
holds, when it was last opened and by which processes it is open now, shared by every process of
the run (a server a test starts, a command run in a subprocess), under a file lock. When every
server holds a store that another live process has open, a new store is refused with an error
that says so (one this process alone has open may still be taken, the least recently opened first).

Not for production: an operator names one store per server with ``--store sparql+http://…``.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError

# Read once, at import: the tests clear the package's settings around each test.
TEST_SERVER = os.environ.get("METADATABRONN_TEST_STORE_SERVER")


def active() -> bool:
    return bool(TEST_SERVER)


def _pool_file() -> Path | None:
    return Path(TEST_SERVER) if TEST_SERVER and TEST_SERVER.endswith(".json") else None


@contextmanager
def _locked():
    pool = _pool_file()
    with open(f"{pool}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(pool.read_text(encoding="utf-8"))
        state.setdefault("held", {})
        yield state
        # Whole or not at all: a process of the run may be killed at any moment (a server a test
        # stops outright), and a pool file it left half written would stop every later store.
        part = pool.with_name(f"{pool.name}.{os.getpid()}.part")
        part.write_text(json.dumps(state, indent=1), encoding="utf-8")
        os.replace(part, pool)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _in_use(held: dict) -> bool:
    """Whether a live process has the store open (entries of processes gone are dropped)."""
    users = {pid: n for pid, n in held.get("open", {}).items() if n > 0 and _alive(pid)}
    held["open"] = users
    return bool(users)


def choose(home: Path) -> tuple[str, Path | None]:
    """The server a new store at ``home`` goes on, and the home of the store it held (given up)."""
    pool = _pool_file()
    if pool is None:
        return TEST_SERVER, None
    home = str(Path(home).resolve())
    with _locked() as state:
        held = state["held"]

        def free(url: str) -> bool:
            h = held.get(url)
            return h is None or h.get("released") or h["home"] == home or not Path(h["home"]).exists()

        url = next((u for u in state["servers"] if free(u)), None)
        if url is None:
            idle = [u for u in state["servers"] if not _in_use(held[u])]
            if not idle:
                # A store this process alone has open (a test's Store object not closed yet) may
                # go; one another process has open (a server a test started) never: emptying it
                # would pull the store from under that process's readers.
                me = str(os.getpid())
                idle = [u for u in state["servers"] if set(held[u].get("open", {})) <= {me}]
            if not idle:
                raise StoreError(f"every server of the test pool ({len(state['servers'])}) holds a store another "
                                 "live process has open: give --store-server a larger number")
            url = min(idle, key=lambda u: held[u]["used"])
        before = held.get(url)
        if before and before["home"] != home and Path(before["home"]).exists() and not before.get("released"):
            _trail(pool, home, url, held)
        held[url] = {"home": home, "used": time.time(), "open": {}}
    given_up = Path(before["home"]) if before and before["home"] != home else None
    return url, given_up


def _trail(pool: Path, home: str, url: str, held: dict) -> None:
    """Why a store was given up: the pool as it stood, each holder with its processes' command
    lines, appended to ``POOL.log`` (a suite's failures of "given up" are read against it)."""
    def command(pid: str) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:300]
        except OSError:
            return "?"

    entry = {"at": time.time(), "pid": os.getpid(), "new": home, "server": url,
             "held": {u: {**h, "commands": {pid: command(pid) for pid in h.get("open", {})}} for u, h in held.items()}}
    with open(f"{pool}.log", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def release_under(directory: Path) -> int:
    """Free the servers whose store's home lies under ``directory`` (a finished test's own
    temporary directory): no test needs those stores again, so a new store takes one of their
    servers before it gives up a store a later test still needs (a module's shared store).
    A freed server still names its store, so that the store is marked given up when another
    takes the server (something kept past its test, a session's demo store, then says so
    instead of reading another store's quads). Returns how many were freed."""
    pool = _pool_file()
    if pool is None:
        return 0
    prefix = str(Path(directory).resolve()) + os.sep
    with _locked() as state:
        held = state["held"]
        gone = [u for u, h in held.items() if (h["home"] + os.sep).startswith(prefix) and not h.get("released")]
        for url in gone:
            held[url]["released"] = True
    return len(gone)


def held_homes() -> set[str]:
    """The homes of the stores the pool's servers hold now."""
    pool = _pool_file()
    if pool is None:
        return set()
    with _locked() as state:
        return {h["home"] for h in state["held"].values()}


def release_homes(homes: set[str]) -> int:
    """Free the servers holding these homes, unless a live process other than this one has the
    store open (a server a test started and has not stopped). Returns how many were freed."""
    pool = _pool_file()
    if pool is None or not homes:
        return 0
    me = str(os.getpid())
    with _locked() as state:
        held = state["held"]
        gone = [u for u, h in held.items() if h["home"] in homes and not h.get("released")
                and not (_in_use(h) and set(h["open"]) - {me})]
        for url in gone:
            held[url]["released"] = True
    return len(gone)


def opened(home: Path, endpoint: str) -> None:
    """Note that this process opened the store at ``home``: it is the last a server is taken
    from, and not taken while open (see :func:`closed`)."""
    _count(home, endpoint, 1)


def closed(home: Path, endpoint: str) -> None:
    """Note that this process closed the store at ``home``."""
    _count(home, endpoint, -1)


def _count(home: Path, endpoint: str, step: int) -> None:
    if _pool_file() is None:
        return
    home = str(Path(home).resolve())
    with _locked() as state:
        h = state["held"].get(endpoint)
        if h is not None and h["home"] == home:
            if step > 0:
                h["used"] = time.time()
            users = h.setdefault("open", {})
            pid = str(os.getpid())
            users[pid] = max(0, users.get(pid, 0) + step)
