"""Harvest benchmark: a full OAI-PMH ListRecords harvest of MARCXML, streamed page by page.

    python bench/harvest.py [CORPUS] [--store DIR] [--prefix marc21|oai_dc]

Builds a store from CORPUS (default: the LC Books 2016 part 01 first-20k file) unless --store
names one, starts ``metadatabronn serve`` on a free loopback port and harvests everything the
way a library system does: one request after another, following resumption tokens. Reports
records/s for a first (cold) and a second harvest, and the page size.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx


sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import running_server, store_to_serve  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
_TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")



def harvest(base: str, prefix: str) -> tuple[int, int, float, int]:
    client = httpx.Client(timeout=120)
    params = {"verb": "ListRecords", "metadataPrefix": prefix}
    records = pages = size = 0
    started = time.perf_counter()
    while True:
        body = client.get(f"{base}/oai", params=params).content
        size += len(body)
        records += body.count(b"<record>")
        pages += 1
        token = _TOKEN.search(body)
        if not token:
            break
        params = {"verb": "ListRecords", "resumptionToken": token.group(1).decode()}
    return records, pages, time.perf_counter() - started, size


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--store")
    ap.add_argument("--base-iri", help="the base IRI the --store was built with (default: the server's address)")
    ap.add_argument("--prefix", default="marc21")
    ap.add_argument("--http-workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mb-harvest-"))
    try:
        store, minted, base, port = store_to_serve(args.corpus, args.store, args.base_iri, tmp)
        with running_server(store, minted, port, args.http_workers, url=base):
            for label in ("first harvest", "second harvest"):
                records, pages, seconds, size = harvest(base, args.prefix)
                print(f"{label}: {records:,} records ({args.prefix}) in {pages} pages of up to "
                      f"{-(-records // pages):,}, {seconds:.1f} s = {records / seconds:,.0f} records/s, "
                      f"{size / 1e6:,.1f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
