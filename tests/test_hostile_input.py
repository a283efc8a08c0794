"""Hostile and broken input: no file stops a run, and no record is lost without a word.

Every case has a real file in ``tests/data/hostile/`` (made by its ``make.py`` from the
public-domain LC sample). Each reader also gets a Hypothesis test that mutates real records:
whatever the bytes, the reader and the parser end in records or in a
:class:`~metadatabronn.errors.MetadatabronnError` with a reason, never in another exception.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import signal
import socket
import tempfile
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pymarc import Field, Record, Subfield

from metadatabronn.errors import ExportError, InputError, MarcError, MetadatabronnError, ReadError
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.marc import reader
from metadatabronn.marc.writer import encode

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "data" / "hostile"
SAMPLE = HERE.parent / "data" / "sample.mrc"
FENNICA = HERE.parent / "data" / "fennica-sample.marcxml"
MARC = HERE / "data" / "marc"


def lc(n: int) -> list[bytes]:
    return [r + b"\x1d" for r in SAMPLE.read_bytes().split(b"\x1d")[:n]]


def outcomes(path: Path) -> list[tuple[int, str, object]]:
    """(number, "ok" or "rejected", record or reason) for every chunk of *path*."""
    out = []
    for chunk in iter_chunks(path):
        try:
            out.append((chunk.number, "ok", parse_chunk(chunk)))
        except MarcError as exc:
            out.append((chunk.number, "rejected", exc.reason))
    return out


@contextmanager
def no_network():
    """Any attempt to open a socket fails the test."""
    real = socket.socket

    def refuse(*args, **kwargs):
        raise AssertionError("the reader tried to use the network")

    socket.socket = refuse
    try:
        yield
    finally:
        socket.socket = real


# MARCXML ------------------------------------------------------------------------------------


def test_marcxml_entities_internal_expanded_external_never_read_a_bomb_costs_its_record_only():
    path = HOSTILE / "entities.marcxml"
    tracemalloc.start()
    try:
        with no_network():
            got = outcomes(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(n, status) for n, status, _ in got] == [(1, "ok"), (2, "rejected"), (3, "rejected"), (4, "ok"), (5, "ok")]
    assert got[0][2].get_fields("500")[0]["a"] == "Catalogued by the Library of Congress."
    assert "&lol9;" in got[1][2] and "expands past" in got[1][2]
    assert "&xxe;" in got[2][2] and "external entities are never read" in got[2][2]
    # Markup inside a subfield: all its text is kept, the character reference resolved.
    assert got[3][2].get_fields("500")[0]["a"] == "Bound with another café guide."
    assert got[4][2]["001"].data.strip() == "00000466"
    assert peak < 50 << 20  # the billion laughs was never expanded
    # The rejected records keep their own XML, references as written, for a person to fix.
    chunks = list(iter_chunks(path))
    assert b"&lol9;" in chunks[1].data and b"<record" in chunks[1].data
    assert b"&xxe;" in chunks[2].data and b"root:" not in chunks[2].data


def test_marcxml_external_dtd_is_never_read():
    got = outcomes(HOSTILE / "external-dtd.marcxml")
    assert [(n, s) for n, s, _ in got] == [(1, "rejected"), (2, "ok")]
    assert "&secret;" in got[0][2] and "not declared" in got[0][2]


def test_marcxml_syntax_error_keeps_every_record_before_it(tmp_path):
    """Records parsed in the same block as the fault are not lost with it."""
    records = [etree.tostring(r) for r in etree.parse(str(FENNICA)).getroot()][:20]
    path = tmp_path / "broken.marcxml"
    path.write_bytes(b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + b"".join(records)
                     + b"<record><leader>bad</leader><datafield tag=245></record>")
    got = outcomes(path)
    assert [s for _, s, _ in got] == ["ok"] * 20 + ["rejected"]
    assert "not well-formed" in got[-1][2] and "line 1" in got[-1][2]


def test_marcxml_without_records_stops_within_bounded_memory(tmp_path):
    path = tmp_path / "flat.xml.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"<collection>")
        for _ in range(8):
            f.write(b"<x/>" * (1 << 18))
    got = outcomes(path)
    assert len(got) == 1 and got[0][1] == "rejected" and "without the end of a record" in got[0][2]


# ISO 2709 -----------------------------------------------------------------------------------


def test_iso_record_cut_short_does_not_take_the_next_record_with_it():
    r = lc(4)
    chunks = list(iter_chunks(HOSTILE / "cut-short.mrc"))
    assert [c.data for c in chunks] == [r[0], r[1][:-200], r[2], r[3]]
    got = outcomes(HOSTILE / "cut-short.mrc")
    assert [s for _, s, _ in got] == ["ok", "rejected", "ok", "ok"]
    assert "record terminator" in got[1][2]


def test_iso_lying_length_and_garbage_between_records_cost_nothing_else():
    got = outcomes(HOSTILE / "lying-length.mrc")
    assert [s for _, s, _ in got] == ["ok", "rejected", "ok"]
    assert "99999" in got[1][2]
    chunks = list(iter_chunks(HOSTILE / "garbage-between.mrc"))
    assert [c.data[:5] for c in chunks] == [b"01261", b"<html", b"00698"]
    assert [s for _, s, _ in outcomes(HOSTILE / "garbage-between.mrc")] == ["ok", "rejected", "ok"]


# Compressed input ---------------------------------------------------------------------------


def test_gzip_bomb_is_refused_past_the_unpacked_limit_after_its_records(monkeypatch):
    monkeypatch.setenv("METADATABRONN_MAX_UNPACKED", str(4 << 20))
    got = []
    tracemalloc.start()
    try:
        with pytest.raises(ReadError) as info:
            for chunk in iter_chunks(HOSTILE / "bomb.mrc.gz"):
                got.append(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got[0].data == lc(1)[0]
    assert "METADATABRONN_MAX_UNPACKED" in info.value.reason and "bomb.mrc.gz" in str(info.value)
    assert peak < 40 << 20


def test_gzip_bomb_is_refused_past_the_ratio(monkeypatch):
    monkeypatch.setattr(reader, "_RATIO_FLOOR", 1 << 20)
    with pytest.raises(ReadError, match="METADATABRONN_MAX_RATIO") as info:
        list(iter_chunks(HOSTILE / "bomb.mrc.gz"))
    assert info.value.after >= 1


def test_unpacked_limit_is_a_setting(monkeypatch):
    from metadatabronn import config
    from metadatabronn.errors import ConfigError

    assert config.max_unpacked() == config.DEFAULT_MAX_UNPACKED
    monkeypatch.setenv("METADATABRONN_MAX_UNPACKED", "nothing")
    with pytest.raises(ConfigError, match="unpacked size limit"):
        config.max_unpacked()


# JSON, empty files, other files --------------------------------------------------------------


def test_deeply_nested_json_is_an_error_not_zero_records():
    with pytest.raises(InputError, match=r"deep\.json: no MARC-in-JSON record .*nested 20000 deep"):
        list(iter_chunks(HOSTILE / "deep.json"))
    got = outcomes(HOSTILE / "deep-record.json")
    assert [s for _, s, _ in got] == ["ok", "rejected", "ok"]
    assert "nested too deeply" in got[1][2]


@pytest.mark.parametrize(("name", "message"), [
    ("empty.mrc", "file is empty"),
    ("not-marc.pdf", "not MARC: this is a PDF document"),
    ("error-page.xml", "not MARC: an XML document of <html> without MARC records")])
def test_empty_file_and_pdf_are_errors_naming_the_file(name, message):
    with pytest.raises(InputError) as info:
        list(iter_chunks(HOSTILE / name))
    assert str(info.value) == f"{HOSTILE / name}: {message}"


def test_ingest_of_every_hostile_file_loses_no_good_record_and_exits_non_zero(tmp_path, monkeypatch):
    from metadatabronn.cli import main

    monkeypatch.setenv("METADATABRONN_MAX_UNPACKED", str(4 << 20))
    files = ["entities.marcxml", "empty.mrc", "cut-short.mrc", "not-marc.pdf", "lying-length.mrc",
             "garbage-between.mrc", "deep-record.json", "deep.json", "bomb.mrc.gz", "external-dtd.marcxml",
             "error-page.xml"]
    store = tmp_path / "store"
    report = tmp_path / "report.json"
    status = main(["ingest", "--store", str(store), "--workers", "1", "--profile", "none", "--quiet",
                   "--report", str(report), *[str(HOSTILE / f) for f in files]])
    assert status != 0  # two files hold nothing readable
    summary = json.loads(report.read_text())
    # Good records: 3 + 0 + 3 + 0 + 2 + 2 + 2 + 0 + 1 + 1; every one of them stored.
    assert summary["records_stored"] == 14
    assert summary["records_read"] == summary["records_stored"] + summary["records_rejected"]
    unreadable = summary["files_unreadable"]
    assert any("empty.mrc: file is empty" in u for u in unreadable)
    assert any("not-marc.pdf: not MARC" in u for u in unreadable)
    assert any("deep.json: no MARC-in-JSON record" in u for u in unreadable)
    assert any("error-page.xml: not MARC" in u for u in unreadable) and len(unreadable) == 4
    rejects = [json.loads(line) for line in Path(summary["rejects_file"]).read_text().splitlines()]
    reasons = {(Path(r["source"]).name, r["record"]): r["reason"] for r in rejects}
    assert "&lol9;" in reasons[("entities.marcxml", 2)]
    assert "external" in reasons[("entities.marcxml", 3)]
    assert "record terminator" in reasons[("cut-short.mrc", 2)]
    assert "METADATABRONN_MAX_UNPACKED" in reasons[("bomb.mrc.gz", 2)]
    assert all(r["reason"] for r in rejects)
    cut = next(r for r in rejects if Path(r["source"]).name == "cut-short.mrc")
    assert cut["encoding"] == "utf-8" and cut["data"].encode() == lc(2)[1][:-200]


# Export ---------------------------------------------------------------------------------------


def hazardous_record() -> Record:
    record = Record(data=lc(1)[0], force_utf8=True)
    record.leader = record.leader[:18] + "é" + record.leader[19:]
    record.add_field(Field("500", [" ", " "], [Subfield("a", "Bell \x07, lone \ud800 and \x1d.")]))
    return record


def test_export_non_ascii_leader_and_control_characters_give_valid_output_and_say_so():
    notes: list[str] = []
    iso = encode(hazardous_record(), "marc", notes)
    record = parse_chunk(next(iter(_chunks_of(iso))))
    assert str(record.leader).isascii() and len(str(record.leader)) == 24
    assert record["500"]["a"] == "Bell \x07, lone \ufffd and \ufffd."
    assert any(n.startswith("leader") for n in notes) and any("field 500 $a" in n for n in notes)
    notes = []
    xml = encode(hazardous_record(), "marcxml", notes)
    etree.fromstring(xml)  # well-formed
    assert "Bell \ufffd, lone \ufffd and \ufffd." in xml.decode()
    assert any("U+0007" in n for n in notes)
    notes = []
    js = json.loads(encode(hazardous_record(), "json", notes))
    assert js["leader"].isascii() and any("U+D800" in n for n in notes)


def test_export_iso2709_refuses_a_record_over_99999_bytes_that_marcxml_and_json_write():
    record = Record(data=lc(1)[0], force_utf8=True)
    for i in range(15):
        record.add_field(Field("500", [" ", " "], [Subfield("a", f"Note {i}: " + "x" * 7000)]))
    with pytest.raises(ExportError, match="99,999"):
        encode(record, "marc")
    assert len(encode(record, "marcxml")) > 99_999
    assert len(encode(record, "json")) > 99_999
    record = Record(data=lc(1)[0], force_utf8=True)
    record.add_field(Field("505", ["0", " "], [Subfield("a", "y" * 10_000)]))
    with pytest.raises(ExportError, match="field 505 is"):
        encode(record, "marc")


def test_a_subfield_code_marc_cannot_carry_is_left_out_and_said_and_the_record_is_written():
    # BIBSYS's MARCXML has local 092/097/690 subfields coded "BIBLIOTEK": no MARC 21 subfield code.
    record = Record(data=lc(1)[0], force_utf8=True)
    record.add_field(Field("092", [" ", " "], [Subfield("a", "070.1"), Subfield("9", "LOCAL"),
                                                Subfield("BIBLIOTEK", "d")]))
    for fmt in ("marc", "marcxml"):
        notes = []
        out = encode(record, fmt, notes)
        assert any("'BIBLIOTEK'" in n and "left out" in n for n in notes)
        again = (Record(data=out, force_utf8=True) if fmt == "marc"
                 else etree.fromstring(out))
        if fmt == "marc":
            assert [(s.code, s.value) for s in again["092"].subfields] == [("a", "070.1"), ("9", "LOCAL")]
            assert [f.tag for f in again.fields] == [f.tag for f in record.fields]
        else:
            assert b"BIBLIOTEK" not in out and b'code="9">LOCAL' in out


def test_export_of_a_store_skips_what_iso2709_cannot_hold_and_reports_changes(tmp_path):
    from metadatabronn.pipeline import Settings, ingest
    from metadatabronn.pipeline.export import export

    store = tmp_path / "store"
    summary = ingest([str(HOSTILE / "export-hazards.json")], Settings(store=store, base=None, workers=1, profile=None))
    assert summary.records_stored == 3
    for fmt in ("marc", "marcxml", "json"):
        out = tmp_path / f"out.{fmt}"
        with open(out, "wb") as f:
            result = export(store, "http://localhost:8000", f, fmt, workers=1)
        got = outcomes(out)
        assert all(s == "ok" for _, s, _ in got)
        if fmt == "marc":
            assert result.records == 2 and len(result.failed) == 1
            assert "00000577" in result.failed[0] and "99,999" in result.failed[0]
        else:
            assert result.records == 3 and not result.failed
        assert any("U+0007" in c for c in result.changed) == (fmt == "marcxml")
        assert any("leader" in c for c in result.changed)


def _chunks_of(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "one"
        path.write_bytes(data)
        yield from list(iter_chunks(path))


# Fuzzing: every reader, real records mutated ----------------------------------------------------

_ISO = lc(40)
_MARC8 = [r + b"\x1d" for name in ("pymarc-marc8.dat", "pymarc-test.dat", "pymarc-diacritic.dat")
          for r in (MARC / name).read_bytes().split(b"\x1d") if r.strip()]
_XML = [etree.tostring(r) for r in list(etree.parse(str(FENNICA)).getroot())[:20]]
_JSON = [json.dumps(r, ensure_ascii=False).encode() for r in json.loads((MARC / "pymarc-batch.json").read_text())]
_XML_HEAD = b'<?xml version="1.0"?>\n<!DOCTYPE collection [<!ENTITY e "ent">]>\n' \
            b'<collection xmlns="http://www.loc.gov/MARC21/slim">'

_mutation = st.tuples(st.sampled_from(["flip", "set", "delete", "insert", "repeat", "truncate"]),
                      st.floats(0, 1, allow_nan=False), st.binary(min_size=1, max_size=8))


def _mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for op, where, what in mutations:
        if not buf:
            break
        i = min(int(where * len(buf)), len(buf) - 1)
        if op == "flip":
            buf[i] ^= what[0] or 1
        elif op == "set":
            buf[i : i + len(what)] = what
        elif op == "delete":
            del buf[i : i + what[0] % 64 + 1]
        elif op == "insert":
            buf[i:i] = what
        elif op == "repeat":
            buf[i:i] = buf[i : i + 16] * (what[0] % 8 + 1)
        else:
            del buf[i:]
    return bytes(buf)


class _Hang(Exception):
    pass


def _read_all(data: bytes, suffix: str = "") -> None:
    """The invariant: records, or MetadatabronnErrors with a reason, within 20 s."""

    def alarm(signum, frame):
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(20)
    try:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"input{suffix}"
            path.write_bytes(data)
            try:
                for chunk in iter_chunks(path):
                    try:
                        parse_chunk(chunk).as_dict()
                    except MarcError as exc:
                        assert exc.reason and not exc.reason.startswith("unreadable record ("), exc.reason
                        assert exc.number == chunk.number
            except MetadatabronnError as exc:
                assert str(exc)
    except _Hang:
        pytest.fail(f"no answer within 20 s for {data[:200]!r}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.lists(st.sampled_from(range(len(_ISO))), min_size=1, max_size=3), st.lists(_mutation, max_size=6))
def test_fuzz_iso2709(picks, mutations):
    _read_all(_mutate(b"".join(_ISO[i] for i in picks), mutations))


@_FUZZ
@given(st.lists(st.sampled_from(range(len(_MARC8))), min_size=1, max_size=3), st.lists(_mutation, max_size=6),
       st.sampled_from([b"\x1b(2", b"\x1b$1", b"\x1bb", b"\x1bg", b"\x1b(N", b"\xe1", b"\x1b"]))
def test_fuzz_marc8(picks, mutations, escape):
    data = bytearray(_mutate(b"".join(_MARC8[i] for i in picks), mutations))
    if b"\x1f" in data:
        at = data.index(b"\x1f") + 2
        data[at:at] = escape
    _read_all(bytes(data))


@_FUZZ
@given(st.lists(st.sampled_from(range(len(_XML))), min_size=1, max_size=3), st.lists(_mutation, max_size=6),
       st.booleans())
def test_fuzz_marcxml(picks, mutations, entity):
    records = b"".join(_XML[i] for i in picks)
    if entity:
        records = records.replace(b'code="a">', b'code="a">&e;', 1)
    _read_all(_mutate(_XML_HEAD + records + b"</collection>", mutations))


@_FUZZ
@given(st.lists(st.sampled_from(range(len(_JSON))), min_size=1, max_size=3), st.lists(_mutation, max_size=6),
       st.booleans())
def test_fuzz_marc_in_json(picks, mutations, array):
    records = [_JSON[i] for i in picks]
    data = b"[" + b",".join(records) + b"]" if array else b"\n".join(records)
    _read_all(_mutate(data, mutations))


@_FUZZ
@given(st.sampled_from([gzip.compress, bz2.compress, lzma.compress]), st.sampled_from(["iso", "xml", "json"]),
       st.lists(_mutation, max_size=4), st.booleans())
def test_fuzz_compressed(pack, kind, mutations, damage_packed):
    plain = {"iso": b"".join(_ISO[:3]), "xml": _XML_HEAD + b"".join(_XML[:3]) + b"</collection>",
             "json": b"\n".join(_JSON[:3])}[kind]
    data = pack(plain if damage_packed else _mutate(plain, mutations))
    _read_all(_mutate(data, mutations) if damage_packed else data)
