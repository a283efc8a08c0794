"""The worker processes of ingest, export, dump and the round trip: results in the order asked,
a task's error given back to the caller, and a lost process an error, never a hang."""

from __future__ import annotations

import os
import signal

import pytest

from metadatabronn.errors import MetadatabronnError
from metadatabronn.pipeline.batches import in_order
from metadatabronn.pipeline.processes import Processes, WorkerLost

_opened: list = []


def _open(tag):
    _opened.append(tag)


def _echo(item):
    return item, os.getpid(), list(_opened)


def _big(n: int) -> bytes:
    return bytes([n % 256]) * 3_000_000  # far more than a pipe holds, as a batch of N-Quads is


def _fail(item):
    if item == 3:
        raise ValueError(f"no good: {item}")
    return item


def _unpicklable(item):
    if item == 1:
        return lambda: item  # a lambda cannot be pickled
    return item


def _die(item):
    if item == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


@pytest.fixture
def pool():
    made = []

    def make(n=2, **kw):
        made.append(Processes(n, **kw))
        return made[-1]

    yield make
    for p in made:
        p.terminate()


def test_results_come_back_in_the_order_asked_from_every_process_and_each_ran_its_initializer(pool):
    p = pool(3, initializer=_open, initargs=("opened",))
    got = list(in_order(iter(range(40)), _echo, None, p, 3))
    assert [item for item, _, _ in got] == list(range(40))
    assert len({pid for _, pid, _ in got}) == 3 and os.getpid() not in {pid for _, pid, _ in got}
    assert all(opened == ["opened"] for _, _, opened in got)


def test_results_larger_than_a_pipe_with_large_tasks_waiting_do_not_stall(pool):
    p = pool(2)
    # Every process holds several tasks of 3 MB each while its results, 3 MB each, wait to be
    # read: neither side may wait on the other.
    tasks = [p.apply_async(len, (b"x" * 3_000_000,)) for _ in range(6)]
    results = [p.apply_async(_big, (n,)) for n in range(8)]
    assert [t.get() for t in tasks] == [3_000_000] * 6
    assert [r.get()[:1] for r in results] == [bytes([n]) for n in range(8)]


def test_a_result_can_be_taken_before_the_ones_asked_before_it(pool):
    p = pool(1)
    first, second = p.apply_async(_echo, ("a",)), p.apply_async(_echo, ("b",))
    assert second.get()[0] == "b" and first.get()[0] == "a"


def test_an_error_in_a_task_is_raised_to_the_caller_and_the_process_goes_on(pool):
    p = pool(2)
    pending = [p.apply_async(_fail, (n,)) for n in range(6)]
    assert [x.get() for x in pending[:3]] == [0, 1, 2]
    with pytest.raises(ValueError, match="no good: 3"):
        pending[3].get()
    assert [x.get() for x in pending[4:]] == [4, 5]


def test_a_result_that_cannot_be_sent_back_is_an_error_that_says_so(pool):
    p = pool(1)
    pending = [p.apply_async(_unpicklable, (n,)) for n in range(3)]
    assert pending[0].get() == 0
    with pytest.raises(MetadatabronnError, match="could not send back its result"):
        pending[1].get()
    assert pending[2].get() == 2


def test_a_process_that_dies_is_an_error_that_names_it_not_a_hang(pool):
    p = pool(2)
    pending = [p.apply_async(_die, (n,)) for n in range(4)]
    assert pending[0].get() == 0 and pending[1].get() == 1
    with pytest.raises(WorkerLost, match=r"worker process 1 ended \(exit code -9\)") as lost:
        pending[2].get()
    assert isinstance(lost.value, MetadatabronnError)
    assert pending[3].get() == 3  # the other process was not touched


def test_terminate_stops_processes_with_work_still_under_way(pool):
    p = pool(2)
    for n in range(10):
        p.apply_async(_big, (n,))
    p.terminate()
    assert all(not w.process.is_alive() for w in p._workers)
