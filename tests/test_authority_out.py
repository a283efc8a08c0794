"""Authority records out: an authority record goes out exactly as it came in, plus what the well
changed (an identifier a writer added as a new 024, a name or variant edited in the 1XX/4XX)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pymarc
import pytest
from pymarc import Field, Indicators, Record, Subfield

from metadatabronn.isni import checksum
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.authority import authority_identifier
from metadatabronn.mapping.authority_out import AuthoritySource, from_rows, to_marc
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.marc.compare import compare
from metadatabronn.marc.writer import encode
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.editing import now
from metadatabronn.pipeline.export import export
from metadatabronn.pipeline.isni import assign
from metadatabronn.store import Store
from metadatabronn.store import editing as E

DATA = Path(__file__).parent / "data"
BIBSYS = DATA / "marc" / "bibsys-authority_SRU_response.xml"  # a real BIBSYS authority (MIT)
BASE = "http://localhost:8000"
ISNI = "000000012103268X"


def _record(path: Path = BIBSYS) -> Record:
    return parse_chunk(next(iter(iter_chunks(str(path)))))


def layout(record: Record) -> str:
    """The carried layout (version 3) as ingest writes it: values the entities hold as ``[value]``
    (the headings and identifiers here), the rest as given."""
    fields = []
    for f in record.fields:
        if f.is_control_field():
            fields.append([f.tag, f.data])
            continue
        held = f.tag[:1] in "14" or f.tag == "024"
        fields.append([f.tag, f.indicator1 + f.indicator2,
                       [[s.code, [s.value]] if held and s.code in "abcdqt" else [s.code, s.value]
                        for s in f.subfields]])
    return json.dumps({"h": 3, "leader": str(record.leader), "fields": fields}, ensure_ascii=False)


def _out(src: AuthoritySource) -> Record:
    """As a library system reads the record: written as ISO 2709 and read again."""
    return Record(data=encode(to_marc(src), "marc"), force_utf8=True)


def _source(record: Record, **kw) -> AuthoritySource:
    return AuthoritySource("(NO-TrBIB)90361304", f"{BASE}/agent/x", layout(record), **kw)


def test_unedited_record_goes_out_exactly_as_it_came():
    given = _record()
    out = _out(_source(given))
    diff = compare(given, out)
    assert (diff.lost, diff.changed, diff.added) == ([], [], [])
    assert [str(f) for f in out.fields] == [str(f) for f in given.fields]
    # Lengths and base address regenerated, UTF-8 said; the rest of the Leader as given.
    assert str(out.leader)[5:9] == "nz  " and str(out.leader)[9] == "a"
    assert str(out.leader)[17:] == str(given.leader)[17:]


def test_005_says_when_the_record_last_changed_in_the_well():
    out = _out(_source(_record(), modified="2026-12-05T01:02:03.5Z"))
    assert out["005"].data == "20261205010203.0"
    assert [f.tag for f in out.fields][:4] == ["001", "003", "005", "008"]


def test_isni_added_in_the_well_goes_out_as_a_new_024():
    given = _record()
    src = _source(given, identifiers=(f"(isni){ISNI}", f"https://isni.org/isni/{ISNI}",
                                      "http://viaf.org/viaf/126209034"))
    out = _out(src)
    tags = [f.tag for f in out.fields]
    f024 = out.get_fields("024")
    assert [str(f) for f in f024[:3]] == [str(f) for f in given.get_fields("024")]
    # one field for the ISNI and its URI; the VIAF URI the record gives already adds nothing
    assert len(f024) == 4 and tuple(f024[3].indicators) == ("7", " ")
    assert f024[3].subfields_as_dict() == {"a": [ISNI], "2": ["isni"]}
    assert tags.index("040") == tags.index("024") + 4  # in tag order, before the 040
    diff = compare(given, out)
    assert diff.lost == [] and diff.changed == [] and diff.added == [str(f024[3])]


def test_isni_given_with_spaces_is_not_added_again():
    given = _record()
    for f in given.get_fields("024"):
        if f["2"] == "hdl":
            f.subfields[0] = f.subfields[0]._replace(value="0000 0001 2103 268X")
            f.subfields[1] = f.subfields[1]._replace(value="isni")
    out = _out(_source(given, identifiers=(f"(isni){ISNI}",)))
    assert len(out.get_fields("024")) == 3


def test_identifier_removed_by_a_later_edit_takes_its_024_along():
    given = _record()
    own = {T.MB_IDENTIFIER: ("(NO-TrBIB)x90361304", "(hdl)http://hdl.handle.net/11250/1269159",
                             "(viaf)http://viaf.org/viaf/126209034")}
    edited = {T.MB_IDENTIFIER: ("(NO-TrBIB)x90361304", "(viaf)126209034")}
    out = _out(_source(given, own=own, edited=edited))
    assert [f["2"] for f in out.get_fields("024")] == ["NO-TrBIB", "viaf"]


def test_preferred_access_point_edited_goes_out_in_the_1xx():
    given = _record()
    old = "NATO Advanced Research Workshop on Movable Bed Physical Models"
    new = "NATO Advanced Research Workshop on Movable Bed Physical Models (1989 : Delft)"
    src = _source(given, own={T.A_CORPORATE_AAP: (old,)}, edited={T.A_CORPORATE_AAP: (new,)})
    out = _out(src)
    assert tuple(out["111"].indicators) == ("2", " ")
    assert out["111"].subfields_as_dict() == {"a": [new]}
    # an edit that says what the record says changes nothing
    same = _out(_source(given, own={T.A_CORPORATE_AAP: (old,)}, edited={T.A_CORPORATE_AAP: (old,)}))
    assert str(same["111"]) == str(given["111"])


def test_edited_name_keeps_the_heading_subfields_it_still_has():
    given = _record()
    given.remove_fields("111")

    given.add_ordered_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[
        Subfield("a", "Ritchie, Dennis M.,"), Subfield("d", "1941-"), Subfield("0", "(x)1")]))
    src = _source(given, edited={T.A_PERSON_AAP: ("Ritchie, Dennis MacAlistair, 1941-2011",)})
    f100 = _out(src)["100"]
    assert [(s.code, s.value) for s in f100.subfields] == [
        ("a", "Ritchie, Dennis MacAlistair,"), ("d", "1941-2011"), ("0", "(x)1")]
    # the name alone edited: $a takes it with the record's punctuation before $d, the dates stay
    src = _source(given, edited={T.A_PERSON_NAME: ("Ritchie, Dennis MacAlistair",)})
    assert _out(src)["100"].subfields_as_dict() == {"a": ["Ritchie, Dennis MacAlistair,"], "d": ["1941-"],
                                                     "0": ["(x)1"]}


def test_work_title_edited_goes_out_in_the_130_or_the_name_title_heading():
    works = _given()
    title = works["(NO-TrBIB)99990008"]  # 130 $a Kvædet om Ørnulv
    src = AuthoritySource("(NO-TrBIB)99990008", f"{BASE}/work/x", layout(title),
                          edited={T.W_PREFERRED_TITLE: ("Kvædet om Ørnulv jarl",)})
    assert str(_out(src)["130"]) == "=130  \\0$aKvædet om Ørnulv jarl"
    named = works["(NO-TrBIB)99990007"]  # 100 $a Solberg, Åse Kari, $d 1921-1998. $t Fjellsanger
    src = AuthoritySource("(NO-TrBIB)99990007", f"{BASE}/work/y", layout(named),
                          edited={T.W_PREFERRED_TITLE: ("Fjellsanger og andre dikt",)})
    assert [(s.code, s.value) for s in _out(src)["100"].subfields] == [
        ("a", "Solberg, Åse Kari,"), ("d", "1921-1998."), ("t", "Fjellsanger og andre dikt")]


def test_deleted_record_has_leader_05_d():
    given = _record()
    out = _out(_source(given, deleted=True))
    assert str(out.leader)[5] == "d" and out["001"].data == "90361304"
    gone = _out(AuthoritySource("(NO-TrBIB)90361304", f"{BASE}/agent/x", "", deleted=True))
    assert str(gone.leader)[5:7] == "dz"
    assert [(f.tag, f.data) for f in gone.fields] == [("001", "90361304"), ("003", "NO-TrBIB")]


def _rows(graph: str, entity: str, record: Record, *, writer_at: str, loaded: str):
    g_rows = [(graph, T.MB_CARRIED, layout(record), True, None, None),
              (graph, "http://www.w3.org/ns/prov#generatedAtTime", loaded, True, None, None)]
    writer = f"{BASE}/edit/isni/agent/x"
    e_rows = [(graph, T.MB_AUTHORITY_ID, "(NO-TrBIB)90361304", True, None, None),
              (graph, T.A_CORPORATE_AAP, "NATO Advanced Research Workshop on Movable Bed Physical Models", True,
               None, None),
              (writer, T.MB_IDENTIFIER, f"(isni){ISNI}", True, None, None),
              (writer, T.OWL_SAMEAS, f"https://isni.org/isni/{ISNI}", False, None, None),
              (writer, T.A_CORPORATE_AAP, "NATO Workshop", True, None, None),
              ("", T.A_CORPORATE_AAP, "NATO Advanced Research Workshop", True, None, None)]
    return g_rows, e_rows, {writer: writer_at}


@pytest.mark.parametrize("writer_at, renamed", [("2026-12-05T02:00:00Z", True), ("2026-12-05T00:00:00Z", False)])
def test_from_rows_reads_edits_after_the_load_and_identifiers_whenever(writer_at, renamed):
    graph, entity = f"{BASE}/authority/NO-TrBIB-90361304", f"{BASE}/agent/x"
    g_rows, e_rows, stamps = _rows(graph, entity, _record(), writer_at=writer_at, loaded="2026-12-05T01:00:00Z")
    src = from_rows(graph, g_rows, e_rows, BASE, stamps, modified=writer_at)
    assert src.identifier == "(NO-TrBIB)90361304"
    out = _out(src)
    # an ISNI is kept whenever it was given: a later load of the record that lacks it does not drop it
    assert [f["a"] for f in out.get_fields("024")][-1] == ISNI
    # a name edited before the record's (re)load is older than the record: the record's stays
    assert out["111"]["a"] == ("NATO Workshop" if renamed else
                               "NATO Advanced Research Workshop on Movable Bed Physical Models")
    assert out["005"].data == ("20261205020000.0" if renamed else "20261205010000.0")


# -- through the store: ingest, edit, export --------------------------------------------------

NORWEGIAN = DATA / "authorities" / "norwegian-style.xml"


def _given(path: Path = NORWEGIAN) -> dict[str, Record]:
    return {authority_identifier(r)[0]: r for r in (parse_chunk(c) for c in iter_chunks(str(path)))}


def _export(store: Path, fmt: str = "marc", **kw) -> tuple[list[Record], object]:
    out = io.BytesIO()
    result = export(store, BASE, out, fmt, kind="authority", workers=1, **kw)
    if fmt == "marcxml":
        return pymarc.parse_xml_to_array(io.BytesIO(out.getvalue())), result
    return list(pymarc.MARCReader(io.BytesIO(out.getvalue()), force_utf8=True)), result


@pytest.fixture(scope="module")
def authority_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("authorities") / "store"
    ingest([str(NORWEGIAN)], Settings(store=store, base=BASE, workers=1, profile=None))
    return store


def test_export_gives_every_authority_record_back_exactly(authority_store):
    given = _given()
    records, result = _export(authority_store)
    live = {i for i, r in given.items() if str(r.leader)[5] != "d"}
    assert result.failed == [] and result.deleted == 0
    assert sorted(authority_identifier(r)[0] for r in records) == sorted(live)
    for record in records:
        original = given[authority_identifier(record)[0]]
        diff = compare(original, record)
        # 005 says when the record last changed in the well (also in a record that came without
        # one); everything else is as it came
        assert diff.lost == [] and [a[:4] for a in diff.added] == ([] if original.get("005") else ["=005"])
        assert diff.changed == []  # (a 005 restamped is not a change: the well's time, by design)
        assert record.get("005") is not None
        assert [str(f) for f in record.fields if f.tag != "005"] == \
            [str(f) for f in original.fields if f.tag != "005"]
        assert str(record.leader)[5:10] == str(original.leader)[5:9] + "a"


def test_bibliographic_export_leaves_authority_records_out(authority_store):
    out = io.BytesIO()
    assert export(authority_store, BASE, out, "marc", workers=1).records == 0


def test_isni_assigned_in_the_well_goes_out_as_024(tmp_path):
    store_dir = tmp_path / "store"

    ingest([str(NORWEGIAN)], Settings(store=store_dir, base=BASE, workers=1, profile=None))
    before, _ = _export(store_dir)
    isni = "000000099990009" + checksum.check_character("000000099990009")
    store = Store(store_dir, BASE)
    try:
        agent = next(row["e"].value for row in store.query(
            f'SELECT ?e WHERE {{ GRAPH ?g {{ ?e <{T.MB_AUTHORITY_ID}> "(NO-TrBIB)99990009" }} }}'))
        written = assign(store, agent, isni, "test")
    finally:
        store.close()
    after, _ = _export(store_dir)
    old = {r["001"].data: r for r in before}
    new = {r["001"].data: r for r in after}
    changed = [n for n in new if str(new[n]) != str(old[n])]
    assert changed == ["99990009"]
    record = new["99990009"]
    assert [f.subfields_as_dict() for f in record.get_fields("024")] == [
        {"a": ["x99990009"], "2": ["NO-TrBIB"]}, {"a": [isni], "2": ["isni"]}]
    diff = compare(old["99990009"], record)
    assert diff.lost == [] and diff.added == [str(record.get_fields("024")[1])]
    assert record["005"].data == "".join(c for c in written.when[:19] if c.isdigit()) + ".0"
    # only what changed since the ISNI's write: the record it went to
    again, _ = _export(store_dir, since=written.when)
    assert [r["001"].data for r in again] == ["99990009"]


def test_export_command_writes_marcxml(authority_store, tmp_path):
    out = tmp_path / "authorities.xml"
    cli = Path(sys.executable).parent / "metadatabronn"
    done = subprocess.run([str(cli), "export", "--kind", "authority", "--store", str(authority_store),
                           "--format", "marcxml", "--out", str(out), "--workers", "2"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "authority records" in done.stderr
    records = pymarc.parse_xml_to_array(str(out))
    assert len(records) == sum(1 for r in _given().values() if str(r.leader)[5] != "d")
    assert all(str(r.leader)[6] == "z" for r in records)
    refused = subprocess.run([str(cli), "export", "--kind", "authority", "--rda", "--store", str(authority_store),
                              "--out", str(tmp_path / "x.mrc")], capture_output=True, text=True)
    assert refused.returncode == 2 and "--rda is for bibliographic records" in refused.stderr


def test_export_since_gives_a_deleted_authority_with_leader_05_d(authority_store):
    records, result = _export(authority_store, since="2000-01-01T00:00:00Z")
    status = {r["001"].data: str(r.leader)[5] for r in records}
    assert len(status) == len(_given()) and result.deleted == 1
    assert status["99990010"] == "d" and status["99990011"] == "x"  # replaced: still stored, as it came
    gone = next(r for r in records if r["001"].data == "99990010")
    assert [f.tag for f in gone.fields] == ["001", "003", "005"]


def test_preferred_name_edited_in_the_well_goes_out_in_the_1xx(tmp_path):
    store_dir = tmp_path / "store"
    ingest([str(NORWEGIAN)], Settings(store=store_dir, base=BASE, workers=1, profile=None))
    store = Store(store_dir, BASE)
    try:
        agent = next(row["e"].value for row in store.query(
            f'SELECT ?e WHERE {{ GRAPH ?g {{ ?e <{T.MB_AUTHORITY_ID}> "(NO-TrBIB)99990002" }} }}'))
        variant = "http://rdaregistry.info/Elements/a/P50412"  # variant access point for person
        variants = [o for g, p, o, *_ in store.about(agent, raw=True) if p == variant and "/authority/" in g]
        E.write(store, agent, E.Author("nb", "ada"), [
            (T.A_PERSON_AAP, "Bøe, Håkon Andreas, 1950-", True, None, None),
            (T.A_PERSON_NAME, "Bøe, Håkon Andreas", True, None, None),
            *[(variant, v, True, None, None) for v in [*variants, "Bøe, Håkon, 1950-"]]], [], now())
    finally:
        store.close()
    records, _ = _export(store_dir)
    record = next(r for r in records if r["001"].data == "99990002")
    original = _given()["(NO-TrBIB)99990002"]
    assert str(original["100"]) == "=100  1\\$aBøe, Håkon$d1950-"
    assert [(s.code, s.value) for s in record["100"].subfields] == [("a", "Bøe, Håkon Andreas"), ("d", "1950-")]
    # the old preferred form is a variant now, beside the record's own; everything else as it came
    assert variants and [str(f) for f in record.get_fields("400")] == \
        [str(f) for f in original.get_fields("400")] + ["=400  1\\$aBøe, Håkon$d1950-"]
    assert [str(f) for f in record.fields if f.tag not in ("005", "100", "400")] == \
        [str(f) for f in original.fields if f.tag not in ("005", "100", "400")]


def test_variants_added_and_removed_in_the_well_go_out_as_4xx():
    person = _given()["(NO-TrBIB)99990001"]  # 100 $a Solberg, Åse Kari $d 1921-1998, two 400s
    variant = "http://rdaregistry.info/Elements/a/P50412"  # variant access point for person
    own = (("Solberg, Aase Kari, 1921-1998", "Solberg Dæhli, Åse"))
    src = AuthoritySource("(NO-TrBIB)99990001", f"{BASE}/agent/x", layout(person), own={variant: own},
                          edited={variant: ("Solberg, Aase Kari, 1921-1998", "Solberg, Å. K., 1921-1998")})
    out = _out(src)
    assert [str(f) for f in out.get_fields("400")] == [
        "=400  1\\$aSolberg, Aase Kari$d1921-1998", "=400  1\\$aSolberg, Å. K.$d1921-1998"]
    assert [f.tag for f in out.fields].index("400") > [f.tag for f in out.fields].index("378")
    # nothing said of the variants: the record's own stay as they came
    same = _out(AuthoritySource("(NO-TrBIB)99990001", f"{BASE}/agent/x", layout(person), own={variant: own},
                                edited={T.A_PERSON_NAME: ("Solberg, Åse Kari",)}))
    assert [str(f) for f in same.get_fields("400")] == [str(f) for f in person.get_fields("400")]


def test_export_since_gives_an_authority_loaded_again_changed(tmp_path):
    store = tmp_path / "store"
    ingest([str(NORWEGIAN)], Settings(store=store, base=BASE, workers=1, profile=None))
    changed = tmp_path / "changed.xml"
    changed.write_text(NORWEGIAN.read_text(encoding="utf-8").replace("Forfatter", "Lyriker"), encoding="utf-8")
    since = now()  # after the first load's changes, before the second's
    ingest([str(changed)], Settings(store=store, base=BASE, workers=1, profile=None))
    records, _ = _export(store, since=since)
    numbers = [r["001"].data for r in records]
    assert "99990001" in numbers and len(numbers) < len(_given()) - 1
    record = next(r for r in records if r["001"].data == "99990001")
    assert str(record["374"]) == "=374  \\\\$aLyriker"
