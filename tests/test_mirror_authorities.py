"""Mirrors of a well that holds authority records: after its dump and its change feed, a mirror
holds the same authority record graphs (link keys, nomens, carried records, tombstones) as the
well, against a real ``metadatabronn serve`` over real HTTP, after authorities are loaded after
the bibliographic records whose headings they take over (merges), changed, deleted, loaded
again, and given an ISNI; and what the well derives from those graphs (the authority records
out, the name index, which authority rows are deleted) comes out the same from the mirror.

The records are the constructed Norwegian-style set (``tests/data/authorities``, fictional) and
a few bibliographic records built here whose headings name its persons in different ways."""

from __future__ import annotations

import gzip
import io
import itertools
from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from metadatabronn.errors import IsniError, MirrorError
from metadatabronn.identity import mint
from metadatabronn.isni import checksum
from metadatabronn.mapping import terms as T
from metadatabronn.mapping.model import Entity, Kind
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline import isni as flow
from metadatabronn.pipeline.dump import dump
from metadatabronn.pipeline.export import export
from metadatabronn.pipeline.mirror import mirror
from metadatabronn.rdf import AS_TOMBSTONE, MB_DESCRIBES
from metadatabronn.rdf_authority import authority_record_id
from metadatabronn.store import Store, names
from metadatabronn.store.authorities import put_review, review_graph
from metadatabronn.store.catalogue import Catalogue
from metadatabronn.store.documents import Document, documents
from metadatabronn.store.labels import LABELS_GRAPH
from metadatabronn.store.mirroring import MirrorStore, comparable

from .test_mirror import PAGE, QUICK, caught_up, same
from .test_web import free_port, server
from .conftest import examples, quad_store
from .client import HTTP

DATA = Path(__file__).parent / "data" / "authorities"
AUTHORITIES = pymarc.parse_xml_to_array(str(DATA / "norwegian-style.xml"))
LIVE = [r for r in AUTHORITIES if r.leader[5] != "d"]
PERSONS = [r for r in LIVE if r.get("100") is not None and not r["100"].get_subfields("t")
           and r["100"].indicator1 != "3" and r.leader[5] == "n"]
SOLBERG = "(NO-TrBIB)99990001"


def _bib(number: str, heading: list[tuple[str, str]], title: str) -> pymarc.Record:
    r = pymarc.Record(leader="00000nam a2200000 i 4500", force_utf8=True)
    r.add_field(pymarc.Field(tag="001", data=number), pymarc.Field(tag="003", data="XX-TEST"),
                pymarc.Field(tag="008", data="250101s2020    no ||||| |||| 00| 0 nob d"),
                pymarc.Field(tag="100", indicators=["1", " "], subfields=[pymarc.Subfield(c, v) for c, v in heading]),
                pymarc.Field(tag="245", indicators=["1", "0"], subfields=[pymarc.Subfield("a", f"{title} /"),
                                                                          pymarc.Subfield("c", "ukjent.")]),
                pymarc.Field(tag="264", indicators=[" ", "1"], subfields=[pymarc.Subfield("a", "Oslo :"),
                                                                          pymarc.Subfield("b", "Forlag,"),
                                                                          pymarc.Subfield("c", "2020.")]))
    return r


# Each names a person of the set in its own way; the last one names nobody the set has (yet).
BIBS = [
    _bib("b1", [("a", "Solberg, Åse Kari,"), ("d", "1921-1998.")], "Dikt 1"),  # the authorised access point
    _bib("b2", [("a", "Solberg, Aase Kari,"), ("d", "1921-1998.")], "Dikt 2"),  # a 4XX variant
    _bib("b3", [("a", "Solberg, Å. K."), ("0", SOLBERG)], "Dikt 3"),  # the authority's number in $0
    _bib("b4", [("a", "Solberg, Å."), ("9", "99990001")], "Dikt 4"),  # Koha's $9: the authority's 001
    _bib("b5", [("a", "Nobody, Known,"), ("d", "1900-")], "Dikt 5"),
]


def _authority(number: str, heading: list[tuple[str, str]], *extra: pymarc.Field) -> pymarc.Record:
    r = pymarc.Record(leader="00000nz  a2200000n  4500", force_utf8=True)
    r.add_field(pymarc.Field(tag="001", data=number), pymarc.Field(tag="003", data="NO-TrBIB"),
                pymarc.Field(tag="008", data="250110n| adz|naabn|         |a|ana|     "),
                pymarc.Field(tag="040", indicators=[" ", " "],
                             subfields=[pymarc.Subfield("a", "NO-TrBIB"), pymarc.Subfield("b", "nob"),
                                        pymarc.Subfield("c", "NO-TrBIB"), pymarc.Subfield("f", "noraf")]),
                pymarc.Field(tag="100", indicators=["1", " "], subfields=[pymarc.Subfield(c, v) for c, v in heading]),
                *extra)
    return r


# Constructed like the set (fictional numbers): a person whose 500 names "Nobody, Known" by his
# access point only (so his graph names the agent b5's heading made), and that person's own
# authority, loaded later, which takes that agent over.
NAMES_NOBODY = _authority("99990102", [("a", "Annensen, Anne"), ("d", "1955-")],
                          pymarc.Field(tag="500", indicators=["1", " "],
                                       subfields=[pymarc.Subfield("w", "r"), pymarc.Subfield("i", "Medforfatter"),
                                                  pymarc.Subfield("a", "Nobody, Known,"),
                                                  pymarc.Subfield("d", "1900-")]))
NOBODY = _authority("99990101", [("a", "Nobody, Known"), ("d", "1900-")])


def agent(base: str, identifier: str) -> str:
    """The IRI of the agent an authority record's identifier names (the same for every kind)."""
    return mint(base, Entity(Kind.PERSON, ("id", identifier)))


def write(path: Path, *recs: pymarc.Record) -> Path:
    writer = pymarc.XMLWriter(path.open("wb"))
    for r in recs:
        writer.write(r)
    writer.close()
    return path


def load(store: Path, base: str, *recs: pymarc.Record, name: str = "batch.xml") -> None:
    ingest([str(write(store.parent / name, *recs))], Settings(store=store, base=base, workers=1))


def varied(record: pymarc.Record, note: str) -> pymarc.Record:
    """The same authority (same 001) with a variant access point added: a changed record."""
    copy = pymarc.Record(leader=str(record.leader), force_utf8=True)
    for f in record.fields:
        copy.add_field(f)
    tag = "4" + next(f.tag for f in record.fields if f.tag[0] == "1")[1:]
    copy.add_ordered_field(pymarc.Field(tag=tag, indicators=["1", " "], subfields=[pymarc.Subfield("a", note)]))
    return copy


def deleted(record: pymarc.Record) -> pymarc.Record:
    copy = pymarc.Record(leader=str(record.leader), force_utf8=True)
    for f in record.fields:
        copy.add_field(f)
    copy.leader = str(record.leader)[:5] + "d" + str(record.leader)[6:]
    return copy


ISNIS = (f"{n:015d}" for n in itertools.count(999_000_000_000_001))


def new_isni() -> str:
    digits = next(ISNIS)
    return digits + checksum.check_character(digits)


def assign(store: Path, base: str, identifier: str) -> str:
    isni = new_isni()
    s = Store(store)
    try:
        flow.assign(s, agent(base, identifier), isni, "test")
    finally:
        s.close()
    return isni


def authority_graphs(directory: Path) -> dict[str, bool]:
    """Each authority record graph a store or mirror holds: whether it is a tombstone."""
    s = quad_store(directory)
    out = {}
    for q in s.quads_for_pattern(None, ox.NamedNode(MB_DESCRIBES), None, None):
        g = q.graph_name
        if isinstance(g, ox.NamedNode) and "/authority/" in g.value and q.subject == g:
            out[g.value] = any(True for _ in s.quads_for_pattern(q.object, ox.NamedNode(T.RDF_TYPE),
                                                                 ox.NamedNode(AS_TOMBSTONE), g))
    return out


@pytest.fixture(scope="module")
def well(tmp_path_factory):
    """A server on the bibliographic records above (no authorities yet) and a dump of them."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path_factory.mktemp("well") / "source"
    load(store, base, *BIBS, name="bibs.xml")
    dump(store, "nquads")
    with server(store, port, "--refresh", "0.3", env=PAGE) as (url, _):
        yield url, store


# the documents ----------------------------------------------------------------------------------

def test_an_agents_document_carries_its_authority_graph_and_a_mirror_takes_it_whole(tmp_path):
    base = "http://example.org"
    store = tmp_path / "s"
    load(store, base, *AUTHORITIES, name="authorities.xml")
    s = Store(store, read_only=True)
    try:
        solberg, gone = agent(base, SOLBERG), agent(base, "(NO-TrBIB)99990010")
        doc, tomb = documents(s, [solberg, gone])
    finally:
        s.close()
    assert doc.graph is None and f"<{base}/authority/NO-TrBIB-99990001> .\n" in doc.nquads
    assert f'<{T.MB_LINK_KEY}> "agent|id|(NO-TrBIB)99990001"' in doc.nquads
    assert f"<{base}/authority/NO-TrBIB-99990001#nomen-" in doc.nquads  # the nomens, with the graph
    assert AS_TOMBSTONE in tomb.nquads and f"<{base}/authority/NO-TrBIB-99990010> .\n" in tomb.nquads
    # Every statement of the authority graphs is in exactly one document: its entity's.
    m = MirrorStore(tmp_path / "m")
    try:
        m.apply([doc, tomb])
        held = comparable(m)
    finally:
        m.close()
    want = {q for q in comparable(store) if q.endswith((f"<{base}/authority/NO-TrBIB-99990001>",
                                                        f"<{base}/authority/NO-TrBIB-99990010>"))}
    assert want and want <= held


def test_every_statement_is_in_exactly_one_document_authority_graphs_included(tmp_path):
    """Headings' agents merged into the register loaded after them, a 5XX naming one of them, an
    ISNI assigned, a deleted and a replaced record: still a partition of the store."""
    base = "http://example.org"
    store = tmp_path / "s"
    load(store, base, *BIBS, name="bibs.xml")
    load(store, base, *AUTHORITIES, NAMES_NOBODY, name="authorities.xml")
    load(store, base, NOBODY, name="nobody.xml")
    assign(store, base, SOLBERG)
    s = Store(store, read_only=True)
    try:
        subjects = {q.subject.value for q in s._store.quads_for_pattern(None, None, None, ox.DefaultGraph())}
        manifestations = {r["m"].value for r in s.query(f"SELECT DISTINCT ?m WHERE {{ ?m a <{T.C_MANIFESTATION}> }}")}
        # (an authority record deleted at its first load has a tombstone and no core: the feed
        # names its entity all the same)
        described = {q.object.value for q in s._store.quads_for_pattern(None, ox.NamedNode(MB_DESCRIBES), None, None)
                     if "/authority/" in q.subject.value}
        found = documents(s, sorted(subjects | manifestations | described))
    finally:
        s.close()
    lines: list[str] = []
    for doc in found:
        lines += [str(q) for q in ox.parse(doc.nquads.encode(), format=ox.RdfFormat.N_QUADS)] if doc.nquads else []
    assert len(lines) == len(set(lines)), "a statement is in two documents"
    assert set(lines) == {q for q in comparable(store) if f"<{LABELS_GRAPH}>" not in q}
    assert sum(1 for q in lines if q.endswith("/authority/NO-TrBIB-99990102>")) > 5


def test_a_mirror_refuses_a_graph_that_describes_another_entity(tmp_path):
    m = MirrorStore(tmp_path / "m")
    try:
        iri, other, g = "http://example.org/agent/1", "http://example.org/agent/2", "http://example.org/authority/X-1"
        text = (f"<{iri}> <{T.RDF_TYPE}> <{T.C_PERSON}> .\n<{g}> <{MB_DESCRIBES}> <{other}> <{g}> .\n"
                f'<{other}> <{T.MB_AUTHORITY_ID}> "(X)1" <{g}> .\n')
        with pytest.raises(MirrorError, match="outside its graphs"):
            m.apply([Document(iri, None, text)])
        assert len(m) == 0
    finally:
        m.close()


def test_a_dump_carries_every_authority_graph(tmp_path):
    base = "http://example.org"
    store = tmp_path / "s"
    load(store, base, *AUTHORITIES, name="authorities.xml")
    out = dump(store, "nquads", out=tmp_path / "d.nq.gz")
    with gzip.open(out.path, "rb") as fh:
        quads = list(ox.parse(fh.read(), format=ox.RdfFormat.N_QUADS))
    graphs = {q.graph_name.value for q in quads if "/authority/" in str(q.graph_name)}
    assert graphs == set(authority_graphs(store)) and len(graphs) == len(AUTHORITIES)
    assert {str(q) for q in quads} == comparable(store)


def test_the_isni_review_list_is_no_part_of_what_a_mirror_holds(tmp_path):
    """The flow's bookkeeping: dumps leave it out and no activity announces it."""
    base = "http://example.org"
    store = tmp_path / "s"
    load(store, base, *AUTHORITIES[:2], name="authorities.xml")
    s = Store(store)
    try:
        put_review(s, agent(base, SOLBERG), [{"isni": new_isni(), "score": 1}], "possible.xml", "2026-01-01T00:00:00Z")
    finally:
        s.close()
    held = quad_store(store)
    assert any(True for _ in held.quads_for_pattern(None, None, None, ox.NamedNode(review_graph(base))))
    del held
    assert not any(q.endswith(f"<{review_graph(base)}>") for q in comparable(store))
    out = dump(store, "nquads", out=tmp_path / "d.nq.gz")
    with gzip.open(out.path, "rb") as fh:
        assert {str(q) for q in ox.parse(fh.read(), format=ox.RdfFormat.N_QUADS)} == comparable(store)


# convergence over HTTP ----------------------------------------------------------------------------

def derived(directory: Path, base: str, tmp: Path) -> tuple[dict, set, dict]:
    """What the well derives from authority graphs, made from a store or a mirror's quads alone:
    ``export --kind authority`` (each record's 005, the time of its entity's latest change-log
    entry, left out: a mirror holds no change log), the name index rebuilt, and which authority
    rows are deleted."""
    out = io.BytesIO()
    export(directory, base, out, "marc", kind="authority", workers=1)
    records = {}
    for record in pymarc.MARCReader(io.BytesIO(out.getvalue()), to_unicode=True, force_utf8=True):
        records[record["001"].data] = [str(f) for f in record.fields if f.tag != "005"] + [str(record.leader)]
    index = names_rebuilt(directory, tmp)
    rows = {authority_record_id("", g): stone for g, stone in authority_graphs(directory).items()}
    return records, index, rows


def test_authorities_after_records_then_changed_deleted_and_given_an_isni_reach_the_mirror(well, tmp_path):
    base, store = well
    target = tmp_path / "mirror"
    first = mirror(base, target, QUICK)
    assert first.dump is not None
    same(store, target)
    s = Store(store, read_only=True)
    made_b5 = next(r["a"].value for r in s.query(
        f"SELECT ?a WHERE {{ GRAPH <{base}/record/XX-TEST-b5> {{ ?w <{T.W_CREATOR}> ?a }} }}"))
    s.close()

    # The register, after the records: headings' agents merged into its persons; a person whose
    # 500 names b5's agent by its access point only.
    load(store, base, *AUTHORITIES, NAMES_NOBODY, name="authorities.xml")
    caught_up(base, store)
    mirror(base, target, QUICK)
    same(store, target)
    annensen = f"{base}/authority/NO-TrBIB-99990102"
    assert any(f"<{made_b5}> <{annensen}>" in q for q in comparable(target))

    # That agent's own authority comes: it takes b5's agent over, and Annensen's graph now names
    # it. The merge announces Annensen, whose document carries that graph.
    load(store, base, NOBODY, name="nobody.xml")
    caught_up(base, store)
    mirror(base, target, QUICK)
    same(store, target)
    held = comparable(target)
    assert not any(f"<{made_b5}> <{annensen}>" in q for q in held)
    assert any(f"<{agent(base, '(NO-TrBIB)99990101')}> <{annensen}>" in q for q in held)

    # Changed, deleted, given an ISNI.
    load(store, base, varied(LIVE[1], "Bøe, H."), deleted(PERSONS[2]), name="changes.xml")
    isni = assign(store, base, "(NO-TrBIB)99990006")
    caught_up(base, store)
    later = mirror(base, target, QUICK)
    assert later.dump is None and later.activities > 0
    same(store, target)
    held = comparable(target)
    assert any('"Bøe, H."' in q for q in held)
    assert any(f"https://isni.org/isni/{isni}" in q for q in held)
    graphs = authority_graphs(target)
    assert graphs == authority_graphs(store)
    assert graphs[f"{base}/authority/NO-TrBIB-{PERSONS[2]['001'].data}"] is True

    # What the well makes of those graphs, made again from the mirror, is what the well makes.
    want, have = derived(store, base, tmp_path / "a"), derived(target, base, tmp_path / "b")
    assert have[0] == want[0] and len(want[0]) == len(AUTHORITIES)  # two more records, two deleted
    assert have[1] == want[1] and any(n[2] == "Bøe, H." for n in want[1])
    assert have[2] == want[2]
    # The mirror keeps its name index as the well's is made again from the same statements.
    kept = Catalogue(target, read_only=True)
    try:
        assert set(kept.conn.execute("SELECT entity, kind, name, preferred, core FROM names").fetchall()) == want[1]
    finally:
        kept.close()
    # A server over the mirror answers an agent with its authority as the well's does.
    port = free_port()
    with server(target, port, base_iri=base) as (copy, _):
        for identifier in (SOLBERG, "(NO-TrBIB)99990006", "(NO-TrBIB)99990101"):
            path = agent(base, identifier)[len(base):]
            for fmt in ("nt", "jsonld", "html"):
                a = HTTP.get(f"{base}{path}", params={"format": fmt}, timeout=30)
                b = HTTP.get(f"{copy}{path}", params={"format": fmt}, timeout=30)
                assert a.status_code == b.status_code == 200
                assert b.text.replace(copy, base) == a.text, (identifier, fmt)
        # and finds agents by name as the well does (its name index kept by the mirror runs)
        for words in ("solberg", "aase kari", "bøe", "nobody", "annensen", "b h"):
            a = HTTP.get(f"{base}/agents", params={"name": words, "format": "json"}, timeout=30)
            b = HTTP.get(f"{copy}/agents", params={"name": words, "format": "json"}, timeout=30)
            assert a.status_code == b.status_code == 200, b.text
            assert hits(b.json()) == hits(a.json()) and (words == "b h" or hits(a.json())), words


def hits(body: dict) -> set[tuple]:
    """What ``/agents`` found (its order among names that rank alike is the index's, not asked)."""
    return {(i["path"], i["name"], i.get("matched"), tuple(i["identifiers"])) for i in body["items"]}


# the convergence property ----------------------------------------------------------------------------

STEP = st.one_of(
    st.tuples(st.just("change"), st.integers(0, len(LIVE) - 1)),
    st.tuples(st.just("delete"), st.integers(0, len(LIVE) - 1)),
    st.tuples(st.just("restore"), st.integers(0, len(LIVE) - 1)),
    st.tuples(st.just("isni"), st.integers(0, len(PERSONS) - 1)),
    st.tuples(st.just("record"), st.integers(0, 1000)),
    st.tuples(st.just("mirror"), st.just(0)),
)
EDITS = itertools.count(1)


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=2, max_size=8))
def test_any_run_of_authority_changes_and_mirror_runs_converges(well, tmp_path_factory, steps):
    """Authority records changed, deleted and loaded again, ISNIs assigned, bibliographic records
    naming the register's persons by variant forms, and mirror runs in between, in any order:
    after a last run the mirror holds what the well holds. The well is shared by the examples
    (and the test above); each mirror starts empty, from the dump taken at the start."""
    base, store = well
    target = tmp_path_factory.mktemp("prop") / "mirror"
    for kind, n in steps:
        event(kind)
        if kind == "change":
            load(store, base, varied(LIVE[n], f"Variant {next(EDITS)}"), name="changed.xml")
        elif kind == "delete":
            load(store, base, deleted(LIVE[n]), name="deleted.xml")
        elif kind == "restore":
            load(store, base, LIVE[n], name="restored.xml")
        elif kind == "isni":
            try:
                assign(store, base, f"(NO-TrBIB){PERSONS[n]['001'].data}")
            except IsniError:  # the register is not loaded yet (this test run alone): its record first
                load(store, base, PERSONS[n], name="person.xml")
                assign(store, base, f"(NO-TrBIB){PERSONS[n]['001'].data}")
        elif kind == "record":  # a heading in the authorised form, or a variant form (4XX)
            person = PERSONS[n % len(PERSONS)]
            forms = [person["100"], *person.get_fields("400")]
            heading = [(sf.code, sf.value) for sf in forms[n % len(forms)].subfields if sf.code != "w"]
            load(store, base, _bib(f"p{next(EDITS)}", heading, f"Bok {n}"), name="record.xml")
        else:
            mirror(base, target, QUICK)
    caught_up(base, store)
    mirror(base, target, QUICK)
    same(store, target)
    kept = Catalogue(target, read_only=True)
    try:
        held = set(kept.conn.execute("SELECT entity, kind, name, preferred, core FROM names").fetchall())
    finally:
        kept.close()
    assert held == names_rebuilt(store, target.parent / "index")


def names_rebuilt(directory: Path, tmp: Path) -> set[tuple]:
    """The name index of a store made again from its statements, as rows."""
    tmp.mkdir(parents=True, exist_ok=True)
    s = Store(directory, read_only=True)
    cat = Catalogue(tmp)
    try:
        names.rebuild(s, cat)
        return set(cat.conn.execute("SELECT entity, kind, name, preferred, core FROM names").fetchall())
    finally:
        cat.close()
        s.close()
