"""Shared fixtures: real records from tests/data, a fresh store per test, and the mnemonic
MARC reader used by the mapping examples."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pymarc
import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
# Set by ``--store-server``: every store a test makes is then on a SPARQL server
# (metadatabronn/store/remote_pool.py), in this process and in any it starts.
STORE_SERVER = "METADATABRONN_TEST_STORE_SERVER"


@pytest.fixture(autouse=True)
def _own_settings():
    """Each test starts with the METADATABRONN_ settings the run began with: a command run in
    process (``serve`` sets the server's settings in its environment) leaves none to the next."""
    before = {k: v for k, v in os.environ.items() if k.startswith("METADATABRONN_")}
    yield
    for k in [k for k in os.environ if k.startswith("METADATABRONN_") and k not in before]:
        del os.environ[k]
    os.environ.update(before)


def on_server() -> bool:
    """Whether the stores of this run are on SPARQL servers (``--store-server``)."""
    return bool(os.environ.get(STORE_SERVER))


def copy_store(src: Path, dst: Path) -> Path:
    """A copy of the store at ``src``, at ``dst``: its files, and on a server run
    (``--store-server``) its quads on a server of their own; copying a home alone would give
    two homes of one store, and a test writing to its copy would write to the original."""
    import shutil

    from metadatabronn.store import remote_home

    shutil.copytree(src, dst)
    if remote_home.is_remote_home(src):
        (dst / remote_home.FILE).unlink()
        remote_home.adopt_new(dst)
        source, target = remote_home.open_home(src, read_only=True), remote_home.open_home(dst, read_only=False)
        try:
            target.extend(source.quads_for_pattern(None, None, None, None))
        finally:
            source.close()
            target.close()
    return dst


def shared(path: str) -> Path:
    """A corpus file from the shared folder, or a clean skip where it is absent."""
    p = SHARED / path
    if not p.exists():
        pytest.skip(f"shared corpus not available: {path}")
    return p


def quad_store(path):
    """The quads of the store at ``path``, with pyoxigraph's interface: its files read by
    pyoxigraph itself, or the server its home names (``--store-server``)."""
    import pyoxigraph as ox

    from metadatabronn.store import remote_home

    if remote_home.is_remote_home(path):
        return remote_home.open_home(Path(path), read_only=True)
    return ox.Store.read_only(str(path))


def field_from_mnemonic(line: str) -> pymarc.Field:
    """``=245  10$aTitle /$cBy me.`` → a pymarc Field (backslash is a blank indicator)."""
    assert line.startswith("=")
    tag = line[1:4]
    rest = line[6:]
    if tag < "010":
        return pymarc.Field(tag=tag, data=rest.replace("\\", " "))
    ind = rest[:2].replace("\\", " ")
    parts = rest[2:].split("$")[1:]
    subfields = [pymarc.Subfield(p[0], p[1:]) for p in parts]
    return pymarc.Field(tag=tag, indicators=pymarc.Indicators(ind[0], ind[1]), subfields=subfields)


def record_with(*lines: str, leader: str = "00000cam a2200000 a 4500",
                f008: str = "160101s2016    nyu           000 0 eng  ", cn: str = "T0001") -> pymarc.Record:
    record = pymarc.Record(leader=leader)
    record.add_field(pymarc.Field(tag="001", data=cn), pymarc.Field(tag="003", data="DLC"),
                     pymarc.Field(tag="008", data=f008))
    if not any(line.startswith("=245") for line in lines):
        lines = (*lines, "=245  10$aUntitled test record.")
    for line in lines:
        record.add_field(field_from_mnemonic(line))
    return record


@pytest.fixture(autouse=True)
def _free_servers_after(request):
    """With ``--store-server``: after each test, the servers of the stores made in its own
    temporary directory are free again (see ``remote_pool.release_under``). Set up before, so
    torn down after, every fixture of the test: its servers and commands have stopped."""
    own = None
    if os.environ.get(STORE_SERVER) and "tmp_path" in request.fixturenames:
        own = request.getfixturevalue("tmp_path")  # set up now: torn down after this
    yield
    if own is not None:
        from metadatabronn.store import remote_pool

        remote_pool.release_under(own)


@pytest.fixture(scope="module", autouse=True)
def _free_module_servers():
    """With ``--store-server``: when a test file is done, the servers of the stores made while
    it ran (its module fixtures' stores, outside any one test's directory) are free again.
    Set up before the file's own module fixtures, so torn down after them."""
    if not os.environ.get(STORE_SERVER):
        yield
        return
    from metadatabronn.store import remote_pool

    before = remote_pool.held_homes()
    yield
    remote_pool.release_homes(remote_pool.held_homes() - before)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def plain_env(**extra: str) -> dict[str, str]:
    """This process's environment without the package's settings, for a command or server a
    test starts: a setting another test left here is not its. The test pool's server variable
    (``--store-server``) stays: the process's stores are on the pool's servers, and it tells
    the pool which it holds open."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("METADATABRONN_") or k == STORE_SERVER}
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("METADATABRONN_") and name != STORE_SERVER:
            monkeypatch.delenv(name)


def delete_golden(path, base: str, control: str = "00030568") -> None:
    """Delete one golden record from the store: the same record again with Leader/05 = d."""
    from metadatabronn.pipeline import Settings, ingest

    with open(DATA / "golden" / "golden.mrc", "rb") as fh:
        victim = next(r for r in pymarc.MARCReader(fh) if r["001"].data.strip() == control)
    victim.leader = str(victim.leader)[:5] + "d" + str(victim.leader)[6:]
    deletion = path.parent / "delete.mrc"
    deletion.write_bytes(victim.as_marc())
    ingest([str(deletion)], Settings(store=path, base=base, workers=1))


# --- Tests against a SPARQL server (marker ``remote``): one Virtuoso per test session. ---

# --- The whole suite against Virtuoso (--store-server N): a pool of N servers, every store a test
# makes on one of them. Tests marked ``embedded_only`` are about pyoxigraph's files and skip, saying why.

def pytest_addoption(parser):
    parser.addoption("--store-server", type=int, default=0, metavar="N",
                     help="run every test with its stores on a pool of N fresh Virtuoso servers")
    parser.addoption("--full", action="store_true", default=os.environ.get("METADATABRONN_TEST_FULL") == "1",
                     help="run the tests that have a size at their full size (METADATABRONN_TEST_FULL=1 too)")


# The size of the tests that have one: by default small enough that the suite takes minutes on two
# cores; with --full, the sizes the figures in the README and docs were measured at (the LC 20k
# through Dask, the whole write storm, every bundled record past pySHACL). Set in pytest_configure,
# before the test modules are collected, in every xdist worker too.
_FULL = False


def full() -> bool:
    """Whether the run is at full size (``pytest --full``)."""
    return _FULL


def examples(n: int) -> int:
    """Hypothesis examples for a property whose every example loads a store or starts a server:
    ``n`` with ``--full``, half of it otherwise. Each run draws new examples, so runs add up."""
    return n if _FULL else max(2, n // 2)


def pytest_configure(config):
    config.addinivalue_line("markers", "remote: runs against a SPARQL server (Virtuoso)")
    config.addinivalue_line("markers", "embedded_only(reason): about the embedded store's own files; "
                                       "skipped with --store-server")
    global _FULL
    _FULL = bool(config.getoption("--full"))
    n = config.getoption("--store-server")
    if n and not hasattr(config, "workerinput"):
        _start_pool(config, n)
    elif n:
        _worker_pool(config)


def _start_pool(config, n: int) -> None:
    import json

    from .virtuoso import start_virtuoso

    where = Path(tempfile.mkdtemp(prefix="metadatabronn-store-servers-"))
    servers = [start_virtuoso(where / f"server-{i}") for i in range(n)]
    pool = where / "pool.json"
    pool.write_text(json.dumps({"servers": [s.store_url for s in servers]}), encoding="utf-8")
    os.environ[STORE_SERVER] = str(pool)
    if "metadatabronn.store.remote_pool" in sys.modules:
        sys.modules["metadatabronn.store.remote_pool"].TEST_SERVER = str(pool)
    config._store_servers = servers, where


def _worker_pool(config) -> None:
    """An xdist worker's own share of the pool (every count-th server from its number on): its
    tests run one after another, so a store one of them needs is taken from it only by a later
    test of its own, never by a test another worker runs at the same time."""
    import json
    import sys

    pool = Path(os.environ[STORE_SERVER])
    worker = config.workerinput["workerid"]  # gw0, gw1, ...
    number, count = int(worker[2:]), int(config.workerinput["workercount"])
    servers = json.loads(pool.read_text(encoding="utf-8"))["servers"]
    share = servers[number::count] or servers
    own = pool.with_name(f"pool-{worker}.json")
    own.write_text(json.dumps({"servers": share}), encoding="utf-8")
    os.environ[STORE_SERVER] = str(own)
    if "metadatabronn.store.remote_pool" in sys.modules:
        sys.modules["metadatabronn.store.remote_pool"].TEST_SERVER = str(own)


def pytest_unconfigure(config):
    import shutil

    servers, where = getattr(config, "_store_servers", ((), None))
    for server in servers:
        server.stop()
    if where is not None:
        # The pool's trail of stores given up (remote_pool._trail) outlives the servers' files.
        trails = sorted(Path(where).glob("*.json.log"))
        if trails:
            kept = Path(tempfile.gettempdir()) / "metadatabronn-store-pool-given-up.log"
            kept.write_text("".join(t.read_text(encoding="utf-8") for t in trails), encoding="utf-8")
            sys.stderr.write(f"\nstores given up by the server pool: listed in {kept}\n")
        shutil.rmtree(where, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--store-server"):
        return
    for item in items:
        mark = item.get_closest_marker("embedded_only")
        if mark is not None:
            why = mark.args[0] if mark.args else mark.kwargs.get("reason", "about the embedded store")
            item.add_marker(pytest.mark.skip(reason=f"embedded store only: {why}"))


# The files that use the session's Virtuoso run on one xdist worker, so that one server is
# started (10 s and 6 GB each), not one per worker. Every other file is its own unit, as
# --dist loadfile makes it.
_ON_VIRTUOSO = {"tests/test_remote_store.py", "tests/test_sparql_servers.py", "tests/test_sparql_servers_limits.py",
                "tests/test_virtuoso_fixture.py"}


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the CPUs this process may use. About a fifth of the
    suite's time is waiting (for servers to start, for a second to pass between datestamps,
    for Virtuoso), which the extra worker fills: on two cores 3 workers take 8 % less time."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return cpus + 1


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class _OneVirtuoso(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "the session's Virtuoso" if scope in _ON_VIRTUOSO else scope

    return _OneVirtuoso(config, log)


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory):
    """A Virtuoso server of this test session (tests/virtuoso.py), or a skip saying why not."""
    from .virtuoso import VirtuosoError, installed, start_virtuoso

    if not installed():
        pytest.skip("Virtuoso is not installed (Debian package virtuoso-opensource): "
                    "virtuoso-t or isql-vt not on PATH; `make virtuoso` installs it")
    try:
        server = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    except VirtuosoError as e:
        pytest.skip(f"Virtuoso is not installed (Debian package virtuoso-opensource): "
                    f"it would not start: {e}")
    yield server
    server.stop()


@pytest.fixture
def virtuoso_clean(virtuoso):
    """The session's Virtuoso server with every graph but its own system graphs dropped."""
    virtuoso.clear()
    return virtuoso
