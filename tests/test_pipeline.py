"""Behaviour of metadatabronn.pipeline: ingest into a real store and what the store holds after.

Every test ingests real records (tests/data/, data/) into its own store under tmp_path and then
reads the store back with pyoxigraph directly, so the assertions do not depend on the code
under test for reading.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
from collections import Counter, defaultdict
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadatabronn import pipeline
from metadatabronn.errors import MetadatabronnError, StoreError
from metadatabronn.marc import iter_chunks
from metadatabronn.pipeline import Settings, Summary, ingest
from metadatabronn.store import Store
from tests.conftest import shared
from .conftest import examples, quad_store

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
MARC = DATA / "marc"
GOLDEN = DATA / "golden" / "golden.mrc"
SAMPLE = ROOT / "data" / "sample.mrc"
SAMPLE_INDEX = ROOT / "data" / "sample-index.tsv"

BASE = "http://example.org"
CHANGES = f"{BASE}/graph/changes"
AS = "https://www.w3.org/ns/activitystreams#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
PROV_GENERATED = "http://www.w3.org/ns/prov#generatedAtTime"
MB = "https://w3id.org/metadatabronn/ns#"
C_WORK = "http://rdaregistry.info/Elements/c/C10001"
C_EXPRESSION = "http://rdaregistry.info/Elements/c/C10006"
C_MANIFESTATION = "http://rdaregistry.info/Elements/c/C10007"
M_IDENTIFIER = "http://rdaregistry.info/Elements/m/P30004"
M_WORK = "http://rdaregistry.info/Elements/m/P30135"
M_EXPRESSION = "http://rdaregistry.info/Elements/m/P30139"
M_TITLE_PROPER = "http://rdaregistry.info/Elements/m/P30156"
E_WORK = "http://rdaregistry.info/Elements/e/P20231"
E_LANGUAGE = "http://rdaregistry.info/Elements/e/P20006"
E_TRANSLATION_OF = "http://rdaregistry.info/Elements/e/P20141"
W_PREFERRED_TITLE = "http://rdaregistry.info/Elements/w/P10223"
LANG = "http://id.loc.gov/vocabulary/iso639-2/"

REPORT_KEYS = {"records_read", "records_stored", "records_rejected", "works", "expressions",
               "manifestations", "agents", "seconds"}


SOURCE_RECORD = "https://w3id.org/metadatabronn/ns#sourceRecord"
STORE_GRAPH = "https://w3id.org/metadatabronn/ns#store"  # the base IRI and entity counts


# helpers ---------------------------------------------------------------------------------------

def run(paths, store: Path, workers: int = 1, **kw) -> Summary:
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=workers, **kw))


def quads(store: Path) -> set:
    """Every quad of a store on disk, read with pyoxigraph itself."""
    s = quad_store(store)
    try:
        return set(s)
    finally:
        del s


def graph_of(q) -> str:
    """The quad's graph name, "" for the default graph (where entity cores live)."""
    return q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""


def by_graph(qs) -> dict[str, set]:
    out: dict[str, set] = defaultdict(set)
    for q in qs:
        out[graph_of(q)].add(q)
    return dict(out)


def core_of(store: Path, entity: str) -> set:
    return {q for q in by_graph(quads(store)).get("", set()) if q.subject.value == entity}


def masked(store: Path) -> Counter:
    """The store's quads as a multiset, the change log left out and run timestamps masked.

    Two separate runs differ only in when they ran; this is what must otherwise be equal. A
    multiset, so a quad that is there twice in different runs' versions shows.
    """
    out: Counter = Counter()
    for q in quads(store):
        g = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if g == CHANGES:
            continue
        o = q.object
        if isinstance(o, ox.Literal) and o.datatype.value == XSD_DATETIME:
            o = "<a run's time>"
        out[(str(q.subject), str(q.predicate), str(o), g)] += 1
    return out


def select(store: Path, sparql: str) -> list[dict[str, str | None]]:
    s = quad_store(store)
    try:
        res = s.query(sparql, use_default_graph_as_union=True)
        names = [v.value for v in res.variables]
        return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in res]
    finally:
        del s


def values(store: Path, subject: str, predicate: str) -> set[str]:
    return {r["o"] for r in select(store, f"SELECT ?o WHERE {{ <{subject}> <{predicate}> ?o }}")}


def manifestation(cn: str) -> str:
    return f"{BASE}/manifestation/DLC-{cn}"


def record_graph(cn: str) -> str:
    return f"{BASE}/record/DLC-{cn}"


def split_iso2709(path: Path) -> list[bytes]:
    """Records of an ISO 2709 file, byte for byte (UTF-8 data never holds 0x1D)."""
    parts = path.read_bytes().split(b"\x1d")
    assert parts[-1].strip() == b""
    return [p + b"\x1d" for p in parts[:-1]]


def control_number(raw: bytes) -> str:
    return pymarc.Record(data=raw, to_unicode=True, force_utf8=True)["001"].data.strip()


@cache
def sample_records() -> tuple[bytes, ...]:
    return tuple(split_iso2709(SAMPLE))


@cache
def sample_by_cn() -> dict[str, bytes]:
    return {control_number(r): r for r in sample_records()}


@cache
def golden_records() -> tuple[bytes, ...]:
    return tuple(split_iso2709(GOLDEN))


def write(path: Path, records) -> Path:
    path.write_bytes(b"".join(records))
    return path


def sample_file(path: Path, *control_numbers: str) -> Path:
    return write(path, [sample_by_cn()[cn] for cn in control_numbers])


def edited(raw: bytes, edit) -> bytes:
    record = pymarc.Record(data=raw, to_unicode=True, force_utf8=True)
    edit(record)
    return record.as_marc()


def changes(store: Path) -> list[dict[str, str]]:
    """The change log, one dict per change, in sequence order."""
    rows = select(store, f"""
        SELECT ?c ?type ?object ?published ?seq WHERE {{ GRAPH <{CHANGES}> {{
          ?c a ?type ; <{AS}object> ?object ; <{AS}published> ?published ; <{MB}sequence> ?seq }} }}""")
    return sorted(rows, key=lambda r: int(r["seq"]))


def entity_iris(store: Path) -> set[str]:
    return {str(q.subject) for q in quads(store)
            if q.predicate.value == RDF_TYPE and graph_of(q) != CHANGES}


def record_graph_names(store: Path) -> set[str]:
    return {g for g in by_graph(quads(store)) if g.startswith(f"{BASE}/record/")}


# summary and report ----------------------------------------------------------------------------

def test_summary_counts_add_up_and_report_has_the_keys(tmp_path):
    store = tmp_path / "store"
    s = run([GOLDEN], store)
    assert s.records_read == 22
    assert s.records_read == s.records_stored + s.records_rejected
    assert (s.records_stored, s.records_rejected, s.records_new) == (22, 0, 22)
    assert s.rejects_file is None
    report = json.loads(s.to_json())
    assert REPORT_KEYS <= set(report)
    assert report["records_read"] == report["records_stored"] + report["records_rejected"]
    assert isinstance(report["seconds"], float) and report["seconds"] >= 0

    def count(cls):
        return int(select(store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{cls}> }}")[0]["n"])

    assert report["manifestations"] == count(C_MANIFESTATION) == 22
    assert report["works"] == count(C_WORK) >= 22
    assert report["expressions"] == count(C_EXPRESSION) >= 22
    assert report["agents"] > 0
    iris = {r["m"] for r in select(store, f"SELECT ?m WHERE {{ ?m a <{C_MANIFESTATION}> }}")}
    assert iris == {manifestation(control_number(r)) for r in golden_records()}


def test_two_workers_give_the_same_store_as_one(tmp_path):
    one = run([SAMPLE], tmp_path / "one", workers=1)
    two = run([SAMPLE], tmp_path / "two", workers=2)
    assert two.records_read == 400 == two.records_stored + two.records_rejected
    for name in ("records_read", "records_stored", "records_rejected", "works", "expressions",
                 "manifestations", "agents"):
        assert getattr(one, name) == getattr(two, name), name
    assert masked(tmp_path / "one") == masked(tmp_path / "two")
    # The change log lists the records in input order in both.
    assert [c["object"] for c in changes(tmp_path / "one")] == [c["object"] for c in changes(tmp_path / "two")]


def test_missing_input_file_is_an_error_before_anything_is_written(tmp_path):
    store = tmp_path / "store"
    with pytest.raises(MetadatabronnError, match="no-such-file.mrc"):
        run([GOLDEN, tmp_path / "no-such-file.mrc"], store)
    assert not store.exists()


# idempotence -----------------------------------------------------------------------------------

def test_reingest_of_the_same_file_changes_nothing(tmp_path):
    store = tmp_path / "store"
    first = run([GOLDEN], store)
    before = quads(store)
    second = run([GOLDEN], store)
    after = quads(store)
    assert after == before  # the change log included: unchanged records write no change
    assert len(changes(store)) == first.records_stored == 22
    assert second.records_unchanged == second.records_stored == 22
    assert (second.records_new, second.records_updated, second.records_deleted) == (0, 0, 0)
    assert (second.works, second.expressions, second.manifestations, second.agents) == \
        (first.works, first.expressions, first.manifestations, first.agents)


def _grouped_sample_positions() -> list[int]:
    lines = SAMPLE_INDEX.read_text(encoding="utf-8").splitlines()[1:]
    by_cn = {cn: i for i, cn in enumerate(control_number(r) for r in sample_records())}
    return [by_cn[line.split("\t")[0]] for line in lines if "same-work group" in line.split("\t")[1]]


GROUPED = _grouped_sample_positions()


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_ingest_is_idempotent_and_minting_order_independent(data):
    """Property: for a random selection and order of real records, ingesting twice equals
    ingesting once, and another order gives the same entity IRIs and record graphs."""
    chosen = data.draw(st.lists(st.one_of(st.sampled_from(GROUPED), st.integers(0, 399)),
                                min_size=1, max_size=6, unique=True), label="records")
    other_order = data.draw(st.permutations(chosen), label="other order")
    records = sample_records()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = write(tmp / "records.mrc", [records[i] for i in chosen])

        run([path], tmp / "a")
        once = quads(tmp / "a")
        again = run([path], tmp / "a")
        assert quads(tmp / "a") == once
        assert again.records_unchanged == again.records_stored == len(chosen)

        write(path, [records[i] for i in other_order])  # same name: dct:source is the same too
        run([path], tmp / "b")
        assert entity_iris(tmp / "b") == entity_iris(tmp / "a")
        assert record_graph_names(tmp / "b") == record_graph_names(tmp / "a")
        # What each record contributes does not depend on the order either (its position in
        # the file, mb:sourceRecord, is where it was, and nothing else).
        in_records = lambda c: Counter({k: n for k, n in c.items() if k[3].startswith(f"{BASE}/record/")
                                        and k[1] != f"<{SOURCE_RECORD}>"})
        assert in_records(masked(tmp / "b")) == in_records(masked(tmp / "a"))


# update ----------------------------------------------------------------------------------------

def test_changed_record_replaces_only_its_own_graph(tmp_path):
    store = tmp_path / "store"
    run([GOLDEN], store)
    before = by_graph(quads(store))
    old_changes = changes(store)
    target = golden_records()[2]  # 00030568, a title main entry: the new title is a new work
    cn = control_number(target)
    assert cn == "00030568"

    def retitle(record):
        record["245"]["a"] = "Completely different title :"

    s = run([write(tmp_path / "changed.mrc", [edited(target, retitle)])], store)
    assert (s.records_read, s.records_updated, s.records_new, s.records_unchanged) == (1, 1, 0, 0)
    after = by_graph(quads(store))

    graph = record_graph(cn)
    assert after[graph] != before[graph]
    assert values(store, manifestation(cn), M_TITLE_PROPER) == {"Completely different title"}
    for g, qs in before.items():
        if g not in (graph, CHANGES, STORE_GRAPH, ""):  # the store's own counts follow the change
            assert after.get(g) == qs, f"graph {g} changed"
    assert set(after) == set(before), "no graph appears or goes"
    assert before[""] <= after[""], "entity cores are only ever added"
    added = {q.subject.value for q in after[""] - before[""]}
    assert added, "the new title is a new work: its core is added"
    for iri in added:
        assert re.match(rf"{BASE}/(work|expression|agent|concept)/", iri), iri
    new_work = values(store, manifestation(cn), M_WORK).pop()
    assert new_work in added
    assert values(store, new_work, W_PREFERRED_TITLE) == {"Completely different title"}

    new_changes = changes(store)[len(old_changes):]
    assert len(new_changes) == 1
    change = new_changes[0]
    assert change["type"] == AS + "Update"
    assert change["object"] == manifestation(cn)
    assert int(change["seq"]) == max(int(c["seq"]) for c in old_changes) + 1


# delete ----------------------------------------------------------------------------------------

def mark_deleted(record):
    record.leader = str(record.leader)[:5] + "d" + str(record.leader)[6:]


def test_deleted_record_leaves_a_tombstone_with_its_identifiers(tmp_path):
    store = tmp_path / "store"
    run([GOLDEN], store)
    target = golden_records()[9]  # 00031871, with an ISBN
    cn = control_number(target)
    m = manifestation(cn)
    identifiers = values(store, m, M_IDENTIFIER)
    assert {f"(DLC){cn}", "urn:isbn:9780393049978"} <= identifiers
    before = by_graph(quads(store))
    old_changes = changes(store)

    deletion = write(tmp_path / "delete.mrc", [edited(target, mark_deleted)])
    s = run([deletion], store)
    assert (s.records_read, s.records_stored, s.records_deleted) == (1, 1, 1)
    assert s.manifestations == 21

    after = by_graph(quads(store))
    graph = record_graph(cn)
    assert {q.subject.value for q in after[graph]} == {m, graph}
    about_m = defaultdict(set)
    for q in after[graph]:
        if q.subject.value == m:
            about_m[q.predicate.value].add(q.object)
    assert set(about_m) == {RDF_TYPE, AS + "formerType", AS + "deleted", M_IDENTIFIER}
    assert {o.value for o in about_m[RDF_TYPE]} == {AS + "Tombstone"}
    assert {o.value for o in about_m[AS + "formerType"]} == {C_MANIFESTATION}
    (deleted,) = about_m[AS + "deleted"]
    assert deleted.datatype.value == XSD_DATETIME
    datetime.fromisoformat(deleted.value.replace("Z", "+00:00"))
    assert {o.value for o in about_m[M_IDENTIFIER]} == identifiers
    assert values(store, m, M_TITLE_PROPER) == set()
    for g, qs in before.items():
        if g not in (graph, CHANGES, STORE_GRAPH):  # the store's own counts follow the change
            assert after.get(g) == qs, f"graph {g} changed"
    assert set(after) == set(before)

    new_changes = changes(store)[len(old_changes):]
    assert [(c["type"], c["object"]) for c in new_changes] == [(AS + "Delete", m)]
    assert int(new_changes[0]["seq"]) > max(int(c["seq"]) for c in old_changes)

    # The tombstone stays in the source the record came from (an OAI-PMH set), not the
    # deletion's file: a harvester of that set must learn of the deletion.
    assert {q.object.value for q in after[graph] if q.predicate.value == "http://purl.org/dc/terms/source"} \
        == {q.object.value for q in before[graph] if q.predicate.value == "http://purl.org/dc/terms/source"} \
        == {GOLDEN.name}  # its name: never a path on the server

    # The same deletion delivered again changes nothing.
    snapshot = quads(store)
    again = run([deletion], store)
    assert again.records_unchanged == 1
    assert quads(store) == snapshot


def test_deleting_one_edition_keeps_the_work_the_others_share(tmp_path):
    store = tmp_path / "store"
    pride = ("00007090", "00007091", "00033956")
    run([sample_file(tmp_path / "pride.mrc", *pride)], store)
    works = {cn: values(store, manifestation(cn), M_WORK) for cn in pride}
    (work,) = set.union(*works.values())

    run([write(tmp_path / "delete.mrc", [edited(sample_by_cn()["00007091"], mark_deleted)])], store)
    assert values(store, manifestation("00007091"), RDF_TYPE) == {AS + "Tombstone"}
    assert values(store, manifestation("00007091"), M_WORK) == set()
    for cn in ("00007090", "00033956"):
        assert values(store, manifestation(cn), M_WORK) == {work}
    assert C_WORK in values(store, work, RDF_TYPE)
    assert values(store, work, MB + "key") == {"work|austen jane|pride and prejudice"}


# clustering through the store ------------------------------------------------------------------

def test_editions_of_one_work_share_the_work_iri(tmp_path):
    store = tmp_path / "store"
    pride = ("00007090", "00007091", "00033956")
    run([sample_file(tmp_path / "austen.mrc", *pride, "00007077")], store)
    works = {cn: values(store, manifestation(cn), M_WORK) for cn in (*pride, "00007077")}
    assert all(len(w) == 1 for w in works.values())
    assert works["00007090"] == works["00007091"] == works["00033956"]
    assert works["00007077"] != works["00007090"]  # Northanger Abbey: same author, other work
    (work,) = works["00007090"]
    assert re.fullmatch(rf"{BASE}/work/[0-9a-f]{{20}}", work)
    assert len(values(store, work, MB + "key")) == 1
    expressions = {cn: values(store, manifestation(cn), M_EXPRESSION) for cn in pride}
    assert expressions["00007090"] == expressions["00007091"] == expressions["00033956"]


@pytest.mark.parametrize("original, translation, language", [
    ("00012999", "00013000", "ger"),  # Le petit prince; Der kleine Prinz (240 $l German)
    ("00004139", "00006303", "eng"),  # L'Aiglon; its English translation (041 $h fre)
])
def test_translation_is_another_expression_of_the_same_work(tmp_path, original, translation, language):
    store = tmp_path / "store"
    run([sample_file(tmp_path / "pair.mrc", original, translation)], store)
    (work,) = values(store, manifestation(original), M_WORK)
    assert values(store, manifestation(translation), M_WORK) == {work}
    (e_original,) = values(store, manifestation(original), M_EXPRESSION)
    (e_translation,) = values(store, manifestation(translation), M_EXPRESSION)
    assert e_original != e_translation
    assert values(store, e_original, E_WORK) == values(store, e_translation, E_WORK) == {work}
    assert values(store, e_original, E_LANGUAGE) == {LANG + "fre"}
    assert values(store, e_translation, E_LANGUAGE) == {LANG + language}
    assert values(store, e_translation, E_TRANSLATION_OF) == {e_original}


def test_records_of_one_work_in_later_runs_join_the_same_work(tmp_path):
    store = tmp_path / "store"
    run([sample_file(tmp_path / "a.mrc", "00007090")], store)
    (work,) = values(store, manifestation("00007090"), M_WORK)
    core = core_of(store, work)
    run([sample_file(tmp_path / "b.mrc", "00033956")], store)
    run([sample_file(tmp_path / "c.mrc", "00012999")], store)
    run([sample_file(tmp_path / "d.mrc", "00013000")], store)
    assert values(store, manifestation("00033956"), M_WORK) == {work}
    assert core_of(store, work) == core  # registered once, not written again
    assert values(store, manifestation("00013000"), M_WORK) == values(store, manifestation("00012999"), M_WORK)
    (e_original,) = values(store, manifestation("00012999"), M_EXPRESSION)
    (e_translation,) = values(store, manifestation("00013000"), M_EXPRESSION)
    assert values(store, e_translation, E_TRANSLATION_OF) == {e_original}


# bad input -------------------------------------------------------------------------------------

def read_rejects(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def raw_bytes(entry: dict) -> bytes:
    if entry.get("encoding") == "base64":
        return base64.b64decode(entry["data"])
    return entry["data"].encode("utf-8")


def test_bad_records_are_rejected_with_reasons_and_good_ones_stored(tmp_path, caplog):
    store = tmp_path / "store"
    bad = [MARC / "pymarc-bad_records.mrc", MARC / "pymarc-utf8_invalid.mrc",
           MARC / "pymarc-bad_subfield_code.dat"]
    files = [MARC / "lc5.mrc", *bad, GOLDEN]
    caplog.set_level("WARNING", logger="metadatabronn")
    s = run(files, store, rejects_dir=tmp_path / "rejects")

    chunks = {(str(f), c.number): c for f in files for c in iter_chunks(f)}
    assert s.records_read == len(chunks) == 5 + 9 + 1 + 1 + 22
    assert s.records_read == s.records_stored + s.records_rejected
    assert s.records_stored == s.manifestations == 27
    assert s.records_rejected == 11
    stored = {r["m"] for r in select(store, f"SELECT ?m WHERE {{ ?m a <{C_MANIFESTATION}> }}")}
    good = [*split_iso2709(MARC / "lc5.mrc"), *golden_records()]
    assert stored == {manifestation(control_number(r)) for r in good}

    assert s.rejects_file is not None
    entries = read_rejects(s.rejects_file)
    assert len(entries) == s.records_rejected
    for e in entries:
        assert {"source", "record", "tag", "reason", "data"} <= set(e)
        assert e["reason"]
    assert len({(e["source"], e["record"]) for e in entries}) == len(entries)
    assert {e["source"] for e in entries} == {str(f) for f in bad}
    for e in entries:  # each entry keeps the record's own bytes
        assert raw_bytes(e) == chunks[(e["source"], e["record"])].data
    messages = [r.getMessage() for r in caplog.records]
    for e in entries:
        if e.get("status", "rejected") == "rejected":
            assert any(m.startswith(f"{e['source']} record {e['record']}") and e["reason"] in m
                       for m in messages), e
    assert sum(s.rejection_reasons.values()) == s.records_rejected
    # ISO 2709 rejects are also kept as a file a cataloguing tool can open.
    raw = list(Path(s.rejects_file).parent.glob("*.mrc"))
    assert len(raw) == 1
    assert raw[0].read_bytes() == b"".join(raw_bytes(e) for e in entries)


def test_many_errors_corpus_every_record_stored_or_rejected(tmp_path):
    path = shared("austen-marc4j/pride-and-prejudice-with-many-errors.mrc")
    s = run([path], tmp_path / "store")
    n = sum(1 for _ in iter_chunks(path))
    assert s.records_read == n == s.records_stored + s.records_rejected
    assert s.records_rejected > 0 and s.records_stored > 0
    entries = read_rejects(s.rejects_file)
    assert len(entries) == s.records_rejected
    assert all(e["reason"] and e["data"] for e in entries)
    assert len({e["record"] for e in entries}) == len(entries)
    graphs = record_graph_names(tmp_path / "store")
    assert 0 < len(graphs) <= s.records_stored
    assert s.manifestations == len(graphs)


def test_record_without_any_control_number_is_rejected_naming_001(tmp_path):
    # Without 001 a record takes its identity from 035, else 010; with none of them it has none.
    without = edited(golden_records()[0], lambda r: r.remove_fields("001", "035", "010"))
    path = write(tmp_path / "no001.mrc", [without, golden_records()[1]])
    s = run([path], tmp_path / "store")
    assert (s.records_read, s.records_stored, s.records_rejected) == (2, 1, 1)
    (entry,) = read_rejects(s.rejects_file)
    assert entry["record"] == 1
    assert entry["tag"] == "001"
    assert "001" in entry["reason"]
    assert raw_bytes(entry) == without
    assert any("001" in reason for reason in s.rejection_reasons)


def test_authority_record_is_stored_as_an_authority_not_as_a_book(tmp_path):
    store = tmp_path / "store"
    s = run([MARC / "bibsys-authority_SRU_response.xml", MARC / "lc5.mrc"], store)
    assert s.records_aside == {} and s.records_authority == 1 and s.records_rejected == 0
    assert s.records_read == 6 == s.records_stored
    assert s.manifestations == 5
    stored = {r["m"] for r in select(store, f"SELECT ?m WHERE {{ ?m a <{C_MANIFESTATION}> }}")}
    assert stored == {manifestation(control_number(r)) for r in split_iso2709(MARC / "lc5.mrc")}
    assert len(record_graph_names(store)) == 5
    assert f"{BASE}/authority/NO-TrBIB-90361304" in by_graph(quads(store))


def corrupt_utf8(raw: bytes) -> bytes:
    """The record with one byte of its first data field's $a replaced by an invalid UTF-8 byte."""
    at = raw.index(b"\x1f", raw.index(b"\x1e", int(raw[12:17]) + 1))  # a subfield of a data field
    at = raw.index(b"\x1fa", at)
    return raw[: at + 3] + b"\xff" + raw[at + 4:]


def test_later_bad_file_loses_nothing_already_stored(tmp_path):
    store = tmp_path / "store"
    run([MARC / "lc5.mrc"], store)
    before = quads(store)
    first = split_iso2709(MARC / "lc5.mrc")[0]
    broken = write(tmp_path / "broken.mrc", [corrupt_utf8(first)])  # same 001, unreadable now
    s = run([broken, MARC / "pymarc-bad_records.mrc", MARC / "pymarc-utf8_invalid.mrc"], store)
    assert s.records_stored == 0
    assert s.records_read == s.records_rejected == 11
    assert quads(store) == before
    assert s.manifestations == 5


FENNICA = ROOT / "data" / "fennica-sample.marcxml"  # 131 records; 114-120 have no 245


def stored_by_source(store: Path) -> dict[str, int]:
    """How many record graphs the store holds per source file."""
    rows = select(store, """SELECT ?src (COUNT(DISTINCT ?g) AS ?n) WHERE {
        GRAPH ?g { ?g <http://purl.org/dc/terms/source> ?src } } GROUP BY ?src""")
    return {r["src"]: int(r["n"]) for r in rows}


def truncated_gzip(path: Path, plain: bytes, keep: float = 0.5) -> tuple[Path, int]:
    """A gzip of *plain* cut short, and how many whole ISO 2709 records it still holds."""
    import gzip
    import zlib

    packed = gzip.compress(plain)
    path.write_bytes(packed[: int(len(packed) * keep)])
    return path, zlib.decompressobj(31).decompress(path.read_bytes()).count(b"\x1d")


@pytest.mark.parametrize("workers", [1, 2])
def test_truncated_gzip_keeps_every_record_read_and_rejects_the_rest_with_its_reason(tmp_path, workers):
    cut, whole = truncated_gzip(tmp_path / "sample.mrc.gz", SAMPLE.read_bytes())
    assert 0 < whole < 400
    store = tmp_path / "store"
    s = run([FENNICA, cut], store, workers=workers, rejects_dir=tmp_path / "rejects")
    # Every sample.mrc record converts; 7 of Fennica's have no 245.
    assert s.records_read == 131 + whole + 1 == s.records_stored + s.records_rejected
    assert (s.records_stored, s.records_rejected) == (124 + whole, 7 + 1)
    assert stored_by_source(store) == {FENNICA.name: 124, cut.name: whole}
    assert s.manifestations == 124 + whole
    entries = read_rejects(s.rejects_file)
    assert [e["source"] for e in entries] == [str(FENNICA)] * 7 + [str(cut)]  # in input order
    last = entries[-1]
    assert last["record"] == whole + 1 and last["status"] == "rejected"
    assert "Compressed file ended before the end-of-stream marker was reached" in last["reason"]
    assert f"after record {whole}" in last["reason"]
    # The record cut short is kept as far as it could be read.
    assert raw_bytes(last) and sample_records()[whole].startswith(raw_bytes(last))
    assert s.rejection_reasons["rest of the file unreadable"] == 1


def test_a_file_that_cannot_be_read_at_all_is_rejected_and_the_others_are_stored(tmp_path):
    empty = tmp_path / "empty.mrc"
    empty.write_bytes(b"")
    notes = tmp_path / "notes.txt"
    notes.write_text("not MARC at all\n", encoding="utf-8")
    store = tmp_path / "store"
    s = run([FENNICA, empty, MARC / "lc5.mrc", notes], store)
    assert stored_by_source(store) == {FENNICA.name: 124, "lc5.mrc": 5}
    assert s.records_read == 131 + 1 + 5 + 1 == s.records_stored + s.records_rejected
    reasons = {e["source"]: e["reason"] for e in read_rejects(s.rejects_file) if e["source"] != str(FENNICA)}
    assert reasons == {str(empty): "file unreadable: file is empty",
                       str(notes): "file unreadable: unrecognised format (not MARCXML, MARC-in-JSON or ISO 2709)"}
    # Nothing in either could be read: the summary names them, and the command exits non-zero.
    assert s.files_unreadable == [f"{empty}: file is empty",
                                  f"{notes}: unrecognised format (not MARCXML, MARC-in-JSON or ISO 2709)"]


def test_a_fault_while_reading_a_later_file_still_stores_what_was_read_before(tmp_path, monkeypatch):
    real = pipeline.inputs.iter_chunks

    def failing(path, **kw):
        if str(path).endswith("lc5.mrc"):
            raise RuntimeError("the disk went away")
        return real(path, **kw)

    monkeypatch.setattr(pipeline.inputs, "iter_chunks", failing)
    store = tmp_path / "store"
    with pytest.raises(RuntimeError, match="the disk went away"):
        run([FENNICA, MARC / "lc5.mrc"], store)
    assert stored_by_source(store) == {FENNICA.name: 124}


def test_grouped_look_ups_pass_on_the_records_read_before_a_fault():
    """A store on a server is asked about records 200 at a time; a fault part-way through a
    group still lets the records before it through (they were lost on Virtuoso: the test
    above, run with --store-server)."""
    asked = []

    class Loader:
        def prefetch(self, group):
            asked.append(list(group))

    def outcomes():
        yield from ("r1", "r2", "r3")
        raise RuntimeError("the disk went away")

    out = []
    with pytest.raises(RuntimeError, match="the disk went away"):
        for o in pipeline.inputs._prefetched(outcomes(), Loader(), size=2):
            out.append(o)
    assert out == ["r1", "r2", "r3"] and asked == [["r1", "r2"], ["r3"]]


def test_a_directory_given_as_input_is_an_error_before_anything_is_written(tmp_path):
    store = tmp_path / "store"
    with pytest.raises(MetadatabronnError, match=f"{re.escape(str(MARC))} is a directory"):
        run([GOLDEN, MARC], store)
    assert not store.exists()


# an interrupted load ---------------------------------------------------------------------------

def crash_bulk_load(m: pytest.MonkeyPatch, cut, on_call: int = 1) -> None:
    """Make the ``on_call``-th bulk load write only ``cut(lines)`` lines, then fail."""
    original = Store.bulk_load
    calls = []

    def bulk_load(self, nquads) -> None:  # N-Quads as str, as UTF-8 bytes, or as a list of parts
        calls.append(1)
        if len(calls) != on_call:
            return original(self, nquads)
        if isinstance(nquads, list):
            nquads = b"".join(nquads)
        lines = nquads.splitlines(keepends=True)
        text = [line.decode("utf-8") if isinstance(line, bytes) else line for line in lines]
        original(self, nquads[:0].join(lines[: cut(text)]))
        raise StoreError("bulk load failed: simulated crash part-way through")

    m.setattr(Store, "bulk_load", bulk_load)


def clean_run(tmp_path) -> Counter:
    run([GOLDEN], tmp_path / "clean")
    return masked(tmp_path / "clean")


def interrupted_then_rerun(tmp_path, monkeypatch, cut, on_call: int = 1, batch_records: int = 2000) -> Summary:
    """Ingest golden.mrc with a bulk load that fails part-way, then ingest it again."""
    store = tmp_path / "store"
    with monkeypatch.context() as m:
        crash_bulk_load(m, cut, on_call)
        with pytest.raises(StoreError):
            run([GOLDEN], store, batch_records=batch_records)
    return run([GOLDEN], store)


def test_interrupted_bulk_load_fails_with_store_error_and_store_reopens(tmp_path, monkeypatch):
    s = interrupted_then_rerun(tmp_path, monkeypatch, lambda lines: len(lines) // 2)
    assert s.records_read == s.records_stored == 22
    assert s.manifestations == 22


@pytest.mark.parametrize("on_call", [1, 3])
def test_rerun_repairs_a_load_that_failed_before_writing(tmp_path, monkeypatch, on_call):
    s = interrupted_then_rerun(tmp_path, monkeypatch, lambda lines: 0, on_call=on_call, batch_records=5)
    assert s.records_stored == 22
    assert masked(tmp_path / "store") == clean_run(tmp_path)


def test_rerun_after_interrupted_load_equals_a_clean_run(tmp_path, monkeypatch):
    interrupted_then_rerun(tmp_path, monkeypatch, lambda lines: len(lines) // 2)
    store = tmp_path / "store"
    generated = Counter(graph_of(q) for q in quads(store) if q.predicate.value == PROV_GENERATED)
    assert set(generated.values()) == {1}
    assert masked(store) == clean_run(tmp_path)


def test_rerun_completes_an_entity_core_cut_short(tmp_path, monkeypatch):
    interrupted_then_rerun(tmp_path, monkeypatch, lambda lines: 1)  # only the first core's rdf:type
    assert masked(tmp_path / "store") == clean_run(tmp_path)


def test_change_log_entries_stay_whole_after_an_interrupted_load(tmp_path, monkeypatch):
    def after_first_change_published(lines):
        first = next(i for i, line in enumerate(lines) if line.startswith(f"<{BASE}/change/"))
        return first + 3  # rdf:type, as:object, as:published; not mb:sequence

    interrupted_then_rerun(tmp_path, monkeypatch, after_first_change_published)
    per_change = Counter((q.subject.value, q.predicate.value) for q in quads(tmp_path / "store")
                         if graph_of(q) == CHANGES)
    assert set(per_change.values()) == {1}


# rejects of two runs ---------------------------------------------------------------------------

def test_rejects_of_an_earlier_run_in_the_same_second_are_kept(tmp_path, monkeypatch):
    class SameSecond(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

    monkeypatch.setattr(pipeline.run, "datetime", SameSecond)
    store = tmp_path / "store"
    first = run([MARC / "pymarc-utf8_invalid.mrc"], store)
    first_entries = read_rejects(first.rejects_file)
    second = run([MARC / "pymarc-bad_subfield_code.dat"], store)
    assert read_rejects(second.rejects_file)[0]["source"].endswith("pymarc-bad_subfield_code.dat")
    assert read_rejects(first.rejects_file) == first_entries


# totals kept batch by batch ------------------------------------------------------------------

def recount(store: Path) -> dict[str, int]:
    s = Store(store, read_only=True)
    try:
        return s.count_entities()
    finally:
        s.close()


def totals(s: Summary) -> dict[str, int]:
    return {"works": s.works, "expressions": s.expressions, "manifestations": s.manifestations, "agents": s.agents}


def test_summary_totals_are_kept_batch_by_batch_and_equal_a_count_of_the_store(tmp_path):
    store = tmp_path / "store"
    records = golden_records()
    deleted = lambda raw: edited(raw, mark_deleted)
    steps = [
        [records[i] for i in range(22)],  # everything new
        [deleted(records[0]), deleted(records[1]), deleted(records[0])],  # two deletions, one twice
        [deleted(records[2]), records[2]],  # deleted and back in one batch
        list(records[:4]),  # 0 and 1 come back, 2 and 3 as they are
    ]
    for n, step in enumerate(steps):
        s = run([write(tmp_path / f"step{n}.mrc", step)], store, batch_records=2)
        assert totals(s) == recount(store), f"step {n}"
    assert totals(s)["manifestations"] == 22
    # An edit in the well that takes an entity away: the next ingest's totals follow it.
    (row,) = select(store, "SELECT ?w WHERE { ?w a <http://rdaregistry.info/Elements/c/C10001> } ORDER BY ?w LIMIT 1")
    work = row["w"]
    st = Store(store, BASE)
    try:
        st.update(f"DELETE WHERE {{ <{work}> ?p ?o }}")
    finally:
        st.close()
    s = run([MARC / "lc5.mrc"], store)
    assert totals(s) == recount(store)


def test_a_run_that_fails_after_its_load_reports_the_failure_and_does_not_hang(tmp_path, monkeypatch):
    """Compacting fails after the records are written: the error comes out (the loader, closed
    already, is not waited for again), and the records written stay."""
    store = tmp_path / "store"

    def failing(self):
        raise StoreError("compacting the store failed: the disk is full")

    monkeypatch.setattr(Store, "compact", failing)
    with pytest.raises(StoreError, match="disk is full"):
        run([GOLDEN], store)
    monkeypatch.undo()
    s = Store(store, BASE, read_only=True)
    try:
        assert len(list(s.record_graphs())) == len(golden_records())
    finally:
        s.close()
