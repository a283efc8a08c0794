"""Renditions (store.renditions): an export reuses the bytes an earlier export wrote of a record
only while nothing it was made from has changed. Whatever happened in between (loads, edits,
deletions, an authority taking over headings, other options, other code), an export that
reuses gives the very bytes of one that writes every record anew."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings

from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline import export as export_module
from metadatabronn.pipeline.export import export
from metadatabronn.store import Store
from metadatabronn.store import renditions

from .test_catalogue_index import OPS, run_ops
from .test_linking import AUTHORITIES, BIBS, _bib
from .test_pipeline import GOLDEN, MARC, edited, golden_records, write

BASE = "http://example.org"


def _export(store: Path, fmt: str = "marc", workers: int = 1, **kw) -> tuple[bytes, export_module.Exported]:
    out = io.BytesIO()
    result = export(store, BASE, out, fmt, workers=workers, **kw)
    return out.getvalue(), result


def reused_agrees(store: Path, fmt: str = "marc", **kw) -> export_module.Exported:
    """An export reusing renditions writes exactly what a fresh one writes; returns its counts."""
    data, result = _export(store, fmt, **kw)
    fresh, fresh_result = _export(store, fmt, renditions=False, **kw)
    assert data == fresh
    assert (result.records, result.deleted, result.failed) == (fresh_result.records, fresh_result.deleted,
                                                               fresh_result.failed)
    assert fresh_result.reused == 0
    return result


def _load(store: Path, *files: Path, **kw):
    return [ingest([str(f)], Settings(store=store, base=BASE, workers=1, **kw)) for f in files]


def test_a_second_export_reuses_every_record_and_writes_the_same_bytes(tmp_path):
    store = tmp_path / "store"
    _load(store, GOLDEN, MARC / "lc5.mrc")
    first, made = _export(store)
    assert made.reused == 0 and made.records > 20
    assert (store / renditions.FILE).exists()
    again, result = _export(store, workers=2)
    assert again == first
    assert result.reused == result.records == made.records


def test_an_unchanged_reload_keeps_them_and_a_changed_record_is_written_again(tmp_path):
    store = tmp_path / "store"
    _load(store, GOLDEN)
    first, made = _export(store)
    _load(store, GOLDEN)  # nothing changes
    assert reused_agrees(store).reused == made.records
    records = golden_records()
    _load(store, write(tmp_path / "r.mrc", [edited(records[4], _retitle)]))
    result = reused_agrees(store)
    assert result.reused == made.records - 1
    assert b"Revised: " in _export(store)[0] and b"Revised: " not in first


def _retitle(record):
    record["245"]["a"] = "Revised: " + record["245"]["a"]


def test_an_authority_loaded_after_the_records_changes_what_they_say(tmp_path):
    """A record whose $0 named the authority from the start is not rewritten when the authority
    comes: what changes is what MARC out adds of the authority. Its rendition must not hold."""
    store, bibs = tmp_path / "s", tmp_path / "bibs.xml"
    writer = pymarc.XMLWriter(bibs.open("wb"))
    for n, (number, heading) in enumerate(BIBS):
        writer.write(_bib(number, heading, title=f"Dikt {n}"))
    writer.close()
    _load(store, bibs, profile=None)
    before, made = _export(store)
    _load(store, AUTHORITIES, profile=None)
    result = reused_agrees(store)
    assert result.reused < made.records
    assert _export(store)[0] != before


def test_other_options_formats_or_code_write_anew(tmp_path, monkeypatch):
    store = tmp_path / "store"
    _load(store, GOLDEN)
    _, made = _export(store)
    assert reused_agrees(store, options=export_module.Options(rda=True)).reused == 0
    assert reused_agrees(store, options=export_module.Options(rda=True)).reused == made.records
    assert reused_agrees(store, "marcxml").reused == 0
    assert reused_agrees(store, "marcxml").reused == made.records
    assert reused_agrees(store).reused == 0  # the rda rendition replaced the plain one
    monkeypatch.setattr(export_module, "code_fingerprint", lambda: "another version")
    assert reused_agrees(store).reused == 0


def test_an_export_where_renditions_cannot_be_kept_still_writes_every_record(tmp_path):
    store = tmp_path / "store"
    _load(store, GOLDEN)
    (store / renditions.FILE).mkdir()  # not a database: nothing is kept, nothing fails
    first, made = _export(store)
    again, result = _export(store)
    assert first == again and result.reused == 0 and not made.failed


def test_a_damaged_rendition_is_not_written_out(tmp_path):
    """A rendition whose stamp is not that of what the store holds now is not used."""
    store = tmp_path / "store"
    _load(store, GOLDEN)
    _export(store)
    conn = sqlite3.connect(store / renditions.FILE)
    conn.execute("UPDATE renditions SET stamp = x'00'")
    conn.commit()
    conn.close()
    assert reused_agrees(store).reused == 0


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_after_any_run_of_loads_edits_and_deletions_a_reusing_export_is_a_fresh_one(tmp_path_factory, ops):
    kept = {}

    def first_export(store: Path) -> None:
        kept["records"] = _export(store)[1].records

    store = run_ops(tmp_path_factory.mktemp("ops"), ops, loaded=first_export)
    reused_agrees(store)
    since = reused_agrees(store, since="2000-01-01T00:00:00Z")  # deleted ones too, as tombstones
    assert since.records >= kept["records"] - since.deleted


@pytest.mark.embedded_only("a pyoxigraph snapshot: a reader of a store on a server reads the server as it is now")
def test_a_snapshot_older_than_a_change_writes_what_it_holds_not_a_newer_rendition(tmp_path):
    store = tmp_path / "store"
    _load(store, GOLDEN)
    reader = Store(store, BASE, read_only=True)  # opened before the change below
    try:
        before, _ = _export(store)
        _load(store, write(tmp_path / "r.mrc", [edited(r, _retitle) for r in golden_records()]))
        now, result = _export(store)  # every record written anew, and kept anew
        assert result.reused == 0 and b"Revised: " in now and now != before
        graphs = list(reader.record_graphs(None))
        kept = reader.renditions("marc", f"{export_module.code_fingerprint()}\0{export_module.Options()!r}")
        out = export_module._encode_batch(graphs, "marc", True, export_module.Options(), store=reader,
                                          renditions=kept)
        assert not any(reused for *_, reused in out)
        assert b"".join(data for _, data, *_ in out) == before  # the snapshot's own records
        kept.close()
    finally:
        reader.close()


def test_a_damaged_body_is_written_anew_and_replaced(tmp_path):
    store = tmp_path / "store"
    _load(store, GOLDEN)
    first, made = _export(store)
    conn = sqlite3.connect(store / renditions.FILE)
    conn.execute("UPDATE renditions SET body = x'00ff' WHERE rowid = (SELECT MIN(rowid) FROM renditions)")
    conn.commit()
    conn.close()
    again, result = _export(store)
    assert again == first and result.reused == made.records - 1
    assert _export(store)[1].reused == made.records
