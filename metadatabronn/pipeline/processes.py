"""A pool of forked worker processes whose results come back in the order they were asked for.

Ingest, export, dump and the round trip hand batches of work to a few processes and take the
results in order. ``multiprocessing.Pool`` did this with three helper threads in the main
process, and one of them (the worker handler) wakes whenever a result is waiting in the pipe
and spins until the result thread has read it: over an LC 20k ingest, 1.5 s of CPU for
nothing, and the interpreter lock taken from the threads that write the store. Here each
process has a pipe of its own for tasks and one for results, batches go round the processes in
turn, and the thread that wants a result reads it from the process that made it. Nothing runs
in the main process between calls. A process that dies is an error, not a hang.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from typing import Any, Callable

from ..errors import MetadatabronnError

_CONTEXT = multiprocessing.get_context("fork")


class WorkerLost(MetadatabronnError):
    """A worker process ended before it gave back what it was asked for."""


def _serve(tasks, results, initializer, initargs) -> None:
    # Ctrl-C reaches the whole process group: the main process decides what stops, not its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)
    # A thread of its own takes every task off the pipe as it comes, so that the main process
    # never waits on a full task pipe while this process waits for it to read a result.
    waiting: queue.SimpleQueue = queue.SimpleQueue()

    def take() -> None:
        try:
            while True:
                task = tasks.recv()
                waiting.put(task)
                if task is None:
                    return
        except (EOFError, OSError):
            waiting.put(None)

    threading.Thread(target=take, daemon=True, name="tasks").start()
    while (task := waiting.get()) is not None:
        fn, arg = task
        try:
            answer = (True, fn(arg))
        except BaseException as exc:  # given back to whoever asked, as Pool did
            answer = (False, exc)
        try:
            results.send(answer)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - pickled before a byte is written: say why instead
            what = "result" if answer[0] else f"error ({type(answer[1]).__name__}: {answer[1]})"
            results.send((False, MetadatabronnError(f"a worker process could not send back its {what}: {exc}")))


class _Worker:
    def __init__(self, number: int, initializer, initargs) -> None:
        task_out, self.tasks = _CONTEXT.Pipe(duplex=False)
        self.results, result_in = _CONTEXT.Pipe(duplex=False)
        self.number = number
        self.process = _CONTEXT.Process(target=_serve, args=(task_out, result_in, initializer, initargs),
                                        name=f"metadatabronn-worker-{number}", daemon=True)
        self.process.start()
        task_out.close()
        result_in.close()
        self.asked = 0  # tasks sent
        self.given = 0  # results read
        self.early: dict[int, tuple[bool, Any]] = {}  # read before they were asked for

    def answer(self, seq: int) -> tuple[bool, Any]:
        while seq not in self.early:
            try:
                got = self.results.recv()
            except (EOFError, OSError):
                self.process.join(timeout=1)
                raise WorkerLost(f"worker process {self.number} ended (exit code {self.process.exitcode}) "
                                 "before it finished its work") from None
            self.early[self.given] = got
            self.given += 1
        return self.early.pop(seq)


class Pending:
    """One task's result, once it is there."""

    __slots__ = ("_worker", "_seq")

    def __init__(self, worker: _Worker, seq: int) -> None:
        self._worker, self._seq = worker, seq

    def get(self):
        ok, value = self._worker.answer(self._seq)
        if ok:
            return value
        raise value


class Processes:
    """``processes`` forked workers, each run ``initializer(*initargs)`` first. Used by one
    thread: tasks are handed out and results taken by the same caller."""

    def __init__(self, processes: int, initializer: Callable | None = None, initargs: tuple = ()) -> None:
        self._workers: list[_Worker] = []
        try:
            for n in range(processes):
                self._workers.append(_Worker(n + 1, initializer, initargs))
        except BaseException:
            self.terminate()
            raise
        self._turn = 0

    def apply_async(self, fn: Callable, args: tuple) -> Pending:
        """``fn(*args)`` (one argument) on the next process in turn."""
        (arg,) = args
        worker = self._workers[self._turn]
        self._turn = (self._turn + 1) % len(self._workers)
        seq = worker.asked
        worker.asked += 1
        try:
            worker.tasks.send((fn, arg))
        except (BrokenPipeError, OSError):
            worker.process.join(timeout=1)
            raise WorkerLost(f"worker process {worker.number} ended (exit code {worker.process.exitcode}) "
                             "before it was given its work") from None
        return Pending(worker, seq)

    def terminate(self) -> None:
        """Stop every process now, finished or not."""
        for w in self._workers:
            if w.process.is_alive():
                w.process.terminate()
        self.join()

    def join(self) -> None:
        for w in self._workers:
            w.process.join()
            for conn in (w.tasks, w.results):
                conn.close()
