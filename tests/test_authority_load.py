"""How authority ingest stays quick without changing what it writes.

- The alias scan (translations, ``pipeline.aliases``) passes over authority records on their bytes:
  a MARCXML file of authorities only is not cut into records at all, an authority record among
  others is not parsed. Whatever the bytes do not say plainly is read as before.
- The loader's authority path answers its look-ups from what the load itself wrote when the store
  held no authorities (link keys) or nothing (record graphs, cores): the store it writes is the
  one the look-ups in the store give, quad for quad, in every order of loading.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest

from metadatabronn.marc import Chunk, Format, iter_chunks
from metadatabronn.pipeline import Settings, aliases, authority_load, ingest
from metadatabronn.pipeline.loader import Loader
from metadatabronn.store import Store
from metadatabronn.store.catalogue import Catalogue, rows_of

DATA = Path(__file__).parent / "data"
AUTHORITIES = DATA / "authorities" / "norwegian-style.xml"
BIBLIOGRAPHIC = DATA / "authorities" / "norwegian-style-bibliographic.xml"
REAL_AUTHORITIES = sorted(p for p in (DATA / "authorities").glob("*.xml") if not p.name.startswith("norwegian"))
TRANSLATIONS = DATA / "translations"
BASE = "http://example.org"
_XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


# the alias scan --------------------------------------------------------------------------------

def test_an_authority_file_is_counted_on_its_bytes_and_its_records_are_never_cut():
    assert aliases._records_of_other_kinds(AUTHORITIES) == 15 == sum(1 for _ in iter_chunks(AUTHORITIES))
    for path in REAL_AUTHORITIES:  # SRU answers, namespace prefixes: as many as the reader finds
        assert aliases._records_of_other_kinds(path) == sum(1 for _ in iter_chunks(path)), path.name
    table = aliases.scan([str(AUTHORITIES)])
    assert table.records == 15 and table.parsed == 0 and len(table) == 0
    # Bibliographic records, and authorities in ISO 2709, are read one by one.
    assert aliases._records_of_other_kinds(BIBLIOGRAPHIC) == 0
    assert all(aliases._records_of_other_kinds(p) == 0 for p in TRANSLATIONS.iterdir())


def _authorities_with(tmp_path: Path, extra: bytes, name: str = "mixed.xml") -> Path:
    """The constructed authorities with ``extra`` (MARCXML records) inside the same collection."""
    text = AUTHORITIES.read_bytes()
    end = text.rindex(b"</")
    path = tmp_path / name
    path.write_bytes(text[:end] + extra + text[end:])
    return path


def _translation_xml(prefix: str = "") -> bytes:
    """A bibliographic record that names its original (240 with $l), as MARCXML."""
    record = pymarc.Record(leader="00000nam a2200000 i 4500", force_utf8=True)
    record.add_field(
        pymarc.Field(tag="001", data="T1"),
        pymarc.Field(tag="041", indicators=["1", " "], subfields=[pymarc.Subfield("a", "eng"), pymarc.Subfield("h", "swe")]),
        pymarc.Field(tag="100", indicators=["1", " "], subfields=[pymarc.Subfield("a", "Lagerlöf, Selma.")]),
        pymarc.Field(tag="240", indicators=["1", "0"], subfields=[pymarc.Subfield("a", "Osynliga länkar."),
                                                                  pymarc.Subfield("l", "English")]),
        pymarc.Field(tag="245", indicators=["1", "0"], subfields=[pymarc.Subfield("a", "Stories.")]))
    xml = pymarc.record_to_xml(record)
    if prefix:  # the same record written with a namespace prefix on every element
        xml = re.sub(rb"<(/?)(\w+)", lambda m: b"<" + m.group(1) + prefix.encode() + b":" + m.group(2), xml)
        xml = xml.replace(f"<{prefix}:record".encode(),
                          f'<{prefix}:record xmlns:{prefix}="http://www.loc.gov/MARC21/slim"'.encode(), 1)
        xml = xml.replace(b' xmlns="http://www.loc.gov/MARC21/slim"', b"")
    return xml


@pytest.mark.parametrize("prefix", ["", "marc"])
def test_a_bibliographic_record_among_authorities_is_read_and_its_alias_found(tmp_path, prefix):
    path = _authorities_with(tmp_path, _translation_xml(prefix))
    assert aliases._records_of_other_kinds(path) == 0
    table = aliases.scan([str(path)])
    assert table.records == 16 and table.parsed == 1 and len(table) == 1


@pytest.mark.parametrize("oddity", [
    b'<leader xml:space="preserve">00000nam a2200000 i 4500</leader>',  # a leader with an attribute
    b"<leader>00000nam&#32;a2200000 i 4500</leader>",  # a reference in it
    b"<leader><![CDATA[00000nam a2200000 i 4500]]></leader>",
])
def test_a_leader_the_bytes_do_not_say_plainly_sends_the_file_to_the_reader(tmp_path, oddity):
    record = re.sub(rb"<leader>[^<]*</leader>", lambda m: oddity, _translation_xml())
    path = _authorities_with(tmp_path, record)
    assert aliases._records_of_other_kinds(path) == 0
    assert aliases.scan([str(path)]).records == 16


def test_the_word_in_a_text_sends_the_file_to_the_reader_and_a_bandleader_does_not(tmp_path):
    def with_note(text: str) -> Path:
        note = (f'<record><leader>00000nz  a2200000n  4500</leader><controlfield tag="001">X1</controlfield>'
                f'<datafield tag="100" ind1="1" ind2=" "><subfield code="a">Doe, Jane</subfield></datafield>'
                f'<datafield tag="678" ind1=" " ind2=" "><subfield code="a">{text}</subfield></datafield></record>')
        return _authorities_with(tmp_path, note.encode(), f"note-{len(text)}.xml")

    assert aliases._records_of_other_kinds(with_note("Singer and bandleader")) == 16
    assert aliases._records_of_other_kinds(with_note("Scout/leader of the troop")) == 0


def test_an_authority_record_is_not_parsed_by_the_scan_whatever_it_holds():
    record = pymarc.Record(leader="00000nz  a2200000n  4500", force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="W1"),
                     pymarc.Field(tag="130", indicators=[" ", "0"], subfields=[pymarc.Subfield("a", "Edda.")]),
                     pymarc.Field(tag="430", indicators=[" ", "0"],
                                  subfields=[pymarc.Subfield("a", "Original title: Edda")]))
    iso = Chunk(1, Format.ISO2709, record.as_marc(), "a.mrc")
    xml = Chunk(1, Format.MARCXML, pymarc.record_to_xml(record, namespace=True), "a.xml")
    assert not aliases.may_name_original(iso) and not aliases.may_name_original(xml)
    record.leader = "00000nam a2200000 i 4500"  # the same fields in a bibliographic record: parsed
    assert aliases.may_name_original(Chunk(1, Format.ISO2709, record.as_marc(), "a.mrc"))


# the loader's look-ups ------------------------------------------------------------------------

def _changed(tmp_path: Path) -> Path:
    """The constructed authorities again: one changed, one deleted (a second file of the same run)."""
    out = tmp_path / "changed.xml"
    writer = pymarc.XMLWriter(out.open("wb"))
    for record in pymarc.parse_xml_to_array(str(AUTHORITIES)):
        if record["001"].data == "99990001":
            record["670"]["a"] = "Hennes Fjellsanger, 2. utg., 1960"
        elif record["001"].data == "99990014":
            record.leader = record.leader[:5] + "d" + record.leader[6:]
        writer.write(record)
    writer.close()
    return out


def _claimant(tmp_path: Path) -> Path:
    """An authority whose 035 gives another's number: that one's entity is written as this one's."""
    record = pymarc.Record(leader="00000nz  a2200000n  4500", force_utf8=True)
    record.add_field(
        pymarc.Field(tag="001", data="99990099"), pymarc.Field(tag="003", data="NO-TrBIB"),
        pymarc.Field(tag="035", indicators=[" ", " "], subfields=[pymarc.Subfield("a", "(NO-TrBIB)99990002")]),
        pymarc.Field(tag="040", indicators=[" ", " "], subfields=[pymarc.Subfield("a", "NO-TrBIB")]),
        pymarc.Field(tag="100", indicators=["1", " "], subfields=[pymarc.Subfield("a", "Bøe, Håkon Andreas")]))
    out = tmp_path / "claimant.xml"
    out.write_bytes(b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + pymarc.record_to_xml(record)
                    + b"</collection>")
    return out


def _state(store: Path) -> tuple:
    """Everything a load leaves: every quad (the run's time left out), the catalogue's rows and names."""
    s = Store(store, read_only=True)
    try:
        quads = sorted(
            str(ox.Quad(q.subject, q.predicate, ox.Literal("T", datatype=ox.NamedNode(_XSD_DATETIME)), q.graph_name))
            if isinstance(q.object, ox.Literal) and q.object.datatype.value == _XSD_DATETIME else str(q)
            for q in s._store.quads_for_pattern(None, None, None, None))
    finally:
        s.close()
    cat = Catalogue(store, read_only=True)
    try:
        rows = [r[:4] + r[5:] for r in rows_of(cat)]
        names = sorted(cat.conn.execute("SELECT entity, kind, name, preferred, core FROM names").fetchall())
    except sqlite3.OperationalError:
        names = []
    finally:
        cat.close()
    return quads, rows, names


def _load(store: Path, *runs: tuple[Path, ...]) -> tuple:
    summaries = []
    for files in runs:
        s = ingest([str(f) for f in files], Settings(store=store, base=BASE, workers=1,
                                                     rejects_dir=store.parent / "rejects"))
        summaries.append({k: v for k, v in vars(s).items() if "second" not in k and k != "rejects_file"})
    return summaries, _state(store)


def _orders(tmp_path: Path) -> dict[str, list[tuple[Path, ...]]]:
    changed = _changed(tmp_path)
    return {
        "authorities, changed in the same run": [(_claimant(tmp_path), AUTHORITIES, *REAL_AUTHORITIES, changed)],
        "authorities, then records, in one run": [(AUTHORITIES, BIBLIOGRAPHIC, changed)],
        "records, then authorities, in one run": [(BIBLIOGRAPHIC, AUTHORITIES, changed)],
        "records, then authorities": [(BIBLIOGRAPHIC,), (AUTHORITIES, changed)],
        "authorities, then a change": [(AUTHORITIES,), (changed, BIBLIOGRAPHIC)],
    }


@pytest.mark.parametrize("order", ["authorities, changed in the same run", "authorities, then records, in one run",
                                   "records, then authorities, in one run", "records, then authorities",
                                   "authorities, then a change"])
def test_the_load_remembered_writes_what_the_store_looked_up_writes(tmp_path, monkeypatch, order):
    runs = _orders(tmp_path)[order]
    remembered = _load(tmp_path / "remembered" / "store", *runs)
    # Every look-up made in the store, as for any other load.
    monkeypatch.setattr(authority_load.AuthorityLoading, "_knowing",
                        lambda self: authority_load._Known(links=False, fresh=False))
    looked_up = _load(tmp_path / "looked-up" / "store", *runs)
    assert remembered[0] == looked_up[0]  # the summaries
    assert remembered[1] == looked_up[1]  # quads, rows, names
    assert sum(s["records_authority"] for s in remembered[0]) >= 15


def test_the_load_remembers_only_while_every_record_it_wrote_is_an_authority(tmp_path, monkeypatch):
    seen = []
    knowing = authority_load.AuthorityLoading._knowing

    def spy(self):
        known = knowing(self)
        seen.append((known.graphs is not None, known.links is not None))
        return known

    monkeypatch.setattr(authority_load.AuthorityLoading, "_knowing", spy)
    _load(tmp_path / "store", (AUTHORITIES, BIBLIOGRAPHIC, _changed(tmp_path)))
    # A fresh store: remembered until the bibliographic records came; link keys all along.
    assert seen[:15] == [(True, True)] * 15 and seen[15:] == [(False, True)] * (len(seen) - 15)
    seen.clear()
    _load(tmp_path / "store", (AUTHORITIES,))
    assert seen and set(seen) == {(False, False)}  # a store with authorities: looked up


def test_a_first_load_of_authorities_knows_every_core_the_store_holds(tmp_path, monkeypatch):
    minted = []
    close = Loader.close

    def closing(self):
        close(self)
        minted.append(self.minted_in_store())

    monkeypatch.setattr(Loader, "close", closing)
    store = tmp_path / "store"
    _load(store, (_claimant(tmp_path), AUTHORITIES, *REAL_AUTHORITIES, _changed(tmp_path)))
    s = Store(store, read_only=True)
    try:
        cores = {q.subject.value for q in s._store.quads_for_pattern(
            None, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), None, ox.DefaultGraph())}
    finally:
        s.close()
    assert minted[-1] == cores and len(cores) > 15
    _load(store, (BIBLIOGRAPHIC,))
    assert minted[-1] is None  # a store that held something before the load
    _load(tmp_path / "mixed", (AUTHORITIES, BIBLIOGRAPHIC))
    assert minted[-1] is None  # a load of records as well
