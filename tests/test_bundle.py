"""The work format and the work bundle: GET /work/{id}/bundle, /works?isbn=, the context at
/context/work.jsonld and the SHACL shape shapes/work-bundle.ttl, on the golden records and the LC
translations (Le petit prince in French with its English, German and Spanish editions)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pyshacl
import pytest
import rdflib
from fastapi.testclient import TestClient

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.web import create_app
from metadatabronn.web.bundle import CLASSES, CONTEXT, CONTEXT_FILE, NESTS, ORDER, ROLE_KEYS, TERMS

from .conftest import ROOT, delete_golden
from .test_web import free_port, server
from .client import HTTP

GOLDEN = ROOT / "tests" / "data" / "golden" / "golden.mrc"
TRANSLATIONS = ROOT / "tests" / "data" / "translations" / "lc-translations.mrc"
SHAPE = ROOT / "shapes" / "work-bundle.ttl"
PROBLEM = "application/problem+json"
PETIT_PRINCE = {"fre": "0-15-601398-3", "ger": "015601386X", "spa": "9780156013925", "eng": "0156014041"}
KEYWORDS = {"@id", "@type", "@included", "@nest"}
OTHER_IRIS = {"http://schema.org/isbn", "http://www.w3.org/2004/02/skos/core#prefLabel",
              T.SKOS_INSCHEME, T.SKOS_NOTATION, T.OWL_SAMEAS, T.C_CONCEPT, T.MB_INVALID_IDENTIFIER}


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def store(tmp_path_factory, port) -> Path:
    """The golden records and the LC translations; one golden record (ISBN 1558994912) then
    deleted."""
    path = tmp_path_factory.mktemp("bundle") / "store"
    base = f"http://127.0.0.1:{port}"
    ingest([str(GOLDEN), str(TRANSLATIONS)], Settings(store=path, base=base, workers=1))
    delete_golden(path, base)
    return path


@pytest.fixture(scope="module")
def client(store, port):
    with TestClient(create_app(store, f"http://127.0.0.1:{port}", query_workers=1, refresh=0)) as c:
        yield c


@pytest.fixture(scope="module")
def works(store, port) -> list[str]:
    """Every work the store holds, read off the expressions (each work has one)."""
    s = Store(store, read_only=True)
    found = set()
    for row in json.loads(s.run_query(f"SELECT DISTINCT ?w WHERE {{ ?e <{T.E_WORK}> ?w }}")[0])["results"]["bindings"]:
        found.add(row["w"]["value"])
    return sorted(found)


def _path(iri: str) -> str:
    return "/" + iri.split("/", 3)[3] + "/bundle"


def _graph(doc: dict) -> rdflib.Graph:
    """A bundle as RDF: rdflib's JSON-LD parser with the published context in place of its URL."""
    doc = {**doc, "@context": CONTEXT["@context"]}
    return rdflib.Graph().parse(data=json.dumps(doc), format="json-ld")


def _held(store: Store, s: str, p: str, o: rdflib.term.Node) -> bool:
    for _, pp, oo, lit, lang, dt in store.about(s):
        if pp != p or oo != str(o) or lit != isinstance(o, rdflib.Literal):
            continue
        if not lit:
            return True
        if o.language:  # language tags compare without case (rdflib writes them in lower case)
            if (lang or "").lower() == o.language.lower():
                return True
        elif not lang and (dt or "") in (str(o.datatype or ""), _string(o)):
            return True
    return False


def _string(o: rdflib.Literal) -> str:
    # a plain literal is an xsd:string; the store says so, rdflib leaves the datatype out
    return "http://www.w3.org/2001/XMLSchema#string" if o.datatype is None else str(o.datatype)


# the context -----------------------------------------------------------------------------

def test_every_key_of_the_context_names_an_iri_of_the_store_or_a_json_ld_keyword():
    context = CONTEXT["@context"]
    known = {v for v in vars(T).values() if isinstance(v, str) and v.startswith("http")} | OTHER_IRIS
    aliases = {k: v for k, v in context.items() if isinstance(v, str) and v.startswith("@")}
    assert set(aliases.values()) <= KEYWORDS and set(aliases) == {"id", "type", "agents", "classification",
                                                                   "dates", "roles"}
    scoped = [t for _, terms in CLASSES.values() for t in terms.values()]
    assert len(TERMS) > 40 and len(scoped) == 15
    for term in [*TERMS.values(), *scoped]:
        assert term.iri in known, (term.key, term.iri)
    for cls, (name, _) in CLASSES.items():
        assert cls in known, name
    # every key has its place in the order the documents give them in
    keys = set(TERMS) | {k for _, terms in CLASSES.values() for k in terms} | set(aliases) - {"id", "type"}
    assert keys <= set(ORDER)
    assert set(ROLE_KEYS) == {k for k in TERMS if k.endswith("Of") and k != "translationOf"}
    # a value written by a word (a language code, a content type's label) is never read as a key
    words = set(T.LANGUAGE_CODES) | {w for t in TERMS.values() for _, w in t.vocab if w}
    assert not words & set(context) and not words & {k for _, terms in CLASSES.values() for k in terms}
    assert {w for t in TERMS.values() for _, w in t.vocab if w} >= {"text", "volume", "unmediated", "online resource"}


def test_the_context_is_published_at_a_stable_url_as_the_package_keeps_it(client):
    r = client.get("/context/work.jsonld")
    assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json"
    assert r.content == CONTEXT_FILE.read_bytes()
    assert client.get("/context/work.jsonld", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def _keys(node, context: dict):
    """Every key of a node tree with the class it sits on (None outside a typed node)."""
    if isinstance(node, list):
        for item in node:
            yield from _keys(item, context)
    elif isinstance(node, dict):
        cls = node.get("type")
        for key, value in node.items():
            yield key, cls
            if key in NESTS or key == "roles":
                for inner, v in value.items():
                    yield inner, cls
                    yield from _keys(v, context)
            else:
                yield from _keys(value, context)


def test_every_key_of_a_real_bundle_maps_to_an_iri(client, works):
    context = CONTEXT["@context"]
    seen = set()
    for work in works:
        doc = client.get(_path(work)).json()
        for key, cls in _keys(doc, context):
            if key in ("@context", "@value", "@language", "@type"):  # a value object's own keywords
                continue
            scoped = context.get(cls, {}).get("@context", {}) if isinstance(context.get(cls), dict) else {}
            assert key in context or key in scoped, (key, cls)
            seen.add(key)
    # the real bundles use the keys a partner reads first
    assert {"title", "name", "creator", "language", "isbn", "isbnAsGiven", "publisher", "published", "edition",
            "extent", "subject", "label", "scheme", "lcc", "ddc", "translationOf", "expressions",
            "manifestations", "agents", "authorOf", "born", "died", "contributor"} <= seen


# nothing invented, nothing left out ----------------------------------------------------------

def test_each_bundle_read_as_rdf_is_what_the_store_holds_of_those_entities(client, store, works):
    s = Store(store, read_only=True)
    for work in works:
        doc = client.get(_path(work)).json()
        graph = _graph(doc)
        assert len(graph) > 5
        for subj, pred, obj in graph:
            assert _held(s, str(subj), str(pred), obj), (work, subj, pred, obj)
        # and every expression of the work is in it, every live manifestation with each ISBN the store has
        assert {e["id"] for e in doc.get("expressions", [])} == set(s.linking(T.E_WORK, work))
        for row in json.loads(s.run_query(
                f"SELECT ?m WHERE {{ ?e <{T.E_WORK}> <{work}> . ?m <{T.M_EXPRESSION}> ?e }}")[0])["results"]["bindings"]:
            m = rdflib.URIRef(row["m"]["value"])
            for isbn in s.values(str(m), T.SCHEMA_ISBN):
                assert (m, rdflib.URIRef(T.SCHEMA_ISBN), rdflib.Literal(isbn)) in graph


def test_a_work_with_translations_lists_each_expression_with_its_language(client):
    doc = client.get("/works", params={"isbn": PETIT_PRINCE["fre"]}).json()
    assert doc["title"] == "Petit prince" and doc["type"] == "Work"
    by_language = {e["language"][0]: e for e in doc["expressions"]}
    assert set(by_language) == {"fre", "eng", "ger", "spa"}
    original = by_language["fre"]["id"]
    assert by_language["ger"]["translationOf"] == [original] and by_language["spa"]["translationOf"] == [original]
    titles = {lang: [m["title"] for m in e["manifestations"]] for lang, e in by_language.items()}
    assert titles == {"fre": ["Le petit prince"], "ger": ["Der kleine Prinz"], "spa": ["El principito"],
                      "eng": ["Regulus, vel, Pueri soli sapiunt"]}
    german = by_language["ger"]["manifestations"][0]
    assert german["isbn"] == ["9780156013864"] and german["isbnAsGiven"] == ["015601386X"]
    assert german["publisher"] == ["Harcourt"] and german["published"] == ["[2001]"]
    agents = {a["id"]: a for a in doc["agents"]}
    author = agents[doc["creator"][0]]
    assert author["name"] == "Saint-Exupéry, Antoine de" and author["dates"] == {"born": "1900", "died": "1944"}
    assert author["roles"] == {"authorOf": [doc["id"]]}
    translators = {agents[a]["name"] for a in by_language["ger"]["contributor"]}
    assert translators == {"Leitgeb, Josef", "Leitgeb, Grete"}
    assert doc["classification"]["ddc"] == ["843/.912"]


def test_an_isbn_in_any_form_gives_the_same_bundle(client):
    answers = [client.get("/works", params={"isbn": isbn}) for isbn in ("0-15-601386-X", "9780156013864",
                                                                         "978 0 15 601386 4")]
    assert all(r.status_code == 200 and r.headers["content-type"] == "application/ld+json" for r in answers)
    assert len({r.content for r in answers}) == 1 and len({r.headers["etag"] for r in answers}) == 1
    direct = client.get(answers[0].headers["content-location"])
    assert direct.content == answers[0].content and direct.headers["etag"] == answers[0].headers["etag"]
    # every edition of the work leads to the same bundle
    assert {client.get("/works", params={"isbn": i}).content for i in PETIT_PRINCE.values()} == {direct.content}


def test_etag_and_304(client):
    path = client.get("/works", params={"isbn": "0393049973"}).headers["content-location"]
    r = client.get(path)
    assert r.headers["etag"].startswith("\"") and ".b" in r.headers["etag"] and r.headers["last-modified"]
    again = client.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == r.headers["etag"]
    assert client.get(path, headers={"If-None-Match": 'W/"stale"'}).status_code == 200
    assert client.get(path, headers={"If-Modified-Since": r.headers["last-modified"]}).status_code == 304


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["instance"]
    return body


def test_unknown_malformed_and_deleted_are_problems(client):
    _problem(client.get("/work/0000000000/bundle"), 404)
    agent = client.get("/works", params={"isbn": "0393049973"}).json()["agents"][0]["id"]
    _problem(client.get("/work/" + agent.rsplit("/", 1)[1] + "/bundle"), 404)  # an agent's id is no work's
    _problem(client.get("/works", params={"isbn": "0393049974"}), 400)  # a wrong check digit
    _problem(client.get("/works", params={"isbn": "12345"}), 400)
    _problem(client.get("/works", params={"isbn": "9780000000002"}), 404)  # valid, nobody has it
    _problem(client.get("/works", params={"isbn": "0393049973", "title": "heroin"}), 400)
    gone = _problem(client.get("/works", params={"isbn": "1-55899-491-2"}), 410)  # its only edition deleted
    assert gone["manifestations"] == [f"{client.app.state.base}/manifestation/DLC-00030568"]


def test_a_deleted_work_is_gone(tmp_path):
    base = "http://example.org"
    path = tmp_path / "store"
    ingest([str(TRANSLATIONS)], Settings(store=path, base=base, workers=1))
    with TestClient(create_app(path, base, query_workers=1, refresh=0)) as c:
        work = c.get("/works", params={"isbn": "0156013924"}).json()["id"]
    # a work withdrawn in the well keeps its IRI as a tombstone, as a deleted manifestation does
    Store(path, base).update(f'INSERT DATA {{ <{work}> a <https://www.w3.org/ns/activitystreams#Tombstone> ; '
                             f'<https://www.w3.org/ns/activitystreams#deleted> "2026-01-01T00:00:00Z" }}',
                             changed=[work])
    with TestClient(create_app(path, base, query_workers=1, refresh=0)) as c:
        assert _problem(c.get(_path(work)), 410)["deleted"] == "2026-01-01T00:00:00Z"


# the shape -------------------------------------------------------------------------------

def test_the_shape_passes_every_real_bundle_and_fails_one_without_its_title(client, works):
    shapes = rdflib.Graph().parse(SHAPE, format="turtle")
    for work in works:
        graph = _graph(client.get(_path(work)).json())
        conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes)
        assert conforms, (work, text)
    graph = _graph(client.get("/works", params={"isbn": "015601386X"}).json())
    work = next(graph.subjects(rdflib.RDF.type, rdflib.URIRef(T.C_WORK)))
    graph.remove((work, rdflib.URIRef(T.W_PREFERRED_TITLE), None))
    conforms, report, _ = pyshacl.validate(graph, shacl_graph=shapes)
    assert not conforms
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    failed = {(report.value(r, sh.focusNode), report.value(r, sh.sourceShape)) for r in report.subjects(
        rdflib.RDF.type, sh.ValidationResult)}
    assert failed == {(work, rdflib.URIRef("https://w3id.org/metadatabronn/shapes/work-bundle#Work-title"))}


# the same store, the same bytes ------------------------------------------------------------------

def test_keys_come_in_one_order_and_lists_sorted(client, works):
    def check(node):
        if isinstance(node, list):
            if all(isinstance(v, str) for v in node):
                assert node == sorted(node)
            elif all(isinstance(v, dict) and "id" in v for v in node):
                assert [v["id"] for v in node] == sorted(v["id"] for v in node)
            for v in node:
                check(v)
        elif isinstance(node, dict):
            keys = [k for k in node if not k.startswith("@")]
            assert keys == sorted(keys, key=ORDER.index), keys
            for v in node.values():
                check(v)

    for work in works:
        check(client.get(_path(work)).json())


def test_a_real_server_gives_the_same_bundle_and_a_client_reads_it_with_the_published_context(store, port,
                                                                                              client):
    path = client.get("/works", params={"isbn": PETIT_PRINCE["ger"]}).headers["content-location"]
    with server(store, port) as (base, _):
        first = HTTP.get(base + path, timeout=60)
        assert first.status_code == 200 and first.headers["content-type"] == "application/ld+json"
        assert first.json()["@context"] == f"{base}/context/work.jsonld"
        # a JSON-LD client fetches the context from the well itself
        remote = rdflib.Graph().parse(data=first.text, format="json-ld", base=base)
        by_isbn = HTTP.get(f"{base}/works", params={"isbn": "978-0-15-601386-4"}, timeout=60)
        assert by_isbn.content == first.content
        assert HTTP.head(base + path, timeout=60).headers["etag"] == first.headers["etag"]
        spec = HTTP.get(f"{base}/openapi.json", timeout=60).json()
        assert {"/work/{id}/bundle", "/context/work.jsonld", "/works"} <= set(spec["paths"])
        assert "isbn" in {p["name"] for p in spec["paths"]["/works"]["get"]["parameters"]}
    assert remote.isomorphic(_graph(first.json()))
    local = client.get(path).content.replace(b"http://testserver/context/", f"{base}/context/".encode())
    assert local == first.content  # another process, the same store: the same bytes
