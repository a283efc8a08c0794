"""The docs say what the code does."""

from __future__ import annotations

from metadatabronn.cli import build_parser
from metadatabronn.mapping.doc import render

from .conftest import ROOT


def test_mapping_page_is_generated_from_the_rules():
    assert (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8") == render(), \
        "docs/mapping.md is stale: python -m metadatabronn.mapping.doc > docs/mapping.md"


def test_readme_names_every_cli_command_and_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"metadatabronn {name}" in readme, name
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_readme_shows_the_screenshots_the_browser_tests_take():
    """Each page tools/screenshots.py copies is in docs/screenshots/ and shown in the README."""
    import re
    import runpy

    pages = runpy.run_path(str(ROOT / "tools" / "screenshots.py"), run_name="screenshots")["PAGES"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"!\[[^\]]+\]\((docs/screenshots/[\w-]+\.png)\)", readme))
    assert shown == {f"docs/screenshots/{name}.png" for name in pages}
    for path in shown:
        data = (ROOT / path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    browser = (ROOT / "tests" / "test_browser.py").read_text(encoding="utf-8")
    for name in pages:
        assert f'_shot(page, "{name}")' in browser, name


def test_make_demo_is_described_as_it_behaves():
    """The README's set-up says what the Makefile does: the port, the rejects, the store alone."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PORT ?= auto" in makefile and "HOST ?=" in makefile and "\ndemo-store:" in makefile
    for said in ("make demo PORT=8080", "HOST=0.0.0.0", "make demo-store", "at a free port",
                 "nothing but a 001", ".venv/bin/activate"):
        assert said in " ".join(readme.split()), said
