"""The mirror client against a real `metadatabronn serve` over real HTTP: a mirror holds exactly
what the well holds (less its bookkeeping) after any run of ingests, changes, deletions and
edits; it resumes where it stopped, falls back to a fresh dump when its position has expired,
and follows one source only.

The server runs with a feed page of 10 activities, so that a few records make several pages.
After a change the tests wait until ``/health`` reports the store's latest sequence (polling),
since the server shows a store written meanwhile once it has been quiet for ``--refresh``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pymarc
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from metadatabronn.errors import MergeRefused, MirrorError
from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.dump import dump
from metadatabronn.pipeline.mirror import STATE_FILE, State, mirror
from metadatabronn.pipeline.mirror import Settings as MirrorSettings
from metadatabronn.store import Store
from metadatabronn.store import merging
from metadatabronn.store.mirroring import comparable

from .conftest import DATA, ROOT, delete_golden, examples, plain_env
from .test_web import free_port, server
from .client import HTTP

GOLDEN = DATA / "golden" / "golden.mrc"
NEW_RECORDS = [DATA / "marc" / "lc5.mrc", DATA / "translations" / "lc-translations.mrc", DATA / "marc" / "lc-unicode.mrc"]
PAGE = {"METADATABRONN_FEED_PAGE_SIZE": "10"}
QUICK = MirrorSettings(retries=2, backoff=0, timeout=60)


def records(path: Path) -> list[pymarc.Record]:
    with open(path, "rb") as fh:
        return [r for r in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True) if r is not None]


def source_store(tmp: Path, base: str) -> Path:
    """The golden records in a store under ``base``, and an N-Quads dump of it in its dumps
    directory (where the server finds the dump it links)."""
    path = tmp / "source"
    ingest([str(GOLDEN)], Settings(store=path, base=base, workers=1))
    dump(path, "nquads")
    return path


def sequence(store: Path) -> int:
    s = Store(store, read_only=True)
    try:
        return s.next_sequence() - 1
    finally:
        s.close()


def caught_up(base: str, store: Path) -> None:
    """Wait until the server shows the store as it now is (its snapshot's sequence)."""
    wanted = sequence(store)
    deadline = time.monotonic() + 120  # only a guard against a server that never refreshes
    while True:
        seen = HTTP.get(f"{base}/health", timeout=30).json().get("sequence")
        if seen is not None and seen >= wanted:
            return
        assert time.monotonic() < deadline, f"the server still shows sequence {seen}, not {wanted}"
        time.sleep(0.1)


def load(store: Path, base: str, *recs: pymarc.Record, name: str = "batch.mrc") -> None:
    path = store.parent / name
    path.write_bytes(b"".join(r.as_marc() for r in recs))
    ingest([str(path)], Settings(store=store, base=base, workers=1))


def changed(record: pymarc.Record, note: str) -> pymarc.Record:
    """The same record (same control number) with a note added: a changed record."""
    copy = pymarc.Record(leader=str(record.leader))
    for f in record.fields:
        copy.add_field(f)
    copy.add_ordered_field(pymarc.Field(tag="500", indicators=pymarc.Indicators(" ", " "),
                                        subfields=[pymarc.Subfield("a", note)]))
    return copy


def entities(store: Path, cls: str) -> list[str]:
    s = Store(store, read_only=True)
    try:
        return sorted(r["e"].value for r in s.query(f"SELECT DISTINCT ?e WHERE {{ ?e a <{cls}> }}"))
    finally:
        s.close()


def edit(store: Path, iri: str, predicate: str, value: str) -> None:
    """A cataloguer's edit of a shared entity in the default graph: its value replaced."""
    s = Store(store)
    try:
        s.update(f'DELETE {{ <{iri}> <{predicate}> ?v }} INSERT {{ <{iri}> <{predicate}> "{value}" }} '
                 f'WHERE {{ OPTIONAL {{ <{iri}> <{predicate}> ?v }} }}', changed=[iri])
    finally:
        s.close()


def same(source: Path, mirror_dir: Path) -> None:
    want, have = comparable(source), comparable(mirror_dir)
    assert have == want, (f"{len(want - have)} statements missing, e.g. {sorted(want - have)[:3]}; "
                          f"{len(have - want)} too many, e.g. {sorted(have - want)[:3]}")


@pytest.fixture(scope="module")
def well(tmp_path_factory):
    """A server on the golden records (and a dump of them), for the tests that change it in turn."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = source_store(tmp_path_factory.mktemp("well"), base)
    with server(store, port, "--refresh", "0.3", env=PAGE) as (url, proc):
        yield url, store


# convergence ---------------------------------------------------------------------------------------

def test_an_empty_mirror_converges_stays_put_and_follows_changes(well, tmp_path):
    base, store = well
    target = tmp_path / "mirror"
    first = mirror(base, target, QUICK)
    assert first.dump is not None and first.dump_quads > 0
    same(store, target)
    again = mirror(f"{base}/changes", target, QUICK)  # the entry point itself names the same source
    assert (again.activities, again.documents, again.dump) == (0, 0, None)

    golden = records(GOLDEN)
    load(store, base, changed(golden[3], "Changed in the source."), name="changed.mrc")
    delete_golden(store, base)
    edit(store, entities(store, T.C_WORK)[0], T.W_PREFERRED_TITLE, "A work retitled in the well")
    edit(store, entities(store, T.C_PERSON)[0], T.A_PERSON_AAP, "Someone, 1900-1990")
    caught_up(base, store)
    later = mirror(base, target, QUICK)
    assert later.dump is None and later.activities > 0
    same(store, target)
    held = comparable(target)
    assert any("/record/DLC-00030568>" in q and "Tombstone" in q for q in held)  # the deletion
    assert any('"A work retitled in the well"' in q for q in held)
    assert any('"Changed in the source."' in q for q in held)
    state = json.loads((target / STATE_FILE).read_text())
    assert state["source"] == f"{base}/changes" and state["position"] == later.position
    assert state["sequence"] == sequence(store)


def test_another_source_is_refused_and_the_mirror_is_left_as_it_was(well, tmp_path):
    base, store = well
    target = tmp_path / "mirror"
    mirror(base, target, QUICK)
    before = (target / STATE_FILE).read_text()
    with pytest.raises(MirrorError, match="follows .*/changes, not http://127.0.0.1:1/changes"):
        mirror("http://127.0.0.1:1", target, QUICK)
    assert (target / STATE_FILE).read_text() == before
    run = subprocess.run([sys.executable, "-m", "metadatabronn", "mirror", "http://127.0.0.1:1/", "--store",
                          str(target)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "follows" in run.stderr and "not http://127.0.0.1:1/changes" in run.stderr


def test_a_directory_that_holds_something_else_is_not_taken_for_a_mirror(well, tmp_path):
    base, _ = well
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(MirrorError, match="not empty and holds no mirror"):
        mirror(base, tmp_path / "other", QUICK)


def test_an_error_answer_is_an_error_with_its_problem_text_and_binds_nothing(well, tmp_path):
    base, store = well
    with pytest.raises(MirrorError, match=r"answered 404 .*nothing at /nowhere/changes"):
        mirror(f"{base}/nowhere", tmp_path / "m", QUICK)
    with pytest.raises(MirrorError, match=r"cannot reach the source: GET http://127.0.0.1:1/changes: ConnectError"):
        mirror("http://127.0.0.1:1", tmp_path / "m", QUICK)
    assert not (tmp_path / "m" / STATE_FILE).exists()  # a mistyped source leaves the directory free
    mirror(base, tmp_path / "m", QUICK)
    same(store, tmp_path / "m")


# the convergence property ----------------------------------------------------------------------------

POOL = [r for path in NEW_RECORDS for r in records(path)]
STEP = st.one_of(
    st.tuples(st.just("new"), st.integers(0, len(POOL) - 1)),
    st.tuples(st.just("change"), st.integers(0, 21)),
    st.tuples(st.just("delete"), st.integers(0, 21)),
    st.tuples(st.just("work"), st.integers(0, 1000)),
    st.tuples(st.just("agent"), st.integers(0, 1000)),
    st.tuples(st.just("merge"), st.integers(0, 1000)),
    st.tuples(st.just("mirror"), st.just(0)),
)
EDITS = iter(range(1, 1_000_000))  # a new value for each edit and change, across examples


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=2, max_size=8))
def test_any_run_of_changes_and_mirror_runs_converges(well, tmp_path_factory, steps):
    """Ingests of new and changed records, deletions, edits of works and agents, merges of
    works, and mirror runs (which need not see the latest changes yet), in any order: after a last run the mirror
    holds what the well holds. The well is shared by the examples, so each starts from what
    the ones before left, and each mirror starts empty, from the dump taken at the start."""
    base, store = well
    target = tmp_path_factory.mktemp("prop") / "mirror"
    golden = records(GOLDEN)
    for kind, n in steps:
        event(kind)
        if kind == "new":
            load(store, base, POOL[n], name="new.mrc")
        elif kind == "change":
            load(store, base, changed(golden[n], f"Change {next(EDITS)}."), name="changed.mrc")
        elif kind == "delete":
            control = golden[n]["001"].data.strip()
            delete_golden(store, base, control)
        elif kind in ("work", "agent"):
            cls, predicate = ((T.C_WORK, T.W_PREFERRED_TITLE) if kind == "work"
                              else (T.C_PERSON, T.A_PERSON_AAP))
            found = entities(store, cls)
            edit(store, found[n % len(found)], predicate, f"Edited {next(EDITS)}")
        elif kind == "merge":
            works = entities(store, T.C_WORK)
            merged, into = works[n % len(works)], works[(n + 1) % len(works)]
            s = Store(store)
            try:
                merging.merge(s, merged, into)
            except MergeRefused:  # one of them merged into another before
                pass
            finally:
                s.close()
        else:
            mirror(base, target, QUICK)
    caught_up(base, store)
    mirror(base, target, QUICK)
    same(store, target)


# resuming, expiry, retries ---------------------------------------------------------------------------

def test_a_run_stopped_between_pages_resumes_where_it_stopped(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = source_store(tmp_path, base)
    target = tmp_path / "mirror"
    with server(store, port, "--refresh", "0.3", env=PAGE) as (_, proc):
        mirror(base, target, QUICK)
        load(store, base, *records(NEW_RECORDS[0]), *records(NEW_RECORDS[1]), name="new.mrc")
        caught_up(base, store)
        total = HTTP.get(f"{base}/changes", timeout=30).json()["totalItems"]
        start = State.read(target).position
        # pages of 10, a write each; the next two may be fetched while one is written
        assert total - start > 50

        def stop_after_first_write(done: int, _total: int) -> None:
            if done and proc.poll() is None:  # the server goes away between two pages
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)

        one_page = MirrorSettings(retries=1, backoff=0, timeout=30, batch=1)
        with pytest.raises(MirrorError, match="cannot reach the source"):
            mirror(base, target, one_page, progress=stop_after_first_write)
    stopped = State.read(target).position
    assert start < stopped < total and stopped % 10 == 0  # whole pages applied, the position saved
    with server(store, port, "--refresh", "0.3", env=PAGE):
        rest = mirror(base, target, QUICK)
    assert rest.dump is None and rest.activities == total - stopped
    same(store, target)


class Stub(httpx.BaseTransport):
    """The real server behind a stub that can answer in its place: 410 for a feed position
    (the feed cannot be pruned yet, so expiry is played here), 503 a few times, a dump cut
    short part-way, or documents said to come from an older view of the store than the feed's.
    Everything else goes to the server over real HTTP."""

    def __init__(self, gone: str | None = None, unavailable: int = 0, cut: bool = False, stale: int = 0):
        self.real = httpx.HTTPTransport()
        self.gone, self.unavailable, self.cut, self.stale = gone, unavailable, cut, stale
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.gone is not None and self.gone in str(request.url):  # once
            self.gone = None
            body = {"type": "about:blank", "title": "Gone", "status": 410,
                    "detail": "position 129 is no longer in the feed, which now starts at 500"}
            return httpx.Response(410, json=body, headers={"content-type": "application/problem+json"})
        if self.unavailable and request.url.path == "/documents":
            self.unavailable -= 1
            return httpx.Response(503, json={"title": "Service Unavailable", "detail": "busy"})
        response = self.real.handle_request(request)
        if self.stale and request.url.path == "/documents":  # as from a process with an older view
            self.stale -= 1
            body = json.loads(response.read())
            return httpx.Response(200, json={**body, "sequence": 0})
        if self.cut and request.url.path.startswith("/dumps/"):
            self.cut = False
            body = response.read()
            return httpx.Response(response.status_code, headers=response.headers,
                                  stream=_CutShort(body[: len(body) // 2]))
        return response


class _CutShort(httpx.SyncByteStream):
    def __init__(self, head: bytes):
        self.head = head

    def __iter__(self):
        yield self.head
        raise httpx.ReadError("connection reset")


@pytest.mark.parametrize("where", ["/changes?after=", "/changes/page/"])
def test_an_expired_position_falls_back_to_a_fresh_dump_with_a_message(well, tmp_path, where):
    base, store = well
    target = tmp_path / "mirror"
    mirror(base, target, QUICK)
    load(store, base, changed(records(GOLDEN)[5], f"Change {next(EDITS)}."), name="changed.mrc")
    caught_up(base, store)
    said: list[str] = []
    stub = Stub(gone=where)  # the entry point's after=, or the page it leads to
    with httpx.Client(transport=stub, follow_redirects=True) as client:
        result = mirror(base, target, QUICK, say=said.append, client=client)
    assert len(said) == 1 and "is no longer in the source's feed" in said[0] and "fresh dump" in said[0]
    assert result.dump is not None
    same(store, target)


def test_5xx_answers_are_retried_and_a_dump_cut_short_is_resumed_with_range(well, tmp_path):
    base, store = well
    load(store, base, changed(records(GOLDEN)[6], f"Change {next(EDITS)}."), name="changed.mrc")
    caught_up(base, store)  # something to fetch after the dump
    stub = Stub(unavailable=2, cut=True)
    waits: list[float] = []
    with httpx.Client(transport=stub, follow_redirects=True) as client:
        result = mirror(base, tmp_path / "mirror", MirrorSettings(retries=3, backoff=0.5), client=client,
                        sleep=waits.append)
    ranged = [r for r in stub.seen if r.url.path.startswith("/dumps/") and "range" in r.headers]
    assert len(ranged) == 1 and ranged[0].headers["range"].startswith("bytes=")
    assert int(ranged[0].headers["range"][6:-1]) > 0
    assert sorted(waits) == [0.5, 0.5, 1.0] and result.retried == 3  # doubled for the second 503
    same(store, tmp_path / "mirror")


def test_the_command_says_what_it_did_and_takes_settings_from_flags_or_environment(well, tmp_path, monkeypatch):
    base, store = well
    env = plain_env()
    run = subprocess.run([sys.executable, "-m", "metadatabronn", "mirror", base, "--store", str(tmp_path / "m"),
                          "--retries", "2", "--backoff", "0"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr
    assert "loaded the dump of sequence" in run.stderr and "changes/s; now at feed position" in run.stderr
    same(store, tmp_path / "m")
    fresh = subprocess.run([sys.executable, "-m", "metadatabronn", "mirror", base, "--store", str(tmp_path / "m"),
                            "--fresh"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert fresh.returncode == 0 and "loaded the dump of sequence" in fresh.stderr, fresh.stderr
    same(store, tmp_path / "m")
    bad = subprocess.run([sys.executable, "-m", "metadatabronn", "mirror", base, "--store", str(tmp_path / "m")],
                         capture_output=True, text=True, cwd=ROOT, env={**env, "METADATABRONN_MIRROR_RETRIES": "-1"})
    assert bad.returncode == 1 and "retries must be a whole number, 0 or more, got -1" in bad.stderr

    from metadatabronn import config

    monkeypatch.setenv("METADATABRONN_MIRROR_BACKOFF", "0.25")
    assert config.mirror_backoff(None) == 0.25 and config.mirror_backoff(2) == 2
    assert config.mirror_retries(None) == config.DEFAULT_MIRROR_RETRIES == 6


def test_documents_from_a_view_older_than_the_feed_are_asked_for_again(well, tmp_path):
    base, store = well
    target = tmp_path / "mirror"
    mirror(base, target, QUICK)
    load(store, base, changed(records(GOLDEN)[7], f"Change {next(EDITS)}."), name="changed.mrc")
    caught_up(base, store)
    stub = Stub(stale=2)
    waits: list[float] = []
    with httpx.Client(transport=stub, follow_redirects=True) as client:
        result = mirror(base, target, MirrorSettings(retries=3, backoff=0.5), client=client, sleep=waits.append)
    assert waits == [0.5, 1.0] and result.activities > 0
    assert sum(r.url.path == "/documents" for r in stub.seen) == 3
    same(store, target)
