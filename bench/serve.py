"""Serving benchmark: entity GETs, look-ups and SPARQL queries against the LC 20k store.

    python bench/serve.py [CORPUS] [--store DIR --base-iri IRI] [--connections 16[,200...]] [--seconds 10]
                          [--http-workers 2] [--scenario entities|sparql|runaways|refresh|all]
                          [--runaways 1] [--refresh 5] [--serve-arg=--flag=value ...]

Builds a store from CORPUS (default: the LC Books 2016 part 01 first-20k file) unless --store
names one, starts ``metadatabronn serve`` on a free loopback port, and runs ``wrk`` (Debian's
package) on the same machine against rotating URLs. Reports requests/s and latency p50/p99:

- ``entities``: manifestations and works as Turtle, as JSON-LD, and ISBN look-ups;
- ``sparql``: small SPARQL SELECTs (the manifestations of a work with their titles), one per
  request, through the query workers; with several ``--connections`` (``20,200``) the load test
  of many users at once. ``ok/s`` counts 2xx answers only; 503s (load shed) are counted apart;
- ``search``: title-word searches in SPARQL (``CONTAINS`` over every title, ``LIMIT 10``), a
  few ms to a few tens of ms each: the load where query workers cannot keep up with the users;
- ``runaways``: manifestations as Turtle while ``--runaways`` runaway SPARQL queries hold query
  workers (for 60 s);
- ``refresh``: under SPARQL load, the time from the end of an update of the store until every
  server process serves it (entities) and the query workers answer from it (SPARQL).
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
import uuid
from pathlib import Path
from urllib.parse import urlencode


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
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(base: str, paths: list[str], accept: str, connections: int, seconds: int, tmp: Path,
        timeout: int = 30) -> dict:
    listing = tmp / f"paths-{threading.get_ident()}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = tmp / f"rotate-{threading.get_ident()}.lua"
    script.write_text(LUA % (listing, accept))
    # --timeout: wrk leaves answers slower than this out of its latency figures; it must be
    # longer than any answer, or a slow tail would not show.
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s", "--latency",
                          "-s", str(script), base], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = int(errors.group(1)) if errors else 0
    return {"rps": rps, "ok": rps * (total - non2xx) / total if total else 0.0, "p50": p50, "p99": p99,
            "errors": non2xx, "requests": total,
            "socket": sum(int(g) for g in socket.groups()) if socket else 0}


def line(name: str, label: str, r: dict) -> str:
    return (f"  {name:28} {label:5} {r['rps']:8,.0f} req/s  ok {r['ok']:8,.0f}/s   p50 {r['p50']:8.2f} ms   "
            f"p99 {r['p99']:8.2f} ms" + (f"   NON-2XX {r['errors']}/{r['requests']}" if r["errors"] else "")
            + (f"   SOCKET ERRORS {r['socket']}" if r["socket"] else ""))


RDAM, RDAE = "http://rdaregistry.info/Elements/m/", "http://rdaregistry.info/Elements/e/"
# A runaway query (a cartesian product over every statement): it holds a query worker until the
# time limit stops it.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def sparql_paths(works: list[str], base_of_iris: str) -> list[str]:
    """One small query per work: its manifestations and their titles."""
    out = []
    for w in works:
        query = (f"SELECT ?m ?title WHERE {{ ?e <{RDAE}P20231> <{base_of_iris}{w}> . "
                 f"?m <{RDAM}P30139> ?e ; <{RDAM}P30156> ?title }}")
        out.append("/sparql?" + urlencode({"query": query}))
    return out


def search_paths(titles: list[str]) -> list[str]:
    """A cataloguer's search: ten manifestations whose title has a word in it, among the words
    in at least 100 titles (so a query ends early: a few ms to a few tens of ms)."""
    counts: dict[str, int] = {}
    for t in titles:
        for w in set(re.findall(r"[a-z]{4,}", t.lower())):
            counts[w] = counts.get(w, 0) + 1
    words = sorted(w for w, n in counts.items() if n >= 100)
    random.seed(2)
    out = []
    for word in random.sample(words, min(500, len(words))):
        query = (f"SELECT ?m ?title WHERE {{ ?m <{RDAM}P30156> ?title "
                 f"FILTER(CONTAINS(LCASE(?title), \"{word}\")) }} LIMIT 10")
        out.append("/sparql?" + urlencode({"query": query}))
    return out


def runaways(base: str, n: int, seconds: float) -> list[threading.Thread]:
    threads = [threading.Thread(target=lambda: httpx.get(f"{base}/sparql", params={"query": RUNAWAY},
                                                         timeout=seconds + 120), daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def refresh_pickup(base: str, store: Path, minted: str, manifestation: str, rounds: int) -> list[tuple[float, float]]:
    """Seconds from the end of each update until every server process shows it (the first of
    20 GETs in a row, each on a new connection so spread over the processes, that all show it)
    and until a SPARQL query finds it."""
    out = []
    exe = str(Path(sys.executable).parent / "metadatabronn")
    for n in range(rounds):
        mark = f"refresh mark {uuid.uuid4()}"
        subprocess.run([exe, "update", f'INSERT DATA {{ <{minted}{manifestation}> <{RDAM}P30137> "{mark}" }}',
                        "--store", str(store), "--base-iri", minted],
                       check=True, capture_output=True)
        written = time.monotonic()
        seen_entity = seen_sparql = run_start = None
        in_a_row = 0
        ask = "ASK { ?m <%sP30137> \"%s\" }" % (RDAM, mark)
        with httpx.Client(timeout=60) as client:
            while (seen_entity is None or seen_sparql is None) and time.monotonic() - written < 120:
                if seen_entity is None:
                    # A new connection each time, so the requests go to every server process.
                    asked = time.monotonic()
                    body = httpx.get(f"{base}{manifestation}", headers={"Accept": "application/n-triples"},
                                     timeout=60).text
                    in_a_row = in_a_row + 1 if mark in body else 0
                    if in_a_row == 1:
                        run_start = asked
                    if in_a_row >= 20:  # when the first of 20 GETs in a row that all showed it was sent
                        seen_entity = run_start - written
                        continue
                if seen_sparql is None:
                    r = client.get(f"{base}/sparql", params={"query": ask})
                    if r.status_code == 200 and r.json()["boolean"]:
                        seen_sparql = time.monotonic() - written
                time.sleep(0.05)
        out.append((seen_entity or float("inf"), seen_sparql or float("inf")))
    return out


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--store")
    ap.add_argument("--base-iri", help="the base IRI the --store was built with (default: the server's address)")
    ap.add_argument("--connections", default="16", help="connections, or several separated by commas (20,200)")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--http-workers", type=int, default=2)
    ap.add_argument("--scenario", choices=("entities", "sparql", "search", "runaways", "refresh", "all"), default="all")
    ap.add_argument("--runaways", type=int, default=1, help="runaway queries running in the runaways scenario")
    ap.add_argument("--refresh", type=float, default=5.0, help="the server's --refresh (refresh scenario)")
    ap.add_argument("--timeout", type=float, default=120.0, help="the server's SPARQL --timeout")
    ap.add_argument("--serve-arg", action="append", default=[], help="another flag for serve (repeatable)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    connections = [int(c) for c in args.connections.split(",")]
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
        extra = ("--timeout", f"{args.timeout:g}", "--refresh", f"{args.refresh:g}", *args.serve_arg)
        with running_server(store, minted, port, args.http_workers, url=base, extra=extra):
            print(f"{len(rows):,} manifestations; {args.seconds} s a pass, {args.http_workers} server processes, "
                  f"serve {' '.join(extra)}")
            if args.scenario in ("entities", "all"):
                for name, paths, accept in (("manifestation, Turtle", manifestations, "text/turtle"),
                                            ("manifestation, JSON-LD", manifestations, "application/ld+json"),
                                            ("work, Turtle", works, "text/turtle"),
                                            ("ISBN look-up", isbns, "application/json")):
                    for c in connections:
                        # The first pass meets every URL cold; the store is a read-only snapshot,
                        # so the second is served from each process's response cache.
                        for label in ("cold", "warm"):
                            print(line(f"{name}, {c} conn.", label, wrk(base, paths, accept, c, args.seconds, tmp)),
                                  flush=True)
            if args.scenario in ("sparql", "all"):
                queries = sparql_paths(works, minted.rstrip("/"))
                wrk(base, queries, "application/sparql-results+json", connections[0], 3, tmp)  # warm-up
                for c in connections:
                    r = wrk(base, queries, "application/sparql-results+json", c, args.seconds, tmp)
                    print(line(f"SPARQL, {c} conn.", "", r), flush=True)
            if args.scenario in ("search", "all"):
                s = Store(store, minted, read_only=True)
                titles = [r["t"].value for r in s.query(f"SELECT ?t WHERE {{ ?m <{RDAM}P30156> ?t }}")]
                s.close()
                queries = search_paths(titles)
                for c in connections:
                    r = wrk(base, queries, "application/sparql-results+json", c, args.seconds, tmp)
                    print(line(f"SPARQL search, {c} conn.", "", r), flush=True)
            if args.scenario in ("runaways", "all"):
                wrk(base, manifestations, "text/turtle", connections[0], 3, tmp)  # the response caches filled
                stuck = runaways(base, args.runaways, 60)
                time.sleep(2)
                r = wrk(base, manifestations, "text/turtle", connections[0], min(args.seconds, 50), tmp)
                still = sum(t.is_alive() for t in stuck)
                print(line(f"{args.runaways} runaway(s), {connections[0]} conn.", "", r)
                      + f"   (runaways still running at the end: {still})", flush=True)
            if args.scenario in ("refresh", "all"):
                queries = sparql_paths(works, minted.rstrip("/"))
                c = connections[-1]
                load = threading.Thread(target=wrk, args=(base, queries, "application/sparql-results+json", c,
                                                          int(8 * args.refresh + 60), tmp), daemon=True)
                load.start()
                time.sleep(3)
                times = refresh_pickup(base, store, minted.rstrip("/"), manifestations[0], 3)
                load.join()
                print(f"  refresh {args.refresh:g} s under SPARQL load ({c} conn.): seen by every server process "
                      f"after {', '.join(f'{e:.1f}' for e, _ in times)} s; by SPARQL after "
                      f"{', '.join(f'{q:.1f}' for _, q in times)} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
