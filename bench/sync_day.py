"""A book-trade partner's day: a mirror made from empty, then kept in sync through a day of changes.

    python bench/sync_day.py [--corpus FILE] [--records 20000] [--updates 500] [--deletions 100]
                             [--work-edits 50] [--merges 10] [--puts 200] [--posts 20]
                             [--http-deletes 10] [--http-merges 10] [--submitted 100]

1. Ingests the first ``--records`` records of the corpus (default: the LC Books 2016 part 01
   first-20k file in the shared corpora) into a fresh store under ``var/bench/sync-day/``, makes an
   N-Quads dump of it, and serves it (``metadatabronn serve``, real HTTP).
2. ``metadatabronn mirror`` from empty: downloads the dump, loads it, follows the feed. The mirror's
   statements are compared with the source's (all of them, less the change log and the store's
   own bookkeeping): they must be equal.
3. A scripted day, written into the source while it is served: ``--updates`` records loaded again
   with a note added (each a changed record), ``--deletions`` records deleted (Leader/05 = d),
   ``--work-edits`` works retitled in the well (``update``, naming the work), ``--merges`` pairs of
   works merged.
4. The mirror runs again, from its saved position: the statements must be equal again.
5. The server is started again taking writes (an API key), and the day goes on over HTTP, every
   write made by the server's writer process: ``--puts`` works retitled (GET as JSON-LD, PUT
   with If-Match), ``--posts`` works created, ``--http-deletes`` of those deleted, a MARC file of
   ``--submitted`` changed records sent to ``POST /records``, and ``--http-merges`` pairs of works
   merged (``POST /work/{id}/merge``), edited ones among them.
6. The mirror runs again: the statements must be equal again, the writers' graphs included.

Prints the time and rate of each step. Exits 1 if a comparison fails.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import sys
import time
from pathlib import Path

import httpx
import pymarc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
WORK_DIR = ROOT / "var" / "bench" / "sync-day"
TITLE = "http://rdaregistry.info/Elements/w/P10223"  # a work's preferred title


def records_of(corpus: Path, limit: int) -> list[bytes]:
    opener = gzip.open if corpus.suffix == ".gz" else open
    out = []
    with opener(corpus, "rb") as fh:
        for record in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True, permissive=True):
            if record is None:
                continue
            out.append(record.as_marc())
            if len(out) == limit:
                break
    return out


def changed(raw: bytes, edit) -> bytes:
    record = pymarc.Record(data=raw, to_unicode=True, force_utf8=True)
    edit(record)
    return record.as_marc()


def add_note(record: pymarc.Record) -> None:
    record.add_field(pymarc.Field(tag="500", indicators=[" ", " "],
                                  subfields=[pymarc.Subfield("a", "Note added on the day of changes.")]))


def mark_deleted(record: pymarc.Record) -> None:
    leader = str(record.leader)
    record.leader = leader[:5] + "d" + leader[6:]


def wait_for(url: str, sequence: int) -> float:
    """Poll the server until it serves a snapshot holding ``sequence``; seconds waited."""
    started = time.perf_counter()
    while True:
        got = httpx.get(f"{url}/health", timeout=30).json().get("sequence", 0)
        if got >= sequence:
            return time.perf_counter() - started
        time.sleep(0.2)


def compare(source: Path, mirror_dir: Path, base: str) -> tuple[bool, int, int, int]:
    from metadatabronn.store.mirroring import MirrorStore, comparable

    want = comparable(source, base)
    store = MirrorStore(mirror_dir / "store") if (mirror_dir / "store").exists() else MirrorStore(mirror_dir)
    try:
        have = comparable(store)
    finally:
        store.close()
    return want == have, len(want), len(want - have), len(have - want)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("METADATABRONN_BENCH_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--updates", type=int, default=500)
    ap.add_argument("--deletions", type=int, default=100)
    ap.add_argument("--work-edits", type=int, default=50)
    ap.add_argument("--merges", type=int, default=10)
    ap.add_argument("--puts", type=int, default=200, help="works retitled over HTTP")
    ap.add_argument("--posts", type=int, default=20, help="works created over HTTP")
    ap.add_argument("--http-deletes", type=int, default=10, help="of the works created, how many deleted")
    ap.add_argument("--http-merges", type=int, default=10, help="pairs of works merged over HTTP")
    ap.add_argument("--submitted", type=int, default=100, help="changed records sent to POST /records")
    args = ap.parse_args()

    from bench.common import free_port, running_server
    from metadatabronn.pipeline import Settings, ingest
    from metadatabronn.pipeline.mirror import mirror
    from metadatabronn.store import Store
    from metadatabronn.store.merging import merge

    if WORK_DIR.exists():
        shutil.rmtree(WORK_DIR)
    WORK_DIR.mkdir(parents=True)
    source, mirror_dir = WORK_DIR / "store", WORK_DIR / "mirror"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    records = records_of(Path(args.corpus), args.records)
    corpus_file = WORK_DIR / "corpus.mrc"
    corpus_file.write_bytes(b"".join(records))

    started = time.perf_counter()
    summary = ingest([str(corpus_file)], Settings(store=source, base=base, workers=2, profile=None))
    print(f"source: {summary.records_stored:,} records ingested in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    from metadatabronn.cli import main as cli

    if cli(["dump", "--store", str(source), "--format", "nquads"]) != 0:
        print("the dump failed")
        return 1
    print(f"dump: {time.perf_counter() - started:.1f} s", flush=True)

    ok = True
    with running_server(source, base, port, http_workers=1, extra=("--refresh", "0.5")):
        result = mirror(base, mirror_dir)
        same, size, missing, extra = compare(source, mirror_dir, base)
        ok &= same
        print(f"mirror from empty: {result.seconds:.1f} s, {size:,} statements; equal: {same} "
              f"(missing {missing}, extra {extra})", flush=True)

        # The day's changes, written beside the server (it reads a snapshot; the writer is us).
        rng = random.Random(15)
        picked = rng.sample(range(len(records)), args.updates + args.deletions)
        updates = [changed(records[i], add_note) for i in picked[:args.updates]]
        deletions = [changed(records[i], mark_deleted) for i in picked[args.updates:]]
        day = time.perf_counter()
        (WORK_DIR / "updates.mrc").write_bytes(b"".join(updates))
        (WORK_DIR / "deletions.mrc").write_bytes(b"".join(deletions))
        ingest([str(WORK_DIR / "updates.mrc")], Settings(store=source, base=base, workers=2, profile=None))
        ingest([str(WORK_DIR / "deletions.mrc")], Settings(store=source, base=base, workers=2, profile=None))
        store = Store(source, base)
        try:
            works = sorted({r["w"].value for r in store.query(
                "SELECT DISTINCT ?w WHERE { ?w a <http://rdaregistry.info/Elements/c/C10001> } LIMIT 2000")})
            chosen = rng.sample(works, args.work_edits + 2 * args.merges)
            for w in chosen[:args.work_edits]:
                store.update(f"DELETE {{ <{w}> <{TITLE}> ?t }} INSERT {{ <{w}> <{TITLE}> \"Retitled on the day\" }} "
                             f"WHERE {{ <{w}> <{TITLE}> ?t }}", changed=[w])
            pairs = chosen[args.work_edits:]
            for a, b in zip(pairs[::2], pairs[1::2]):
                merge(store, b, a)
            last = store.next_sequence() - 1
        finally:
            store.close()
        print(f"the day: {args.updates} records changed, {args.deletions} deleted, {args.work_edits} works "
              f"retitled, {args.merges} merges, written in {time.perf_counter() - day:.1f} s", flush=True)
        ok &= catch_up(base, last, source, mirror_dir)

    # The day goes on over HTTP: the server takes writes, so nothing else may write the store.
    from metadatabronn.web.apikeys import add_key, default_keys_file

    secret, _ = add_key(default_keys_file(source), "partner-system", "partner", ["admin"])
    auth = {"Authorization": f"Bearer {secret}"}
    with running_server(source, base, port, http_workers=1, extra=("--refresh", "0.5")):
        day = time.perf_counter()
        counts = http_day(base, source, auth, rng, records, args)
        last = last_sequence(source)
        print(f"over HTTP: {counts}, written in {time.perf_counter() - day:.1f} s", flush=True)
        ok &= catch_up(base, last, source, mirror_dir, writers=True)
    return 0 if ok else 1


def catch_up(base: str, last: int, source: Path, mirror_dir: Path, writers: bool = False) -> bool:
    """Wait until the server shows change ``last``, catch the mirror up, and say whether it
    equals the store."""
    from metadatabronn.pipeline.mirror import mirror

    waited = wait_for(base, last)
    print(f"  served after {waited:.1f} s more", flush=True)
    behind = httpx.get(f"{base}/changes", timeout=30).json()["totalItems"]
    result = mirror(base, mirror_dir)
    same, size, missing, extra = compare(source, mirror_dir, base)
    held = f"{size:,} statements, {writer_statements(source, base):,} of them in writers' graphs; " if writers else ""
    print(f"mirror catching up: {result.activities:,} activities ({behind:,} in the feed now), "
          f"{result.documents:,} documents in {result.seconds:.1f} s = {result.rate:,.0f} changes/s; "
          f"{held}equal: {same} (missing {missing}, extra {extra})", flush=True)
    return same


def last_sequence(source: Path) -> int:
    from metadatabronn.store import Store

    store = Store(source, read_only=True)
    try:
        return store.next_sequence() - 1
    finally:
        store.close()


def writer_statements(source: Path, base: str) -> int:
    from metadatabronn.store.mirroring import comparable

    return sum(1 for q in comparable(source, base) if f" <{base}/edit/" in q and q.endswith(">"))


def http_day(url: str, source: Path, auth: dict, rng: random.Random, records: list[bytes], args) -> dict:
    """The HTTP half of the day: PUTs, POSTs, DELETEs, a submitted file and merges, in that order
    (merges last, so that some merge works edited earlier); what was done, by status."""
    import json

    from metadatabronn.store import Store

    store = Store(source, read_only=True)
    try:
        works = sorted({r["w"].value for r in store.query(
            "SELECT DISTINCT ?w WHERE { ?w a <http://rdaregistry.info/Elements/c/C10001> "
            "FILTER NOT EXISTS { ?w <http://purl.org/dc/terms/isReplacedBy> ?x } "
            "FILTER NOT EXISTS { ?w a <https://www.w3.org/ns/activitystreams#Tombstone> } } LIMIT 5000")})
    finally:
        store.close()
    retitled = rng.sample(works, args.puts)
    # Half the merges take a work retitled above, half two works nobody edited.
    others = [w for w in works if w not in set(retitled)]
    spare = rng.sample(others, 2 * args.http_merges)
    pairs = [(retitled[i], spare[i]) if i % 2 == 0 else (spare[i], spare[args.http_merges + i])
             for i in range(args.http_merges)]
    done: dict[str, dict[int, int]] = {}

    def count(what: str, r: httpx.Response, ok: int) -> None:
        done.setdefault(what, {})
        done[what][r.status_code] = done[what].get(r.status_code, 0) + 1
        if r.status_code != ok and sum(done[what].values()) - done[what].get(ok, 0) <= 3:
            print(f"  {what}: {r.status_code} {r.text[:300]}", flush=True)

    with httpx.Client(timeout=600) as client:
        def read(iri: str) -> tuple[dict, str]:
            got = client.get(iri, params={"format": "jsonld"})
            return got.json(), got.headers.get("etag", "")

        headers = {**auth, "Content-Type": "application/ld+json"}
        for n, iri in enumerate(retitled):
            body, tag = read(iri)
            body["preferredTitle"] = f"Retitled over HTTP {n}"
            count("PUT", client.put(iri, content=json.dumps(body), headers={**headers, "If-Match": tag}), 200)
        made = []
        for n in range(args.posts):
            body = {"@context": f"{url}/context.jsonld", "@id": "", "@type": "Work",
                    "preferredTitle": f"A work made over HTTP {n}"}
            r = client.post(f"{url}/works", content=json.dumps(body), headers=headers)
            count("POST", r, 201)
            if r.status_code == 201:
                made.append(r.headers["location"])
        for iri in made[:args.http_deletes]:
            _, tag = read(iri)
            count("DELETE", client.delete(iri, headers={**auth, "If-Match": tag}), 204)
        picked = rng.sample(records, args.submitted)
        submitted = b"".join(changed(raw, add_note_http) for raw in picked)
        count("POST /records", client.post(f"{url}/records", params={"name": "submitted.mrc"}, content=submitted,
                                           headers=auth), 200)
        for merged, into in pairs:
            _, tag = read(merged)
            count("merge", client.post(f"{merged}/merge", json={"into": into}, headers={**auth, "If-Match": tag}), 200)
    return done


def add_note_http(record: pymarc.Record) -> None:
    record.add_field(pymarc.Field(tag="500", indicators=[" ", " "],
                                  subfields=[pymarc.Subfield("a", "Note added in a file submitted over HTTP.")]))


if __name__ == "__main__":
    raise SystemExit(main())
