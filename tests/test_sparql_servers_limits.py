"""How much Virtuoso 7 takes in one request and gives back in one answer, beside pyoxigraph:
the 10000-row cap on results and what paging past it does, the size of one ``INSERT DATA``, and
the Graph Store Protocol endpoints (see docs/sparql-servers.md)."""

from __future__ import annotations

import httpx
import pyoxigraph as ox
import pytest

from .test_sparql_servers import XSD, v_ok, v_results, v_rows, v_update
from .client import HTTP

pytestmark = pytest.mark.remote


@pytest.fixture
def ox_store(tmp_path):
    return ox.Store(str(tmp_path / "ox"))


def test_virtuoso_cuts_results_at_10000_rows_and_offset_past_them_needs_care(virtuoso_clean):
    v = virtuoso_clean
    body = "\n".join(f"<urn:x:s{i}> <urn:x:p> {i} ." for i in range(10_050)).encode()
    r = HTTP.put(v.graph_store_url, params={"graph-uri": "urn:g:big"}, content=body,
                  headers={"Content-Type": "text/turtle"}, timeout=300)
    assert r.status_code == 201
    assert v_rows(v, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:g:big> { ?s ?p ?o } }") == [
        {"n": f'"10050"^^<{XSD}integer>'}]
    q = "SELECT ?s WHERE { GRAPH <urn:g:big> { ?s ?p ?o } }"

    def get(query):
        r = v_results(v, query)
        return r.status_code, r.headers.get("x-sparql-maxrows"), (
            len(r.json()["results"]["bindings"]) if r.status_code == 200 else r.text)

    # Cut without an error: only a header says so (ResultSetMaxRows in virtuoso.ini).
    assert get(q) == (200, "10000", 10_000)
    assert get(q + " LIMIT 20000") == (200, "10000", 10_000)
    # Without ORDER BY, LIMIT/OFFSET pages on past the cap.
    assert get(q + " LIMIT 100 OFFSET 10000") == (200, None, 50)
    # With ORDER BY, OFFSET alone past the cap gives nothing (no error); with LIMIT an error.
    assert get(q + " ORDER BY ?s OFFSET 10000") == (200, None, 0)
    status, _, text = get(q + " ORDER BY ?s LIMIT 100 OFFSET 9950")
    assert status == 500 and "SR353" in text and "Only 10000 are allowed" in text
    # The ordering in a subquery, the paging outside it, goes past the cap.
    sub = f"SELECT ?s WHERE {{ {{ {q} ORDER BY ?s }} }} LIMIT 100 OFFSET 10000"
    assert get(sub) == (200, None, 50)
    # CONSTRUCT and the Graph Store Protocol's GET are cut too.
    nt = v_results(v, "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <urn:g:big> { ?s ?p ?o } }",
                   accept="application/n-triples").text
    assert len([line for line in nt.splitlines() if line.strip()]) < 10_050
    got = HTTP.get(v.graph_store_url, params={"graph-uri": "urn:g:big"}, timeout=120)
    assert got.status_code == 200
    assert len(list(ox.parse(got.content, format=ox.RdfFormat.TURTLE))) < 10_050


# --- writing much ----------------------------------------------------------------------------

def _insert(n: int, prefix: str = "") -> str:
    data = " ".join(f'<urn:x:s{i}> <urn:x:p> "value {i}" .' for i in range(n))
    return f"{prefix}INSERT DATA {{ GRAPH <urn:g:z> {{ {data} }} }}"


def test_insert_data_virtuoso_refuses_more_than_about_1400_triples(virtuoso_clean, ox_store):
    v = virtuoso_clean
    v_ok(v, _insert(1400))
    r = v_update(v, _insert(1500))
    assert r.status_code == 400 and "exceeded 10000 lines of code" in r.text
    # Virtuoso's own pragma lifts that limit; its parser then stops a little under 5000 triples.
    v_ok(v, _insert(4900, "define sql:big-data-const 1 "))
    r = v_update(v, _insert(5000, "define sql:big-data-const 1 "))
    assert r.status_code == 400 and "memory exhausted" in r.text
    assert v_rows(v, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:g:z> { ?s ?p ?o } }") == [
        {"n": f'"4900"^^<{XSD}integer>'}]  # the refused ones wrote nothing
    ox_store.update(_insert(20_000))
    assert len(ox_store) == 20_000


def test_virtuoso_graph_store_protocol_open_for_anonymous_writes_once_update_is_granted(virtuoso_clean):
    v = virtuoso_clean
    turtle = "\n".join(f'<urn:x:s{i}> <urn:x:p> "value {i}" .' for i in range(5_000)).encode()
    put = HTTP.put(v.graph_store_url, params={"graph-uri": "urn:g:gsp"}, content=turtle,
                    headers={"Content-Type": "text/turtle"}, timeout=300)
    assert put.status_code == 201  # more than INSERT DATA takes (below)
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:g:gsp> { ?s ?p ?o } }"
    post = HTTP.post(v.graph_store_url, params={"graph-uri": "urn:g:gsp"}, content=b'<urn:x:s> <urn:x:p> "more" .',
                      headers={"Content-Type": "text/turtle"})
    assert post.status_code == 200
    get = HTTP.get(v.graph_store_url, params={"graph-uri": "urn:g:gsp"}, timeout=120)
    assert get.status_code == 200 and get.headers["content-type"].startswith("text/turtle")
    assert v_rows(v, count) == [{"n": f'"5001"^^<{XSD}integer>'}]
    assert len(list(ox.parse(get.content, format=ox.RdfFormat.TURTLE))) == 5_001
    # graph= (the protocol's own name for it) works as well as Virtuoso's graph-uri=
    assert HTTP.put(v.graph_store_url, params={"graph": "urn:g:gsp2"}, content=b"<urn:x:s> <urn:x:p> 1 .",
                     headers={"Content-Type": "text/turtle"}).status_code == 201
    assert HTTP.delete(v.graph_store_url, params={"graph-uri": "urn:g:gsp"}, timeout=300).status_code == 200
    assert HTTP.get(v.graph_store_url, params={"graph-uri": "urn:g:gsp"}).status_code == 404
    # The -auth endpoint wants HTTP Digest.
    auth_url = v.graph_store_url + "-auth"
    r = HTTP.put(auth_url, params={"graph-uri": "urn:g:gsp3"}, content=b"<urn:x:s> <urn:x:p> 1 .",
                  headers={"Content-Type": "text/turtle"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Digest")
    r = HTTP.put(auth_url, params={"graph-uri": "urn:g:gsp3"}, content=b"<urn:x:s> <urn:x:p> 1 .",
                  headers={"Content-Type": "text/turtle"}, auth=httpx.DigestAuth("dba", "dba"))
    assert r.status_code == 201
