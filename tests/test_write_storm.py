"""Writes under contention, and properties of every write.

The conflict storm: many clients read, change and write back the same few works at once, each
with the ETag it read. Every write either lands (200) or is refused as stale (412, then read
again and retried); at the end each work is exactly the sequence of its successful writes: its
note holds the token of every successful write, in the order the writer took them, its title
is the last one's, and the change feed and the audit log count each successful write once.

The properties (Hypothesis): a PUT then a GET gives back the triples written; and the gate's
verdict on a body is the profile's, by the fast checker and by pySHACL alike."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict

import httpx
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from metadatabronn.validate import VIOLATION, Data, check, load_profile
from metadatabronn.validate import reference

from .writeserver import JSONLD, NOTE, TITLE, WORK, free_port, make_store, serving

# The storm's size: clients x cycles each, on WORKS works (METADATABRONN_TEST_STORM=clients,cycles).
CLIENTS, CYCLES = (int(n) for n in os.environ.get("METADATABRONN_TEST_STORM", "20,100").split(","))
WORKS = 10
MB = "https://w3id.org/metadatabronn/ns#"
WELLS_OWN = {MB + "key", MB + "statedIn"}


@pytest.fixture(scope="module")
def well(tmp_path_factory):
    port = free_port()
    store = tmp_path_factory.mktemp("storm") / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}")
    with serving(store, port, keys) as served:
        yield served


def _storm(well, works: list[str], client: int, results: list, failures: list) -> None:
    headers = {**well.auth(), "Content-Type": JSONLD}
    with httpx.Client(timeout=120) as http:
        for cycle in range(CYCLES):
            work = works[(client + cycle) % len(works)]
            token = f"c{client}n{cycle}"
            while True:
                r = http.get(work, params={"format": "jsonld"})
                if r.status_code != 200:
                    failures.append(("GET", work, r.status_code, r.text))
                    return
                doc = r.json()
                doc["preferredTitle"] = f"Storm {token}"
                doc["note"] = f"{doc.get('note', '')} {token}".strip()
                w = http.put(work, json=doc, headers={**headers, "If-Match": r.headers["etag"]})
                results.append((work, token, w.status_code, w.json().get("sequence") if w.status_code == 200 else None))
                if w.status_code == 200:
                    break
                if w.status_code != 412:
                    failures.append(("PUT", work, w.status_code, w.text))
                    return


def test_the_conflict_storm_loses_nothing(well):
    works = [r["w"] for r in well.sparql(f"SELECT ?w WHERE {{ ?w a <{WORK}> }} ORDER BY ?w LIMIT {WORKS}")]
    assert len(works) == WORKS
    first = well.sequence()
    audit_seen = len(well.audit())
    results: list = []
    failures: list = []
    threads = [threading.Thread(target=_storm, args=(well, works, c, results, failures)) for c in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - began
    assert not failures, failures[:3]
    statuses = Counter(status for _, _, status, _ in results)
    assert set(statuses) <= {200, 412}, statuses
    assert statuses[200] == CLIENTS * CYCLES
    print(f"\nstorm: {CLIENTS} clients x {CYCLES} cycles on {WORKS} works in {took:.1f} s; "
          f"{statuses[200]} writes, {statuses[412]} refused as stale ({statuses[200] / took:.0f} writes/s)")

    landed: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for work, token, status, sequence in results:
        if status == 200:
            landed[work].append((sequence, token))
    every_sequence = [s for writes in landed.values() for s, _ in writes]
    assert len(set(every_sequence)) == len(every_sequence)  # each write its own change
    for work in works:
        writes = sorted(landed[work])
        doc, _ = well.read(work)
        assert doc["note"].split() == [token for _, token in writes], work
        assert doc["preferredTitle"] == f"Storm {writes[-1][1]}"
    last = max(every_sequence)
    well.refreshed(last)
    updates = Counter(a["object"]["id"] for a in well.changes()
                      if a["type"] == "Update" and first < a["sequence"] <= last)
    audited = Counter(line["entity"] for line in well.audit()[audit_seen:]
                      if line["method"] == "PUT" and line["status"] == 200)
    for work in works:
        assert updates[work] == len(landed[work]) == audited[work], work
        doc, _ = well.read(work)  # and so from the fresh snapshot
        assert doc["note"].split() == [token for _, token in sorted(landed[work])]
