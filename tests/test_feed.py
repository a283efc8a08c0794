"""The change feed over HTTP (LD4 Entity Metadata Management API 1.0) and the entity documents a
mirror fetches after reading a page: a real server on a store built from the golden records and
then changed (a new record of an existing work, a record changed, one deleted, a work edited in
the well, two works merged)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import pymarc
import pytest

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.store.catalogue import Catalogue
from metadatabronn.store.feed import Activity
from metadatabronn.store.merging import merge
from metadatabronn.web import feed as web_feed

from .client import http_client
from .conftest import delete_golden
from .test_web import GOLDEN, free_port, server

AS = "https://www.w3.org/ns/activitystreams"
EMM = "https://emm-spec.org/1.0/context.json"
PAGE = 10  # a small page, so the golden store's feed has many
VERBS = {"Create", "Add", "Update", "Deprecate", "Delete", "Remove"}
TOMBSTONE = "https://www.w3.org/ns/activitystreams#Tombstone"


def _records() -> dict[str, pymarc.Record]:
    with open(GOLDEN, "rb") as fh:
        return {r["001"].data.strip(): r for r in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True)}


def _total(path: Path) -> int:
    cat = Catalogue(path, read_only=True)
    try:
        return cat.feed(10 ** 9).total()
    finally:
        cat.close()


def _ingest(path: Path, base: str, record: pymarc.Record, name: str) -> None:
    file = path.parent / name
    file.write_bytes(record.as_marc())
    ingest([str(file)], Settings(store=path, base=base, workers=1))


@pytest.fixture(scope="module")
def well(tmp_path_factory):
    """The served store and, for each change made to it, the feed positions it produced."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    path = tmp_path_factory.mktemp("feed") / "store"
    ingest([str(GOLDEN)], Settings(store=path, base=base, workers=1))
    steps, facts = {}, {}
    records = _records()

    def step(name, change):
        before = _total(path)
        change()
        steps[name] = range(before + 1, _total(path) + 1)

    twin = records["00005419"]  # another edition of The brass bottle: a new record of an existing work
    for f in twin.get_fields("001"):
        f.data = "99005419"
    for f in twin.get_fields("010"):
        f["a"] = "   99005419 "
    step("new edition", lambda: _ingest(path, base, twin, "twin.mrc"))

    changed = records["00004644"]
    changed.add_ordered_field(pymarc.Field("500", pymarc.Indicators(" ", " "),
                                           [pymarc.Subfield("a", "A note added at the source.")]))
    step("changed record", lambda: _ingest(path, base, changed, "changed.mrc"))
    step("deletion", lambda: delete_golden(path, base))
    try:  # a dump in step with the feed so far, which the entry point links
        from metadatabronn.pipeline.dump import dump

        facts["dump"] = dump(path, "nquads")
    except Exception:  # noqa: BLE001 - the entry point is checked without a dump then
        facts["dump"] = None

    s = Store(path, base)
    try:
        for cn in ("00005419", "00006378", "00006668", "00002458"):
            facts[cn] = (s.values(f"{base}/manifestation/DLC-{cn}", T.M_WORK)[0],
                         s.values(f"{base}/manifestation/DLC-{cn}", T.M_EXPRESSION)[0])
        work = facts["00006378"][0]

        def edit():
            s.update(f'DELETE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }} INSERT {{ <{work}> <{T.W_PREFERRED_TITLE}> '
                     f'"Robinson Crusoe (edited)" }} WHERE {{ <{work}> <{T.W_PREFERRED_TITLE}> ?t }}', changed=[work])

        step("work edit", edit)
        step("merge", lambda: merge(s, facts["00006668"][0], facts["00002458"][0]))
    finally:
        s.close()
    with server(path, port, "--refresh", "0", env={"METADATABRONN_FEED_PAGE_SIZE": str(PAGE)}) as (url, _):
        with http_client(base_url=url, timeout=30) as client:
            yield {"client": client, "url": url, "base": base, "steps": steps, "facts": facts, "path": path}


# EMM 1.0 and Activity Streams 2.0: the MUSTs, as one checker -----------------------------------

def _http_uri(value) -> bool:
    return isinstance(value, str) and re.match(r"https?://[^\s]+$", value) is not None


def _datetime(value) -> datetime:
    assert isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
                                               value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _link(value, kind: str) -> str:
    """A link as EMM allows it: an HTTP(S) URI, or an object with that ``id`` and ``type``."""
    if isinstance(value, str):
        assert _http_uri(value)
        return value
    assert isinstance(value, dict) and _http_uri(value.get("id")) and value.get("type") == kind, value
    return value["id"]


def check_emm(doc: dict, url: str) -> None:
    """One EMM response (entry point or change set) as the spec's MUSTs require it."""
    context = doc.get("@context")
    assert isinstance(context, list) and AS in context and EMM in context  # AS a MUST; EMM for Deprecate
    assert all(c not in (AS, EMM) for c in context[:context.index(AS)])  # extensions before AS and EMM
    assert context.index(AS) < context.index(EMM) and all(c in (AS, EMM) for c in context[context.index(AS):])
    assert _http_uri(doc.get("id")) and doc["id"] == url  # the representation is at its id
    if doc["type"] == "OrderedCollection":
        _link(doc["first"], "OrderedCollectionPage")
        _link(doc["last"], "OrderedCollectionPage")
        assert isinstance(doc["totalItems"], int) and doc["totalItems"] >= 0
        return
    assert doc["type"] == "OrderedCollectionPage"
    _link(doc["partOf"], "OrderedCollection")
    for rel in ("prev", "next"):
        if rel in doc:
            _link(doc[rel], "OrderedCollectionPage")
    items = doc["orderedItems"]
    assert isinstance(items, list) and doc.get("totalItems", len(items)) == len(items)
    times = []
    for item in items:
        assert item["type"] in VERBS
        times.append(_datetime(item.get("published") or item["endTime"]))
        obj = item["object"]
        assert isinstance(obj, dict) and _http_uri(obj["id"])
        assert isinstance(obj.get("type", ""), str)
        if "updated" in obj:
            _datetime(obj["updated"])
        if "partOf" in item:
            assert _http_uri(item["partOf"])
    assert times == sorted(times)  # date-time order, ascending in this feed


def _get(client: httpx.Client, url: str) -> dict:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/activity+json"
    doc = r.json()
    check_emm(doc, url)
    return doc


def walk(client: httpx.Client, entry_url: str) -> tuple[dict, list[dict]]:
    """The entry point and every page, first to last by ``next``; the same pages are met last to
    first by ``prev``."""
    entry = _get(client, entry_url)
    pages, url = [], _link(entry["first"], "OrderedCollectionPage")
    while url:
        pages.append(_get(client, url))
        assert _link(pages[-1]["partOf"], "OrderedCollection") == entry["id"]
        url = pages[-1].get("next") and _link(pages[-1]["next"], "OrderedCollectionPage")
    assert pages[-1]["id"] == _link(entry["last"], "OrderedCollectionPage")
    back, url = [], pages[-1]["id"]
    while url:
        doc = _get(client, url)
        back.append(doc["id"])
        url = doc.get("prev") and _link(doc["prev"], "OrderedCollectionPage")
    assert back == [p["id"] for p in reversed(pages)]
    items = [i for p in pages for i in p["orderedItems"]]
    assert len(items) == entry["totalItems"] == sum(p["totalItems"] for p in pages)
    assert [i["position"] for i in items] == list(range(1, len(items) + 1))
    times = [_datetime(i["published"]) for i in items]
    assert times == sorted(times)  # one direction across the whole collection
    return entry, items


def test_the_whole_feed_and_each_kinds_feed_conform_to_emm_and_walk_both_ways(well):
    client = well["client"]
    entry, items = walk(client, f"{well['url']}/changes")
    assert entry["totalItems"] == _total(well["path"]) > 5 * PAGE
    by_kind = 0
    for kind, cls in (("work", {T.C_WORK}), ("expression", {T.C_EXPRESSION}), ("manifestation", {T.C_MANIFESTATION}),
                      ("agent", {T.C_PERSON, T.C_CORPORATE, T.C_FAMILY}), ("concept", {T.C_CONCEPT})):
        sub, kept = walk(client, f"{well['url']}/changes?type={kind}")
        assert sub["totalItems"] == len(kept) > 0 and {i["object"]["type"] for i in kept} <= cls
        assert [(i["type"], i["object"]["id"], i["sequence"]) for i in kept] == [
            (i["type"], i["object"]["id"], i["sequence"]) for i in items if i["object"]["type"] in cls]
        by_kind += len(kept)
    assert by_kind == len(items)


def _activities(well, step: str) -> set[tuple[str, str]]:
    items = _all(well)
    return {(i["type"], i["object"]["id"]) for i in items if i["position"] in well["steps"][step]}


def _all(well) -> list[dict]:
    if "items" not in well:
        well["items"] = walk(well["client"], f"{well['url']}/changes")[1]
    return well["items"]


def test_a_new_record_of_an_existing_work_creates_a_manifestation_and_updates_its_work_and_expression(well):
    work, expression = well["facts"]["00005419"]
    assert _activities(well, "new edition") == {("Create", f"{well['base']}/manifestation/DLC-99005419"),
                                                ("Update", work), ("Update", expression)}


def test_a_changed_record_updates_its_manifestation_and_a_deleted_one_is_a_delete(well):
    changed = _activities(well, "changed record")
    assert ("Update", f"{well['base']}/manifestation/DLC-00004644") in changed
    assert not any(verb == "Create" for verb, _ in changed)
    deleted = _activities(well, "deletion")
    assert ("Delete", f"{well['base']}/manifestation/DLC-00030568") in deleted
    assert all(verb == "Update" for verb, iri in deleted if "/manifestation/" not in iri)


def test_an_edit_of_a_work_updates_the_work_and_the_manifestations_of_its_records(well):
    work, _ = well["facts"]["00006378"]
    got = _activities(well, "work edit")
    assert ("Update", work) in got
    assert ("Update", f"{well['base']}/manifestation/DLC-00006378") in got
    assert {verb for verb, _ in got} == {"Update"}


def test_a_merge_deprecates_the_merged_work_with_its_replacement_as_target(well):
    merged, into = well["facts"]["00006668"][0], well["facts"]["00002458"][0]
    items = [i for i in _all(well) if i["position"] in well["steps"]["merge"]]
    (deprecate,) = [i for i in items if i["type"] == "Deprecate"]
    assert deprecate["object"] == {"id": merged, "type": T.C_WORK, "updated": deprecate["published"]}
    assert deprecate["target"] == {"id": into, "type": T.C_WORK}
    assert ("Update", into) in {(i["type"], i["object"]["id"]) for i in items}


def test_an_activity_carries_its_summary_position_and_change_log_entry():
    row = Activity(7, 3, 42, "Deprecate", "http://example.org/work/a", "work", T.C_WORK, "2026-01-02T03:04:05Z",
                   "http://example.org/work/b")
    assert web_feed.activity(row, 3) == {
        "type": "Deprecate", "summary": "Deprecated work a", "published": "2026-01-02T03:04:05Z",
        "object": {"id": "http://example.org/work/a", "type": T.C_WORK, "updated": "2026-01-02T03:04:05Z"},
        "position": 3, "sequence": 42, "target": {"id": "http://example.org/work/b", "type": T.C_WORK}}


def test_the_entry_point_links_the_latest_dump_with_the_feed_position_it_was_taken_at(well):
    made = well["facts"]["dump"]
    if made is None:
        pytest.skip("no dump could be made")
    client = well["client"]
    link = client.get("/changes").json()["url"]
    assert link["type"] == "Link" and link["mediaType"] == "application/n-quads"
    assert link["href"] == f"{well['url']}/dumps/{Path(made.path).name}" and link["sequence"] == made.sequence
    assert link["position"] == well["steps"]["deletion"][-1]  # taken after the deletion, before the edit
    works = client.get("/changes?type=work").json()["url"]
    assert works["position"] == max(i["position"] for i in walk(client, f"{well['url']}/changes?type=work")[1]
                                    if i["sequence"] <= made.sequence)
    r = client.get(link["href"], headers={"Range": "bytes=0-1"})
    assert r.status_code in (200, 206)


def test_a_position_older_than_the_feed_keeps_is_gone_and_says_to_fetch_the_dump_again(well, monkeypatch):
    from fastapi.testclient import TestClient

    from metadatabronn.web.app import create_app

    monkeypatch.setenv("METADATABRONN_FEED_PAGE_SIZE", str(PAGE))
    monkeypatch.setattr(web_feed, "retained_start", lambda feed, kind=None: 25)
    with TestClient(create_app(well["path"], well["base"], query_workers=1, refresh=0)) as client:
        gone = client.get("/changes?after=3", follow_redirects=False)
        assert gone.status_code == 410 and "dump" in gone.json()["detail"]
        assert gone.headers["content-type"] == "application/problem+json"
        assert client.get("/changes/page/2").status_code == 410
        assert client.get("/changes/page/3").status_code == 200  # positions 21-30: 25 is still kept
        assert client.get("/changes?after=24", follow_redirects=False).status_code == 303
        assert client.get("/changes").json()["first"]["id"].endswith("/changes/page/3")


def test_the_feed_stops_before_a_bulk_load_caught_half_way(tmp_path):
    """A load whose pending mark is in the store may yet be rolled back, and its positions given
    to other activities: the feed does not show it until it is whole."""
    from fastapi.testclient import TestClient

    from metadatabronn.web.app import create_app

    path, base = tmp_path / "store", "http://feed.example"
    ingest([str(GOLDEN)], Settings(store=path, base=base, workers=1))
    s = Store(path, base)
    try:
        s.mark_pending([f"{base}/record/DLC-00002458", s.change_iri(20), s.change_iri(21)])
    finally:
        s.close()
    cat = Catalogue(path, read_only=True)
    try:
        settled = cat.feed(19).total()
        assert cat.feed(10 ** 9).total() > settled
    finally:
        cat.close()
    with TestClient(create_app(path, base, query_workers=1, refresh=0)) as client:
        assert client.get("/changes").json()["totalItems"] == settled
        assert client.get("/changes?since=19", follow_redirects=False).headers["feed-position"] == str(settled + 1)
        assert client.get("/changes?since=20", follow_redirects=False).status_code == 503


def test_the_extension_context_defines_the_wells_own_terms_apart_from_activity_streams(well):
    client = well["client"]
    entry = client.get("/changes").json()
    r = client.get(entry["@context"][0])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    terms = r.json()["@context"]
    assert {"position", "sequence"} <= set(terms)


# since, after, caching, content types ------------------------------------------------------------

def _follow(client: httpx.Client, url: str) -> tuple[dict, int]:
    r = client.get(url)
    assert r.status_code == 303, r.text
    position = int(r.headers["feed-position"])
    assert r.headers["location"].endswith(f"#position={position}")
    page = client.get(r.headers["location"]).json()
    return page, position


def test_since_a_sequence_or_a_time_and_after_a_position_lead_to_the_page_of_the_next_activity(well):
    client, items = well["client"], _all(well)
    first_deleted = items[well["steps"]["deletion"][0] - 1]
    page, position = _follow(client, f"/changes?since={first_deleted['sequence'] - 1}")
    assert position == first_deleted["position"]
    assert [i for i in page["orderedItems"] if i["position"] == position] == [first_deleted]
    page, position = _follow(client, f"/changes?after={position - 1}")
    assert position == first_deleted["position"] and page["id"].endswith(f"/page/{(position - 1) // PAGE + 1}")
    page, position = _follow(client, "/changes?since=2000-01-01T00:00:00Z")
    assert position == 1 and page["orderedItems"][0] == items[0]
    page, position = _follow(client, f"/changes?after={len(items)}")  # nothing newer yet: the last page
    assert position == len(items) + 1 and "next" not in page
    works = [i for i in items if i["object"]["type"] == T.C_WORK]
    page, position = _follow(client, "/changes?type=work&after=1")
    assert page["id"].endswith("/changes/page/1?type=work") and page["orderedItems"][1]["object"] == works[1]["object"]


def test_a_full_page_is_cached_for_good_the_last_one_revalidated_and_etags_answer_304(well):
    client = well["client"]
    entry = client.get("/changes").json()
    full = client.get(_link(entry["first"], "OrderedCollectionPage"))
    assert "immutable" in full.headers["cache-control"] and "max-age=" in full.headers["cache-control"]
    last = client.get(_link(entry["last"], "OrderedCollectionPage"))
    assert last.headers["cache-control"] == "no-cache" and len(last.json()["orderedItems"]) < PAGE
    for r in (full, last, client.get("/changes"), client.get("/changes?type=agent")):
        again = client.get(r.url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == r.headers["etag"] and not again.content
        assert client.get(r.url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_content_types_activity_streams_by_default_json_ld_with_the_profile_or_plain_json_when_asked(well):
    client = well["client"]
    assert client.get("/changes").headers["content-type"] == "application/activity+json"
    assert client.get("/changes", headers={"Accept": "application/activity+json"}).headers[
        "content-type"] == "application/activity+json"
    ld = client.get("/changes/page/1", headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"] == f'application/ld+json; profile="{AS}"'
    assert client.get("/changes", headers={"Accept": "application/json"}).headers["content-type"] == "application/json"
    assert ld.headers["etag"] != client.get("/changes/page/1").headers["etag"]  # one per representation


@pytest.mark.parametrize("url, status, says", [
    ("/changes/page/0", 400, "whole number"), ("/changes/page/-2", 400, "whole number"),
    ("/changes/page/two", 400, "whole number"), ("/changes/page/9999", 404, "beyond the last"),
    ("/changes?type=book", 400, "unknown type"), ("/changes/page/1?type=book", 400, "unknown type"),
    ("/changes?since=2999-01-01T00:00:00Z", 400, "future"),
    ("/changes?since=yesterday", 400, "sequence number or an xsd:dateTime"),
    ("/changes?after=x", 400, "position"), ("/changes?after=-1", 400, "position"),
    ("/changes?since=99999999", 503, "beyond"),
])
def test_bad_input_gets_a_problem_document(well, url, status, says):
    r = well["client"].get(url)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == status and says in problem["detail"] and problem["title"]


# documents ------------------------------------------------------------------------------------

def test_documents_give_a_pages_objects_as_stored_record_graphs_tombstones_and_cores(well):
    client, base = well["client"], well["base"]
    items = [i for i in _all(well) if i["position"] in well["steps"]["work edit"] or
             i["position"] in well["steps"]["deletion"]]
    ids = list(dict.fromkeys(i["object"]["id"] for i in items))
    r = client.post("/documents", json={"ids": ids})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    got = {d["id"]: d for d in r.json()["documents"]}
    assert list(got) == ids
    deleted = got[f"{base}/manifestation/DLC-00030568"]
    assert deleted["graph"] == f"{base}/record/DLC-00030568" and TOMBSTONE in deleted["nquads"]
    edited = got[f"{base}/manifestation/DLC-00006378"]
    lines = edited["nquads"].splitlines()
    assert lines and all(line.endswith(f"<{base}/record/DLC-00006378> .") for line in lines)
    work = well["facts"]["00006378"][0]
    core = got[work]
    assert core["graph"] is None and '"Robinson Crusoe (edited)"' in core["nquads"]
    assert all(line.startswith(f"<{work}> ") and line.count("<") <= 3 for line in core["nquads"].splitlines())
    one = client.get("/documents", params={"id": work})
    assert one.status_code == 200 and one.json() == {"sequence": r.json()["sequence"], "documents": [core]}
    assert r.json()["sequence"] == client.get("/health").json()["sequence"]  # the view they were read from
    assert client.get("/documents", params={"id": work}, headers={"If-None-Match": one.headers["etag"]}
                      ).status_code == 304
    unknown = client.get("/documents", params={"id": f"{base}/work/0000"}).json()["documents"]
    assert unknown == [{"id": f"{base}/work/0000", "graph": None, "nquads": ""}]


@pytest.mark.parametrize("body, status", [
    ({"ids": ["http://elsewhere.example/work/1"]}, 400), ({"ids": "not a list"}, 400), (["a"], 400),
    ({"ids": [None]}, 400), ("not json", 400), (None, 413),
])
def test_documents_refuse_iris_outside_the_well_bad_bodies_and_more_than_a_thousand_ids(well, body, status):
    client, base = well["client"], well["base"]
    if body is None:
        r = client.post("/documents", json={"ids": [f"{base}/work/{n}" for n in range(1001)]})
    elif isinstance(body, str):
        r = client.post("/documents", content=body, headers={"Content-Type": "application/json"})
    else:
        r = client.post("/documents", json=body)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
