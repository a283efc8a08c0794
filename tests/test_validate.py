"""The validation gate and the validate command: behaviour on real records, and the fast
checker proven equal to pySHACL on every profile and corpus."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import rdflib

from metadatabronn.cli import main
from metadatabronn.errors import RecordError
from metadatabronn.mapping import convert
from metadatabronn.mapping import terms as T
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.tools import record_texts
from metadatabronn.rdf import serialise
from metadatabronn.validate import PROFILES, VIOLATION, WARNING, Data, check, load_profile
from metadatabronn.validate import reference
from metadatabronn.validate.check import paths_of

from .conftest import DATA, ROOT, full, quad_store, record_with, shared

BASE = "http://example.org"
SH = "http://www.w3.org/ns/shacl#"
EXTENT = "http://rdaregistry.info/Elements/m/P30182"
LANGUAGE = "http://rdaregistry.info/Elements/e/P20006"
GOLDEN = DATA / "golden" / "golden.mrc"
NO_LANGUAGE_008 = "160101s2016    nyu           000 0 |||  "  # 008/35-37 not coded, no 041


def nquads_of(record) -> str:
    s = serialise(convert(record), BASE, source="t", source_hash="h", when="2026-01-01T00:00:00Z")
    return s.nquads + "".join(c for _, _, c in s.cores)


def write_record(path: Path, record) -> Path:
    path.write_bytes(record.as_marc())
    return path


def select(store: Path, sparql: str) -> list:
    s = quad_store(store)
    try:
        return [[t.value if t is not None else None for t in row] for row in s.query(sparql, use_default_graph_as_union=True)]
    finally:
        del s


# the checker on single records -----------------------------------------------------------------

def test_a_complete_record_conforms_to_base():
    record = record_with("=245  10$aPride and prejudice /$cJane Austen.", "=300  \\\\$a312 p. ;$c20 cm.",
                         "=020  \\\\$a9780198116578", "=260  \\\\$aLondon :$bPenguin,$c2003.",
                         "=100  1\\$aAusten, Jane,$d1775-1817.", "=650  \\0$aCourtship$vFiction.")
    results = check(Data.from_nquads(nquads_of(record)), load_profile("base"))
    assert not [r for r in results if r.severity == VIOLATION], results


def test_missing_extent_is_a_warning_naming_the_marc_field():
    results = check(Data.from_nquads(nquads_of(record_with("=245  10$aTitle."))), load_profile("base"))
    extent = [r for r in results if r.path == EXTENT]
    assert len(extent) == 1 and extent[0].severity == WARNING
    assert "300" in extent[0].marc_tags and "extent" in extent[0].message.lower()


def test_language_is_mandatory_for_texts_only():
    record = record_with("=245  10$aTitle.", "=300  \\\\$a1 v.", f008=NO_LANGUAGE_008)
    data = Data.from_nquads(nquads_of(record))
    base = [r for r in check(data, load_profile("base")) if r.path == LANGUAGE]
    text = [r for r in check(data, load_profile("language-based")) if r.path == LANGUAGE]
    assert [r.severity for r in base] == [WARNING]
    assert VIOLATION in [r.severity for r in text]


def test_bad_isbn13_check_digit_is_kept_apart_with_a_warning():
    record = record_with("=245  10$aTitle.", "=020  \\\\$a9788203364781")
    results = check(Data.from_nquads(nquads_of(record)), load_profile("base"))
    bad = [r for r in results if r.value is not None and r.value.value == "urn:isbn:9788203364781"]
    assert bad and all(r.severity == WARNING and r.path == T.MB_INVALID_IDENTIFIER for r in bad)
    assert not any(r.severity == VIOLATION for r in results)


# equal to pySHACL -----------------------------------------------------------------------------

def _records(path: Path, limit: int | None = None):
    for n, (_, _, text) in enumerate(record_texts(path, BASE), 1):
        yield text
        if limit and n >= limit:
            return


def _assert_same_as_pyshacl(texts, profile_name: str) -> int:
    profile = load_profile(profile_name)
    # pySHACL runs once over all the records, each under IRIs of its own so that no entity is
    # shared between them: the same as one run per record, in a fraction of the time.
    batch = [t.replace(f"<{BASE}/", f"<{BASE}/r{i}/") for i, t in enumerate(texts)]
    fast = sorted(r.key() for t in batch for r in check(Data.from_nquads(t), profile))
    ref = sorted(r.key() for r in reference.validate("".join(batch), profile))
    assert fast == ref
    return len(fast)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("path", [DATA / "golden" / "golden.mrc", DATA / "golden" / "golden-cc0.marcxml",
                                  DATA / "golden" / "golden-mit.marcxml", ROOT / "data" / "fennica-sample.marcxml",
                                  ROOT / "data" / "sample.mrc", DATA / "marc" / "lc-refuse-nothing.mrc",
                                  DATA / "marc" / "m2bf2-refuse-nothing.xml"], ids=lambda p: p.name)
def test_fast_checker_equals_pyshacl_on_bundled_records(path, profile):
    """Every record of each file with ``pytest --full``; of the files of more than 100 records
    (the two samples, 400 and 200 records: most of this test's three minutes) every eighth
    otherwise, from a start drawn anew each run, so that runs add up to every record."""
    texts = list(_records(path))
    start = 0
    if not full() and len(texts) > 100:
        start = random.randrange(8)
        texts = texts[start::8]
    try:
        _assert_same_as_pyshacl(texts, profile)
    except AssertionError as exc:
        raise AssertionError(f"records {start}, {start + 8}, … of {path.name}: {exc}") from None


def test_fast_checker_equals_pyshacl_on_hand_made_edge_cases():
    records = [
        record_with("=245  10$aTitle.", "=020  \\\\$a9788203364781"),  # bad check digit
        record_with("=245  10$aTitle.", f008=NO_LANGUAGE_008),
        record_with("=245  10$aTitle.", "=264  \\4$cno year here"),
        record_with("=245  10$aTitle.", "=100  3\\$aFamily name."),
        record_with("=245  10$aTitle.", "=852  \\\\$p123"),
        record_with("=245  10$aTitle.", "=041  0\\$aengjap"),  # kept as given: an absent-row warning
        record_with("=245  10$aTitle.", "=700  1\\$a,$d1900-"),  # a heading without a name
        record_with("=245  00$f1899-1923."),  # no title proper
    ]
    for profile in PROFILES:
        assert _assert_same_as_pyshacl((nquads_of(r) for r in records), profile) >= len(records)


def _gate_views(record, profile):
    """The data the gate reads (the serialiser's rows) and the data of the text it stores."""
    paths = paths_of(profile)
    s = serialise(convert(record), BASE, source="t", source_hash="h", when="2026-01-01T00:00:00Z",
                  rows_for=paths)
    return Data.from_rows(s.rows), Data.from_nquads(s.nquads + "".join(c for _, _, c in s.cores), paths)


@pytest.mark.parametrize("path", [DATA / "golden" / "golden.mrc", DATA / "golden" / "golden-cc0.marcxml",
                                  DATA / "golden" / "golden-mit.marcxml", ROOT / "data" / "fennica-sample.marcxml",
                                  ROOT / "data" / "sample.mrc", DATA / "marc" / "lc-unicode.mrc"],
                         ids=lambda p: p.name)
def test_the_gate_reads_exactly_the_statements_that_are_stored(path):
    # The gate does not parse the stored text back; what it reads instead must be that text.
    profiles = [load_profile(name) for name in PROFILES]
    n = 0
    for chunk in iter_chunks(str(path)):
        try:
            record = parse_chunk(chunk)
            convert(record)
        except RecordError:  # rejected before the gate
            continue
        for profile in profiles:
            rows, stored = _gate_views(record, profile)
            assert rows.types == stored.types, chunk.number
            assert {s: {p: sorted(v, key=repr) for p, v in ps.items()} for s, ps in rows.values.items()} == \
                   {s: {p: sorted(v, key=repr) for p, v in ps.items()} for s, ps in stored.values.items()}, chunk.number
            assert [r.key() for r in check(rows, profile)] == [r.key() for r in check(stored, profile)]
        n += 1
    assert n > 0


def test_the_gate_reads_a_second_form_of_a_heading_and_odd_iris_as_stored():
    record = record_with("=245  10$aTitle.", "=100  1\\$aGibson, Charles H.",
                         "=700  1\\$aGibson, Charles, H.$eeditor.",
                         "=650  \\0$aCourtship$0http://id.loc.gov/authorities/subjects/sh 85033433",
                         "=546  \\$aIn English.", "=041  0\\$aeng$ano r")  # a code with a space: an IRI that must be escaped
    for name in PROFILES:
        rows, stored = _gate_views(record, load_profile(name))
        assert rows.types == stored.types
        assert {s: {p: set(v) for p, v in ps.items()} for s, ps in rows.values.items()} == \
               {s: {p: set(v) for p, v in ps.items()} for s, ps in stored.values.items()}


# the gate at ingest ----------------------------------------------------------------------------

def _invalid_and_valid(tmp_path: Path) -> tuple[Path, Path]:
    """Two records: one whose 245 has only its dates, so no title proper (a Violation), one that
    conforms."""
    bad = record_with("=245  00$f1899-1923.", "=300  \\\\$a1 v.", cn="BAD1")
    good = record_with("=245  10$aGood record.", "=300  \\\\$a1 v.", cn="GOOD1")
    path = tmp_path / "two.mrc"
    path.write_bytes(bad.as_marc() + good.as_marc())
    return path, tmp_path / "store"


def _stored(store: Path) -> set[str]:
    return {row[0] for row in select(store, "SELECT ?m WHERE { ?m a <http://rdaregistry.info/Elements/c/C10007> }")}


def test_reject_keeps_the_invalid_record_aside_with_its_report(tmp_path):
    path, store = _invalid_and_valid(tmp_path)
    s = ingest([str(path)], Settings(store=store, base=BASE, workers=1))
    assert (s.records_read, s.records_stored, s.records_rejected, s.records_invalid) == (2, 1, 1, 1)
    assert _stored(store) == {f"{BASE}/manifestation/DLC-GOOD1"}
    (entry,) = [json.loads(line) for line in Path(s.rejects_file).read_text().splitlines()]
    assert entry["status"] == "invalid" and entry["record"] == 1
    assert any(r["severity"] == "Violation" and r["source_shape"].endswith("#Manifestation-titleProper")
               for r in entry["validation"])
    assert parse_chunk(next(iter_chunks(Path(s.rejects_file).with_suffix(".mrc"))))["001"].data == "BAD1"


@pytest.mark.parametrize("mode", ["keep", "warn"])
def test_keep_and_warn_store_the_record_with_its_results(tmp_path, mode, caplog):
    path, store = _invalid_and_valid(tmp_path)
    s = ingest([str(path)], Settings(store=store, base=BASE, workers=1, on_invalid=mode))
    assert (s.records_stored, s.records_rejected, s.records_stored_with_violations) == (2, 0, 1)
    rows = select(store, f"""SELECT ?m WHERE {{ ?r <{SH}resultSeverity> <{SH}Violation> ; <{SH}focusNode> ?m .
                                               ?m a <http://rdaregistry.info/Elements/c/C10007> }}""")
    assert rows == [[f"{BASE}/manifestation/DLC-BAD1"]]
    assert ("violation" in caplog.text) == (mode == "warn")


def test_warnings_are_queryable_and_cleared_when_the_record_is_fixed(tmp_path):
    record = record_with("=245  10$aNo extent yet.", cn="FIX1")
    path = write_record(tmp_path / "r.mrc", record)
    store = tmp_path / "store"
    ingest([str(path)], Settings(store=store, base=BASE, workers=1))
    lacking = f"""SELECT ?m WHERE {{ ?r <{SH}resultPath> <{EXTENT}> ; <{SH}focusNode> ?m }}"""
    assert select(store, lacking) == [[f"{BASE}/manifestation/DLC-FIX1"]]
    tags = select(store, f"SELECT ?t WHERE {{ ?r <{SH}resultPath> <{EXTENT}> ; <https://w3id.org/metadatabronn/ns#marcTags> ?t }}")
    assert "300" in tags[0][0]
    record.add_field(*record_with("=300  \\\\$a200 p.").get_fields("300"))
    write_record(path, record)
    s = ingest([str(path)], Settings(store=store, base=BASE, workers=1))
    assert s.records_updated == 1
    assert select(store, lacking) == []


def test_a_changed_profile_checks_unchanged_records_again(tmp_path):
    path, store = _invalid_and_valid(tmp_path)
    ingest([str(path)], Settings(store=store, base=BASE, workers=1, profile=None))
    assert len(_stored(store)) == 2  # no gate
    s = ingest([str(path)], Settings(store=store, base=BASE, workers=1))
    assert s.records_unchanged == 0 and s.records_invalid == 1
    # Rejected now, but the version stored before is not lost.
    assert len(_stored(store)) == 2


# the validate command ---------------------------------------------------------------------------

def test_validate_files_text_json_turtle_and_exit_codes(tmp_path, capsys):
    path, _ = _invalid_and_valid(tmp_path)
    assert main(["validate", str(path)]) == 1
    text = capsys.readouterr().out
    assert "1 of 2 records conform" in text and "Violations" in text and "(DLC)BAD1 (record 1 of" in text
    assert "245" in text
    assert main(["validate", str(path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == 1 and report["records"] == 2 and report["conforms"] is False
    assert {r["control_number"] for r in report["results"] if r["severity"] == "Violation"} == {"(DLC)BAD1"}
    assert main(["validate", str(path), "--format", "turtle"]) == 1
    g = rdflib.Graph().parse(data=capsys.readouterr().out, format="turtle")
    assert (None, rdflib.URIRef(SH + "conforms"), rdflib.Literal(False)) in g
    good = write_record(tmp_path / "good.mrc", record_with("=245  10$aGood.", "=300  \\\\$a1 v."))
    assert main(["validate", str(good)]) == 0


def test_validate_counts_records_that_cannot_be_converted_as_ingest_does(tmp_path, capsys):
    fennica = ROOT / "data" / "fennica-sample.marcxml"  # 131 records; 114-120 have no 245
    s = ingest([str(fennica)], Settings(store=tmp_path / "store", base=BASE, workers=1))
    assert (s.records_read, s.records_rejected, s.records_invalid) == (131, 7, 0)

    assert main(["validate", str(fennica), "--base-iri", BASE]) == 1
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert "124 of 131 records conform" in first and "7 could not be checked" in first
    assert "no title statement (245)" in text and f"record 114 of {fennica}" in text

    assert main(["validate", str(fennica), "--base-iri", BASE, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["conforms"] is False
    assert (report["records"], report["records_conforming"], report["records_not_checked"]) == (131, 124, 7)
    assert report["records"] == s.records_read
    assert report["records_not_checked"] == s.records_rejected - s.records_invalid - sum(s.records_aside.values())
    assert [(u["record"], u["tag"]) for u in report["not_checked"]] == [(n, "245") for n in range(114, 121)]
    assert all(u["source"] == str(fennica) and "245" in u["reason"] for u in report["not_checked"])

    assert main(["validate", str(fennica), "--base-iri", BASE, "--format", "turtle"]) == 1
    turtle = capsys.readouterr().out
    assert "# 7 of 131 records could not be converted" in turtle
    rdflib.Graph().parse(data=turtle, format="turtle")


def test_validate_goes_on_past_a_file_that_cannot_be_read(tmp_path, capsys):
    import gzip

    packed = gzip.compress(GOLDEN.read_bytes())
    cut = tmp_path / "golden.mrc.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    assert main(["validate", str(cut), str(GOLDEN), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (problem,) = report["not_checked"]
    whole = problem["record"] - 1
    assert 0 < whole < 22 and problem["source"] == str(cut)
    assert "Compressed file ended" in problem["reason"] and f"after record {whole}" in problem["reason"]
    assert (report["records"], report["records_conforming"]) == (whole + 1 + 22, whole + 22)


def test_validate_usage_errors_exit_2(tmp_path, capsys):
    path, _ = _invalid_and_valid(tmp_path)
    assert main(["validate", str(path), "--profile", "nonesuch"]) == 2
    assert "unknown profile" in capsys.readouterr().err
    assert main(["validate", str(path), "--store", str(tmp_path)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--format", "yaml"])
    assert exc.value.code == 2


def test_validate_store_gives_what_ingest_stored(tmp_path, capsys):
    path, store = _invalid_and_valid(tmp_path)
    ingest([str(path)], Settings(store=store, base=BASE, workers=1, on_invalid="keep"))
    assert main(["validate", "--store", str(store), "--format", "json"]) == 1
    from_store = json.loads(capsys.readouterr().out)
    main(["validate", str(path), "--format", "json", "--base-iri", BASE])
    from_files = json.loads(capsys.readouterr().out)
    key = lambda r: (r["focus_node"], r["path"], r["severity"], r["source_shape"], r["value"])
    assert sorted(map(key, from_store["results"])) == sorted(map(key, from_files["results"]))


def test_pyshacl_engine_gives_the_same_report(tmp_path, capsys):
    path, _ = _invalid_and_valid(tmp_path)
    main(["validate", str(path), "--format", "json"])
    fast = json.loads(capsys.readouterr().out)
    main(["validate", str(path), "--format", "json", "--engine", "pyshacl"])
    ref = json.loads(capsys.readouterr().out)
    key = lambda r: (r["focus_node"], r["path"], r["severity"], r["source_shape"], r["value"], r["marc_tags"])
    assert sorted(map(key, fast["results"])) == sorted(map(key, ref["results"]))


@pytest.mark.parametrize("corpus", ["lc-books-2016-part01-first20k.mrc.gz", "lc-marc2bibframe2", "natlibfi-fennica",
                                    "austen-marc4j", "koha-sample", "norwegian", "pymarc-edge-cases"])
def test_fast_checker_equals_pyshacl_on_shared_corpora(corpus):
    """The first records of every corpus; bench/equivalence.py runs every record of every one."""
    root = shared(corpus)
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file() and p.name.endswith((".mrc", ".xml", ".marcxml", ".dat")))
    records = [t for f in files for t in _records(f, limit=60)][:150]
    for profile in PROFILES:
        _assert_same_as_pyshacl(records, profile)


def test_fast_checker_equals_pyshacl_on_hand_written_rdf():
    """Values the mapping never writes but another source might: every constraint kind fires."""
    m, e, w, p = (f"<{BASE}/{k}/x>" for k in ("manifestation", "expression", "work", "agent"))
    rdam, rdae, rdaa, rdac = (f"http://rdaregistry.info/Elements/{x}/" for x in "meac")
    t = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    text = "\n".join([
        f"{m} {t} <{rdac}C10007> .",
        f'{m} <{rdam}P30004> "urn:isbn:12345" .',              # ISBN of the wrong length
        f'{m} <{rdam}P30004> "urn:isbn:9780198116579" .',      # bad check digit
        f'{m} <{rdam}P30004> "urn:issn:12345678" .',           # ISSN without its hyphen
        f'{m} <{rdam}P30004> <urn:isbn:9780198116578> .',      # an IRI where a literal is due
        f'{m} <{rdam}P30011> "sometime" .',                     # not a date
        f'{m} <{rdam}P30003> <http://rdaregistry.info/termList/ModeIssue/1002> .',  # deprecated term
        f'{m} <{rdam}P30003> <http://rdaregistry.info/termList/ModeIssue/1001> .',  # and a second mode
        f"{m} <{rdam}P30139> _:b1 .",
        f"{e} {t} <{rdac}C10006> .",
        f'{e} <{rdae}P20006> "eng" .',                          # a literal, not a code IRI
        f"{p} {t} <{rdac}C10004> .",
        f'{p} <{rdaa}P50121> "c. 1850" .',
        f'{p} <{rdaa}P50117> "One" .', f'{p} <{rdaa}P50117> "Two" .',
        f"{m} <{rdam}P30135> {w} .",                            # the manifested work, typed or not:
        f"{m} <{rdam}P30135> <{BASE}/work/y> .",                # both are asked for a subject
        f"{w} {t} <{rdac}C10001> .",
        f"<{BASE}/work/z> {t} <{rdac}C10001> .",                # a related work: titles only
    ]) + "\n"
    for profile in PROFILES:
        assert _assert_same_as_pyshacl([text], profile) >= 10


# naming records and the field at fault ------------------------------------------------------------

def test_a_rejection_names_the_record_by_its_control_number_and_the_tag_at_fault():
    from metadatabronn.validate import RecordReport

    record = record_with("=245  00$f1899-1923.", "=300  \\\\$a1 v.", cn="BAD1")
    results = check(Data.from_nquads(nquads_of(record)), load_profile("base"))
    report = RecordReport("two.mrc", 4, "(DLC)BAD1", results)
    assert [r.shape.rsplit("#", 1)[1] for r in report.violations] == ["Manifestation-titleProper"]
    assert report.warnings and all(r.severity != VIOLATION for r in report.warnings)
    reason, tag = report.rejection("base", {f.tag for f in record.fields})
    assert reason.startswith("does not conform to profile base: 1 violation(s): ") and "title proper" in reason
    assert tag == "245"
    assert report.label == "(DLC)BAD1 (record 4 of two.mrc)"
    assert RecordReport("two.mrc", 4, "", results).label == "record 4 of two.mrc"


def test_the_field_at_fault_is_the_one_the_record_has():
    from metadatabronn.validate.check import Result
    from metadatabronn.validate.report import tag_at_fault

    def at(tags, have):
        return tag_at_fault(Result("", "", "", "", "", None, "", tags), have)

    assert at("041 $a, 008/35-37", {"008", "245"}) == "008"
    assert at("041 $a, 008/35-37", {"008", "041"}) == "041"
    assert at("1XX + 130/240/245", {"110", "245"}) == "110"
    assert at("245 $a $n $p", {"100"}) == "245"  # a missing 245 is the 245's fault
    assert at("Leader/07", {"245"}) is None and at("the record's expression", {"245"}) is None


def test_the_control_number_of_stored_data_is_the_one_its_iri_is_minted_from():
    """A record whose 001 has no 003 (marc2bibframe2's "429272") has a 035 "(OCoLC)…" among its
    identifiers: the control number is the 001, not the first identifier in parentheses."""
    from metadatabronn.validate.report import control_number_of

    record = record_with("=035  \\\\$a(OCoLC)12345", "=245  10$aTitle.", cn="T0001")
    record.remove_fields("003")
    assert control_number_of(Data.from_nquads(nquads_of(record))) == "T0001"
    record = record_with("=035  \\\\$a(OCoLC)12345", "=245  10$aTitle.", cn="T0001")
    assert control_number_of(Data.from_nquads(nquads_of(record))) == "(DLC)T0001"
