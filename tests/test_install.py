"""An installed copy, not a checkout: the wheel carries the profiles, their vocabularies and
the query page, and validates exactly as the repository does."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from metadatabronn.validate import PROFILES

from .conftest import ROOT, record_with


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package as pip installs it from its wheel, outside the repository."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(tmp)],
                           capture_output=True, text=True)
    if build.returncode != 0:
        if "Could not find a version" in build.stderr or "connection" in build.stderr.lower():
            pytest.skip("no package index to fetch the build backend from")
        pytest.fail(build.stderr)
    [wheel] = tmp.glob("metadatabronn-*.whl")
    site = tmp / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def run(site, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_the_wheel_carries_profiles_vocabularies_and_the_query_page(installed):
    package = installed / "metadatabronn"
    assert {p.name for p in (package / "shapes").glob("*.csv")} >= {f"{name}.csv" for name in PROFILES}
    assert (package / "shapes" / "profiles.toml").is_file()
    assert (package / "vocabularies" / "rda-terms.ttl").is_file()
    assert (package / "web" / "static" / "yasgui" / "yasgui.min.js").is_file()


def test_an_installed_copy_validates_as_the_checkout_does(installed, tmp_path):
    bad = record_with("=245  00$f1899-1923.", "=300  \\\\$a1 v.", cn="BAD1")  # no title proper
    good = record_with("=245  10$aGood.", "=300  \\\\$a1 v.", cn="GOOD1")
    path = tmp_path / "two.mrc"
    path.write_bytes(bad.as_marc() + good.as_marc())
    where = run(installed, "-c", "import metadatabronn.validate.index as p; print(p.SHAPES_DIR)", cwd=tmp_path)
    assert where.stdout.strip().startswith(str(installed)), where.stderr
    for profile in PROFILES:
        r = run(installed, "-m", "metadatabronn", "validate", str(path), "--profile", profile, cwd=tmp_path)
        assert r.returncode == 1, r.stderr
        assert "1 of 2 records conform" in r.stdout and "BAD1" in r.stdout
