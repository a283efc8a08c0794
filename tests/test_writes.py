"""Entity writes over HTTP as a client makes them, against a real server of real records:
read, correct, create, patch, delete, merge and submit records, each seen where it must flow
(the entity at once, then the change feed, OAI-PMH and the record's MARC); every refusal in the
error table, each leaving the entity as it was; and the audit log of it all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pymarc
import pytest

from .writeserver import (GOLDEN, JSONLD, PROBLEM, RDAE, RDAM, RDAW, SAMPLE, TITLE, WORK, eventually, free_port,
                          make_store, record_of, serving, works_with_records)

STATED_IN = "statedIn"  # the well's own link to the writer's graph (its key in the JSON-LD context)
RDAI = "http://rdaregistry.info/Elements/i/"
SMALL_LIMIT = 20_000  # bytes a write may have on this server (METADATABRONN_MAX_WRITE_BYTES)
SUBMIT_LIMIT = 100_000  # bytes a submitted file may have on this server (METADATABRONN_MAX_SUBMIT_BYTES)


@pytest.fixture(scope="module")
def well(tmp_path_factory):
    port = free_port()
    store = tmp_path_factory.mktemp("writes") / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}", files=(GOLDEN, SAMPLE))
    with serving(store, port, keys, {"METADATABRONN_MAX_WRITE_BYTES": str(SMALL_LIMIT),
                                     "METADATABRONN_MAX_SUBMIT_BYTES": str(SUBMIT_LIMIT)}) as served:
        served.works = works_with_records(served)
        yield served


@pytest.fixture(scope="module")
def pick(well):
    """A work (and its one record's manifestation id) no other test of this module writes."""
    left = list(well.works)
    assert len(left) >= 8, left

    def take(fits=lambda work, manifestation: True):
        return left.pop(next(i for i, w in enumerate(left) if fits(*w)))

    return take


def is_problem(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def state(etag: str) -> str:
    """The entity state an ETag names, whatever representation it came with."""
    return etag.strip('"').split(".", 1)[0]


def feed_of(well, iri: str, after: int = 0) -> list[tuple[str, int]]:
    return [(a["type"], a["sequence"]) for a in well.changes() if a["object"]["id"] == iri and a["sequence"] > after]


# --- flows -----------------------------------------------------------------------------------

def test_a_corrected_title_is_read_back_at_once_and_flows_to_feed_oai_and_marc(well, pick):
    work, manifestation = pick()
    marc_before = well.marc(manifestation)
    stamp_before = well.datestamp(manifestation)
    doc, etag = well.read(work)
    corrected = doc["preferredTitle"] + " (corrected)"
    r = well.put(work, {**doc, "preferredTitle": corrected}, etag)
    assert r.status_code == 200, r.text
    new_etag, sequence = r.headers["etag"], r.json()["sequence"]
    assert r.json()["changed"] is True and state(new_etag) != state(etag)
    # read-your-writes: the GET right after the write shows it, before any refresh
    again, tag = well.read(work)
    assert again["preferredTitle"] == corrected and state(tag) == state(new_etag)
    # the ETag read before is stale now; none at all is refused; * is any version
    assert is_problem(well.put(work, doc, etag), 412)["current"]["etag"] == new_etag
    assert is_problem(well.put(work, doc, None), 428)
    assert well.read(work)[0]["preferredTitle"] == corrected
    same = well.put(work, again, "*")
    assert same.status_code == 200 and same.json()["changed"] is False and same.headers["etag"] == new_etag

    well.refreshed(sequence)
    assert state(well.read(work)[1]) == state(new_etag)  # the tag is the state's, snapshot or writer
    activities = [a for a in well.changes() if a["sequence"] == sequence]
    assert ("Update", work) in [(a["type"], a["object"]["id"]) for a in activities]
    assert ("Update", f"{well.base}/manifestation/{manifestation}") in [(a["type"], a["object"]["id"])
                                                                          for a in activities]
    published = next(a["published"] for a in activities if a["object"]["id"] == work)
    stamp = well.datestamp(manifestation)
    assert stamp == published[:19] + "Z" and stamp >= stamp_before
    marc_after = well.marc(manifestation)
    assert [f["a"] for f in marc_after.get_fields("240")] == [corrected]
    # everything nobody edited goes out as it came in
    unchanged = lambda rec: [str(f) for f in rec.fields if f.tag not in ("005", "240")]  # noqa: E731
    assert unchanged(marc_after) == unchanged(marc_before)
    assert str(marc_after.leader) == str(marc_before.leader)


def test_turtle_with_a_relative_iri_and_jsonld_without_an_id_create_works(well):
    before = well.sequence()
    turtle = f'@prefix rdaw: <http://rdaregistry.info/Elements/w/> .\n<> a <{WORK}> ; rdaw:P10223 "Made in Turtle" .\n'
    r = well.post("/works", turtle.encode(), **{"Content-Type": "text/turtle"})
    assert r.status_code == 201, r.text
    made = r.headers["location"]
    assert made.startswith(well.base + "/work/") and r.json()["id"] == made
    doc, etag = well.read(made)
    assert doc["preferredTitle"] == "Made in Turtle" and state(etag) == state(r.headers["etag"])

    r = well.post("/works", json.dumps({"@context": f"{well.base}/context.jsonld", "@type": "Work",
                                        "preferredTitle": "Made in JSON-LD"}).encode(), **{"Content-Type": JSONLD})
    assert r.status_code == 201, r.text
    other = r.headers["location"]
    assert other != made and well.read(other)[0]["preferredTitle"] == "Made in JSON-LD"
    well.refreshed(r.json()["sequence"])
    assert feed_of(well, made, before)[0][0] == "Create"
    assert feed_of(well, other, before)[0][0] == "Create"


def test_an_unused_work_is_deleted_and_a_work_records_name_is_not(well, pick):
    r = well.post("/works", json.dumps({"@context": f"{well.base}/context.jsonld",
                                        "preferredTitle": "To be deleted"}).encode(), **{"Content-Type": JSONLD})
    assert r.status_code == 201, r.text
    made = r.headers["location"]
    _, etag = well.read(made)
    gone = well.http.delete(made, headers=well.auth(**{"If-Match": etag}))
    assert gone.status_code == 204, gone.text
    assert is_problem(well.get(made), 410)["deleted"]
    sequence = max(s for _, s in eventually(lambda: feed_of(well, made), "the feed naming the created work"))
    well.refreshed(sequence)
    assert [t for t, _ in feed_of(well, made)] == ["Create", "Delete"]
    assert is_problem(well.get(made), 410)  # and so from the fresh snapshot
    # a deleted entity cannot be written to or deleted again
    assert is_problem(well.put(made, {"preferredTitle": "back"}, "*"), 410)

    work, _ = pick()
    _, etag = well.read(work)
    named = well.http.delete(work, headers=well.auth(**{"If-Match": etag}))
    assert "manifestation" in is_problem(named, 409)["detail"]
    assert well.read(work)[1] == etag


def test_a_merge_patch_changes_the_title_and_leaves_the_rest(well, pick):
    work, _ = pick()
    doc, etag = well.read(work)
    r = well.http.patch(work, content=json.dumps({"preferredTitle": "Patched title"}),
                        headers=well.auth(**{"Content-Type": "application/merge-patch+json", "If-Match": etag}))
    assert r.status_code == 200, r.text
    after, tag = well.read(work)
    assert {k: v for k, v in after.items() if k != STATED_IN} == {**doc, "preferredTitle": "Patched title"}
    assert state(tag) == state(r.headers["etag"])
    # a patch removing a member (null) removes that element
    r = well.http.patch(work, content=json.dumps({"category": None}),
                        headers=well.auth(**{"Content-Type": "application/merge-patch+json", "If-Match": tag}))
    assert r.status_code == 200, r.text
    assert "category" not in well.read(work)[0]
    # a patch is still checked against the version read
    r = well.http.patch(work, content=json.dumps({"preferredTitle": "Lost"}),
                        headers=well.auth(**{"Content-Type": "application/merge-patch+json", "If-Match": tag}))
    assert is_problem(r, 412)


def own_title(work: str, manifestation: str) -> bool:
    """Whether the work's record gives its title in a 130 or 240 of its own."""
    return bool(record_of(manifestation).get_fields("130", "240"))


def test_a_merged_work_leads_to_its_survivor_and_its_record_loaded_again_lands_there(well, pick):
    merged, record_id = pick(lambda *w: not own_title(*w))
    survivor, _ = pick()
    _, etag = well.read(merged)
    r = well.merge(merged, survivor, etag)
    assert r.status_code == 200, r.text
    assert r.headers["location"] == survivor and r.json()["records"] >= 1
    redirect = well.http.get(merged, params={"format": "jsonld"})
    assert redirect.status_code == 308 and redirect.headers["location"].split("?")[0] == survivor
    # the feed: Deprecate of the merged one, with the survivor its target; Update of the survivor
    activities = eventually(lambda: [a for a in well.changes() if a["object"]["id"] == merged
                                     and a["type"] == "Deprecate"], "the feed's Deprecate")
    deprecated = activities[-1]
    assert deprecated["target"]["id"] == survivor
    assert any(a["type"] == "Update" and a["object"]["id"] == survivor and a["sequence"] > deprecated["sequence"]
               for a in well.changes())
    well.refreshed(deprecated["sequence"])
    # the merged work's record now names the survivor's title; a write to the merged one is sent on
    survivor_title = well.read(survivor)[0]["preferredTitle"]
    assert [f["a"].rstrip(".") for f in well.marc(record_id).get_fields("240", "130")] == [survivor_title.rstrip(".")]
    refused = is_problem(well.put(merged, {"preferredTitle": "Too late"}, "*"), 409)
    assert refused["current"]["replacedBy"] == survivor
    # the record of the merged work, loaded again (changed, so that it is mapped again), lands
    # on the survivor, and the merged work stays merged
    record = record_of(record_id)
    record.add_field(pymarc.Field(tag="500", indicators=[" ", " "], subfields=[pymarc.Subfield("a", "Loaded again.")]))
    before = well.sequence()
    r = well.post("/records?name=again.mrc", record.as_marc(), client="cataloguer",
                  **{"Content-Type": "application/marc"})
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["records_updated"] == 1, r.json()
    eventually(lambda: well.sequence() > before, "the load in the server's snapshot")
    rows = well.sparql(f"""SELECT ?w WHERE {{ <{well.base}/manifestation/{record_id}>
                           <http://rdaregistry.info/Elements/m/P30139> ?e .
                           ?e <http://rdaregistry.info/Elements/e/P20231> ?w }}""")
    assert {row["w"] for row in rows} == {survivor}
    assert well.http.get(merged).status_code == 308
    marc = well.marc(record_id)
    assert [f["a"] for f in marc.get_fields("500") if f["a"] == "Loaded again."]


def test_an_etag_names_the_state_in_any_representation(well, pick):
    work, _ = pick()
    doc, etag = well.read(work)
    turtle = well.get(work, "turtle")
    assert state(turtle.headers["etag"]) == state(etag) and turtle.headers["etag"] != etag
    assert well.http.head(work, params={"format": "jsonld"}).headers["etag"] == etag
    assert well.get(work, headers={"If-None-Match": etag}).status_code == 304
    # a weak tag never matches (RFC 9110); a list matches if one of it is current
    weak = "W/" + etag
    assert is_problem(well.put(work, {**doc, "preferredTitle": "Weak"}, weak), 412)
    r = well.put(work, {**doc, "preferredTitle": "Listed"}, f'"0000", {turtle.headers["etag"]}')
    assert r.status_code == 200, r.text
    assert well.get(work, headers={"If-None-Match": etag}).status_code == 200  # changed since


def test_a_record_loaded_since_the_read_makes_the_etag_stale(well, pick):
    work, manifestation = pick()
    doc, etag = well.read(work)
    submit_with_a_subject(well, manifestation)
    again, tag = eventually(lambda: (lambda d, t: (d, t) if state(t) != state(etag) else None)(*well.read(work)),
                            "the work as the record now says it")
    assert len(again["subject"]) == len(doc["subject"]) + 1
    assert is_problem(well.put(work, {**doc, "preferredTitle": "From an old read"}, etag), 412)
    r = well.put(work, {**again, "preferredTitle": "From a fresh read"}, tag)
    assert r.status_code == 200, r.text
    assert well.read(work)[0]["subject"] == again["subject"]


def submit_with_a_subject(well, manifestation: str) -> None:
    """The golden record of ``manifestation`` with one more subject, submitted to the well."""
    record = record_of(manifestation)
    record.add_field(pymarc.Field(tag="650", indicators=[" ", "0"], subfields=[pymarc.Subfield("a", "Wells.")]))
    r = well.post("/records?name=subject.mrc", record.as_marc(), **{"Content-Type": "application/marc"})
    assert r.status_code == 200 and r.json()["summary"]["records_updated"] == 1, r.text


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    """A server that never refreshes its snapshot: what it shows of a change since it started
    comes from the writer, or not at all."""
    port = free_port()
    store = tmp_path_factory.mktemp("frozen") / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}")
    with serving(store, port, keys, None, "--refresh", "0") as served:
        served.works = works_with_records(served)
        yield served


def test_an_entity_write_is_read_back_from_a_snapshot_that_never_refreshes(frozen):
    work, _ = frozen.works[0]
    doc, etag = frozen.read(work)
    r = frozen.put(work, {**doc, "preferredTitle": "Read from the writer"}, etag)
    assert r.status_code == 200, r.text
    again, tag = frozen.read(work)
    assert again["preferredTitle"] == "Read from the writer" and state(tag) == state(r.headers["etag"])
    assert frozen.sequence() < r.json()["sequence"]


def test_a_submitted_record_is_read_back_at_once(frozen):
    work, manifestation = frozen.works[1]
    _, etag = frozen.read(work)
    submit_with_a_subject(frozen, manifestation)
    assert state(frozen.read(work)[1]) != state(etag)


def test_a_merged_works_record_with_its_own_240_names_the_survivor(well, pick):
    merged, record_id = pick(own_title)
    survivor, _ = pick()
    r = well.merge(merged, survivor, well.read(merged)[1])
    assert r.status_code == 200, r.text
    eventually(lambda: any(a["type"] == "Deprecate" and a["object"]["id"] == merged for a in well.changes()),
               "the merge in the server's snapshot")
    title = well.read(survivor)[0]["preferredTitle"].rstrip(".")
    assert [f["a"].rstrip(".") for f in well.marc(record_id).get_fields("240", "130")] == [title]


def test_a_manifestation_is_relinked_and_an_item_added(well, pick):
    work, manifestation = pick()
    target, _ = pick()
    expression = well.sparql(f"SELECT ?e WHERE {{ ?e <{RDAE}P20231> <{target}> }} LIMIT 1")[0]["e"]
    iri = f"{well.base}/manifestation/{manifestation}"
    doc, etag = well.read(iri)
    assert doc["@id"] == iri
    r = well.get(iri, "ntriples")
    nt = r.text.replace(f"<{doc['expressionManifested']}>", f"<{expression}>").replace(f"<{work}>", f"<{target}>")
    written = well.put(iri, nt.encode(), r.headers["etag"], media="application/n-triples")
    assert written.status_code == 200, written.text
    triples = [t.split(" ", 2) for t in well.get(iri, "ntriples").text.splitlines()]
    links = {(p, o) for _, p, o in triples if p in (f"<{RDAM}P30139>", f"<{RDAM}P30135>")}
    assert links == {(f"<{RDAM}P30139>", f"<{expression}> ."), (f"<{RDAM}P30135>", f"<{target}> .")}
    # what its record says is not written here
    doc, etag = well.read(iri)
    assert is_problem(well.put(iri, nt.replace('"', '"Changed ', 1).encode(), etag, media="application/n-triples"),
                      422)
    # an item of it
    turtle = f'<> <{RDAI}P40049> <{iri}> ; <{RDAI}P40162> "Oslo, magazine" .'
    made = well.post("/items", turtle.encode(), **{"Content-Type": "text/turtle"})
    assert made.status_code == 201, made.text
    item = made.headers["location"]
    assert well.get(item, "ntriples").status_code == 200
    well.refreshed(made.json()["sequence"])
    assert feed_of(well, item)[0][0] == "Create"


def test_agents_and_concepts_are_written_with_their_own_scopes(well):
    rdaa, skos = "http://rdaregistry.info/Elements/a/", "http://www.w3.org/2004/02/skos/core#"
    person = f'<> a <http://rdaregistry.info/Elements/c/C10004> ; <{rdaa}P50117> "Nordmann, Kari" .'
    made = well.post("/agents", person.encode(), client="agents-only", **{"Content-Type": "text/turtle"})
    assert made.status_code == 201, made.text
    agent = made.headers["location"]
    assert agent.startswith(well.base + "/agent/")
    r = well.get(agent, "ntriples")
    assert f'<{rdaa}P50117> "Nordmann, Kari"' in r.text
    corrected = r.text.replace('"Nordmann, Kari"', '"Nordmann, Kari, 1970-"')
    put = well.put(agent, corrected.encode(), r.headers["etag"], client="agents-only", media="application/n-triples")
    assert put.status_code == 200, put.text
    assert '"Nordmann, Kari, 1970-"' in well.get(agent, "ntriples").text
    # a kind of agent must be said; a concept needs write:concept
    is_problem(well.post("/agents", f'<> <{rdaa}P50117> "Nobody" .'.encode(), client="agents-only",
                         **{"Content-Type": "text/turtle"}), 422)
    concept = f'<> a <{skos}Concept> ; <{skos}prefLabel> "Brønner"@nb .'
    is_problem(well.post("/concepts", concept.encode(), client="agents-only", **{"Content-Type": "text/turtle"}),
               403)
    made = well.post("/concepts", concept.encode(), **{"Content-Type": "text/turtle"})
    assert made.status_code == 201, made.text
    assert '"Brønner"@nb' in well.get(made.headers["location"], "ntriples").text
    # an agent records name is not deleted; the one made here is
    named = well.sparql(f"SELECT ?a WHERE {{ ?w <{RDAW}P10061> ?a }} LIMIT 1")[0]["a"]
    assert "record" in is_problem(well.http.delete(named, headers=well.auth("agents-only", **{"If-Match": "*"})),
                                  409)["detail"]
    gone = well.http.delete(agent, headers=well.auth("agents-only", **{"If-Match": put.headers["etag"]}))
    assert gone.status_code == 204, gone.text
    assert is_problem(well.get(agent), 410)


# --- the error table -------------------------------------------------------------------------

def test_bad_bodies_are_refused_with_where_and_why_and_change_nothing(well, pick):
    work, _ = pick()
    doc, etag = well.read(work)
    put = lambda body, media=JSONLD: well.put(work, body, etag, media=media)  # noqa: E731
    body = is_problem(put(b'{\n  "preferredTitle": "x",\n  "category" 2\n}'), 400)
    assert (body["line"], body["column"]) == (3, 14)
    body = is_problem(put(b'<> a <x> .\n<> <y> "no end ;\n', "text/turtle"), 400)
    assert body["line"] == 2
    body = is_problem(put({**doc, "@context": "http://example.org/ld/work-context.jsonld"}), 400)
    assert "context" in body["detail"]
    is_problem(put(b"preferredTitle=x", "application/x-www-form-urlencoded"), 415)
    is_problem(put(json.dumps(doc).encode(), "text/plain"), 415)
    big = {**doc, "note": "x" * SMALL_LIMIT}
    assert is_problem(put(big), 413)["title"]
    # sent in chunks, with no length said beforehand
    chunks = iter([json.dumps(doc).encode()[:-1], b" " * SMALL_LIMIT, b"}"])
    assert is_problem(well.http.put(work, content=chunks, headers=well.auth(**{"Content-Type": JSONLD,
                                                                               "If-Match": etag})), 413)
    # another entity's IRI as the body's @id, saying something new about it
    other, _ = pick()
    body = is_problem(put({**doc, "@id": other, "preferredTitle": "Not mine"}), 422)
    assert other in body["detail"]
    # an IRI outside the well
    is_problem(put({**doc, "@id": "http://example.org/work/1"}), 422)
    # a type of another kind
    turtle = f'<> a <http://rdaregistry.info/Elements/c/C10004> ; <{TITLE}> "An agent?" .'
    is_problem(put(turtle.encode(), "text/turtle"), 422)
    # the profile: no preferred title
    body = is_problem(put({k: v for k, v in doc.items() if k != "preferredTitle"}), 422)
    results = body["report"]["results"]
    assert any(r["focus_node"] == work and r["path"] == TITLE and r["constraint_component"].endswith(
        "MinCountConstraintComponent") and r["severity"] == "Violation" for r in results), results
    assert body["report"]["conforms"] is False
    # a patch: a merge patch and nothing else, JSON, not moving the entity
    patch = lambda content, media="application/merge-patch+json": well.http.patch(  # noqa: E731
        work, content=content, headers=well.auth(**{"Content-Type": media, "If-Match": etag}))
    is_problem(patch(b'{"preferredTitle": "x"}', "application/json"), 415)
    assert is_problem(patch(b'{\n"preferredTitle": }'), 400)["line"] == 2
    is_problem(patch(json.dumps({"@id": other}).encode()), 422)
    is_problem(patch(json.dumps({"preferredTitle": None}).encode()), 422)  # the profile
    # a submitted file: not empty, not over the limit (said beforehand or not)
    is_problem(well.post("/records", b""), 400)
    is_problem(well.post("/records", b"0" * (SUBMIT_LIMIT + 1)), 413)
    is_problem(well.http.post(well.base + "/records", content=iter([b"0" * SUBMIT_LIMIT, b"0"]), headers=well.auth()),
               413)
    # nothing of it was written
    assert well.read(work) == (doc, etag)


def test_merges_that_cannot_be_are_refused(well, pick):
    work, _ = pick()
    _, etag = well.read(work)
    assert "itself" in is_problem(well.merge(work, work, etag), 409)["detail"]
    r = well.post("/works", json.dumps({"@context": f"{well.base}/context.jsonld",
                                        "preferredTitle": "Deleted survivor"}).encode(), **{"Content-Type": JSONLD})
    deleted = r.headers["location"]
    assert well.http.delete(deleted, headers=well.auth(**{"If-Match": "*"})).status_code == 204
    assert "deleted" in is_problem(well.merge(work, deleted, etag), 409)["detail"]
    is_problem(well.merge(work, f"{well.base}/work/no-such-work", etag), 404)
    is_problem(well.merge(f"{well.base}/work/no-such-work", work, "*"), 404)
    is_problem(well.merge(work, "http://example.org/work/1", etag), 422)
    is_problem(well.merge(work, deleted, None), 428)
    assert well.read(work)[1] == etag


def test_unknown_entities_and_credentials_that_cannot_write(well, pick):
    work, _ = pick()
    doc, etag = well.read(work)
    is_problem(well.put(f"{well.base}/work/no-such-work", doc, "*"), 404)
    r = well.http.put(work, content=json.dumps(doc), headers={"Content-Type": JSONLD, "If-Match": etag})
    is_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = well.http.put(work, content=json.dumps(doc), headers={"Content-Type": JSONLD, "If-Match": etag,
                                                              "Authorization": "Bearer mbk_not_a_key"})
    is_problem(r, 401)
    assert "write:work" in is_problem(well.put(work, doc, etag, client="agents-only"), 403)["detail"]
    is_problem(well.post("/works", json.dumps(doc).encode(), client="agents-only", **{"Content-Type": JSONLD}), 403)
    is_problem(well.post("/records", b"00000", client="partner"), 403)  # no ingest scope
    _, other_etag = well.read(well.works[-1][0])
    is_problem(well.merge(work, well.works[-1][0], etag, client="agents-only"), 403)
    # SPARQL stays read-only, whoever asks
    update = well.http.post(well.base + "/sparql", content=f'INSERT DATA {{ <{work}> <{TITLE}> "x" }}',
                            headers=well.auth(**{"Content-Type": "application/sparql-update"}))
    is_problem(update, 403)
    assert well.read(work) == (doc, etag) and well.read(well.works[-1][0])[1] == other_etag


def test_a_partner_replaces_only_what_it_said(well, pick):
    work, _ = pick()
    doc, etag = well.read(work)
    r = well.put(work, {**doc, "preferredTitle": "The partner's title"}, etag, client="partner")
    assert r.status_code == 200, r.text
    doc, etag = well.read(work)
    r = well.put(work, {**doc, "note": "The library's note"}, etag)
    assert r.status_code == 200, r.text
    doc, etag = well.read(work)
    assert doc["preferredTitle"] == "The partner's title" and doc["note"] == "The library's note"
    r = well.put(work, {**doc, "preferredTitle": "The partner's second title"}, etag, client="partner")
    assert r.status_code == 200, r.text
    doc, _ = well.read(work)
    assert doc["preferredTitle"] == "The partner's second title" and doc["note"] == "The library's note"


def test_every_write_request_is_in_the_audit_log(well, pick):
    work, _ = pick()
    seen = len(well.audit())
    doc, etag = well.read(work)
    path = "/" + work.split("/", 3)[3]
    made = well.post("/works", json.dumps({"@context": f"{well.base}/context.jsonld",
                                           "preferredTitle": "Audited too"}).encode(), **{"Content-Type": JSONLD})
    requests = [  # (status, method, path, organisation or None, entity)
        (well.put(work, {**doc, "preferredTitle": "Audited"}, etag), "PUT", path, "nb", work),
        (well.put(work, doc, etag, client="partner"), "PUT", path, "bokbasen", work),
        (well.put(work, doc, None), "PUT", path, "nb", work),
        (well.put(work, doc, etag, client="agents-only"), "PUT", path, "bibsent", work),
        (well.put(work, b"{", "*"), "PUT", path, "nb", work),
        (well.http.put(work, content=b"{}", headers={"Content-Type": JSONLD}), "PUT", path, None, work),
        (well.http.delete(work, headers=well.auth(**{"If-Match": "*"})), "DELETE", path, "nb", work),
        (well.merge(work, work, "*"), "POST", path + "/merge", "nb", work),
    ]
    assert made.status_code == 201, made.text
    assert [r.status_code for r, *_ in requests] == [200, 412, 428, 403, 400, 401, 409, 409]
    lines = eventually(lambda: well.audit()[seen:] if len(well.audit()) >= seen + 9 else None, "nine audit lines")
    created, lines = lines[0], lines[1:]
    assert (created["method"], created["path"], created["status"]) == ("POST", "/works", 201)
    assert created["entity"] == made.headers["location"] and created["principal"]["org"] == "nb"
    for line, (r, method, at, org, entity) in zip(lines, requests):
        assert (line["method"], line["path"], line["status"]) == (method, at, r.status_code), line
        assert (line.get("principal") or {}).get("org") == org, line
        assert line.get("entity") == entity, line
        datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    assert lines[0]["sequence"] and lines[0]["principal"]["user"] == "cataloguer"


def test_a_context_elsewhere_named_as_the_wells_is_refused(well, pick):
    work, _ = pick()
    doc, etag = well.read(work)
    r = well.put(work, {**doc, "@context": "http://example.org/not-the-wells/context.jsonld"}, etag)
    assert "context" in is_problem(r, 400)["detail"]


def test_the_same_text_in_two_languages_is_written(well, pick):
    work, _ = pick()
    doc, etag = well.read(work)
    r = well.put(work, {**doc, "note": ["Notert", {"@value": "Notert", "@language": "nb"}]}, etag)
    assert r.status_code == 200, r.text
    note = well.read(work)[0]["note"]
    assert sorted(map(json.dumps, note)) == sorted(map(json.dumps, ["Notert", {"@value": "Notert", "@language": "nb"}]))


def test_a_server_without_keys_takes_no_writes(tmp_path):
    port = free_port()
    store = tmp_path / "store"
    make_store(store, f"http://127.0.0.1:{port}", clients={})
    with serving(store, port, {}) as served:
        work = served.sparql(f"SELECT ?w WHERE {{ ?w a <{WORK}> }} LIMIT 1")[0]["w"]
        doc, etag = served.read(work)
        r = served.http.put(work, content=json.dumps(doc), headers={"Content-Type": JSONLD, "If-Match": etag,
                                                                    "Authorization": "Bearer mbk_x"})
        assert is_problem(r, 405)
        assert "read-only" in served.output()
        assert served.http.get(served.base + "/health").json()["read_only"] is True
        assert not (store / "audit.jsonl").exists()


def test_export_after_the_server_stopped_carries_the_edit_and_nothing_else(tmp_path):
    port = free_port()
    store = tmp_path / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}")

    def export(name: str) -> dict[str, pymarc.Record]:
        out = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "metadatabronn", "export", "--store", str(store), "--out",
                               str(out), "-q", "--workers", "1"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with open(out, "rb") as fh:
            return {r["001"].data.strip(): r for r in pymarc.MARCReader(fh)}

    before = export("before.mrc")
    with serving(store, port, keys) as served:
        work, manifestation = works_with_records(served)[0]
        doc, etag = served.read(work)
        r = served.put(work, {**doc, "preferredTitle": "Exported as corrected"}, etag)
        assert r.status_code == 200, r.text
    after = export("after.mrc")
    edited = manifestation.split("-", 1)[1]
    assert set(after) == set(before)
    assert [f["a"] for f in after[edited].get_fields("240")] == ["Exported as corrected"]
    fields = lambda rec: [str(f) for f in rec.fields if f.tag not in ("005", "240")]  # noqa: E731
    assert fields(after[edited]) == fields(before[edited])
    for control, record in before.items():
        if control != edited:
            assert after[control].as_marc() == record.as_marc(), control


def test_a_killed_server_leaves_no_writer_behind(tmp_path):
    """``serve`` killed outright (SIGKILL: no chance to stop its writer) still leaves nothing: the
    writer sees it has gone, closes the store and takes its socket's directory with it."""
    port = free_port()
    store = tmp_path / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with serving(store, port, keys, {"TMPDIR": str(scratch)}) as served:
        sockets = list(scratch.glob("mb-writer-*/writer.sock"))
        assert len(sockets) == 1, sockets
        served.proc.kill()
        served.proc.wait(60)
        eventually(lambda: not sockets[0].parent.exists(), "the writer's socket directory removed")
    # The store was closed cleanly: it opens for writing at once.
    from metadatabronn.store import Store

    eventually(lambda: _opens(Store, store), "the store free for writing")


def _opens(store_class, path) -> bool:
    from metadatabronn.errors import StoreError

    try:
        store_class(path, None).close()
    except StoreError:
        return False
    return True


def test_a_token_from_the_provider_writes_and_the_write_says_who_and_when(tmp_path):
    """A real OpenID Connect provider's token writes through the real server; the writer's graph
    names the organisation and the user, and the time; what the record says stays apart."""
    from .oidc import Provider

    port = free_port()
    store = tmp_path / "store"
    make_store(store, f"http://127.0.0.1:{port}", clients={})
    users = {"ada": {"org": "nb", "roles": ["write:work"], "preferred_username": "ada.l"},
             "bo": {"org": "bokbasen", "roles": ["write:agent"]}}
    with Provider(users) as provider, serving(store, port, {}, None, "--oidc-issuer", provider.issuer,
                                              "--oidc-audience", "metadatabronn") as served:
        work, manifestation = works_with_records(served)[0]
        doc, etag = served.read(work)
        bearer = lambda sub: {"Authorization": f"Bearer {provider.token(sub)}"}  # noqa: E731
        body = json.dumps({**doc, "preferredTitle": "Said by Ada"})
        r = served.http.put(work, content=body, headers={**bearer("bo"), "Content-Type": JSONLD, "If-Match": etag})
        assert "write:work" in is_problem(r, 403)["detail"]
        r = served.http.put(work, content=body, headers={**bearer("ada"), "Content-Type": JSONLD, "If-Match": etag})
        assert r.status_code == 200, r.text
        served.refreshed(r.json()["sequence"])
        graph = f"{served.base}/edit/nb/{work[len(served.base) + 1:]}"
        # the query workers open their own views of the store, on their own time
        rows = eventually(lambda: served.sparql(f"SELECT ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"),
                          "the writer's graph in SPARQL")
        said = {(row["p"], row["o"]) for row in rows}
        assert (TITLE, "Said by Ada") in said
        attributed = {o for p, o in said if p == "http://www.w3.org/ns/prov#wasAttributedTo"}
        assert attributed == {f"{served.base}/organisation/nb", f"{served.base}/organisation/nb/user/ada"}
        when = next(o for p, o in said if p == "http://www.w3.org/ns/prov#generatedAtTime")
        published = next(a["published"] for a in served.changes() if a["sequence"] == r.json()["sequence"])
        assert datetime.fromisoformat(when.replace("Z", "+00:00")) == \
            datetime.fromisoformat(published.replace("Z", "+00:00"))
        # the well's own statement of the title (from the record) stays as it was, apart
        kept = served.sparql(f"""SELECT ?t WHERE {{ <{work}> <{TITLE}> ?t
                                 FILTER NOT EXISTS {{ GRAPH <{graph}> {{ <{work}> <{TITLE}> ?t }} }} }}""")
        assert [row["t"] for row in kept] == [doc["preferredTitle"]]
        line = [line for line in served.audit() if line["method"] == "PUT"][-1]
        assert line["principal"] == {"org": "nb", "user": "ada (ada.l)", "method": "oidc"} and line["status"] == 200


def test_a_server_stopped_while_writes_come_in_stops_and_keeps_every_write_it_answered(tmp_path):
    """SIGTERM to ``serve`` while four clients write: the server and its writer stop by
    themselves (a stop the kernel handed to one of the store's own threads was once lost, and
    the server waited for its writer for ever), every write answered 200 is in the store, and
    the store opens for writing at once."""
    import signal
    import threading

    import httpx
    import pyoxigraph as ox

    port = free_port()
    store = tmp_path / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    sent: dict[str, list[str]] = {}  # work -> titles sent, in order
    answered: dict[str, int] = {}  # work -> index in sent of the last write answered 200
    stop = threading.Event()
    with serving(store, port, keys, {"TMPDIR": str(scratch)}) as served:
        works = [w for w, _ in works_with_records(served)][:4]
        headers = served.auth("cataloguer", **{"Content-Type": JSONLD})

        def client(work: str) -> None:
            titles = sent.setdefault(work, [])
            with httpx.Client(timeout=60) as http:
                try:
                    got = http.get(work, params={"format": "jsonld"})
                    doc, etag = got.json(), got.headers["etag"]
                    while not stop.is_set():
                        titles.append(f"Written before the stop {len(titles)}")
                        r = http.put(work, content=json.dumps({**doc, "preferredTitle": titles[-1]}),
                                     headers={**headers, "If-Match": etag})
                        if r.status_code != 200:
                            return
                        answered[work], etag = len(titles) - 1, r.headers["etag"]
                except httpx.HTTPError:  # the server went away under the request
                    return

        threads = [threading.Thread(target=client, args=(w,)) for w in works]
        for t in threads:
            t.start()
        eventually(lambda: sum(answered.values()) >= 20, "writes answered before the stop")
        helpers = _spawned_children(served.proc.pid)  # the writer among them
        # the writer runs below the server's priority (--writer-nice, 5 unless told)
        server_nice = os.getpriority(os.PRIO_PROCESS, served.proc.pid)
        assert min(19, server_nice + 5) in [os.getpriority(os.PRIO_PROCESS, pid) for pid in helpers], helpers
        served.proc.send_signal(signal.SIGTERM)
        try:
            served.proc.wait(120)  # only how long a busy machine may take: it stopped within seconds
        except subprocess.TimeoutExpired:
            raise AssertionError("serve did not stop on SIGTERM: " + served.output()) from None
        stop.set()
        for t in threads:
            t.join(120)
        # uvicorn ends a server SIGTERM stopped as SIGTERM ends a process
        assert served.proc.returncode in (0, -signal.SIGTERM), served.output()
        # serve stopped its helpers itself, before it ended (left to find out for themselves
        # that it had gone, they would still be running now)
        assert [pid for pid in helpers if os.path.exists(f"/proc/{pid}")] == []
    assert not list(scratch.glob("mb-writer-*")), "the writer's socket directory is left"
    from metadatabronn.store import Store

    assert _opens(Store, store)  # no writer holds it
    held = ox.Store.read_only(str(store))
    for work in works:
        titles = [q.object.value for q in held.quads_for_pattern(ox.NamedNode(work), ox.NamedNode(TITLE), None, None)
                  if q.object.value.startswith("Written before the stop")]
        assert len(titles) == 1, (work, titles)
        # the last write answered, or one sent after it whose answer the stop cut off
        assert sent[work].index(titles[0]) >= answered[work], (work, titles[0], answered[work])


def _spawned_children(pid: int) -> list[int]:
    """The processes ``pid`` spawned through multiprocessing (not its resource tracker)."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        for child in open(f"/proc/{pid}/task/{task}/children").read().split():
            if b"spawn_main" in open(f"/proc/{child}/cmdline", "rb").read():
                out.append(int(child))
    return out
