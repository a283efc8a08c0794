"""Work bundle benchmark: how long GET /work/{id}/bundle and /works?isbn= take.

    python bench/bundle.py [--corpus FILE] [--store DIR] [--works 200] [--server]

Builds a store from the LC Books 2016 part 01 first-20k file into ``var/bench/bundle-lc20k`` as
``bench/pages.py`` builds its own (reused when it is there; ``--rebuild`` makes it again), or
uses ``--store DIR`` as it is. A store made before ISBNs were also stored as schema:isbn has
none to sample (its bundles have no ``isbn`` key either): build one with the current mapping. Picks ``--works`` works spread evenly over the store's works in IRI order (a fixed sample,
so runs compare), one ISBN of each that has one, and the work with the most manifestations.

Each bundle is asked for twice: ``first`` (the first request for that work in the process: the
store is read and the document written) and ``again`` (from the response cache the snapshot
keeps). In-process through FastAPI's test client by default (the whole request, no network);
with ``--server``, from a real ``metadatabronn serve`` over HTTP on this machine.

Then the same works are read from the store and framed once more without HTTP (a fresh read-only
view of the store, no response cache): what the well itself spends on a bundle. Prints
p50/p99/max in milliseconds, and the bundle sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import DEFAULT_CORPUS, quantile, store_to_use  # noqa: E402

DEFAULT_STORE = ROOT / "var" / "bench" / "bundle-lc20k"


def sample(store_path: Path, n: int) -> tuple[list[str], list[str], str]:
    """(works, an ISBN of each that has one, the work with the most manifestations). Choosing
    them reads every work once; the requests measured do not."""
    from metadatabronn.mapping import terms as T
    from metadatabronn.store import Store

    store = Store(store_path, read_only=True)
    works = sorted({r["w"].value for r in store.query(f"SELECT DISTINCT ?w WHERE {{ ?e <{T.E_WORK}> ?w }}")})
    step = max(1, len(works) // n)
    chosen = works[::step][:n]
    isbns = []
    for work in chosen:
        found = store.query(f"SELECT ?i WHERE {{ ?e <{T.E_WORK}> <{work}> . ?m <{T.M_EXPRESSION}> ?e ; "
                            f"<{T.SCHEMA_ISBN}> ?i }} ORDER BY ?i LIMIT 1")
        isbns += [r["i"].value for r in found]
    row = next(iter(store.query(
        f"SELECT ?w (COUNT(DISTINCT ?m) AS ?n) WHERE {{ ?e <{T.E_WORK}> ?w . ?m <{T.M_EXPRESSION}> ?e }} "
        f"GROUP BY ?w ORDER BY DESC(?n) LIMIT 1")))
    print(f"store {store_path}: {len(works):,} works; {len(chosen)} sampled, {len(isbns)} with an ISBN; the "
          f"largest work {row['w'].value} has {row['n'].value} manifestations")
    return chosen, isbns, row["w"].value


@contextmanager
def served(store: Path, base: str):
    """A real ``metadatabronn serve`` on a free port; yields its address."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "metadatabronn", "serve", "--store", str(store), "--port",
                             str(port), "--base-iri", base], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items() if not k.startswith("METADATABRONN_")})
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{address}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        with httpx.Client(base_url=address, timeout=60) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def in_process(store: Path, base: str):
    from fastapi.testclient import TestClient

    from metadatabronn.web.app import create_app

    with TestClient(create_app(store, base, query_workers=1, refresh=0)) as client:
        yield client


def timed(client, requests: list[tuple[str, dict]]) -> tuple[list[float], list[int]]:
    ms, sizes = [], []
    for path, params in requests:
        started = time.perf_counter()
        r = client.get(path, params=params)
        ms.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json", (path, r.status_code)
        sizes.append(len(r.content))
    return ms, sizes


def report(label: str, ms: list[float]) -> None:
    print(f"{label:<28} {len(ms):>5} {statistics.median(ms):>8.2f} {quantile(ms, 0.99):>8.2f} {max(ms):>8.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("METADATABRONN_BENCH_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--store", help="this store as it is (default: build or reuse var/bench/bundle-lc20k)")
    ap.add_argument("--rebuild", action="store_true", help="make var/bench/bundle-lc20k again")
    ap.add_argument("--works", type=int, default=200)
    ap.add_argument("--server", action="store_true", help="time a real server over HTTP")
    args = ap.parse_args()

    store = store_to_use(args.store, DEFAULT_STORE, args.corpus, args.rebuild)
    if store is None:
        return 2

    from metadatabronn.store import Store

    base = Store(store, read_only=True).base
    works, isbns, largest = sample(store, args.works)
    bundles = [(w[len(base):] + "/bundle", {}) for w in works]
    by_isbn = [("/works", {"isbn": i}) for i in isbns]
    with (served if args.server else in_process)(store, base) as client:
        client.get("/health")
        print(f"{'GET':<28} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}   ({'server' if args.server else 'in process'})")
        first, sizes = timed(client, bundles)
        report("/work/{id}/bundle first", first)
        report("/work/{id}/bundle again", timed(client, bundles)[0])
        if by_isbn:  # the look-up of the ISBN is new; the work's bundle is cached by now
            report("/works?isbn=", timed(client, by_isbn)[0])
        big, big_size = timed(client, [(largest[len(base):] + "/bundle", {})])
        report("largest work, first", big)
    direct = []
    from metadatabronn.store.bundle import read_bundle
    from metadatabronn.web.bundle import document

    view = Store(store, read_only=True)  # a fresh view: nothing of it read yet
    for work in works:
        started = time.perf_counter()
        json.dumps(document(read_bundle(view, work), "context"), ensure_ascii=False, indent=1)
        direct.append((time.perf_counter() - started) * 1000)
    report("read and frame, no HTTP", direct)
    print(f"bundle size: median {statistics.median(sizes):,.0f} bytes, max {max(sizes):,}; the largest work "
          f"{big_size[0]:,} bytes")
    print(json.dumps({"works": len(works), "first_p50_ms": round(statistics.median(first), 2),
                      "first_p99_ms": round(quantile(first, 0.99), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
