"""What the benchmarks share: a free loopback port, a `metadatabronn serve` process, and a store
built from a corpus."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
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
