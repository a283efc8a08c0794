"""Conversion on a Dask cluster (``ingest --engine dask``): the same pure converter, run by
Dask's distributed scheduler instead of a local process pool.

The client reads the input and cuts it into batches exactly as the local engine does; each batch
is a task on the cluster, which gives back the records' outcomes. The client takes them in input
order, so clustering, minting and writing stay in the one loader pass that consults the store,
and the store comes out identical to a local ingest's.

Workers are not forked from the client, so they do not inherit the run's alias table
(``aliases.activate``): it is scattered to them once and handed to every task, which sets it
around its own conversion. Dask needs only ``metadatabronn`` importable on each worker (the
same version as the client's), and the profile the run validates by.

A task that fails, or whose worker dies however often Dask retries it, does not stop the run:
each record of its batch is rejected with the reason. A cluster that is gone (its scheduler
unreachable, its workers lost for good) stops the run with an :class:`EngineError`; what was
stored before it stays, and the same ingest run again skips it as unchanged.
"""

from __future__ import annotations

import logging
import resource
import threading
import time
from collections import Counter
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError, EngineError
from ..marc import Chunk
from . import aliases, worker
from .worker import Gate, Outcome

log = logging.getLogger(__name__)

INSTALL = "pip install 'metadatabronn[dask]'"
ENGINES = ("local", "dask")
# How long a run waits for a scheduler to answer, and for a cluster to have a worker at all.
CONNECT_SECONDS = 30.0
WORKERS_SECONDS = 60.0
# Batches a cluster thread has queued or under way: enough to keep it busy while the client
# loads, few enough that memory stays flat however large the input.
BATCHES_PER_THREAD = 3
LOG_EVERY_SECONDS = 10.0


def distributed_module():
    """Dask's ``distributed``, or a ConfigError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(f"--engine dask needs Dask's distributed scheduler, which is not installed here: "
                          f"{INSTALL}") from None
    return distributed


def check_engine(engine: str, scheduler: str | None) -> None:
    """A known engine, a scheduler only for Dask, and Dask installed when it is asked for: said
    before anything is read."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if scheduler and engine != "dask":
        raise ConfigError(f"a scheduler ({scheduler}) is for --engine dask, not {engine}")
    if engine == "dask":
        distributed_module()


@dataclass
class Converted:
    """A batch's outcomes, with where and at what cost the cluster converted them."""

    worker: str
    cpu_seconds: float  # the task's own thread: the conversion, not the worker's traffic
    peak_rss: int  # the worker process's peak resident set, in bytes
    process_cpu: float  # the worker process's CPU seconds so far: conversion, Dask's traffic and all
    outcomes: list


_converting = threading.Lock()


def convert_on_worker(chunks: list[Chunk], base: str, when: str, gate: Gate | None,
                      table: aliases.Table | None) -> Converted:
    """The task: ``worker._convert_batch`` with the run's alias table set around it.

    The table is module state, so a worker with several threads (or several runs) converts one
    batch at a time; conversion holds the interpreter lock anyway, so threads lose nothing."""
    with _converting:
        before = aliases.active()
        aliases.activate(table)
        try:
            started = time.thread_time()
            outcomes = worker._convert_batch(chunks, base, when, gate)
            cpu = time.thread_time() - started
        finally:
            aliases.activate(before)
    try:
        from distributed import get_worker

        name = str(get_worker().name)
    except (ImportError, ValueError):  # not on a Dask worker (called directly)
        name = "local"
    return Converted(name, cpu, peak_rss(), time.process_time(), outcomes)


def peak_rss() -> int:
    """This process's peak resident set in bytes. Linux's VmHWM, which starts afresh in a
    spawned process (``ru_maxrss`` there starts at the parent's peak)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Tally:
    """What the cluster has converted so far, per worker; fed from Dask's callback thread."""

    def __init__(self, progress: Callable[[int], None] | None):
        self._progress = progress
        self._lock = threading.Lock()
        self.records: Counter = Counter()
        self.cpu: Counter = Counter()
        self.peak_rss: dict[str, int] = {}
        self.process_cpu: dict[str, float] = {}
        self._logged = time.monotonic()

    def count(self, n: int) -> None:
        """``n`` records done without the cluster (unchanged, unreadable): progress alone."""
        if self._progress is not None:
            with self._lock:
                self._progress(n)

    def converted(self, batch: Converted) -> None:
        with self._lock:
            self.records[batch.worker] += len(batch.outcomes)
            self.cpu[batch.worker] += batch.cpu_seconds
            self.peak_rss[batch.worker] = max(self.peak_rss.get(batch.worker, 0), batch.peak_rss)
            self.process_cpu[batch.worker] = max(self.process_cpu.get(batch.worker, 0.0), batch.process_cpu)
            if self._progress is not None:
                self._progress(len(batch.outcomes))
            if time.monotonic() - self._logged >= LOG_EVERY_SECONDS:
                self._logged = time.monotonic()
                log.info("converted on the cluster: %d records (%s)", sum(self.records.values()), self._per_worker())

    def _per_worker(self) -> str:
        return ", ".join(f"{w}: {n}" for w, n in sorted(self.records.items()))

    def report(self) -> dict:
        """Per worker: records converted, CPU seconds of their conversion, the worker process's
        CPU seconds at its last batch (since it started: a worker of a long-lived cluster counts
        earlier runs too) and its peak RSS in bytes."""
        with self._lock:
            return {w: {"records": n, "cpu_seconds": round(self.cpu[w], 3),
                        "process_cpu_seconds": round(self.process_cpu[w], 3), "peak_rss_bytes": self.peak_rss[w]}
                    for w, n in sorted(self.records.items())}


def _span(chunks: list[Chunk]) -> str:
    """Which records a batch holds, by file: 'a.mrc records 201-400'."""
    parts: dict[str, list[int]] = {}
    for c in chunks:
        parts.setdefault(c.source, []).append(c.number)
    return "; ".join(f"{source} records {min(ns)}-{max(ns)}" if len(ns) > 1 else f"{source} record {ns[0]}"
                     for source, ns in parts.items())


class Pending:
    """One batch on the cluster. Its result is fetched as soon as the task ends (in Dask's
    callback thread, which also reports progress), and handed over by :meth:`get` in order."""

    def __init__(self, cluster: "Cluster", chunks: list[Chunk], future):
        self.cluster = cluster
        self.chunks = chunks
        self._future = future
        self._ready = threading.Event()
        self._result: Converted | None = None
        self._error: BaseException | None = None
        future.add_done_callback(self._done)

    def _done(self, future) -> None:
        try:
            self._result = future.result()
        except BaseException as exc:  # handed to get(), in the loader's thread
            self._error = exc
        try:
            if self._result is not None:  # counted before it is handed over: the run's totals are whole
                self.cluster.tally.converted(self._result)
        except Exception:  # a progress display that fails must not fail the batch
            log.warning("reporting progress failed", exc_info=True)
        finally:
            self._ready.set()

    def get(self) -> list[Outcome]:
        while not self._ready.wait(5.0):
            self.cluster.check()
        future, self._future = self._future, None
        if future is not None:
            future.release()
        if self._error is None:
            return self._result.outcomes
        exc = self._error
        if isinstance(exc, CancelledError) or self.cluster.gone():
            raise EngineError(f"the Dask cluster{self.cluster.where} is gone ({type(exc).__name__}: {exc}); "
                              f"the records before {_span(self.chunks)} are stored: run the same ingest again to "
                              f"load the rest") from None
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.error("the cluster could not convert %s: %s", _span(self.chunks), why)
        self.cluster.tally.count(len(self.chunks))
        return [Outcome(c.number, "rejected", c.source, reason=f"conversion failed on the cluster: {why}",
                        data=c.data, format=c.format.value) for c in self.chunks]


class Cluster:
    """The run's Dask cluster: a ``LocalCluster`` of its own (``workers`` processes of one thread
    each) when no scheduler is named, else the cluster behind the scheduler at that address."""

    def __init__(self, scheduler: str | None, workers: int, progress: Callable[[int], None] | None = None):
        distributed = distributed_module()
        if not log.isEnabledFor(logging.DEBUG):  # Dask's own INFO lines (every connection) drown the run's
            logging.getLogger("distributed").setLevel(logging.WARNING)
        self.scheduler = scheduler
        self.where = f" at {scheduler}" if scheduler else ""
        self.tally = Tally(progress)
        self._local = None
        self.client = None
        self._table = None
        # Each of Dask's batched streams keeps its last messages for debugging (1,000 by default):
        # here every one carries a batch's records, which would hold hundreds of MB in the client,
        # its scheduler and its workers. The setting reaches the workers a LocalCluster starts.
        import dask

        quiet = dask.config.set({"distributed.admin.low-level-log-length": 0})
        quiet.__enter__()
        try:
            if scheduler is None:
                # The scheduler serves HTTP whatever is asked: on a free loopback port, not on 8787
                # (taken, it warns) nor on every interface.
                self._local = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       dashboard_address="127.0.0.1:0")
                self.client = distributed.Client(self._local)
            else:
                self.client = distributed.Client(scheduler, timeout=CONNECT_SECONDS)
            self.client.wait_for_workers(1, timeout=WORKERS_SECONDS)
            self.threads = sum(self.client.nthreads().values())
        except ValueError as exc:  # an address Dask cannot read
            self.close()
            raise ConfigError(f"the Dask scheduler's address {scheduler!r} cannot be used ({exc}): give "
                              f"tcp://HOST:PORT") from None
        except (OSError, TimeoutError) as exc:
            self.close()
            what = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
            raise EngineError(f"cannot use {what}: {type(exc).__name__}: {exc}") from None
        except BaseException:
            self.close()
            raise
        finally:
            quiet.__exit__(None, None, None)
        self.window = max(1, self.threads) * BATCHES_PER_THREAD
        log.info("converting on the Dask cluster%s: %d worker thread(s)", self.where or " (local)", self.threads)

    def start(self, base: str, when: str, gate: Gate | None, table: aliases.Table | None) -> None:
        """What every task of the run shares; the alias table goes to the workers once."""
        self._args = (base, when, gate)
        self._table = self.client.scatter(table, broadcast=True, hash=False) if table is not None else None

    def submit(self, chunks: list[Chunk]) -> Pending:
        future = self.client.submit(convert_on_worker, chunks, *self._args, self._table, pure=False)
        return Pending(self, chunks, future)

    def gone(self) -> bool:
        """Whether the cluster can no longer take work: the client closed, or its scheduler or
        every worker lost."""
        # A client reconnecting has already cancelled every task it had: for this run, that is gone.
        if self.client is None or self.client.status != "running":
            return True
        try:
            return not self.client.nthreads()
        except Exception:  # the scheduler does not answer
            return True

    def check(self) -> None:
        """Called while waiting on a batch: a cluster with no scheduler, or no worker for
        :data:`WORKERS_SECONDS`, stops the run rather than leave it waiting for ever."""
        if not self.gone():
            return
        deadline = time.monotonic() + WORKERS_SECONDS
        while time.monotonic() < deadline:
            time.sleep(1.0)
            if not self.gone():
                return
        raise EngineError(f"the Dask cluster{self.where} is gone: no scheduler or no worker for "
                          f"{WORKERS_SECONDS:.0f} s; the records loaded so far are stored: run the same ingest "
                          f"again to load the rest")

    def close(self) -> None:
        if self.tally.records:
            log.info("converted on the cluster: %d records (%s)", sum(self.tally.records.values()),
                     self.tally._per_worker())
        for thing in (self.client, self._local):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # a cluster already gone: nothing left to close
                    log.debug("closing the Dask client", exc_info=True)
        self.client = self._local = None
