"""The store on a SPARQL server (Virtuoso): the backend answers as an embedded pyoxigraph store
does on the same data, and the well works end to end on it — ingest, the command line, the
server (entities, OAI-PMH, MARC export, an HTTP write in the feed), and a load cut short."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sickle import Sickle

from metadatabronn.cli import main
from metadatabronn.errors import ConfigError, StoreError
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store, remote_home
from metadatabronn.store.mirroring import comparable
from metadatabronn.store.remote import RemoteStore
from metadatabronn.store.remote_text import DEFAULT_GRAPH

from .conftest import examples, full
from .writeserver import CLIENTS, GOLDEN, SAMPLE, add_key, free_port, serving
from .client import HTTP

pytestmark = pytest.mark.remote

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
BASE = "http://localhost:8000"


@pytest.fixture(scope="session")
def sparql_server(request):
    """The test session's Virtuoso (tests/virtuoso.py), or a server already running whose
    endpoint METADATABRONN_TEST_SPARQL_URL names (emptied by the tests!)."""
    url = os.environ.get("METADATABRONN_TEST_SPARQL_URL")
    own = None if url else request.getfixturevalue("virtuoso")
    url = url or own.sparql_url

    def clear():  # every graph but the server's own, as the backend sees them
        if own is not None:  # without the transaction log: many times faster than over HTTP
            own.clear()
            return
        store = RemoteStore("sparql+" + url)
        store.clear()
        store.close()

    return SimpleNamespace(sparql_url=url, store_url="sparql+" + url, clear=clear)


@pytest.fixture
def server(sparql_server):
    sparql_server.clear()
    return sparql_server


def home_of(server, path: Path) -> Path:
    """A store home on the server: a directory with its remote.json."""
    path.mkdir(parents=True, exist_ok=True)
    remote_home.write(path, server.store_url)
    return path


# (a) the backend against pyoxigraph, on small random quad sets ----------------------------------

XSD = "http://www.w3.org/2001/XMLSchema#"
IRIS = [ox.NamedNode(f"http://example.org/{n}") for n in ("a", "b", "ç", "d%20e")]
GRAPHS = [ox.DefaultGraph(), ox.NamedNode("http://example.org/g1"), ox.NamedNode("http://example.org/g2")]
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
LITERALS = st.one_of(
    _text.map(ox.Literal),
    st.tuples(_text, st.sampled_from(["en", "EN-us", "de-CH", "fr"])).map(lambda t: ox.Literal(t[0], language=t[1])),
    # Not 0 or 1: to Virtuoso these are the booleans' values, one and the same (docs/sparql-servers.md).
    st.integers(-10**6, 10**6).filter(lambda n: n not in (0, 1)).map(
        lambda n: ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))),
    st.sampled_from(["2020-01-01T00:00:00Z", "1999-12-31T23:59:59.120Z"]).map(
        lambda v: ox.Literal(v, datatype=ox.NamedNode(XSD + "dateTime"))),
    st.booleans().map(lambda b: ox.Literal("true" if b else "false", datatype=ox.NamedNode(XSD + "boolean"))),
)
QUADS = st.lists(st.builds(ox.Quad, st.sampled_from(IRIS), st.sampled_from(IRIS[:2]),
                           st.one_of(st.sampled_from(IRIS), LITERALS), st.sampled_from(GRAPHS)),
                 min_size=1, max_size=25)


def _rows(results) -> list[tuple[str, ...]]:
    names = sorted(results.variables, key=lambda v: v.value)  # SELECT * orders its columns as it likes
    return sorted(tuple(str(row[v]) if row[v] is not None else "" for v in names) for row in results)


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quads=QUADS)
def test_patterns_queries_and_updates_answer_as_pyoxigraph_does(server, quads):
    server.clear()
    remote, local = RemoteStore(server.store_url), ox.Store()
    remote.extend(quads)
    local.extend(quads)
    assert len(remote) == len(local)
    some = quads[0]
    for pattern in [(None, None, None, None), (None, None, None, ox.DefaultGraph()), (some.subject, None, None, None),
                    (None, some.predicate, some.object, None), (None, None, None, some.graph_name),
                    (some.subject, some.predicate, some.object, some.graph_name)]:
        assert sorted(map(str, remote.quads_for_pattern(*pattern))) == sorted(map(str, local.quads_for_pattern(*pattern)))
    assert sorted(g.value for g in remote.named_graphs()) == sorted(g.value for g in local.named_graphs())
    for text, kw in [("SELECT ?s ?o WHERE { ?s ?p ?o }", {}),
                     ("SELECT ?s ?o WHERE { ?s ?p ?o }", {"use_default_graph_as_union": True}),
                     ("SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } }", {}),
                     ("SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } }", {"use_default_graph_as_union": True}),
                     ("SELECT ?o WHERE { ?s ?p ?o }", {"default_graph": [ox.NamedNode("http://example.org/g1")]}),
                     ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", {}),
                     # a graph named by its IRI (Virtuoso needs it rewritten once a dataset is declared)
                     ("SELECT * WHERE { GRAPH <http://example.org/g1> { ?s ?p ?o } }", {}),
                     ("SELECT * WHERE { GRAPH <http://example.org/g1> { ?s ?p ?o } }", {"use_default_graph_as_union": True}),
                     ("SELECT ?s WHERE { ?s ?p ?o OPTIONAL { GRAPH <http://example.org/g2> { ?s ?q ?x } } }", {})]:
        answer = remote.query(text, **kw)
        assert sorted(v.value for v in answer.variables) == sorted(v.value for v in local.query(text, **kw).variables)
        assert _rows(remote.query(text, **kw)) == _rows(local.query(text, **kw)), (text, kw)
    assert bool(remote.query(f"ASK {{ {some.subject} ?p ?o }}", use_default_graph_as_union=True))
    update = (f"DELETE WHERE {{ {some.subject} ?p ?o }} ;\n"
              f"INSERT DATA {{ <http://example.org/new> <http://example.org/p> \"x\"@EN }}")
    remote.update(update)
    local.update(update)
    assert sorted(map(str, remote)) == sorted(map(str, local))


def test_the_default_graph_is_a_named_graph_on_the_server_and_the_default_graph_here(server):
    remote = RemoteStore(server.store_url)
    remote.update('INSERT DATA { <http://example.org/a> <http://example.org/p> "in the default graph" }')
    assert [q.graph_name for q in remote.quads_for_pattern(None, None, None, None)] == [ox.DefaultGraph()]
    assert list(remote.named_graphs()) == []  # the graph holding it is not one of the store's named graphs
    rows = HTTP.post(server.sparql_url, data={"query": "SELECT ?g WHERE { GRAPH ?g { ?s <http://example.org/p> ?o } }"},
                      headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == [DEFAULT_GRAPH]


def test_drop_and_clear_of_a_graph_that_holds_quads_work_as_in_pyoxigraph(server):
    """Virtuoso refuses DROP GRAPH of a graph never made by CREATE GRAPH, quads or not."""
    server.clear()
    remote, local = RemoteStore(server.store_url), ox.Store()
    data = ('INSERT DATA { GRAPH <http://example.org/g1> { <http://example.org/a> <http://example.org/p> 1 } '
            'GRAPH <http://example.org/g2> { <http://example.org/b> <http://example.org/p> 2 } }')
    for store in (remote, local):
        store.update(data)
        store.update("PREFIX ex: <http://example.org/>\nDROP GRAPH <http://example.org/g1> ;\n"
                     "clear graph <http://example.org/g2>")
    assert sorted(map(str, remote)) == sorted(map(str, local)) == []
    for store in (remote, local):
        store.update(data.replace("INSERT DATA {", "INSERT DATA { <http://example.org/d> <http://example.org/p> 3 "))
        store.update("DROP NAMED")
    assert sorted(map(str, remote)) == sorted(map(str, local)) != []
    for store in (remote, local):
        store.update("DROP ALL")
    assert sorted(map(str, remote)) == sorted(map(str, local)) == []
    assert bool(RemoteStore(server.store_url).query("ASK { }"))  # the server (its own graphs) is as before
    for store in (remote, local):  # a graph that holds nothing: refused by both
        with pytest.raises((StoreError, RuntimeError), match="never"):
            store.update("DROP GRAPH <http://example.org/never>")
    remote.update("DROP SILENT GRAPH <http://example.org/never>")


def test_look_ups_by_a_list_of_literals_name_virtuosos_object_index(server, tmp_path, monkeypatch):
    monkeypatch.setenv("METADATABRONN_REMOTE_HOME", str(tmp_path / "home"))
    """Virtuoso plans a VALUES join on objects from statistics of the store when small, and
    then reads every statement of the predicate: the look-ups name its object index."""
    server.clear()
    remote = RemoteStore(server.store_url)
    assert remote.object_index_hint == ' OPTION (TABLE_OPTION "index RDF_QUAD_POGS")'
    ingest([str(SAMPLE)], Settings(store=remote_home.resolve(server.store_url), base=BASE, workers=1))
    s = Store(remote_home.resolve(server.store_url), BASE, read_only=True)
    try:
        graph = next(iter(s.record_graphs(None)))
        digest = s.record_hash(graph)
        assert s.digests_held([digest, "0" * 64]) == {digest}
        keys = [r["k"].value for r in s.query("SELECT ?k WHERE { ?s <https://w3id.org/metadatabronn/ns#key> ?k } LIMIT 3")]
        found = s.key_iris([*keys, "work|nobody|nothing"])
        assert found["work|nobody|nothing"] is None and all(found[k] == s.key_iri(k) for k in keys)
    finally:
        s.close()


def test_a_large_write_goes_in_several_requests_and_arrives_whole(server):
    remote = RemoteStore(server.store_url)
    quads = [ox.Quad(ox.NamedNode(f"http://example.org/s{i}"), ox.NamedNode("http://example.org/p"),
                     ox.Literal(f"value {i} " * 20), ox.NamedNode(f"http://example.org/g{i % 3}")) for i in range(12_000)]
    remote.extend(quads)
    assert len(remote) == 12_000
    # read back whole, in pages of one fixed order; and so when the server's cap on an answer's
    # rows (10,000 here) is below the pages asked for
    expected = sorted(map(str, quads))
    assert sorted(map(str, remote)) == expected
    remote.page = 15_000
    assert sorted(map(str, remote)) == expected
    assert remote.page == 10_000
    # a query whose answer the server cuts at its cap is refused, not given short
    with pytest.raises(StoreError, match="at most 10,000 rows"):
        remote.query("SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert len(list(remote.query("SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?s LIMIT 10000"))) == 10_000
    # an answer cut short at the server's time limit (Virtuoso's "anytime" answer) is an error
    remote.line.retries, remote.line.backoff = 1, 0.01
    with pytest.raises(StoreError, match="time limit"):
        remote.line.query_capped("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?a ?b ?c . ?d ?b ?f . "
                                 "FILTER (STR(?c) < STR(?f)) } }", [("timeout", "200")], "application/sparql-results+xml")
    # by SPARQL Update alone (a server without the Graph Store Protocol), in chunks under its limit
    remote.clear()
    remote.line.graph_store_works = False
    remote.extend(quads[:3000])
    assert len(remote) == 3000
    assert len(list(remote.quads_for_pattern(None, None, None, None))) == 3000  # read in pages too


def test_a_syntax_error_from_the_server_is_one_line_that_counts_the_users_own_lines(server):
    """Virtuoso answers with the text it was sent, pragmas and all, after its message: the
    error keeps the message, on one line, with the line of the query as the user wrote it."""
    remote = RemoteStore(server.store_url)
    with pytest.raises(SyntaxError) as caught:
        remote.query("SELECT ?s\nWHERE { ?s ?p ?o }\nLIMTI 5")
    said = str(caught.value)
    assert "\n" not in said and "define" not in said and "SP030" in said
    assert "line 3" in said, said
    assert "error at 3:" in said  # where SPARQL's grammar stops: the server names the line alone


def test_a_read_only_store_refuses_writes_and_a_dead_server_says_so(server, monkeypatch):
    with pytest.raises(StoreError, match="read-only"):
        RemoteStore(server.store_url, read_only=True).update("CLEAR SILENT GRAPH <http://example.org/g>")
    monkeypatch.setenv("METADATABRONN_SPARQL_RETRIES", "1")
    monkeypatch.setenv("METADATABRONN_SPARQL_BACKOFF", "0")
    with pytest.raises(StoreError, match="cannot reach the SPARQL server"):
        list(RemoteStore(f"sparql+http://127.0.0.1:{free_port()}/sparql").quads_for_pattern())


# the home directory ----------------------------------------------------------------------------

def test_a_store_name_resolves_to_one_home_that_names_its_endpoint(server, tmp_path, monkeypatch):
    monkeypatch.setenv("METADATABRONN_REMOTE_HOME", str(tmp_path / "home"))
    home = remote_home.resolve(server.store_url)
    assert home == tmp_path / "home"
    assert json.loads((home / "remote.json").read_text())["endpoint"] == server.store_url
    assert remote_home.resolve(server.store_url) == home  # the second time: the same home
    with pytest.raises(ConfigError, match="belongs to the store at"):
        remote_home.resolve("sparql+http://127.0.0.1:1/sparql")
    monkeypatch.delenv("METADATABRONN_REMOTE_HOME")
    assert remote_home.home_of("sparql+http://example.org:8890/sparql") == Path("var/remote/example.org-8890-sparql")


def test_the_base_iri_is_checked_on_the_server_as_on_disk(server, tmp_path):
    home = home_of(server, tmp_path / "home")
    Store(home, "http://one.example").close()
    assert Store(home).base == "http://one.example"
    with pytest.raises(StoreError, match="minted under the base IRI http://one.example"):
        Store(home, "http://two.example")


# (b) end to end --------------------------------------------------------------------------------

def _ingest(store: Path, *files: Path, when: datetime = WHEN) -> None:
    ingest([str(f) for f in files], Settings(store=store, base=BASE, workers=1, when=when))


def _every(n: int, tmp_path: Path) -> tuple[Path, int]:
    """Every ``n``-th record of the sample from a start drawn anew each run (so that runs add up
    to the whole sample), and how many that is."""
    import random

    import pymarc
    start, count = random.randrange(n), 0
    out = tmp_path / f"every-{n}th-from-{start}.mrc"  # named in a failing assertion
    with open(SAMPLE, "rb") as fh, open(out, "wb") as w:
        for i, record in enumerate(pymarc.MARCReader(fh, force_utf8=True)):
            if i % n == start:
                w.write(record.as_marc())
                count += 1
    return out, count


def test_ingest_of_the_sample_gives_the_quads_an_embedded_store_gets(server, tmp_path):
    """The whole sample (400 records) with ``pytest --full``; every fourth record otherwise."""
    sample, count = (SAMPLE, 400) if full() else _every(4, tmp_path)
    home = home_of(server, tmp_path / "home")
    _ingest(home, sample)
    _ingest(tmp_path / "local", sample)
    remote, local = comparable(home), comparable(tmp_path / "local")
    assert len(remote) > 50 * count
    assert remote == local, sample.name
    # the store's own statements, which comparable() leaves out: one last sequence number, counts
    on_server, on_disk = Store(home, read_only=True), Store(tmp_path / "local", read_only=True)
    assert on_server.next_sequence() == on_disk.next_sequence() > count
    assert on_server.entity_counts() == on_disk.entity_counts()
    assert len(list(on_server._store.quads_for_pattern(None, None, None, ox.NamedNode(on_server.changes_graph)))) == \
        len(list(on_disk._store.quads_for_pattern(None, None, None, ox.NamedNode(on_disk.changes_graph))))
    # ingesting the same file again writes nothing new
    _ingest(home, sample)
    assert comparable(home) == local


PART = 80  # records of the sample the tests that load several times take: a load is what costs here


@pytest.fixture(scope="module")
def part(tmp_path_factory) -> Path:
    """The sample's first :data:`PART` records."""
    import pymarc
    out = tmp_path_factory.mktemp("part") / "part.mrc"
    with open(SAMPLE, "rb") as fh, open(out, "wb") as w:
        for i, record in enumerate(pymarc.MARCReader(fh, force_utf8=True)):
            if i >= PART:
                break
            w.write(record.as_marc())
    return out


def _amended(tmp_path: Path, count: int) -> Path:
    """The sample's first ``count`` records, each with a note added: a load that replaces them."""
    import pymarc
    out = tmp_path / "amended.mrc"
    with open(SAMPLE, "rb") as fh, open(out, "wb") as w:
        for i, record in enumerate(pymarc.MARCReader(fh, force_utf8=True)):
            if i >= count:
                break
            record.add_field(pymarc.Field(tag="500", indicators=pymarc.Indicators(" ", " "),
                                          subfields=[pymarc.Subfield("a", "Amended.")]))
            w.write(record.as_marc())
    return out


@pytest.mark.embedded_only("compares the loader's group look-ups on a server with one at a time on the embedded store, "
                            "which --store-server puts on a server too")
def test_a_load_that_replaces_records_asks_the_server_in_groups_and_stores_what_disk_stores(server, tmp_path, part):
    """The loader asks a store on a server about a group of records at once (their graphs'
    digests, their entities' keys and cores); what it then stores is what the embedded store,
    asked one look-up at a time, holds after the same loads."""
    amended = _amended(tmp_path, 60)
    home = home_of(server, tmp_path / "home")
    for store in (home, tmp_path / "local"):
        _ingest(store, part)
        ingest([str(amended)], Settings(store=store, base=BASE, workers=1, when=datetime(2024, 1, 3, tzinfo=timezone.utc)))
    assert comparable(home) == comparable(tmp_path / "local")
    on_server, on_disk = Store(home, read_only=True), Store(tmp_path / "local", read_only=True)
    assert on_server.batched_reads and not on_disk.batched_reads
    graphs = sorted({q.graph_name.value for q in on_disk._store.quads_for_pattern(None, None, None, None)
                     if isinstance(q.graph_name, ox.NamedNode) and "/record/" in q.graph_name.value})[:150]
    keys = sorted({q.object.value for q in on_disk._store.quads_for_pattern(None, ox.NamedNode("https://w3id.org/metadatabronn/ns#key"), None, ox.DefaultGraph())})[:150]
    entities = sorted({q.subject.value for q in on_disk._store.quads_for_pattern(None, ox.NamedNode("https://w3id.org/metadatabronn/ns#key"), None, ox.DefaultGraph())})[:150]
    for store in (on_server, on_disk):
        assert store.record_hashes(graphs + [BASE + "/record/none"]) == {g: on_disk.record_hash(g) for g in graphs}
        assert store.key_iris(keys + ["work|none"]) == {**{k: on_disk.key_iri(k) for k in keys}, "work|none": None}
        assert store.cores_held(entities + [BASE + "/work/none"]) == set(entities)


def _after_first_change_published(lines: list[bytes]) -> int:
    """The first change entry cut short after its as:published (an xsd:dateTime with a fraction
    of a second, which Virtuoso keeps through a DELETE … WHERE that binds it)."""
    first = next(i for i, line in enumerate(lines) if line.startswith(f"<{BASE}/change/".encode()))
    return first + 3  # rdf:type, as:object, as:published; not mb:sequence


@pytest.mark.parametrize("cut", [lambda lines: len(lines) // 2, _after_first_change_published],
                         ids=["half", "after-a-change-entrys-date"])
def test_a_load_cut_short_on_the_server_is_rolled_back_and_the_rerun_equals_a_clean_run(server, tmp_path,
                                                                                         monkeypatch, part, cut):
    home = home_of(server, tmp_path / "home")
    # Times with a fraction of a second, as a load's are (a change entry's as:published); the
    # rerun comes later than the load cut short, as it does.
    when, later = WHEN.replace(microsecond=647136), WHEN.replace(second=9, microsecond=336703)
    _ingest(tmp_path / "local", part, when=later)
    real = RemoteStore.bulk_load
    calls = []

    def cut_then_fail(self, input=None, format=None, **kw):
        calls.append(1)
        if len(calls) == 1:  # the first batch: some of its quads arrive, then the line drops
            text = input if isinstance(input, bytes) else input.read()
            lines = text.splitlines(keepends=True)
            real(self, b"".join(lines[: cut(lines)]), format, **kw)
            raise StoreError("the line to the server dropped")
        return real(self, input, format, **kw)

    monkeypatch.setattr(RemoteStore, "bulk_load", cut_then_fail)
    with pytest.raises(StoreError):
        _ingest(home, part, when=when)
    monkeypatch.setattr(RemoteStore, "bulk_load", real)
    assert Store(home, BASE, read_only=True).pending()  # the batch is marked as under way
    _ingest(home, part, when=later)  # rolls the batch back, then loads it whole
    assert comparable(home) == comparable(tmp_path / "local")
    # and the change log holds each entry once, whole (comparable() leaves the log out)
    store = Store(home, BASE, read_only=True)
    try:
        log = Counter((q.subject.value, q.predicate.value)
                      for q in store._store.quads_for_pattern(None, None, None, ox.NamedNode(store.changes_graph)))
    finally:
        store.close()
    assert log and set(log.values()) == {1}, [k for k, n in log.items() if n > 1][:3]


def test_the_command_line_queries_a_store_on_the_server(server, tmp_path, capsys, monkeypatch, part):
    monkeypatch.setenv("METADATABRONN_REMOTE_HOME", str(tmp_path / "home"))
    assert main(["ingest", str(part), "--store", server.store_url, "--base-iri", BASE]) == 0
    capsys.readouterr()
    text = "SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { ?m a <http://rdaregistry.info/Elements/c/C10007> }"
    assert main(["query", "--store", server.store_url, text]) == 0
    out = capsys.readouterr().out
    assert str(PART) in out, out


def _keyed(store: Path, base: str, part: Path) -> dict[str, str]:
    """A store of the golden records and the sample's first records, loaded at one fixed time
    (MARC 005 comes from it), with the write tests' API keys."""
    ingest([str(GOLDEN), str(part)], Settings(store=store, base=base, workers=1, when=WHEN))
    return {name: add_key(store / "api-keys.json", name, org, scopes)[0] for name, (org, scopes) in CLIENTS.items()}


@pytest.fixture(scope="module")
def wells(sparql_server, tmp_path_factory, part):
    """The same records served from the server and from disk, each by a real ``serve``."""
    sparql_server.clear()
    tmp = tmp_path_factory.mktemp("remote-wells")
    port_r, port_l = free_port(), free_port()
    home = home_of(sparql_server, tmp / "home")
    keys_r = _keyed(home, f"http://127.0.0.1:{port_r}", part)
    keys_l = _keyed(tmp / "local", f"http://127.0.0.1:{port_l}", part)
    with serving(home, port_r, keys_r) as remote, serving(tmp / "local", port_l, keys_l) as local:
        yield remote, local


def _iri_path(iri: str) -> str:
    return "/" + iri.split("/", 3)[3]


def test_entities_read_alike_from_both_backends(wells):
    remote, local = wells
    rows = local.sparql("SELECT ?m WHERE { ?m a <http://rdaregistry.info/Elements/c/C10007> } ORDER BY ?m LIMIT 15")
    assert len(rows) == 15
    for row in rows:
        path = _iri_path(row["m"])
        for fmt in ("nt", "marcxml"):
            a = remote.http.get(remote.base + path, params={"format": fmt})
            b = local.http.get(local.base + path, params={"format": fmt})
            assert a.status_code == b.status_code == 200, (path, a.text[:300])
            a, b = a.text.replace(remote.base, "B"), b.text.replace(local.base, "B")
            if fmt == "nt":  # the same statements; their order is each store's own
                a, b = sorted(a.splitlines()), sorted(b.splitlines())
            assert a == b, (path, fmt)


def test_oai_pmh_harvests_the_same_records(wells):
    remote, local = wells

    def harvest(base):
        return sorted((r.header.identifier.rsplit(":", 1)[1], r.raw.split("<metadata>", 1)[1])
                      for r in Sickle(f"{base}/oai", max_retries=0, timeout=120).ListRecords(
                          metadataPrefix="marc21", set="source:part.mrc"))

    a, b = harvest(remote.base), harvest(local.base)
    assert len(a) == len(b) > PART * 0.9  # those the load took
    assert [x[0] for x in a] == [x[0] for x in b]
    assert [x[1].replace(remote.base, "B") for x in a] == [x[1].replace(local.base, "B") for x in b]


def test_marc_export_gives_byte_identical_records_from_both_backends(wells, tmp_path):
    remote, local = wells
    outs = []
    for well in (remote, local):
        out = tmp_path / f"{well.base.rsplit(':', 1)[1]}.mrc"
        assert main(["export", "--store", str(well.store), "--format", "marc", "--out", str(out)]) == 0
        outs.append(out.read_bytes())
    assert len(outs[0]) > 50_000 and len(outs[0]) == len(outs[1])
    # Records go out in each store's own order of record graphs; each record is byte for byte
    # the same.
    assert sorted(outs[0].split(b"\x1d")) == sorted(outs[1].split(b"\x1d"))


def test_an_http_write_on_the_server_backend_reaches_the_feed(wells):
    remote, _ = wells
    row = remote.sparql("SELECT ?w WHERE { ?w a <http://rdaregistry.info/Elements/c/C10001> ; "
                        "<http://rdaregistry.info/Elements/w/P10061> ?a } ORDER BY ?w LIMIT 1")[0]
    doc, etag = remote.read(row["w"])
    r = remote.put(row["w"], {**doc, "preferredTitle": doc["preferredTitle"] + " (corrected)"}, etag)
    assert r.status_code == 200, r.text
    sequence = r.json()["sequence"]
    assert remote.read(row["w"])[0]["preferredTitle"].endswith("(corrected)")
    remote.refreshed(sequence)
    assert ("Update", row["w"]) in [(a["type"], a["object"]["id"]) for a in remote.changes()
                                    if a["sequence"] == sequence]


def test_a_large_load_goes_by_virtuosos_bulk_loader_where_it_is_set_up(request, server, monkeypatch, caplog):
    virtuoso = request.getfixturevalue("virtuoso")
    if virtuoso.sparql_url != server.sparql_url:
        pytest.skip("the bulk loader is tried on the tests' own Virtuoso")
    monkeypatch.setenv("METADATABRONN_VIRTUOSO_ISQL", f"127.0.0.1:{virtuoso.isql_port}")
    monkeypatch.setenv("METADATABRONN_VIRTUOSO_LOAD_DIR", str(virtuoso.load_dir))
    monkeypatch.setenv("METADATABRONN_VIRTUOSO_BULK_BYTES", "1000")
    quads = [ox.Quad(ox.NamedNode(f"http://example.org/s{i}"), ox.NamedNode("http://example.org/p"),
                     ox.Literal(f"välue {i}", language="EN"), GRAPHS[i % 3]) for i in range(2000)]
    quads.append(ox.Quad(IRIS[0], IRIS[1], ox.Literal("01", datatype=ox.NamedNode(XSD + "integer")), GRAPHS[1]))
    text = "".join(f"{q} .\n" for q in quads).encode("utf-8")
    remote, local = RemoteStore(server.store_url), ox.Store()
    with caplog.at_level("INFO", logger="metadatabronn.store.remote_bulk"):
        remote.bulk_load(input=text, format=ox.RdfFormat.N_QUADS)
    assert "by Virtuoso's loader" in caplog.text
    local.bulk_load(input=text, format=ox.RdfFormat.N_QUADS)
    assert sorted(map(str, remote)) == sorted(map(str, local))
    assert list(virtuoso.load_dir.iterdir()) == []  # the file it loaded is gone
    monkeypatch.setenv("METADATABRONN_VIRTUOSO_BULK_BYTES", str(len(text) + 1))
    caplog.clear()
    with caplog.at_level("INFO", logger="metadatabronn.store.remote_bulk"):
        remote.bulk_load(input=text, format=ox.RdfFormat.N_QUADS)  # a small load: by HTTP
    assert "by Virtuoso's loader" not in caplog.text


def test_a_query_the_server_will_not_run_in_its_time_limit_is_a_timeout_not_a_failure():
    """Virtuoso refuses a query whose estimated cost is over its limit (its words, as it said
    them to a four-way product): a timed-out query to a SPARQL user (504), a store error to
    the loader."""
    import httpx

    from metadatabronn.errors import QueryTimeout, QueryTooCostly
    from metadatabronn.store.remote_http import _failure

    said = ("Virtuoso 42000 Error The estimated execution time 84329776 (sec) exceeds the limit of 400 (sec).\n\n"
            "SPARQL query:\ndefine sql:big-data-const 0 SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }")
    exc = _failure("the query", httpx.Response(500, text=said))
    assert isinstance(exc, QueryTooCostly) and isinstance(exc, QueryTimeout) and isinstance(exc, StoreError)
    assert str(exc) == ("the query: the SPARQL server will not run it within its time limit: Virtuoso 42000 Error "
                        "The estimated execution time 84329776 (sec) exceeds the limit of 400 (sec).")
    other = _failure("the query", httpx.Response(500, text="Virtuoso 22023 Error SR008: something else"))
    assert type(other) is StoreError
