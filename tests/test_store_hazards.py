"""The store cannot be mislabelled or emptied by accident (issue 12, section 4), and a full disk
stops an ingest cleanly (section 3): one test for every hazard.

- the store records its base IRI; every command refuses another one, and uses the store's own
  when none is given; ``rebase`` is the deliberate way to change it;
- ``update`` refuses wholesale drops without ``--force`` (and keeps the change log and tombstones
  even with it), network access without ``--allow-network``, and says when it matched nothing;
- SPARQL ``FROM`` / ``FROM NAMED`` are honoured, from the command line and over HTTP;
- a full disk (a real small tmpfs where one can be mounted, and a simulated ENOSPC) stops the
  run with a clear message, and a rerun with room converges to a clean run's quads;
- ingest start-up reads a few index entries, not the store.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest

from metadatabronn.cli import main
from metadatabronn.errors import BaseMismatchError, StoreFullError
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.store import core as store_core

from .conftest import copy_store
from .test_pipeline import masked, quads  # the same store, read the same way

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "data" / "golden" / "golden.mrc"  # 22 records
SAMPLE = ROOT / "data" / "sample.mrc"  # 400 records
BASE = "http://example.org"
OTHER = "https://data.example.net"
MB = "https://w3id.org/metadatabronn/ns#"
STORE_GRAPH = MB + "store"
CHANGES = f"{BASE}/graph/changes"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
TOMBSTONE = "https://www.w3.org/ns/activitystreams#Tombstone"


# helpers ---------------------------------------------------------------------------------------

def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, *words: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("metadatabronn: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def run(paths, store: Path, base: str | None = BASE, **kw):
    return ingest([str(p) for p in paths], Settings(store=store, base=base, workers=1, **kw))


def select(capsys, store: Path, sparql: str, *extra) -> list[dict]:
    code, out, err = cli(capsys, "query", sparql, "--store", store, "--format", "json", *extra)
    assert code == 0, err
    return [{k: v["value"] for k, v in b.items()} for b in json.loads(out)["results"]["bindings"]]


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory) -> Path:
    """The golden records under BASE, then one of them deleted (a tombstone), and one work
    edited (a change-log entry of an update): copied for each test that writes."""
    store = tmp_path_factory.mktemp("golden") / "store"
    run([GOLDEN], store)
    records = list(pymarc.MARCReader(GOLDEN.read_bytes(), to_unicode=True, force_utf8=True))
    deleted = records[0]
    deleted.leader = str(deleted.leader)[:5] + "d" + str(deleted.leader)[6:]
    deletion = store.parent / "deletion.mrc"
    deletion.write_bytes(deleted.as_marc())
    run([deletion], store)
    return store


@pytest.fixture
def store(golden_store, tmp_path) -> Path:
    return copy_store(golden_store, tmp_path / "store")


def a_work(store: Path) -> str:
    s = Store(store, read_only=True)
    try:
        return next(r["w"].value for r in s.query(
            "SELECT ?w WHERE { ?w a <http://rdaregistry.info/Elements/c/C10001> } ORDER BY ?w LIMIT 1"))
    finally:
        s.close()


def change_count(store: Path) -> int:
    return sum(1 for q in quads(store) if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value == CHANGES
               and q.predicate.value == RDF_TYPE)


def tombstone_graphs(store: Path) -> set[str]:
    return {q.graph_name.value for q in quads(store) if q.predicate.value == RDF_TYPE and q.object.value == TOMBSTONE}


# the base IRI ----------------------------------------------------------------------------------

def test_a_new_store_records_the_base_it_was_made_with(store):
    s = Store(store, read_only=True)
    try:
        assert s.stored_base() == BASE == s.base
    finally:
        s.close()
    assert ox.Quad(ox.NamedNode(STORE_GRAPH), ox.NamedNode(MB + "baseIri"), ox.Literal(BASE),
                   ox.NamedNode(STORE_GRAPH)) in quads(store)


@pytest.mark.parametrize("command", [
    ["query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"],
    ["update", 'INSERT DATA { <http://example.org/work/x> <http://example.org/note> "n" }'],
    ["export", "--format", "marcxml", "-q"],
    ["serve", "--port", "8765"],
    ["validate"],
    ["ingest", str(GOLDEN), "-q", "--workers", "1"],
])
@pytest.mark.parametrize("how", ["flag", "environment"])
def test_every_command_refuses_another_base_and_changes_nothing(capsys, monkeypatch, store, command, how):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("serve started under the wrong base"))
    before = quads(store)
    extra = ["--base-iri", OTHER] if how == "flag" else []
    if how == "environment":
        monkeypatch.setenv("METADATABRONN_BASE_IRI", OTHER)
    code, out, err = cli(capsys, *command, "--store", store, *extra)
    assert code == 1
    one_line_error(err, f"minted under the base IRI {BASE}, not {OTHER}", "metadatabronn rebase")
    assert quads(store) == before


def test_without_a_base_every_command_uses_the_stores_own(capsys, monkeypatch, store, tmp_path):
    import uvicorn

    # query: the store's IRIs, not the default base's
    found = select(capsys, store, "SELECT ?m WHERE { ?m a <http://rdaregistry.info/Elements/c/C10007> }")
    assert found and all(r["m"].startswith(f"{BASE}/manifestation/") for r in found)
    # export: every record, not "0 records" as under the default base
    code, _, err = cli(capsys, "export", "--store", store, "--format", "marcxml", "--out", tmp_path / "out.xml")
    assert code == 0, err
    assert (tmp_path / "out.xml").read_text(encoding="utf-8").count("<record") >= 21
    # serve: the server is told the store's base
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(base=os.environ["METADATABRONN_BASE_IRI"]))
    code, _, err = cli(capsys, "serve", "--store", store)
    assert code == 0 and seen == {"base": BASE}
    # update: an entity of the store is recognised and logged
    work = a_work(store)
    code, out, err = cli(capsys, "update", f'INSERT DATA {{ <{work}> <http://example.org/note> "n" }}', "--store", store)
    assert code == 0, err
    assert out == "updated; 1 entities logged as changed\n"
    # ingest: records minted under the store's base
    graphs = record_graphs(store)
    s = run([GOLDEN], store, base=None)
    assert s.records_read == s.records_stored == 22
    assert record_graphs(store) == graphs  # the same graphs, none under the default base


def test_the_same_base_given_explicitly_is_accepted(capsys, store):
    code, out, err = cli(capsys, "query", "ASK { ?s ?p ?o }", "--store", store, "--format", "json",
                         "--base-iri", BASE + "/")
    assert code == 0, err
    assert json.loads(out)["boolean"] is True


@pytest.mark.embedded_only("a pyoxigraph store on disk made before the base IRI was recorded")
def test_a_store_from_before_the_base_was_recorded_takes_the_base_its_records_were_minted_under(store, caplog):
    s = ox.Store(str(store))
    s.remove_graph(ox.NamedNode(STORE_GRAPH))
    del s
    with pytest.raises(BaseMismatchError, match=f"minted under the base IRI {BASE}"):
        Store(store, OTHER)
    with caplog.at_level("WARNING"):
        s = Store(store)  # opened for writing, with no base given
        s.close()
    assert any("did not record its base IRI" in r.getMessage() and BASE in r.getMessage() for r in caplog.records)
    s = Store(store, read_only=True)
    try:
        assert s.stored_base() == BASE
    finally:
        s.close()


@pytest.mark.embedded_only("a pyoxigraph store on disk made before the base IRI was recorded")
def test_an_empty_store_from_before_adopts_the_base_it_is_first_opened_with(tmp_path):
    path = tmp_path / "store"
    s = ox.Store(str(path))
    del s
    Store(path, OTHER).close()
    s = Store(path, read_only=True)
    try:
        assert s.base == OTHER
    finally:
        s.close()
    with pytest.raises(BaseMismatchError):
        Store(path, BASE)


def oai_datestamps(store: Path, base: str) -> dict[str, str]:
    from fastapi.testclient import TestClient

    from metadatabronn.web import create_app

    with TestClient(create_app(store, base, query_workers=1, refresh=0)) as client:
        body = client.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "marc21"}).text
    import re

    return dict(re.findall(r"<identifier>([^<]+)</identifier><datestamp>([^<]+)</datestamp>", body))


def test_oai_datestamps_come_from_the_change_log_and_stay_put_across_restarts(store):
    # Under another base the change log was not found, so every record was dated by the
    # server's start; under the store's own base each is dated by its change.
    first = oai_datestamps(store, BASE)
    again = oai_datestamps(store, BASE)
    assert len(first) >= 21 and first == again
    ingested = {q.object.value[:19] + "Z" for q in quads(store) if q.predicate.value ==
                "https://www.w3.org/ns/activitystreams#published"}
    assert set(first.values()) <= ingested


def test_rebase_rewrites_every_iri_minted_under_the_base_and_keeps_the_rest(capsys, store):
    before = quads(store)
    times = sorted(q.object.value for q in before if q.predicate.value == "https://www.w3.org/ns/activitystreams#published")
    code, out, err = cli(capsys, "rebase", OTHER, "--store", store)
    assert code == 0, err
    assert f"from {BASE} to {OTHER}" in out
    after = quads(store)
    assert len(after) == len(before)
    terms = lambda qs: {t.value for q in qs for t in (q.subject, q.object, q.graph_name) if isinstance(t, ox.NamedNode)}
    assert not {t for t in terms(after) if t.startswith(BASE + "/")}
    assert {t.replace(BASE + "/", OTHER + "/", 1) for t in terms(before) if t.startswith(BASE + "/")} \
        == {t for t in terms(after) if t.startswith(OTHER + "/")}
    assert sorted(q.object.value for q in after if q.predicate.value ==
                  "https://www.w3.org/ns/activitystreams#published") == times  # datestamps do not move
    # The store now works under the new base, and refuses the old one.
    found = select(capsys, store, "SELECT ?m WHERE { ?m a <http://rdaregistry.info/Elements/c/C10007> }")
    assert found and all(r["m"].startswith(f"{OTHER}/manifestation/") for r in found)
    code, _, err = cli(capsys, "query", "ASK { ?s ?p ?o }", "--store", store, "--base-iri", BASE)
    assert code == 1
    one_line_error(err, f"minted under the base IRI {OTHER}")
    assert not store.with_name(store.name + ".rebasing").exists()
    assert not store.with_name(store.name + ".before-rebase").exists()


# update ----------------------------------------------------------------------------------------

WIPES = ["DROP ALL", "drop silent all", "CLEAR ALL", "CLEAR DEFAULT", "CLEAR NAMED",
         f"CLEAR GRAPH <{CHANGES}>", f"DROP GRAPH <{CHANGES}>", "MOVE DEFAULT TO <http://example.org/g>",
         "COPY <http://example.org/g> TO DEFAULT",
         '# a comment first\nPREFIX ex: <http://example.org/>\nINSERT DATA { ex:a ex:b "c" } ;\nCLEAR ALL']


@pytest.mark.parametrize("update", WIPES)
def test_wholesale_drops_are_refused_without_force(capsys, store, update):
    before = quads(store)
    code, _, err = cli(capsys, "update", update, "--store", store)
    assert code == 1
    one_line_error(err, "empties whole graphs", "--force")
    assert quads(store) == before


def test_drop_all_with_force_keeps_the_change_log_tombstones_and_the_base(capsys, store):
    before = quads(store)
    stones = tombstone_graphs(store)
    assert stones
    kept = {q for q in before if isinstance(q.graph_name, ox.NamedNode)
            and q.graph_name.value in {CHANGES, STORE_GRAPH, *stones}}
    code, out, err = cli(capsys, "update", "DROP ALL", "--store", store, "--force")
    assert code == 0, err
    after = quads(store)
    counts = MB + "entityCounts"  # the store's counts, taken again after the drop
    assert {q for q in after if q.predicate.value != counts} == {q for q in kept if q.predicate.value != counts}
    s = Store(store, read_only=True)
    try:
        assert s.entity_counts() == s.count_entities() == {"works": 0, "expressions": 0, "manifestations": 0,
                                                           "agents": 0}
    finally:
        s.close()
    assert change_count(store) > 0 and tombstone_graphs(store) == stones
    # The store still knows its base, and the next ingest continues its change log.
    last = max(int(q.object.value) for q in after if q.predicate.value == MB + "sequence")
    run([GOLDEN], store, base=None)
    assert min(int(q.object.value) for q in quads(store) - after if q.predicate.value == MB + "sequence") == last + 1


def test_clear_default_with_force_keeps_the_change_log(capsys, store):
    changes = change_count(store)
    code, _, err = cli(capsys, "update", "CLEAR DEFAULT", "--store", store, "--force")
    assert code == 0, err
    assert not any(isinstance(q.graph_name, ox.DefaultGraph) for q in quads(store))
    assert change_count(store) == changes


def test_keywords_inside_literals_iris_and_names_are_not_operations(capsys, store):
    work = a_work(store)
    update = (f'PREFIX ex: <http://example.org/drop/>\nINSERT DATA {{ <{work}> ex:clear "DROP ALL; LOAD <http://x>" . '
              f'<{work}> <http://example.org/service> "SERVICE" }}')
    code, out, err = cli(capsys, "update", update, "--store", store)
    assert code == 0, err
    assert out.startswith("updated;")


@pytest.mark.parametrize("update, word", [
    ("LOAD <http://example.org/data.ttl>", "LOAD"),
    ("load silent <https://example.org/data.ttl> into graph <http://example.org/g>", "LOAD"),
    ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE"),
])
def test_network_access_is_refused_without_allow_network(capsys, store, update, word):
    before = quads(store)
    code, _, err = cli(capsys, "update", update, "--store", store)
    assert code == 1
    one_line_error(err, word, "--allow-network")
    assert quads(store) == before


def test_network_access_with_allow_network_is_not_refused_by_the_well(capsys, store):
    # Nothing listens on port 9 of the loopback: the load itself fails, but it was tried.
    code, _, err = cli(capsys, "update", "LOAD <http://127.0.0.1:9/data.ttl>", "--store", store, "--allow-network")
    assert "--allow-network" not in err


def test_an_update_that_matches_nothing_says_so_and_logs_no_change(capsys, store):
    work = a_work(store)
    changes = change_count(store)
    before = quads(store)
    nothing = (f'DELETE {{ <{work}> <http://example.org/note> "absent" }} '
               f'WHERE {{ <{work}> <http://example.org/note> "absent" }}')
    code, out, err = cli(capsys, "update", nothing, "--store", store)
    assert code == 0, err
    assert "matched nothing" in out
    assert quads(store) == before and change_count(store) == changes
    # A prefixed name counts as naming the entity too.
    ns, local = work.rsplit("/", 1)
    code, out, err = cli(capsys, "update", f'PREFIX w: <{ns}/>\nINSERT DATA {{ w:{local} <http://example.org/note> "n" }}',
                         "--store", store)
    assert code == 0, err
    assert out == "updated; 1 entities logged as changed\n"
    assert change_count(store) == changes + 1


def test_a_change_elsewhere_than_the_named_iris_is_not_taken_for_nothing(capsys, store):
    # Every title proper rewritten in capitals: as many statements as before, none of them
    # about an IRI the update names, except by their predicate.
    title = "http://rdaregistry.info/Elements/m/P30156"
    code, out, err = cli(capsys, "update", f'DELETE {{ GRAPH ?g {{ ?s <{title}> ?o }} }} '
                         f'INSERT {{ GRAPH ?g {{ ?s <{title}> ?u }} }} '
                         f'WHERE {{ GRAPH ?g {{ ?s <{title}> ?o }} BIND (UCASE(?o) AS ?u) }}', "--store", store)
    assert code == 0, err
    titles = [q.object.value for q in quads(store) if q.predicate.value == title]
    assert titles and all(t == t.upper() for t in titles)
    assert out.startswith("updated;")


# FROM / FROM NAMED -----------------------------------------------------------------------------

def record_graphs(store: Path) -> list[str]:
    return sorted({q.graph_name.value for q in quads(store) if q.predicate.value == MB + "describes"})


def test_from_makes_the_default_graph_the_named_graph_only(capsys, store):
    g = record_graphs(store)[1]
    in_graph = sum(1 for q in quads(store) if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value == g)
    (row,) = select(capsys, store, f"SELECT (COUNT(*) AS ?n) FROM <{g}> WHERE {{ ?s ?p ?o }}")
    assert int(row["n"]) == in_graph
    (row,) = select(capsys, store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(row["n"]) > in_graph  # without FROM: the union of every graph


def test_from_named_limits_the_graphs_graph_can_see(capsys, store):
    first, second = record_graphs(store)[:2]
    found = select(capsys, store, f"SELECT DISTINCT ?g FROM NAMED <{first}> FROM NAMED <{second}> "
                                  f"WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")
    assert sorted(r["g"] for r in found) == [first, second]


def test_from_over_http_and_the_protocols_own_dataset_wins(store):
    from fastapi.testclient import TestClient

    from metadatabronn.web import create_app

    first, second = record_graphs(store)[:2]
    count = f"SELECT (COUNT(*) AS ?n) FROM <{first}> WHERE {{ ?s ?p ?o }}"
    size = lambda g: sum(1 for q in quads(store) if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value == g)
    with TestClient(create_app(store, BASE, query_workers=1, refresh=0)) as client:
        answer = client.get("/sparql", params={"query": count}, headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200, answer.text
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == size(first)
        named = client.post("/sparql", content=f"SELECT DISTINCT ?g FROM NAMED <{second}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
                            headers={"Content-Type": "application/sparql-query",
                                     "Accept": "application/sparql-results+json"})
        assert [b["g"]["value"] for b in named.json()["results"]["bindings"]] == [second]
        # default-graph-uri in the request overrides the query's FROM (SPARQL 1.1 Protocol 2.1.4)
        answer = client.get("/sparql", params={"query": count, "default-graph-uri": second},
                            headers={"Accept": "application/sparql-results+json"})
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == size(second)


# a full disk -----------------------------------------------------------------------------------

class _FillingStore:
    """pyoxigraph's store, but the disk fills during the ``full_at``-th bulk load: half its
    quads are written, then the write fails as the storage engine's would (ENOSPC)."""

    calls = 0
    full_at = 2

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __iter__(self):
        return iter(self._real)

    def __len__(self):
        return len(self._real)

    def bulk_load(self, input, **kw):
        type(self).calls += 1
        if type(self).calls == self.full_at:
            text = input if isinstance(input, bytes) else input.read()  # (a batch's parts, read as one)
            lines = text.splitlines(keepends=True)
            self._real.bulk_load(input=b"".join(lines[: len(lines) // 2]), **kw)
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._real.bulk_load(input=input, **kw)


@pytest.mark.embedded_only("the quads fill the disk of the store's directory; on a server they go to its disk "
                          "(a full catalogue index, on a server too: the test after this one)")
def test_a_disk_that_fills_part_way_stops_the_run_clearly_and_a_rerun_converges(tmp_path, monkeypatch, capsys):
    clean = tmp_path / "clean"
    run([SAMPLE], clean, batch_records=50)
    store = tmp_path / "store"

    class Filling(_FillingStore):
        calls = 0

    real_store = ox.Store

    class FakeOx:
        class Store:
            def __new__(cls, path=None):
                return Filling(real_store(path))

            read_only = staticmethod(real_store.read_only)

        def __getattr__(self, name):
            return getattr(ox, name)

    monkeypatch.setattr(store_core, "ox", FakeOx())
    failure = None
    try:
        run([SAMPLE], store, batch_records=50)
    except StoreFullError as exc:
        failure = str(exc)
    assert failure and "disk holding the store is full" in failure
    gc.collect()  # the simulated failure's frames held the store (a real one's do not)
    # The same through the command (one batch of 2,000 records: the first load): one line, exit 1.
    Filling.calls, Filling.full_at = 0, 1
    code, _, err = cli(capsys, "ingest", SAMPLE, "--store", tmp_path / "cli-store", "--workers", "1", "-q")
    assert code == 1
    one_line_error(err, "the disk holding the store is full", "run the same ingest again")
    monkeypatch.undo()
    gc.collect()
    # With room again: the same quads as a clean run.
    again = run([SAMPLE], store, batch_records=50)
    assert again.records_stored == again.records_read
    assert masked(store) == masked(clean)


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, text=True)
    except OSError as exc:
        pytest.skip(f"cannot mount a small filesystem here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root): {done.stderr.strip()}")


@pytest.mark.skipif(sys.platform != "linux", reason="a size-limited tmpfs is a Linux mount")
def test_ingest_into_a_real_full_filesystem_stops_clearly_and_a_rerun_with_room_converges(tmp_path, capsys):
    clean = tmp_path / "clean"
    run([SAMPLE], clean, batch_records=40)
    small = tmp_path / "small"
    _mount_tmpfs(small, "3m")
    try:
        store = small / "store"
        with pytest.raises(StoreFullError, match="disk holding the store is full"):
            run([SAMPLE], store, batch_records=40, rejects_dir=tmp_path / "rejects")
        # The store holds whole batches and a pending mark, no more.
        s = Store(store, read_only=True)
        try:
            assert s.base == BASE and s.pending()
        finally:
            s.close()
        subprocess.run(["mount", "-o", "remount,size=256m", str(small)], check=True)
        again = run([SAMPLE], store, batch_records=40, rejects_dir=tmp_path / "rejects")
        assert again.records_stored == again.records_read
        assert masked(store) == masked(clean)
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_a_full_catalogue_index_stops_the_run_clearly_and_a_rerun_converges(tmp_path, monkeypatch):
    """SQLite says a full disk in words of its own ("database or disk is full"), in a batch's
    rows or at its COMMIT: the run stops with the store's own error, and a rerun with room
    converges. The index is made full by capping its pages (PRAGMA max_page_count)."""
    from metadatabronn.store import catalogue

    clean = tmp_path / "clean"
    run([SAMPLE], clean, batch_records=40)
    opened = catalogue.Catalogue.__init__

    def capped(self, *args, **kwargs):
        opened(self, *args, **kwargs)
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count = {pages + 8}")

    monkeypatch.setattr(catalogue.Catalogue, "__init__", capped)
    store = tmp_path / "store"
    with pytest.raises(StoreFullError, match="disk holding the store is full"):
        run([SAMPLE], store, batch_records=40)
    monkeypatch.setattr(catalogue.Catalogue, "__init__", opened)
    s = Store(store, read_only=True)
    try:
        assert s.pending()  # the batch cut short is marked, to be rolled back
    finally:
        s.close()
    again = run([SAMPLE], store, batch_records=40)
    assert again.records_stored == again.records_read
    assert masked(store) == masked(clean)


# start-up --------------------------------------------------------------------------------------

def test_ingest_start_up_reads_a_few_index_entries_not_the_store(tmp_path, monkeypatch):
    """Before the first record, the loader reads what a pending load left, the base and the
    change log's last number: the same handful of statements whatever the store's size."""
    from metadatabronn.pipeline.loader import Loader

    store = tmp_path / "store"
    run([SAMPLE], store)
    read = Counter()

    class Counting:
        def __init__(self, real):
            self._real = real

        def __getattr__(self, name):
            return getattr(self._real, name)

        def quads_for_pattern(self, *pattern):
            for q in self._real.quads_for_pattern(*pattern):
                read["quads"] += 1
                yield q

        def query(self, *a, **kw):
            for row in self._real.query(*a, **kw):
                read["rows"] += 1
                yield row

    s = Store(store)
    s._store = Counting(s._store)
    loader = Loader(s, "2026-01-01T00:00:00Z")
    assert read["quads"] + read["rows"] <= 3, read
    loader.close()
    s.close()
