"""The server's one handle on the loans database (``STORE/loans.duckdb``).

DuckDB lets one process write a database file, and no other process open it meanwhile, not even
to read. A server process therefore opens it once, for reading and writing, on the first
statistics request (a server never asked for statistics leaves the file alone), and answers
every statistics request and delivery through it; DuckDB's transactions let a question read
while a delivery is being stored, and see it whole or not at all. With several HTTP workers the
first to ask holds the file; the others answer 503 (serve statistics with one HTTP worker, the
default). While a server holds it, ``metadatabronn stats load`` is refused: deliver over HTTP.

Before answering, the edition map (ISBN → manifestation → expression → work) is brought up to the
snapshot the server serves: a sync reads only the change log since the last one, so it costs
nothing when the store has not changed.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .problems import Problem
from .statistics_access import Publishers, min_cell, publishers_file

log = logging.getLogger(__name__)


class LoansState:
    """Per app: the open loans database, what the edition map was last synced to, the
    publishers file and the small-count threshold."""

    def __init__(self, store_path: Path):
        self.store_path = Path(store_path)
        self.loans = None
        self.synced: int | None = None  # the snapshot's change-log sequence the map was synced to
        self.publishers = Publishers(publishers_file(self.store_path))
        self.min_cell = min_cell()
        self._lock = threading.Lock()
        self._syncing = threading.Lock()

    def open(self):
        with self._lock:
            if self.loans is None:
                from ..store.loans import Loans

                try:
                    self.loans = Loans(self.store_path, read_only=False)
                except Exception as exc:  # noqa: BLE001 - DuckDB's lock error has no class of ours
                    if "lock" in str(exc).lower():
                        log.warning("the loans database is held by another process: %s", exc)
                        raise Problem(503, "the loan statistics are held by another process (another server "
                                      "process, or a 'metadatabronn stats' command): serve them with one HTTP "
                                      "worker, and deliver over HTTP while the server runs",
                                      headers={"Retry-After": "5"}) from None
                    raise
            return self.loans

    def current(self, app):
        """The loans database, its edition map in step with the snapshot ``app`` serves."""
        loans = self.open()
        snapshot = getattr(app.state, "snapshot", None)
        sequence = getattr(snapshot, "sequence", None)
        if sequence is not None and sequence != self.synced:
            with self._syncing:
                if sequence != self.synced:
                    self._sync(loans, sequence)
        return loans

    def _sync(self, loans, sequence: int) -> None:
        from ..pipeline.loans import sync

        try:
            sync(self.store_path, loans=loans)
        except Exception:  # noqa: BLE001 - figures from the map as it was beat no figures
            log.exception("could not bring the loans' edition map up to the store; answering from it as it was")
        self.synced = sequence

    def close(self) -> None:
        with self._lock:
            if self.loans is not None:
                self.loans.close()
                self.loans = None


def state_of(app) -> LoansState:
    state = getattr(app.state, "loans", None)
    if state is None:
        with _making:
            state = getattr(app.state, "loans", None)
            if state is None:
                state = app.state.loans = LoansState(app.state.well.store_path)
    return state


_making = threading.Lock()


def close(app) -> None:
    """Close the loans database when the app stops (the lifespan's end)."""
    state = getattr(app.state, "loans", None)
    if state is not None:
        state.close()
