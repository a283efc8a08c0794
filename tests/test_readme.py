"""A newcomer's path: every example in the README gives what the README says it gives, on the
demo store built as ``make demo`` builds it; and ``make demo`` serves at port 8000, at a free
port when 8000 is taken, or at the one given, and says where.

The README states, in a paragraph beginning "Gives" right after each example, what it returns:
"N rows" for a query, and in code spans the values a reader will see. Those statements are read
here, so the README and this test cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from metadatabronn.cli import ports

from .conftest import plain_env

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the environment running the tests: .venv/bin under make test

# --- the README's examples -------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    kind: str  # "sh" or "sparql"
    code: str
    statement: str  # the "Gives ..." paragraph, or "" for a block that is not an example
    line: int

    @property
    def rows(self) -> int | None:
        m = re.search(r"\bGives (\d[\d,]*) rows?\b", self.statement)
        return int(m.group(1).replace(",", "")) if m else None

    @property
    def values(self) -> list[str]:
        return re.findall(r"`([^`]+)`", self.statement)

    @property
    def id(self) -> str:
        first = next((ln for ln in self.code.splitlines() if ln.strip()), "")
        words = re.sub(r"^(\.venv/bin/metadatabronn|#)\s*", "", first).split()[:4]
        return f"line{self.line}-" + "-".join(re.sub(r"\W+", "", w) for w in words)


def readme_blocks(text: str) -> list[Example]:
    """Every fenced block of the README, with the paragraph after it if that begins with Gives."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        kind, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        code = "\n".join(lines[i + 1:j]) + "\n"
        k = j + 1
        while k < len(lines) and not lines[k].strip():
            k += 1
        para = []
        while k < len(lines) and lines[k].strip() and not lines[k].startswith("```"):
            para.append(lines[k])
            k += 1
        statement = " ".join(para) if para and para[0].startswith("Gives") else ""
        blocks.append(Example(kind, code, statement, start + 1))
        i = j + 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
EXAMPLES = [b for b in BLOCKS if b.statement]


def _is_synopsis(block: Example) -> bool:
    """The command synopsis: usage notation ([--flag], FILE...), not lines to run as they are."""
    lines = [ln for ln in block.code.splitlines() if ln.strip()]
    return sum(" [--" in ln or "..." in ln for ln in lines) > len(lines) / 2


def test_the_readme_says_what_every_example_gives():
    for block in BLOCKS:
        if block.kind == "sparql":
            assert block.statement, f"README line {block.line}: a query without what it gives"
        elif block.kind == "sh" and "metadatabronn" in block.code and not _is_synopsis(block):
            assert block.statement, f"README line {block.line}: a command without what it gives"
    sparql = [e for e in EXAMPLES if e.kind == "sparql"]
    assert len(sparql) >= 6 and len(EXAMPLES) >= 12
    for example in sparql:
        assert example.rows, f"README line {example.line}: a query must give rows, and say how many"
        assert example.values, f"README line {example.line}: name some of what the query gives"


def test_readme_command_lines_run_as_written():
    """After set-up the command is .venv/bin/metadatabronn: a venv cannot change the caller's PATH."""
    for block in BLOCKS:
        if block.kind != "sh":
            continue
        for line in block.code.splitlines():
            command = line.split("#")[0].strip()
            if command:
                assert command.startswith((".venv/bin/metadatabronn ", "make ")), (block.line, line)
    text = README.read_text(encoding="utf-8")
    assert ". .venv/bin/activate" in text


# --- the demo store, as make demo builds it ------------------------------------------------------

_DEMO: dict[str, Path] = {}


def _make() -> str:
    make = shutil.which("make")
    if not make:
        pytest.skip("make is not installed: the README's set-up needs it")
    if not (BIN / "metadatabronn").exists():
        pytest.skip(f"no metadatabronn command beside {sys.executable}")
    return make


def _given_up(store: Path) -> bool:
    """Whether a store on a server of the test pool (``--store-server``) lost its server to a
    later store: the demo store is then made again."""
    from metadatabronn.store import remote_home

    settings = remote_home.read(store) if remote_home.is_remote_home(store) else None
    return bool(settings and settings.get("given_up"))


def demo_workdir(tmp_path_factory) -> Path:
    """A directory laid out as the checkout after ``make demo``: data/, .venv/ and var/demo-store,
    the store built by ``make demo-store``. Made once a test session."""
    if "work" in _DEMO and not _given_up(_DEMO["work"] / "var" / "demo-store"):
        return _DEMO["work"]
    make = _make()
    work = tmp_path_factory.mktemp("newcomer")
    (work / "data").symlink_to(ROOT / "data")
    (work / ".venv").symlink_to(BIN.parent)
    store = work / "var" / "demo-store"
    # -o: the environment running the tests is taken as it is, never reinstalled here
    r = subprocess.run([make, "--no-print-directory", "-o", f"{BIN}/metadatabronn", "demo-store",
                        f"BIN={BIN}", f"DEMO_STORE={store}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "rejected 7" in " ".join(r.stdout.split())
    _DEMO["work"] = work
    _DEMO["output"] = r.stdout
    return work


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return demo_workdir(tmp_path_factory)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _check(example: Example, output: str) -> None:
    where = f"README line {example.line}"
    if example.rows is not None:
        rows = list(csv.reader(io.StringIO(output)))
        assert len(rows) - 1 == example.rows, f"{where}: {len(rows) - 1} rows, the README says {example.rows}:\n{output[:3000]}"
    flat = _flat(output)
    for value in example.values:
        assert _flat(value) in flat, f"{where}: {value!r} is not in what it gave:\n{output[:3000]}"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "sh"], ids=lambda e: e.id)
def test_readme_command_gives_what_it_says(demo, example):
    r = subprocess.run(["bash", "-e", "-c", example.code], cwd=demo, capture_output=True, text=True, timeout=300,
                       env=plain_env())
    assert r.returncode == 0, f"README line {example.line}: exit {r.returncode}\n{r.stderr[-3000:]}"
    _check(example, r.stdout + r.stderr)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "sparql"], ids=lambda e: e.id)
def test_readme_query_gives_what_it_says(demo, example):
    from metadatabronn.pipeline import query

    store = demo / "var" / "demo-store"
    output = query(store, "http://localhost:8000", example.code, "csv").decode("utf-8")
    _check(example, output)


# --- make demo: the port ----------------------------------------------------------------------


def _listening(host: str = "127.0.0.1", port: int = 0) -> socket.socket | None:
    s = socket.socket()
    try:
        s.bind((host, port))
    except OSError:
        s.close()
        return None
    s.listen()
    return s


def test_auto_takes_the_preferred_port_when_free_and_another_when_taken():
    holder = _listening()
    taken = holder.getsockname()[1]
    try:
        other = ports.choose("127.0.0.1", "auto", preferred=taken)
        assert other != taken and ports.is_free("127.0.0.1", other)
    finally:
        holder.close()
    assert ports.choose("127.0.0.1", "auto", preferred=taken) == taken
    assert ports.choose("127.0.0.1", 8123) == 8123  # a port given is honoured as it is
    assert ports.address("0.0.0.0", 8123) == "http://localhost:8123"


def test_serve_port_auto_says_the_port_it_takes(demo, capsys, monkeypatch):
    import uvicorn

    from metadatabronn.cli import main

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw))
    holder = _listening(port=ports.DEFAULT_PORT)  # or someone else holds it: taken either way
    try:
        assert main(["serve", "--store", str(demo / "var" / "demo-store"), "--port", "auto"]) == 0
    finally:
        if holder is not None:
            holder.close()
    assert started["port"] != ports.DEFAULT_PORT
    assert f"http://127.0.0.1:{started['port']}/" in capsys.readouterr().err


def _run_demo(make: str, tmp_path: Path, *variables: str, seconds: float = 300):
    """Start ``make demo``; return the process, the address it says it serves at, and its output."""
    proc = subprocess.Popen([make, "--no-print-directory", "-o", f"{BIN}/metadatabronn", "demo", f"BIN={BIN}",
                             f"DEMO_STORE={tmp_path / 'demo-store'}", *variables],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    out = b""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            m = re.search(rb"Serving the demo store at (http://\S+?)/ ", out)
            if m:
                return proc, m.group(1).decode(), out.decode("utf-8", "replace")
            if sel.select(timeout=1):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
    return proc, None, out.decode("utf-8", "replace")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)  # make and the server it started, in their own session
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
    proc.stdout.close()


def _health(address: str, proc: subprocess.Popen, seconds: float = 120) -> dict:
    import json

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{address}/health", timeout=10) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    pytest.fail(f"nothing answered at {address}/health")


@pytest.mark.parametrize("how", ["8000 taken", "PORT given"])
def test_make_demo_serves_where_it_says(tmp_path, how):
    make = _make()
    if how == "8000 taken":
        # 8000 held here, or already held by someone else: either way taken while make demo starts
        holder = _listening(port=ports.DEFAULT_PORT)
        variables = ()
    else:
        holder = None
        free = _listening()
        wanted = free.getsockname()[1]
        free.close()
        variables = (f"PORT={wanted}", "HOST=127.0.0.1")
    proc, address, out = _run_demo(make, tmp_path, *variables)
    try:
        assert address, f"make demo did not say where it serves:\n{out[-3000:]}"
        port = int(address.rsplit(":", 1)[1])
        if how == "8000 taken":
            assert port != ports.DEFAULT_PORT
        else:
            assert port == wanted
        health = _health(address, proc)
        # the store's base IRI is the address served, so its IRIs open in the browser
        assert health["base"] == address and health["counts"]["manifestations"] == 524
        assert "rejected 7" in _flat(out) and "nothing but 001" in out
    finally:
        _stop(proc)
        if holder is not None:
            holder.close()


def test_make_demo_refuses_a_port_in_use(tmp_path):
    make = _make()
    holder = _listening()
    try:
        port = holder.getsockname()[1]
        r = subprocess.run([make, "--no-print-directory", "-o", f"{BIN}/metadatabronn", "demo", f"BIN={BIN}",
                            f"DEMO_STORE={tmp_path / 'demo-store'}", f"PORT={port}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        holder.close()
    assert r.returncode != 0
    assert f"port {port} is in use" in r.stderr
    assert not (tmp_path / "demo-store").exists()  # refused before anything was loaded
