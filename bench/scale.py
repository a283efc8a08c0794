"""Scale benchmark: ingest, update, serving, harvesting, search and export at 10k, 50k and 250k
records of one real catalogue, side by side in one markdown table.

    python bench/scale.py [--sizes 10000,50000,250000] [--work DIR] [--cache DIR] [--reuse]
                          [--seconds 10] [--connections 2] [--http-workers 2] [--json FILE]
    python bench/scale.py --merge A.json B.json   (one table from the --json of several runs)

The records: LC's Books All 2016 part 01 (``BooksAll.2016.part01.utf8``, 250,000 MARC 21 records
in UTF-8), as shipped in pymarc 5.4.0's source distribution, which is fetched from the package
index (``pip download``) into ``--cache`` (default ``WORK/download``) unless it is there already,
and checked against its known SHA-256. A store of size N holds the file's first N records
(``WORK/store-N``, default WORK ``var/scale``), made by ``ingest`` with its defaults (the base
profile's gate, two conversion workers). ``--reuse`` keeps a store made before, with the figures
of the ingest that made it (``WORK/store-N.json``; it says at which commit).

Each serving figure comes from a server of its own (``serve --http-workers 2 --refresh 0``),
started just before it, so it counts from the first request after start:
- MARCXML of manifestations: 50 GETs one after another, each on a new connection;
- OAI-PMH ListRecords ``marc21``: the first 20,000 records with sickle, then page after page
  with resumption tokens, timing the first page after 200,000 records (or the last page);
- SRU ``isbn=`` and ``title="first three words of a title proper"`` (and of its first word
  alone), ``/works?title=`` (the same of a work's preferred title), and manifestations as
  Turtle: ``wrk`` (``--connections``, ``--seconds``) over 2,000 sampled records' URLs in turn,
  its latency percentiles over every request of the run (an entity asked for again is answered
  from the server's response cache; an SRU search asked again finds its rows remembered, and
  its records are written anew).

The 10k update is the file's first 10,000 records, each with a 500 note added, ingested into a
checkpoint of the store (hard links; the store itself is left as it was): every one of them is
replaced. Export is ``metadatabronn export --format marc`` of the whole store, process start
included, first with no renditions kept (the export keeps them), then again (reusing them). Bytes a record are the store directory's files (the catalogue index included) over its
records; quads a record, every quad in the store over its records.

``--dask 1,2,4`` adds rows: the same ingest (empty → size, a new store) by the local engine and on
Dask with that many workers, each in a process of its own, with records/s and the peak RSS of the
client and of the largest worker; and, up to 50,000 records, the store write alone (the one
loader's rate, which bounds any conversion speed). ``--virtuoso`` adds a column per size: the same
ingest into a fresh Virtuoso 7 (``sparql+http://…``), then the serving figures the backend decides
(OAI-PMH's first page and one deep in, searches, entity GETs), Virtuoso's peak RSS beside the
well's, and its database files with the well's home directory on disk (``bench/scale_remote.py``);
the load goes by Virtuoso's bulk loader, or with ``--virtuoso-load http`` by the Graph Store Protocol.
``--no-embedded`` leaves out the pyoxigraph column's own figures (``--merge`` puts an earlier
run's beside the new ones: figures of the same size and backend are joined).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_data as data  # noqa: E402
import scale_remote  # noqa: E402
import scale_serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def open_seconds(store: Path) -> float:
    """A read-only open of the store in a fresh process (imports not counted): the median of 3."""
    code = ("import sys, time\nfrom metadatabronn.store import Store\nt = time.perf_counter()\n"
            "s = Store(sys.argv[1], None, read_only=True)\nprint(time.perf_counter() - t)\n")
    runs = sorted(float(subprocess.run([sys.executable, "-c", code, str(store)], check=True, capture_output=True,
                                       text=True).stdout) for _ in range(3))
    return runs[1]


def export_rate(store: Path, tmp: Path, renditions: str = "none") -> dict:
    """``renditions``: "none" (any kept by an earlier export are removed first, and this one keeps
    them) or "kept" (this one reuses those the one before kept)."""
    from metadatabronn.store import renditions as kept

    if renditions == "none":
        for f in store.glob(kept.FILE + "*"):
            f.unlink()
    out = tmp / "export.mrc"
    t = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "metadatabronn"), "export", "--store", str(store),
                    "--base-iri", data.BASE, "--format", "marc", "--out", str(out), "-q"], check=True)
    seconds = time.perf_counter() - t
    with open(out, "rb") as fh:
        records = sum(block.count(data.END) for block in iter(lambda: fh.read(1 << 20), b""))
    out.unlink()
    return {"records": records, "seconds": seconds, "rate": records / seconds}


def quads(store: Path) -> int:
    from metadatabronn.store import Store

    s = Store(store, None, read_only=True)
    try:
        return len(s)
    finally:
        s.close()


def measure(n: int, store: Path, made: dict, args, work: Path, source: Path, tmp: Path) -> dict:
    r: dict = {"size": n, "backend": "pyoxigraph", "ingest": made, "load": os.getloadavg(), "commit": data.commit()}
    print(f"[{n:,}] the 10k update", flush=True)
    r["update"] = data.update(store, work, source)
    r["open_s"] = open_seconds(store)
    print(f"[{n:,}] serving", flush=True)
    r["serve"] = scale_serve.measure(store, data.BASE, args.http_workers, args.seconds, args.connections, tmp)
    print(f"[{n:,}] export", flush=True)
    r["export"] = export_rate(store, tmp)
    r["export_again"] = export_rate(store, tmp, "kept")
    records = made["stored"]
    r["bytes_per_record"] = data.disk_bytes(store) / records
    r["quads_per_record"] = quads(store) / records
    r["load"] = [round(x, 1) for x in (*r["load"], *os.getloadavg())]
    return r


def _ms(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def _lat(name: str):
    return lambda r: (f"{_ms(r['serve'][name]['p50'])} / {_ms(r['serve'][name]['p99'])}" if name in r["serve"]
                      else "–")


def _dask(engine: str):
    def cell(r):
        row = next(x for x in r["dask"] if x["engine"] == engine)
        if "rate" not in row:
            return "failed"
        return f"{row['rate']:,.0f}; {row['client_rss_mib']:,} / {row['worker_rss_mib']:,}"
    return cell


def _page(r) -> str:
    o = r["serve"]["oai"]
    return f"{_ms(o['first_page_ms'])} / {_ms(o['page_ms'])} (after {o['page_after']:,})"


ROWS = [
    ("ingest, empty → size (records/s)", lambda r: f"{r['ingest']['rate']:,.0f}"),
    ("ingest peak RSS, main / worker (MiB)", lambda r: f"{r['ingest']['rss_main_mib']:,} / {r['ingest']['rss_worker_mib']:,}"),
    ("10k update into the full store: first 10k, a 500 added (records/s)", lambda r: f"{r['update']['rate']:,.0f}"),
    ("snapshot open, read-only (ms)", lambda r: _ms(r["open_s"] * 1000)),
    ("server start → first answer (s)", lambda r: f"{r['serve']['started']:.1f}"),
    ("first /health after start (ms)", lambda r: _ms(r["serve"]["health_first_ms"])),
    ("server peak RSS, largest process / all (MiB)", lambda r: "{:,} / {:,}".format(*r["serve"]["server_rss"])),
    ("manifestation MARCXML after start: first / max / p50 of 50 (ms)",
     lambda r: " / ".join(_ms(r["serve"]["marcxml"][k]) for k in ("first", "max", "p50"))),
    ("OAI ListRecords marc21, first 20k, sickle (records/s)", lambda r: f"{r['serve']['oai']['rate']:,.0f}"),
    ("OAI page after 200,000 records, or the last page (ms)",
     lambda r: (f"{_ms(r['serve']['oai']['page_ms'])} (after {r['serve']['oai']['page_after']:,})"
                if "page_ms" in r["serve"]["oai"] else "–")),
    ("OAI ListRecords marc21, paged on with a plain client (records/s)",
     lambda r: f"{r['serve']['oai']['paged_rate']:,.0f}"),
    ("OAI ListRecords marc21 page: the first after start / one deep in (ms)", _page),
    ("SRU isbn= p50 / p99 (ms)", _lat("sru_isbn")),
    ("SRU title= (three words) p50 / p99 (ms)", _lat("sru_title")),
    ("SRU title= (one word) p50 / p99 (ms)", _lat("sru_title_1")),
    ("/works?title= (three words) p50 / p99 (ms)", _lat("works_title")),
    ("/works?title= (one word) p50 / p99 (ms)", _lat("works_title_1")),
    ("manifestation GET, Turtle, 2,000 in turn (repeats from the cache) p50 / p99 (ms)", _lat("entity")),
    ("export, whole store (records/s)", lambda r: f"{r['export']['rate']:,.0f}"),
    ("export again, nothing changed: the renditions the first one kept (records/s)",
     lambda r: f"{r['export_again']['rate']:,.0f}"),
    ("bytes a record on disk", lambda r: f"{r['bytes_per_record']:,.0f}"),
    ("quads a record", lambda r: f"{r['quads_per_record']:.1f}"),
    ("Virtuoso's own peak RSS: after the load / after serving (MiB)",
     lambda r: f"{r['virtuoso_rss_load_mib']:,} / {r['virtuoso_rss_mib']:,}"),
    ("Virtuoso's database / the well's home directory (MB)",
     lambda r: f"{r['disk']['virtuoso_db'] / 1e6:,.0f} / {r['disk']['home'] / 1e6:,.0f}"),
    ("ingest, local engine, 2 processes, in the Dask run: records/s; peak RSS client / worker (MiB)", _dask("local")),
    ("ingest on Dask, 1 worker: records/s; peak RSS client / worker (MiB)", _dask("dask 1")),
    ("ingest on Dask, 2 workers: records/s; peak RSS client / worker (MiB)", _dask("dask 2")),
    ("ingest on Dask, 4 workers: records/s; peak RSS client / worker (MiB)", _dask("dask 4")),
    ("conversion CPU a record in the workers: worker process / conversion task alone (ms)",
     lambda r: "; ".join(f"{x['engine']}: {x['process_cpu_ms']:.2f}"
                         + (f" / {x['task_cpu_ms']:.2f}" if x.get("task_cpu_ms") is not None else "")
                         for x in r["dask"] if "rate" in x)),
    ("the store write alone, one loader (records/s)", lambda r: f"{r['store_ceiling']['rate']:,.0f}"),
    ("projected on a 32-core Dask cluster (records/s)", lambda r: scale_remote.projection(r) or "–"),
]


def _name(r: dict) -> str:
    if r.get("backend") != "virtuoso":
        return f"{r['size']:,} records"
    return f"{r['size']:,} records, Virtuoso" + (", loaded over HTTP" if _load_of(r) == "http" else "")


def _load_of(r: dict) -> str | None:
    """How a Virtuoso column was loaded (runs before the bulk loader was used say nothing: HTTP)."""
    return r.get("virtuoso_load", "http") if r.get("backend") == "virtuoso" else None


def summary(results: list[dict]) -> str:
    return "; ".join(f"{_name(r)}: store made at {r.get('ingest', {}).get('commit', '?')}, measured at "
                     f"{r.get('commit', '?')}, load average (1, 5, 15 min) before {r['load'][:3]}, after {r['load'][3:]}"
                     for r in results)


def table(results: list[dict]) -> str:
    head = "| | " + " | ".join(_name(r) for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for label, cell in ROWS:
        values = []
        for r in results:
            try:
                values.append(cell(r))
            except (KeyError, TypeError, ZeroDivisionError, StopIteration):
                values.append("–")
        if any(v not in ("–", "") for v in values):
            lines.append(f"| {label} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n\n" + NOTE + "\n" + scale_remote.peak_rss_note(results)


NOTE = ("On this two-core machine the Dask rows show Dask's overhead, not a speed-up: the client's reader, "
        "loader and scheduler take one core, the workers share the other, and more workers only contend "
        "for it. A many-core cluster converts at (its cores × 1,000 / the conversion CPU ms a record), "
        "bounded by the one loader's rate (the store write alone); that bound is the projection's.")


def merged(files: list[str]) -> list[dict]:
    """The results of several runs, figures of the same size and backend joined (later ones win)."""
    out: dict[tuple, dict] = {}
    for f in files:
        for r in json.loads(Path(f).read_text()):
            key = (r["size"], r.get("backend", "pyoxigraph"), _load_of(r))
            out[key] = out.get(key, {}) | r
    return sorted(out.values(), key=lambda r: (r["size"], r.get("backend", "pyoxigraph") == "virtuoso", _load_of(r) or ""))


def _save(args, results: list[dict]) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,50000,250000")
    ap.add_argument("--work", default=str(ROOT / "var" / "scale"), help="stores and cut files (default var/scale)")
    ap.add_argument("--cache", help="where pymarc's source distribution is kept (default WORK/download)")
    ap.add_argument("--reuse", action="store_true", help="keep stores made before (and their ingest figures)")
    ap.add_argument("--seconds", type=int, default=10, help="each wrk run")
    ap.add_argument("--connections", type=int, default=2, help="wrk connections")
    ap.add_argument("--http-workers", type=int, default=2)
    ap.add_argument("--json", help="also write every figure here")
    ap.add_argument("--dask", default="", metavar="1,2,4", help="add the Dask ingest rows with these worker counts (local: the local engine's run alone)")
    ap.add_argument("--virtuoso", action="store_true", help="add a column per size: the store on Virtuoso 7")
    ap.add_argument("--virtuoso-load", choices=("bulk", "http"), default="bulk",
                    help="the Virtuoso column's load: by Virtuoso's bulk loader (default) or over HTTP")
    ap.add_argument("--no-embedded", action="store_true", help="leave out the pyoxigraph column's own figures")
    ap.add_argument("--no-local", action="store_true", help="the Dask rows without the local engine's run")
    ap.add_argument("--remote-samples", type=int, default=2000, help="records sampled for the Virtuoso column's GETs")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="print one table from earlier runs' --json")
    args = ap.parse_args()
    if args.merge:
        results = merged(args.merge)
        print(summary(results) + "\n")
        print(table(results))
        return 0
    if not shutil.which("wrk") and not (args.no_embedded and not args.virtuoso):
        sys.exit("wrk is not installed: apt-get install wrk")
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    source = data.books(work, Path(args.cache) if args.cache else work / "download")
    tmp = Path(tempfile.mkdtemp(prefix="mb-scale-"))
    results = []
    try:
        for n in sizes:
            r: dict = {"size": n, "backend": "pyoxigraph", "commit": data.commit()}
            if not args.no_embedded:
                store, made = data.build(work, source, n, args.reuse)
                r = measure(n, store, made, args, work, source, tmp)
            cut = data.first(source, n, work / f"first-{n}.mrc")
            if args.dask:
                print(f"[{n:,}] Dask ingest", flush=True)
                r["dask"] = scale_remote.dask_rows(cut, [int(w) for w in args.dask.split(",") if w != "local"], tmp,
                                                   local=not args.no_local)
                if n <= 50_000:  # every record converted is held in memory first
                    r["store_ceiling"] = scale_remote.store_ceiling(cut)
            if len(r) > 3:
                results.append(r)
            _save(args, results)
            if args.virtuoso:
                results.append(scale_remote.measure_virtuoso(n, cut, work, args, tmp))
                _save(args, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n" + summary(results) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
