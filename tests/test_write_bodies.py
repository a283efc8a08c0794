"""A JSON-LD body with the well's context by URL is read with that context cut to the terms the
document can reach (``web.bodies.cut``): the statements must be those the whole context gives,
for every kind of entity the well renders, in both its contexts, and for documents made to stray
(terms as values, compact IRIs, prefixes, nested nodes, language-tagged and typed values)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.store.bundle import read_bundle
from metadatabronn.store.formats import BodySyntaxError, parse_statements
from metadatabronn.web.bodies import CONTEXTS, cut, names, statements_of
from metadatabronn.web.bundle import CONTEXT_PATH, document
from metadatabronn.web.entities import Entity, _jsonld
from metadatabronn.web.problems import Problem

from .test_pipeline import GOLDEN

BASE = "http://example.org"
HOSTS = {"example.org"}
MEDIA = "application/ld+json"
KINDS = {"work": T.C_WORK, "expression": T.C_EXPRESSION, "manifestation": T.C_MANIFESTATION,
         "person": T.C_PERSON, "corporate body": T.C_CORPORATE, "concept": T.C_CONCEPT}


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """JSON-LD documents the well renders, with the context by URL: entities of each kind, and
    works in the work format."""
    tmp = tmp_path_factory.mktemp("bodies")
    ingest([str(GOLDEN)], Settings(store=tmp / "store", base=BASE, workers=1))
    s = Store(tmp / "store", BASE, read_only=True)
    now = datetime.now(timezone.utc)
    out = []
    try:
        for cls in KINDS.values():
            iris = sorted(r["e"].value for r in s.query(f"SELECT DISTINCT ?e WHERE {{ ?e a <{cls}> }}"))[:12]
            out += [(iri, json.loads(_jsonld(Entity(s, iri, now), f"{BASE}/"))) for iri in iris]
        for work in sorted(r["e"].value for r in s.query(f"SELECT DISTINCT ?e WHERE {{ ?e a <{T.C_WORK}> }}"))[:6]:
            bundle = read_bundle(s, work)
            if bundle is not None:
                out.append((work, document(bundle, BASE + CONTEXT_PATH)))
    finally:
        s.close()
    assert {urlsplit(d["@context"]).path for _, d in out} == set(CONTEXTS)  # both contexts are met
    return out


def whole(doc: dict, iri: str):
    """The statements with the whole context inlined, as bodies were read before."""
    doc = dict(doc, **{"@context": CONTEXTS[urlsplit(doc["@context"]).path]})
    return parse_statements(json.dumps(doc).encode("utf-8"), "jsonld", iri)


def test_every_rendered_document_reads_the_same_with_the_context_cut(documents):
    for iri, doc in documents:
        got = statements_of(json.dumps(doc).encode("utf-8"), MEDIA, iri, HOSTS)
        assert sorted(got, key=repr) == sorted(whole(doc, iri), key=repr) and got, iri


def test_the_cut_context_is_small_and_keeps_what_the_document_names(documents):
    iri, doc = next((i, d) for i, d in documents if "/work/" in i and urlsplit(d["@context"]).path == "/context.jsonld")
    used: set[str] = set()
    names(doc, used)
    context = CONTEXTS["/context.jsonld"]
    kept = cut(context, used)
    assert len(kept) < len(context) / 2
    assert all(key in kept for key in doc if key in context)


VALUES = st.sampled_from(["rdaw:P10088", "rdac:C10001", "Work", "Person", "title", "http://example.org/work/x",
                          "mb:key", "@id", "en", "xsd:string", "rdaw", "plain text", "unknownPrefix:thing"])


def _value(term_names):
    leaf = st.one_of(VALUES, st.sampled_from(term_names), st.text(max_size=8),
                     st.builds(lambda v: {"@id": v}, VALUES),
                     st.builds(lambda v, lang: {"@value": v, "@language": lang}, st.text(max_size=6),
                               st.sampled_from(["en", "nb", "se"])),
                     st.builds(lambda v, t: {"@value": v, "@type": t}, st.text(max_size=6),
                               st.sampled_from(["xsd:string", "xsd:date", "http://example.org/type"])))
    return st.one_of(leaf, st.lists(leaf, max_size=3),
                     st.dictionaries(st.sampled_from(term_names), leaf, max_size=2)
                     .map(lambda d: {"@type": "Work", **d}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_a_document_made_to_stray_reads_the_same_with_the_context_cut(documents, data):
    iri, doc = data.draw(st.sampled_from(documents))
    context = CONTEXTS[urlsplit(doc["@context"]).path]
    term_names = sorted(k for k in context if not k.startswith("@"))
    doc = dict(doc)
    for key in data.draw(st.lists(st.sampled_from(sorted(k for k in doc if not k.startswith("@"))) if len(doc) > 2
                                  else st.nothing(), max_size=3)):
        doc.pop(key, None)
    doc.update(data.draw(st.dictionaries(st.sampled_from(term_names + ["rdaw:P10088", "mb:key"]), _value(term_names),
                                         max_size=3)))
    try:
        expected = sorted(whole(doc, iri), key=repr)
    except BodySyntaxError:
        expected = None
    try:
        got = sorted(statements_of(json.dumps(doc).encode("utf-8"), MEDIA, iri, HOSTS), key=repr)
    except Problem as exc:
        assert expected is None and exc.status == 400
        return
    assert got == expected


def test_a_cut_keeps_keywords_prefixes_and_what_kept_definitions_name():
    context = {"@version": 1.1, "ex": "http://example.org/ns/", "kind": "http://example.org/ns/kind",
               "title": {"@id": "ex:title", "@type": "kind"}, "other": {"@id": "ex:other"}, "unused": "ex:unused"}
    used: set[str] = set()
    names({"@context": "x", "title": "A title"}, used)
    assert cut(context, used) == {"@version": 1.1, "ex": "http://example.org/ns/", "kind": "http://example.org/ns/kind",
                                  "title": {"@id": "ex:title", "@type": "kind"}}
