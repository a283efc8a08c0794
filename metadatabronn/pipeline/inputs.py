"""The ingest's input side: the files checked, their records read in order (a file that cannot
be read becomes an outcome of its own), and each record's outcome, converted here, in a process
pool or on a cluster, or known to be current already and not converted again."""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import InputError, ReadError
from ..marc import Chunk, iter_chunks
from .loader import Loader
from .worker import Outcome


def check_inputs(paths: Iterable[str]) -> None:
    """Every input names something to read: not missing, not a directory."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            raise InputError(f"{p} is a directory, not an input file: name the files in it")
        if not path.exists():
            raise InputError(f"no such input file: {p}")


def directory_problem(directory: Path) -> str | None:
    """Why records could not be written to files in *directory* (created if need be), or None."""
    if directory.exists():
        if not directory.is_dir():
            return f"{directory} is not a directory"
        if not os.access(directory, os.W_OK | os.X_OK):
            return f"no permission to write in {directory}"
        return None
    ancestor = directory.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot create {directory}: {ancestor} is not a directory"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot create {directory}: no permission to write in {ancestor}"
    return None


def read_failure(path: str, exc: InputError) -> Outcome:
    """A file, or the rest of one, that cannot be read: one rejected entry saying why."""
    if isinstance(exc, ReadError):
        return Outcome(exc.after + 1, "rejected", exc.source,
                       reason=f"rest of the file unreadable: {exc.reason} (reading stopped after record "
                              f"{exc.after})", data=exc.data, format=exc.format)
    what = str(exc)
    what = what[len(path) + 2:] if what.startswith(f"{path}: ") else what
    return Outcome(1, "rejected", path, reason=f"file unreadable: {what}", kind="file")


def read_inputs(paths: Iterable[str]) -> Iterator[Chunk | Outcome]:
    """The records of every file in turn; a file that cannot be read, wholly or from some
    record on, gives one rejected outcome saying why, and the next file is read all the same."""
    for path in paths:
        try:
            yield from iter_chunks(path)
        except InputError as exc:
            yield read_failure(path, exc)


class _Done(list):
    """Outcomes at hand, queued with the workers' results so that input order is kept."""

    def get(self) -> list:
        return self


def _prefetched(outcomes: Iterator[Outcome], loader: Loader, size: int = 200) -> Iterator[Outcome]:
    """The outcomes in groups, the loader asking the store about each group at once before
    adding it (a store on a SPARQL server, where a look-up is a round trip). Whatever stops the
    outcomes, the group gathered before it still comes out before the error goes on."""
    group: list[Outcome] = []
    try:
        for o in outcomes:
            group.append(o)
            if len(group) >= size:
                loader.prefetch(group)
                yield from group
                group = []
    except Exception:
        if group:
            loader.prefetch(group)
            yield from group
        raise
    if group:
        loader.prefetch(group)
        yield from group


def _read_ahead(reading: Iterator, ahead: Callable[[list[bytes]], None], size: int = 200) -> Iterator:
    """What ``reading`` gives, ``size`` at a time, ``ahead`` told of each group's records first.
    Whatever stops the reading, what was read before it still comes out before the error."""
    while True:
        group: list = []
        failure: Exception | None = None
        try:
            for _ in range(size):
                group.append(next(reading))
        except StopIteration:
            pass
        except Exception as exc:
            failure = exc
        records = [c.data for c in group if not isinstance(c, Outcome)]
        if records:
            ahead(records)
        yield from group
        if failure is not None:
            raise failure
        if len(group) < size:
            return


def _outcomes(paths: Iterable[str], known: Callable[[bytes], bool], submit, window: int,
              convert: Callable[[list[Chunk]], list[Outcome]], aside: Callable[[int], None] | None = None,
              ahead: Callable[[list[bytes]], None] | None = None) -> Iterator[Outcome]:
    """Outcomes of every record. ``submit(chunks)`` starts a batch's conversion elsewhere (a
    process pool, a cluster) and gives what its ``get()`` returns the outcomes by; at most
    ``window`` batches are under way. Without ``submit``, ``convert(chunks)`` converts here.
    ``aside(n)`` hears of records that were not converted (the cluster reports the others).

    A record whose exact bytes are already current in the store is not converted again: that
    makes re-loading a file cost little more than reading it. Whatever stops the reading, the
    records read before it are converted (and so stored) before the error goes on.
    """
    pending: deque = deque()
    batch: list[Chunk] = []
    failure: Exception | None = None

    def start(chunks: list[Chunk]) -> Iterator[Outcome]:
        if submit is None:
            yield from convert(chunks)
            return
        pending.append(submit(chunks))
        # A bounded window keeps memory flat however large the input.
        while len(pending) > window:
            yield from pending.popleft().get()

    reading = read_inputs(paths)
    if ahead is not None:  # a store that answers a group of look-ups at once
        reading = _read_ahead(reading, ahead)
    while True:
        try:
            chunk = next(reading)
        except StopIteration:
            break
        except Exception as exc:  # not a bad file (those are outcomes): a fault of the reader itself
            failure = exc
            break
        if isinstance(chunk, Outcome):  # a file that cannot be read: after its records, in order
            if batch:
                yield from start(batch)
                batch = []
            if aside is not None:
                aside(1)
            if submit is None:
                yield chunk
            else:
                pending.append(_Done([chunk]))
            continue
        if known(chunk.data):
            if aside is not None:
                aside(1)
            yield Outcome(chunk.number, "unchanged", chunk.source)
            continue
        batch.append(chunk)
        if len(batch) >= 200:
            yield from start(batch)
            batch = []
    if batch:
        yield from start(batch)
    while pending:
        yield from pending.popleft().get()
    if failure is not None:
        raise failure
