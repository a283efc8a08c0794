"""Linking benchmark: headings of a bibliographic corpus linked to an authority file of their agents.

    python bench/linking.py [CORPUS] [--keep DIR]

No public authority file covers the LC Books records, so one is made from the well's own agents:
CORPUS (default: the LC Books 2016 part 01 first-20k file) is ingested into a fresh store, and every
person, corporate body and family its headings made becomes one MARC 21 authority record (100/110/
111 with the heading's access point, 001 a running number, 003 ``XX-BENCH``). The file is
*synthetic*: it says nothing a heading did not say. Then both orders are measured:

1. **authority after the bibliographic records**: ingesting the authority file into that store;
   every heading-made agent is merged into its authority's agent (``pipeline.linking.absorb``):
   headings relinked per second;
2. **bibliographic records after the authority file**: a fresh store gets the authority file,
   then CORPUS; each heading is looked up among the authorities' keys while it loads: headings
   linked per second of the whole ingest, and the look-up alone.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pymarc

from metadatabronn import identity
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.model import Entity, Kind
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"
BASE = "http://localhost:8000"
_TAG = {T.C_PERSON: ("100", "1"), T.C_CORPORATE: ("110", "2"), T.C_FAMILY: ("100", "3")}
_AAP = {T.C_PERSON: T.A_PERSON_AAP, T.C_CORPORATE: T.A_CORPORATE_AAP, T.C_FAMILY: T.A_FAMILY_AAP}
_KIND = {T.C_PERSON: Kind.PERSON, T.C_CORPORATE: Kind.CORPORATE, T.C_FAMILY: Kind.FAMILY}


def agents_of(store_path: Path) -> list[tuple[str, str, str]]:
    """(class, access point, IRI) of every agent the headings made, in IRI order."""
    import pyoxigraph as ox

    store = Store(store_path, BASE, read_only=True)
    try:
        out = []
        for cls, aap in _AAP.items():
            for q in store._store.quads_for_pattern(None, ox.NamedNode(aap), None, ox.DefaultGraph()):
                out.append((cls, q.object.value, q.subject.value))
        return sorted(set(out), key=lambda a: a[2])
    finally:
        store.close()


def authority_file(agents, path: Path) -> int:
    """One authority record per agent, keyed by its access point (synthetic, see the module)."""
    seen = set()
    n = 0
    with path.open("wb") as out:
        for cls, aap, _ in agents:
            key = identity.key(Entity(_KIND[cls], ("aap", _KIND[cls].value, aap)))
            if key in seen:
                continue
            seen.add(key)
            n += 1
            tag, ind1 = _TAG[cls]
            record = pymarc.Record(leader="00000nz  a2200000n  4500", force_utf8=True)
            record.add_field(pymarc.Field(tag="001", data=f"b{n:07d}"), pymarc.Field(tag="003", data="XX-BENCH"),
                             pymarc.Field(tag="008", data="261204n| acannaabn          |a aaa      "),
                             pymarc.Field(tag="040", indicators=[" ", " "], subfields=[pymarc.Subfield("a", "XX-BENCH")]),
                             pymarc.Field(tag=tag, indicators=[ind1, " "], subfields=[pymarc.Subfield("a", aap)]))
            out.write(record.as_marc())
    return n


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--keep", help="keep the stores and the authority file in this directory")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="linking-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        first = work / "bib-first"
        shutil.rmtree(first, ignore_errors=True)
        t = time.perf_counter()
        plain = ingest([args.corpus], Settings(store=first, base=BASE, workers=2, profile=None, compact="never"))
        plain_seconds = time.perf_counter() - t
        agents = agents_of(first)
        file = work / "authorities.mrc"
        n = authority_file(agents, file)
        print(f"corpus: {args.corpus}: {plain.records_read} records ingested in {plain_seconds:.1f} s; "
              f"{len(agents)} agents → {n} synthetic authority records")

        t = time.perf_counter()
        after = ingest([str(file)], Settings(store=first, base=BASE, workers=2, profile=None, compact="never"))
        seconds = time.perf_counter() - t
        merged = after.entities_merged_into_authorities
        print(f"1. authorities after the records: {n} authorities ingested and {merged} heading agents merged "
              f"into them in {seconds:.1f} s ({n / seconds:,.0f} authority records/s, {merged / seconds:,.0f} "
              f"agents relinked/s)")

        second = work / "authority-first"
        shutil.rmtree(second, ignore_errors=True)
        ingest([str(file)], Settings(store=second, base=BASE, workers=2, profile=None, compact="never"))
        t = time.perf_counter()
        linked = ingest([args.corpus], Settings(store=second, base=BASE, workers=2, profile=None, compact="never"))
        seconds = time.perf_counter() - t
        print(f"2. records after the authorities: {linked.records_read} records in {seconds:.1f} s "
              f"(without authorities: {plain_seconds:.1f} s); {linked.headings_linked} headings linked, "
              f"{linked.headings_linked / seconds:,.0f} headings/s of the whole ingest")

        store = Store(second, BASE, read_only=True)
        try:
            keys = [identity.key(Entity(_KIND[cls], ("aap", _KIND[cls].value, aap))) for cls, aap, _ in agents]
            t = time.perf_counter()
            found = sum(1 for k in keys if store.link_iri(k) is not None)
            seconds = time.perf_counter() - t
        finally:
            store.close()
        print(f"   the look-up alone: {len(keys)} heading keys, {found} linked, {len(keys) / seconds:,.0f} look-ups/s")
        return 0 if found == len(keys) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
