"""Headings of bibliographic records linked to authority records, in either order of loading.

The authorities are the constructed Norwegian-style set (tests/data/authorities); the bibliographic
records are built here, each naming one of them the way catalogues do: by its authorised access
point, by a variant, by ``$0``, by Koha's ``$9``, or not at all."""

from __future__ import annotations

import io
from pathlib import Path

import pymarc
import pytest

from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.export import export
from metadatabronn.pipeline.linking import iri_of_key, report
from metadatabronn.store import Store
from metadatabronn.store.layout import AS_OBJECT, EMM

DATA = Path(__file__).parent / "data" / "authorities"
AUTHORITIES = DATA / "norwegian-style.xml"
BASE = "http://example.org"
SOLBERG = "(NO-TrBIB)99990001"


def _bib(number: str, heading: list[tuple[str, str]], tag: str = "100", title: str = "Dikt") -> pymarc.Record:
    r = pymarc.Record(leader="00000nam a2200000 i 4500", force_utf8=True)
    r.add_field(pymarc.Field(tag="001", data=number), pymarc.Field(tag="003", data="XX-TEST"),
                pymarc.Field(tag="008", data="250101s2020    no ||||| |||| 00| 0 nob d"),
                pymarc.Field(tag=tag, indicators=["1", " "], subfields=[pymarc.Subfield(c, v) for c, v in heading]),
                pymarc.Field(tag="245", indicators=["1", "0"], subfields=[pymarc.Subfield("a", f"{title} /"),
                                                                          pymarc.Subfield("c", "ukjent.")]),
                pymarc.Field(tag="264", indicators=[" ", "1"], subfields=[pymarc.Subfield("a", "Oslo :"),
                                                                          pymarc.Subfield("b", "Forlag,"),
                                                                          pymarc.Subfield("c", "2020.")]))
    return r


# Each names Åse Kari Solberg (authority 99990001) in its own way, but the last.
BIBS = [
    ("b1", [("a", "Solberg, Åse Kari,"), ("d", "1921-1998.")]),  # the authorised access point
    ("b2", [("a", "Solberg, Aase Kari,"), ("d", "1921-1998.")]),  # a 4XX variant
    ("b3", [("a", "Solberg, Å. K."), ("0", SOLBERG)]),  # its number in $0
    ("b4", [("a", "Solberg, Å."), ("9", "99990001")]),  # Koha's $9: the authority's 001
    ("b5", [("a", "Nobody, Known,"), ("d", "1900-")]),  # no authority
]


@pytest.fixture
def bibs(tmp_path) -> Path:
    path = tmp_path / "bibs.xml"
    writer = pymarc.XMLWriter(path.open("wb"))
    for n, (number, heading) in enumerate(BIBS):
        writer.write(_bib(number, heading, title=f"Dikt {n}"))
    writer.close()
    return path


def _load(store: Path, *files: Path):
    return [ingest([str(f)], Settings(store=store, base=BASE, workers=1, profile=None)) for f in files]


def _agent_of(store: Store, number: str) -> str:
    """The agent the record's 100 names (its work's creator), as the store says."""
    rows = store._store.query(f"""
        SELECT ?a WHERE {{ GRAPH <{BASE}/record/XX-TEST-{number}> {{ ?w <http://rdaregistry.info/Elements/w/P10061> ?a }} }}""")
    found = {r["a"].value for r in rows}
    assert len(found) == 1, found
    return found.pop()


def _authority_agent(store: Store, ident: str) -> str:
    rows = store._store.query(f"""SELECT ?e WHERE {{ GRAPH ?g {{ ?e <https://w3id.org/metadatabronn/ns#authorityId> "{ident}" }} }}""")
    (row,) = list(rows)
    return row["e"].value


def _links(store_path: Path) -> dict[str, str]:
    store = Store(store_path, BASE, read_only=True)
    try:
        solberg = _authority_agent(store, SOLBERG)
        return {number: ("solberg" if _agent_of(store, number) == solberg else _agent_of(store, number))
                for number, _ in BIBS}
    finally:
        store.close()


def test_records_after_their_authority_name_its_agent(tmp_path, bibs):
    _, summary = _load(tmp_path / "s", AUTHORITIES, bibs)
    links = _links(tmp_path / "s")
    assert [links[n] for n in ("b1", "b2", "b3", "b4")] == ["solberg"] * 4
    assert links["b5"] != "solberg"
    assert summary.headings_linked == 4
    assert summary.headings_linked_by_variant == 1
    (match,) = summary.variant_matches  # named for a person to check
    assert match["record"] == "(XX-TEST)b2" and "aase" in match["heading"]


def test_an_authority_after_the_records_takes_over_what_their_headings_made(tmp_path, bibs):
    store_path = tmp_path / "s"
    (before,) = _load(store_path, bibs)
    store = Store(store_path, BASE, read_only=True)
    made = {number: _agent_of(store, number) for number, _ in BIBS}
    store.close()
    (after,) = _load(store_path, AUTHORITIES)
    # b1, b2 (a variant) and b4 ($9) made agents of their own; b3's $0 is the authority's own
    # number, so its agent is the authority's from the start
    assert after.entities_merged_into_authorities == 3
    assert [m["merged"] for m in after.variant_matches] == [made["b2"]]
    links = _links(store_path)
    assert [links[n] for n in ("b1", "b2", "b3", "b4")] == ["solberg"] * 4
    assert links["b5"] == made["b5"]
    store = Store(store_path, BASE, read_only=True)
    try:
        solberg = _authority_agent(store, SOLBERG)
        for number in ("b1", "b2", "b4"):
            # the IRI a heading made first still resolves: to where it went
            assert store.successor(made[number]) == solberg
        # the change log (and so the feed) says each was deprecated
        deprecated = {r["o"].value for r in store._store.query(
            f"SELECT ?o WHERE {{ GRAPH ?g {{ ?c a <{EMM}Deprecate> ; <{AS_OBJECT}> ?o }} }}")}
        assert {made["b1"], made["b2"], made["b4"]} <= deprecated
        assert made["b3"] == solberg and made["b3"] not in deprecated
    finally:
        store.close()


def test_either_order_gives_the_same_links(tmp_path, bibs):
    _load(tmp_path / "a", AUTHORITIES, bibs)
    _load(tmp_path / "b", bibs, AUTHORITIES)
    assert _links(tmp_path / "a") == {**_links(tmp_path / "b"), "b5": _links(tmp_path / "a")["b5"]}


def test_marc_out_gives_a_linked_heading_its_authority_identifiers(tmp_path, bibs):
    store_path = tmp_path / "s"
    _load(store_path, AUTHORITIES, bibs)
    out = io.BytesIO()
    export(store_path, BASE, out, "marc")
    records = {r["001"].data: r for r in pymarc.MARCReader(out.getvalue(), to_unicode=True, force_utf8=True)}
    heading = records["b1"]["100"]
    assert heading.get_subfields("a", "d") == ["Solberg, Åse Kari,", "1921-1998."]  # as it came
    assert SOLBERG in heading.get_subfields("0")
    assert "https://isni.org/isni/0000000999900012" in heading.get_subfields("1")
    assert records["b3"]["100"].get_subfields("0") == [SOLBERG]  # had it: not written twice
    assert not records["b5"]["100"].get_subfields("0", "1")


def test_link_report_explains_what_is_not_linked(tmp_path, bibs):
    store_path = tmp_path / "s"
    near = tmp_path / "near.xml"
    writer = pymarc.XMLWriter(near.open("wb"))
    writer.write(_bib("b9", [("a", "Solberg, Åse.")], title="Nær"))  # no dates: no access point of the authority
    writer.close()
    _load(store_path, AUTHORITIES, bibs, near)
    store = Store(store_path, BASE, read_only=True)
    try:
        entries = report(store)
    finally:
        store.close()
    names = {e.name: e for e in entries}
    assert "Nobody, Known, 1900-" in names or any(n.startswith("Nobody, Known") for n in names)
    entry = next(e for e in entries if e.name.startswith("Nobody"))
    assert entry.records == 1 and "access point" in entry.reason
    assert not entry.candidates and "no authority has a name like it" in entry.reason
    (solberg,) = [e for e in entries if e.name.startswith("Solberg")]
    assert solberg.records == 1
    assert [name for _, name, _ in solberg.candidates][:1] == ["Solberg, Åse Kari 1921-1998"]


def test_the_iri_a_key_is_minted_under_is_the_one_headings_get():
    from metadatabronn import identity
    from metadatabronn.mapping.model import Entity, Kind

    entity = Entity(Kind.PERSON, ("local", "1702"))
    assert iri_of_key(BASE, identity.key(entity)) == identity.mint(BASE, entity)
    assert iri_of_key(BASE, "work|x|y") is None


def _uniform_title_authority(path: Path) -> Path:
    r = pymarc.Record(leader="00000nz  a2200000o  4500", force_utf8=True)
    r.add_field(pymarc.Field(tag="001", data="99"), pymarc.Field(tag="003", data="XX-TEST"),
                pymarc.Field(tag="008", data="091002|||a||||||           |||||     d"),
                pymarc.Field(tag="040", indicators=[" ", " "], subfields=[pymarc.Subfield("a", "XX-TEST")]),
                pymarc.Field(tag="130", indicators=[" ", " "], subfields=[pymarc.Subfield("a", "LaTeX (Computer file)")]))
    writer = pymarc.XMLWriter(path.open("wb"))
    writer.write(r)
    writer.close()
    return path


@pytest.mark.parametrize("authority_first", [True, False])
def test_a_630_linked_by_its_dollar_9_names_the_uniform_titles_work(tmp_path, authority_first):
    # Koha links a 630 to a 130 authority by $9; the well maps a 630 as a subject concept, and
    # linking makes it name the authority's work instead, in either order, and MARC out gives the
    # 630 back as it came, with the authority's number added in $0.
    authority = _uniform_title_authority(tmp_path / "auth.xml")
    bib = _bib("t1", [("a", "Kopka, Helmut.")], title="Guide to LaTeX")
    bib.add_field(pymarc.Field(tag="630", indicators=["0", "0"], subfields=[
        pymarc.Subfield("a", "LaTeX (Computer file)"), pymarc.Subfield("9", "99")]))
    bibs = tmp_path / "bib.xml"
    writer = pymarc.XMLWriter(bibs.open("wb"))
    writer.write(bib)
    writer.close()
    store_path = tmp_path / "s"
    _load(store_path, *((authority, bibs) if authority_first else (bibs, authority)))
    store = Store(store_path, BASE, read_only=True)
    try:
        work = _authority_agent(store, "(XX-TEST)99")
        subjects = {r["s"].value for r in store._store.query(
            f"SELECT ?s WHERE {{ GRAPH <{BASE}/record/XX-TEST-t1> {{ ?w <http://rdaregistry.info/Elements/w/P10256> ?s }} }}")}
    finally:
        store.close()
    assert "/work/" in work and subjects == {work}
    out = io.BytesIO()
    export(store_path, BASE, out, "marc")
    (record,) = pymarc.MARCReader(out.getvalue(), to_unicode=True, force_utf8=True)
    assert [(s.code, s.value) for s in record["630"].subfields] == [
        ("a", "LaTeX (Computer file)"), ("9", "99"), ("0", "(XX-TEST)99")]


@pytest.mark.parametrize("chunk", [2000, 1])
def test_two_authority_records_of_one_work_keep_their_rows_through_a_reindex(tmp_path, monkeypatch, chunk):
    # Koha's file gives some uniform titles twice: two records, one work. Each keeps its own row
    # (its OAI-PMH record), also when the index is rebuilt from the change log, whether the two
    # loads are caught up in one transaction or in two.
    from metadatabronn.store import catchup

    monkeypatch.setattr(catchup, "CHUNK", chunk)
    path = tmp_path / "auth.xml"
    writer = pymarc.XMLWriter(path.open("wb"))
    for number in ("1524", "111"):
        r = pymarc.Record(leader="00000nz  a2200000o  4500", force_utf8=True)
        r.add_field(pymarc.Field(tag="001", data=number), pymarc.Field(tag="003", data="XX-TEST"),
                    pymarc.Field(tag="130", indicators=[" ", " "],
                                 subfields=[pymarc.Subfield("a", "Oxford world's classics (Oxford University Press)")]))
        writer.write(r)
    writer.close()
    store_path = tmp_path / "s"
    _load(store_path, path)

    def rows():
        import sqlite3

        with sqlite3.connect(store_path / "catalogue.sqlite3") as conn:
            return sorted(conn.execute("SELECT * FROM records"))

    live = rows()
    assert [r[0] for r in live] == ["authority-XX-TEST-111", "authority-XX-TEST-1524"]
    assert live[0][2] == live[1][2]  # one work
    store = Store(store_path, BASE)
    try:
        store.reindex()
    finally:
        store.close()
    assert rows() == live


def _person_authority(number: str, name: str, variants=()) -> pymarc.Record:
    r = pymarc.Record(leader="00000nz  a2200000n  4500", force_utf8=True)
    r.add_field(pymarc.Field(tag="001", data=number), pymarc.Field(tag="003", data="XX-TEST"),
                pymarc.Field(tag="100", indicators=["1", " "], subfields=[pymarc.Subfield("a", name)]),
                *[pymarc.Field(tag="400", indicators=["1", " "], subfields=[pymarc.Subfield("a", v)]) for v in variants])
    return r


def test_a_heading_links_alike_whatever_the_order_its_authorities_came_in(tmp_path):
    # "Hansen, Per" is A's authorised form and B's variant: the heading is A's, also when B and
    # the heading come in one load after A (as the store, asked afterwards, would say).
    def write(name, *records):
        path = tmp_path / name
        writer = pymarc.XMLWriter(path.open("wb"))
        for r in records:
            writer.write(r)
        writer.close()
        return path

    a = write("a.xml", _person_authority("1", "Hansen, Per"))
    b_and_bib = write("b.xml", _person_authority("2", "Hansen, Peder", ["Hansen, Per"]),
                      _bib("h1", [("a", "Hansen, Per.")], title="Hus"))
    store_path = tmp_path / "s"
    _load(store_path, a, b_and_bib)
    store = Store(store_path, BASE, read_only=True)
    try:
        assert _agent_of(store, "h1") == _authority_agent(store, "(XX-TEST)1")
    finally:
        store.close()
