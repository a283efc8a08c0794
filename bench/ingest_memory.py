"""Where an ingest's memory goes as it runs: resident memory of every process of the run, sampled
by the number of records done, so that what grows with the input shows apart from what is flat.

    python bench/ingest_memory.py FILE [--engine local|dask] [--workers 2] [--every 10000]
                                       [--tracemalloc] [--trim] [--json OUT]

``FILE``: MARC records (``var/scale/first-N.mrc``, made by ``bench/scale_data.py``). The ingest
runs in a process of its own, into a new store (the CLI's defaults: the base profile's gate,
compaction after the load). A thread samples once a second: the main process's resident set,
split into anonymous memory (the heaps: Python's, glibc's arenas, RocksDB's and SQLite's caches)
and file pages (mapped files); what SQLite holds (its page caches: the catalogue index); Python's
small-object arenas and the live objects in them; the peak so far; and each child process's
resident set (the local engine's pool; Dask's workers and nanny processes). Every ``--every``
records it prints a row, in MiB.

``--tracemalloc`` adds the Python heap (what Python objects hold, from the first record on; it
slows the main process down) and the twelve lines whose allocations grew most from the first row
to the last of the load. ``--trim`` gives glibc's free memory back to the system before each row
(``malloc_trim``), telling memory freed but kept from memory in use. The last row is taken after
the run (compaction included); its peak is counted apart.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MIB = 1 << 20


def status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of a process, in bytes (0 when it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                key, _, rest = line.partition(b":")
                if key in (b"VmRSS", b"VmHWM", b"RssAnon", b"RssFile"):
                    out[key.decode()] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def pymalloc() -> tuple[int, int]:
    """(bytes of Python's small-object arenas, bytes of live objects in them): the difference is
    held by arenas that a few long-lived objects keep from being returned."""
    with tempfile.TemporaryFile("w+b") as out:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        stats = out.read().decode("ascii", "replace")
    arenas = used = 0
    for line in stats.splitlines():
        if "bytes/arena" in line:  # "N arenas * SIZE bytes/arena = TOTAL"
            arenas = int(line.split("=")[1].replace(",", ""))
        elif line.startswith("# bytes in allocated blocks"):
            used = int(line.split("=")[1].replace(",", ""))
    return arenas, used


def children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _run(path: str, engine: str, workers: int, every: int, trace: bool, trim: bool) -> dict:
    from metadatabronn.pipeline import Settings, ingest
    from metadatabronn.store import Store

    libc = ctypes.CDLL("libc.so.6") if trim else None
    sqlite = ctypes.CDLL("libsqlite3.so.0")  # the library the sqlite3 module is linked with
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    work = Path(tempfile.mkdtemp(prefix="ingest-memory-"))
    done = [0]
    phase = ["load"]
    rows: list[dict] = []
    peak_children: dict[int, int] = {}
    peaks = {"load": 0, "after": 0}
    snapshots = []
    stop = threading.Event()
    lock = threading.Lock()

    def sample() -> dict:
        me = status(os.getpid())
        kids = {pid: status(pid).get("VmRSS", 0) for pid in children(os.getpid())}
        for pid, rss in kids.items():
            peak_children[pid] = max(peak_children.get(pid, 0), rss)
        peaks[phase[0]] = max(peaks[phase[0]], me.get("VmRSS", 0))
        return {"records": done[0], "phase": phase[0], "rss": me.get("VmRSS", 0), "anon": me.get("RssAnon", 0),
                "file": me.get("RssFile", 0), "sqlite": sqlite.sqlite3_memory_used(), "hwm": me.get("VmHWM", 0),
                "children": sorted(kids.values())}

    def row() -> None:
        if libc is not None:
            libc.malloc_trim(0)
        r = sample()
        if trace:
            import tracemalloc

            r["python_heap"] = tracemalloc.get_traced_memory()[0]
            if phase[0] == "load":  # the heap after the load is the run's leftovers, not its growth
                snapshots.append(tracemalloc.take_snapshot())
                if len(snapshots) > 2:
                    del snapshots[1]
        r["pymalloc_arenas"], r["pymalloc_used"] = pymalloc()
        rows.append(r)
        print(json.dumps({k: (round(v / MIB) if isinstance(v, int) and k not in ("records", "phase") else
                              [round(c / MIB) for c in v] if k == "children" else v) for k, v in r.items()}),
              flush=True)

    def sampler() -> None:
        while not stop.wait(1.0):
            with lock:
                sample()

    def progress(n: int) -> None:
        with lock:
            if trace and not done[0]:
                import tracemalloc

                # From the first record on: the alias scan before it parses in this process,
                # and traced it would take as long as the ingest.
                tracemalloc.start(1)
            before = done[0]
            done[0] += n
            if done[0] // every != before // every:
                row()

    original = Store.compact

    def compact(self) -> None:
        phase[0] = "after"
        original(self)

    Store.compact = compact
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    started = time.perf_counter()
    try:
        s = ingest([path], Settings(store=work / "store", base=None, workers=workers, engine=engine), progress)
        phase[0] = "after"
        with lock:
            row()
    finally:
        stop.set()
        thread.join()
        Store.compact = original
        shutil.rmtree(work, ignore_errors=True)
    result = {"engine": engine, "workers": workers, "records": s.records_read, "seconds": s.seconds,
              "rate": s.records_per_second, "wall": round(time.perf_counter() - started, 1),
              "peak_main_load_mib": round(peaks["load"] / MIB), "peak_main_after_mib": round(peaks["after"] / MIB),
              "peak_main_hwm_mib": round(status(os.getpid()).get("VmHWM", 0) / MIB),
              "peak_children_mib": sorted(round(v / MIB) for v in peak_children.values())}
    if s.cluster_workers:
        result["dask_workers_peak_mib"] = {w: round(x["peak_rss_bytes"] / MIB) for w, x in s.cluster_workers.items()}
    if trace and len(snapshots) == 2:
        grew = snapshots[1].compare_to(snapshots[0], "traceback")[:12]
        result["grew"] = [{"kib": round(d.size_diff / 1024), "count": d.count_diff,
                           "where": f"{d.traceback[0].filename.split('site-packages/')[-1]}:{d.traceback[0].lineno}"}
                          for d in grew]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--engine", default="local", choices=("local", "dask"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--trim", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    command = [sys.executable, __file__, "_run", args.file, args.engine, str(args.workers), str(args.every),
               str(int(args.tracemalloc)), str(int(args.trim))]
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith('{"records"'):
                print(line, end="", flush=True)
    if proc.returncode:
        sys.exit(proc.returncode)
    last = json.loads(lines[-1])
    with open("/proc/loadavg") as fh:
        last["load"] = fh.read().split()[:3]
    print(json.dumps(last, indent=1))
    if args.json:
        args.json.write_text(json.dumps(last, indent=1) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "_run":
        print(json.dumps(_run(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1",
                              sys.argv[7] == "1")))
    else:
        main()
