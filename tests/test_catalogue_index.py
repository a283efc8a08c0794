"""The catalogue index beside the store (store.catalogue): kept in step by ingest, updates,
deletions and roll-backs, and always equal to a rebuild from the change log; OAI-PMH lists paged
from it."""

from __future__ import annotations

import json
import sqlite3
import time
import types
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from metadatabronn.errors import StoreError
from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, editing, ingest
from metadatabronn.store import Store, catalogue
from metadatabronn.store.catalogue import FILE, Catalogue
from metadatabronn.store.editing import Author

from .test_pipeline import GOLDEN, MARC, SAMPLE, edited, golden_records, mark_deleted, sample_file, write

BASE = "http://example.org"
OAI = "{http://www.openarchives.org/OAI/2.0/}"


@pytest.fixture(autouse=True)
def texts(monkeypatch):
    """The full-text side as the index hands it over: each manifestation's Text, in a table of
    its own (the search tables' layout is theirs; what the index gives them is checked here)."""
    real = catalogue.search

    def create(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS texts (manifestation TEXT PRIMARY KEY, text TEXT)")

    def put(conn, values):
        conn.executemany("INSERT OR REPLACE INTO texts VALUES (?, ?)",
                         [(t.manifestation, json.dumps(asdict(t))) for t in values])

    def remove(conn, manifestations):
        conn.executemany("DELETE FROM texts WHERE manifestation = ?", [(m,) for m in manifestations])

    def indexed_work(conn, manifestation):
        found = conn.execute("SELECT text FROM texts WHERE manifestation = ?", (manifestation,)).fetchone()
        return None if found is None else (json.loads(found[0])["work"], json.loads(found[0])["work_title"])

    monkeypatch.setattr(catalogue, "search", types.SimpleNamespace(Text=real.Text, create=create, put=put,
                                                                    remove=remove, optimize=lambda conn: None,
                                                                    indexed_work=indexed_work, Recent=real.Recent))


def run(store: Path, *paths, workers: int = 1, **kw):
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=workers, **kw))


def index(store: Path) -> dict:
    """Everything the index holds, read from its file."""
    conn = sqlite3.connect(store / FILE)
    try:
        return {"rows": conn.execute("SELECT * FROM records ORDER BY id").fetchall(),
                "texts": {m: json.loads(t) for m, t in conn.execute("SELECT * FROM texts")},
                "changed": conn.execute("SELECT * FROM changed ORDER BY iri").fetchall(),
                "sequence": conn.execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()[0]}
    finally:
        conn.close()


def rebuilt(store: Path) -> dict:
    s = Store(store, BASE)
    try:
        s.reindex()
    finally:
        s.close()
    return index(store)


def last_sequence(store: Path) -> int:
    s = Store(store, BASE, read_only=True)
    try:
        return s.next_sequence() - 1
    finally:
        s.close()


def test_ingest_gives_the_index_a_rebuild_gives(tmp_path):
    store = tmp_path / "store"
    s = run(store, GOLDEN, MARC / "lc-unicode.mrc", MARC / "lc5.mrc", workers=2)
    after = index(store)
    assert len(after["rows"]) == s.manifestations > 20
    assert int(after["sequence"]) == last_sequence(store)
    assert set(after["texts"]) == {row[2] for row in after["rows"]}
    assert all(t["titles"] and t["work"].startswith(f"{BASE}/work/") and t["work_title"]
               for t in after["texts"].values())
    assert after == rebuilt(store)


def test_texts_carry_the_records_own_headings_titles_and_the_works_title(tmp_path):
    store = tmp_path / "store"
    run(store, sample_file(tmp_path / "p.mrc", "00007090", "00000119"))
    got = index(store)["texts"]
    delano = got[f"{BASE}/manifestation/DLC-00000119"]
    assert delano["creators"] == ["Delano, Joel Andrew, 1831-1901,", "Delano de Lannoy, Mortimer, 1869-1920,"]
    assert delano["titles"][0].startswith("The genealogy, history, and alliances of the American house of Delano")
    assert got[f"{BASE}/manifestation/DLC-00007090"]["work_title"].startswith("Pride and prejudice")


PRIDE = ("00007090", "00007091", "00033956")  # three records of one work


def _pride(tmp_path: Path) -> Path:
    """A store of the three records of Pride and prejudice and one of another work."""
    store = tmp_path / "store"
    run(store, sample_file(tmp_path / "p.mrc", *PRIDE, "00000119"))
    return store


def test_an_edit_of_a_work_moves_the_datestamp_of_each_of_its_records(tmp_path):
    store, pride = _pride(tmp_path), PRIDE
    before = {r[0]: r for r in index(store)["rows"]}
    s = Store(store, BASE)
    try:
        (work,) = s.values(f"{BASE}/manifestation/DLC-00007090", T.M_WORK)
        s.update(f'DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }} INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> '
                 f'"Pride and prejudice (novel)" }} WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}', changed=[work])
        seq = s.next_sequence() - 1
        when = catalogue.stamp(next(q.object.value for q in s._store.quads_for_pattern(
            None, None, None, None) if q.subject.value == s.change_iri(seq) and q.predicate.value.endswith("published")))
    finally:
        s.close()
    after = index(store)
    rows = {r[0]: r for r in after["rows"]}
    for cn in pride:
        assert rows[f"DLC-{cn}"][3:5] == (seq, when)
        assert after["texts"][f"{BASE}/manifestation/DLC-{cn}"]["work_title"] == "Pride and prejudice (novel)"
    assert rows["DLC-00000119"] == before["DLC-00000119"]
    assert after["changed"] == [(work, seq, after["changed"][0][2])] and catalogue.stamp(after["changed"][0][2]) == when
    assert after == rebuilt(store)


def test_a_deletion_marks_the_row_deleted_and_takes_its_text(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    target = golden_records()[9]
    run(store, write(tmp_path / "d.mrc", [edited(target, mark_deleted)]))
    after = index(store)
    (row,) = [r for r in after["rows"] if r[0] == "DLC-00031871"]
    assert row[5] == 1 and row[6] == "golden.mrc"  # still in the set of the file that brought it
    assert f"{BASE}/manifestation/DLC-00031871" not in after["texts"]
    assert len(after["texts"]) == len(after["rows"]) - 1
    assert after == rebuilt(store)


def _crash(monkeypatch, method: str, on_call: int = 1):
    """Make the ``on_call``-th call of a Store write fail, after doing its work for bulk_load
    (half of it) or before it for clear_pending (the index already written)."""
    original = getattr(Store, method)
    calls = []

    def failing(self, *args, **kw):
        calls.append(1)
        if len(calls) != on_call:
            return original(self, *args, **kw)
        if method == "bulk_load":
            text = b"".join(args[0]) if isinstance(args[0], list) else args[0]  # (the batch's parts)
            lines = text.splitlines(keepends=True)
            original(self, b"".join(lines[:len(lines) // 2]))
        raise StoreError("simulated crash")

    monkeypatch.setattr(Store, method, failing)


@pytest.mark.parametrize("method,on_call", [("bulk_load", 1), ("bulk_load", 2), ("clear_pending", 1),
                                            ("clear_pending", 2)])
def test_after_an_interrupted_batch_the_index_agrees_with_the_store(tmp_path, monkeypatch, caplog, method, on_call):
    store = tmp_path / "store"
    run(store, GOLDEN)
    # Two batches: two new records, then the deletion of one already stored.
    deletion = write(tmp_path / "d.mrc", [edited(golden_records()[9], mark_deleted)])
    with monkeypatch.context() as m:
        _crash(m, method, on_call)
        with pytest.raises(StoreError):
            run(store, sample_file(tmp_path / "p.mrc", "00007090", "00000119"), deletion, batch_records=2)
    # The next writer rolls the batch back; the index follows the store, not the batch.
    s = Store(store, BASE)
    try:
        s.roll_back()
    finally:
        s.close()
    rolled = index(store)
    assert int(rolled["sequence"]) == last_sequence(store)
    assert "rebuilding" not in caplog.text  # the rows of the batch's graphs alone were read again
    assert ("DLC-00007090" in {r[0] for r in rolled["rows"]}) == (on_call == 2)
    if on_call == 2:  # the deleted record's old graph went with the batch: so does its row
        assert "DLC-00031871" not in {r[0] for r in rolled["rows"]}
    assert rolled == rebuilt(store)
    # And a run that loads everything again leaves an index equal to a rebuild.
    run(store, sample_file(tmp_path / "p.mrc", "00007090", "00000119"), deletion)
    again = index(store)
    assert {"DLC-00007090", "DLC-00000119"} <= {r[0] for r in again["rows"]}
    assert again == rebuilt(store)


def test_a_store_without_the_index_gets_it_at_its_next_opening_for_writing(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN, MARC / "lc5.mrc")
    whole = index(store)
    for path in store.glob(FILE + "*"):
        path.unlink()
    with pytest.raises(StoreError, match="reindex"):
        Catalogue(store, read_only=True)
    Store(store, BASE).close()
    assert index(store) == whole


def test_an_index_behind_its_store_catches_up_entry_by_entry(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    conn = sqlite3.connect(store / FILE)
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'sequence'")
    conn.execute("DELETE FROM records WHERE seq > 3")
    conn.execute("DELETE FROM texts")
    conn.commit()
    conn.close()
    s = Store(store, BASE)
    s.close()
    after = index(store)
    assert len(after["rows"]) == 22 and len(after["texts"]) == 19  # the texts of 1-3 are not read again
    assert after["rows"] == rebuilt(store)["rows"]


def test_a_backup_carries_the_index(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    s = Store(store, BASE, read_only=True)
    try:
        s.backup(tmp_path / "copy")
    finally:
        s.close()
    assert index(tmp_path / "copy") == index(store)


def test_pages_read_only_rows_the_snapshot_holds(tmp_path):
    store = tmp_path / "store"
    run(store, GOLDEN)
    cat = Catalogue(store, read_only=True)
    try:
        everything = cat.page("", None, 100)
        assert [r.id for r in everything] == sorted(r.id for r in everything) and len(everything) == 22
        assert [r.id for r in cat.page("", 5, 100)] == sorted(r.id for r in everything if r.seq <= 5)
        third = everything[2].id
        assert [r.id for r in cat.page(third, None, 3)] == [r.id for r in everything[3:6]]
    finally:
        cat.close()


# OAI-PMH from the index, paged small ---------------------------------------------------------

def _pages(client, **params) -> tuple[list[tuple[str, str, tuple]], list[str]]:
    """Every (identifier, datestamp, sets) of a list and each page's responseDate."""
    got, dates = [], []
    args = {"verb": "ListIdentifiers", "metadataPrefix": "marc21", **params}
    while True:
        root = etree.fromstring(client.get("/oai", params=args).content)
        dates.append(root.findtext(f"{OAI}responseDate"))
        error = root.find(f"{OAI}error")
        if error is not None:
            assert error.get("code") == "noRecordsMatch"
            return got, dates
        for h in root.iter(f"{OAI}header"):
            got.append((h.findtext(f"{OAI}identifier"), h.findtext(f"{OAI}datestamp"),
                        tuple(s.text for s in h.iter(f"{OAI}setSpec"))))
        token = root.find(f".//{OAI}resumptionToken")
        if token is None or not token.text:
            return got, dates
        args = {"verb": "ListIdentifiers", "resumptionToken": token.text}


def test_oai_lists_with_from_until_and_a_set_page_through_the_index(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from metadatabronn.web import oai_lists
    from metadatabronn.web.app import create_app

    store = tmp_path / "store"
    cns = sorted(r["001"].data.strip() for r in __import__("pymarc").MARCReader(open(SAMPLE, "rb")))
    run(store, sample_file(tmp_path / "first.mrc", *cns[:150]), workers=2)
    time.sleep(1.1)  # datestamps are to the second: the second file's are a later one
    run(store, sample_file(tmp_path / "second.mrc", *cns[150:300]), workers=2)
    # A list's later pages also send what changed in its start's second or after (a change made
    # while it was paged): the harvest starts a second after the last change here.
    time.sleep(1.1)
    monkeypatch.setattr(oai_lists, "PAGE", 7)
    with TestClient(create_app(store, BASE, query_workers=1, refresh=0)) as client:
        everything, _dates = _pages(client)
        assert len(everything) == len({i for i, _d, _s in everything}) == 300
        assert [i for i, _d, _s in everything] == sorted(i for i, _d, _s in everything)
        stamps = sorted({d for _i, d, _s in everything})
        assert len(stamps) == 2
        late, _ = _pages(client, **{"from": stamps[1]})
        assert late == [e for e in everything if e[1] >= stamps[1]] and len(late) == 150
        early, _ = _pages(client, until=stamps[0])
        assert early == [e for e in everything if e[1] <= stamps[0]] and len(early) == 150
        both, _ = _pages(client, **{"from": stamps[0], "until": stamps[1]})
        assert both == everything
        second, _ = _pages(client, set="source:second.mrc")
        assert second == [e for e in everything if "source:second.mrc" in e[2]] and len(second) == 150
        narrowed, _ = _pages(client, set="source:first.mrc", **{"from": stamps[1]})
        assert narrowed == []
        sets = {s.text for s in etree.fromstring(client.get("/oai", params={"verb": "ListSets"}).content)
                .iter(f"{OAI}setSpec")}
        assert {"source:first.mrc", "source:second.mrc", "type:bibliographic"} <= sets
        identify = etree.fromstring(client.get("/oai", params={"verb": "Identify"}).content)
        assert identify.findtext(f".//{OAI}earliestDatestamp") == stamps[0]
        first = etree.fromstring(client.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "marc21",
                                                            "set": "source:first.mrc"}).content)
        assert first.find(f".//{OAI}resumptionToken").get("completeListSize") == "150"


def test_reindex_command_rebuilds_the_index(tmp_path, capsys):
    import argparse

    from metadatabronn.cli.store import _reindex

    store = tmp_path / "store"
    run(store, GOLDEN)
    whole = index(store)
    conn = sqlite3.connect(store / FILE)
    conn.execute("DELETE FROM records WHERE id < 'DLC-0002'")
    conn.commit()
    conn.close()
    assert _reindex(argparse.Namespace(store=str(store), base_iri=None, copies=False)) == 0
    assert "22 records indexed" in capsys.readouterr().out
    assert index(store) == whole


def test_rebase_builds_the_index_under_the_new_base(tmp_path):
    from metadatabronn.store.rebase import rebase

    store = tmp_path / "store"
    run(store, GOLDEN)
    rebase(store, "https://data.example.net")
    rows = sqlite3.connect(store / FILE).execute("SELECT graph, manifestation FROM records").fetchall()
    assert len(rows) == 22 and all(g.startswith("https://data.example.net/record/") and
                                   m.startswith("https://data.example.net/manifestation/") for g, m in rows)


def _retitle(record):
    record["245"]["a"] = "Revised: " + record["245"]["a"]


OPS = st.lists(st.tuples(st.sampled_from(["load", "retitle", "delete", "edit-work", "rekey-work", "write-work"]),
                         st.lists(st.integers(0, 21), min_size=1, max_size=4, unique=True)),
               min_size=1, max_size=3)


def run_ops(tmp: Path, ops, loaded=None) -> Path:
    """A store of the golden records, then each op in turn: a load of the picked records as
    they are, retitled or deleted, or an edit in the well of their works (a title added, or a
    key: what a merge does), or a writer's edit of their works' titles (in a graph of its own, as
    over HTTP). ``loaded(store)`` is called between the first load and the ops."""
    store = tmp / "store"
    records = golden_records()
    run(store, GOLDEN, batch_records=8)
    if loaded is not None:
        loaded(store)
    for n, (op, picked) in enumerate(ops):
        if op == "write-work":
            _write_works(store, picked, n)
            continue
        if op in ("edit-work", "rekey-work"):
            s = Store(store, BASE)
            try:
                for w in _works_of(s, picked):
                    stated = (f'<{T.W_PREFERRED_TITLE}> "Also {n}"' if op == "edit-work"
                              else f'<{T.MB}key> "work|also {n}"')
                    s.update(f"INSERT DATA {{ <{w}> {stated} }}", changed=[w])
            finally:
                s.close()
            continue
        edit = {"load": None, "retitle": _retitle, "delete": mark_deleted}[op]
        chosen = [records[i] if edit is None else edited(records[i], edit) for i in picked]
        run(store, write(tmp / f"{n}.mrc", chosen), batch_records=2)
    return store


def _live(store: Path) -> list[str]:
    conn = sqlite3.connect(store / FILE)
    try:
        return [m for (m,) in conn.execute("SELECT manifestation FROM records WHERE deleted = 0 ORDER BY id")]
    finally:
        conn.close()


def _works_of(s: Store, picked) -> list[str]:
    """The works of the picked live records (by their place among them, wrapping round), each once."""
    live = _live(s.path)
    return list(dict.fromkeys(w for i in picked if live for w in s.values(live[i % len(live)], T.M_WORK)))


def _write_works(store: Path, picked, n: int) -> None:
    """The picked records' works retitled by a writer, each in one write (``pipeline.editing.put``)."""
    s = Store(store, BASE)
    try:
        for w in _works_of(s, picked):
            body = [(w, (p, o, lit, lang, dt)) for _, p, o, lit, lang, dt in s.about(w)
                    if p != T.W_PREFERRED_TITLE] + [(w, (T.W_PREFERRED_TITLE, f"Written {n}", True, None, None))]
            editing.put(s, "work", w, body, Author("org", "ada"), "*", "base")
    finally:
        s.close()


def test_a_writers_edit_of_a_work_moves_its_records_datestamps_and_keeps_their_texts(tmp_path):
    store, pride = _pride(tmp_path), PRIDE
    before = index(store)
    _write_works(store, [_live(store).index(f"{BASE}/manifestation/DLC-00007090")], 1)
    after = index(store)
    rows, earlier = {r[0]: r for r in after["rows"]}, {r[0]: r for r in before["rows"]}
    for cn in pride:
        assert rows[f"DLC-{cn}"][3] > earlier[f"DLC-{cn}"][3]  # the edit's sequence number
        assert rows[f"DLC-{cn}"][:3] + rows[f"DLC-{cn}"][5:] == earlier[f"DLC-{cn}"][:3] + earlier[f"DLC-{cn}"][5:]
    assert rows["DLC-00000119"] == earlier["DLC-00000119"]
    # The texts search reads are the records' own and the work's core title, which no writer changes.
    assert after["texts"] == before["texts"]
    assert after == rebuilt(store)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_any_run_of_loads_edits_and_deletions_leaves_the_index_a_rebuild_gives(tmp_path_factory, ops):
    store = run_ops(tmp_path_factory.mktemp("ops"), ops)
    assert index(store) == rebuilt(store)



def test_a_date_range_reads_the_same_rows_by_identifier_or_by_datestamp(tmp_path, monkeypatch):
    store = tmp_path / "store"
    run(store, GOLDEN)
    conn = sqlite3.connect(store / FILE)  # datestamps spread over a day, in no order of identifier
    for n, (record_id,) in enumerate(conn.execute("SELECT id FROM records ORDER BY graph DESC").fetchall()):
        conn.execute("UPDATE records SET datestamp = ? WHERE id = ?", (f"2020-01-01T{n:02d}:00:00Z", record_id))
    conn.commit()
    conn.close()
    cat = Catalogue(store, read_only=True)
    try:
        asked = [dict(since="2020-01-01T05:00:00Z"), dict(until="2020-01-01T09:00:00Z"),
                 dict(since="2020-01-01T03:00:00Z", until="2020-01-01T15:00:00Z"),
                 dict(since="2020-01-01T03:00:00Z", until="2020-01-01T08:00:00Z", late="2020-01-01T18:00:00Z")]

        def pages(filters):
            got, after = [], ""
            while rows := cat.page(after, None, 4, **filters):
                got += [(r.id, r.datestamp) for r in rows]
                after = rows[-1].id
            return got

        indexed = [pages(f) for f in asked]
        monkeypatch.setattr(Catalogue, "FEW", 0)  # every range walked in identifier order
        assert [pages(f) for f in asked] == indexed
        assert [len(p) for p in indexed] == [17, 10, 13, 10]
        assert all(p == sorted(p) for p in indexed)
    finally:
        cat.close()
