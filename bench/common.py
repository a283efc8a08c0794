"""What the benchmarks share: a free loopback port, a `metadatabronn serve` process, a store
built from a corpus, and the CPU of this process's threads by name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(store: Path, base: str, port: int, http_workers: int = 2, url: str | None = None,
                   extra: tuple[str, ...] = (), ready: str = "/health"):
    """``metadatabronn serve`` on ``port`` until the block ends (then SIGTERM); ``base`` is the
    base IRI of the store's entities, ``url`` where the server answers (default: ``base``);
    the block starts once ``ready`` answers 200."""
    url = url or base
    server = subprocess.Popen([str(Path(sys.executable).parent / "metadatabronn"), "serve", "--store", str(store),
                               "--base-iri", base, "--port", str(port), "--http-workers", str(http_workers), *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def store_to_serve(corpus: str, store: str | None, base_iri: str | None, tmp: Path) -> tuple[Path, str, str, int]:
    """``(store, base IRI of its entities, server URL, port)``: the given store, or a fresh one
    ingested from ``corpus`` (without the validation gate: serving, not checking, is measured)."""
    from metadatabronn.pipeline import Settings, ingest

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    minted = base_iri or url
    path = Path(store) if store else tmp / "store"
    if not store:
        ingest([corpus], Settings(store=path, base=minted, workers=2, profile=None))
    return path, minted, url, port


def build(corpus: Path, store: Path, base: str = "http://localhost:8000") -> None:
    """A store of ``corpus`` (without the validation gate: what is measured is not the gate)."""
    from metadatabronn.pipeline import Settings, ingest

    print(f"building {store} from {corpus} ...", flush=True)
    started = time.perf_counter()
    summary = ingest([str(corpus)], Settings(store=store, base=base, workers=2, profile=None))
    print(f"  {summary.records_stored:,} records in {time.perf_counter() - started:.1f} s", flush=True)


def store_to_use(given: str | None, default: Path, corpus: str, rebuild: bool) -> Path | None:
    """``given`` as it is, else ``default``, built from ``corpus`` if it is missing or ``rebuild``;
    None (said on standard error) if it must be built and the corpus is not there."""
    if given:
        return Path(given)
    if rebuild or not default.exists():
        if not Path(corpus).exists():
            print(f"no corpus at {corpus}: give --corpus or METADATABRONN_BENCH_CORPUS", file=sys.stderr)
            return None
        if default.exists():
            import shutil

            shutil.rmtree(default)
        default.parent.mkdir(parents=True, exist_ok=True)
        build(Path(corpus), default)
    return default


class ThreadCPU:
    """CPU seconds of this process's threads whose name (as the system shows it) starts with
    ``prefix``, while the ``with`` block runs: RocksDB names its background threads
    ``rocksdb:low`` (compactions) and ``rocksdb:high`` (flushes). Threads come and go with each
    store opened, so their times are read every ``every`` seconds and the last reading of each
    kept."""

    def __init__(self, prefix: str, every: float = 0.05):
        self.prefix, self.every = prefix.encode(), every
        self._last: dict[str, float] = {}
        self._start: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True, name="bench-thread-cpu")
        self.seconds = 0.0

    def _read(self) -> dict[str, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        out = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                    stat = f.read()
            except OSError:  # ended meanwhile
                continue
            name = stat[stat.index(b"(") + 1:stat.rindex(b")")]
            if name.startswith(self.prefix):
                fields = stat[stat.rindex(b")") + 2:].split()
                out[tid] = (int(fields[11]) + int(fields[12])) / ticks
        return out

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            self._last.update(self._read())

    def __enter__(self):
        self._start = self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._read())
        self.seconds = sum(v - self._start.get(tid, 0.0) for tid, v in self._last.items())
