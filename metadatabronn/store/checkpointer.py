"""Moving the catalogue index's write-ahead log into its file, beside the writer rather than in
its way.

Why: SQLite checkpoints a WAL in the connection that commits past a thousand pages, inside that
COMMIT: it writes the logged pages to their places in the file and waits for the disk
(``fdatasync``). In a big store those places are all over a file of gigabytes, and each wait
took 0.1-0.2 s; a load's indexing step, which the whole load waits for, made them (measured at
240,000 records: 2.9 s of a 10,000-record load's 26 s waiting on the index file and its log,
against 0.5 s in an empty store). Here the writer's connection never checkpoints; a thread of
its own, on a connection of its own, checkpoints after a commit, at most once a second, without
blocking the writer (``PASSIVE``: it copies what is committed and stops short of what a reader
still needs). SQLite releases the interpreter while it works, so the writer goes on meanwhile.
The last connection to close checkpoints what is left, as before.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds: commits in between share one checkpoint (and one wait for the disk)


class Checkpointer:
    def __init__(self, path: Path):
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalogue-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """A transaction was committed: the log has grown."""
        self._wake.set()

    def checkpoint(self) -> tuple[int, int, int]:
        """Copy what the log holds into the file, as far as readers allow: SQLite's answer
        (whether it stopped short, frames in the log, frames copied)."""
        try:
            return tuple(self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        except sqlite3.Error as exc:  # (a full disk: the next commit says so to its writer)
            log.debug("checkpoint not made: %s", exc)
            return (1, -1, -1)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopped.is_set():
                return
            self._wake.clear()
            self.checkpoint()
            if self._stopped.wait(INTERVAL):
                return

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join()
        self._conn.close()
