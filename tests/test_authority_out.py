"""Authority records out: an authority record goes out exactly as it came in, plus what the well
changed (an identifier a writer added as a new 024, a preferred name edited in the 1XX)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pymarc import Record

from metadatabronn.mapping import terms as T
from metadatabronn.mapping.authority_out import AuthoritySource, from_rows, to_marc
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.marc.compare import compare
from metadatabronn.marc.writer import encode

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
    from pymarc import Field, Indicators, Subfield

    given.add_ordered_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[
        Subfield("a", "Ritchie, Dennis M.,"), Subfield("d", "1941-"), Subfield("0", "(x)1")]))
    src = _source(given, edited={T.A_PERSON_AAP: ("Ritchie, Dennis MacAlistair, 1941-2011",)})
    f100 = _out(src)["100"]
    assert [(s.code, s.value) for s in f100.subfields] == [
        ("a", "Ritchie, Dennis MacAlistair,"), ("d", "1941-2011"), ("0", "(x)1")]
    # the name alone edited: $a takes it, the dates stay
    src = _source(given, edited={T.A_PERSON_NAME: ("Ritchie, Dennis MacAlistair",)})
    assert _out(src)["100"].subfields_as_dict() == {"a": ["Ritchie, Dennis MacAlistair"], "d": ["1941-"],
                                                     "0": ["(x)1"]}


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
