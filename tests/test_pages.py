"""The catalogue pages as a reader sees them: a real store of the golden records and the Fennica
sample (one golden record then deleted), served by the app in-process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from lxml import html as lhtml

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.web.app import create_app
from metadatabronn.web.catalogue import labels, routes

from .conftest import DATA, ROOT, delete_golden

BASE = "http://pages.test"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pages") / "store"
    ingest([str(DATA / "golden" / "golden.mrc"), str(ROOT / "data" / "fennica-sample.marcxml")],
           Settings(store=path, base=BASE, workers=1))
    delete_golden(path, BASE)
    return path


@pytest.fixture(scope="module")
def client(store):
    with TestClient(create_app(store, BASE, query_workers=1, refresh=0)) as c:
        yield c


@pytest.fixture(scope="module")
def reader(store, client):  # opened beside the served snapshot, read-only
    return Store(store, BASE, read_only=True)


def page(client, path: str, lang: str | None = None):
    headers = dict(HTML, **({"Accept-Language": lang} if lang else {}))
    r = client.get(path, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (path, r.text[:300])
    return lhtml.fromstring(r.text), r


def local(iri: str) -> str:
    return iri[len(BASE):]


def work_of(reader: Store, control: str) -> str:
    return reader.values(f"{BASE}/manifestation/{control}", T.M_WORK)[0]


def live_manifestations(reader: Store, work: str) -> set[str]:
    found = set()
    for m in reader.linking(T.M_WORK, work):
        if "https://www.w3.org/ns/activitystreams#Tombstone" not in reader.values(m, T.RDF_TYPE):
            found.add(local(m))
    return found


def test_work_page_lists_every_edition_newest_first_with_counts(client, reader):
    # Runeberg's Vänrikki Stoolin tarinat: many Finnish editions, under the Swedish original's work
    work = work_of(reader, "000742957")
    doc, _ = page(client, local(work))
    assert doc.findtext(".//h1") == "Fänrik Ståls sägner"
    assert "Runeberg, Johan Ludvig" in doc.find(".//ul[@class='creators']").text_content()
    assert "(author)" in doc.find(".//ul[@class='creators']").text_content()
    rows = doc.findall(".//table[@class='editions']/tbody/tr")
    links = {r.find(".//td[@class='title']/a").get("href") for r in rows}
    assert links == live_manifestations(reader, work) and len(rows) == len(links) > 10
    years = [int(r.findtext("td[@class='year']")) for r in rows]
    assert years == sorted(years, reverse=True)
    assert doc.findtext(".//p[@class='counts']") == f"{len(rows)} editions in 1 language"
    assert "Finnish" in [h.text for h in doc.findall(".//section[@class='language']/h3")]
    assert "Translation of" in doc.find(".//section[@class='expressions']").text_content()


def test_timeline_is_well_formed_svg_with_one_mark_per_edition(client, reader):
    work = work_of(reader, "000742957")
    r = client.get(local(work), headers=HTML)
    svg_text = re.search(r"<svg class=\"timeline\".*?</svg>", r.text, re.S).group(0)
    svg = etree.fromstring(svg_text.encode())  # raises unless well-formed XML
    marks = svg.findall(f"{SVG}circle[@class='edition']")
    editions = lhtml.fromstring(r.text).findall(".//table[@class='editions']/tbody/tr")
    assert len(marks) == len(editions) > 10
    assert all(m.findtext(f"{SVG}title") for m in marks)  # each mark says which edition it is


def test_translators_and_contributors_under_their_expression(client, reader):
    work = work_of(reader, "DLC-00005030")  # 700 $e tr.
    doc, _ = page(client, local(work))
    contributors = doc.find(".//div[@class='expression']/ul[@class='contributors']").text_content()
    assert "Safford, Mary J." in contributors and "(translator)" in contributors


def test_manifestation_page_reads_as_isbd_with_links_up_and_marc(client, reader):
    doc, _ = page(client, "/manifestation/DLC-00031871")
    assert doc.findtext(".//p[@class='isbd']") == ("Heroin and other poems / Charlie Smith. — 1st ed. — New York : "
                                                   "Norton, c2000. — 95 p. ; 22 cm. — ISBN 9780393049978")
    assert doc.find(".//ul[@class='up']//a[@class='work']").get("href") == local(work_of(reader, "DLC-00031871"))
    assert doc.find(".//ul[@class='creators']").text_content() == "Smith, Charlie, 1947- (author)"
    assert doc.find(".//ul[@class='up']//a[@class='expression']").text_content() == "Text · English"
    description = doc.find(".//dl[@class='description']")
    terms = dict(zip([d.text_content() for d in description.findall("dt")],
                     [d.text_content() for d in description.findall("dd")]))
    assert terms["Mode of issuance"] == "single unit" and terms["Carrier type"] == "volume"
    assert terms["Extent of manifestation"] == "95 p."
    assert "=245  10$aHeroin and other poems /$cCharlie Smith." in doc.findtext(".//pre[@class='marc']")
    hrefs = {a.get("href") for a in doc.findall(".//p[@class='marc-links']/a")}
    assert hrefs == {"?format=marcxml", "?format=marc"}
    assert client.get("/manifestation/DLC-00031871?format=marcxml").headers["content-type"].startswith(
        "application/marcxml+xml")


def test_labels_in_english_or_bokmaal_by_accept_language(client):
    for lang, title, mode in (("en", "Title proper", "single unit"), ("nb-NO,nb;q=0.9", "Hovedtittel",
                                                                        "enkeltstående enhet"),
                              ("nn", "Hovedtittel", "enkeltstående enhet"), ("de, en;q=0.5", "Title proper",
                                                                            "single unit")):
        doc, r = page(client, "/manifestation/DLC-00031871", lang)
        terms = [d.text_content() for d in doc.findall(".//dl[@class='description']/dt")]
        assert title in terms and mode in doc.find(".//dl[@class='description']").text_content(), lang
        assert "Accept-Language" in r.headers["vary"]
    doc, _ = page(client, "/manifestation/DLC-00031871", "nb")
    assert doc.get("lang") == "nb"
    assert "engelsk" in doc.find(".//a[@class='expression']").text_content()


def test_choose_language():
    assert labels.choose("nb-NO,en;q=0.5") == "nb" and labels.choose("no") == "nb"
    assert labels.choose("de, nn;q=0.8, en;q=0.7") == "nb" and labels.choose("en-GB, nb;q=0.9") == "en"
    assert labels.choose(None) == "en" and labels.choose("fr") == "en" and labels.choose("nb;q=0, en") == "en"


def test_no_internal_keys_or_camel_case_on_any_page(client, reader):
    work = work_of(reader, "DLC-00031871")
    expression = reader.values(f"{BASE}/manifestation/DLC-00031871", T.M_EXPRESSION)[0]
    agent = reader.values(work, T.W_AUTHOR)[0]
    concept = next(v for v in reader.values(work_of(reader, "DLC-00006378"), T.W_SUBJECT) if v.startswith(BASE))
    for path in (local(work), local(expression), "/manifestation/DLC-00031871", local(agent), local(concept)):
        doc, r = page(client, path)
        assert "clusterKey" not in r.text and "work|" not in r.text and "expression|" not in r.text, path
        # (The MARC view's 005 is the time of the load: "…100123.0" at one minute past ten.)
        text = re.sub(r"=005  [0-9.]+", "", doc.text_content()).replace("00031871", "")
        assert "carriedMarc" not in r.text and "1001" not in text, path
        for heading in doc.xpath("//dt|//th|//h2|//h3|//h4"):
            assert not re.search(r"[a-z][A-Z]", heading.text_content()), (path, heading.text_content())


def test_subjects_and_classification_apart(client, reader):
    doc, _ = page(client, local(work_of(reader, "DLC-00006378")))  # Robinson Crusoe: 050, 082 and 6XX
    classes = [li.text_content() for li in doc.findall(".//ul[@class='classification']/li")]
    subjects = doc.find(".//ul[@class='subjects']").text_content()
    assert sorted(classes) == ["LCC PR3403", "LCC PZ3.D362"]
    for c in classes:
        assert c.split(" ", 1)[1] not in subjects
    assert len(doc.findall(".//ul[@class='subjects']/li")) == 4
    doc, _ = page(client, local(work_of(reader, "DLC-00031871")))  # 082 and 050, no subject heading
    assert sorted(li.text_content() for li in doc.findall(".//ul[@class='classification']/li")) == [
        "DDC 811/.54", "LCC PS3569.M5163"]
    assert doc.find(".//ul[@class='subjects']") is None


def test_agent_page_gives_names_dates_and_works_by_role(client, reader):
    # The work's records name its author in two forms: the one with dates.
    agents = reader.values(work_of(reader, "000742957"), T.W_AUTHOR)
    pages = [page(client, local(a))[0] for a in agents]
    doc = next(d for d in pages if "1804" in d.find(".//dl[@class='agent']").text_content())
    facts = doc.find(".//dl[@class='agent']").text_content()
    assert "Runeberg, Johan Ludvig" in facts and "1804" in facts and "1877" in facts
    roles = {s.findtext("h3"): [a.text_content() for a in s.findall(".//a")]
             for s in doc.findall(".//section[@class='role']")}
    assert roles["author"] == ["Fänrik Ståls sägner"]


def test_expression_and_concept_pages_are_readable(client, reader):
    m = f"{BASE}/manifestation/DLC-00031871"
    doc, _ = page(client, local(reader.values(m, T.M_EXPRESSION)[0]))
    assert "Manifestations (1)" in doc.text_content()
    assert "/manifestation/DLC-00031871" in [a.get("href") for a in doc.findall(".//table[@class='editions']//a")]
    concept = next(v for v in reader.values(work_of(reader, "DLC-00006378"), T.W_SUBJECT) if v.startswith(BASE))
    doc, _ = page(client, local(concept))
    assert "Robinson Crusoe" in doc.find(".//section[@class='works']").text_content()


def test_errors_are_pages_for_browsers_and_problem_json_for_others(client):
    html = client.get("/work/0000000000", headers=HTML)
    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")
    assert lhtml.fromstring(html.text).findtext(".//h1") == "Not found"
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        r = client.get("/work/0000000000", headers=headers)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert r.json() == {"type": "about:blank", "title": "Not found", "status": 404,
                            "detail": f"no entity {BASE}/work/0000000000 in the well", "instance": "/work/0000000000"}
    gone = client.get("/manifestation/DLC-00030568", headers=HTML)
    assert gone.status_code == 410 and "Deleted" in gone.text
    assert client.get("/manifestation/DLC-00030568").json()["deleted"].startswith("20")
    bad = client.get("/manifestations?isbn=123", headers=HTML)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")


def test_search_box_leads_to_the_look_ups_as_html(client):
    r = client.get("/search", params={"q": "heroin", "by": "title"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/works?title=heroin"
    results = client.get("/search", params={"q": "heroin"}, headers=HTML)
    assert results.headers["content-type"].startswith("text/html")
    items = lhtml.fromstring(results.text).findall(".//ol[@class='results']/li/a")
    assert [a.text for a in items] == ["Heroin and other poems"]
    assert client.get("/works", params={"title": "heroin"}).json()["items"][0]["label"] == "Heroin and other poems"
    isbn = client.get("/search", params={"q": "0-393-04997-3"}, headers=HTML, follow_redirects=False)
    assert isbn.headers["location"] == "/manifestations?isbn=0-393-04997-3"
    by_isbn = lhtml.fromstring(client.get(isbn.headers["location"], headers=HTML).text)
    assert by_isbn.find(".//ol[@class='results']/li/a").get("href") == "/manifestation/DLC-00031871"
    for path in ("/", "/manifestation/DLC-00031871", "/agent/0000"):
        assert 'form class="search" action="/search"' in client.get(path, headers=HTML).text


def test_home_page_counts_chart_and_languages_counted_once(client, monkeypatch):
    calls = []
    real = routes.language_counts

    def counting(store, limit):
        calls.append(limit)
        return real(store, limit)

    routes._languages.clear()
    monkeypatch.setattr(routes, "language_counts", counting)
    doc, _ = page(client, "/")
    health = client.get("/health").json()["counts"]
    shown = {d.getparent().get("class").split()[1]: int(d.text.replace(",", "")) for d in doc.findall(".//dl[@class='counts']//dd")}
    assert shown == {k: health[k] for k in ("works", "expressions", "manifestations", "agents")}
    svg_text = re.search(r"<svg class=\"languages\".*?</svg>", client.get("/", headers=HTML).text, re.S).group(0)
    bars = etree.fromstring(svg_text.encode()).findall(f"{SVG}g[@class='bar']")
    assert 1 < len(bars) <= routes.TOP_LANGUAGES
    values = [int(b.findtext(f"{SVG}text[@class='bar-value']").replace(",", "")) for b in bars]
    assert values == sorted(values, reverse=True)
    assert calls == [routes.TOP_LANGUAGES]  # once for the snapshot, not per request
    assert doc.find(".//a[@href='/query']") is not None
    assert client.get("/static/catalogue.css").headers["content-type"].startswith("text/css")


def test_items_under_their_manifestation_and_item_page(client):
    doc, _ = page(client, "/manifestation/DLC-00002458")  # 852: held by the Prints and Photographs Division
    (item,) = doc.findall(".//ul[@class='items']/li/a")
    assert "Prints and Photographs Division" in item.text
    doc, _ = page(client, item.get("href"), "nb")
    assert doc.find(".//ul[@class='up']/li/a").get("href") == "/manifestation/DLC-00002458"
    assert "Plassering av eksemplar" in [d.text for d in doc.findall(".//dl[@class='details']/dt")]


def test_home_page_answers_head_and_speaks_bokmaal(client):
    assert client.head("/", headers=HTML).status_code == 200
    doc, _ = page(client, "/", "nb")
    assert doc.findtext(".//h1") == "Katalogen" and "Manifestasjoner" in doc.find(".//dl[@class='counts']").text_content()
    assert "finsk" in doc.find(".//svg[@class='languages']").text_content()
