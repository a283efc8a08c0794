"""What a person sees in a browser: headless Chromium (Debian's, driven by Playwright) on a real
server over the demo store. The home page's chart, a search that leads to a Work page (its
editions table and timeline), a translation found under its original's work, on to a
Manifestation and an Agent page, an error page, and a query run on the query page. Each page's screenshot is written to tests/artifacts/screenshots/;
``python tools/screenshots.py`` copies them to docs/screenshots/ for the README.

Every wait is on a condition in the page, with a generous limit, never on the clock: a busy
2-core machine makes pages slow, not wrong.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .test_readme import demo_workdir
from .netports import free_port as _free_port
from .stopping import stop

ROOT = Path(__file__).parent.parent
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Any host but this one fails to resolve: the pages must work with no network at all.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
WAIT_MS = 60_000  # for a DOM condition; a page on an idle machine takes well under a second
VIEWPORT = {"width": 1200, "height": 860}


def _chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if not path:
        pytest.skip("chromium is not installed (make browser installs Debian's on a Debian machine)")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``metadatabronn serve`` on a free port over the demo store, as make demo serves it."""
    _chromium()
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    store = demo_workdir(tmp_path_factory) / "var" / "demo-store"
    port = _free_port()
    address = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("browser-server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "metadatabronn", "serve", "--store", str(store),
                                 "--host", "127.0.0.1", "--port", str(port),
                                 # a busy machine may keep the query workers from answering within
                                 # the default second; the page is what is tested, not the wait
                                 "--query-wait", "60"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server stopped ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{address}/health", timeout=10) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer at {address}/health:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield address
    finally:
        stop(proc, output=log.read_text)


@pytest.fixture(scope="module")
def browser_context(server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=_chromium(), headless=True, args=FLAGS,
            viewport=VIEWPORT, locale="en-GB", timeout=WAIT_MS)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context, server):
    """A fresh tab that records every request it makes: all must go to the server."""
    tab = browser_context.new_page()
    asked: list[str] = []
    tab.on("request", lambda request: asked.append(request.url))
    yield tab
    tab.close()
    elsewhere = [u for u in asked if not u.startswith((server, "data:", "about:"))]
    assert not elsewhere, f"the page asked for something outside the server: {elsewhere[:5]}"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=False)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    size = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert size == (VIEWPORT["width"], VIEWPORT["height"]) and path.stat().st_size > 5_000


def _no_internals(text: str) -> None:
    """What a reader sees holds no data-model internals: no element numbers, keys or camelCase."""
    assert "clusterKey" not in text and "mb:key" not in text
    assert not re.search(r"\brda[weam]:P\d{5}\b", text)
    assert not re.search(r"\b(has|is)[A-Z][a-z]+[A-Z]\w*", text), "camelCase property label"


def _texts(page, selector: str) -> list[str]:
    """The text shown by each match; SVG elements have no rendered text of their own, only content."""
    found = page.locator(selector)
    texts = found.all_text_contents() if selector.startswith("svg") else found.all_inner_texts()
    return [t.strip() for t in texts]


def test_home_page_shows_counts_and_a_languages_chart(page, server):
    response = page.goto(f"{server}/")
    assert response.status == 200
    page.locator("svg.languages").wait_for(state="visible")
    assert page.locator("h1").inner_text().strip()
    counts = page.locator("dl.counts").inner_text()
    assert re.search(r"Manifestations\s+524", counts), counts
    bars = page.locator("svg.languages g.bar")
    assert bars.count() >= 5
    labels = _texts(page, "svg.languages .bar-label")
    assert labels[0] == "English" and "Finnish" in labels  # labels, not codes or IRIs
    assert page.locator("form.search").first.is_visible()
    _shot(page, "home")


def test_search_leads_to_the_work_page_with_its_editions(page, server):
    page.goto(f"{server}/")
    form = page.locator("header form.search")
    form.locator("select[name=by]").select_option("title")
    form.locator("input[name=q]").fill("Petit prince")
    form.locator("button[type=submit]").click()
    page.locator("ol.results a", has_text="Petit prince").first.click()
    page.locator("table.editions").first.wait_for(state="visible")
    assert "/work/" in page.url
    assert page.locator("h1").inner_text().strip() == "Petit prince"
    assert "Saint-Exupéry, Antoine de" in page.locator("ul.creators").inner_text()
    assert re.search(r"\b4 editions in 4 languages\b", page.locator("p.counts").inner_text())
    # one section a language, under its name; one table row an edition
    assert sorted(_texts(page, "section.language > h3")) == ["English", "French", "German", "Spanish"]
    titles = _texts(page, "table.editions td.title")
    assert sorted(titles) == sorted(["Le petit prince", "Der kleine Prinz", "El principito",
                                     "Regulus, vel, Pueri soli sapiunt"])
    assert all(re.fullmatch(r"\d{4}", y) for y in _texts(page, "table.editions td.year"))
    assert "9780156013987" in " ".join(_texts(page, "table.editions td.isbn"))
    timeline = page.locator("svg.timeline")
    assert timeline.is_visible() and timeline.locator("circle.edition").count() == 4
    _no_internals(page.locator("main").inner_text())
    _shot(page, "work")


def test_a_translation_is_found_under_its_original_work(page, server):
    """Runeberg's Fänrik Ståls sägner: searching for the Finnish title leads to the Swedish work,
    whose page lists the translation's editions, newest first, each on the timeline."""
    page.goto(f"{server}/")
    form = page.locator("header form.search")
    form.locator("select[name=by]").select_option("title")
    form.locator("input[name=q]").fill("Vänrikki Stoolin tarinat")
    form.locator("button[type=submit]").click()
    page.locator("ol.results a", has_text="Fänrik Ståls sägner").first.click()
    page.locator("table.editions").first.wait_for(state="visible")
    assert page.locator("h1").inner_text().strip() == "Fänrik Ståls sägner"
    assert "Runeberg, Johan Ludvig" in page.locator("ul.creators").inner_text()
    editions = int(re.search(r"(\d+) editions?", page.locator("p.counts").inner_text()).group(1))
    assert editions >= 28  # the 28 records without a 240 among them
    assert "Finnish" in _texts(page, "section.language > h3")
    assert all(t.startswith("Vänrikki Stoolin tarinat") for t in _texts(page, "table.editions td.title"))
    years = [int(y) for y in _texts(page, "table.editions td.year")]
    assert len(years) == editions and years == sorted(years, reverse=True)
    assert page.locator("svg.timeline circle.edition").count() == editions
    _no_internals(page.locator("main").inner_text())
    _shot(page, "work-translation")


def _work_page(page, server) -> None:
    page.goto(f"{server}/works?title=Petit+prince", wait_until="domcontentloaded")
    page.locator("ol.results a", has_text="Petit prince").first.click()
    page.locator("table.editions").first.wait_for(state="visible")


def test_manifestation_page_reads_like_a_catalogue_record(page, server):
    _work_page(page, server)
    page.locator("table.editions td.title a", has_text="Le petit prince").click()
    page.locator("dl.description").wait_for(state="visible")
    assert "/manifestation/" in page.url
    assert page.locator("h1").inner_text().strip() == "Le petit prince"
    isbd = page.locator("p.isbd").inner_text()
    assert "Le petit prince / Antoine de Saint-Exupéry" in isbd and "— San Diego : Harcourt" in isbd
    up = page.locator("ul.up")
    assert up.locator("a[href^='/work/']").inner_text().strip() == "Petit prince"
    assert "French" in up.locator("a[href^='/expression/']").inner_text()
    terms = dict(zip(_texts(page, "dl.description > dt"), _texts(page, "dl.description > dd")))
    assert terms["Mode of issuance"] == "single unit"  # a label, not the code 1001
    assert terms["Carrier type"] == "volume"
    assert "85 p." in terms["Extent of manifestation"]
    _no_internals(page.locator("main").inner_text())
    _shot(page, "manifestation")
    page.locator("details.marc summary").click()
    marc = page.locator("pre.marc")
    marc.wait_for(state="visible")
    assert "=245  13$aLe petit prince" in marc.inner_text()


def test_agent_page_lists_works_by_role(page, server):
    page.goto(f"{server}/")
    form = page.locator("header form.search")
    form.locator("select[name=by]").select_option("creator")
    form.locator("input[name=q]").fill("Shakespeare")
    form.locator("button[type=submit]").click()
    page.locator("ol.results a", has_text="King Lear").first.click()
    page.locator("table.editions").first.wait_for(state="visible")
    page.locator("ul.creators a", has_text="Shakespeare, William, 1564-1616").click()
    page.locator("section.roles").wait_for(state="visible")
    assert "/agent/" in page.url
    assert page.locator("h1").inner_text().startswith("Shakespeare, William")
    assert "author" in _texts(page, "section.role > h3")
    works = _texts(page, "section.role ul.works a")
    assert {"King Lear", "As you like it", "King Richard III"} <= set(works)
    _no_internals(page.locator("main").inner_text())
    _shot(page, "agent")


def test_error_page_is_a_page_for_a_person(page, server):
    response = page.goto(f"{server}/work/no-such-work")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    page.locator("section.error h1").wait_for(state="visible")
    assert page.locator("section.error h1").inner_text().strip() == "Not found"
    assert "no-such-work" in page.locator("section.error").inner_text()
    assert page.locator("header form.search").is_visible()  # somewhere to go from here
    assert "problem+json" not in page.content() and not page.content().lstrip().startswith("{")
    _shot(page, "error")


def test_a_cookbook_query_gives_rows_on_the_query_page(page, server):
    page.goto(f"{server}/query")
    select = page.locator("select#example")
    select.wait_for(state="visible")
    page.locator(".yasqe .CodeMirror").first.wait_for(state="visible")  # the editor has started
    labels = _texts(page, "select#example option")
    wanted = next((i for i, label in enumerate(labels) if re.search(r"translation", label, re.I)), 0)
    select.select_option(index=wanted)
    page.locator("#run-example").click()
    # rows, or whatever the results pane says instead (an error is shown there, not raised)
    page.wait_for_function(
        "() => document.querySelectorAll('.yasr table tbody td:not(.dataTables_empty)').length > 0"
        " || document.querySelector('.yasr .errorResult, .yasr td.dataTables_empty')")
    rows = page.locator(".yasr table tbody tr")
    cells = " ".join(_texts(page, ".yasr table tbody td"))
    assert rows.count() >= 1 and cells.strip() and not page.locator(".yasr td.dataTables_empty").count(), \
        page.locator(".yasr").inner_text()[:2000]
    _shot(page, "query")
