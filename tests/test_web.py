"""The served well: a real `metadatabronn serve` process on a free port, and real clients
(SPARQLWrapper, rdflib's SPARQLStore, httpx) as library systems and cataloguers use them."""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import tempfile
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pymarc
import pytest
import rdflib
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

from metadatabronn.pipeline import Settings, ingest

from .conftest import ROOT, delete_golden, on_server, plain_env
from .client import HTTP, http_client
from .netports import free_port
from .stopping import stop

GOLDEN = ROOT / "tests" / "data" / "golden" / "golden.mrc"
RDAM = "http://rdaregistry.info/Elements/m/"


@contextmanager
def server(store: Path, port: int, *extra: str, base_iri: str | None = None, env: dict | None = None):
    """``metadatabronn serve`` on ``port``; ``base_iri``: the one the store was built with
    (default: this server's address); ``env``: settings given as METADATABRONN_ variables."""
    base = f"http://127.0.0.1:{port}"
    # Its output goes to a file, not a pipe nobody reads while it runs: a server that logs more
    # than a pipe holds would block on its next line, and the test with it.
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "metadatabronn", "serve", "--store", str(store), "--port", str(port),
                             "--base-iri", base_iri or base, *extra], stdout=out, stderr=subprocess.STDOUT,
                            env=plain_env(**(env or {})))
    proc.output = out
    try:
        deadline = time.monotonic() + 90  # a busy machine can take long to start the processes
        while True:
            try:
                if HTTP.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + output(proc))
            time.sleep(0.2)
        yield base, proc
    finally:
        try:
            stop(proc, output=lambda: output(proc))
        finally:
            out.close()


def output(proc) -> str:
    """What a server started by :func:`server` has written so far."""
    proc.output.flush()
    proc.output.seek(0)
    return proc.output.read().decode(errors="replace")


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def store(tmp_path_factory, port):
    """The golden records, one of them then deleted (a tombstone)."""
    path = tmp_path_factory.mktemp("web") / "store"
    base = f"http://127.0.0.1:{port}"
    ingest([str(GOLDEN)], Settings(store=path, base=base, workers=1))
    delete_golden(path, base)
    return path



LIVE: dict = {}


@pytest.fixture(scope="module")
def live(store, port):
    with server(store, port) as (base, proc):
        LIVE["proc"] = proc
        yield base


def get(url: str, **kw) -> httpx.Response:
    return HTTP.get(url, timeout=60, **kw)


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (the server's query workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def connection(r: httpx.Response) -> tuple:
    """The client's end of the TCP connection a response came on."""
    return r.extensions["network_stream"].get_extra_info("client_addr")


# the SPARQL endpoint -----------------------------------------------------------------------

def test_sparqlwrapper_select_in_json_and_xml(live):
    client = SPARQLWrapper(f"{live}/sparql")
    client.setQuery(f"SELECT ?m ?t WHERE {{ ?m <{RDAM}P30156> ?t }} ORDER BY ?t LIMIT 5")
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]
    assert len(rows) == 5 and all(r["m"]["value"].startswith(f"{live}/manifestation/") for r in rows)
    client.setReturnFormat(XML)
    doc = client.query().convert()
    assert len(doc.getElementsByTagName("result")) == 5


def test_sparqlwrapper_construct_turtle_and_ask(live):
    client = SPARQLWrapper(f"{live}/sparql")
    client.setQuery(f"CONSTRUCT {{ ?m <{RDAM}P30156> ?t }} WHERE {{ ?m <{RDAM}P30156> ?t }}")
    client.setReturnFormat(TURTLE)
    graph = rdflib.Graph().parse(data=client.query().convert(), format="turtle")
    assert len(set(graph.subjects())) == 21  # 22 golden records, one deleted
    client.setQuery("ASK { ?s ?p ?o }")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True
    client.setQuery("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    client.setReturnFormat(CSV)
    assert client.query().convert().decode().splitlines()[0] == "s"


def test_rdflib_sparqlstore(live):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = rdflib.Graph(store=SPARQLStore(f"{live}/sparql"))
    rows = list(graph.query("SELECT (COUNT(?m) AS ?n) WHERE { ?m a <http://rdaregistry.info/Elements/c/C10007> }"))
    assert int(rows[0][0]) == 21


def test_post_form_and_post_sparql_query(live):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    form = HTTP.post(f"{live}/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"})
    direct = HTTP.post(f"{live}/sparql", content=query, headers={"Content-Type": "application/sparql-query",
                                                                 "Accept": "text/tab-separated-values"})
    assert form.status_code == direct.status_code == 200
    n = form.json()["results"]["bindings"][0]["n"]["value"]
    assert direct.headers["content-type"].startswith("text/tab-separated-values")
    assert direct.text.splitlines()[1].strip('"').startswith(n)


def test_construct_by_accept_as_jsonld_ntriples_rdfxml(live):
    query = f"CONSTRUCT {{ ?m <{RDAM}P30156> ?t }} WHERE {{ ?m <{RDAM}P30156> ?t }} LIMIT 2"
    for accept, fmt in (("application/ld+json", "json-ld"), ("application/n-triples", "nt"),
                        ("application/rdf+xml", "xml")):
        r = get(f"{live}/sparql", params={"query": query}, headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
        assert len(rdflib.Graph().parse(data=r.text, format=fmt)) == 2


def test_format_parameter_wins_over_accept(live):
    r = get(f"{live}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "format": "csv"},
            headers={"Accept": "application/sparql-results+json"})
    assert r.headers["content-type"].startswith("text/csv")


def test_syntax_error_is_400_with_position(live):
    r = get(f"{live}/sparql", params={"query": "SELECT * WHERE { ?s ?p }"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["status"], body["line"]) == (400, 1) and 20 <= body["column"] <= 26
    assert "SPARQL syntax error" in body["detail"]


@pytest.mark.parametrize("how", ["form-update", "sparql-update", "insert-as-query"])
def test_updates_are_refused(live, how):
    update = "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }"
    if how == "form-update":
        r = HTTP.post(f"{live}/sparql", data={"update": update})
    elif how == "sparql-update":
        r = HTTP.post(f"{live}/sparql", content=update, headers={"Content-Type": "application/sparql-update"})
    else:
        r = get(f"{live}/sparql", params={"query": "PREFIX x: <http://x/>\n" + update})
    assert r.status_code == 403 and r.json()["title"] == "Forbidden"
    assert get(f"{live}/sparql", params={"query": "ASK { <http://x/a> ?p ?o }"}).json()["boolean"] is False


def test_cors_and_service_description(live):
    r = get(f"{live}/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://catalogue.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    pre = HTTP.options(f"{live}/sparql", headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200
    sd = get(f"{live}/sparql", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=sd.text, format="turtle")
    sdns = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (rdflib.URIRef(f"{live}/sparql"), None) in [(o, None) for o in graph.objects(None, sdns.endpoint)]
    assert (None, sdns.supportedLanguage, sdns.SPARQL11Query) in graph


def test_default_graph_uri_limits_the_dataset(live):
    graph = f"{live}/record/DLC-00031871"
    query = "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s <http://rdaregistry.info/Elements/m/P30156> ?t }"
    one = get(f"{live}/sparql", params={"query": query, "default-graph-uri": graph}).json()
    everything = get(f"{live}/sparql", params={"query": query}).json()
    assert one["results"]["bindings"][0]["n"]["value"] == "1"
    assert everything["results"]["bindings"][0]["n"]["value"] == "21"
    named = get(f"{live}/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                          "named-graph-uri": graph}).json()
    assert [b["g"]["value"] for b in named["results"]["bindings"]] == [graph]


@contextmanager
def listener():
    """A TCP port on this machine that counts the connections made to it."""
    import threading

    calls = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            calls.append(1)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], calls
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def test_federated_queries_are_refused_without_being_run(live):
    with listener() as (port, calls):
        url = f"http://127.0.0.1:{port}/sparql"
        queries = [f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                   f"select * where {{ ?s ?p ?o . service silent <{url}> {{ ?s ?p ?o }} }}",
                   f"SELECT * WHERE {{ ?s ?p ?o FILTER(true)SERVICE<{url}>{{ ?s ?p ?o }} }}",
                   f"PREFIX : <{url}#>\nSELECT * WHERE {{ # a comment\n SERVICE:x {{ ?s ?p ?o }} }}"]
        for query in queries:
            for r in (get(f"{live}/sparql", params={"query": query}),
                      HTTP.post(f"{live}/sparql", data={"query": query}),
                      HTTP.post(f"{live}/sparql", content=query,
                                 headers={"Content-Type": "application/sparql-query"})):
                assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", query
                assert "SERVICE is not allowed here" in r.json()["detail"]
        time.sleep(0.5)
        assert calls == []
    # The word elsewhere than as the keyword: a variable, prefixed names, a string, an IRI, a comment.
    ordinary = ('PREFIX ex: <http://example.org/SERVICE/>\n'
                'SELECT ?service WHERE { ?service ?p ?o FILTER(?o != "SERVICE <http://x> {}" '
                '&& ?p NOT IN (ex:service, <http://example.org/service>, ex:SERVICE)) } # SERVICE\nLIMIT 1')
    r = get(f"{live}/sparql", params={"query": ordinary})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 1


@pytest.mark.parametrize("name,value", [("default-graph-uri", "not an iri"), ("default-graph-uri", ""),
                                        ("named-graph-uri", "bad iri")])
def test_graph_parameters_must_be_iris(live, name, value):
    for r in (get(f"{live}/sparql", params={"query": "ASK { ?s ?p ?o }", name: value}),
              HTTP.post(f"{live}/sparql", data={"query": "ASK { ?s ?p ?o }", name: value})):
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["parameter"] == name and name in r.json()["detail"]
    assert get(f"{live}/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True


def test_runaway_query_times_out_and_the_server_goes_on(store, port):
    """No wall-clock margins: the runaway is known to be running (its request is still open)
    while the other query is answered, and its 504 can come no sooner than the time limit."""
    import threading

    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    timeout = 5
    with server(store, free_port(), "--timeout", str(timeout), base_iri=f"http://127.0.0.1:{port}") as (base, proc):
        workers = children(proc.pid)
        answers, done = {}, threading.Event()

        def ask():
            answers["r"] = get(f"{base}/sparql", params={"query": runaway})
            done.set()

        started = time.monotonic()
        thread = threading.Thread(target=ask)
        thread.start()
        # Meanwhile other users are served (by the other worker): answered while the runaway's
        # request is still open.
        quick = get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"})
        assert quick.status_code == 200 and quick.json()["boolean"] is True
        assert get(f"{base}/health").status_code == 200
        early = done.is_set()  # (before the clock is read: answered by now is answered by then)
        within = time.monotonic() - started < timeout
        assert done.wait(timeout + 120)
        r = answers["r"]
        assert r.status_code == 504 and r.json()["title"] == "Query timed out", r.text
        if on_server() and "will not run it within its time limit" in r.json()["detail"]:
            # Virtuoso estimates the product's cost and refuses it before it runs: the answer of
            # a query over the limit, at once, and no worker to replace.
            assert children(proc.pid) == workers
            return
        # (On a machine so busy that those two answers took longer than the time limit, the
        # runaway may have been stopped meanwhile; the rest of the test holds either way.)
        assert not (early and within), "the runaway was answered before a quick query: it did not run away"
        assert time.monotonic() - started >= timeout
        # The stopped worker was replaced: queries still run, on as many workers as before.
        assert get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True
        now = children(proc.pid)
        assert len(now) == len(workers) and now != workers


def test_result_size_limit(store, port):
    with server(store, free_port(), "--max-result-bytes", "2000", base_iri=f"http://127.0.0.1:{port}") as (base, _):
        r = get(f"{base}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
        assert r.status_code == 413 and "LIMIT" in r.json()["detail"]
        assert get(f"{base}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 2"}).status_code == 200


def test_sigterm_stops_the_server_cleanly(store, port):
    with server(store, free_port(), base_iri=f"http://127.0.0.1:{port}") as (base, proc):
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then exits by the signal it received, as a service manager expects.
        assert proc.wait(15) in (0, -signal.SIGTERM)
        log = output(proc)
        assert "Traceback" not in log and "Error" not in log


# hostile requests: a 400 (or an SRU diagnostic), the workers alive, the connection kept -------

DEEP = 10_000


@pytest.mark.parametrize("query", [
    "SELECT * WHERE " + "{ " * DEEP + "?s ?p ?o" + " }" * DEEP,
    "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * DEEP + "?o" + ")" * DEEP + ") }",
    "ASK { FILTER(" + "!" * DEEP + "true) }",
    "SELECT * WHERE { ?s " + "^" * DEEP + "<http://x/p> ?o }",
], ids=["groups", "filter-parentheses", "negations", "inverse-paths"])
def test_deeply_nested_sparql_is_a_400_and_the_workers_live(live, query):
    proc = LIVE["proc"]
    workers = children(proc.pid)
    assert workers
    with http_client(timeout=60) as client:
        first = client.post(f"{live}/sparql", content=query, headers={"Content-Type": "application/sparql-query"})
        assert first.status_code == 400 and first.headers["content-type"] == "application/problem+json"
        body = first.json()
        assert body["title"] == "Query too complex" and "deep; at most 100" in body["detail"]
        form = client.post(f"{live}/sparql", data={"query": query})
        assert form.status_code == 400 and form.json()["title"] == "Query too complex"
        after = client.get(f"{live}/sparql", params={"query": "ASK { ?s ?p ?o }"})
        assert after.json()["boolean"] is True
        assert connection(first) == connection(form) == connection(after)
    assert children(proc.pid) == workers


def test_sparqlwrapper_gets_the_400_of_a_deep_query(live):
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    client = SPARQLWrapper(f"{live}/sparql")
    client.setQuery("SELECT * WHERE " + "{ " * DEEP + "?s ?p ?o" + " }" * DEEP)
    client.setMethod("POST")
    client.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed, match="deep"):
        client.query()


def test_long_chains_of_operators_do_not_end_a_worker(live):
    """Not nested in brackets, yet as deep for the parser: 20,000 terms in a row, each one
    level deeper, beyond what a parser on an ordinary stack survives. The worker parses it on
    its larger stack and answers."""
    proc = LIVE["proc"]
    workers = children(proc.pid)
    query = "SELECT * WHERE { ?s ?p ?o FILTER(" + " || ".join(["false"] * 20_000) + ") } LIMIT 1"
    r = HTTP.post(f"{live}/sparql", data={"query": query}, timeout=120)
    if on_server() and r.status_code == 400:  # a server may refuse what it cannot compile: said as a problem
        assert "SPARQL server" in r.json()["detail"]
    else:
        assert r.status_code == 200 and r.json()["results"]["bindings"] == []
    assert children(proc.pid) == workers


def test_a_query_over_the_size_limit_is_a_400(live):
    query = "SELECT * WHERE { ?s ?p ?o } # " + "x" * 1_000_001
    r = HTTP.post(f"{live}/sparql", content=query, headers={"Content-Type": "application/sparql-query"}, timeout=60)
    assert r.status_code == 400 and "at most 1,000,000" in r.json()["detail"]


@pytest.mark.parametrize("query,code", [
    ("(" * DEEP + "title=heroin" + ")" * DEEP, "10"),
    (" and ".join(["title=heroin"] * 2_000), "38"),
    (" or ".join(["(" * 30 + "title=heroin" + ")" * 30] * 150), "38"),
])
def test_deep_cql_is_an_sru_diagnostic(live, query, code):
    with http_client(timeout=60) as client:
        r = client.get(f"{live}/sru", params={"operation": "searchRetrieve", "version": "1.2", "query": query})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
        assert f"<uri>info:srw/diagnostic/1/{code}</uri>" in r.text and "<numberOfRecords>0<" in r.text
        fine = client.get(f"{live}/sru", params={"query": "(" * 30 + "title=heroin" + ")" * 30})
        assert "<numberOfRecords>1</numberOfRecords>" in fine.text
        assert connection(r) == connection(fine)


@pytest.mark.parametrize("value", ["²", "1" * 5000, "-1"])
def test_sru_numbers_that_are_not_are_a_diagnostic(live, value):
    r = get(f"{live}/sru", params={"query": "title=heroin", "startRecord": value})
    assert r.status_code == 200 and "<uri>info:srw/diagnostic/1/6</uri>" in r.text


def test_a_huge_offset_is_a_400(live):
    work = get(_manifestation(live), params={"format": "jsonld"}).json()["workManifested"]
    work_id = work.rsplit("/", 1)[-1]
    huge = str(10 ** 30)
    with http_client(timeout=60) as client:
        answers = [client.get(f"{live}{path}", params={"offset": huge, **params}) for path, params in (
            ("/works", {"title": "heroin"}), ("/manifestations", {"isbn": "0393049973"}),
            (f"/works/{work_id}/expressions", {}), ("/works", {"title": "heroin", "offset": "1000001"}))]
        for r in answers:
            assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", r.url
            assert r.json()["parameter"] == "offset" and "at most 1,000,000" in r.json()["detail"]
        last = client.get(f"{live}/works", params={"title": "heroin", "offset": "1000000"})
        assert last.status_code == 200 and last.json()["items"] == []
        assert len({connection(r) for r in (*answers, last)}) == 1


def test_the_connection_is_kept_after_every_kind_of_error(live):
    with http_client(timeout=60) as client:
        answers = [client.get(f"{live}/work/0000000000"), client.get(f"{live}/manifestation/DLC-00030568"),
                   client.get(f"{live}/sparql", params={"query": "SELECT * WHERE { ?s ?p }"}),
                   client.post(f"{live}/sparql", content="ASK {}", headers={"Content-Type": "text/plain"}),
                   client.get(f"{live}/manifestations"), client.get(f"{live}/manifestation/DLC-00031871",
                                                                     headers={"Accept": "image/png"})]
        assert [r.status_code for r in answers] == [404, 410, 400, 415, 422, 406]
        answers.append(client.get(f"{live}/health"))
        assert answers[-1].status_code == 200
        assert len({connection(r) for r in answers}) == 1
        assert all(r.headers.get("connection", "").lower() != "close" for r in answers)


def test_busy_workers_shed_queries_with_503_and_retry_after(store, port):
    """Both query workers held by runaway queries: a query waits its turn for the queue wait
    (here 0.5 s), then is told to come back (503, Retry-After); entities are served meanwhile."""
    import threading

    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    # The time limit is what a stop waits for (the runaways' requests are still open), and each
    # runaway that reaches it is sent again: short, so the test need not wait long at its end.
    with server(store, free_port(), "--timeout", "4", base_iri=f"http://127.0.0.1:{port}",
                env={"METADATABRONN_QUERY_WAIT": "0.5"}) as (base, _):
        held, stuck, shed, refused = [], [], None, []

        def run_away() -> None:
            r = get(f"{base}/sparql", params={"query": runaway})
            held.append(r.status_code)
            if on_server() and r.status_code == 504 and "will not run it within its time limit" in r.text:
                refused.append(r)

        deadline = time.monotonic() + 300  # generous: only a machine too busy to run the test ends it
        while shed is None and time.monotonic() < deadline:
            if refused:
                # Virtuoso refused the product on its cost estimate, at once: no worker is held by
                # it, so there is nothing to shed (the queue itself: the admission test below).
                assert refused[0].json()["title"] == "Query timed out"
                return
            # Two runaways in flight (one that was itself told to come back is sent again) ...
            stuck = [t for t in stuck if t.is_alive()]
            while len(stuck) < 2:
                stuck.append(threading.Thread(target=run_away, daemon=True))
                stuck[-1].start()
            # ... and a query that finds both workers busy once they have reached them.
            r = get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"})
            if r.status_code == 503:
                shed = r
            else:
                assert r.status_code == 200  # a worker was free: a runaway had not reached it yet
        assert shed is not None, f"no query found every worker busy; the runaways got {held}"
        assert shed.headers["retry-after"] == "1" and shed.headers["content-type"] == "application/problem+json"
        assert "busy" in shed.json()["detail"]
        assert get(f"{base}/manifestation/DLC-00031871").status_code == 200


def test_admission_is_first_come_first_served_and_sheds_past_its_wait_or_limit():
    """The queue for query workers, driven step by step in one event loop (no timing)."""
    import asyncio

    from metadatabronn.web.queries import Admission, Busy

    async def scenario():
        gate = Admission(1, wait=3600)
        await gate.acquire()  # the one worker is taken
        order = []

        async def user(name):
            await gate.acquire()
            order.append(name)
            gate.release()

        users = [asyncio.create_task(user(name)) for name in "abc"]
        await asyncio.sleep(0)
        assert gate.waiting == 3 and order == []
        gate.release()
        await asyncio.gather(*users)
        assert order == ["a", "b", "c"] and gate.free == 1
        # A request whose turn came as it was cancelled (its user left) passes the turn on.
        await gate.acquire()
        first, second = asyncio.create_task(gate.acquire()), asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        gate.release()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await second
        assert gate.free == 0 and gate.waiting == 0
        gate.release()
        # Past the wait, or past the limit of waiting requests: Busy.
        short = Admission(1, wait=0.01)
        await short.acquire()
        with pytest.raises(Busy):
            await short.acquire()
        full = Admission(1, wait=3600, limit=1)
        await full.acquire()
        queued = asyncio.create_task(full.acquire())
        await asyncio.sleep(0)
        with pytest.raises(Busy, match="1 queries are waiting"):
            await full.acquire()
        full.release()
        await queued

    asyncio.run(scenario())


# entities ----------------------------------------------------------------------------------

def _manifestation(live) -> str:
    return f"{live}/manifestation/DLC-00031871"


@pytest.mark.parametrize("accept,fmt,parse", [
    ("text/turtle", "turtle", "turtle"), ("application/n-triples", "ntriples", "nt"),
    ("application/rdf+xml", "rdfxml", "xml"), ("application/ld+json", "jsonld", "json-ld")])
def test_entity_formats_by_accept_and_parameter(live, accept, fmt, parse):
    iri = _manifestation(live)
    by_accept = get(iri, headers={"Accept": accept})
    by_param = get(iri, params={"format": fmt})
    assert by_accept.status_code == by_param.status_code == 200
    assert by_accept.headers["content-type"].startswith(accept) and by_accept.content == by_param.content
    graph = rdflib.Graph().parse(data=by_accept.text, format=parse)
    title = graph.value(rdflib.URIRef(iri), rdflib.URIRef(f"{RDAM}P30156"))
    assert str(title) == "Heroin and other poems"


def test_jsonld_uses_the_published_context(live):
    doc = get(_manifestation(live), params={"format": "jsonld"}).json()
    assert doc["@context"] == f"{live}/context.jsonld"
    assert doc["titleProper"] == "Heroin and other poems" and doc["@type"] == "Manifestation"
    context = get(f"{live}/context.jsonld")
    assert context.headers["content-type"].startswith("application/ld+json")
    assert context.json()["@context"]["titleProper"] == f"{RDAM}P30156"


def test_html_page_links_work_expressions_manifestations(live):
    page = get(_manifestation(live), headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.headers["content-type"].startswith("text/html")
    assert "Heroin and other poems" in page.text and 'href="/work/' in page.text
    assert 'href="/manifestations?isbn=9780393049978"' in page.text
    work_path = page.text.split('href="/work/', 1)[1].split('"', 1)[0]
    work = get(f"{live}/work/{work_path}", params={"format": "html"})
    assert "Expressions (1)" in work.text and 'href="/expression/' in work.text
    expression_path = work.text.split('href="/expression/', 1)[1].split('"', 1)[0]
    expression = get(f"{live}/expression/{expression_path}", params={"format": "html"})
    assert "Manifestations (1)" in expression.text and "/manifestation/DLC-00031871" in expression.text


def test_agent_page_lists_the_works_that_name_it(live):
    doc = get(_manifestation(live), params={"format": "jsonld"}).json()
    work = get(doc["workManifested"], params={"format": "jsonld"}).json()
    author = work["author"]
    page = get(author, headers={"Accept": "text/html"})
    assert "Named by (" in page.text and "Heroin and other poems" in page.text and "author" in page.text


def test_manifestation_as_marc(live):
    xml = get(_manifestation(live), headers={"Accept": "application/marcxml+xml"})
    assert xml.headers["content-type"].startswith("application/marcxml+xml")
    (record,) = pymarc.parse_xml_to_array(io.BytesIO(xml.content))
    assert record["001"].data.strip() == "00031871" and record["245"]["a"].startswith("Heroin")
    iso = get(_manifestation(live), params={"format": "marc"})
    assert next(pymarc.MARCReader(iso.content))["020"]["a"] == "0393049973"
    work_path = get(_manifestation(live), params={"format": "jsonld"}).json()["workManifested"]
    assert get(work_path, params={"format": "marc"}).status_code == 406


def test_unknown_is_404_and_deleted_is_410(live):
    missing = get(f"{live}/work/0000000000")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    assert get(f"{live}/work/not%20an%20id").status_code == 404
    gone = get(f"{live}/manifestation/DLC-00030568")
    assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["deleted"].startswith("20")


def test_etag_and_last_modified_give_304(live):
    first = get(_manifestation(live))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert get(_manifestation(live), headers={"If-None-Match": etag}).status_code == 304
    assert get(_manifestation(live), headers={"If-Modified-Since": modified}).status_code == 304
    assert get(_manifestation(live), headers={"If-None-Match": 'W/"other"'}).status_code == 200
    other = get(_manifestation(live), headers={"Accept": "application/n-triples"})
    assert other.headers["etag"] != etag


def test_accept_naming_only_formats_not_offered_is_406(live):
    for accept in ("image/png", "image/*", "application/pdf, image/png;q=0.5"):
        r = get(_manifestation(live), headers={"Accept": accept})
        assert r.status_code == 406 and r.headers["content-type"] == "application/problem+json", accept
        assert "Accept" in r.json()["detail"]
    assert get(f"{live}/record/DLC-00031871", headers={"Accept": "image/png"}).status_code == 406
    for accept, media in (("*/*", "text/turtle"), ("image/png, */*;q=0.1", "text/turtle"),
                          ("text/*", "text/turtle"), ("application/json", "application/ld+json"),
                          ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
                           "text/html")):
        r = get(_manifestation(live), headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), accept
    with http_client(timeout=30) as client:
        del client.headers["accept"]
        r = client.get(_manifestation(live))
        assert r.request.headers.get("accept") is None
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")


def test_head_answers_as_get_does_without_a_body(live):
    work = get(_manifestation(live), params={"format": "jsonld"}).json()["workManifested"]
    paths = ["/", "/query", "/health", "/context.jsonld", "/manifestation/DLC-00031871", work[len(live):],
             "/manifestations?isbn=0393049973", "/works?title=heroin", "/record/DLC-00031871",
             f"/works/{work.rsplit('/', 1)[-1]}/expressions"]
    for path in paths:
        full, head = get(f"{live}{path}"), HTTP.head(f"{live}{path}", timeout=30)
        assert full.status_code == head.status_code == 200, path
        assert head.content == b""
        for header in ("content-type", "content-length", "etag", "last-modified", "link"):
            assert head.headers.get(header) == full.headers.get(header), (path, header)
    assert HTTP.head(f"{live}/work/0000000000").status_code == 404
    assert HTTP.head(f"{live}/manifestation/DLC-00030568").status_code == 410


def test_record_graph_dereferences_with_its_provenance(live):
    from rdflib.compare import isomorphic

    record = f"{live}/record/DLC-00031871"
    mb, dcterms = "https://w3id.org/metadatabronn/ns#", "http://purl.org/dc/terms/"
    r = get(record)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=r.text, format="turtle")
    g = rdflib.URIRef(record)
    assert graph.value(g, rdflib.URIRef(f"{mb}describes")) == rdflib.URIRef(_manifestation(live))
    assert str(graph.value(g, rdflib.URIRef(f"{dcterms}source"))).endswith("golden.mrc")
    assert graph.value(g, rdflib.URIRef("http://www.w3.org/ns/prov#generatedAtTime")) is not None
    assert str(graph.value(rdflib.URIRef(_manifestation(live)), rdflib.URIRef(f"{RDAM}P30156"))) == \
        "Heroin and other poems"
    # Exactly the record graph's statements, as the SPARQL endpoint has them.
    count = get(f"{live}/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{record}> {{ ?s ?p ?o }} }}"})
    assert len(graph) == int(count.json()["results"]["bindings"][0]["n"]["value"])
    for accept, parse in (("application/ld+json", "json-ld"), ("application/n-triples", "nt"),
                          ("application/rdf+xml", "xml")):
        other = get(record, headers={"Accept": accept})
        assert other.status_code == 200 and other.headers["content-type"].startswith(accept)
        assert isomorphic(rdflib.Graph().parse(data=other.text, format=parse), graph), accept
    assert get(record, params={"format": "ntriples"}).content == get(record, headers={
        "Accept": "application/n-triples"}).content
    assert get(record, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    missing = get(f"{live}/record/DLC-99999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    gone = get(f"{live}/record/DLC-00030568")
    assert gone.status_code == 410 and gone.json()["deleted"].startswith("20")
    assert get(record, params={"format": "html"}).status_code == 406


# look-ups ----------------------------------------------------------------------------------

@pytest.mark.parametrize("isbn", ["0393049973", "0-393-04997-3", "9780393049978", "978-0-393-04997-8"])
def test_isbn_lookup_in_any_form(live, isbn):
    r = get(f"{live}/manifestations", params={"isbn": isbn})
    assert [i["iri"] for i in r.json()["items"]] == [_manifestation(live)]


@pytest.mark.parametrize("isbn", ["1558994912", "9781558994911"])
def test_lookups_leave_deleted_manifestations_out(live, isbn):
    assert get(f"{live}/manifestation/DLC-00030568").status_code == 410
    r = get(f"{live}/manifestations", params={"isbn": isbn})
    assert r.status_code == 200 and r.json()["items"] == []


def test_bad_isbn_is_a_problem(live):
    r = get(f"{live}/manifestations", params={"isbn": "0393049974"})
    assert r.status_code == 400 and "not a valid ISBN" in r.json()["detail"]
    r = get(f"{live}/manifestations")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["where"] == "query.isbn"


def test_works_by_title_creator_language_and_down_the_chain(live):
    found = get(f"{live}/works", params={"title": "heroin", "creator": "Smith", "language": "eng"}).json()["items"]
    assert [w["label"] for w in found] == ["Heroin and other poems"]
    assert get(f"{live}/works", params={"title": "heroin", "language": "fre"}).json()["items"] == []
    work_id = found[0]["path"].rsplit("/", 1)[-1]
    expressions = get(f"{live}/works/{work_id}/expressions").json()["items"]
    assert [e["languages"] for e in expressions] == [["eng"]]
    expression_id = expressions[0]["path"].rsplit("/", 1)[-1]
    manifestations = get(f"{live}/expressions/{expression_id}/manifestations").json()["items"]
    assert [m["iri"] for m in manifestations] == [_manifestation(live)]
    assert get(f"{live}/works").status_code == 400


def test_paging_with_link_headers(live):
    first = get(f"{live}/works", params={"title": "the", "limit": 2})
    body = first.json()
    assert len(body["items"]) == 2 and body["next"]
    assert 'rel="next"' in first.headers["link"] and 'rel="prev"' not in first.headers["link"]
    second = get(f"{live}{body['next']}")
    assert 'rel="prev"' in second.headers["link"]
    assert {i["iri"] for i in second.json()["items"]}.isdisjoint({i["iri"] for i in body["items"]})


# the API surface ---------------------------------------------------------------------------

def test_openapi_lists_every_route_and_docs_are_served(live):
    spec = get(f"{live}/openapi.json").json()
    for path in ("/sparql", "/health", "/manifestations", "/works", "/works/{id}/expressions",
                 "/expressions/{id}/manifestations", "/work/{id}", "/manifestation/{id}", "/context.jsonld",
                 "/record/{id}"):
        assert path in spec["paths"], path
    assert get(f"{live}/docs").status_code == 200
    # Each operation its own id, as OpenAPI requires (client generators name methods by it).
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    writes = spec["paths"]["/work/{id}"]
    assert set(writes) == {"get", "put", "patch", "delete"} and writes["put"]["tags"] == ["Writes"]


def test_an_entitys_routes_come_before_every_other_route(store):
    """Matched in order at a few µs a route: each kind's GET and its writes are tried first."""
    from metadatabronn.web import create_app
    from metadatabronn.web.entities import KINDS

    app = create_app(store, "http://example.org")
    first = next(r for r in app.router.routes if hasattr(r, "original_router"))
    paths = [(r.path, sorted(r.methods)) for r in first.original_router.routes]
    assert paths == [(f"/{kind}/{{id}}", methods) for kind in KINDS
                     for methods in (["GET"], ["HEAD"], ["PUT"], ["PATCH"], ["DELETE"])]


def test_health_reports_the_store_and_counts(live, store):
    health = get(f"{live}/health").json()
    assert health["status"] == "ok" and health["store"] == str(store)
    assert health["counts"]["manifestations"] == 21 and health["counts"]["works"] > 0


def test_unknown_route_is_a_problem_document(live):
    r = get(f"{live}/nothing/here")
    assert r.status_code == 404 and set(r.json()) >= {"type", "title", "status", "detail", "instance"}


def test_serve_refuses_a_missing_store_and_bad_settings(tmp_path, store, monkeypatch, capsys):
    from metadatabronn.cli import main

    assert main(["serve", "--store", str(tmp_path / "nothing")]) == 1
    assert "no store at" in capsys.readouterr().err
    monkeypatch.setenv("METADATABRONN_QUERY_TIMEOUT", "soon")
    assert main(["serve", "--store", str(store)]) == 1
    assert "--timeout must be a number, got 'soon'" in capsys.readouterr().err
    monkeypatch.delenv("METADATABRONN_QUERY_TIMEOUT")
    assert main(["serve", "--store", str(store), "--timeout", "0"]) == 1
    assert "--timeout must be more than 0" in capsys.readouterr().err


def test_the_server_shows_an_ingest_made_while_it_runs(tmp_path):
    """Ingest writes while the server reads; once the store is quiet again, the server, its
    SPARQL workers and its harvesting index show the new record, without a restart."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    with open(GOLDEN, "rb") as fh:
        records = list(pymarc.MARCReader(fh))
    first, later = tmp_path / "first.mrc", tmp_path / "later.mrc"
    first.write_bytes(b"".join(r.as_marc() for r in records[:-1]))
    later.write_bytes(records[-1].as_marc())
    newcomer = f"{base}/manifestation/DLC-{records[-1]['001'].data.strip()}"
    ingest([str(first)], Settings(store=store, base=base, workers=1))
    count = "SELECT (COUNT(?m) AS ?n) WHERE { ?m a <http://rdaregistry.info/Elements/c/C10007> }"
    with server(store, port, "--refresh", "0.5") as (url, _):
        assert get(newcomer).status_code == 404
        def n() -> str:
            r = get(f"{url}/sparql", params={"query": count})
            assert r.status_code == 200, r.text
            return r.json()["results"]["bindings"][0]["n"]["value"]

        assert n() == "21"
        ingest([str(later)], Settings(store=store, base=base, workers=1))
        deadline = time.monotonic() + 90  # generous: the behaviour, not the speed, is tested here
        while get(newcomer).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert get(newcomer).status_code == 200
        # On a server an entity is read live, and may show before the snapshot the counts come
        # from is opened again: the counts follow within the same bound.
        manifestations = lambda: get(f"{url}/health").json()["counts"]["manifestations"]  # noqa: E731
        while manifestations() != 22 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert manifestations() == 22
        while n() != "22" and time.monotonic() < deadline:
            time.sleep(0.3)
        assert n() == "22"
        listed = HTTP.get(f"{url}/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "marc21"}).text
        assert newcomer.rsplit("/", 1)[-1] in listed


def test_a_record_too_long_for_iso2709_is_a_406_that_points_to_marcxml(tmp_path):
    # Possible in MARCXML input: 15 notes of 7,000 characters make a record over 99,999 bytes.
    from fastapi.testclient import TestClient

    from metadatabronn.web import create_app

    notes = "".join(f'<datafield tag="500" ind1=" " ind2=" "><subfield code="a">Note {i}: {"x" * 7000}</subfield>'
                    "</datafield>" for i in range(15))
    xml = tmp_path / "long.xml"
    xml.write_text('<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000cam a2200000 a 4500'
                   '</leader><controlfield tag="001">LONG1</controlfield><controlfield tag="003">XX</controlfield>'
                   '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">A long record.</subfield></datafield>'
                   f"{notes}</record></collection>", encoding="utf-8")
    store = tmp_path / "store"
    assert ingest([str(xml)], Settings(store=store, base="http://example.org", workers=1)).records_stored == 1
    with TestClient(create_app(store, "http://example.org")) as client:
        iso = client.get("/manifestation/XX-LONG1", params={"format": "marc"})
        assert iso.status_code == 406 and iso.headers["content-type"] == "application/problem+json"
        assert "99,999" in iso.json()["detail"] and iso.json()["alternate"] == "marcxml"
        as_xml = client.get("/manifestation/XX-LONG1", params={"format": "marcxml"})
        assert as_xml.status_code == 200 and len(as_xml.content) > 99_999


def test_a_view_whose_files_the_writer_removed_is_reopened_and_a_read_answered_from_the_fresh_one():
    """The writer compacted the store under the server's read-only view: the request that met a
    missing file has a fresh view opened at once. A GET is answered again from it; one that
    meets a missing file twice, or a write, is answered 503 with Retry-After (not a 500 with a
    traceback)."""
    import asyncio

    from metadatabronn.web.problems import FilesGone

    reopened = []

    class Well:
        def lost_files(self):
            reopened.append("lost")

        def refresh_if_changed(self, app):
            reopened.append("opened")
            return True

    class App:
        state = type("State", (), {"well": Well()})()

    def failing(times: int):
        calls = []

        async def endpoint(scope, receive, send):
            calls.append(await receive())
            if len(calls) <= times:
                raise OSError("IO error: No such file or directory: While open a file for random read: "
                              "store/000321.sst")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"fresh"})

        return endpoint, calls

    async def receive():
        return {"type": "http.request", "body": b"the body"}

    def scope(method):
        return {"type": "http", "method": method, "path": "/documents", "raw_path": b"/documents",
                "query_string": b"", "headers": [], "app": App(), "server": ("127.0.0.1", 80), "scheme": "http",
                "root_path": ""}

    def run(endpoint, method):
        sent = []

        async def send(message):
            sent.append(message)

        asyncio.run(FilesGone(endpoint)(scope(method), receive, send))
        return sent

    endpoint, calls = failing(1)
    sent = run(endpoint, "GET")
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"fresh"
    assert reopened == ["lost", "opened"]
    assert [c["body"] for c in calls] == [b"the body", b"the body"]  # the retry reads the request as it came

    for method, times, opened in (("GET", 2, 2), ("PUT", 1, 1)):
        reopened.clear()
        endpoint, calls = failing(times)
        sent = run(endpoint, method)
        assert sent[0]["status"] == 503 and (b"retry-after", b"1") in sent[0]["headers"], method
        assert reopened == ["lost", "opened"] * opened and len(calls) == opened, method

    async def broken(scope, receive, send):
        raise OSError("another error")

    with pytest.raises(OSError, match="another error"):
        asyncio.run(FilesGone(broken)(scope("GET"), receive, lambda m: None))


def test_a_served_app_hands_what_start_up_made_to_the_collector_as_permanent(store, port, monkeypatch):
    # A full collection walked the start-up's objects again in whichever request set it off
    # (70-100 ms at 250,000 records). serve's app freezes them; an app a test builds does not.
    import gc

    from fastapi.testclient import TestClient

    from metadatabronn.web import app_from_environment, create_app

    gc.unfreeze()
    try:
        with TestClient(create_app(store, f"http://127.0.0.1:{port}", refresh=0)) as client:
            assert client.get("/health").status_code == 200
            assert gc.get_freeze_count() == 0
        monkeypatch.setenv("METADATABRONN_STORE", str(store))
        monkeypatch.setenv("METADATABRONN_BASE_IRI", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("METADATABRONN_REFRESH", "0")
        with TestClient(app_from_environment()) as client:
            assert client.get("/health").status_code == 200
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
