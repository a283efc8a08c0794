"""A book-trade partner's day: a mirror made from empty, then kept in sync through a day of changes.

    python bench/sync_day.py [--corpus FILE] [--records 20000] [--updates 500] [--deletions 100]
                             [--work-edits 50] [--merges 10]

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
        waited = wait_for(base, last)
        print(f"  served after {waited:.1f} s more", flush=True)
        behind = httpx.get(f"{base}/changes", timeout=30).json()["totalItems"]
        result = mirror(base, mirror_dir)
        same, size, missing, extra = compare(source, mirror_dir, base)
        ok &= same
        print(f"mirror catching up: {result.activities:,} activities ({behind:,} in the feed now), "
              f"{result.documents:,} documents in {result.seconds:.1f} s = {result.rate:,.0f} changes/s; "
              f"equal: {same} (missing {missing}, extra {extra})", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
