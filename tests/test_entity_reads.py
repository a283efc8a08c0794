"""An entity read from a store on a SPARQL server, where each read sees the server as it is
then: a write landing between the read of the statements and the read of the graphs' times
must not pair one state's ETag with another state's values."""

from __future__ import annotations

from datetime import datetime, timezone

from metadatabronn.mapping import terms as T
from metadatabronn.store.editing import effective, state_tag
from metadatabronn.web.entities import Entity

BASE = "http://example.org"
WORK = f"{BASE}/work/w1"
RECORD = f"{BASE}/record/r1"
A, B = f"{BASE}/edit/org-a/w1", f"{BASE}/edit/org-b/w1"
TITLE = T.W_PREFERRED_TITLE


def rows(b_title: str) -> list[tuple]:
    return [("", T.RDF_TYPE, T.C_WORK, False, None, None),
            (RECORD, TITLE, "As catalogued", True, None, None),
            (A, TITLE, "A's title", True, None, None),
            (B, TITLE, b_title, True, None, None)]


# Partner B wrote first, partner A after; then B writes again, landing between the two reads.
BEFORE, AFTER = rows("B's first title"), rows("B's second title")
TIMES_BEFORE = {RECORD: "2026-01-01T00:00:00Z", A: "2026-01-03T00:00:00Z", B: "2026-01-02T00:00:00Z"}
TIMES_AFTER = {**TIMES_BEFORE, B: "2026-01-04T00:00:00Z"}


class Racing:
    """A store whose every read answers as the server is at that moment: the write lands right
    after the first read of the statements."""

    base = BASE

    def __init__(self, batched_reads: bool):
        self.batched_reads = batched_reads
        self.reads = 0

    def about(self, iri, raw=False):
        assert iri == WORK and raw
        self.reads += 1
        return BEFORE if self.reads == 1 else AFTER

    def generated(self, graph):
        return (TIMES_BEFORE if self.reads == 0 else TIMES_AFTER).get(graph)


def titles(entity: Entity) -> set[str]:
    return {o for _, p, o, *_ in entity.triples if p == TITLE}


def test_a_write_between_the_reads_gives_the_new_state_with_its_own_etag():
    entity = Entity(Racing(batched_reads=True), WORK, datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert entity.tag == state_tag(AFTER)
    # B stated the title last: its second title is the work's, as it is in the state the ETag names
    assert titles(entity) == {r[2] for r in effective(AFTER, TIMES_AFTER, BASE) if r[1] == TITLE}
    assert titles(entity) == {"B's second title"}
    assert entity.modified == datetime(2026, 1, 4, tzinfo=timezone.utc)


def test_without_a_second_look_the_race_shows_a_value_no_state_had():
    # What the second read guards against (a store on disk reads one snapshot, so it never looks
    # again): the first state's ETag over B's first title, which A's later write had replaced.
    entity = Entity(Racing(batched_reads=False), WORK, datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert entity.tag == state_tag(BEFORE)
    assert titles(entity) == {"B's first title"}
    assert titles(entity) != {r[2] for r in effective(BEFORE, TIMES_BEFORE, BASE) if r[1] == TITLE}


def test_a_store_that_keeps_changing_is_read_a_few_times_then_taken_as_read():
    class Churning(Racing):
        def about(self, iri, raw=False):
            self.reads += 1
            return rows(f"title {self.reads}")

    store = Churning(batched_reads=True)
    entity = Entity(store, WORK, datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert store.reads == 4 and entity.tag == state_tag(rows("title 4"))
