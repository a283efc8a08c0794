"""The query page: served with its bundled editor, offline, with example queries that answer
on real data; and, where Chromium is installed, the page driven in a headless browser against
a running server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from metadatabronn.web import page

from .netports import free_port as _free_port
from .stopping import stop

ROOT = Path(__file__).parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden" / "golden.mrc"
ARTIFACTS = ROOT / "tests" / "artifacts"
YASGUI = page.STATIC_DIR / "yasgui"

PREFIX_LINES = [
    "PREFIX rdac: <http://rdaregistry.info/Elements/c/>",
    "PREFIX rdaw: <http://rdaregistry.info/Elements/w/>",
    "PREFIX rdae: <http://rdaregistry.info/Elements/e/>",
    "PREFIX rdam: <http://rdaregistry.info/Elements/m/>",
    "PREFIX rdai: <http://rdaregistry.info/Elements/i/>",
    "PREFIX rdaa: <http://rdaregistry.info/Elements/a/>",
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
    "PREFIX mb: <https://w3id.org/metadatabronn/ns#>",
]

class _Refs(HTMLParser):
    """The URLs a page makes the browser load, and its embedded JSON configuration."""

    def __init__(self):
        super().__init__()
        self.loads: list[str] = []
        self.config_text: str | None = None
        self._in_config = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "audio", "video", "source") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href"):
            self.loads.append(a["href"])
        self._in_config = tag == "script" and a.get("id") == "page-config"

    def handle_data(self, data):
        if self._in_config:
            self.config_text = (self.config_text or "") + data

    def handle_endtag(self, tag):
        self._in_config = False


def _refs(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    page.install(app)
    return TestClient(app)


def test_page_is_html_with_the_bundled_editor(client):
    r = client.get("/query")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>metadatabronn — SPARQL</h1>" in r.text
    assert 'href="/docs"' in r.text
    loads = _refs(r.text).loads
    assert "/static/yasgui/yasgui.min.js" in loads
    assert "/static/yasgui/yasgui.min.css" in loads
    assert "/static/query.js" in loads


def test_page_is_at_query_only(client):
    # "/" is the catalogue's home page, not this router's.
    assert client.get("/").status_code == 404
    assert [r.path for r in page.router.routes if "GET" in getattr(r, "methods", ())] == [
        "/query", page.LABELS_URL]


def test_page_loads_nothing_from_elsewhere(client):
    html = client.get("/query").text
    loads = _refs(html).loads
    assert loads
    for url in loads:
        assert not re.match(r"^(https?:)?//", url, re.IGNORECASE), url
    assert not re.search(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    # every file the page loads is there, each with a media type a browser will use
    for url in loads:
        if url.startswith("data:"):
            continue
        r = client.get(url)
        assert r.status_code == 200, url
        kind = r.headers["content-type"].split(";")[0]
        if url.endswith(".js"):
            assert kind in ("text/javascript", "application/javascript"), url
        elif url.endswith(".css"):
            assert kind == "text/css", url


def test_bundled_yasgui_is_served_whole(client):
    js = client.get("/static/yasgui/yasgui.min.js")
    css = client.get("/static/yasgui/yasgui.min.css")
    assert js.status_code == css.status_code == 200
    assert js.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert css.headers["content-type"].split(";")[0] == "text/css"
    assert len(js.content) > 500_000 and b"Yasgui" in js.content
    assert len(css.content) > 20_000 and b".yasgui" in css.content
    assert client.get("/static/no-such-file.js").status_code == 404


def test_bundle_version_is_the_pinned_one():
    version = (YASGUI / "VERSION").read_text().strip()
    assert re.fullmatch(r"4\.\d+\.\d+", version)
    script = (ROOT / "tools" / "build_yasgui.sh").read_text()
    assert f'YASGUI_VERSION="${{1:-{version}}}"' in script
    assert "MIT" in (YASGUI / "LICENSE.txt").read_text()


def test_page_presets_the_prefixes(client):
    html = client.get("/query").text
    for line in PREFIX_LINES:
        assert line in html
    config = json.loads(_refs(html).config_text)
    assert config["endpoint"] == "/sparql"
    for line in PREFIX_LINES:
        assert line in config["starter"]


def test_page_offers_the_cookbook(client):
    html = client.get("/query").text
    config = json.loads(_refs(html).config_text)
    examples = config["examples"]
    cookbook = page.cookbook_sections((ROOT / "docs" / "cookbook.md").read_text(encoding="utf-8"))
    assert len(examples) == len(cookbook) >= 15
    assert [e["query"] for e in examples] == [e.query for e in page.EXAMPLES]
    for example, (entry, _) in zip(examples, cookbook):
        assert f">{html_escape(example['label'])}</option>" in html
        assert example["label"] == entry.label and example["note"] == entry.note
        assert example["query"].endswith(entry.body)
        for line in PREFIX_LINES:
            assert line in example["query"]
    assert 'id="run-example"' in html and "Run example" in html


def test_labels_for_the_editor(client):
    html = client.get("/query").text
    config = json.loads(_refs(html).config_text)
    r = client.get(config["labels"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    labels = r.json()
    assert labels["rdaw:P10061"] == {"en": "has author agent"}
    assert labels["rdam:P30156"] == {"en": "has title proper", "nb": "har hovedtittel"}
    assert labels["rdaw:P10065"]["en"] == "has creator agent of work"
    assert labels["rdac:C10001"] == {"en": "work", "nb": "verk"}
    assert labels["schema:isbn"]["en"] == "ISBN"
    # every element an example names has its label
    named = {n for e in page.EXAMPLES for n in re.findall(r"\brda[waemic]:[PC]\d+", e.body)}
    assert named and not named - set(labels), sorted(named - set(labels))
    js = client.get("/static/query.js").text
    assert "config.labels" in js


def test_install_twice_mounts_static_once():
    app = FastAPI()
    page.install(app)
    page.mount_static(app)
    assert [getattr(r, "path", None) for r in app.router.routes].count("/static") == 1


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory):
    from metadatabronn.pipeline import Settings, ingest
    from metadatabronn.store import Store

    path = tmp_path_factory.mktemp("query-page") / "store"
    base = "http://example.org/well"
    ingest([str(GOLDEN)], Settings(store=path, base=base, workers=1))
    store = Store(path, base, read_only=True)
    yield store
    store.close()


def _rows(store, sparql: str) -> list[dict[str, str]]:
    solutions = store.query(sparql)
    names = [v.value for v in solutions.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in solutions]


def _example(label: str) -> page.Example:
    return next(e for e in page.EXAMPLES if e.label == label)


def test_examples_run_on_other_records(golden_store):
    """The cookbook's queries are tested on the demo store (test_cookbook); they are no less
    valid on another store, and the general creator element finds the golden records' Defoe."""
    for example in page.EXAMPLES:
        _rows(golden_store, example.query)
    starter = _rows(golden_store, prefix_block_and(page.STARTER))
    assert {"label": "manifestation", "entities": "22"}.items() <= next(
        r for r in starter if r["class"] == "http://rdaregistry.info/Elements/c/C10007").items()
    defoe = _rows(golden_store, _example("Works by a creator").query.replace('"runeberg"', '"defoe"'))
    assert [(r["title"], r["creator"]) for r in defoe] == [("Robinson Crusoe", "Defoe, Daniel")]


def prefix_block_and(body: str) -> str:
    return page.prefix_block() + "\n" + body


# --- in a browser --------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
    # Any host but this one fails to resolve: the page must work with no network at all.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def _serve_available() -> bool:
    try:
        r = subprocess.run([sys.executable, "-m", "metadatabronn", "serve", "--help"],
                           capture_output=True, timeout=120, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with status {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(tmp_path):
    """A ``metadatabronn serve`` on a free port, over the demo store (the cookbook's)."""
    if not _serve_available():
        pytest.skip("`python -m metadatabronn serve` is not available")
    from metadatabronn.pipeline import Settings, ingest

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "store"
    ingest([str(ROOT / "data" / "sample.mrc"), str(ROOT / "data" / "fennica-sample.marcxml")],
           Settings(store=store, base=base, workers=1))
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "metadatabronn", "serve", "--store", str(store), "--port", str(port),
             "--host", "127.0.0.1", "--base-iri", base],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        _wait_healthy(f"{base}/health", proc, log)
        yield base
    finally:
        stop(proc, output=log.read_text)


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           "--virtual-time-budget=15000", *args],
                          capture_output=True, timeout=180)


def test_example_runs_in_a_browser(server, tmp_path):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("chromium is not installed")
    number = 1 + [e.label for e in page.EXAMPLES].index("All editions and translations of a work")
    url = f"{server}/query?example={number}&run=1"

    dom = _chromium(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    text = dom.stdout.decode("utf-8", "replace")
    assert dom.returncode == 0, dom.stderr.decode("utf-8", "replace")[-2000:]
    assert 'class="yasgui' in text, "YASGUI did not start"
    cells = re.findall(r"<td\b[^>]*>(.*?)</td>", text, re.S)
    assert cells, "no result rows in the page"
    shown = " ".join(re.sub(r"<[^>]+>", " ", c) for c in cells)
    assert "Le petit prince" in shown and "Der kleine Prinz" in shown and "El principito" in shown
    assert "French" in shown and "German" in shown and "9780156014045" in shown
    labelled = re.search(r'<body[^>]*\bdata-labels="(\d+)"', text)
    assert labelled and int(labelled.group(1)) > 600, "the editor did not load the labels"

    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "query-page.png"
    png.unlink(missing_ok=True)
    shot = _chromium(chromium, tmp_path / "profile-shot", f"--screenshot={png}", "--window-size=1280,900", url)
    assert shot.returncode == 0, shot.stderr.decode("utf-8", "replace")[-2000:]
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_labels_on_hover_and_beside_completions(server):
    """What a cataloguer sees of the labels: the element's label when the pointer rests on its
    P-number, and beside each suggestion of the completion."""
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    number = 1 + [e.label for e in page.EXAMPLES].index("Works by a creator")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            tab.set_default_timeout(60_000)
            tab.goto(f"{server}/query?example={number}")
            tab.wait_for_function("() => Number(document.body.getAttribute('data-labels')) > 600")
            token = tab.locator(".CodeMirror-line span", has_text=re.compile(r"^rdaw:P10065$")).first
            token.hover()  # once the name stands still on the page: the editor lays out as it starts
            tab.wait_for_function("() => document.querySelector('.CodeMirror').title !== ''")
            assert tab.evaluate("document.querySelector('.CodeMirror').title") == "has creator agent of work"

            tab.evaluate("""() => { const cm = document.querySelector('.CodeMirror').CodeMirror;
                cm.setValue('PREFIX rdaw: <http://rdaregistry.info/Elements/w/>\\nSELECT * WHERE { ?w rdaw:P1006');
                cm.focus(); cm.setCursor({line: 1, ch: 100}); }""")
            tab.keyboard.press("Control+Space")
            tab.wait_for_selector("li.CodeMirror-hint .hint-label")
            hints = tab.evaluate("Array.from(document.querySelectorAll('li.CodeMirror-hint')).map(li => li.textContent)")
            assert "rdaw:P10061 — has author agent" in hints
            assert "rdaw:P10065 — has creator agent of work" in hints
        finally:
            browser.close()
