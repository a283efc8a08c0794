"""SPARQL queries in worker processes, so that a runaway query can be stopped.

pyoxigraph has no query timeout. Each worker process opens the store read-only and answers
one query at a time over a pipe; a query that runs past the timeout has its process killed and
replaced, so it never holds up the server or other users. When every worker is busy a SPARQL
request waits its turn (:class:`Admission`, first come first served) for up to the queue wait,
and then gets 503 with Retry-After. Workers run at a lower CPU priority than the server process.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections import deque
from pathlib import Path

from ..errors import MetadatabronnError, QuerySyntaxError, QueryTimeout, ResultTooLarge, StoreError

log = logging.getLogger(__name__)
_CONTEXT = multiprocessing.get_context("spawn")  # the server has threads: never fork it


class Busy(MetadatabronnError):
    """Every query worker stayed busy for the whole timeout."""


# The query parser and evaluator recurse: the default 8 MiB stack overflows (and ends the
# process) on a query nested a few thousand deep. Queries run on a thread with a larger stack,
# which the operating system backs with memory only as it is used; the server refuses queries
# nested deeper than ``sparql.MAX_NESTING`` before they come here.
QUERY_STACK = 512 * 1024 * 1024


def _die_with(parent: int) -> None:
    """End this worker when its server ends, even killed outright and even mid-query: the
    kernel sends SIGKILL when the thread that started the worker ends (every worker is started
    by one thread that lives as long as the server, :func:`_started`). A Python thread watching
    would not do: a query holds the interpreter until it ends, which may be never."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):  # another system: the server stops its workers when it can
        pass
    if parent and os.getppid() != parent:  # the server went before the request was made
        os._exit(0)


_SPAWNS: "queue.Queue | None" = None
_SPAWNING = threading.Lock()


def _started(make):
    """``make()`` run on the one thread of this process that starts workers (see
    :func:`_die_with`): a worker started by a request's thread would die with that thread."""
    global _SPAWNS
    with _SPAWNING:
        if _SPAWNS is None:
            _SPAWNS = queue.Queue()

            def spawner(todo: queue.Queue) -> None:
                while True:
                    job, done, out = todo.get()
                    try:
                        out.append(job())
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        out.append(exc)
                    done.set()

            threading.Thread(target=spawner, args=(_SPAWNS,), name="metadatabronn-query-spawner", daemon=True).start()
    done, out = threading.Event(), []
    _SPAWNS.put((make, done, out))
    done.wait()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def _serve(conn, store_path: str, base: str, max_bytes: int, refresh: float = 0.0, nice: int = 0,
           parent: int = 0) -> None:
    """The worker process: answers requests on a thread with a large stack, which lowers its
    CPU priority by ``nice`` once the store is open (see :func:`_answer`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then stops its workers
    _die_with(parent)
    try:
        threading.stack_size(QUERY_STACK)
        thread = threading.Thread(target=_answer, args=(conn, store_path, base, max_bytes, refresh, nice),
                                  name="metadatabronn-query")
        thread.start()
    except (RuntimeError, ValueError, MemoryError) as exc:  # no room for the stack: the main thread's
        log.warning("query worker runs on the main thread's stack: %s", exc)
        _answer(conn, store_path, base, max_bytes, refresh, nice)
        return
    finally:
        threading.stack_size(0)
    thread.join()


def _answer(conn, store_path: str, base: str, max_bytes: int, refresh: float = 0.0, nice: int = 0) -> None:
    """Open the store, then answer requests at a CPU priority lowered by ``nice`` (this thread
    only: the worker starts at full speed), so that the server process, which answers entity
    and look-up requests itself, is not slowed down by long queries."""
    import time

    from ..store import Store, generation

    store = Store(Path(store_path), base, read_only=True)
    if nice:
        try:
            os.nice(nice)
        except OSError as exc:  # not allowed here: the worker runs at the server's priority
            log.warning("query worker could not lower its priority by %d: %s", nice, exc)
    seen, checked = generation(store_path), time.monotonic()
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if refresh and time.monotonic() - checked >= refresh:
            # The same rule as the server's: a store written since, and quiet again, is reopened.
            checked = time.monotonic()
            current = generation(store_path)
            if current != seen:
                seen = current
                store = Store(Path(store_path), base, read_only=True)
        if request[0] == "render":
            try:
                conn.send(("ok", _render(store, *request[1:]), "render"))
            except Exception as exc:  # noqa: BLE001 - reported to the caller, the worker goes on
                conn.send(("error", f"cannot write records: {exc}", ""))
            continue
        sparql, results, graph, default_graphs, named_graphs = request[1:]
        try:
            body, kind = store.run_query(sparql, results=results, graph=graph, default_graphs=default_graphs,
                                         named_graphs=named_graphs, max_bytes=max_bytes)
            conn.send(("ok", body, kind))
        except QuerySyntaxError as exc:
            conn.send(("syntax", str(exc), ""))
        except ResultTooLarge as exc:
            conn.send(("large", str(exc), ""))
        except QueryTimeout as exc:  # a SPARQL server's own limit (QueryTooCostly)
            conn.send(("timeout", str(exc), ""))
        except (StoreError, MetadatabronnError) as exc:
            conn.send(("error", str(exc), ""))
        except Exception as exc:  # noqa: BLE001 - a bad request must not end the worker
            conn.send(("error", f"the query failed: {exc}", ""))


def _render(store, prefix: str, manifestations: list[str]) -> list[bytes | None]:
    """Records for harvesting, written in this worker: reading a record out of the store costs
    about as much as writing it, and this way two pages' worth run at once."""
    from .records import dublin_core, marc_record, marcxml, rdf_xml, record_graph

    out: list[bytes | None] = []
    # A page's records, their cores and change times in one read each, as export reads a batch.
    ahead = store.read_ahead([record_graph(m) for m in manifestations]) if prefix != "rdf" else None
    for m in manifestations:
        if prefix == "rdf":
            out.append(rdf_xml(store, m))
            continue
        record = marc_record(store, m, ahead)
        if record is None:
            out.append(None)
        elif prefix == "marc21":
            out.append(marcxml(record))
        else:
            out.append(dublin_core(record, m, "srw_dc" if prefix == "srw_dc" else "oai_dc"))
    return out


class _Worker:
    def __init__(self, store_path: Path, base: str, max_bytes: int, refresh: float = 0.0, nice: int = 0):
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(child, str(store_path), base, max_bytes, refresh, nice,
                                                             os.getpid()),
                                        daemon=True, name="metadatabronn-query")
        self.process.start()
        child.close()

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class Admission:
    """The queue of SPARQL requests waiting for a query worker, in one server process: first
    come, first served; one request per worker at a time. A request that has waited ``wait``
    seconds without a worker is answered 503 (:class:`Busy`), as is one that finds ``limit``
    requests already waiting: when users ask for more than the workers can run, some get a
    quick "try again" rather than all of them a slow answer, and the workers' throughput holds.

    Lives in the server's event loop (no locks): ``acquire`` and ``release`` are called from it."""

    def __init__(self, slots: int, wait: float, limit: int = 1000):
        self.free, self.wait, self.limit = slots, wait, limit
        self._queue: deque[asyncio.Future] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._queue if not f.done())

    def busy(self) -> Busy:
        return Busy(f"every query worker is busy and {self.waiting} queries are waiting; try again in a moment")

    async def acquire(self) -> None:
        if self.free > 0 and not self._queue:
            self.free -= 1
            return
        if len(self._queue) >= self.limit:
            raise self.busy()
        loop = asyncio.get_running_loop()
        turn = loop.create_future()
        self._queue.append(turn)
        expire = loop.call_later(self.wait, lambda: turn.done() or turn.set_exception(self.busy()))
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.release()  # the turn came, but the request was cancelled meanwhile: pass it on
            else:
                try:
                    self._queue.remove(turn)
                except ValueError:
                    pass
            raise
        finally:
            expire.cancel()

    def release(self) -> None:
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


class QueryWorkers:
    """A fixed number of query processes; ``run`` blocks, so call it from a thread.

    ``nice``: how much lower the workers' CPU priority is than the server's, so that entity and
    look-up requests, answered in the server process, stay quick while long queries run."""

    def __init__(self, store_path: Path, base: str, *, workers: int = 2, timeout: float = 30.0,
                 max_bytes: int = 50_000_000, refresh: float = 0.0, nice: int = 0):
        self.store_path, self.base, self.refresh, self.nice = store_path, base, refresh, nice
        self.timeout, self.max_bytes = timeout, max_bytes
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        for _ in range(workers):
            self._add()

    def _add(self) -> None:
        worker = _started(lambda: _Worker(self.store_path, self.base, self.max_bytes, self.refresh, self.nice))
        with self._lock:
            self._all.add(worker)
        self._idle.put(worker)

    @property
    def size(self) -> int:
        return len(self._all)

    def render(self, prefix: str, manifestations: list[str]) -> list[bytes | None]:
        """Harvest records (MARCXML, Dublin Core, RDF/XML) written in a worker process."""
        body, _ = self._call(("render", prefix, manifestations))
        return body

    def run(self, sparql: str, *, results: str, graph: str, default_graphs=None, named_graphs=None
            ) -> tuple[bytes, str]:
        return self._call(("query", sparql, results, graph, default_graphs, named_graphs))

    def _call(self, request: tuple, *, again: bool = True):
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise Busy(f"every query worker stayed busy for {self.timeout:g} s; try again later") from None
        try:
            worker.conn.send(request)
            if not worker.conn.poll(self.timeout):
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
            status, payload, kind = worker.conn.recv()
        except (QueryTimeout, EOFError, OSError) as exc:
            log.warning("query worker %s stopped: %s", worker.process.pid, exc)
            self._replace(worker)
            if isinstance(exc, QueryTimeout):
                raise
            if again:
                # A worker whose view of the store lost files to the writer's compaction can die
                # reading them; its replacement opens the store as it is now: asked once more.
                return self._call(request, again=False)
            raise StoreError("the query worker failed; it has been restarted") from None
        self._idle.put(worker)
        if status == "ok":
            return payload, kind
        if status == "syntax":
            raise QuerySyntaxError(payload)
        if status == "large":
            raise ResultTooLarge(payload)
        if status == "timeout":
            raise QueryTimeout(payload)
        raise StoreError(payload)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.stop()
        self._add()

    def close(self) -> None:
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()
