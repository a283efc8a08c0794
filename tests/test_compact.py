"""Compacting the store: after a load that wrote much of it, on demand, and never at the cost
of a statement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metadatabronn.cli import main
from metadatabronn.errors import ConfigError
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.run import Summary, should_compact

from .test_pipeline import masked

DATA = Path(__file__).parent / "data" / "marc"
LC = str(DATA / "lc-refuse-nothing.mrc")


def _summary(new=0, updated=0, deleted=0, held=0) -> Summary:
    return Summary(records_new=new, records_updated=updated, records_deleted=deleted, manifestations=held)


def test_auto_compacts_after_a_load_that_wrote_much_of_the_store_and_not_after_a_small_update():
    assert should_compact("auto", _summary(new=20_000, held=20_000))  # a first load
    assert should_compact("auto", _summary(updated=60_000, held=240_000))  # a quarter reloaded
    assert not should_compact("auto", _summary(new=3_000, held=240_000))  # a daily update
    assert not should_compact("auto", _summary(held=240_000))  # nothing written
    assert should_compact("always", _summary(new=1, held=240_000))
    assert not should_compact("never", _summary(new=20_000, held=20_000))
    with pytest.raises(ConfigError, match="--compact must be one of"):
        should_compact("sometimes", _summary(new=1, held=1))


@pytest.mark.embedded_only("compacting rewrites pyoxigraph's files; a server compacts its own")
def test_a_compacted_store_holds_exactly_what_an_uncompacted_one_holds(tmp_path):
    runs = {}
    for mode in ("never", "always"):
        store = tmp_path / mode
        summary = ingest([LC], Settings(store=store, base="http://example.org", workers=1, compact=mode))
        runs[mode] = (summary, store)
    (plain, plain_store), (compacted, compacted_store) = runs["never"], runs["always"]
    assert plain.compact_seconds == 0 and compacted.compact_seconds > 0
    assert compacted.records_new == plain.records_new > 0
    assert masked(compacted_store) == masked(plain_store)


@pytest.mark.embedded_only("compacting rewrites pyoxigraph's files; a server compacts its own")
def test_the_compact_command_rewrites_the_files_and_keeps_every_statement(tmp_path, capsys):
    store = tmp_path / "store"
    for part in range(3):  # several loads: several sets of files to merge
        ingest([LC], Settings(store=store, base="http://example.org", workers=1, compact="never",
                              profile=None if part else "base"))
    before = masked(store)
    tables_before = _tables(store)
    assert main(["compact", "--store", str(store)]) == 0
    assert f"compacted {store}" in capsys.readouterr().out
    assert masked(store) == before
    # Only RocksDB's tables count: each opening of the store leaves one more old log beside them.
    tables_after = _tables(store)
    assert tables_after != tables_before and len(tables_after) <= len(tables_before)


def _tables(store: Path) -> set[str]:
    return {name for name in os.listdir(store) if name.endswith(".sst")}


def test_compact_of_a_missing_store_says_so(tmp_path, capsys):
    assert main(["compact", "--store", str(tmp_path / "nowhere")]) != 0
    assert "nowhere" in capsys.readouterr().err
