"""The SPARQL cookbook (docs/cookbook.md): every query gives the rows written under it on the demo
store, and the query page offers exactly these queries."""

from __future__ import annotations

import re

import pytest

from metadatabronn.pipeline import Settings, ingest
from metadatabronn.store import Store
from metadatabronn.web import page

from .conftest import ROOT

COOKBOOK = ROOT / "docs" / "cookbook.md"
DEMO = [ROOT / "data" / "sample.mrc", ROOT / "data" / "fennica-sample.marcxml"]
BASE = "http://localhost:8000"

_EXPECT = re.compile(r"^(?:Expected on the demo store|With `(?P<old>.+?)` changed to `(?P<new>.+?)`): (?P<what>.+)$",
                     re.MULTILINE)
_ALL = re.compile(r"(\d+) rows?\.")
_FIRST = re.compile(r"(\d+) rows, the first (\d+):")
_AMONG = re.compile(r"at least (\d+) rows?, among them:")
_APPROX = re.compile(r"(\d+) rows, counts within 5 % .*:")


def _sections():
    return page.cookbook_sections(COOKBOOK.read_text(encoding="utf-8"))


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _expectations(section: str):
    """(old, new, what, columns, rows) for each expectation of a cookbook section."""
    found = list(_EXPECT.finditer(section))
    for i, m in enumerate(found):
        tail = section[m.end():found[i + 1].start() if i + 1 < len(found) else len(section)]
        lines = [line for line in tail.strip().splitlines() if line.startswith("|")]
        columns = _cells(lines[0]) if lines else []
        rows = [_cells(line) for line in lines[2:]]
        yield m.group("old"), m.group("new"), m.group("what"), columns, rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("cookbook") / "store"
    ingest([str(p) for p in DEMO], Settings(store=path, base=BASE, workers=1))
    store = Store(path, read_only=True)
    yield store
    store.close()


def _run(store: Store, query: str) -> tuple[list[str], list[list[str]]]:
    solutions = store.query(query)
    names = [v.value for v in solutions.variables]
    rows = [["" if s[n] is None else s[n].value.replace(store.base, "{base}") for n in names] for s in solutions]
    return names, rows


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _close(expected: list[str], actual: list[str]) -> bool:
    for e, a in zip(expected, actual, strict=True):
        x, y = _number(e), _number(a)
        if x is None or y is None:
            if e != a:
                return False
        elif abs(x - y) > 0.05 * max(x, 1):
            return False
    return True


def test_the_cookbook_has_fifteen_queries_or_more_each_with_its_rows():
    sections = _sections()
    assert len(sections) >= 15
    labels = [example.label for example, _ in sections]
    assert len(set(labels)) == len(labels)
    for example, section in sections:
        assert list(_expectations(section)), f"{example.label}: no expected rows"
        assert example.note, example.label
    for needed in ("Works by a creator", "All editions and translations of a work", "A manifestation by ISBN",
                   "Translations from Norwegian", "Works without a subject", "Records changed since a date",
                   "Manifestations lacking an extent", "Agents with most works", "Expressions per language"):
        assert needed in labels


def test_the_cookbook_lists_the_prefixes_the_page_adds():
    text = COOKBOOK.read_text(encoding="utf-8")
    block = re.search(r"```text\n(PREFIX .*?)```", text, re.DOTALL).group(1)
    assert block == page.prefix_block()


def test_the_query_page_offers_the_cookbook():
    assert [(e.label, e.note, e.body) for e in page.EXAMPLES] == [
        (e.label, e.note, e.body) for e, _ in _sections()]


@pytest.mark.parametrize("example,section", _sections(), ids=lambda v: v.label if isinstance(v, page.Example) else "")
def test_cookbook_query_gives_its_rows(demo, example, section):
    for old, new, what, columns, expected in _expectations(section):
        query = example.query if old is None else example.query.replace(old, new)
        assert old is None or old in example.query, (example.label, old)
        names, rows = _run(demo, query)
        if expected or columns:
            assert columns == names, example.label
        if m := _ALL.fullmatch(what):
            assert rows == expected and len(rows) == int(m.group(1)), (example.label, rows)
        elif m := _FIRST.fullmatch(what):
            assert len(rows) == int(m.group(1)), (example.label, len(rows))
            assert rows[:int(m.group(2))] == expected, (example.label, rows[:int(m.group(2))])
        elif m := _AMONG.fullmatch(what):
            assert len(rows) >= int(m.group(1)) and len(expected) == int(m.group(1)), example.label
            missing = [r for r in expected if r not in rows]
            assert not missing, (example.label, missing, rows)
        elif m := _APPROX.fullmatch(what):
            assert len(rows) == int(m.group(1)) == len(expected), (example.label, rows)
            for row in expected:
                assert any(_close(row, r) for r in rows), (example.label, row, rows)
        else:
            pytest.fail(f"{example.label}: cannot read the expectation {what!r}")
