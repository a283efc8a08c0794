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
