"""Work cut in batches and run on a process pool in order, with a bounded window (export, dump)."""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterable, Iterator


def batches(items: Iterable, size: int) -> Iterator[list]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def in_order(work: Iterable[list], remote: Callable, local: Callable, pool, workers: int) -> Iterator:
    """Each batch's result, in the batches' order: ``remote(batch)`` on the pool's processes, at
    most three batches a worker ahead of the one being taken (memory stays flat), or
    ``local(batch)`` in this process when there is no pool."""
    if pool is None:
        for batch in work:
            yield local(batch)
        return
    pending: deque = deque()
    for batch in work:
        pending.append(pool.apply_async(remote, (batch,)))
        while len(pending) > workers * 3:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()
