"""The scale benchmark's data and stores: LC's Books All 2016 part 01 (250,000 records, shipped in
pymarc 5.4.0's source distribution), cut into its first N records, and a store per size.

    python bench/scale_data.py _ingest STORE FILE   (one ingest in a process of its own: JSON out)
"""

from __future__ import annotations

import hashlib
import json
import logging
import resource
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pymarc

SDIST = "pymarc-5.4.0.tar.gz"
SDIST_SHA256 = "b2016b1674d1956636c99b9bf95b31840c5cb8f22645672a660e66326371b2f3"
MEMBER = "pymarc-5.4.0/BooksAll.2016.part01.utf8"
BASE = "http://localhost:8000"
UPDATE_RECORDS = 10_000
UPDATE_NOTE = "Scale benchmark: a note added to the first 10,000 records."
END = b"\x1d"  # ISO 2709 record terminator


def sdist(cache: Path) -> Path:
    """pymarc 5.4.0's source distribution, from the package index unless ``cache`` holds it."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / SDIST
    if not path.exists():
        print(f"fetching {SDIST} from the package index into {cache}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "pymarc==5.4.0", "--no-binary", ":all:",
                        "--no-deps", "--quiet", "-d", str(cache)], check=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{path}: sha256 {digest}, expected {SDIST_SHA256} (remove it to fetch it again)")
    return path


def books(work: Path, cache: Path) -> Path:
    """The 250,000-record file, taken out of the source distribution once."""
    out = work / Path(MEMBER).name
    if not out.exists():
        with tarfile.open(sdist(cache)) as tar, tar.extractfile(MEMBER) as src, open(f"{out}.part", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        Path(f"{out}.part").rename(out)
    return out


def first(source: Path, n: int, out: Path) -> Path:
    """The first ``n`` records of ``source``, byte for byte (cut at record terminators)."""
    if out.exists():
        return out
    data = source.read_bytes()
    end = 0
    for _ in range(n):
        end = data.index(END, end) + 1
    out.write_bytes(data[:end])
    return out


def updated(source: Path, out: Path) -> Path:
    """The first 10,000 records, each with a 500 note added: the same records, changed, so an
    ingest into a store holding them replaces every one of them."""
    if out.exists():
        return out
    with open(source, "rb") as fh, open(f"{out}.part", "wb") as sink:
        written = 0
        for record in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True):
            if record is None:
                continue
            record.add_ordered_field(pymarc.Field("500", pymarc.Indicators(" ", " "),
                                                  [pymarc.Subfield("a", UPDATE_NOTE)]))
            sink.write(record.as_marc())
            written += 1
            if written == UPDATE_RECORDS:
                break
    Path(f"{out}.part").rename(out)
    return out


def ingest_once(store: Path, path: Path) -> dict:
    """One ``ingest`` (the CLI's defaults: the base profile's gate) in a process of its own, so its
    peak memory is its own: the main process's, and the largest of its conversion workers'."""
    out = subprocess.run([sys.executable, __file__, "_ingest", str(store), str(path)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ingest(store: str, path: str) -> dict:
    from metadatabronn.pipeline import Settings, ingest

    s = ingest([path], Settings(store=Path(store), base=BASE, workers=2))
    return {"records": s.records_read, "stored": s.records_stored, "new": s.records_new,
            "updated": s.records_updated, "seconds": s.seconds, "rate": s.records_per_second,
            "rss_main_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_worker_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def commit() -> str:
    here = Path(__file__).resolve().parent
    out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def build(work: Path, source: Path, n: int, reuse: bool) -> tuple[Path, dict]:
    """The store of the first ``n`` records, and the figures of the ingest that made it (kept beside
    it, so that ``reuse`` can report them without ingesting again)."""
    store, figures = work / f"store-{n}", work / f"store-{n}.json"
    if reuse and store.exists() and figures.exists():
        made = json.loads(figures.read_text())
        if made.get("commit") != commit():
            print(f"reusing store-{n}, made at commit {made.get('commit')} (HEAD is {commit()})", flush=True)
        return store, made
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(f"{store}.rejects", ignore_errors=True)
    cut = first(source, n, work / f"first-{n}.mrc")
    print(f"ingesting the first {n:,} records into {store}", flush=True)
    at = {"commit": commit(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # the code that made it
    made = ingest_once(store, cut) | at
    figures.write_text(json.dumps(made, indent=1))
    return store, made


def update(store: Path, work: Path, source: Path) -> dict:
    """The 10,000 changed records ingested into a checkpoint of ``store`` (hard links: the store
    itself is not changed, and can be reused)."""
    from metadatabronn.store import Store

    changes = updated(source, work / "update-10k.mrc")
    copy = work / f"{store.name}-update"
    shutil.rmtree(copy, ignore_errors=True)
    s = Store(store, None, read_only=True)
    s.backup(copy)
    s.close()
    try:
        return ingest_once(copy, changes)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(f"{copy}.rejects", ignore_errors=True)


def disk_bytes(store: Path) -> int:
    return sum(f.stat().st_size for f in store.iterdir() if f.is_file())


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    if len(sys.argv) == 4 and sys.argv[1] == "_ingest":
        print(json.dumps(_ingest(sys.argv[2], sys.argv[3])))
        sys.exit(0)
    sys.exit(__doc__)
