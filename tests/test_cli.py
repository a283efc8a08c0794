"""Behaviour of the ``metadatabronn`` command: in-process through ``cli.main`` and once for real
as ``python -m metadatabronn``.

User errors must end with exit status 1 (2 for a bad argument, found before anything is read or
written) and one line ``metadatabronn: error: ...`` on stderr, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from metadatabronn.cli import main
from .conftest import plain_env, quad_store

ROOT = Path(__file__).parent.parent
LC5 = Path(__file__).parent / "data" / "marc" / "lc5.mrc"
BAD = Path(__file__).parent / "data" / "marc" / "pymarc-utf8_invalid.mrc"
SAMPLE = ROOT / "data" / "sample.mrc"
FENNICA = ROOT / "data" / "fennica-sample.marcxml"  # 131 records; 114-120 have no 245
LC5_IRIS = {f"http://example.org/manifestation/DLC-{cn}" for cn in
            ("00000002", "00000004", "00000006", "00000007", "00000009")}  # 001 of lc5.mrc
MANIFESTATIONS = """
    SELECT ?m ?title WHERE {
      ?m a <http://rdaregistry.info/Elements/c/C10007> ;
         <http://rdaregistry.info/Elements/m/P30156> ?title }
    ORDER BY ?m"""


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *words: str) -> None:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("metadatabronn: error: ")
    for word in words:
        assert word in lines[0]


def manifestation_iris(store: Path) -> set[str]:
    s = quad_store(store)
    try:
        return {str(q.subject.value) for q in s.quads_for_pattern(
            None, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            ox.NamedNode("http://rdaregistry.info/Elements/c/C10007"), None)}
    finally:
        del s


@pytest.fixture
def store(tmp_path, capsys) -> Path:
    path = tmp_path / "store"
    code, _, _ = cli(capsys, "ingest", LC5, "--store", path, "--base-iri", "http://example.org",
                     "--workers", "1", "-q")
    assert code == 0
    return path


# ingest ----------------------------------------------------------------------------------------

def test_ingest_writes_the_report_and_prints_a_summary(tmp_path, capsys):
    report = tmp_path / "report.json"
    code, out, err = cli(capsys, "ingest", LC5, "--store", tmp_path / "store", "--report", report,
                         "--base-iri", "http://example.org", "--workers", "1")
    assert code == 0
    data = json.loads(report.read_text(encoding="utf-8"))
    assert {"records_read", "records_stored", "records_rejected", "works", "expressions",
            "manifestations", "agents", "seconds"} <= set(data)
    assert data["records_read"] == data["records_stored"] + data["records_rejected"] == 5
    assert data["manifestations"] == 5
    assert "records read" in out and str(tmp_path / "store") in out
    assert "Traceback" not in err
    assert manifestation_iris(tmp_path / "store") == LC5_IRIS


def test_ingest_quiet_prints_nothing_and_reports_rejects(tmp_path, capsys):
    report = tmp_path / "r.json"
    code, out, _ = cli(capsys, "ingest", LC5, BAD, "--store", tmp_path / "store", "--report", report,
                       "--rejects", tmp_path / "rejects", "--workers", "1", "-q")
    assert code == 0
    assert out == ""
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["records_read"], data["records_stored"], data["records_rejected"]) == (6, 5, 1)
    assert Path(data["rejects_file"]).parent == tmp_path / "rejects"
    (entry,) = [json.loads(x) for x in Path(data["rejects_file"]).read_text(encoding="utf-8").splitlines()]
    assert entry["record"] == 1 and entry["source"].endswith("pymarc-utf8_invalid.mrc")


def test_ingest_of_a_missing_file_is_a_one_line_error(tmp_path, capsys):
    missing = tmp_path / "missing.mrc"
    code, out, err = cli(capsys, "ingest", missing, "--store", tmp_path / "store")
    assert code == 1
    assert_one_line_error(err, str(missing))
    assert not (tmp_path / "store").exists()


def test_bad_base_iri_is_a_one_line_error(tmp_path, capsys, store):
    code, _, err = cli(capsys, "ingest", LC5, "--store", tmp_path / "other", "--base-iri", "not-an-iri")
    assert code == 1
    assert_one_line_error(err, "base IRI", "not-an-iri")
    assert not (tmp_path / "other").exists()
    code, _, err = cli(capsys, "query", "ASK {}", "--store", store, "--base-iri", "ftp://example.org/x")
    assert code == 1
    assert_one_line_error(err, "base IRI")
    code, _, err = cli(capsys, "query", "ASK {}", "--store", store, "--base-iri", "http://example.org/?q=1")
    assert code == 1
    assert_one_line_error(err, "base IRI")


def test_bad_workers_setting_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("METADATABRONN_WORKERS", "many")
    code, _, err = cli(capsys, "ingest", LC5, "--store", tmp_path / "store")
    assert code == 1
    assert_one_line_error(err, "workers", "many")
    code, _, err = cli(capsys, "ingest", LC5, "--store", tmp_path / "store", "--workers", "0")
    assert code == 1
    assert_one_line_error(err, "workers")


def test_bad_batch_setting_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("METADATABRONN_BATCH_RECORDS", "lots")
    code, _, err = cli(capsys, "ingest", LC5, "--store", tmp_path / "store")
    assert code == 1
    assert_one_line_error(err, "batch records", "lots")
    monkeypatch.delenv("METADATABRONN_BATCH_RECORDS")
    code, _, err = cli(capsys, "ingest", LC5, "--store", tmp_path / "store", "--batch-records", "0")
    assert code == 1
    assert_one_line_error(err, "batch records")
    assert not (tmp_path / "store").exists()


def test_a_load_in_small_batches_stores_what_one_batch_does(tmp_path, capsys):
    """Records split over many bulk loads (two a batch) give the store one load gives: the same
    statements but for the load's own times, and a load again finds every record current."""
    def load(name, *flags):
        store = tmp_path / name
        code, _, _ = cli(capsys, "ingest", LC5, "--store", store, "--workers", "1", "-q", *flags)
        assert code == 0
        s = quad_store(store)
        try:  # (each load has its own time)
            return {(q.subject, q.predicate, q.object, q.graph_name) for q in s
                    if not (isinstance(q.object, ox.Literal) and q.object.datatype == DATETIME)}
        finally:
            del s

    DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
    whole = load("whole")
    split = load("split", "--batch-records", "2")
    assert whole == split and len(whole) > 100
    code, out, _ = cli(capsys, "ingest", LC5, "--store", tmp_path / "split", "--workers", "1", "--batch-records", "2")
    assert code == 0 and "unchanged 5" in out.replace(",", "")


def test_environment_gives_store_and_base_iri(tmp_path, capsys, monkeypatch):
    env_store = tmp_path / "env-store"
    monkeypatch.setenv("METADATABRONN_STORE", str(env_store))
    monkeypatch.setenv("METADATABRONN_BASE_IRI", "https://data.example.net/bib/")
    monkeypatch.chdir(tmp_path)
    code, _, _ = cli(capsys, "ingest", LC5, "--workers", "1", "-q")
    assert code == 0
    assert not (tmp_path / "var").exists()  # not the default store
    iris = manifestation_iris(env_store)
    assert len(iris) == 5
    assert all(i.startswith("https://data.example.net/bib/manifestation/DLC-") for i in iris)

    code, out, _ = cli(capsys, "query", MANIFESTATIONS, "--format", "json")
    assert code == 0
    bindings = json.loads(out)["results"]["bindings"]
    assert {b["m"]["value"] for b in bindings} == iris

    # A flag wins over the environment.
    code, _, _ = cli(capsys, "ingest", LC5, "--store", tmp_path / "flag-store",
                     "--base-iri", "http://flag.example", "--workers", "1", "-q")
    assert code == 0
    assert all(i.startswith("http://flag.example/manifestation/") for i in manifestation_iris(tmp_path / "flag-store"))
    assert manifestation_iris(env_store) == iris


# query -----------------------------------------------------------------------------------------

def test_query_json_is_w3c_sparql_results(capsys, store):
    code, out, err = cli(capsys, "query", MANIFESTATIONS, "--store", store, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["head"]["vars"] == ["m", "title"]
    bindings = data["results"]["bindings"]
    assert len(bindings) == 5
    assert {b["m"]["value"] for b in bindings} == LC5_IRIS
    assert all(b["m"]["type"] == "uri" and b["title"]["type"] == "literal" for b in bindings)
    assert [b["m"]["value"] for b in bindings] == sorted(LC5_IRIS)


def test_query_csv_and_tsv(capsys, store):
    code, out, _ = cli(capsys, "query", MANIFESTATIONS, "--store", store, "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == "m,title"
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["m"] for r in rows} == LC5_IRIS
    assert all(r["title"] for r in rows)

    code, out, _ = cli(capsys, "query", MANIFESTATIONS, "--store", store)  # csv is the default
    assert code == 0 and out.splitlines()[0] == "m,title"

    code, out, _ = cli(capsys, "query", MANIFESTATIONS, "--store", store, "--format", "tsv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "?m\t?title"
    assert {line.split("\t")[0] for line in lines[1:]} == {f"<{i}>" for i in LC5_IRIS}


def test_query_ask_and_construct(capsys, store):
    code, out, _ = cli(capsys, "query", "ASK { ?s a <http://rdaregistry.info/Elements/c/C10001> }",
                       "--store", store, "--format", "json")
    assert code == 0
    assert json.loads(out)["boolean"] is True
    code, out, _ = cli(capsys, "query",
                       "CONSTRUCT { ?m a ?c } WHERE { ?m a ?c FILTER(?c = <http://rdaregistry.info/Elements/c/C10007>) }",
                       "--store", store)
    assert code == 0
    assert len([line for line in out.splitlines() if line.strip()]) == 5


def test_query_from_stdin_and_from_a_file(tmp_path, capsys, monkeypatch, store):
    monkeypatch.setattr(sys, "stdin", io.StringIO(MANIFESTATIONS))
    code, out, _ = cli(capsys, "query", "-", "--store", store, "--format", "json")
    assert code == 0
    assert len(json.loads(out)["results"]["bindings"]) == 5
    rq = tmp_path / "q.rq"
    rq.write_text(MANIFESTATIONS, encoding="utf-8")
    code, out, _ = cli(capsys, "query", f"@{rq}", "--store", store, "--format", "json")
    assert code == 0
    assert len(json.loads(out)["results"]["bindings"]) == 5


def test_query_syntax_error_is_a_one_line_error(capsys, store):
    code, out, err = cli(capsys, "query", "SELEC ?s WHERE { ?s ?p ?o }", "--store", store)
    assert code == 1
    assert out == ""
    assert_one_line_error(err, "SPARQL")


def test_query_without_a_store_is_a_one_line_error(tmp_path, capsys):
    code, _, err = cli(capsys, "query", "ASK {}", "--store", tmp_path / "nothing-here")
    assert code == 1
    assert_one_line_error(err, "no store", "nothing-here")
    assert not (tmp_path / "nothing-here").exists()


def test_query_from_a_missing_file_is_a_one_line_error(tmp_path, capsys, store):
    code, _, err = cli(capsys, "query", f"@{tmp_path / 'missing.rq'}", "--store", store)
    assert code == 1
    assert_one_line_error(err, "missing.rq")


def test_report_in_a_missing_directory_is_a_one_line_error(tmp_path, capsys):
    report = tmp_path / "no" / "such" / "report.json"
    code, _, err = cli(capsys, "ingest", LC5, "--store", tmp_path / "store", "--report", report,
                       "--workers", "1", "-q")
    assert code == 2
    assert_one_line_error(err, "report.json", "does not exist")
    assert not (tmp_path / "store").exists()


def test_rejects_directory_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    not_a_dir = tmp_path / "rejects"
    not_a_dir.write_text("", encoding="utf-8")
    code, _, err = cli(capsys, "ingest", BAD, "--store", tmp_path / "store", "--rejects", not_a_dir,
                       "--workers", "1", "-q")
    assert code == 2
    assert_one_line_error(err, "--rejects", "not a directory")
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("flag", ["--rejects", "--report"])
def test_unusable_rejects_or_report_path_fails_before_anything_is_stored(tmp_path, capsys, flag):
    a_file = tmp_path / "afile"
    a_file.write_text("", encoding="utf-8")
    # --rejects under a file; --report naming a directory. BAD's one record would be rejected.
    value, words = ((a_file / "sub", [str(a_file), "not a directory"]) if flag == "--rejects"
                    else (tmp_path, [str(tmp_path), "is a directory"]))
    code, out, err = cli(capsys, "ingest", LC5, BAD, "--store", tmp_path / "store", flag, value, "--workers", "1")
    assert code == 2
    assert_one_line_error(err, flag, *words)
    assert out == ""
    assert not (tmp_path / "store").exists()


def test_ingest_of_a_truncated_gzip_stores_what_was_read_and_reports_the_cut(tmp_path, capsys, caplog):
    import gzip

    packed = gzip.compress(SAMPLE.read_bytes())
    cut = tmp_path / "trunc.mrc.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    report = tmp_path / "report.json"
    code, out, err = cli(capsys, "ingest", FENNICA, cut, "--store", tmp_path / "store", "--report", report,
                         "--base-iri", "http://example.org", "--workers", "1")
    assert code == 0, err
    assert "Traceback" not in err
    data = json.loads(report.read_text(encoding="utf-8"))
    whole = data["records_read"] - 131 - 1
    assert whole > 0
    assert (data["records_stored"], data["records_rejected"]) == (124 + whole, 8)
    assert data["manifestations"] == 124 + whole == len(manifestation_iris(tmp_path / "store"))
    assert data["rejection_reasons"]["rest of the file unreadable"] == 1
    entry = [json.loads(x) for x in Path(data["rejects_file"]).read_text(encoding="utf-8").splitlines()][-1]
    assert entry["source"] == str(cut) and entry["record"] == whole + 1
    assert f"after record {whole}" in entry["reason"] and "Compressed file ended" in entry["reason"]
    assert "rest of the file unreadable" in out
    # The warning names the file, the record and what was wrong, on one line.
    (line,) = [r.getMessage() for r in caplog.records if str(cut) in r.getMessage()]
    assert line.startswith(f"{cut} record {whole + 1}: ") and "Compressed file ended" in line and "\n" not in line


def test_ingest_of_a_directory_says_it_is_one(tmp_path, capsys):
    code, _, err = cli(capsys, "ingest", LC5, tmp_path, "--store", tmp_path / "store")
    assert code == 1
    assert_one_line_error(err, str(tmp_path), "is a directory")
    assert not (tmp_path / "store").exists()


@pytest.mark.embedded_only("the lock pyoxigraph takes on its directory: a server has no such lock, and takes two writers")
def test_store_written_by_another_process_is_named_as_such(tmp_path, capsys, store):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, pyoxigraph as ox; s = ox.Store(sys.argv[1]); print('open', flush=True); "
                               "sys.stdin.read()", str(store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(tmp_path))
    try:
        assert holder.stdout.readline().strip() == "open"
        code, _, err = cli(capsys, "ingest", LC5, "--store", store, "--workers", "1", "-q")
        assert code == 1
        assert_one_line_error(err, str(store), "another process is writing to it")
        assert "LOCK" not in err
        code, _, err = cli(capsys, "update", "INSERT DATA { <http://example.org/work/x> <http://example.org/p> 1 }",
                           "--store", store, "--base-iri", "http://example.org")
        assert code == 1
        assert_one_line_error(err, "another process is writing to it")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_log_level_is_taken_before_or_after_the_command(tmp_path, capsys, store):
    for argv in (["--log-level", "nonsense", "query", "ASK {}"], ["query", "ASK {}", "--log-level", "nonsense"],
                 ["explain", LC5, "1", "2", "--log-level", "nonsense"]):
        code, _, err = cli(capsys, *argv, "--store", store) if argv[0] != "explain" else cli(capsys, *argv)
        assert code == 1
        assert_one_line_error(err, "log level", "NONSENSE")
    code, out, _ = cli(capsys, "query", "ASK {}", "--store", store, "--log-level", "error", "--format", "json")
    assert code == 0 and json.loads(out)["boolean"] is True


# update ----------------------------------------------------------------------------------------

def all_quads(store: Path) -> set:
    s = quad_store(store)
    try:
        return set(s)
    finally:
        del s


def work_of(store: Path) -> str:
    s = quad_store(store)
    try:
        return sorted(str(q.object.value) for q in s.quads_for_pattern(
            None, ox.NamedNode("http://rdaregistry.info/Elements/m/P30135"), None, None))[0]
    finally:
        del s


@pytest.mark.parametrize(("entity", "words"), [
    ("not an iri", ["--entity", "'not an iri'", "is not an IRI"]),
    ("http://elsewhere.example/work/1", ["--entity", "elsewhere.example", "not an entity of this store"]),
    ("http://example.org/manifestation/DLC-00000002", ["not an entity of this store"]),
])
def test_update_with_a_bad_entity_is_refused_and_changes_nothing(capsys, store, entity, words):
    work = work_of(store)
    before = all_quads(store)
    code, out, err = cli(capsys, "update", f'INSERT DATA {{ <{work}> <http://example.org/note> "edited" }}',
                         "--store", store, "--base-iri", "http://example.org", "--entity", work, "--entity", entity)
    assert code == 2
    assert_one_line_error(err, *words)
    assert out == ""
    assert all_quads(store) == before


def test_update_with_a_good_entity_is_applied_and_logged(capsys, store):
    work = work_of(store)
    before = all_quads(store)
    code, out, err = cli(capsys, "update", f'INSERT DATA {{ <{work}> <http://example.org/note> "edited" }}',
                         "--store", store, "--base-iri", "http://example.org", "--entity", f"<{work}>")
    assert code == 0, err
    assert out == "updated; 1 entities logged as changed\n"
    added = all_quads(store) - before
    assert any(q.object == ox.Literal("edited") and q.subject == ox.NamedNode(work) for q in added)
    assert any(q.object == ox.NamedNode(work) and q.predicate.value.endswith("#object") for q in added)


# query and serve -------------------------------------------------------------------------------

def test_query_given_an_update_points_to_the_update_command(capsys, store):
    before = all_quads(store)
    for text in ('INSERT DATA { <http://example.org/x> <http://example.org/p> 1 }',
                 'PREFIX ex: <http://example.org/>\n# a comment\ndelete where { ?s ex:p ?o }'):
        code, out, err = cli(capsys, "query", text, "--store", store)
        assert code == 1 and out == ""
        assert_one_line_error(err, "SPARQL Update", "not a query", "metadatabronn update")
    assert all_quads(store) == before


def test_a_query_whose_comment_has_an_update_word_is_still_a_query(capsys, store):
    # The demo's query opens with "# Works that several records share, with how many ...".
    demo = (ROOT / "data" / "demo-query.rq").read_text()
    code, out, err = cli(capsys, "query", demo, "--store", store)
    assert code == 0 and err == "" and out.startswith("title,expressions,manifestations,languages")
    code, out, _ = cli(capsys, "query", "# delete nothing, with care\nASK { ?s ?p ?o }", "--store", store)
    assert code == 0 and out.strip() == "true"


@pytest.mark.parametrize("port", ["0", "-1", "65536", "99999", "http"])
def test_serve_refuses_a_port_out_of_range(capsys, store, monkeypatch, port):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("serve started"))
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--store", str(store), "--port", port])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port" in err and (port in err) and "Traceback" not in err


@pytest.mark.parametrize("flag,value", [("--writer-nice", "25"), ("--query-nice", "20")])
def test_serve_refuses_a_priority_it_cannot_set(capsys, store, monkeypatch, flag, value):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("serve started"))
    code, _, err = cli(capsys, "serve", "--store", store, flag, value)
    assert code == 1
    assert_one_line_error(err, flag, "whole number from 0 to 19", value)


def test_serve_says_where_it_serves_which_store_before_it_starts(capsys, store, monkeypatch):
    import uvicorn

    started = {}

    def run(app, **kw):
        started.update(kw, said=capsys.readouterr().err)

    monkeypatch.setattr(uvicorn, "run", run)
    assert main(["serve", "--store", str(store), "--host", "0.0.0.0", "--port", "8123",
                 "--base-iri", "http://example.org"]) == 0
    assert (started["host"], started["port"]) == ("0.0.0.0", 8123)
    (line,) = started["said"].splitlines()
    assert "http://0.0.0.0:8123/" in line and str(store) in line
    assert main(["serve", "--store", str(store), "--host", "::1", "--port", "65535"]) == 0
    assert "http://[::1]:65535/" in started["said"]


# explain ---------------------------------------------------------------------------------------

def test_explain_says_same_work_or_different_works(capsys):
    code, out, _ = cli(capsys, "explain", SAMPLE, "00007090", "00033956")  # Pride and prejudice, twice
    assert code == 0
    assert out.startswith("same work: ")
    assert "austen jane" in out and "pride and prejudice" in out
    code, out, _ = cli(capsys, "explain", SAMPLE, "00007090", "00007077")  # ... and Northanger Abbey
    assert code == 0
    assert out.startswith("different works: ")
    assert "northanger abbey" in out
    code, out, _ = cli(capsys, "explain", SAMPLE, "00012999", "00013000")  # Le petit prince, in German
    assert code == 0
    assert out.startswith("same work: ") and "different expressions" in out


def test_explain_joins_a_translation_to_its_original_as_ingest_does(capsys):
    fennica = str(Path(__file__).parent.parent / "data" / "fennica-sample.marcxml")
    # A Finnish edition whose 240 names Fänrik Ståls sägner, and one that says only 041 $h swe.
    code, out, _ = cli(capsys, "explain", fennica, "000670725", "000742957")
    assert code == 0
    assert out.startswith("same work: ") and "fanrik stals sagner" in out


def test_explain_takes_record_numbers_too(capsys):
    code, by_number, _ = cli(capsys, "explain", LC5, "1", "2")
    assert code == 0
    code, by_control_number, _ = cli(capsys, "explain", LC5, "00000002", "00000004")
    assert code == 0
    assert by_number == by_control_number
    assert by_number.startswith("different works: ")


def test_explain_unknown_record_or_file_is_a_one_line_error(tmp_path, capsys):
    code, _, err = cli(capsys, "explain", SAMPLE, "00007090", "99999999")
    assert code == 1
    assert_one_line_error(err, "99999999")
    code, _, err = cli(capsys, "explain", tmp_path / "missing.mrc", "1", "2")
    assert code == 1
    assert_one_line_error(err, "missing.mrc")


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


# a real process --------------------------------------------------------------------------------

def _env(tmp_path: Path) -> dict[str, str]:
    env = plain_env()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["METADATABRONN_BASE_IRI"] = "http://example.org"
    return env


def test_python_m_metadatabronn_ingest_and_query(tmp_path):
    env = _env(tmp_path)
    store, report = tmp_path / "store", tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "metadatabronn", "ingest", str(LC5), "--store", str(store),
                           "--report", str(report), "--workers", "1"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "records read" in done.stdout
    assert json.loads(report.read_text(encoding="utf-8"))["records_stored"] == 5

    done = subprocess.run([sys.executable, "-m", "metadatabronn", "query", MANIFESTATIONS, "--store", str(store),
                           "--format", "json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert {b["m"]["value"] for b in json.loads(done.stdout)["results"]["bindings"]} == LC5_IRIS

    done = subprocess.run([sys.executable, "-m", "metadatabronn", "ingest", str(tmp_path / "nope.mrc"),
                           "--store", str(store)], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert done.returncode == 1
    assert_one_line_error(done.stderr, "nope.mrc")


@pytest.mark.parametrize("name, content, words", [
    ("empty.mrc", b"", ["empty.mrc", "file is empty"]),
    ("report.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
     ["report.pdf", "PDF"]),
])
def test_ingest_of_a_file_with_nothing_readable_exits_non_zero_after_storing_the_others(
        tmp_path, capsys, name, content, words):
    bad = tmp_path / name
    bad.write_bytes(content)
    store = tmp_path / "store"
    code, out, err = cli(capsys, "ingest", LC5, bad, "--store", store, "--workers", "1")
    assert code == 1
    assert_one_line_error(err, *words)
    assert manifestation_iris(store) == {i.replace("http://example.org", "http://localhost:8000") for i in LC5_IRIS}
    assert re.search(r"^records read\s+6$", out, re.M)  # lc5's five and the file that could not be read


def test_dc_source_is_the_files_name_and_the_records_position_never_a_path(tmp_path, capsys):
    store = tmp_path / "store"
    code, _, err = cli(capsys, "ingest", LC5.resolve(), "--store", store, "--workers", "1", "-q")
    assert code == 0, err
    code, out, err = cli(capsys, "query", "SELECT ?src ?n WHERE { GRAPH ?g { ?g <http://purl.org/dc/terms/source> ?src ; "
                         "<https://w3id.org/metadatabronn/ns#sourceRecord> ?n } } ORDER BY ?n", "--store", store)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))[1:]
    assert rows == [["lc5.mrc", str(n)] for n in range(1, 6)]
    assert str(LC5.parent) not in out


def test_ingest_into_an_empty_directory_makes_the_store_there(tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    code, _, err = cli(capsys, "ingest", LC5, "--store", store, "--workers", "1", "-q")
    assert code == 0, err
    assert manifestation_iris(store) == {i.replace("http://example.org", "http://localhost:8000") for i in LC5_IRIS}
