"""The catalogue index's log is checkpointed beside its writer (store.checkpointer), never in the
writer's COMMIT; what was committed is in the file once the writer closes, and a reader sees
every commit meanwhile."""

from __future__ import annotations

import sqlite3

from metadatabronn.store import checkpointer
from metadatabronn.store.catalogue import Catalogue, Row

PAGE_ROWS = 40  # rows a transaction: with the texts below, a few pages each


def _rows(start: int, n: int) -> list[Row]:
    return [Row(f"id{i:07d}", f"http://example.org/record/{i}", f"http://example.org/manifestation/{i}", i,
                "2026-01-01T00:00:00Z", False, "set" + "x" * 300) for i in range(start, start + n)]


def test_the_writer_never_checkpoints_in_its_commits_and_the_checkpointer_copies_every_frame(tmp_path):
    cat = Catalogue(tmp_path)
    try:
        assert cat.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        cat._checkpointer.close()  # the thread stopped: only the writer's own commits below
        cat._checkpointer = None
        for n in range(0, 60 * PAGE_ROWS, PAGE_ROWS):
            cat.write(_rows(n, PAGE_ROWS))
        side = checkpointer.Checkpointer(cat.path)
        try:
            busy, logged, copied = side.checkpoint()
            # Far past SQLite's own threshold of 1,000 pages, and none copied before this one:
            # a COMMIT that checkpointed would have left fewer frames in the log.
            assert logged > 1000 and copied == logged and busy == 0
            assert side.checkpoint()[1:] == (logged, logged)  # nothing new: nothing to do
        finally:
            side.close()
    finally:
        cat.close()


def test_what_was_committed_is_read_meanwhile_and_kept_after_close(tmp_path):
    cat = Catalogue(tmp_path)
    try:
        for n in range(0, 30 * PAGE_ROWS, PAGE_ROWS):
            cat.write(_rows(n, PAGE_ROWS))
            reader = Catalogue(tmp_path, read_only=True)
            try:
                assert reader.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == n + PAGE_ROWS
            finally:
                reader.close()
    finally:
        cat.close()
    conn = sqlite3.connect(cat.path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 30 * PAGE_ROWS
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert not (tmp_path / (cat.path.name + "-wal")).exists() or (tmp_path / (cat.path.name + "-wal")).stat().st_size == 0
