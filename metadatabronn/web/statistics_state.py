"""The server's one handle on the loans database (``STORE/loans.duckdb``).

DuckDB lets one process write a database file, and no other process open it meanwhile, not even
to read. A server with one HTTP worker opens it in that worker, once, for reading and writing, on
the first statistics request (a server never asked for statistics leaves the file alone), and
answers every statistics request and delivery through it; DuckDB's transactions let a question
read while a delivery is being stored, and see it whole or not at all. With several HTTP workers,
``serve`` starts one statistics process that holds the file
(:mod:`~metadatabronn.pipeline.statistics_process`) and every worker asks it over a local socket;
a delivery goes to it as the path of the spooled body. While a server holds the file,
``metadatabronn stats load`` is refused: deliver over HTTP.

Before answering, the edition map (ISBN → manifestation → expression → work) is brought up to the
snapshot the server serves: a sync reads only the change log since the last one, so it costs
nothing when the store has not changed.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..pipeline import statistics_process as remote
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
        self.remote = remote.from_environment()  # set when serve runs a statistics process

    def open(self):
        if self.remote is not None:
            return _Answering(self.remote.loans())
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
        snapshot = getattr(app.state, "snapshot", None)
        sequence = getattr(snapshot, "sequence", None)
        if self.remote is not None:  # the process syncs, once for all workers, as it answers
            return _Answering(self.remote.loans(sequence))
        loans = self.open()
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
        else:  # (a failed sync is tried again at the next request)
            self.synced = sequence

    def load(self, path: str, system: str, *, partial: bool = False):
        """Store a delivery spooled to ``path`` (see :func:`~metadatabronn.pipeline.loans.load`)."""
        if self.remote is not None:
            return _unavailable_is_503(self.remote.call, "load", path=str(path), system=system, partial=partial)
        from ..pipeline.loans import load

        return load(self.store_path, path, system, partial=partial, loans=self.open())

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
        with self._lock:
            if self.loans is not None:
                self.loans.close()
                self.loans = None


def _unavailable_is_503(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except remote.StatisticsUnavailable as exc:
        log.warning("%s", exc)
        raise Problem(503, str(exc), headers={"Retry-After": "5"}) from None


class _Answering:
    """The statistics process's answers as the routes ask them: unreachable, or the file held
    elsewhere, is a 503, as it is for the handle held in the worker."""

    def __init__(self, loans: remote.RemoteLoans):
        self._loans = loans

    def __getattr__(self, name: str):
        ask = getattr(self._loans, name)
        return lambda *args, **kwargs: _unavailable_is_503(ask, *args, **kwargs)


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
