"""The query page: a SPARQL editor with syntax highlighting and results as a table, at ``/`` and
``/query``.

The editor is YASGUI, bundled under ``static/yasgui/`` (``tools/build_yasgui.sh`` fetches the
pinned release; ``static/yasgui/VERSION`` says which), so the page makes no request outside
its own server: it sends queries to ``/sparql`` of the origin it was loaded from, by POST.

``install(app)`` is the one call an app needs: it includes ``router`` (the page) and mounts
the bundled files at ``/static`` with Starlette's ``StaticFiles`` (media types from the file
suffix; ``ETag`` and ``Last-Modified`` for caching).

The page takes two query-string parameters: ``example=N`` loads example N (counted from 1)
into the editor, and ``run=1`` also runs it, so that a link can show a query's results.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static"
ENDPOINT = "/sparql"

PREFIXES: dict[str, str] = {
    "rdac": "http://rdaregistry.info/Elements/c/",
    "rdaw": "http://rdaregistry.info/Elements/w/",
    "rdae": "http://rdaregistry.info/Elements/e/",
    "rdam": "http://rdaregistry.info/Elements/m/",
    "rdai": "http://rdaregistry.info/Elements/i/",
    "rdaa": "http://rdaregistry.info/Elements/a/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "mb": "https://w3id.org/metadatabronn/ns#",
}


@dataclass(frozen=True)
class Example:
    label: str
    note: str
    body: str  # the query without its PREFIX lines

    @property
    def query(self) -> str:
        return prefix_block() + "\n" + self.body


def prefix_block() -> str:
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


# Record graphs and the shared entity cores both hold some of the same triples, and the
# endpoint queries their union: the examples say DISTINCT so that no row shows twice.
EXAMPLES: tuple[Example, ...] = (
    Example(
        "All translations of a work",
        "Every expression of a work that has more than one, with its language and the titles of the "
        "manifestations that embody it. A translation also names the expression it translates: "
        "?e rdae:P20141 ?original (is translation of).",
        """\
# Expressions of the same work (rdae:P20231 work expressed) in their languages (rdae:P20006).
# A translation also says which expression it translates: ?e rdae:P20141 ?original.
SELECT DISTINCT ?workTitle ?language ?title ?e ?original
WHERE {
  ?e rdae:P20231 ?work ;
     rdae:P20006 ?lang .
  FILTER EXISTS { ?other rdae:P20231 ?work . FILTER(?other != ?e) }
  BIND(REPLACE(STR(?lang), "^.*/", "") AS ?language)
  OPTIONAL { ?work rdaw:P10223 ?workTitle }
  OPTIONAL { ?m rdam:P30139 ?e ;
                rdam:P30156 ?title }
  OPTIONAL { ?e rdae:P20141 ?original }
}
ORDER BY ?workTitle ?lang
LIMIT 100
"""),
    Example(
        "Manifestations lacking a carrier type",
        "Manifestations with no carrier type (rdam:P30001), with their title proper.",
        """\
# Manifestations (rdac:C10007) with no carrier type (rdam:P30001), and their title proper.
SELECT DISTINCT ?m ?title
WHERE {
  ?m a rdac:C10007 .
  FILTER NOT EXISTS { ?m rdam:P30001 ?c }
  OPTIONAL { ?m rdam:P30156 ?title }
}
ORDER BY ?title
LIMIT 100
"""),
    Example(
        "Works by an agent",
        "Works whose author or creator has a name containing \"austen\": change the name to look for "
        "another agent.",
        """\
# Works whose author (rdaw:P10061) or creator (rdaw:P10065) is named like "austen"
# (a person's name rdaa:P50117, a corporate body's rdaa:P50041), with the preferred title.
SELECT DISTINCT ?name ?work ?workTitle
WHERE {
  ?work rdaw:P10061|rdaw:P10065 ?agent .
  ?agent rdaa:P50117|rdaa:P50041 ?name .
  FILTER(CONTAINS(LCASE(?name), "austen"))
  OPTIONAL { ?work rdaw:P10223 ?workTitle }
}
ORDER BY ?name ?workTitle
LIMIT 100
"""),
    Example(
        "Editions of a work by year",
        "The manifestations of one work (here the one whose preferred title contains \"robinson crusoe\") "
        "in order of their date of publication, with the edition statement where there is one.",
        """\
# Manifestations of one work (rdam:P30135 work manifested) with their date of publication
# (rdam:P30011, as transcribed: "[c1900]", "1998") and edition statement (rdam:P30107).
SELECT DISTINCT ?date ?title ?edition ?m
WHERE {
  ?work rdaw:P10223 ?workTitle .
  FILTER(CONTAINS(LCASE(?workTitle), "robinson crusoe"))
  ?m rdam:P30135 ?work ;
     rdam:P30011 ?date .
  OPTIONAL { ?m rdam:P30156 ?title }
  OPTIONAL { ?m rdam:P30107 ?edition }
}
ORDER BY ?date
LIMIT 100
"""),
)

# What the editor holds before a cataloguer has written anything.
STARTER = """\
# What the store holds: entities by class. Pick an example above, or write your own query
# (Ctrl-Enter runs it).
SELECT ?class (COUNT(DISTINCT ?entity) AS ?entities)
WHERE { ?entity a ?class }
GROUP BY ?class
ORDER BY DESC(?entities)
LIMIT 100
"""

_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>metadatabronn — SPARQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{static}/yasgui/yasgui.min.css">
<link rel="stylesheet" href="{static}/query.css">
</head>
<body>
<header>
<h1>metadatabronn — SPARQL</h1>
<p>Queries go to the SPARQL endpoint <code id="endpoint">{endpoint}</code> of this server
(SPARQL 1.1 protocol; results as JSON, XML, CSV or TSV). The rest of the API:
<a href="/docs">/docs</a>.</p>
</header>
<div id="examples" class="examples" role="group" aria-label="Example queries">
<label for="example">Example</label>
<select id="example">
{options}
</select>
<button id="run-example" type="button">Run example</button>
<p id="example-note" class="note">{first_note}</p>
</div>
<div id="yasgui"></div>
<noscript><p>The editor needs JavaScript. Queries can still be sent to {endpoint} directly.</p></noscript>
<script type="application/json" id="page-config">{config}</script>
<script src="{static}/yasgui/yasgui.min.js"></script>
<script src="{static}/query.js"></script>
</body>
</html>
"""


def _json_for_script(value) -> str:
    # In a <script> element only "</" (which may close it) and "<!--" (which changes how the
    # rest is parsed) are unsafe; other "<" stay as written, so the IRIs read plainly.
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


@lru_cache(maxsize=1)
def render() -> str:
    """The page's HTML: the same for every request, so it is built once."""
    options = "\n".join(
        f'<option value="{i}"{" selected" if i == 1 else ""}>{html.escape(ex.label)}</option>'
        for i, ex in enumerate(EXAMPLES, start=1))
    config = {
        "endpoint": ENDPOINT,
        "prefixes": PREFIXES,
        "starter": prefix_block() + "\n" + STARTER,
        "examples": [{"label": ex.label, "note": ex.note, "query": ex.query} for ex in EXAMPLES],
    }
    return _PAGE.format(static=STATIC_URL, endpoint=html.escape(ENDPOINT), options=options,
                        first_note=html.escape(EXAMPLES[0].note), config=_json_for_script(config))


router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/query", response_class=HTMLResponse, include_in_schema=False)
def query_page() -> HTMLResponse:
    return HTMLResponse(render())


def mount_static(app: FastAPI) -> None:
    """Serve the bundled files at ``/static``; a second call is a no-op."""
    if any(isinstance(r, Mount) and r.path == STATIC_URL for r in app.router.routes):
        return
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")


def install(app: FastAPI) -> None:
    """Add the query page and its static files to ``app``."""
    app.include_router(router)
    mount_static(app)
