"""Translations under their original's work: the rules of mapping.translation, on real records,
in a real store; IRIs kept on re-ingest; every field of a translation's record given back."""

from __future__ import annotations

import io
from pathlib import Path

import pymarc
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadatabronn.identity import key, work_key
from metadatabronn.mapping import convert, record_control_number
from metadatabronn.mapping import fields as mapping_fields
from metadatabronn.mapping import headings as mapping_headings
from metadatabronn.mapping import terms as T
from metadatabronn.mapping import translation
from metadatabronn.mapping.text import manifestation_id
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.export import export

from .conftest import examples, quad_store, record_with, ROOT, SHARED

BASE = "http://example.org"
HERE = Path(__file__).parent / "data" / "translations"
LC = HERE / "lc-translations.mrc"  # 7 LC records, unchanged (README.md there)
M2BF = HERE / "marc2bibframe2-760-788-links.xml"  # record 1 has a 765 (and no leader: ingest refuses it)
ELIOT = HERE / "scriptotek-examples_bibliographic3.xml"  # 246 $i Originaltittel
FENNICA = ROOT / "data" / "fennica-sample.marcxml"
SAMPLE = ROOT / "data" / "sample.mrc"
SHARED_LC = SHARED / "lc-books-2016-part01-first20k.mrc.gz"

RUNEBERG_240 = ("000670725", "003091846", "006417535")
PETIT_PRINCE = {"(DLC)00012999": "fre", "(DLC)00013000": "ger", "(DLC)00013002": "spa"}


def records(path: Path) -> dict[str, pymarc.Record]:
    """A file's records as ingest reads them (Unicode NFC), by the control number ingest gives them."""
    out = {}
    for chunk in iter_chunks(path):
        record = parse_chunk(chunk)
        cn = record_control_number(record)
        if cn is not None:
            out[cn] = record
    return out


def iri(cn: str) -> str:
    return f"{BASE}/manifestation/{manifestation_id(cn)}"


# the rules, their examples, and the mapping in step with them ------------------------------

@pytest.mark.parametrize("rule", translation.RULES, ids=lambda r: r.name)
def test_each_rule_example_names_its_original_and_the_mapping_keys_the_work_by_it(rule):
    record = record_with(*rule.example)
    reading = translation.read(record)
    assert reading.translation and reading.original is not None and reading.reliable
    assert work_key(reading.original.creator, reading.original.title) == work_key(*rule.gives)
    assert key(convert(record).work) == work_key(*rule.gives)


def test_the_wordings_are_the_ones_the_mapping_reads():
    assert translation.LINK_WORDINGS == mapping_headings._TRANSLATION_OF
    assert translation.ORIGINAL_TITLE_LABELS == mapping_fields.ORIGINAL_TITLE_LABELS
    assert translation.NOTE.pattern == mapping_fields._TRANSLATION_NOTE.pattern


@pytest.mark.parametrize("path", [LC, FENNICA, SAMPLE, ELIOT], ids=lambda p: p.name)
def test_read_and_the_mapping_agree_on_every_real_record(path):
    """Wherever read() says a record names its original, the converter gave the record that
    original's work key; and a record that names none is keyed by its own titles."""
    named = 0
    for record in records(path).values():
        reading = translation.read(record)
        if reading.original is None:
            continue
        named += 1
        assert key(convert(record).work) == work_key(reading.original.creator, reading.original.title)
    assert named


def test_a_note_that_only_says_where_a_text_comes_from_names_no_original():
    record = record_with("=100  1\\$aFrick, Hermann.", "=245  10$aOutline of the antiseptic treatment of wounds.",
                         "=500  \\\\$aTranslated from the French by Richard Davey.")
    assert translation.read(record) == translation.Reading((), None)
    assert not translation.reliable_title("'Phänomenologie des Geistes'. 5th ed")
    assert translation.reliable_title("Chet Baker : herinneringen aan een lyrisch trompettist")


def test_a_240_that_is_no_translation_names_no_original():
    """Norwegian practice: 240 holds the preferred title whether or not the book is a translation."""
    record = record_with("=100  1\\$aIbsen, Henrik.", "=240  10$aEt dukkehjem", "=245  10$aEt dukkehjem.",
                         f008="160101s2016    no            000 1 nob  ")
    assert translation.read(record).original is None


def test_two_765_with_different_titles_name_no_one_original():
    record = records(FENNICA)["000061544"]  # Finlands författningssamling: two Finnish series
    reading = translation.read(record)
    assert reading.says == ("765",) and reading.original is None
    assert "finlands forfattningssamling" in key(convert(record).work)


def test_240_l_is_not_part_of_the_work_key_and_041_gives_the_expressions_languages():
    ibsen = convert(records(LC)["(DLC)00002489"])
    assert key(ibsen.work) == "work|ibsen henrik|nar vi døde vagner"
    assert ibsen.expression.first(T.E_LANGUAGE).value == T.language_iri("eng")
    original = ibsen.expression.first(T.E_TRANSLATION_OF)
    assert original.first(T.E_LANGUAGE).value == T.language_iri("nor") and original.first(T.E_WORK) is ibsen.work


def test_700_i_t_links_a_swedish_translation_to_the_finnish_original():
    kivi = records(FENNICA)["001286900"]
    reading = translation.read(kivi)
    assert reading.original.rule == "7XX $i" and reading.original.title == "Seitsemän veljestä"
    assert key(convert(kivi).work) == "work|kivi aleksis|seitseman veljesta"


def test_765_names_the_original_of_a_record_without_240():
    college = pymarc.parse_xml_to_array(str(M2BF))[0]
    assert key(convert(college).work) == "work||astrofizicheskie issledovaniia"


# 7XX order does not matter --------------------------------------------------------------

@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["001286900", "000792602", "000750823"]), st.randoms(use_true_random=False))
def test_the_work_and_expression_keys_do_not_depend_on_the_order_of_the_7xx_fields(cn, rnd):
    record = records(FENNICA)[cn]
    before = convert(record)
    added = [f for f in record.fields if f.tag.startswith("7")]
    for f in added:
        record.remove_field(f)
    rnd.shuffle(added)
    for f in added:
        record.add_ordered_field(f)
    after = convert(record)
    assert key(after.work) == key(before.work) and key(after.expression) == key(before.expression)


# in a store: one work, expressions by language; IRIs kept; MARC given back ------------------

def _ingest(store: Path, *paths: Path):
    return ingest([str(p) for p in paths], Settings(store=store, base=BASE, workers=1))


def _select(store: Path, sparql: str) -> list[dict]:
    s = quad_store(store)
    try:
        res = s.query(sparql, use_default_graph_as_union=True)
        names = [v.value for v in res.variables]
        return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in res]
    finally:
        del s


def _work_of(store: Path, cn: str) -> str:
    rows = _select(store, f"SELECT ?w WHERE {{ <{iri(cn)}> <{T.M_WORK}> ?w }}")
    assert len(rows) == 1, rows
    return rows[0]["w"]


def _expressions(store: Path, work: str) -> dict[str, set[str]]:
    """The work's expressions by language code."""
    out: dict[str, set[str]] = {}
    for row in _select(store, f"SELECT ?e ?l WHERE {{ ?e <{T.E_WORK}> <{work}> ; <{T.E_LANGUAGE}> ?l }}"):
        out.setdefault(row["l"].rsplit("/", 1)[-1], set()).add(row["e"])
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("translations") / "store"
    _ingest(path, FENNICA, LC, ELIOT)
    return path


def test_runeberg_translation_and_its_swedish_original_share_one_work(store):
    works = {_work_of(store, cn) for cn in RUNEBERG_240}
    assert len(works) == 1
    work = works.pop()
    titles = _select(store, f"SELECT ?t WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}")
    assert {r["t"] for r in titles} == {"Fänrik Ståls sägner"}
    by_language = _expressions(store, work)
    # Three editions joined through their title code 041 $h und: that makes no expression.
    assert set(by_language) == {"fin", "swe"} and len(by_language["fin"]) == len(by_language["swe"]) == 1
    finnish, swedish = by_language["fin"].pop(), by_language["swe"].pop()
    assert {r["o"] for r in _select(store, f"SELECT ?o WHERE {{ <{finnish}> <{T.E_TRANSLATION_OF}> ?o }}")} == {swedish}
    # The translator is on the Finnish expression, not on the work.
    named = _select(store, f"""SELECT ?p WHERE {{ <{finnish}> ?p ?a . ?a <{T.A_PERSON_NAME}> ?n .
                                FILTER(STRSTARTS(?n, "Manninen")) }}""")
    assert named


def test_runeberg_records_that_name_no_original_join_it_through_the_title_the_others_give(store):
    """000408932 says only 041 $h swe and names no original title; the 240-bearing editions say
    that 'Vänrikki Stoolin tarinat' by Runeberg is Fänrik Ståls sägner in Finnish, so it is
    under that work, with the Finnish expression they have."""
    work = _work_of(store, RUNEBERG_240[0])
    assert _work_of(store, "000408932") == work
    finnish = _select(store, f"SELECT ?e WHERE {{ <{iri('000408932')}> <{T.M_EXPRESSION}> ?e }}")[0]["e"]
    assert _expressions(store, work)["fin"] == {finnish}


def test_le_petit_prince_and_its_translations_share_one_work_with_an_expression_a_language(store):
    works = {_work_of(store, cn) for cn in [*PETIT_PRINCE, "(DLC)00013001"]}
    assert len(works) == 1
    by_language = _expressions(store, works.pop())
    for cn, lang in PETIT_PRINCE.items():
        expression = _select(store, f"SELECT ?e WHERE {{ <{iri(cn)}> <{T.M_EXPRESSION}> ?e }}")[0]["e"]
        assert by_language[lang] == {expression}


def test_the_7xx_link_and_the_246_give_the_originals_work(store):
    kivi = {_work_of(store, cn) for cn in ("001286900", "004507300", "000522909")}
    assert len(kivi) == 1
    work = _work_of(store, "990929710914702204")
    titles = _select(store, f"SELECT ?t WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}")
    assert {r["t"] for r in titles} == {"Old Possum's book of practical cats"}


def test_export_gives_back_every_field_of_a_translation_as_given(store):
    out = io.BytesIO()
    assert not export(store, BASE, out, "marc", workers=1).failed
    exported = {record_control_number(r): r
                for r in pymarc.MARCReader(io.BytesIO(out.getvalue()), to_unicode=True, force_utf8=True)}
    given = {**records(LC), **records(FENNICA)}
    checked = 0
    for cn, original in given.items():
        if not translation.read(original).translation:
            continue
        lines = [str(f) for f in exported[cn].fields]
        for f in original.fields:
            if f.tag != "005":  # the time the record last changed in the well
                assert str(f) in lines, (cn, str(f))
        checked += 1
    assert checked >= 60


def test_ingesting_the_same_files_again_keeps_every_iri(store, tmp_path):
    before = _select(store, f"SELECT ?m ?w ?e WHERE {{ ?m <{T.M_WORK}> ?w ; <{T.M_EXPRESSION}> ?e }}")
    copy = tmp_path / "again"
    _ingest(copy, FENNICA, LC, ELIOT)
    summary = _ingest(copy, FENNICA, LC, ELIOT)
    assert summary.records_new == summary.records_updated == 0
    after = _select(copy, f"SELECT ?m ?w ?e WHERE {{ ?m <{T.M_WORK}> ?w ; <{T.M_EXPRESSION}> ?e }}")
    key_of = lambda rows: sorted((r["m"], r["w"], r["e"]) for r in rows)  # noqa: E731
    assert key_of(after) == key_of(before)


def test_a_record_that_comes_to_name_its_original_joins_that_work_and_the_old_work_keeps_its_iri(tmp_path):
    """A store made before a record named its original (here: the record as it was without its
    240) keeps that record where it was until the record changes; the changed record joins its
    original's work, and the work it left keeps its IRI, with the records that did not change."""
    fennica = records(FENNICA)
    linked = fennica["000670725"]
    unlinked = pymarc.Record(leader=str(linked.leader))
    for f in linked.fields:
        if f.tag != "240":
            unlinked.add_field(f)
    first = tmp_path / "before.mrc"
    first.write_bytes(fennica["000408932"].as_marc() + unlinked.as_marc())
    store = tmp_path / "store"
    _ingest(store, first)
    own_work = _work_of(store, "000670725")
    assert own_work == _work_of(store, "000408932")

    second = tmp_path / "after.mrc"
    second.write_bytes(linked.as_marc() + fennica["003091846"].as_marc())
    summary = _ingest(store, second)
    assert summary.records_updated == 1
    assert _work_of(store, "000670725") == _work_of(store, "003091846") != own_work
    assert _work_of(store, "000408932") == own_work  # not changed, not moved
    s = quad_store(store)
    try:
        assert list(s.quads_for_pattern(ox.NamedNode(own_work), None, None, ox.DefaultGraph()))
    finally:
        del s


# aliases: a translation's own title names its original's work (pipeline.aliases) ----------

VANRIKKI = ("runeberg johan ludvig", "vanrikki stoolin tarinat")


def _vanrikki(path: Path) -> list[str]:
    """The records of Runeberg's Vänrikki Stoolin tarinat under his heading, by their own title."""
    out = []
    for cn, record in records(path).items():
        creator, title = translation.own_name(record)
        if work_key(creator, title) == work_key(*VANRIKKI):
            out.append(cn)
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo files ingested as `make demo` does (two conversion workers)."""
    path = tmp_path_factory.mktemp("demo") / "store"
    summary = ingest([str(SAMPLE), str(FENNICA)], Settings(store=path, base=BASE))
    return path, summary


def test_every_edition_of_vanrikki_stoolin_tarinat_is_under_fanrik_stals_sagner(demo):
    store, summary = demo
    editions = _vanrikki(FENNICA)
    assert len(editions) == 31 and set(RUNEBERG_240) <= set(editions)
    works = {_work_of(store, cn) for cn in editions}
    assert len(works) == 1
    work = works.pop()
    # What the work's page shows: one preferred title, the original's; a Finnish expression that
    # translates the Swedish one; every edition under the Finnish one.
    titles = _select(store, f"SELECT ?t ?a WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t ; <{T.W_AAP}> ?a }}")
    assert {r["t"] for r in titles} == {"Fänrik Ståls sägner"}
    assert all(r["a"].endswith("Fänrik Ståls sägner") for r in titles)
    by_language = _expressions(store, work)
    assert set(by_language) == {"fin", "swe"} and len(by_language["fin"]) == len(by_language["swe"]) == 1
    finnish, swedish = by_language["fin"].pop(), by_language["swe"].pop()
    assert {r["o"] for r in _select(store, f"SELECT ?o WHERE {{ <{finnish}> <{T.E_TRANSLATION_OF}> ?o }}")} == {swedish}
    expressions = {r["e"] for cn in editions
                   for r in _select(store, f"SELECT ?e WHERE {{ <{iri(cn)}> <{T.M_EXPRESSION}> ?e }}")}
    assert expressions == {finnish}
    assert summary.records_joined == len(editions) - len(RUNEBERG_240)
    # Another heading of the same man (no dates, "puuteluettelotieto") is not matched loosely.
    assert _work_of(store, "006588835") != work


def test_a_record_in_the_originals_language_with_the_translations_title_is_not_pulled_in(tmp_path):
    fennica = records(FENNICA)
    swedish = fennica["000408932"]
    for f in swedish.get_fields("041"):
        swedish.remove_field(f)
    swedish.add_ordered_field(pymarc.Field(tag="041", indicators=pymarc.Indicators("0", " "),
                                           subfields=[pymarc.Subfield("a", "swe")]))
    f008 = swedish["008"]
    f008.data = f008.data[:35] + "swe" + f008.data[38:]
    path = tmp_path / "in.mrc"
    path.write_bytes(fennica["003091846"].as_marc() + swedish.as_marc() + fennica["000737661"].as_marc())
    store = tmp_path / "store"
    summary = _ingest(store, path)
    assert summary.records_joined == 1
    original = _work_of(store, "003091846")
    assert _work_of(store, "000737661") == original
    assert _work_of(store, "000408932") != original


def test_the_alias_scan_finds_every_record_that_names_its_original_and_keys_them_as_the_mapping_does():
    from metadatabronn.pipeline import aliases
    lc20k = SHARED_LC if SHARED_LC.exists() else None
    for path in [p for p in (LC, FENNICA, SAMPLE, ELIOT, lc20k) if p is not None]:
        for chunk in iter_chunks(path):
            record = parse_chunk(chunk)
            reading = translation.read(record)
            if reading.original is not None:
                assert aliases.may_name_original(chunk), (path.name, chunk.number)
            elif not record.get_fields("130", "240") and path is not lc20k:
                creator, title = translation.own_name(record)
                if creator and title:
                    assert key(convert(record).work) == work_key(creator, title)


def test_the_scan_drops_a_title_named_by_two_originals(tmp_path):
    from metadatabronn.pipeline import aliases
    common = ("=041  1\\$aeng$hswe", "=100  1\\$aLagerlöf, Selma.")
    one = record_with(*common, "=240  10$aOsynliga länkar.$lEnglish", "=245  10$aStories.", cn="A1")
    two = record_with(*common, "=240  10$aDrottningar i Kungahälla.$lEnglish", "=245  10$aStories.", cn="A2")
    path = tmp_path / "two.mrc"
    path.write_bytes(one.as_marc() + two.as_marc())
    assert len(aliases.scan([str(path)])) == 0
    path.write_bytes(one.as_marc())
    table = aliases.scan([str(path)])
    assert set(table.targets) == {work_key("Lagerlöf, Selma", "Stories")}
    assert table.get(work_key("Lagerlöf, Selma", "Stories")).key == work_key("Lagerlöf, Selma", "Osynliga länkar")


SUBSET = (*RUNEBERG_240, "000408932", "000737661", "000855605", "006588835", "001286900", "000522904", "000061544")


@pytest.fixture(scope="module")
def subset_baseline(tmp_path_factory):
    fennica = records(FENNICA)
    path = tmp_path_factory.mktemp("subset") / "in.mrc"
    path.write_bytes(b"".join(fennica[cn].as_marc() for cn in SUBSET))
    store = path.parent / "store"
    _ingest(store, path)
    return fennica, _placement(store)


def _placement(store: Path) -> dict[str, tuple[str, str]]:
    rows = _select(store, f"SELECT ?m ?w ?e WHERE {{ ?m <{T.M_WORK}> ?w ; <{T.M_EXPRESSION}> ?e }}")
    return {r["m"]: (r["w"], r["e"]) for r in rows}


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(SUBSET))
def test_which_record_comes_first_does_not_change_any_work_or_expression(subset_baseline, tmp_path_factory, order):
    fennica, baseline = subset_baseline
    path = tmp_path_factory.mktemp("shuffled") / "in.mrc"
    path.write_bytes(b"".join(fennica[cn].as_marc() for cn in order))
    store = path.parent / "store"
    _ingest(store, path)
    assert _placement(store) == baseline
    work = baseline[iri(RUNEBERG_240[0])][0]
    assert baseline[iri("000408932")][0] == baseline[iri("000855605")][0] == work
    titles = _select(store, f"SELECT ?t WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}")
    assert {r["t"] for r in titles} == {"Fänrik Ståls sägner"}


def test_a_store_made_before_keeps_the_work_of_its_own_the_translations_title_was_given(tmp_path):
    """A work minted under an alias key in an earlier run stays its own work until a merge: its
    records, and new records of that title, go on being its; the records naming the original
    are under the original's."""
    fennica = records(FENNICA)
    editions = _vanrikki(FENNICA)
    later = "000737661"  # not in the first run
    first = tmp_path / "before.mrc"
    first.write_bytes(b"".join(fennica[cn].as_marc() for cn in editions if cn not in (*RUNEBERG_240, later)))
    store = tmp_path / "store"
    _ingest(store, first)
    own_work = _work_of(store, "000408932")
    before = _placement(store)

    summary = _ingest(store, FENNICA)
    assert summary.records_joined == 0
    after = _placement(store)
    assert all(after[m] == placed for m, placed in before.items())  # every IRI kept
    assert _work_of(store, later) == own_work
    original = _work_of(store, RUNEBERG_240[0])
    assert original != own_work and {_work_of(store, cn) for cn in RUNEBERG_240} == {original}


def test_a_joined_record_that_changes_stays_under_the_originals_work(tmp_path):
    fennica = records(FENNICA)
    first = tmp_path / "first.mrc"
    first.write_bytes(b"".join(fennica[cn].as_marc() for cn in SUBSET))
    store = tmp_path / "store"
    assert _ingest(store, first).records_joined == 3
    original = _work_of(store, RUNEBERG_240[0])
    before = _placement(store)
    changed = fennica["000408932"]
    changed.add_ordered_field(pymarc.Field(tag="500", indicators=pymarc.Indicators(" ", " "),
                                           subfields=[pymarc.Subfield("a", "Korjattu painos.")]))
    second = tmp_path / "second.mrc"
    second.write_bytes(b"".join(fennica[cn].as_marc() for cn in SUBSET))
    summary = _ingest(store, second)
    assert summary.records_updated == 1 and summary.records_joined == 1
    assert _placement(store) == before
    assert _work_of(store, "000408932") == original


@pytest.mark.parametrize("fields, parsed", [
    ([("041", "0 ", [("a", "eng")])], False),  # a language code alone names no original
    ([("041", "0 ", [("a", "eng"), ("h", "nor")])], True),
    ([("041", "1 ", [("a", "eng")])], True),  # first indicator 1: a translation
    ([("240", "10", [("a", "Sult.")])], False),
    ([("240", "10", [("a", "Sult."), ("l", "English")])], True),
    ([("246", "1 ", [("a", "Other title")])], False),  # a 246 without a label of the original
    ([("246", "1 ", [("i", "Tyt. oryg.:"), ("a", "Głód")])], True),
    ([("246", "1 ", [("i", "Alkuteos:"), ("a", "Sult")])], True),
    ([("765", "0 ", [("t", "Sult")])], True),
    ([("500", "  ", [("a", "Translation of: Sult.")])], True),
])
def test_the_alias_scan_parses_a_record_only_when_a_field_can_name_an_original(fields, parsed):
    from metadatabronn.marc import Chunk, Format
    from metadatabronn.pipeline import aliases
    record = pymarc.Record(force_utf8=True, leader="00000cam a2200000 a 4500")
    record.add_field(pymarc.Field(tag="001", data="1"),
                     pymarc.Field(tag="100", indicators=pymarc.Indicators("1", " "),
                                  subfields=[pymarc.Subfield("a", "Hamsun, Knut.")]),
                     pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                  subfields=[pymarc.Subfield("a", "Hunger")]))
    for tag, ind, subs in fields:
        record.add_ordered_field(pymarc.Field(tag=tag, indicators=pymarc.Indicators(*ind),
                                              subfields=[pymarc.Subfield(c, v) for c, v in subs]))
    assert aliases.may_name_original(Chunk(1, Format.ISO2709, record.as_marc(), "in.mrc")) is parsed


def _works_by_record(store: Path) -> dict[str, str]:
    return {r["m"]: r["w"] for r in _select(store, f"SELECT ?m ?w WHERE {{ ?m <{T.M_WORK}> ?w }}")}


def test_workers_forked_before_the_alias_scan_ends_join_the_same_records_as_one_process(tmp_path):
    # With a process pool the scan runs beside the first conversions and the run converts again
    # the records whose own key the table names; in one process the table is made first.
    paths = [str(FENNICA), str(LC), str(ELIOT)]
    one = ingest(paths, Settings(store=tmp_path / "one", base=BASE, workers=1))
    pool = ingest(paths, Settings(store=tmp_path / "pool", base=BASE, workers=2))
    assert one.records_joined > 0
    assert (pool.records_joined, pool.records_stored, pool.works) == (one.records_joined, one.records_stored, one.works)
    assert pool.aliases_seconds > 0
    assert _works_by_record(tmp_path / "pool") == _works_by_record(tmp_path / "one")


def test_a_failure_of_the_alias_scan_beside_the_conversions_reaches_the_run(tmp_path, monkeypatch):
    # Run in a thread, the scan must not fail unseen: a run without its table would join nothing.
    from metadatabronn.pipeline import aliases

    def broken(paths):
        raise MemoryError("scan")

    monkeypatch.setattr(aliases, "scan", broken)
    with pytest.raises(MemoryError):
        aliases.Scanning([str(LC)]).table()
