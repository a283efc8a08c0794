"""The statistics process: one process that holds the loans database (``STORE/loans.duckdb``) for
a server with several HTTP workers, and answers their questions and deliveries.

DuckDB lets one process open a database file for writing, and no other open it meanwhile. A
server with one HTTP worker holds the file in that worker; with several, ``serve`` starts this
process before them (spawned, as the writer is) and the workers call it over a local socket
(``multiprocessing.connection``, with a key only the server's processes know). Each call names a
question of :class:`~metadatabronn.store.loans.Loans` and the change-log sequence of the snapshot
the worker serves: the edition map is brought up to it first (a sync reads only the change log
since the last one). A delivery goes as the path of the file the worker spooled its body to,
never through the socket. The process opens the loans file at the first call, so a server never
asked for statistics leaves it alone.
"""

from __future__ import annotations

import logging
import os
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from ..errors import DeliveryRejected, InputError, MetadatabronnError, StoreError
from . import channel

log = logging.getLogger(__name__)

# what a worker may ask; nothing else of the Loans object is reachable over the socket
QUESTIONS = frozenset({"work_series", "work_totals", "expression_totals", "isbn_totals", "top_works",
                       "by_language", "creator_works", "unmatched", "match_report", "deliveries"})


class StatisticsUnavailable(StoreError):
    """The loans database cannot be opened (another process holds it), or the statistics process
    cannot be reached: try again later (HTTP 503)."""


class StatisticsFailed(MetadatabronnError):
    """The statistics process took the call and failed on it (what it said is the message)."""


class _Service:
    """What the statistics process does with each call."""

    def __init__(self, store_path: Path):
        self.path = store_path
        self.loans = None
        self.synced = -1  # the highest snapshot sequence the edition map was brought up to
        self._opening = threading.Lock()
        self._syncing = threading.Lock()

    def _open(self):
        with self._opening:
            if self.loans is None:
                from ..store.loans import Loans

                try:
                    self.loans = Loans(self.path, read_only=False)
                except Exception as exc:  # noqa: BLE001 - DuckDB's lock error has no class of ours
                    if "lock" in str(exc).lower():
                        raise StatisticsUnavailable(
                            "the loan statistics are held by another process (a 'metadatabronn stats' command "
                            "or another server): deliver over HTTP while the server runs") from None
                    raise
            return self.loans

    def _sync(self, loans, sequence: int | None) -> None:
        # Workers' snapshots refresh at their own times: sync forward only, to whichever is newest
        # (a sync reads the store as it is now, at least as new as any worker's snapshot).
        if sequence is None or sequence <= self.synced:
            return
        with self._syncing:
            if sequence <= self.synced:
                return
            from .loans import sync

            try:
                sync(self.path, loans=loans)
            except Exception:  # noqa: BLE001 - figures from the map as it was beat no figures
                log.exception("could not bring the loans' edition map up to the store; answering from it as it was")
            else:  # (a failed sync is tried again at the next call)
                self.synced = sequence

    def ask(self, name: str, args: tuple, kwargs: dict, sequence: int | None):
        if name not in QUESTIONS:
            raise StatisticsFailed(f"no such statistics question: {name}")
        loans = self._open()
        self._sync(loans, sequence)
        return getattr(loans, name)(*args, **kwargs)

    def load(self, path: str, system: str, partial: bool):
        from .loans import load

        return load(self.path, path, system, partial=partial, loans=self._open())

    def close(self) -> None:
        with self._opening:
            if self.loans is not None:
                self.loans.close()
                self.loans = None


def _reply(service: _Service, op: str, kw: dict):
    try:
        return "ok", getattr(service, op)(**kw)
    except DeliveryRejected as exc:  # its own arguments, not its message: the problems stay rows
        return "rejected", (exc.system, exc.problems)
    except StatisticsUnavailable as exc:
        return "unavailable", str(exc)
    except InputError as exc:
        return "input", str(exc)
    except StoreError as exc:
        return "store", str(exc)
    except MetadatabronnError as exc:
        return "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - a defect: logged here, reported to the worker
        log.exception("the statistics process failed on %s", op)
        return "error", f"the statistics process failed: {type(exc).__name__}: {exc}"


def _answer(service: _Service, conn: Connection) -> None:
    while True:
        try:
            op, kw = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(_reply(service, op, kw))
        except (EOFError, OSError):
            return


def _run(address: str, authkey: bytes, store_path: str, parent: int, level: int) -> None:
    channel.hold_stop_signals()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    service = _Service(Path(store_path))

    log.info("the statistics process answers for %s/loans.duckdb", store_path)
    # (closing the database cleanly: DuckDB checkpoints)
    channel.run_service(address, authkey, parent, service.close, lambda conn: _answer(service, conn),
                        "statistics process")


StatisticsProcess = channel.ServiceProcess  # the statistics process as its owner (``serve``) sees it


def start(store_path: Path, *, wait: float = 60.0) -> StatisticsProcess:
    """Start the statistics process and wait until it listens."""
    return channel.spawn(_run, "metadatabronn-statistics", "stats", (str(store_path),), wait=wait,
                         failed=lambda: StoreError("the statistics process did not start"),
                         late=lambda: StoreError("the statistics process did not start"))


class Statistics:
    """A server process's line to the statistics process (:class:`.channel.Channel`)."""

    def __init__(self, address: str, authkey: bytes):
        self._channel = channel.Channel(address, authkey, "statistics process", StatisticsUnavailable)

    def call(self, op: str, **kw):
        status, value = self._channel.request(op, **kw)
        if status == "ok":
            return value
        if status == "rejected":
            raise DeliveryRejected(*value)
        raise {"unavailable": StatisticsUnavailable, "input": InputError, "store": StoreError}.get(
            status, StatisticsFailed)(value)

    def loans(self, sequence: int | None = None) -> "RemoteLoans":
        return RemoteLoans(self, sequence)

    def close(self) -> None:
        self._channel.close()


class RemoteLoans:
    """The questions of :class:`~metadatabronn.store.loans.Loans`, asked of the statistics
    process, the edition map first brought up to ``sequence`` (a snapshot's change-log
    position; None: as it is)."""

    def __init__(self, client: Statistics, sequence: int | None):
        self._client, self._sequence = client, sequence

    def __getattr__(self, name: str):
        if name not in QUESTIONS:
            raise AttributeError(name)

        def ask(*args, **kwargs):
            return self._client.call("ask", name=name, args=args, kwargs=kwargs, sequence=self._sequence)

        ask.__name__ = name
        return ask


def from_environment() -> Statistics | None:
    """The line to the statistics process ``serve`` started, if it started one."""
    address = os.environ.get("METADATABRONN_STATISTICS_SOCKET")
    key = os.environ.get("METADATABRONN_STATISTICS_KEY")
    if not address or not key:
        return None
    return Statistics(address, bytes.fromhex(key))
