"""Writes over HTTP reach mirrors: a mirror holds exactly what the well holds (less its
bookkeeping) after a mix of entity writes (PUT, POST, DELETE, a merge) by two organisations and a
MARC file submitted to ``POST /records``, all made by the server's writer process against a real
``metadatabronn serve``; and every statement of the store is in exactly one entity document, the
writers' graphs included.

Each phase is followed by a mirror run, so the mirror holds writer graphs that a later write
replaces, empties or drops (a write that restores the well's own value, a deletion), and must let
go of them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline.dump import dump
from metadatabronn.pipeline.mirror import mirror
from metadatabronn.store import Store
from metadatabronn.store.documents import Document, documents
from metadatabronn.store.editing import MB_STATED_IN
from metadatabronn.store.labels import LABELS_GRAPH
from metadatabronn.store.mirroring import MirrorStore, comparable
from metadatabronn.web.apikeys import add_key, default_keys_file

from .test_mirror import GOLDEN, PAGE, QUICK, caught_up, changed, records, same, source_store
from .test_web import free_port, server
from .client import HTTP


def key_for(store: Path, org: str) -> dict:
    secret, _ = add_key(default_keys_file(store), f"{org}-system", org, ["admin"])
    return {"Authorization": f"Bearer {secret}"}


def works_of(store: Path) -> list[str]:
    s = Store(store, read_only=True)
    try:
        return sorted(r["w"].value for r in s.query(
            f"SELECT DISTINCT ?w WHERE {{ ?w a <{T.C_WORK}> FILTER NOT EXISTS {{ ?w a <https://www.w3.org/ns/"
            "activitystreams#Tombstone> } }"))
    finally:
        s.close()


def retitle(iri: str, title: str, auth: dict) -> httpx.Response:
    """A read-modify-write: GET the work as JSON-LD, change its title, PUT it with If-Match."""
    got = HTTP.get(iri, params={"format": "jsonld"}, timeout=30)
    assert got.status_code == 200, got.text
    body = got.json()
    body["preferredTitle"] = title
    put = HTTP.put(iri, content=json.dumps(body), timeout=60,
                    headers={**auth, "Content-Type": "application/ld+json", "If-Match": got.headers["etag"]})
    assert put.status_code == 200, put.text
    return put


def create(base: str, title: str, auth: dict) -> str:
    body = {"@context": f"{base}/context.jsonld", "@id": "", "@type": "Work", "preferredTitle": title}
    r = HTTP.post(f"{base}/works", content=json.dumps(body), timeout=60,
                   headers={**auth, "Content-Type": "application/ld+json"})
    assert r.status_code == 201, r.text
    return r.headers["location"]


def core_title(store: Path, iri: str) -> str:
    """The work's preferred title as the well's core gives it (not a writer)."""
    s = Store(store, read_only=True)
    try:
        return next(s._store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(T.W_PREFERRED_TITLE), None,
                                               ox.DefaultGraph())).object.value
    finally:
        s.close()


def held(directory: Path) -> set[str]:
    return comparable(directory)


@pytest.fixture(scope="module")
def well(tmp_path_factory):
    """A writable server on the golden records, with a key for each of two organisations."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = source_store(tmp_path_factory.mktemp("writable"), base)
    keys = {org: key_for(store, org) for org in ("nb", "bokbasen")}
    with server(store, port, "--refresh", "0.3", env=PAGE) as (url, proc):
        yield url, store, keys


def test_a_mirror_converges_after_http_writes_merges_and_a_submitted_file(well, tmp_path):
    base, store, keys = well
    nb, partner = keys["nb"], keys["bokbasen"]
    target = tmp_path / "mirror"
    assert mirror(base, target, QUICK).dump is not None
    same(store, target)
    works = works_of(store)
    a, b, c, d, e = works[:5]

    # 1. Titles changed by two writers, and two works made.
    retitle(a, "Retitled by the national library", nb)
    retitle(a, "Retitled by a partner", partner)
    retitle(b, "A title the national library gives", nb)
    retitle(c, "A title soon merged away", nb)
    made = [create(base, "A work made in the well", nb), create(base, "A work soon deleted", partner)]
    retitle(made[0], "A work made in the well, retitled", partner)
    caught_up(base, store)
    assert mirror(base, target, QUICK).activities > 0
    same(store, target)
    mine = held(target)
    assert any("Retitled by a partner" in q and "/edit/bokbasen/work/" in q for q in mine)
    assert any(f"<{made[1]}> <{MB_STATED_IN}>" in q for q in mine)

    # 2. A writer's graph replaced, one emptied (the well's own title back), a work deleted with
    #    its writer's graph, an edited work merged into another, and changed records submitted.
    retitle(a, "Retitled again by the national library", nb)
    retitle(b, core_title(store, b), nb)
    got = HTTP.get(made[1], params={"format": "jsonld"}, timeout=30)
    gone = HTTP.delete(made[1], headers={**partner, "If-Match": got.headers["etag"]}, timeout=60)
    assert gone.status_code == 204, gone.text
    got = HTTP.get(c, params={"format": "jsonld"}, timeout=30)
    merged = HTTP.post(f"{c}/merge", json={"into": d}, headers={**nb, "If-Match": got.headers["etag"]}, timeout=60)
    assert merged.status_code == 200, merged.text
    golden = records(GOLDEN)
    submitted = b"".join(changed(r, "Changed and submitted over HTTP.").as_marc() for r in golden[:4])
    loaded = HTTP.post(f"{base}/records", params={"name": "changed.mrc"}, content=submitted, headers=nb, timeout=300)
    assert loaded.status_code == 200, loaded.text
    retitle(e, "Retitled after the submitted file", partner)
    caught_up(base, store)
    assert mirror(base, target, QUICK).activities > 0
    same(store, target)
    mine = held(target)
    assert not any(f"/edit/nb/{b[len(base) + 1:]}>" in q for q in mine)  # the emptied graph is gone
    assert not any(f"/edit/bokbasen/{made[1][len(base) + 1:]}>" in q for q in mine)  # and the deleted work's
    assert any(f"<{c}> <http://purl.org/dc/terms/isReplacedBy> <{d}>" in q for q in mine)
    assert any("Changed and submitted over HTTP." in q for q in mine)

    # 3. A mirror from empty (the dump taken before all this, then the whole feed) and one from a
    #    dump taken now agree too.
    late = tmp_path / "late"
    mirror(base, late, QUICK)
    same(store, late)
    dump(store, "nquads")
    caught_up(base, store)
    fresh = tmp_path / "fresh"
    assert mirror(base, fresh, QUICK).dump is not None
    same(store, fresh)


def test_every_statement_is_in_exactly_one_document_writer_graphs_included(well):
    base, store, keys = well
    retitle(works_of(store)[5], "Retitled to test documents", keys["nb"])
    create(base, "A work to test documents", keys["bokbasen"])
    caught_up(base, store)
    s = Store(store, read_only=True)
    try:
        subjects = {q.subject.value for q in s._store.quads_for_pattern(None, None, None, ox.DefaultGraph())}
        manifestations = {r["m"].value for r in s.query(f"SELECT DISTINCT ?m WHERE {{ ?m a <{T.C_MANIFESTATION}> }}")}
        found = documents(s, sorted(subjects | manifestations))
    finally:
        s.close()
    lines: list[str] = []
    for doc in found:
        lines += [str(q) for q in ox.parse(doc.nquads.encode(), format=ox.RdfFormat.N_QUADS)] if doc.nquads else []
    assert len(lines) == len(set(lines)), "a statement is in two documents"
    want = {q for q in comparable(store) if f"<{LABELS_GRAPH}>" not in q}
    assert set(lines) == want
    assert any("/edit/bokbasen/work/" in q for q in lines) and any("/edit/nb/work/" in q for q in lines)


def test_a_mirror_refuses_a_document_with_a_graph_its_core_does_not_link(tmp_path):
    from metadatabronn.errors import MirrorError

    m = MirrorStore(tmp_path / "m")
    try:
        iri, g = "http://example.org/work/1", "http://example.org/edit/nb/work/1"
        linked = (f"<{iri}> <{T.RDF_TYPE}> <{T.C_WORK}> .\n<{iri}> <{MB_STATED_IN}> <{g}> .\n"
                  f'<{iri}> <{T.W_PREFERRED_TITLE}> "New" <{g}> .\n')
        m.apply([Document(iri, None, linked)])
        assert len(m) == 3
        unlinked = f"<{iri}> <{T.RDF_TYPE}> <{T.C_WORK}> .\n" + f'<{iri}> <{T.W_PREFERRED_TITLE}> "New" <{g}> .\n'
        with pytest.raises(MirrorError, match="outside its graphs"):
            m.apply([Document(iri, None, unlinked)])
        m.apply([Document(iri, None, f"<{iri}> <{T.RDF_TYPE}> <{T.C_WORK}> .\n")])  # the link and its graph go
        assert len(m) == 1
    finally:
        m.close()


def test_a_merge_reaches_the_writer_graphs_of_other_entities_that_name_the_merged_one(well, tmp_path):
    """A writer links an expression to another work; that work is merged away. The writer's graph
    now names the survivor, and the expression whose core links the graph must be announced."""
    base, store, keys = well
    nb = keys["nb"]
    target = tmp_path / "mirror"
    mirror(base, target, QUICK)
    s = Store(store, read_only=True)
    try:
        expression, own = next((r["e"].value, r["w"].value) for r in s.query(
            f"SELECT ?e ?w WHERE {{ ?e <{T.E_WORK}> ?w FILTER NOT EXISTS {{ ?e <{MB_STATED_IN}> ?g }} }} LIMIT 1"))
    finally:
        s.close()
    x, y = [w for w in works_of(store) if w != own][-2:]
    got = HTTP.get(expression, params={"format": "jsonld"}, timeout=30)
    body = got.json()
    body["workExpressed"] = x
    put = HTTP.put(expression, content=json.dumps(body), timeout=60,
                    headers={**nb, "Content-Type": "application/ld+json", "If-Match": got.headers["etag"]})
    assert put.status_code == 200, put.text
    caught_up(base, store)
    mirror(base, target, QUICK)  # the mirror holds the writer's graph naming x
    got = HTTP.get(x, params={"format": "jsonld"}, timeout=30)
    merged = HTTP.post(f"{x}/merge", json={"into": y}, headers={**nb, "If-Match": got.headers["etag"]}, timeout=60)
    assert merged.status_code == 200, merged.text
    caught_up(base, store)
    graph = f"<{base}/edit/nb/{expression[len(base) + 1:]}>"
    assert f"<{expression}> <{T.E_WORK}> <{y}> {graph}" in comparable(store)
    mirror(base, target, QUICK)
    same(store, target)


@pytest.mark.parametrize("order", ["merged first", "survivor first"])
def test_a_writer_graph_that_moves_to_another_entity_is_held_whole_in_either_order(tmp_path, order):
    """A merge moves a writer graph's link from the merged entity to the survivor. A mirror whose
    documents are newer than the activities it follows may write the two in either order."""
    a, b, g = "http://example.org/work/a", "http://example.org/work/b", "http://example.org/edit/nb/work/a"
    typed = f"<{T.RDF_TYPE}> <{T.C_WORK}> .\n"
    before = f"<{a}> {typed}<{a}> <{MB_STATED_IN}> <{g}> .\n" + f'<{a}> <{T.W_PREFERRED_TITLE}> "Old" <{g}> .\n'
    merged = f"<{a}> {typed}<{a}> <http://purl.org/dc/terms/isReplacedBy> <{b}> .\n"
    survivor = f"<{b}> {typed}<{b}> <{MB_STATED_IN}> <{g}> .\n" + f'<{b}> <{T.W_PREFERRED_TITLE}> "Old" <{g}> .\n'
    m = MirrorStore(tmp_path / "m")
    try:
        m.apply([Document(a, None, before), Document(b, None, f"<{b}> {typed}")])
        steps = [Document(a, None, merged), Document(b, None, survivor)]
        for doc in steps if order == "merged first" else steps[::-1]:
            m.apply([doc])
        want = {str(q) for doc in (merged, survivor) for q in ox.parse(doc.encode(), format=ox.RdfFormat.N_QUADS)}
        assert comparable(m) == want
    finally:
        m.close()
