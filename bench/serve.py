"""Serving benchmark: concurrent entity GETs and ISBN look-ups against the LC 20k store.

    python bench/serve.py [CORPUS] [--store DIR] [--connections 16] [--seconds 10] [--http-workers 2]

Builds a store from CORPUS (default: the LC Books 2016 part 01 first-20k file) unless --store
names one, starts ``metadatabronn serve`` on a free loopback port, and runs ``wrk`` (Debian's
package) on the same machine against rotating URLs: manifestations and works as Turtle, as
JSON-LD, and ISBN look-ups. Reports requests/s and latency p50/p99 per scenario.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


import httpx


sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import running_server, store_to_serve  # noqa: E402
from metadatabronn.store import Store

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Accept"] = "%s"})
end
"""



def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(base: str, paths: list[str], accept: str, connections: int, seconds: int, tmp: Path) -> dict:
    listing = tmp / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = tmp / "rotate.lua"
    script.write_text(LUA % (listing, accept))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(errors.group(1)) if errors else 0}


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--store")
    ap.add_argument("--base-iri", help="the base IRI the --store was built with (default: the server's address)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--http-workers", type=int, default=2)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="mb-serve-"))
    try:
        store, minted, base, port = store_to_serve(args.corpus, args.store, args.base_iri, tmp)
        s = Store(store, minted, read_only=True)
        rows = list(s.query("SELECT ?m ?w ?i WHERE { ?m <http://rdaregistry.info/Elements/m/P30135> ?w . "
                            "OPTIONAL { ?m <http://rdaregistry.info/Elements/m/P30004> ?i "
                            "FILTER(STRSTARTS(?i, 'urn:isbn:')) } }"))
        s.close()
        path = lambda iri: "/" + iri.split("/", 3)[3]  # noqa: E731
        random.seed(1)
        random.shuffle(rows)
        manifestations = [path(r["m"].value) for r in rows[:2000]]
        works = [path(r["w"].value) for r in rows[:2000]]
        isbns = [f"/manifestations?isbn={r['i'].value[9:]}" for r in rows if r["i"] is not None][:2000]
        with running_server(store, minted, port, args.http_workers, url=base, extra=("--timeout", "120")):
            scenarios = [("manifestation, Turtle", manifestations, "text/turtle"),
                         ("manifestation, JSON-LD", manifestations, "application/ld+json"),
                         ("work, Turtle", works, "text/turtle"),
                         ("ISBN look-up", isbns, "application/json")]
            print(f"{len(rows):,} manifestations; {args.connections} connections, {args.seconds} s each, "
                  f"{args.http_workers} server processes")
            for name, paths, accept in scenarios:
                # The first pass meets every URL cold; the store is a read-only snapshot, so the
                # second is served from each process's response cache.
                for label in ("cold", "warm"):
                    r = wrk(base, paths, accept, args.connections, args.seconds, tmp)
                    print(f"  {name:24} {label}  {r['rps']:8,.0f} req/s   p50 {r['p50']:6.2f} ms   "
                          f"p99 {r['p99']:6.2f} ms" + (f"   NON-2XX {r['errors']}" if r["errors"] else ""))
            # A runaway query (a three-way cartesian product over every statement) holds a query
            # worker for a minute while the others go on being served.
            runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
            stuck = threading.Thread(target=lambda: httpx.get(f"{base}/sparql", params={"query": runaway},
                                                              timeout=200), daemon=True)
            stuck.start()
            time.sleep(2)
            r = wrk(base, manifestations, "text/turtle", args.connections, 60, tmp)
            still = stuck.is_alive()
            print(f"  {'during a runaway query':24} 60 s  {r['rps']:8,.0f} req/s   p50 {r['p50']:6.2f} ms   "
                  f"p99 {r['p99']:6.2f} ms   (query still running at the end: {still})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
