"""The query page: a SPARQL editor with syntax highlighting and results as a table, at ``/query``
(``/`` is the catalogue's home page), with the cookbook's queries (``docs/cookbook.md``) as examples.

The editor is YASGUI, bundled under ``static/yasgui/`` (``tools/build_yasgui.sh`` fetches the
pinned release; ``static/yasgui/VERSION`` says which), so the page makes no request outside
its own server: it sends queries to ``/sparql`` of the origin it was loaded from, by POST.

``install(app)`` is the one call an app needs: it includes ``router`` (the page) and mounts
the bundled files at ``/static`` with Starlette's ``StaticFiles`` (media types from the file
suffix; ``ETag`` and ``Last-Modified`` for caching).

The page takes two query-string parameters: ``example=N`` loads example N (counted from 1)
into the editor, and ``run=1`` also runs it, so that a link can show a query's results.

``/query/labels.json`` gives the label of every prefixed name the vocabularies declare (``rdaw:P10061``:
"has author agent", with the bokmål one where there is one): the editor shows it on hover and beside
its completions, offline like the rest of the page.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
# An installed copy carries the cookbook inside the package (as it does vocabularies/), a checkout
# has it in docs/.
_HERE = Path(__file__).resolve()
COOKBOOK = next((p for p in (_HERE.parents[1] / "docs" / "cookbook.md", _HERE.parents[2] / "docs" / "cookbook.md")
                 if p.is_file()), _HERE.parents[2] / "docs" / "cookbook.md")
LABELS_URL = "/query/labels.json"
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
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "http://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "as": "https://www.w3.org/ns/activitystreams#",
    "iso639-2": "http://id.loc.gov/vocabulary/iso639-2/",
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


_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)
_QUERY = re.compile(r"^```sparql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def cookbook_sections(text: str) -> list[tuple[Example, str]]:
    """The cookbook's queries: each ``##`` section with a ``sparql`` block is one, its heading the
    label and its first paragraph the note; with the section's whole text (its expected rows)."""
    out = []
    heads = list(_SECTION.finditer(text))
    for i, head in enumerate(heads):
        section = text[head.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        query = _QUERY.search(section)
        if query is None:
            continue
        paragraph = section[:query.start()].strip().split("\n\n", 1)[0]
        note = " ".join(paragraph.split()).replace("`", "").replace("*", "")
        out.append((Example(head.group(1).strip(), note, query.group(1)), section))
    return out


def _cookbook() -> tuple[Example, ...]:
    try:
        text = COOKBOOK.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("the query page offers no examples: cannot read the cookbook (%s)", exc)
        return ()
    return tuple(example for example, _ in cookbook_sections(text))


# The examples are the cookbook's queries (docs/cookbook.md), which a test runs on the demo store
# with the rows they must give: the page, the docs and the test cannot drift apart.
EXAMPLES: tuple[Example, ...] = _cookbook()

# What the editor holds before a cataloguer has written anything.
STARTER = """\
# What the store holds: entities by class, with the class's label. Pick an example above, or
# write your own query (Ctrl-Enter runs it); rest the pointer on a prefixed name for its label.
SELECT ?class (SAMPLE(?name) AS ?label) (COUNT(DISTINCT ?entity) AS ?entities)
WHERE {
  ?entity a ?class .
  OPTIONAL { ?class rdfs:label ?name . FILTER(LANGMATCHES(LANG(?name), "en")) }
}
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
        "labels": LABELS_URL,
        "prefixes": PREFIXES,
        "starter": prefix_block() + "\n" + STARTER,
        "examples": [{"label": ex.label, "note": ex.note, "query": ex.query} for ex in EXAMPLES],
    }
    return _PAGE.format(static=STATIC_URL, endpoint=html.escape(ENDPOINT), options=options,
                        first_note=html.escape(EXAMPLES[0].note if EXAMPLES else ""),
                        config=_json_for_script(config))


@lru_cache(maxsize=1)
def labels_json() -> bytes:
    """Prefixed name -> {"en": label, "nb": label} for every term of the vocabularies that one of
    the page's prefixes abbreviates."""
    from ..store import labels

    out: dict[str, dict[str, str]] = {}
    namespaces = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))
    for term, predicate, obj in labels.statements():
        if predicate != labels.RDFS_LABEL or obj.language not in ("en", "nb"):
            continue
        for prefix, ns in namespaces:
            local = term[len(ns):]
            if term.startswith(ns) and local and "/" not in local and "#" not in local:
                out.setdefault(f"{prefix}:{local}", {}).setdefault(obj.language, obj.value)
                break
    return json.dumps(out, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


router = APIRouter()


@router.get("/query", response_class=HTMLResponse, include_in_schema=False)
def query_page() -> HTMLResponse:
    return HTMLResponse(render())


@router.get(LABELS_URL, include_in_schema=False)
def query_labels() -> Response:
    # The labels change only with the vocabularies, that is with a new release of the server.
    return Response(labels_json(), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=3600"})


def mount_static(app: FastAPI) -> None:
    """Serve the bundled files at ``/static``; a second call is a no-op."""
    if any(isinstance(r, Mount) and r.path == STATIC_URL for r in app.router.routes):
        return
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")


def install(app: FastAPI) -> None:
    """Add the query page and its static files to ``app``."""
    app.include_router(router)
    mount_static(app)
