"""The ingest's main process and its allocator.

glibc serves a large block from ``mmap`` until one such block is freed; then it raises its
threshold to that size (up to 32 MiB) and serves later ones from the heap. A load's buffers
(a batch's N-Quads, its copies, the answers of a cluster) are a few hundred KB to a few MB,
made and freed batch after batch: once in the heap they leave it fragmented and are seldom
given back, so resident memory grows with the run although what is in use does not. Fixing
the threshold keeps them in ``mmap``, returned as they are freed. Measured on the LC file's
first 30,000 records: the Dask client's peak 812 → 661 MiB; the local engine's main process at
20,000 records 586 → 521 MiB.

Each thread that allocates also gets an arena of its own, up to eight a core (the loader, the
writer, Dask's comms, RocksDB's and the bulk loader's threads), and each arena keeps what it
freed: two arenas hold the same work. Measured with ``bench/ingest_memory.py --engine dask`` on
the first 70,000 records: peak 476 → 451 MiB at 10,000 records and 733 → 653 MiB at 70,000
(1.54 → 1.45 × growth), at the same rate within the machine's noise.

``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_ARENA_MAX`` in the environment (glibc's own settings) are
left to win; elsewhere than glibc nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers, from glibc's malloc.h
M_ARENA_MAX = -8
THRESHOLD = 256 * 1024
ARENAS = 2
_done = False


def steady() -> bool:
    """Fix glibc's mmap threshold for this process, once; whether it is fixed."""
    global _done
    if _done:
        return _done
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
            libc.mallopt(M_ARENA_MAX, ARENAS)
        if "MALLOC_MMAP_THRESHOLD_" in os.environ:
            return _done
        _done = bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD))
    except (OSError, AttributeError):  # not glibc
        _done = False
    log.debug("glibc mmap threshold %s", f"fixed at {THRESHOLD} bytes" if _done else "left as it is")
    return _done
