"""The scale benchmark beyond one process: the ingest on Dask (1, 2 and 4 workers, beside the
local engine in the same run, and the store write alone that bounds any conversion speed), and the
well's quads on a Virtuoso 7 server (``sparql+http://…``) beside pyoxigraph.

Virtuoso is the tests' own server (``tests/virtuoso.py``'s ``start_virtuoso``): a fresh database in
``WORK/virtuoso-N/db``, the well's home directory (indexes, keys, rejects) in ``WORK/virtuoso-N/home``.
Its buffer pool is set for a machine of 24 GiB shared with other work: :data:`BUFFERS` pages of
8 KiB (about 10.4 GiB, Virtuoso's own suggestion for 16 GiB of free memory) and
:data:`DIRTY_BUFFERS` of them dirty at most; the fixture's own setting (10,000 pages, 78 MiB) is
for tests.

The load goes by Virtuoso's own bulk loader (``ld_dir``/``rdf_loader_run`` on each batch's
N-Quads, :mod:`metadatabronn.store.remote_bulk`), as an operator with the server at hand would
load: its ISQL port and its ``load/`` directory (in the server's ``DirsAllowed``) are given to
the ingest. ``load="http"`` leaves them out: every graph by the Graph Store Protocol.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import scale_data as data  # noqa: E402
import scale_serve  # noqa: E402

BUFFERS = 1_360_000
DIRTY_BUFFERS = 1_000_000


# Dask --------------------------------------------------------------------------------------------

def dask_rows(cut: Path, workers: list[int], tmp: Path, local_workers: int = 2, local: bool = True) -> list[dict]:
    """The same file ingested into a new store by the local engine, then on Dask with each of
    ``workers``: each run a process of its own (``bench/dask_ingest.py``), its peaks its own."""
    import dask_ingest

    rows = []
    runs = ([("local", local_workers)] if local else []) + [("dask", w) for w in workers]
    for i, (engine, n) in enumerate(runs):
        store = tmp / f"dask-store-{i}"
        print(f"  {engine} {n}", flush=True)
        try:
            rows.append(dask_ingest.one(engine, n, store, cut))
        except subprocess.CalledProcessError as e:
            rows.append({"engine": engine if engine == "local" else f"dask {n}", "workers": n,
                         "error": (e.stderr or "")[-2000:]})
        finally:
            shutil.rmtree(store, ignore_errors=True)
            shutil.rmtree(f"{store}.rejects", ignore_errors=True)
        print("   ", json.dumps({k: v for k, v in rows[-1].items() if k != "per_worker"})[:300], flush=True)
    return rows


def store_ceiling(cut: Path) -> dict:
    """The store write alone (``bench/ingest.py --store-ceiling``: every record converted first,
    untimed, then loaded as ingest loads them), in a process of its own."""
    code = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom pathlib import Path\n"
            "from ingest import store_ceiling\nr = store_ceiling(Path(sys.argv[2]), 'base')\n"
            "print(json.dumps(dict(zip(['rate', 'cpu_us_quad', 'quads_record', 'nquads_bytes_record'], r))))\n")
    out = subprocess.run([sys.executable, "-c", code, str(HERE), str(cut)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def projection(r: dict, cores: int = 32) -> str | None:
    """Records/s on ``cores`` conversion cores: the conversion CPU a record spread over them,
    capped by the one loader's rate (the store write alone)."""
    rows = [x for x in r.get("dask", []) if "rate" in x and x["engine"] != "local"]
    ceiling = r.get("store_ceiling", {}).get("rate")
    if not rows or not ceiling:
        return None
    cpu_ms = min(x["process_cpu_ms"] for x in rows)
    converted = cores * 1000 / cpu_ms
    return (f"{cpu_ms:.2f} ms CPU a record converted → {converted:,.0f} records/s on {cores} cores; "
            f"capped by the loader at {ceiling:,.0f}: **{min(converted, ceiling):,.0f}**")


# Virtuoso ----------------------------------------------------------------------------------------

def _virtuoso():
    sys.path.insert(0, str(ROOT / "tests"))
    import virtuoso

    for key, value in (("NumberOfBuffers", BUFFERS), ("MaxDirtyBuffers", DIRTY_BUFFERS)):
        old = next(line for line in virtuoso.INI.splitlines() if line.startswith(key + " "))
        virtuoso.INI = virtuoso.INI.replace(old, f"{key} = {value}")
    return virtuoso


def _files_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


BULK_SETTINGS = ("METADATABRONN_VIRTUOSO_ISQL", "METADATABRONN_VIRTUOSO_LOAD_DIR")


def measure_virtuoso(n: int, cut: Path, work: Path, args, tmp: Path) -> dict:
    """A Virtuoso column: a fresh server, the ingest into it, serving from it, its size on disk."""
    from metadatabronn.store.remote_home import resolve

    virtuoso = _virtuoso()
    how = getattr(args, "virtuoso_load", "bulk")
    r: dict = {"size": n, "backend": "virtuoso", "load": os.getloadavg(), "commit": data.commit(),
               "buffers": [BUFFERS, DIRTY_BUFFERS], "virtuoso_load": how}
    d = work / (f"virtuoso-{n}" if how == "bulk" else f"virtuoso-{n}-http")
    shutil.rmtree(d, ignore_errors=True)
    server = virtuoso.start_virtuoso(d / "db")
    pid = server.process.pid
    try:
        home = d / "home"
        os.environ["METADATABRONN_REMOTE_HOME"] = str(home)
        resolve(server.store_url)  # the home and its remote.json
        if how == "bulk":  # the ingest's process inherits them
            os.environ.update(zip(BULK_SETTINGS, (f"127.0.0.1:{server.isql_port}", str(server.load_dir))))
        print(f"[{n:,} virtuoso] ingest into {server.store_url}", flush=True)
        t = time.perf_counter()
        try:
            r["ingest"] = data.ingest_once(home, cut)
        except subprocess.CalledProcessError as e:
            r["ingest"] = {"error": (e.stderr or "")[-3000:], "seconds": time.perf_counter() - t}
            print(r["ingest"]["error"], flush=True)
            return r
        r["ingest"]["commit"] = data.commit()
        print(f"[{n:,} virtuoso] {json.dumps(r['ingest'])}", flush=True)
        r["virtuoso_rss_load_mib"] = scale_serve.peak_rss(pid)[0]
        print(f"[{n:,} virtuoso] serving", flush=True)
        r["serve"] = scale_serve.measure_light(home, data.BASE, args.http_workers, args.seconds,
                                               args.connections, tmp, samples_n=args.remote_samples)
        r["virtuoso_rss_mib"] = scale_serve.peak_rss(pid)[0]
        server.isql("checkpoint;")
        db = _files_bytes(d / "db")
        r["disk"] = {"virtuoso_db": _files_bytes(d / "db") - sum(
            f.stat().st_size for f in (d / "db").glob("virtuoso-temp*")), "virtuoso_all": db,
            "home": _files_bytes(home)}
        stored = r["ingest"]["stored"]
        r["bytes_per_record"] = (r["disk"]["virtuoso_db"] + r["disk"]["home"]) / stored
        r["quads_per_record"] = _quads(home) / stored
    finally:
        server.stop()
        for name in ("METADATABRONN_REMOTE_HOME", *BULK_SETTINGS):
            os.environ.pop(name, None)
        r["load"] = [round(x, 1) for x in (*r["load"], *os.getloadavg())]
    return r


def _quads(home: Path) -> int:
    from metadatabronn.store import Store

    s = Store(home, None, read_only=True)
    try:
        return len(s)
    finally:
        s.close()


def peak_rss_note(results: list[dict]) -> str:
    """Peak RSS at the smallest and the largest size, for each kind of run, and whether the
    largest is within 1.5 × of the smallest (the issue's "memory stays flat")."""
    def pick(r, what):
        if what == "ingest, main process":
            return r.get("ingest", {}).get("rss_main_mib") if r.get("backend", "pyoxigraph") == "pyoxigraph" else None
        if what.startswith("Dask"):
            rows = [x for x in r.get("dask", []) if x.get("engine") == what.split(": ")[1] and "rate" in x]
            return (rows[0]["client_rss_mib"], rows[0]["worker_rss_mib"]) if rows else None
        if what == "Virtuoso load, the well's ingest process":
            return r.get("ingest", {}).get("rss_main_mib") if r.get("backend") == "virtuoso" else None
        if what == "Virtuoso server":
            return r.get("virtuoso_rss_load_mib")
        return None

    kinds = ["ingest, main process", "Dask: local", "Dask: dask 1", "Dask: dask 2", "Dask: dask 4",
             "Virtuoso load, the well's ingest process", "Virtuoso server"]
    lines = []
    for kind in kinds:
        have = sorted((r["size"], v) for r in results if (v := pick(r, kind)) is not None)
        if len(have) < 2:
            continue
        (small, a), (big, b) = have[0], have[-1]
        pairs = list(zip(a, b)) if isinstance(a, tuple) else [(a, b)]
        ratios = [y / x if x else float("inf") for x, y in pairs]
        verdict = "within 1.5 ×" if max(ratios) <= 1.5 else "NOT within 1.5 ×"
        shown = lambda v: " / ".join(map(str, v)) if isinstance(v, tuple) else str(v)  # noqa: E731
        what = " (client / worker)" if isinstance(a, tuple) else ""
        lines.append(f"- {kind}{what}: {shown(a)} MiB at {small:,}, {shown(b)} MiB at {big:,}: "
                     f"{' / '.join(f'{x:.2f}' for x in ratios)} × ({verdict})")
    return "\n".join(lines)
