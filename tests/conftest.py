"""Shared fixtures: real records from tests/data, a fresh store per test, and the mnemonic
MARC reader used by the mapping examples."""

from __future__ import annotations

import os
from pathlib import Path

import pymarc
import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SHARED = ROOT.parent / "shared" / "corpora"


@pytest.fixture(autouse=True)
def _own_settings():
    """Each test starts with the METADATABRONN_ settings the run began with: a command run in
    process (``serve`` sets the server's settings in its environment) leaves none to the next."""
    before = {k: v for k, v in os.environ.items() if k.startswith("METADATABRONN_")}
    yield
    for k in [k for k in os.environ if k.startswith("METADATABRONN_") and k not in before]:
        del os.environ[k]
    os.environ.update(before)


def shared(path: str) -> Path:
    """A corpus file from the shared folder, or a clean skip where it is absent."""
    p = SHARED / path
    if not p.exists():
        pytest.skip(f"shared corpus not available: {path}")
    return p


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


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("METADATABRONN_"):
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

def pytest_configure(config):
    config.addinivalue_line("markers", "remote: runs against a SPARQL server (Virtuoso)")


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
