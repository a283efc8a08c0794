"""Dumps: the whole well in one file that states its change-feed position, as a mirror loads it
(N-Quads, JSON-LD lines, MARCXML), and the same files over HTTP from a real server."""

from __future__ import annotations

import gzip
import io
import json
import logging
import shutil
import sqlite3
import threading

import pymarc
import pyoxigraph as ox
import pytest
import rdflib

from metadatabronn.cli import main
from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.dump import dump, file_name, latest, listing, read_header
from metadatabronn.store import Store, copies
from metadatabronn.store.catchup import change_time
from metadatabronn.store.layout import STORE_GRAPH
from metadatabronn.web.context import CONTEXT
from metadatabronn.web.dumps import entity_line

from .conftest import copy_store, delete_golden
from .test_web import GOLDEN, free_port, server
from .client import HTTP


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def well(tmp_path_factory, port):
    """The golden records, one of them then deleted (a tombstone); its base is the server's."""
    path = tmp_path_factory.mktemp("dump") / "store"
    base = f"http://127.0.0.1:{port}"
    ingest([str(GOLDEN)], Settings(store=path, base=base, workers=1))
    delete_golden(path, base)
    return path


def _kept(store_path, leave_out=lambda q: False) -> set[str]:
    """The source's quads a dump carries, as N-Quads lines: all but the change log, the
    pending marks and the store's own statements (and those ``leave_out`` names)."""
    s = Store(store_path, read_only=True)
    try:
        left_out = {s.changes_graph, s.pending_graph, STORE_GRAPH}
        quads = [q for q in s._store if not (isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in left_out)
                 and not leave_out(q)]
    finally:
        s.close()
    return {str(q) for q in quads}


def _loaded(path) -> set[str]:
    fresh = ox.Store()
    with gzip.open(path, "rb") as fh:
        fresh.load(fh, format=ox.RdfFormat.N_QUADS)
    return {str(q) for q in fresh}


def _head(path) -> dict:
    with gzip.open(path, "rb") as fh:
        first = fh.readline().decode()
    assert first.startswith("# metadatabronn dump {")
    return json.loads(first[len("# metadatabronn dump "):])


def test_nquads_dump_holds_exactly_the_source_quads_but_the_bookkeeping(well, tmp_path):
    out = tmp_path / "well.nq.gz"
    result = dump(well, "nquads", out=out)
    kept = _kept(well)
    assert _loaded(out) == kept
    assert result.items == len(kept)
    graphs = {q.split(" <")[-1] for q in kept}
    assert any("/record/" in g for g in graphs) and any("graph/labels" in g for g in graphs)


def test_nquads_dump_without_copies_reads_the_store_and_says_the_same(well, tmp_path):
    bare = copy_store(well, tmp_path / "store")
    (bare / "catalogue.sqlite3").unlink()  # no copies of records: every graph from the store
    out = tmp_path / "bare.nq.gz"
    dump(bare, "nquads", out=out)
    assert _loaded(out) == _kept(well)


def test_a_damaged_copy_is_read_from_the_store_and_said_once(well, tmp_path, caplog, monkeypatch):
    # Said once a process: another test in this process may have been told already.
    monkeypatch.setattr(copies, "_told", threading.Event())
    damaged = copy_store(well, tmp_path / "store")
    conn = sqlite3.connect(damaged / "catalogue.sqlite3")
    with conn:
        conn.execute("UPDATE copies SET body = ? WHERE iri LIKE '%/record/%'", (b"not zlib at all",))
    conn.close()
    out = tmp_path / "damaged.nq.gz"
    with caplog.at_level(logging.WARNING, logger="metadatabronn.store.copies"):
        dump(damaged, "nquads", out=out)
    assert _loaded(out) == _kept(well)
    told = [r for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(told) == 1 and "/record/" in told[0].getMessage() and "reindex" in told[0].getMessage()


def test_a_dump_after_edits_holds_them(well, tmp_path):
    """Edits in the well (a work retitled, a manifestation given an identifier in its record's
    graph) make the copies of what they name stale: the dump reads those from the store."""
    edited = copy_store(well, tmp_path / "store")
    s = Store(edited)
    try:
        work = next(q.subject.value for q in s._store.quads_for_pattern(
            None, ox.NamedNode(T.RDF_TYPE), ox.NamedNode(T.C_WORK), ox.DefaultGraph()))
        m = next(q for q in s._store.quads_for_pattern(
            None, ox.NamedNode(T.RDF_TYPE), ox.NamedNode(T.C_MANIFESTATION), None))
        s.update(f"DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }} INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> "
                 f"\"Retitled in the well\" }} WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}", changed=[work])
        s.update(f"INSERT DATA {{ GRAPH <{m.graph_name.value}> {{ <{m.subject.value}> <{T.M_IDENTIFIER}> "
                 f"\"an identifier added in the well\" }} }}", changed=[m.subject.value])
        last = s.next_sequence() - 1
    finally:
        s.close()
    out = tmp_path / "edited.nq.gz"
    dump(edited, "nquads", out=out)
    loaded = _loaded(out)
    assert loaded == _kept(edited)
    assert any('"Retitled in the well"' in q for q in loaded)
    assert any('"an identifier added in the well"' in q for q in loaded)
    assert _head(out)["sequence"] == last


def test_what_a_load_under_way_has_written_is_left_out(well, tmp_path):
    """A snapshot taken part-way through a bulk load: the graphs and cores its pending mark
    names are left out, as a roll-back would leave the store; the feed brings them later."""
    cut = copy_store(well, tmp_path / "store")
    s = Store(cut)
    try:
        graph = next(g.value for g in s._store.named_graphs() if "/record/" in g.value)
        core = next(q.subject.value for q in s._store.quads_for_pattern(
            None, ox.NamedNode(T.RDF_TYPE), ox.NamedNode(T.C_PERSON), ox.DefaultGraph()))
        s.mark_pending([graph, core])
    finally:
        s.close()
    out = tmp_path / "cut.nq.gz"
    dump(cut, "nquads", out=out)
    expected = _kept(cut, lambda q: q.graph_name == ox.NamedNode(graph) or (
        q.graph_name == ox.DefaultGraph() and q.subject == ox.NamedNode(core)))
    assert len(expected) < len(_kept(cut))
    assert _loaded(out) == expected


def test_the_header_states_the_position_of_the_snapshot(well, tmp_path):
    out = tmp_path / "well.nq.gz"
    dump(well, "nquads", out=out)
    head = _head(out)
    s = Store(well, read_only=True)
    try:
        last = s.next_sequence() - 1
        assert head["sequence"] == last > 0
        assert head["time"] == change_time(s, last)
        assert head["base"] == s.base and head["format"] == "nquads"
    finally:
        s.close()
    assert read_header(out) == head
    # The feed position: every activity up to that entry (what the feed's entry point states).
    from metadatabronn.store.catalogue import Catalogue

    cat = Catalogue(well, read_only=True)
    try:
        assert head["position"] == cat.feed(head["sequence"]).total() > 0
        assert cat.feed(head["sequence"]).after_sequence(head["sequence"]) == head["position"] + 1
    finally:
        cat.close()


def _expected_entities(store_path) -> dict[str, set]:
    """Each entity's statements across the graphs a dump carries, as rdflib triples."""
    s = Store(store_path, read_only=True)
    classes = {T.C_WORK, T.C_EXPRESSION, T.C_MANIFESTATION, T.C_ITEM, T.C_PERSON, T.C_CORPORATE, T.C_FAMILY,
               T.C_CONCEPT, "https://www.w3.org/ns/activitystreams#Tombstone"}
    left_out = {s.changes_graph, s.pending_graph, STORE_GRAPH, "https://w3id.org/metadatabronn/graph/labels"}
    found: dict[str, set] = {}
    try:
        for q in s._store.quads_for_pattern(None, ox.NamedNode(T.RDF_TYPE), None, None):
            if q.object.value in classes:
                found.setdefault(q.subject.value, set())
        for iri in found:
            for q in s._store.quads_for_pattern(ox.NamedNode(iri), None, None, None):
                if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in left_out:
                    continue
                o = q.object
                if isinstance(o, ox.Literal):
                    obj = rdflib.Literal(o.value, lang=o.language,
                                         datatype=None if o.language or o.datatype.value == str(rdflib.XSD.string)
                                         else rdflib.URIRef(o.datatype.value))
                else:
                    obj = rdflib.URIRef(o.value)
                found[iri].add((rdflib.URIRef(iri), rdflib.URIRef(q.predicate.value), obj))
    finally:
        s.close()
    return found


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's JSON-LD parser, of itself
def test_jsonld_dump_is_one_entity_a_line_holding_its_statements(well, tmp_path):
    out = tmp_path / "well.jsonld.gz"
    s = Store(well, read_only=True)
    base = s.base
    s.close()
    dump(well, "jsonld", out=out, entity_line=entity_line(base))
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    head = json.loads(lines[0])
    assert head["format"] == "jsonld" and head["sequence"] > 0 and head["base"] == base
    expected = _expected_entities(well)
    got: dict[str, set] = {}
    for line in lines[1:]:
        doc = json.loads(line)
        assert doc["@context"] == f"{base}/context.jsonld"  # named, not inlined
        doc["@context"] = CONTEXT["@context"]  # what a client fetches from that URL
        g = rdflib.Graph().parse(data=json.dumps(doc), format="json-ld")
        assert doc["@id"] not in got, "an entity twice"
        got[doc["@id"]] = set(g)
    assert got.keys() == expected.keys()
    assert len(got) > 100
    assert got == expected


def test_jsonld_dump_in_worker_processes_writes_the_same_lines(well, tmp_path):
    s = Store(well, read_only=True)
    base = s.base
    s.close()
    alone, shared = tmp_path / "one.jsonld", tmp_path / "two.jsonld"
    dump(well, "jsonld", out=alone, entity_line=entity_line(base), workers=1)
    dump(well, "jsonld", out=shared, entity_line=entity_line(base), workers=2)
    one, two = alone.read_text().splitlines(), shared.read_text().splitlines()
    assert json.loads(one[0])["sequence"] == json.loads(two[0])["sequence"]
    assert one[1:] == two[1:] and len(one) > 100


def test_marcxml_dump_has_one_record_per_manifestation(well, tmp_path):
    out = tmp_path / "well.xml.gz"
    result = dump(well, "marcxml", out=out, workers=1)
    data = gzip.decompress(out.read_bytes())
    declaration, comment = data.split(b"\n")[:2]
    assert declaration.startswith(b"<?xml") and comment.startswith(b"<!-- metadatabronn dump {")
    assert read_header(out)["format"] == "marcxml"
    records = pymarc.parse_xml_to_array(io.BytesIO(data))
    s = Store(well, read_only=True)
    try:
        live = {q.subject.value for q in s._store.quads_for_pattern(
            None, ox.NamedNode(T.RDF_TYPE), ox.NamedNode(T.C_MANIFESTATION), None)}
    finally:
        s.close()
    assert len(records) == result.items == len(live) > 10


def test_a_dump_replaces_the_one_before_only_when_whole_and_keeps_the_newest(well, tmp_path):
    dumps = tmp_path / "dumps"
    first = dump(well, "nquads", dumps=dumps)
    assert first.path.name == file_name("nquads", first.sequence) and first.path.parent == dumps
    older = dumps / file_name("nquads", first.sequence - 5)  # as if made five changes earlier
    shutil.copy(first.path, older)
    before = first.path.read_bytes()
    seen = []

    def meanwhile(_n: int) -> None:  # while the next dump is being written
        seen.append((first.path.read_bytes() == before, [i.name for i in listing(dumps, "nquads")],
                     sorted(p.name for p in dumps.iterdir() if p.name.endswith(".partial"))))

    left = dumps / f".{first.path.name}.999999999.partial"  # by a dump killed part-way (no such process)
    left.write_bytes(b"half")
    second = dump(well, "nquads", dumps=dumps, keep=1, progress=meanwhile)
    assert not left.exists()
    assert seen and all(whole for whole, _, _ in seen)
    assert all(names == [first.path.name, older.name] for _, names, _ in seen)
    assert all(len(partial) == 2 for _, _, partial in seen)  # the one being written, and the one left
    assert second.path == first.path
    assert [i.name for i in listing(dumps)] == [second.path.name]  # the older one pruned, no partial left
    assert latest(dumps).sequence == second.sequence
    assert latest(dumps, "jsonld") is None


def test_dump_command_writes_into_the_store_dumps_directory(well, tmp_path, capsys):
    dumps = tmp_path / "d"
    assert main(["dump", "--store", str(well), "--format", "nquads", "--dumps", str(dumps)]) == 0
    (made,) = listing(dumps)
    assert made.format == "nquads" and made.sequence > 0 and made.time
    assert "dumped" in capsys.readouterr().err


def test_dump_command_refuses_an_out_it_cannot_write_before_reading(well, tmp_path, capsys):
    assert main(["dump", "--store", str(well), "--out", str(tmp_path / "missing" / "x.nq.gz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["dump", "--store", str(well), "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# over HTTP -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(well, port):
    dump(well, "nquads")  # into STORE/dumps, what serve serves by default
    with server(well, port) as (base, _proc):
        yield base


def test_the_list_names_each_dump_newest_first(live, well):
    r = HTTP.get(f"{live}/dumps", timeout=30)
    assert r.status_code == 200
    (item,) = r.json()["dumps"]
    info = latest(well / "dumps")
    assert item["name"] == info.name and item["format"] == "nquads" and item["sequence"] == info.sequence
    assert item["bytes"] == (well / "dumps" / info.name).stat().st_size and item["time"] == info.time
    assert item["url"] == f"{live}/dumps/{info.name}"


def test_download_whole_and_resumed_with_range(live, well):
    info = latest(well / "dumps")
    on_disk = (well / "dumps" / info.name).read_bytes()
    url = f"{live}/dumps/{info.name}"
    whole = HTTP.get(url, timeout=30)
    assert whole.status_code == 200 and whole.content == on_disk
    assert whole.headers["content-type"] == "application/gzip"
    assert int(whole.headers["content-length"]) == len(on_disk) and whole.headers["etag"]
    head = HTTP.head(url, timeout=30)
    assert head.status_code == 200 and head.headers["content-length"] == whole.headers["content-length"]
    cut = len(on_disk) // 3
    rest = HTTP.get(url, headers={"Range": f"bytes={cut}-", "If-Range": whole.headers["etag"]}, timeout=30)
    assert rest.status_code == 206
    assert on_disk[:cut] + rest.content == on_disk
    assert rest.headers["content-range"] == f"bytes {cut}-{len(on_disk) - 1}/{len(on_disk)}"
    bad = HTTP.get(url, headers={"Range": f"bytes={len(on_disk) + 10}-"}, timeout=30)
    assert bad.status_code == 416


@pytest.mark.parametrize("name", ["nquads-0000000001.nq.gz", "..%2F..%2Fetc%2Fpasswd", "..%2Fcatalogue.sqlite3",
                                  "%2E%2E%2Fstore", "CURRENT"])
def test_unknown_or_outside_names_are_404_problems(live, name):
    r = HTTP.get(f"{live}/dumps/{name}", timeout=30)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_latest_redirects_to_the_newest_of_a_format(live, well):
    r = HTTP.get(f"{live}/dumps/latest?format=nquads", timeout=30)
    assert r.status_code == 302
    assert r.headers["location"] == f"{live}/dumps/{latest(well / 'dumps').name}"
    none = HTTP.get(f"{live}/dumps/latest?format=marcxml", timeout=30)
    assert none.status_code == 404 and none.headers["content-type"].startswith("application/problem+json")
    assert HTTP.get(f"{live}/dumps/latest?format=turtle", timeout=30).status_code == 400


def test_jsonld_dump_gives_an_entity_as_the_well_states_it_after_a_write(tmp_path):
    """An organisation's corrected title replaces the title in the entity's line (as GET gives
    it), not beside it; the N-Quads dump holds both graphs as they are."""
    from metadatabronn.pipeline import editing
    from metadatabronn.store import editing as E

    path = tmp_path / "store"
    base = "http://example.org"
    ingest([str(GOLDEN)], Settings(store=path, base=base, workers=1))
    store = Store(path, base)
    try:
        work = next(iter(store.query(f"SELECT ?w WHERE {{ ?w a <{T.C_WORK}> }} ORDER BY ?w LIMIT 1")))["w"].value
        body = [(work, row[1:]) for row in store.about(work) if row[1] != T.W_PREFERRED_TITLE]
        body.append((work, (T.W_PREFERRED_TITLE, "A corrected title", True, None,
                            "http://www.w3.org/2001/XMLSchema#string")))
        editing.put(store, "work", work, body, E.Author("nb", "ada"), "*", "base")
        expected = {(p, o) for _, p, o, *_ in store.about(work)}
    finally:
        store.close()
    out = tmp_path / "well.jsonld.gz"
    dump(path, "jsonld", out=out, entity_line=entity_line(base))
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        doc = next(json.loads(line) for line in fh.read().splitlines()[1:] if json.loads(line)["@id"] == work)
    doc["@context"] = CONTEXT["@context"]
    g = rdflib.Graph().parse(data=json.dumps(doc), format="json-ld")
    titles = {str(o) for o in g.objects(rdflib.URIRef(work), rdflib.URIRef(T.W_PREFERRED_TITLE))}
    assert titles == {"A corrected title"}
    assert {(str(p), str(o)) for _, p, o in g} == expected
