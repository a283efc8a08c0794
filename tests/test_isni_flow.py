"""The ISNI flow against a real store: requests for the agents changed since a date that have no
ISNI, answers taken in (an assigned ISNI becomes the agent's identifier with an Update in the feed;
possible matches go to the review list), idempotence, and answers that cannot be used."""

from __future__ import annotations

import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from metadatabronn.cli import main
from metadatabronn.errors import IsniError, UsageError
from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline import isni as flow
from metadatabronn.store import Store
from metadatabronn.store import authorities as A
from metadatabronn.store import editing as E
from metadatabronn.store.catalogue import Catalogue

from .conftest import DATA

BASE = "http://example.org"
ISNI = DATA / "isni"
HOWELLS = "Howells, William Dean"


@pytest.fixture
def store_path(tmp_path) -> Path:
    path = tmp_path / "store"
    ingest([str(DATA / "marc" / "lc5.mrc")], Settings(store=path, base=BASE, workers=1))
    return path


def agent_named(store: Store, name: str) -> str:
    (iri,) = store.subjects_with(T.A_PERSON_NAME, name)
    return iri


def write_requests(store_path: Path, out: Path, since="2000-01-01T00:00:00Z", titles=10):
    store = Store(store_path, BASE, read_only=True)
    cat = Catalogue(store_path, read_only=True)
    try:
        return flow.requests(store, cat, since, out, titles=titles)
    finally:
        cat.close()
        store.close()


def answers(tmp_path: Path, **files: str) -> Path:
    """A directory of answers: agent id -> the test file ISNI's answer is copied from."""
    folder = tmp_path / "answers"
    folder.mkdir(exist_ok=True)
    for agent_id, source in files.items():
        shutil.copy(ISNI / source, folder / f"{agent_id}.xml")
    return folder


def activities(store_path: Path) -> list[tuple]:
    conn = sqlite3.connect(store_path / "catalogue.sqlite3")
    try:
        return conn.execute("SELECT verb, iri FROM activities ORDER BY n").fetchall()
    finally:
        conn.close()


def test_requests_for_every_agent_changed_since_the_date(store_path, tmp_path):
    summary = write_requests(store_path, tmp_path / "out")
    assert len(summary.written) == 5 and not summary.skipped
    store = Store(store_path, BASE, read_only=True)
    howells = agent_named(store, HOWELLS)
    store.close()
    root = ET.parse(tmp_path / "out" / f"{howells.rsplit('/', 1)[-1]}.xml").getroot()
    person = root.find("identityInformation/identity/personOrFiction")
    assert person.findtext("personalName/surname") == "Howells"
    assert person.findtext("personalName/forename") == "William Dean"
    assert person.findtext("birthDate") == "1837" and person.findtext("deathDate") == "1920"
    assert person.findtext("resource/titleOfWork/title") == "Their silver wedding journey"
    assert person.findtext("resource/creationRole") == "aut"
    assert person.findtext("resource/titleOfWork/imprint/publisher") == "Harper"
    assert root.findtext("identityInformation/requestorIdentifierOfIdentity/identifier") == \
        f"(metadatabronn){howells.rsplit('/', 1)[-1]}"
    # nothing changed since a later date: no request
    assert not write_requests(store_path, tmp_path / "later", since="2999-01-01T00:00:00Z").written


def test_a_request_carries_variants_and_identifiers_a_writer_gave(store_path, tmp_path):
    store = Store(store_path, BASE)
    howells = agent_named(store, HOWELLS)
    variant = T.RDAA + "P50412"
    E.write(store, howells, E.Author("nb", "cataloguer"),
            [(variant, "Howells, W. D. 1837-1920", True, None, None), (variant, "Hauells, Uil'iam Din", True, None, None),
             (T.MB_IDENTIFIER, "(viaf)12345", True, None, None)], [], "2030-01-01T00:00:00Z")
    store.close()
    write_requests(store_path, tmp_path / "out", titles=0)
    person = ET.parse(tmp_path / "out" / f"{howells.rsplit('/', 1)[-1]}.xml").getroot()
    variants = sorted((v.findtext("surname"), v.findtext("forename"), v.findtext("marcDate") or "")
                      for v in person.iter("personalNameVariant"))
    assert variants == [("Hauells", "Uil'iam Din", ""), ("Howells", "W. D.", "1837-1920")]
    assert [(o.findtext("type"), o.findtext("identifier")) for o in person.iter("otherIdentifierOfIdentity")] == \
        [("VIAF", "12345")]
    assert person.find(".//resource") is None  # --titles 0


def test_an_assigned_isni_becomes_the_agents_identifier_with_an_update_in_the_feed(store_path, tmp_path):
    store = Store(store_path, BASE)
    howells = agent_named(store, HOWELLS)
    before_seq, before_feed = store.next_sequence(), len(activities(store_path))
    folder = answers(tmp_path, **{howells.rsplit("/", 1)[-1]: "assigned.xml"})
    summary = flow.responses(store, folder)
    assert summary.assigned == [(howells, "000000012281955X")]
    rows = store.about(howells)
    assert (T.MB_IDENTIFIER, "(isni)000000012281955X") in {(p, o) for _, p, o, *_ in rows}
    assert (T.A_PERSON_ID, "(isni)000000012281955X") in {(p, o) for _, p, o, *_ in rows}
    assert (T.OWL_SAMEAS, "https://isni.org/isni/000000012281955X") in {(p, o) for _, p, o, *_ in rows}
    graphs = {g for g, p, o, *_ in rows if o == "(isni)000000012281955X"}
    assert graphs == {E.writer_graph(BASE, "isni", howells)}
    assert store.next_sequence() == before_seq + 1
    feed = activities(store_path)
    assert ("Update", howells) in feed[before_feed:]
    # read again: nothing changes
    again = flow.responses(store, folder)
    assert again.unchanged == [howells] and not again.assigned
    assert store.next_sequence() == before_seq + 1 and activities(store_path) == feed
    store.close()
    # and the agent is not asked for again
    summary = write_requests(store_path, tmp_path / "out")
    assert summary.skipped == {"has an ISNI already": [howells]} and len(summary.written) == 4


def test_an_assigned_isni_keeps_the_identifiers_the_agent_had(store_path, tmp_path):
    store = Store(store_path, BASE)
    howells = agent_named(store, HOWELLS)
    E.write(store, howells, E.Author("nb", "cataloguer"), [(T.MB_IDENTIFIER, "(viaf)12345", True, None, None)], [],
            "2030-01-01T00:00:00Z")
    flow.responses(store, answers(tmp_path, **{howells.rsplit("/", 1)[-1]: "assigned.xml"}))
    ids = {o for _, p, o, *_ in store.about(howells) if p == T.MB_IDENTIFIER}
    store.close()
    assert ids == {"(viaf)12345", "(isni)000000012281955X"}


def test_possible_matches_go_to_the_review_list_and_a_person_decides(store_path, tmp_path):
    store = Store(store_path, BASE)
    howells = agent_named(store, HOWELLS)
    seq = store.next_sequence()
    folder = answers(tmp_path, **{howells.rsplit("/", 1)[-1]: "possible.xml"})
    assert flow.responses(store, folder).review == [howells]
    (entry,) = A.reviews(store)
    assert entry.agent == howells and not entry.decision
    assert [c["ppn"] for c in entry.candidates] == ["123456789", "987654321"]
    assert store.next_sequence() == seq  # the review list is no change of an entity
    assert flow.responses(store, folder).unchanged == [howells]
    assert [r.when for r in A.reviews(store)] == [entry.when]
    with pytest.raises(IsniError):
        flow.decide(store, howells, "0000000121032680")  # a mistyped check character
    assert "written" in flow.decide(store, howells.rsplit("/", 1)[-1], "0000 0001 2103 2683")
    assert "(isni)0000000121032683" in store.values(howells, T.MB_IDENTIFIER)
    assert [r.decision for r in A.reviews(store)] == ["0000000121032683"]
    assert "already" in flow.decide(store, howells, "0000000121032683")
    store.close()


def test_a_rejected_decision_and_other_answers_write_no_identifier(store_path, tmp_path):
    store = Store(store_path, BASE)
    howells, connor = agent_named(store, HOWELLS), agent_named(store, "Connor, Ralph")
    guiney = agent_named(store, "Guiney, Louise Imogen")
    seq = store.next_sequence()
    folder = answers(tmp_path, **{howells.rsplit("/", 1)[-1]: "possible.xml", connor.rsplit("/", 1)[-1]: "rejected.xml",
                                  guiney.rsplit("/", 1)[-1]: "provisional.xml"})
    summary = flow.responses(store, folder)
    assert summary.rejected == [(connor, "insufficient data: no title of a work")]
    assert summary.provisional == [(guiney, "555000111")]
    assert flow.decide(store, howells, None).endswith("rejected")
    assert [r.decision for r in A.reviews(store)] == ["rejected"]
    assert store.next_sequence() == seq
    store.close()


@pytest.mark.parametrize("bad", ["bad-check-character.xml", "message.xml", "truncated.xml", "not-a-response.xml"])
def test_an_unusable_answer_stops_the_run_before_anything_is_written(store_path, tmp_path, bad):
    store = Store(store_path, BASE)
    howells, connor = agent_named(store, HOWELLS), agent_named(store, "Connor, Ralph")
    seq = store.next_sequence()
    # the good answers sort before the bad one: they are still not taken in
    folder = answers(tmp_path, **{howells.rsplit("/", 1)[-1]: "assigned.xml", connor.rsplit("/", 1)[-1]: "possible.xml",
                                  "zzzz": bad})
    with pytest.raises(IsniError) as err:
        flow.responses(store, folder)
    assert "zzzz.xml" in str(err.value)
    assert store.next_sequence() == seq and not list(A.reviews(store))
    assert not store.values(howells, T.MB_IDENTIFIER)
    store.close()


def test_an_answer_that_names_no_agent_is_refused(store_path, tmp_path):
    store = Store(store_path, BASE)
    with pytest.raises(IsniError, match="0123456789abcdef0123.xml: names no agent of the well"):
        flow.responses(store, answers(tmp_path, **{"0123456789abcdef0123": "assigned.xml"}))
    store.close()


def test_the_commands_end_to_end(store_path, tmp_path, capsys):
    out = tmp_path / "requests"
    args = ["--store", str(store_path), "--base-iri", BASE]
    assert main(["isni", "requests", "--since", "2000-01-01", "--out", str(out), "--titles", "2", *args]) == 0
    assert "5 requests written" in capsys.readouterr().out
    files = sorted(p.name for p in out.iterdir())
    folder = answers(tmp_path, **{files[0][:-4]: "assigned.xml", files[1][:-4]: "possible.xml"})
    assert main(["isni", "responses", str(folder), *args]) == 0
    assert "1 ISNIs written, 1 agents to review" in capsys.readouterr().out
    assert main(["isni", "review", *args]) == 0
    listed = capsys.readouterr().out
    assert files[1][:-4] in listed and "0000 0001 2103 2683" in listed
    assert main(["isni", "decide", files[1][:-4], "--reject", *args]) == 0
    capsys.readouterr()
    assert main(["isni", "review", *args]) == 0
    assert capsys.readouterr().out == ""
    assert main(["isni", "decide", files[1][:-4], *args]) == 2  # neither an ISNI nor --reject
    (folder / "broken.xml").write_text("<responseRecord>")
    assert main(["isni", "responses", str(folder), *args]) == 1
    assert "broken.xml: not well-formed XML" in capsys.readouterr().err
    assert main(["isni", "requests", "--since", "yesterday", "--out", str(out), *args]) == 2


def test_dates_come_from_the_access_point_when_no_element_gives_them():
    iri = f"{BASE}/agent/0123456789abcdef0123"
    rows = [("", T.A_PERSON_NAME, "Davis, Miles", True, None, None),
            ("", T.A_PERSON_AAP, "Davis, Miles, 1926-", True, None, None)]
    ident = flow.identity_of(None, iri, "person", rows, 0, "x")
    assert (ident.name.marc_date, ident.birth, ident.death, ident.date_type) == ("1926-", "1926", "", "")
    rows = [("", T.A_PERSON_NAME, "Hildegard", True, None, None),
            ("", T.A_PERSON_ACTIVITY, "fl. 1150-1170", True, None, None)]
    ident = flow.identity_of(None, iri, "person", rows, 0, "x")
    assert (ident.birth, ident.death, ident.date_type) == ("1150", "1170", "flourished")
    assert ident.requestor_id == "(x)0123456789abcdef0123"
    rows = [("", T.A_CORPORATE_NAME, "Nordlys Media", True, None, None),
            ("g", T.RDAA + "P50037", "1999", True, None, None),
            ("g", T.RDAA + "P50023", T.LANG_BASE + "nob", False, None, None)]
    ident = flow.identity_of(None, iri, "corporate", rows, 0, "x")
    assert (ident.usage_from, ident.usage_to, ident.languages) == ("1999", "", ["nob"])


def test_a_dump_leaves_the_review_list_out(store_path, tmp_path, capsys):
    store = Store(store_path, BASE)
    howells = agent_named(store, HOWELLS)
    flow.responses(store, answers(tmp_path, **{howells.rsplit("/", 1)[-1]: "possible.xml"}))
    store.close()
    out = tmp_path / "dump.nq"
    assert main(["dump", "--store", str(store_path), "--format", "nquads", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "/graph/isni-review" not in text and howells in text


def test_answer_and_agent_names_that_are_no_ids_are_refused_cleanly(store_path, tmp_path):
    store = Store(store_path, BASE)
    with pytest.raises(IsniError, match="my answer.xml: names no agent"):
        flow.responses(store, answers(tmp_path, **{"my answer": "assigned.xml"}))
    with pytest.raises(UsageError, match="not an agent's IRI or id"):
        flow.decide(store, "no such agent", None)
    store.close()
