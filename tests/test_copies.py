"""Copies of record graphs and entity cores in the catalogue index (store.copies): what a reader
gets from them is what the store holds, after loads, edits, deletions, roll-backs and refills,
and a snapshot never reads a copy newer than itself."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings

from metadatabronn.errors import StoreError
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.reverse import Options, from_triples, to_marc
from metadatabronn.mapping.source import control_number_of
from metadatabronn.marc.writer import encode
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.store.catalogue import FILE
from metadatabronn.store import nquads
from metadatabronn.store.copies import CopyDamaged, pack, unpack

from .test_catalogue_index import OPS, _crash, run_ops
from .test_pipeline import GOLDEN, MARC, edited, golden_records, mark_deleted, sample_file, write

BASE = "http://example.org"


def run(store: Path, *paths, workers: int = 1, **kw):
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=workers, **kw))


def copies(store: Path) -> dict[str, set]:
    """Every copy, as the set of statements it holds."""
    conn = sqlite3.connect(store / FILE)
    try:
        return {iri: set(nquads.quads(unpack(body))) for iri, body in conn.execute("SELECT iri, body FROM copies")}
    finally:
        conn.close()


def graphs(store: Path) -> list[str]:
    conn = sqlite3.connect(store / FILE)
    try:
        return [g for (g,) in conn.execute("SELECT graph FROM records ORDER BY id")]
    finally:
        conn.close()


def _render(found) -> bytes:
    manifestation, carried, modified, deleted, statements, edited_ = found
    src = from_triples(control_number_of(statements, manifestation), manifestation, statements, carried,
                       modified=modified, deleted=deleted, edited=edited_)
    return encode(to_marc(src, Options()), "marcxml", [])


def agree(store: Path) -> int:
    """Read every record through the copies and through the store alone: the same statements,
    times and MARC; and read ahead for a batch (as export reads), the same again, with the same
    cores read and the same answer to "unchanged since its load". Returns how many records were
    read from a copy."""
    with_copies, store_only = Store(store, BASE, read_only=True), Store(store, BASE, read_only=True)
    batched = Store(store, BASE, read_only=True)
    store_only._copy_view = None  # as a writer reads: never a copy
    from_copies = 0
    try:
        view = with_copies._copies()
        every = graphs(store)
        ahead = batched.read_ahead(every)
        assert ahead is not None and set(ahead.rows) <= set(every)
        for graph in every:
            a, b = with_copies.record_statements(graph, edits=True), store_only.record_statements(graph, edits=True)
            reads, unchanged, reads_ahead, unchanged_ahead = [], [], [], []
            lean = with_copies.record_statements(graph, edits=True, reads=reads, unchanged=unchanged)
            c = batched.record_statements(graph, edits=True, reads=reads_ahead, unchanged=unchanged_ahead,
                                          ahead=ahead)
            assert (a is None) == (b is None) == (c is None), graph
            if a is None:
                continue
            assert a[:4] == b[:4] and a[5] == b[5], graph
            assert sorted(a[4]) == sorted(b[4]), graph
            assert _render(a) == _render(b), graph
            assert lean == c and reads == reads_ahead and unchanged == unchanged_ahead, graph
            from_copies += view.quads(graph) is not None
    finally:
        with_copies.close()
        store_only.close()
        batched.close()
    found, damaged = leaves_of_copies(store)
    assert {i: s for i, s in leaves(store).items() if i not in damaged} == found
    return from_copies


def leaves(store: Path) -> dict[str, int]:
    conn = sqlite3.connect(store / FILE)
    try:
        return dict(conn.execute("SELECT iri, seq FROM leaves"))
    finally:
        conn.close()


def leaves_of_copies(store: Path) -> tuple[dict[str, int], set[str]]:
    """The copies of cores that are leaves, by what they hold; and those that cannot be read."""
    from metadatabronn.store.copies import leaf

    conn = sqlite3.connect(store / FILE)
    found, damaged = {}, set()
    try:
        for iri, seq, body in conn.execute("SELECT iri, seq, body FROM copies WHERE iri NOT LIKE '%/record/%'"):
            try:
                if leaf(unpack(body), BASE):
                    found[iri] = seq
            except CopyDamaged:
                damaged.add(iri)
    finally:
        conn.close()
    return found, damaged


def test_a_batch_read_leaves_the_copies_of_leaves_unread_and_reads_them_when_asked(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    found = leaves(store)
    kinds = {iri.rsplit("/", 2)[-2] for iri in found}
    assert {"work", "agent"} <= kinds and "expression" not in kinds  # an expression names its work
    reader = Store(store, BASE, read_only=True)
    try:
        every = graphs(store)
        ahead = reader.read_ahead(every)
        assert ahead.leaves and ahead.leaves <= set(found)
        assert not ahead.leaves & set(ahead.texts)  # never read for the batch
        assert any(i.rsplit("/", 2)[-2] == "expression" for i in ahead.texts)
        # A record that wants a leaf's statements (as one edited since its load does) gets them.
        graph = next(g for g in every if ahead.names[g] & ahead.leaves)
        leaf_iri = sorted(ahead.names[graph] & ahead.leaves)[0]
        core = reader._core(leaf_iri)
        held = reader._store.quads_for_pattern(ox.NamedNode(leaf_iri), None, None, ox.DefaultGraph())
        assert sorted(core.rows(reader._read_core)) == sorted((p, o, lit) for _, p, o, lit in nquads.plain(held))
    finally:
        reader.close()


def test_an_index_from_before_leaves_were_kept_notes_them_when_next_opened_for_writing(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    made = leaves(store)
    assert made
    conn = sqlite3.connect(store / FILE)
    conn.executescript("DROP TABLE leaves; DELETE FROM meta WHERE key = 'leaves';")
    conn.close()
    reader = Store(store, BASE, read_only=True)  # a reader of the index from before reads every core
    try:
        assert reader._copies().leaves(list(made)) == set()
        assert reader.read_ahead(graphs(store)).leaves == set()
    finally:
        reader.close()
    Store(store, BASE).close()
    assert leaves(store) == made


def test_ingest_copies_each_record_and_core_and_readers_get_what_the_store_holds(tmp_path):
    store = tmp_path / "store"
    s = run(store, GOLDEN, MARC / "lc5.mrc", MARC / "lc-unicode.mrc", workers=2)
    assert agree(store) == s.manifestations > 20
    held = copies(store)
    # Each copy is exactly the store's graph or core.
    st_ = Store(store, BASE, read_only=True)
    try:
        for iri, statements in held.items():
            node = ox.NamedNode(iri)
            graph = node if "/record/" in iri else ox.DefaultGraph()
            subject = None if "/record/" in iri else node
            assert statements == set(st_._store.quads_for_pattern(subject, None, None, graph)), iri
    finally:
        st_.close()


def test_an_edit_drops_the_copies_of_what_it_names_and_of_the_records_naming_it(tmp_path):
    store = tmp_path / "store"
    pride = ("00007090", "00007091", "00033956")
    run(store, sample_file(tmp_path / "p.mrc", *pride, "00000119"))
    before = copies(store)
    s = Store(store, BASE)
    try:
        (work,) = s.values(f"{BASE}/manifestation/DLC-00007090", T.M_WORK)
        naming = {q.graph_name.value for q in s._store.quads_for_pattern(None, None, ox.NamedNode(work), None)
                  if isinstance(q.graph_name, ox.NamedNode)}
        s.update(f'DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }} INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> '
                 f'"Pride and prejudice (novel)" }} WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}', changed=[work])
    finally:
        s.close()
    after = copies(store)
    assert work in before and work not in after
    assert naming and naming <= set(before) and not naming & set(after)
    assert f"{BASE}/record/DLC-00000119" in after  # a record not naming the work keeps its copy
    agree(store)


def test_a_drop_of_whole_graphs_drops_every_copy(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    s = Store(store, BASE)
    try:
        s.update(f"DROP GRAPH <{BASE}/record/DLC-00031871>", force=True)
    finally:
        s.close()
    assert copies(store) == {}
    agree(store)


def test_a_roll_back_drops_the_copies_of_its_batch(tmp_path, monkeypatch):
    store = tmp_path / "store"
    run(store, GOLDEN)
    deletion = write(tmp_path / "d.mrc", [edited(golden_records()[9], mark_deleted)])
    with monkeypatch.context() as m:
        _crash(m, "clear_pending", 2)  # the second batch's copies are written, then it is cut short
        with pytest.raises(StoreError):
            run(store, sample_file(tmp_path / "p.mrc", "00007090", "00000119"), deletion, batch_records=2)
    s = Store(store, BASE)
    try:
        s.roll_back()
    finally:
        s.close()
    assert f"{BASE}/record/DLC-00031871" not in copies(store)  # its graph went with the batch
    agree(store)
    run(store, deletion)
    assert agree(store) == len(graphs(store))


@pytest.mark.embedded_only("a pyoxigraph snapshot: a reader of a store on a server reads the server as it is now")
def test_a_snapshot_reads_no_copy_newer_than_itself(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    reader = Store(store, BASE, read_only=True)
    try:
        graph = graphs(store)[3]
        old = reader.record_statements(graph)
        retitled = write(tmp_path / "r.mrc", [edited(r, _retitle) for r in golden_records()])
        run(store, retitled)
        assert copies(store)[graph] != set()
        now = reader.record_statements(graph)  # the copy is newer: the snapshot's store is read
        assert now[:4] == old[:4] and sorted(now[4]) == sorted(old[4])
        assert reader._copies().quads(graph) is None
    finally:
        reader.close()
    fresh = Store(store, BASE, read_only=True)
    try:
        assert fresh._copies().quads(graph) is not None
        assert any(v.startswith("Revised: ") for _, _, v, _ in fresh.record_statements(graph)[4])
    finally:
        fresh.close()


def _retitle(record):
    record["245"]["a"] = "Revised: " + record["245"]["a"]


def test_an_index_behind_the_snapshot_gives_no_copies(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    conn = sqlite3.connect(store / FILE)
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'sequence'")
    conn.commit()
    conn.close()
    reader = Store(store, BASE, read_only=True)
    try:
        assert reader._copies().fetch(graphs(store)) == {}
        assert reader._copies().changes([f"{BASE}/work/x"]) is None
    finally:
        reader.close()


def test_copies_kept_by_iri_before_fingerprints_are_kept_when_the_store_is_next_opened_for_writing(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    made = copies(store)
    conn = sqlite3.connect(store / FILE)
    conn.executescript("CREATE TABLE old (iri TEXT PRIMARY KEY, seq INTEGER NOT NULL, body BLOB NOT NULL);"
                       "INSERT INTO old SELECT iri, seq, body FROM copies; DROP TABLE copies;"
                       "ALTER TABLE old RENAME TO copies;")
    conn.close()
    reader = Store(store, BASE, read_only=True)  # a reader of the table from before reads the store
    try:
        (graph,) = [g for g in made if g.endswith("/record/DLC-00031871")]
        assert reader._copies().fetch([graph]) == {}
        assert reader.record_statements(graph)
    finally:
        reader.close()
    again = run(store, GOLDEN)
    assert again.records_unchanged == again.records_read
    assert copies(store) == made
    conn = sqlite3.connect(store / FILE)
    try:
        assert [c[1] for c in conn.execute("PRAGMA table_info(copies)")] == ["id", "h", "iri", "seq", "body"]
    finally:
        conn.close()
    reader = Store(store, BASE, read_only=True)
    try:
        assert set(reader._copies().fetch([graph])[graph]) == made[graph]
    finally:
        reader.close()


def test_damaged_copies_are_read_from_the_store(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    conn = sqlite3.connect(store / FILE)
    with conn:  # a record's copy and a work's core cut short, another's record not a packed body at all
        conn.execute("UPDATE copies SET body = substr(body, 1, 20) WHERE id IN "
                     "(SELECT id FROM copies WHERE iri LIKE '%/record/%' LIMIT 3)")
        conn.execute("UPDATE copies SET body = substr(body, 1, 20) WHERE id IN "
                     "(SELECT id FROM copies WHERE iri LIKE '%/work/%' LIMIT 3)")
        conn.execute("UPDATE copies SET body = X'00' WHERE id IN "
                     "(SELECT id FROM copies WHERE iri LIKE '%/record/%' ORDER BY id DESC LIMIT 2)")
    conn.close()
    read = agree(store)  # every record reads the same as from the store alone
    assert 0 < read <= len(graphs(store)) - 5


def test_copies_packed_by_zlib_before_are_read_as_they_were(tmp_path):
    store = tmp_path / "store"
    s = run(store, GOLDEN, MARC / "lc5.mrc")
    made = copies(store)
    conn = sqlite3.connect(store / FILE)
    with conn:  # as a store made before Zstandard holds them
        rows = conn.execute("SELECT id, body FROM copies").fetchall()
        assert all(body[:4] == b"\x28\xb5\x2f\xfd" for _, body in rows)
        conn.executemany("UPDATE copies SET body = ? WHERE id = ?", [(zlib.compress(unpack(b), 1), i) for i, b in rows])
    conn.close()
    assert copies(store) == made
    assert agree(store) == s.manifestations  # every record still read from its copy


def test_a_copy_changed_inside_is_found_by_its_checksum():
    body = pack(b"<http://example.org/a> <http://example.org/p> " + b'"x" .\n' * 200)
    changed = body[:-12] + bytes([body[-12] ^ 1]) + body[-11:]
    with pytest.raises(CopyDamaged):
        unpack(changed)
    with pytest.raises(CopyDamaged):
        unpack(body[:20])


def test_refill_writes_the_copies_ingest_writes(tmp_path, capsys):
    from metadatabronn.cli import main

    store = tmp_path / "store"
    run(store, GOLDEN, MARC / "lc5.mrc")
    made = copies(store)
    conn = sqlite3.connect(store / FILE)
    conn.execute("DELETE FROM copies")
    conn.commit()
    conn.close()
    assert main(["reindex", "--copies", "--store", str(store)]) == 0
    assert f"{len(made):,} copies" in capsys.readouterr().out
    assert copies(store) == made
    assert main(["reindex", "--copies", "--store", str(store)]) == 0  # nothing left to copy
    assert " 0 copies" in capsys.readouterr().out
    assert main(["reindex", "--store", str(store)]) == 0  # a rebuild makes them again
    assert copies(store) == made


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_after_any_run_of_loads_edits_and_deletions_copies_say_what_the_store_holds(tmp_path_factory, ops):
    store = run_ops(tmp_path_factory.mktemp("ops"), ops)
    agree(store)


def test_of_two_iris_with_one_fingerprint_the_later_keeps_a_copy_and_neither_gets_the_others(monkeypatch):
    from metadatabronn.store import copies as table

    monkeypatch.setattr(table, "fingerprint", lambda iri: 7)  # every IRI collides
    conn = sqlite3.connect(":memory:")
    conn.executescript(table.SCHEMA)
    a, b = "http://example.org/work/a", "http://example.org/expression/b"
    leaves = lambda: conn.execute("SELECT iri, seq FROM leaves").fetchall()  # noqa: E731
    table.put(conn, [(a, 1, b"<http://example.org/work/a> <x:p> <x:o> .\n", None)], BASE)
    assert table.select(conn, "seq", [a, b]) == [(a, 1)]
    assert leaves() == [(a, 1)]
    # b's copy takes the place of a's; b names a work, so it is no leaf, and a's leaf goes too.
    table.put(conn, [(b, 2, b"<http://example.org/expression/b> <x:p> <http://example.org/work/a> .\n", None)], BASE)
    assert table.select(conn, "seq", [a]) == []  # a is read from the store, never given b's copy
    assert table.select(conn, "seq", [a, b]) == [(b, 2)]
    assert leaves() == []
    table.drop(conn, [a])  # a has no copy: b's stays
    assert table.select(conn, "seq", [b]) == [(b, 2)]
    table.drop(conn, [b])
    assert table.select(conn, "seq", [a, b]) == []
    table.put(conn, [(a, 3, b"<http://example.org/work/a> <x:p> <x:o> .\n", None)], BASE)
    table.drop(conn, [b])  # not a's leaf
    assert leaves() == [(a, 3)]
    table.drop(conn, [a])
    assert leaves() == []


def test_a_leaf_is_a_core_that_names_nothing_a_reader_follows():
    from metadatabronn.store.copies import leaf

    work = b'<http://example.org/work/w> <http://rdaregistry.info/Elements/w/P10088> "Hamlet" .\n'
    typed = b"<http://example.org/work/w> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://example.org/Work> .\n"
    expression = (b"<http://example.org/expression/e> <http://rdaregistry.info/Elements/e/P20231> "
                  b"<http://example.org/work/w> .\n")
    other = b"<http://example.org/work/w> <http://www.w3.org/2002/07/owl#sameAs> <http://viaf.org/viaf/1> .\n"
    assert leaf(work, BASE) and leaf(other, BASE)
    assert leaf(typed, BASE)  # a class in the base's namespace has no core
    assert not leaf(expression, BASE) and not leaf(work + expression, BASE)
    assert not leaf(b"<http://example.org/work/w> <x:p> <http://example.org/work/v", BASE)  # not N-Quads: no promise


# -- reading a copy's lines ------------------------------------------------------------------

from hypothesis import strategies as hst  # noqa: E402

from metadatabronn.rdf import literal, nquads_of  # noqa: E402


def _as_store_writes(text: str, lang: str | None, datatype: str | None) -> bytes:
    term = ox.Literal(text, language=lang) if lang else ox.Literal(text, datatype=ox.NamedNode(datatype)) \
        if datatype else ox.Literal(text)
    quad = ox.Quad(ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p"), term,
                   ox.NamedNode("http://example.org/record/g"))
    return ox.serialize([quad], format=ox.RdfFormat.N_QUADS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hst.text(), hst.sampled_from([None, "en", "nb-NO"]),
       hst.sampled_from([None, "http://www.w3.org/2001/XMLSchema#integer"]))
def test_a_copys_lines_read_as_pyoxigraph_reads_them(text, lang, datatype):
    # Whatever a literal holds (quotes, backslashes, control characters, "> <", "^^", "@"), as our
    # serialiser writes it and as the store writes it.
    ours = (f"<http://example.org/s> <http://example.org/p> {literal(text, lang, datatype)} "
            f"<http://example.org/record/g> .\n<http://example.org/s> <http://example.org/q> "
            f"<http://example.org/o> .\n").encode()
    for text_ in (ours, _as_store_writes(text, lang, datatype)):
        assert nquads.statements(text_) == nquads.parsed(text_)


def test_lines_the_cutting_does_not_vouch_for_go_to_pyoxigraph():
    for line in (b'_:b1 <http://example.org/p> "x" .\n',
                 b'<http://example.org/s\\u0041> <http://example.org/p> "x" .\n',
                 b'<http://example.org/s> <http://example.org/p> "\\U0001F600" .\n',
                 b'<http://example.org/s> <http://example.org/p> "a\\\'b" .\n'):
        assert nquads.statements(line) == nquads.parsed(line)
    with pytest.raises(SyntaxError):
        nquads.statements(b"<http://example.org/s> <http://example.org/p> .\n")


def test_every_copy_of_a_store_reads_as_the_store_holds_it(tmp_path):
    # Ingest keeps a record graph's statements (nquads.kept), a core its N-Quads: read either
    # way, each copy is, statement for statement, what the store gives for its graph or core.
    run(tmp_path / "s", GOLDEN)
    conn = sqlite3.connect(tmp_path / "s" / FILE)
    try:
        bodies = {iri: unpack(body) for iri, body in conn.execute("SELECT iri, body FROM copies")}
    finally:
        conn.close()
    assert len(bodies) > 22
    kinds = {b[:len(nquads.KEPT)] == nquads.KEPT for b in bodies.values()}
    assert kinds == {True, False}  # records kept as statements, cores as N-Quads
    st_ = Store(tmp_path / "s", BASE, read_only=True)
    try:
        for iri, body in bodies.items():
            node = ox.NamedNode(iri)
            record = "/record/" in iri
            held = list(st_._store.quads_for_pattern(None if record else node, None, None,
                                                     node if record else ox.DefaultGraph()))
            assert sorted(nquads.statements(body)) == sorted(nquads.plain(held)), iri
            assert nquads.statements(body) == nquads.parsed(body)
            if not body.startswith(nquads.KEPT):
                continue
            # The order and the text of the statements as the N-Quads the store was given.
            text = ox.serialize(held, format=ox.RdfFormat.N_QUADS)
            assert set(nquads.statements(body)) == set(nquads.statements(text))
    finally:
        st_.close()


_iris = hst.sampled_from(["http://x/s", "http://x/p", "http://x/o", "http://x/é?q=1#f", "urn:isbn:9780849959905"])
_kinds = hst.one_of(hst.just(False), hst.just(""), hst.sampled_from(["@en", "@nb-no",
                                                                     "^^http://www.w3.org/2001/XMLSchema#integer"]))


@settings(max_examples=200, deadline=None)
@given(hst.lists(hst.tuples(_iris, _iris, hst.one_of(_iris, hst.text(max_size=8)), _kinds), max_size=12))
def test_statements_kept_read_back_as_their_n_quads_read(said):
    said = [(s_, p, o if kind is not False or o.startswith(("http", "urn")) else "http://x/o", kind)
            for s_, p, o, kind in said]
    lines = "".join(f"<{s_}> <{p}> " + (f"<{o}>" if kind is False else literal(o, kind[1:] if kind[:1] == "@" else None,
                                                                            kind[2:] if kind[:2] == "^^" else None))
                    + " <http://x/record/g> .\n" for s_, p, o, kind in said).encode()
    body = nquads.kept("http://x/record/g", said)
    # What the store would hold of those lines, in their order, each statement once.
    assert nquads.statements(body) == nquads.parsed(lines)
    assert nquads.quads(body) == nquads.quads(lines)
    assert nquads.quads(nquads.text(body)) == nquads.quads(lines)  # as a dump writes it
    # Noted statements written as N-Quads (a record's validation is) say what the lines say.
    assert nquads.quads(nquads_of("http://x/record/g", said).encode()) == nquads.quads(lines)


def test_statements_kept_that_do_not_load_are_a_syntax_error():
    body = nquads.kept("http://x/record/g", [("http://x/s", "http://x/p", "v", "")])
    for damaged in (body[:-3], nquads.KEPT + b"\x00\x01", nquads.KEPT):
        with pytest.raises(SyntaxError):
            nquads.statements(damaged)
        with pytest.raises(SyntaxError):
            nquads.quads(damaged)


def test_a_core_parsed_by_another_thread_meanwhile_reads_the_same(monkeypatch):
    # A server's request threads share a snapshot's cores, each parsed when first asked for. The
    # first thread is held just as it looks up the parser; a second parses the core whole in
    # the meantime and lets go of its text; then the first goes on.
    import threading

    from metadatabronn.store import cores

    inside, done = threading.Event(), threading.Event()
    first = threading.get_ident()

    class Held:
        @property
        def statements(self):
            if threading.get_ident() == first:
                inside.set()
                assert done.wait(30)
            return nquads.statements

    monkeypatch.setattr(cores, "nquads", Held())
    text = b"".join(f'<http://example.org/agent/a> <http://example.org/p{i}> "v{i}" .\n'.encode() for i in range(20))
    text += b"<http://example.org/agent/a> <http://example.org/q> <http://example.org/work/w> .\n"
    core = cores.Core("http://example.org/agent/a", text)
    read = lambda iri, copy_first: ()  # noqa: E731 (never asked: the text parses)
    other: list = []

    def second() -> None:
        assert inside.wait(30)
        other.append((core.links("http://example.org", read), core.rows(read)))
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    mine = (core.links("http://example.org", read), core.rows(read))
    thread.join()
    assert mine == other[0]
    assert mine[0] == ["http://example.org/work/w"] and len(mine[1]) == 21
