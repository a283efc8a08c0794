"""The ETag a write answers is the state the store then holds: the writer works it out from what
it read and wrote, without reading the entity again, and a client's next If-Match must match."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadatabronn.errors import EditRefused
from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, editing, ingest
from metadatabronn.store import Store
from metadatabronn.store.editing import Author, state_tag
from metadatabronn.store.formats import parse_statements

from .test_pipeline import sample_file

BASE = "http://example.org"
TITLE, VARIANT, SUBJECT = T.W_PREFERRED_TITLE, T.W_VARIANT_TITLE, T.W_SUBJECT


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tags")
    ingest([str(sample_file(tmp / "s.mrc", "00007090", "00007091", "00000119"))],
           Settings(store=tmp / "store", base=BASE, workers=1))
    s = Store(tmp / "store", BASE)
    yield s
    s.close()


def _work(s: Store) -> str:
    return sorted(s.values(f"{BASE}/manifestation/DLC-00007090", T.M_WORK))[0]


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
LANGUAGE = st.sampled_from([None, "en", "EN", "nb", "de-CH", "se-Latn-NO"])
LITERAL = st.builds(lambda text, lang: str(ox.Literal(text, language=lang) if lang else ox.Literal(text)),
                    TEXT, LANGUAGE)
IRI = st.sampled_from([f"{BASE}/concept/c1", f"{BASE}/concept/c2", "http://id.loc.gov/authorities/subjects/sh1"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=LITERAL, variants=st.lists(LITERAL, max_size=3), subjects=st.lists(IRI, max_size=2),
       keep_rest=st.booleans(), org=st.sampled_from(["org-a", "org-b"]))
def test_a_writes_etag_is_the_state_the_store_then_holds(store, title, variants, subjects, keep_rest, org):
    work = _work(store)
    kept = "".join(str(ox.Triple(ox.NamedNode(work), ox.NamedNode(p),
                                 ox.Literal(o, language=lang) if lang else
                                 ox.Literal(o, datatype=ox.NamedNode(dt)) if lit else ox.NamedNode(o))) + " .\n"
                   for _, p, o, lit, lang, dt in store.about(work)
                   if keep_rest and p not in (TITLE, VARIANT, SUBJECT))
    text = kept + f"<{work}> <{TITLE}> {title} .\n" + "".join(f"<{work}> <{VARIANT}> {v} .\n" for v in variants) \
        + "".join(f"<{work}> <{SUBJECT}> <{s}> .\n" for s in subjects)
    statements = parse_statements(text.encode("utf-8"), "ntriples", work)
    try:
        edited = editing.put(store, "work", work, statements, Author(org, "ada"), "*", "base")
    except EditRefused as exc:  # the profile refused it: nothing was written, nothing to compare
        assert exc.status == 422
        return
    assert edited.tag == state_tag(store.about(work, raw=True))
    # Written again as it is: nothing changes, and the tag stays.
    again = editing.put(store, "work", work, statements, Author(org, "ada"), f'"{edited.tag}"', "base")
    assert again.changed is False and again.tag == edited.tag


def test_a_write_that_states_nothing_takes_the_writers_note_away(store):
    """A body equal to what the others say: the writer's graph empties, and the default graph's
    note that it states something goes with it."""
    work = _work(store)
    author = Author("org-c", "ada")
    rows = store.about(work)
    body = [(work, (p, o, lit, lang, dt)) for _, p, o, lit, lang, dt in rows if p != TITLE]
    body.append((work, (TITLE, "Only org-c says this", True, None, "http://www.w3.org/2001/XMLSchema#string")))
    first = editing.put(store, "work", work, body, author, "*", "base")
    assert first.tag == state_tag(store.about(work, raw=True))
    back = [(work, (p, o, lit, lang, dt)) for _, p, o, lit, lang, dt in rows]
    second = editing.put(store, "work", work, back, author, f'"{first.tag}"', "base")
    raw = store.about(work, raw=True)
    assert second.tag == state_tag(raw)
    assert not any(g.endswith("/org-c/" + work[len(BASE) + 1:]) for g, *_ in raw)


def _tag_field_by_field(rows) -> str:
    """The tag as it was first defined: each row's fields as text (None as ""), one row at a time."""
    import hashlib

    h = hashlib.blake2b(digest_size=10)
    for row in sorted(rows, key=lambda r: tuple("" if x is None else str(x) for x in r)):
        h.update(repr(row).encode("utf-8"))
    return h.hexdigest()


_TEXTS = st.sampled_from(["", "a", "b", "http://example.org/w", "Titel", "ä", "Z"])
ROW = st.tuples(_TEXTS, _TEXTS, _TEXTS, st.booleans(), st.none() | st.sampled_from(["en", "nb", ""]),
                st.none() | _TEXTS)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(ROW | st.tuples(_TEXTS, st.integers(-2, 2)) | st.tuples(st.none(), _TEXTS, _TEXTS, st.booleans(),
                                                                            st.none(), st.none()), max_size=12))
def test_the_tag_is_the_same_digest_as_first_defined(rows):
    """Tags clients hold stay valid across versions: the rows digested in one update give the
    digest they gave one at a time, for rows as the store gives them and for any others."""
    assert state_tag(rows) == _tag_field_by_field(rows)



def test_values_made_by_hand_get_the_tag_a_read_gives(store):
    """A body's values need not come from a parser: a plain literal without its datatype, or a
    language tag in capitals, are stored as pyoxigraph writes them, and the tag says so."""
    work = _work(store)
    body = [(work, (p, o, lit, lang, dt)) for _, p, o, lit, lang, dt in store.about(work)
            if p not in (TITLE, VARIANT)]
    body += [(work, (TITLE, "By hand", True, None, None)), (work, (VARIANT, "Hand", True, "EN", None))]
    edited = editing.put(store, "work", work, body, Author("org-d", "ada"), "*", "base")
    assert edited.tag == state_tag(store.about(work, raw=True))
