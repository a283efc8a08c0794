"""The vocabularies' labels in the store: a graph of their own, written once per store and
vocabulary version, labelling every term the records use, and never counted or served as a record."""

from __future__ import annotations

import io

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store, labels
from metadatabronn.store.layout import STORE_GRAPH

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "data" / "golden" / "golden.mrc"
BASE = "http://example.org/well"
LABELS = ox.NamedNode(labels.LABELS_GRAPH)
RDFS_LABEL = labels.RDFS_LABEL
# Namespaces whose terms the labels graph must label wherever the store uses one (subject
# schemes and external authorities' concepts are the records' own, labelled by skos:prefLabel).
LABELLED = ("http://rdaregistry.info/", T.MB, T.LANG_BASE, "http://schema.org/", "http://www.w3.org/ns/shacl#",
            "https://www.w3.org/ns/activitystreams#", "http://www.w3.org/ns/prov#", "http://purl.org/dc/terms/",
            T.SKOS, "http://www.w3.org/2002/07/owl#", T.RDF_TYPE)


def _graph(store: Store) -> list[ox.Quad]:
    return list(store._store.quads_for_pattern(None, None, None, LABELS))


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "store"
    ingest([str(GOLDEN)], Settings(store=path, base=BASE, workers=1))
    return path


def test_a_new_store_holds_the_labels_once(tmp_path):
    store = Store(tmp_path / "store", BASE)
    try:
        quads = _graph(store)
        assert len(quads) == len(labels.statements()) > 950
        assert labels.stored_version(store._store) == labels.version()
        assert {q.predicate.value for q in quads} == {RDFS_LABEL, labels.RDFS_SUBPROPERTY}
        assert labels.ensure(store._store) is False  # nothing to do the second time
    finally:
        store.close()
    again = Store(tmp_path / "store", BASE)
    try:
        assert len(_graph(again)) == len(quads)
    finally:
        again.close()


def test_missing_or_outdated_labels_are_written_again(tmp_path):
    store = Store(tmp_path / "store", BASE)
    store._store.update(f"DROP GRAPH <{labels.LABELS_GRAPH}>")
    store.close()
    store = Store(tmp_path / "store", BASE)  # the version is there, the graph is not
    assert len(_graph(store)) == len(labels.statements())
    g = STORE_GRAPH
    store._store.update(f"DELETE WHERE {{ GRAPH <{g}> {{ <{g}> <{labels.MB_LABELS_VERSION}> ?v }} }} ;"
                        f"INSERT DATA {{ GRAPH <{g}> {{ <{g}> <{labels.MB_LABELS_VERSION}> \"older\" }}"
                        f"  GRAPH <{labels.LABELS_GRAPH}> {{ <{T.W_AUTHOR}> <{RDFS_LABEL}> \"stale\" }} }}")
    store.close()
    store = Store(tmp_path / "store", BASE)
    try:
        assert labels.stored_version(store._store) == labels.version()
        author = {q.object.value for q in store._store.quads_for_pattern(
            ox.NamedNode(T.W_AUTHOR), ox.NamedNode(RDFS_LABEL), None, LABELS)}
        assert author == {"has author agent"}
    finally:
        store.close()


def test_a_read_only_store_is_not_written(golden):
    store = Store(golden, read_only=True)
    try:
        assert labels.stored_version(store._store) == labels.version()
    finally:
        store.close()


def test_every_term_the_records_use_has_an_english_label(golden):
    store = Store(golden, read_only=True)
    try:
        used, predicates = set(), set()
        for q in store._store.quads_for_pattern(None, None, None, None):
            if q.graph_name == LABELS:
                continue
            predicates.add(q.predicate.value)
            if isinstance(q.object, ox.NamedNode):
                used.add(q.object.value)
        used = {t for t in used if t.startswith(LABELLED) and not t.startswith((BASE, T.MB + "scheme/"))}
        used |= predicates  # every property, whatever its vocabulary
        assert {T.W_AUTHOR, T.W_CREATOR, T.SCHEMA_ISBN, T.LANG_BASE + "eng", T.C_WORK,
                "http://www.w3.org/ns/shacl#ValidationResult", "https://www.w3.org/ns/activitystreams#Create"} <= used
        rows = store.query(f"""SELECT ?t ?l WHERE {{ GRAPH <{labels.LABELS_GRAPH}> {{ ?t <{RDFS_LABEL}> ?l }}
                                FILTER(LANGMATCHES(LANG(?l), "en")) }}""")
        labelled = {r["t"].value for r in rows}
        assert not used - labelled, sorted(used - labelled)
        # One pattern over the union of graphs, as a query writes it.
        found = store.query(f"""SELECT ?l WHERE {{ <{T.LANG_BASE}nor> <{RDFS_LABEL}> ?l }}""")
        assert [r["l"].value for r in found] == ["Norwegian"]
        titles = store.query(f"""SELECT ?l WHERE {{ <{T.M_TITLE_PROPER}> <{RDFS_LABEL}> ?l }}""")
        # Sorted here: SPARQL leaves the order of strings of two language tags to the server.
        assert sorted((r["l"].value, r["l"].language) for r in titles) == [("har hovedtittel", "nb"),
                                                                             ("has title proper", "en")]
    finally:
        store.close()


def test_the_labels_are_no_record_entity_or_change(golden):
    """Nothing in the labels graph is typed, so it is no entity to count; it is no record graph,
    so no harvest, export or catalogue row shows it."""
    store = Store(golden, read_only=True)
    try:
        typed = list(store._store.quads_for_pattern(None, ox.NamedNode(T.RDF_TYPE), None, LABELS))
        assert typed == []
        records = store.count(f"SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE {{ GRAPH ?g {{ ?g <{T.MB}describes> ?m }} }}")
        assert store.entity_counts() == store.count_entities()
        assert store.entity_counts()["manifestations"] == records
    finally:
        store.close()

    from metadatabronn.pipeline.export import export
    from metadatabronn.web.app import create_app

    out = io.BytesIO()
    exported = export(golden, BASE, out, workers=1)
    assert exported.records == records
    assert out.getvalue().count(b"\x1d") == records

    with TestClient(create_app(golden, BASE, query_workers=1, refresh=0)) as client:
        health = client.get("/health").json()
        assert health["counts"]["manifestations"] == records
        oai = "{http://www.openarchives.org/OAI/2.0/}"
        answer = etree.fromstring(client.get("/oai", params={"verb": "ListIdentifiers",
                                                              "metadataPrefix": "oai_dc"}).content)
        identifiers = [h.findtext(f"{oai}identifier") for h in answer.iter(f"{oai}header")]
        token = answer.find(f".//{oai}resumptionToken")
        total = int(token.get("completeListSize")) if token is not None and token.get("completeListSize") else len(identifiers)
        assert total == records
        assert not any("labels" in i for i in identifiers)
