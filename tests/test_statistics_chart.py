"""The loans chart (issue 18, pictures): the drawing from series built here, then the chart of a
real work (Le petit prince's editions in four languages, from data/sample.mrc) with loans loaded
through the core, as ``GET /statistics/work/{id}.svg`` and as the work page's "Loans" section,
and a screenshot of that page in headless Chromium.

The figures are synthetic: no real loan file is public."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from lxml import html as lhtml

from metadatabronn.mapping import terms as T
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.loans import sync
from metadatabronn.store import Store
from metadatabronn.store.loans import Loans, LoanRow
from metadatabronn.web import statistics_chart as C
from metadatabronn.web.apikeys import add_key
from metadatabronn.web.app import create_app
from metadatabronn.web.auth import AuthSettings, authenticator

from .conftest import ROOT, plain_env
from .stopping import stop

SVG = "{http://www.w3.org/2000/svg}"
BASE = "http://chart.test"
HTML = {"Accept": "text/html"}
MONTHS = C.months("2024-01", "2025-12")
# Le petit prince (one work): French, German, Spanish and Latin-in-English-catalogue editions
FRENCH, FRENCH_2, GERMAN, SPANISH, LATIN = ("9780152164157", "9780156013987", "9780156013864", "9780156013925",
                                            "9780156014045")
UNKNOWN = "9780306406157"  # an ISBN no record of the sample has
CUBA = "DLC-00028133"  # a work with ISBNs and no loans
COSTA_RICA = ("DLC-00029548", "9781575723792")  # lent only in the last test


def series(**lines: list[int]) -> list[dict]:
    """Rows as ``work_series`` gives them: one per month and key."""
    return [{"period": p, "key": key, "loans": n} for key, counts in lines.items() for p, n in zip(MONTHS, counts)]


def parse(svg_text: str):
    return etree.fromstring(svg_text.encode())  # raises unless well-formed XML


# --- the drawing ---------------------------------------------------------------------------------

def test_months_and_shift_cross_years():
    assert C.months("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert C.shift("2025-01", -1) == "2024-12" and C.shift("2024-02", 23) == "2026-01"
    assert len(MONTHS) == 24


def test_arrange_counts_missing_months_as_zero_and_hides_small_cells():
    rows = [r for r in series(nob=[100] * 24, eng=[3] * 12 + [40] * 12) if r["period"] != "2024-05" or
            r["key"] != "nob"]
    chart = C.arrange(rows, "2024-01", "2025-12", min_cell=5, by="language", label=str.upper)
    assert [name for name, _ in chart.lines] == ["NOB", "ENG"]  # most loans first
    nob, eng = (values for _, values in chart.lines)
    assert nob[4] == 0 and nob[5] == 100  # a month without a row: no loans
    assert eng[:12] == [None] * 12 and eng[12:] == [40] * 12  # 3 < 5: hidden, never drawn
    assert chart.suppressed and not chart.empty


def test_arrange_sums_the_smallest_lines_and_hides_after_summing():
    lines = {f"k{i}": [100 - i] * 24 for i in range(C.MOST_LINES)}
    lines.update(small1=[2] * 24, small2=[3] * 24)  # each hidden alone; 5 together, shown
    chart = C.arrange(series(**lines), "2024-01", "2025-12", min_cell=5, by="edition", other="Other editions")
    names = [name for name, _ in chart.lines]
    assert len(names) == C.MOST_LINES + 1 and names[-1] == "Other editions"
    assert chart.lines[-1][1] == [5] * 24 and not chart.suppressed
    unsplit = C.arrange(series(a=[7] * 24, b=[1] * 24), "2024-01", "2025-12", total="All editions")
    assert unsplit.lines == [("All editions", [8] * 24)]


def test_svg_is_accessible_well_formed_and_breaks_lines_at_hidden_months():
    counts = [120] * 24
    small = [9] * 10 + [2] * 4 + [9] * 10  # a run of hidden months in the middle
    chart = C.arrange(series(nob=counts, swe=small), "2024-01", "2025-12", min_cell=5, by="language",
                      label={"nob": "Norwegian Bokmål", "swe": "Swedish"}.get)
    svg = parse(C.svg(chart, "Sofies verden: loans per month by language", "en", ident="w1"))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "w1-title w1-desc"
    assert svg.findtext(f"{SVG}title") == "Sofies verden: loans per month by language"
    desc = svg.findtext(f"{SVG}desc")
    assert "Jan 2024 to Dec 2025" in desc and "Norwegian Bokmål, Swedish" in desc
    assert "fewer than 5 loans are not shown" in desc
    paths = svg.findall(f".//{SVG}g[@class='line']/{SVG}path")
    assert len(paths) == 2
    assert paths[0].get("d").count("M") == 1 and paths[1].get("d").count("M") == 2  # one gap: two runs
    assert paths[0].get("stroke") != paths[1].get("stroke")  # told apart by colour ...
    assert paths[0].get("stroke-dasharray") != paths[1].get("stroke-dasharray")  # ... and by dash
    points = svg.findall(f".//{SVG}g[@class='line']/{SVG}circle")
    assert len(points) == 24 + 20  # a mark per shown month, none for a hidden one
    assert points[0].findtext(f"{SVG}title") == "Norwegian Bokmål · Jan 2024: 120 loans"
    legend = [t.text for t in svg.iter(f"{SVG}text") if t.get("class", "").startswith("legend")]
    assert legend == ["Norwegian Bokmål", "Swedish", "Gaps: fewer than 5 loans in the month, not shown"]
    months = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "month"]
    years = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "year"]
    assert months[0] == "Jan" and "Jan" in months[1:] and len(months) <= 12 and years == ["2024", "2025"]
    ticks = [int(t.text.replace(",", "")) for t in svg.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks[0] == 0 and ticks[-1] >= 120 and ticks == sorted(ticks)


def test_svg_reads_in_bokmal_and_says_nothing_of_gaps_when_there_are_none():
    chart = C.arrange(series(nob=[1500] * 24), "2024-01", "2025-12", by="language", label=lambda k: "norsk bokmål")
    text = C.svg(chart, "Sofies verden", "nb")
    svg = parse(text)
    assert "Utlån per måned, jan. 2024 til des. 2025, én linje per språk" in svg.findtext(f"{SVG}desc")
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "month"][:2] == ["jan.", "mars"]
    assert "1\u00a0500 utlån" in text  # Norwegian digit grouping in the tooltips
    assert "Hull" not in text and "Gaps" not in text


def test_table_fallback_and_section():
    chart = C.arrange(series(nob=[50] * 23 + [3]), "2024-01", "2025-12", by="language", label=lambda k: "Norwegian")
    doc = lhtml.fromstring(C.section(chart, "A work", "en", link="/statistics/work/w1.svg"))
    assert doc.findtext("h2") == "Loans"
    table = doc.find(".//details/table[@class='loans']")
    assert [th.text_content() for th in table.findall("thead/tr/th")] == ["Month", "Norwegian"]
    rows = table.findall("tbody/tr")
    assert len(rows) == 24 and rows[0].find("th/time").get("datetime") == "2024-01"
    assert rows[0].findtext("td") == "50" and rows[-1].find("td").get("class") == "suppressed"
    assert "not shown" in rows[-1].findtext("td")
    assert doc.find(".//figure/svg").get("class") == "loans-chart"
    assert C.section(C.arrange([], "2024-01", "2025-12", by="language"), "A work", "en") == ""
    # every month hidden is a few loans, not none: drawn as gaps, never as "no loans"
    hidden = C.arrange(series(nob=[2] * 24), "2024-01", "2025-12", by="language", label=lambda k: "Norwegian")
    assert not hidden.empty and "No loans" not in C.svg(hidden, "A work", "en")
    assert "Gaps: fewer than 5 loans" in C.section(hidden, "A work", "en")


# --- a real store with loans ---------------------------------------------------------------------

def deliveries() -> list[LoanRow]:
    """Two years of one system's loans of Le petit prince's editions: French lent most (two
    ISBNs of one edition), Spanish less, the Latin one (an English-language expression in the
    catalogue) little, German under the threshold every month; and an ISBN the well does not
    know."""
    rows = []
    for i, p in enumerate(MONTHS):
        rows += [LoanRow(p, FRENCH, 60 + 5 * (i % 6)), LoanRow(p, FRENCH_2, 20), LoanRow(p, SPANISH, 12 + i),
                 LoanRow(p, GERMAN, 2), LoanRow(p, LATIN, 7), LoanRow(p, UNKNOWN, 30)]
    return rows


def work_of(store: Path, control: str) -> str:
    return Store(store, BASE, read_only=True).values(f"{BASE}/manifestation/{control}", T.M_WORK)[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("chart") / "store"
    ingest([str(ROOT / "data" / "sample.mrc")], Settings(store=path, base=BASE, workers=1))
    with Loans(path) as loans:
        loans.replace("bibliofil", deliveries())
        sync(path, loans=loans)
    (path / "publishers.json").write_text('{"Norton": ["978-0-393"], "Harcourt Trade": ["978-0-15"]}')
    return path


@pytest.fixture(scope="module")
def client(store):
    with TestClient(create_app(store, BASE, query_workers=1, refresh=0)) as c:
        yield c


@pytest.fixture(scope="module")
def petit_prince(store) -> str:
    return work_of(store, "DLC-00012999")


def local(iri: str) -> str:
    return iri[len(BASE):]


def chart_of(client, work: str, query: str = "", **headers):
    r = client.get(f"/statistics{local(work)}.svg{query}", headers=headers)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("image/svg+xml")
    return parse(r.text), r


def test_the_chart_of_a_work_has_a_line_per_language_with_german_hidden(client, petit_prince):
    svg, r = chart_of(client, petit_prince, **{"Accept-Language": "en"})
    assert svg.findtext(f"{SVG}title") == "Petit prince: loans per month by language"
    assert svg.find(f"{SVG}text[@class='chart-title']").text == svg.findtext(f"{SVG}title")  # shown alone
    assert "Jan 2024 to Dec 2025" in svg.findtext(f"{SVG}desc")  # the last 24 months with loans
    lines = svg.findall(f".//{SVG}g[@class='line']")
    legend = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "legend-label"]
    assert legend == ["French", "Spanish", "English", "German"]  # most loans first
    french = [int(c.findtext(f"{SVG}title").rsplit(": ", 1)[1].split()[0]) for c in lines[0].iter(f"{SVG}circle")]
    assert french[:7] == [80, 85, 90, 95, 100, 105, 80]  # both ISBNs of the French edition
    assert not list(lines[3].iter(f"{SVG}circle")) and lines[3].find(f"{SVG}path").get("d") == ""
    assert svg.find(f".//{SVG}text[@class='legend-gap']") is not None
    assert "9780306406157" not in r.text  # the unknown ISBN is no line of any work
    again = client.get(f"/statistics{local(petit_prince)}.svg", headers={"If-None-Match": r.headers["etag"],
                                                                           "Accept-Language": "en"})
    assert again.status_code == 304


def test_the_chart_takes_a_range_and_bokmal(client, petit_prince):
    svg, _ = chart_of(client, petit_prince, "?from=2025-07&to=2025-12&lang=nb")
    assert svg.findtext(f"{SVG}title") == "Petit prince: utlån per måned etter språk"
    assert svg.findtext(f"{SVG}desc").startswith("Utlån per måned, juli 2025 til des. 2025")
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "legend-label"] == [
        "fransk", "spansk", "engelsk", "tysk"]
    assert len(svg.findall(f".//{SVG}g[@class='line']")[0].findall(f"{SVG}circle")) == 6
    assert client.get(f"/statistics{local(petit_prince)}.svg?from=2025-13").status_code == 422
    assert client.get(f"/statistics{local(petit_prince)}.svg?by=isbn").status_code == 422
    assert client.get("/statistics/work/no-such-work.svg").status_code == 404


def test_a_work_without_loans_gets_a_chart_that_says_so(client, store):
    svg, _ = chart_of(client, work_of(store, CUBA))
    assert svg.find(f".//{SVG}text[@class='empty']").text == "No loans recorded in this period"
    assert not svg.findall(f".//{SVG}g[@class='line']")


def test_lines_per_edition_only_for_the_publisher_of_an_edition(client, store, petit_prince, tmp_path):
    anonymous = client.get(f"/statistics{local(petit_prince)}.svg?by=edition")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    keys = tmp_path / "keys.json"
    harcourt, _ = add_key(keys, "harcourt-stats", "Harcourt", ["read"])
    norton, _ = add_key(keys, "norton-stats", "Norton", ["read"])
    trade, _ = add_key(keys, "harcourt-trade", "Harcourt Trade", ["read"])
    client.app.state.auth = authenticator(AuthSettings(keys_file=keys))
    try:
        r = client.get(f"/statistics{local(petit_prince)}.svg?by=edition", headers={"X-API-Key": norton})
        assert r.status_code == 403 and "Norton publishes none" in r.json()["detail"]
        svg, _ = chart_of(client, petit_prince, "?by=edition", **{"X-API-Key": harcourt, "Accept-Language": "en"})
        legend = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "legend-label"]
        # Harcourt's own editions by the publisher statement; "Harcourt, Inc." is not "Harcourt",
        # so the Latin edition's loans are summed with any other edition's, under no ISBN
        assert legend[0] == f"Le petit prince · 2001 · ISBN {FRENCH}"
        assert f"El principito · 2001 · ISBN {SPANISH}" in legend and "Other editions" in legend
        assert len(legend) == 5 and not any(LATIN in name for name in legend)
        assert svg.findtext(f"{SVG}title") == "Petit prince: loans per month by edition"
        # by the registrant prefix 978-0-15 every edition is the organisation's, the Latin one too
        svg, _ = chart_of(client, petit_prince, "?by=edition", **{"X-API-Key": trade, "Accept-Language": "en"})
        legend = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "legend-label"]
        assert f"Regulus, vel, Pueri soli sapiunt · 2001 · ISBN {LATIN}" in legend and "Other editions" not in legend
    finally:
        client.app.state.auth = None


def test_the_work_page_shows_its_loans_and_a_work_without_none(client, store, petit_prince):
    r = client.get(local(petit_prince), headers={**HTML, "Accept-Language": "en"})
    doc = lhtml.fromstring(r.text)
    section = doc.find(".//section[@class='loans']")
    assert section is not None and section.findtext("h2") == "Loans"
    assert "<!--loans-->" not in r.text
    svg = parse(re.search(r'<svg class="loans-chart".*?</svg>', r.text, re.S).group(0))
    assert svg.findtext(f"{SVG}title") == "Petit prince: loans per month by language"
    rows = section.findall(".//details/table/tbody/tr")
    assert len(rows) == 24 and section.find(".//a").get("href") == f"/statistics{local(petit_prince)}.svg"
    # the section comes before the editions, after the timeline
    assert r.text.index('class="timeline"') < r.text.index('class="loans"') < r.text.index('class="expressions"')
    other = client.get(local(work_of(store, CUBA)), headers=HTML)
    assert other.status_code == 200 and 'class="loans"' not in other.text and "<!--loans-->" not in other.text


def test_a_delivery_shows_on_the_work_page_without_a_change_of_the_store(client, store):
    work = work_of(store, COSTA_RICA[0])
    before = client.get(local(work), headers=HTML)
    assert 'class="loans"' not in before.text
    client.app.state.loans.current(client.app).replace("quria", [LoanRow(p, COSTA_RICA[1], 9) for p in MONTHS[-3:]])
    after = client.get(local(work), headers=HTML)
    assert 'class="loans"' in after.text and after.headers["etag"] != before.headers["etag"]
    assert client.get(local(work), headers={**HTML, "If-None-Match": before.headers["etag"]}).status_code == 200


# --- in a browser --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``metadatabronn serve`` on a free port over a store of its own with the same loans (the
    in-process app above holds its store's loans file)."""
    from .test_browser import _chromium, _free_port

    _chromium()
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    root = tmp_path_factory.mktemp("chart-browser")
    path = root / "store"
    ingest([str(ROOT / "data" / "sample.mrc")], Settings(store=path, base=BASE, workers=1))
    with Loans(path) as loans:
        loans.replace("bibliofil", deliveries())
        sync(path, loans=loans)
    port = _free_port()
    address = f"http://127.0.0.1:{port}"
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "metadatabronn", "serve", "--store", str(path), "--host",
                                 "127.0.0.1", "--port", str(port), "--query-wait", "60"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                # settings another test left in this process's environment are not this server's
                                env=plain_env())
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
        yield address, work_of(path, "DLC-00012999")
    finally:
        stop(proc, output=log.read_text)


def test_the_work_page_draws_the_loans_chart_in_chromium(served, tmp_path):
    """The chart as a reader sees it: drawn (a real size on the page, a line per language, the
    legend's words), its table behind a click, nothing asked of any other host; a screenshot in
    tests/artifacts/screenshots/work-loans.png. Every wait is on a condition in the page."""
    from playwright.sync_api import sync_playwright

    from .test_browser import FLAGS, VIEWPORT, WAIT_MS, _chromium, _shot

    address, work = served
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=_chromium(), headless=True, args=FLAGS,
            viewport=VIEWPORT, locale="en-GB", timeout=WAIT_MS)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        try:
            page = context.new_page()
            asked: list[str] = []
            page.on("request", lambda request: asked.append(request.url))
            assert page.goto(f"{address}{local(work)}").status == 200
            chart = page.locator("section.loans svg.loans-chart")
            chart.wait_for(state="visible")
            page.locator("section.loans").scroll_into_view_if_needed()
            box = chart.bounding_box()
            assert box["width"] > 400 and box["height"] > 200  # drawn, not collapsed
            assert page.locator("section.loans h2").inner_text().strip() == "Loans"
            assert chart.locator("g.line").count() == 4
            assert chart.locator("g.line path").first.bounding_box()["width"] > 300  # a line across the months
            legend = [t.strip() for t in chart.locator(".legend-label").all_text_contents()]
            assert legend == ["French", "Spanish", "English", "German"]
            assert "fewer than 5 loans" in chart.locator(".legend-gap").text_content()
            table = page.locator("section.loans details table.loans")
            assert not table.is_visible()
            _shot(page, "work-loans")
            page.locator("section.loans details summary").click()
            table.wait_for(state="visible")
            assert table.locator("tbody tr").count() == 24
            # the chart alone, as an image
            assert page.goto(f"{address}/statistics{local(work)}.svg").status == 200
            page.locator("svg.loans-chart").wait_for(state="visible")
            assert page.locator("svg.loans-chart g.line").count() == 4
            _shot(page, "loans-chart")
            elsewhere = [u for u in asked if not u.startswith((address, "data:", "about:"))]
            assert not elsewhere, f"the page asked for something outside the server: {elsewhere[:5]}"
        finally:
            context.close()
