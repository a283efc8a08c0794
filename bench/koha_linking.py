"""Koha's $9 links, measured: does every bibliographic heading that carries a $9 name the entity of
the authority record whose 001 that $9 is?

    python bench/koha_linking.py [--order authorities-first|records-first|both] [--keep DIR]

Uses the Koha community sample (1,706 authorities, 435 bibliographic records; GPL-3: read from the
shared corpora, never committed). For each order of loading, a fresh store gets both files; then
every heading with a numeric $9 (1XX/6XX/7XX/8XX and 440) is checked: the authority record whose
001 is that number must describe an entity the record's graph names. Headings whose $9 no
authority record has, and $9s outside headings (084), are counted apart. Prints the share linked,
the misses by tag, and the time of each load.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pymarc
import pyoxigraph as ox

from metadatabronn.mapping import terms as T
from metadatabronn.mapping.convert import record_control_number
from metadatabronn.mapping.text import manifestation_id
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store

KOHA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "koha-sample"
AUTHORITIES = KOHA / "koha_sample_authorities.marcxml"
BIBS = KOHA / "koha_sample_biblios.marcxml"
BASE = "http://localhost:8000"
HEADINGS = ("1", "6", "7", "8")


def _heading(tag: str) -> bool:
    return tag[0] in HEADINGS or tag == "440"


def measure(store_path: Path) -> tuple[Counter, Counter, list[str]]:
    """(linked/missed by tag, not headings or no such authority, examples of misses)."""
    auth_id = {}
    for r in pymarc.parse_xml_to_array(str(AUTHORITIES)):
        f001, f003 = r.get_fields("001"), r.get_fields("003")
        if f001:
            org = f003[0].data.strip() if f003 else ""
            auth_id[f001[0].data.strip()] = f"({org}){f001[0].data.strip()}" if org else f001[0].data.strip()
    store = Store(store_path, BASE, read_only=True)
    ok, other = Counter(), Counter()
    examples = []
    try:
        entity_of = {}
        for number, ident in auth_id.items():
            found = [q.subject.value for q in store._store.quads_for_pattern(
                None, ox.NamedNode(T.MB_AUTHORITY_ID), ox.Literal(ident), None)]
            if found:
                entity_of[number] = found[0]
        for r in pymarc.parse_xml_to_array(str(BIBS)):
            cn = record_control_number(r)
            graph = ox.NamedNode(f"{BASE}/record/{manifestation_id(cn)}") if cn else None
            named = ({q.object.value for q in store._store.quads_for_pattern(None, None, None, graph)
                      if isinstance(q.object, ox.NamedNode)} if graph is not None else set())
            for f in r.fields:
                if f.is_control_field():
                    continue
                nines = [v.strip() for v in f.get_subfields("9") if v.strip().isdigit()]
                if not nines:
                    continue
                if not _heading(f.tag):
                    other[f"${9} in {f.tag} (not a heading)"] += 1
                    continue
                if nines[0] not in auth_id:
                    other[f"$9 {f.tag}: no authority record {nines[0]}"] += 1
                    continue
                expected = entity_of.get(nines[0])
                if expected is not None and expected in named:
                    ok[("linked", f.tag)] += 1
                else:
                    ok[("missed", f.tag)] += 1
                    if len(examples) < 10:
                        examples.append(f"{cn}: {f} (authority {auth_id[nines[0]]}: "
                                        f"{'no entity' if expected is None else expected})")
    finally:
        store.close()
    return ok, other, examples


def run(order: str, work: Path) -> bool:
    store = work / order
    shutil.rmtree(store, ignore_errors=True)
    files = [AUTHORITIES, BIBS] if order == "authorities-first" else [BIBS, AUTHORITIES]
    times = []
    summaries = []
    for f in files:
        t = time.perf_counter()
        summaries.append(ingest([str(f)], Settings(store=store, base=BASE, workers=2, profile=None)))
        times.append(time.perf_counter() - t)
    ok, other, examples = measure(store)
    linked = sum(n for (what, _), n in ok.items() if what == "linked")
    missed = sum(n for (what, _), n in ok.items() if what == "missed")
    total = linked + missed
    print(f"{order}: {files[0].name} in {times[0]:.2f} s, then {files[1].name} in {times[1]:.2f} s")
    for s in summaries:
        print(f"   read {s.records_read}, stored {s.records_stored}, rejected {s.records_rejected}, "
              f"headings linked {s.headings_linked} (by a variant {s.headings_linked_by_variant}), "
              f"merged into authorities {s.entities_merged_into_authorities}")
    print(f"   headings with a $9: {linked}/{total} linked to the right authority ({100 * linked / max(total, 1):.1f} %)")
    for (what, tag), n in sorted(ok.items()):
        if what == "missed":
            print(f"     missed {tag}: {n}")
    for e in examples:
        print(f"     e.g. {e}")
    for why, n in sorted(other.items()):
        print(f"   not counted: {why}: {n}")
    return missed == 0


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("--order", default="both", choices=["authorities-first", "records-first", "both"])
    ap.add_argument("--keep", help="keep the stores in this directory")
    args = ap.parse_args()
    if not AUTHORITIES.exists():
        print(f"the Koha sample is not here ({KOHA})", file=sys.stderr)
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="koha-linking-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        orders = ["authorities-first", "records-first"] if args.order == "both" else [args.order]
        return 0 if all([run(o, work) for o in orders]) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
