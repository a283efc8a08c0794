"""Writes under contention, and properties of every write.

The conflict storm: many clients (of two organisations, replacing or patching) read, change and
write back the same few works at once, each with the ETag it read. Every write either lands
(200) or is refused as stale (412, then read again and retried); at the end each work is
exactly the sequence of its successful writes: its note holds the token of every successful
write, in the order the writer took them, its title is the last one's, and the change feed and
the audit log count each successful write once.

The properties (Hypothesis): a PUT then a GET gives back the triples written; and the gate's
verdict on a body is the profile's, by the fast checker and by pySHACL alike."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict

import httpx
import pymarc
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from metadatabronn.validate import VIOLATION, Data, check, load_profile
from metadatabronn.validate import reference

from .client import http_client
from .conftest import examples, full, on_server
from .writeserver import (JSONLD, NOTE, RDAC, RDAW, TITLE, WORK, free_port, make_store, record_of, serving,
                          works_with_records)

# The storm's size: clients x cycles each, on WORKS works (METADATABRONN_TEST_STORM=clients,cycles);
# 20 x 100 with pytest --full, the size of the figures in docs/.
CLIENTS, CYCLES = (int(n) for n in os.environ.get("METADATABRONN_TEST_STORM",
                                                  "20,100" if full() else "8,20").split(","))
BESIDE = (8, 25, 30) if full() else (6, 8, 5)  # the storm beside submitted files: clients, cycles, files
WORKS = 10
MB = "https://w3id.org/metadatabronn/ns#"
WELLS_OWN = {MB + "key", MB + "statedIn"}


@pytest.fixture(scope="module", params=[1, 2], ids=["one-process", "two-processes"])
def well(request, tmp_path_factory):
    """A server of one HTTP process, and one of two (each with its own snapshot, so a read
    after a write may come to a process that did not take the write)."""
    port = free_port()
    store = tmp_path_factory.mktemp("storm") / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}")
    with serving(store, port, keys, None, "--http-workers", str(request.param)) as served:
        yield served


def _get(http: httpx.Client, work: str, retried: list) -> httpx.Response:
    """GET as a client should: a 503 with Retry-After (the server reopening its view of a store
    a load has just compacted) is asked again, and counted."""
    for _ in range(50):
        r = http.get(work, params={"format": "jsonld"})
        if r.status_code != 503 or "retry-after" not in r.headers:
            return r
        retried.append(work)
        time.sleep(0.2)
    return r


def _storm(well, works: list[str], client: int, cycles: int, results: list, failures: list, retried: list) -> None:
    """One client's cycles. Clients take turns at being the library and the partner (two
    organisations, each with its own graph of statements), and at replacing the work (PUT) and
    patching it (PATCH with a JSON Merge Patch)."""
    who = ("cataloguer", "partner")[client % 2]
    patching = (client // 2) % 2 == 1
    with http_client(timeout=120, headers=well.auth(who)) as http:
        for cycle in range(cycles):
            work = works[(client + cycle) % len(works)]
            token = f"c{client}n{cycle}"
            while True:
                r = _get(http, work, retried)
                if r.status_code != 200:
                    failures.append(("GET", work, r.status_code, r.text))
                    return
                doc = r.json()
                change = {"preferredTitle": f"Storm {token}", "note": f"{doc.get('note', '')} {token}".strip()}
                if patching:
                    w = http.patch(work, json=change, headers={"Content-Type": "application/merge-patch+json",
                                                               "If-Match": r.headers["etag"]})
                else:
                    w = http.put(work, json={**doc, **change}, headers={"Content-Type": JSONLD,
                                                                        "If-Match": r.headers["etag"]})
                results.append((work, token, w.status_code, w.json().get("sequence") if w.status_code == 200 else None))
                if w.status_code == 200:
                    # read-your-writes, whichever server process answers: the work as read now
                    # holds this write (others may have written since, never before it)
                    seen = _get(http, work, retried)
                    if seen.status_code != 200 or token not in seen.json().get("note", "").split():
                        failures.append(("read after write", work, token, w.headers["etag"], seen.status_code,
                                         seen.headers.get("etag"), seen.text[-300:]))
                    break
                if w.status_code != 412:
                    failures.append((w.request.method, work, w.status_code, w.text))
                    return


def storm(well, works: list[str], clients: int, cycles: int, beside=None) -> str:
    """``clients`` clients, ``cycles`` cycles each, on ``works`` (with ``beside(stop)`` running
    on a thread of its own meanwhile), then what the works, the feed and the audit log must
    show; a line of figures."""
    first = well.sequence()
    audit_seen = len(well.audit())
    results: list = []
    failures: list = []
    retried: list = []
    stop = threading.Event()
    threads = [threading.Thread(target=_storm, args=(well, works, c, cycles, results, failures, retried))
               for c in range(clients)]
    side = threading.Thread(target=beside, args=(stop, failures)) if beside else None
    began = time.monotonic()
    try:
        for t in threads + ([side] if side else []):
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
        if side:
            side.join()
    took = time.monotonic() - began
    assert not failures, failures[:3]
    statuses = Counter(status for _, _, status, _ in results)
    assert set(statuses) <= {200, 412}, statuses
    assert statuses[200] == clients * cycles

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
                      if line["method"] in ("PUT", "PATCH") and line["status"] == 200)
    for work in works:
        assert updates[work] == len(landed[work]) == audited[work], work
        doc, _ = well.read(work)  # and so from the fresh snapshot
        assert doc["note"].split() == [token for _, token in sorted(landed[work])]
    return (f"{clients} clients x {cycles} cycles on {len(works)} works in {took:.1f} s; {statuses[200]} writes, "
            f"{statuses[412]} refused as stale ({statuses[200] / took:.0f} writes/s); "
            f"{len(retried)} reads answered 503 and asked again")


def test_the_conflict_storm_loses_nothing(well):
    works = [r["w"] for r in well.sparql(f"SELECT ?w WHERE {{ ?w a <{WORK}> }} ORDER BY ?w LIMIT {WORKS}")]
    assert len(works) == WORKS
    print("\nstorm:", storm(well, works, CLIENTS, CYCLES))


def test_writes_go_on_while_files_are_submitted(well):
    """A smaller storm on other works while records of yet other works are submitted again and
    again (each load closes the store in the writer, and compacts it): writes wait for a load,
    reads go on, nothing is lost."""
    taken = {r["w"] for r in well.sparql(f"SELECT ?w WHERE {{ ?w a <{WORK}> }} ORDER BY ?w LIMIT {WORKS}")}
    others = [(w, m) for w, m in works_with_records(well) if w not in taken]
    works, submitted = [w for w, _ in others[:6]], [m for _, m in others[6:9]]
    assert len(works) == 6 and len(submitted) == 3
    loads: list = []

    def submit(stop: threading.Event, failures: list) -> None:
        n = 0
        while not stop.is_set() and n < BESIDE[2]:
            record = record_of(submitted[n % len(submitted)])
            record.add_field(pymarc.Field(tag="500", indicators=[" ", " "],
                                          subfields=[pymarc.Subfield("a", f"Submitted again, {n}.")]))
            r = well.post(f"/records?name=again-{n}.mrc", record.as_marc())
            if r.status_code != 200 or r.json()["summary"]["records_updated"] != 1:
                failures.append(("POST /records", n, r.status_code, r.text[:300]))
                return
            loads.append(n)
            n += 1

    figures = storm(well, works, *BESIDE[:2], beside=submit)
    assert loads, "no file was loaded during the storm"
    print(f"\nstorm beside {len(loads)} submitted files:", figures)


def test_a_fresh_view_never_answers_from_an_older_views_responses(tmp_path):
    """The server keeps rendered entities per view of the store (its snapshot) and opens a fresh
    view whenever the store changed; a fresh view must never be taken for an older one, or a
    read after a write can be answered as the entity was several views ago (seen in the storm
    beside submitted files: a client's own write missing from its next read, and its next
    write refused as stale)."""
    import gc

    from metadatabronn.web.app import Snapshot

    store = tmp_path / "store"
    make_store(store, "http://127.0.0.1:1", clients={})
    keys = []
    for _ in range(20):
        current = Snapshot(store, "http://127.0.0.1:1")  # a server holds only its current view
        keys.append(current.key)
        gc.collect()
    assert len(set(keys)) == len(keys), keys


# --- properties ------------------------------------------------------------------------------

SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
RDAE = "http://rdaregistry.info/Elements/e/"
RDAA = "http://rdaregistry.info/Elements/a/"
ISO639 = "http://id.loc.gov/vocabulary/iso639-2/"
LANGUAGES = st.sampled_from([None, "en", "nb", "nn", "se", "de-CH"])
# On a SPARQL server (--store-server) without NUL: Virtuoso's XML results, which the well reads,
# cut a literal at a NUL (docs/sparql-servers.md); the embedded store is tested with it.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00" if on_server() else ""),
               min_size=1, max_size=24)
# The same text may come in several languages, and with none.
LITERALS = st.builds(lambda t, lang: ox.Literal(t, language=lang) if lang else ox.Literal(t),
                     st.sampled_from(["Note", "Merknad"]) | TEXT, LANGUAGES)
DATES = st.sampled_from(["1858", "1858-03", "1858-03-31", "-44", "1858-13", "c1858", "1858?", "18580", "1858-02-30"])
ONE_MOSTLY = st.sampled_from([1, 1, 1, 1, 1, 0, 2])  # most bodies the gate takes


def _values(draw, strategy, count=None) -> set:
    n = draw(count if count is not None else st.integers(0, 3))
    return set(draw(st.lists(strategy, min_size=n, max_size=n, unique=True)))


@st.composite
def changes(draw, well, kind: str) -> dict:
    """Element -> the values a body gives it, for the elements the body changes: each element
    the profile constrains (how many, literal or IRI, from which vocabulary, what pattern), with
    values that keep to the constraint and values that do not."""
    iri = lambda values: st.sampled_from(values).map(ox.NamedNode)  # noqa: E731
    rarely = lambda usual, other: st.integers(0, 4).flatmap(lambda i: other if i == 0 else usual)  # noqa: E731
    if kind == "work":
        return {TITLE: _values(draw, rarely(LITERALS, iri(well.concepts)), ONE_MOSTLY),
                NOTE: _values(draw, LITERALS),
                RDAW + "P10256": _values(draw, iri(well.concepts))}
    if kind == "expression":
        languages = iri([ISO639 + c for c in ("eng", "nob", "sme", "smj", "nno")])
        return {RDAE + "P20231": _values(draw, rarely(iri(well.works), LITERALS), ONE_MOSTLY),
                RDAE + "P20006": _values(draw, rarely(languages, iri([ISO639 + "xxx"]) | st.just(ox.Literal("eng"))),
                                         st.integers(0, 2))}
    return {RDAA + "P50117": _values(draw, rarely(LITERALS, iri(well.concepts)), ONE_MOSTLY),
            RDAA + "P50121": _values(draw, DATES.map(ox.Literal), st.sampled_from([0, 0, 0, 1, 1, 2]))}


@pytest.fixture(scope="module")
def props(tmp_path_factory):
    """A server for the properties, an entity of each kind they write, and what a body may name."""
    port = free_port()
    store = tmp_path_factory.mktemp("props") / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}")
    with serving(store, port, keys) as served:
        def first(cls: str) -> str:
            return served.sparql(f"SELECT ?x WHERE {{ ?x a <{cls}> }} ORDER BY ?x LIMIT 1")[0]["x"]

        served.entities = {"work": first(WORK), "expression": first(RDAC + "C10006"),
                           "agent": first(RDAC + "C10004")}
        served.concepts = [r["c"] for r in served.sparql(
            f"SELECT ?c WHERE {{ ?c a <{SKOS_CONCEPT}> }} ORDER BY ?c LIMIT 12")]
        served.works = [r["w"] for r in served.sparql(f"SELECT ?w WHERE {{ ?w a <{WORK}> }} ORDER BY ?w LIMIT 6")]
        yield served


def triples_of(well, iri: str) -> set:
    """The triples a GET of ``iri`` gives (N-Triples), as (predicate, object) of ``iri``."""
    r = well.get(iri, "ntriples")
    assert r.status_code == 200, r.text
    return {(t.predicate, t.object) for t in ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)
            if t.subject == ox.NamedNode(iri)}


def _verdicts(iri: str, wanted: set) -> tuple[set, set]:
    """The violations of the entity's data by the fast checker and by pySHACL, as
    (focus, path, component, shape)."""
    profile = load_profile("base")
    quads = [ox.Quad(ox.NamedNode(iri), p, o) for p, o in wanted]
    fast = check(Data.from_quads(quads), profile)
    slow = reference.validate(ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode(), profile)
    key = lambda results: {(r.focus, r.path, r.component, r.shape) for r in results  # noqa: E731
                           if r.focus == iri and r.severity == VIOLATION}
    return key(fast), key(slow)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_put_reads_back_as_written_and_the_gate_is_the_profile(props, data):
    well = props
    kind = data.draw(st.sampled_from(sorted(well.entities)))
    iri = well.entities[kind]
    current = triples_of(well, iri)
    change = data.draw(changes(well, kind))
    wanted = {(p, o) for p, o in current if p.value not in change} | \
        {(ox.NamedNode(p), v) for p, values in change.items() for v in values}
    media = data.draw(st.sampled_from(["text/turtle", "application/n-triples"]))
    fmt = ox.RdfFormat.TURTLE if media == "text/turtle" else ox.RdfFormat.N_TRIPLES
    body = ox.serialize([ox.Triple(ox.NamedNode(iri), p, o) for p, o in sorted(wanted, key=str)], format=fmt)
    fast, slow = _verdicts(iri, wanted)
    assert fast == slow
    event(f"{kind}: " + (" ".join(sorted({v[2].rsplit("#", 1)[1] for v in fast})) if fast else "taken"))
    _, etag = well.read(iri)
    r = well.put(iri, body, etag, media=media)
    if fast:
        assert r.status_code == 422, r.text
        report = r.json()["report"]["results"]
        assert {(x["focus_node"], x["path"], x["constraint_component"], x["source_shape"]) for x in report
                if x["severity"] == "Violation"} == fast
        assert triples_of(well, iri) == current  # nothing written
    else:
        assert r.status_code == 200, r.text
        own = lambda ts: {(p, o) for p, o in ts if p.value not in WELLS_OWN}  # noqa: E731
        assert own(triples_of(well, iri)) == own(wanted)
