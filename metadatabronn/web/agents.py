"""``/agents?name=``: agents by any of their names, preferred or variant, from the name index
(:mod:`..store.names`): every word, in any order, case, accents and Nordic letters folded
(``Bjornson``, ``bjørnson`` and ``BJØRNSON`` alike); the last word may be typed in part.

JSON by default (``Accept`` or ``format``), an HTML list for a browser. Each hit gives the agent's
IRI, kind, preferred name, the name that matched when that was another (a variant), and its
identifiers. An agent merged into another, or deleted, is left out (its survivor is found)."""

from __future__ import annotations

import hashlib
import sqlite3
from email.utils import format_datetime
from functools import lru_cache

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..errors import ExportError
from ..mapping import terms as T
from ..store import names
from ..store.feed import DCT_IS_REPLACED_BY
from .catalogue import labels as L
from .catalogue import results
from .catalogue.agent import identifier_html
from .catalogue.errors import wants_html
from .catalogue.layout import e, page
from .entities import _STATES, TOMBSTONE, _format, _local, _parse_time, _send
from .lookups import _LIMIT, _OFFSET, _within, page_json, searching
from .negotiate import GRAPH_TYPES
from .oai_authority import marc_record
from .recordgraphs import _render_record
from .records import iso2709, marcxml
from .problems import Problem
from .sparql import is_iri

router = APIRouter()
KINDS = ("person", "corporate", "family")
_KIND_LABELS = {"person": "Person", "corporate": "Corporate body", "family": "Family"}
MAX_SKIPPED = 1_000  # merged or deleted agents passed over for one page before it is given as it is


def identifiers(store, iri: str) -> list[str]:
    """An agent's identifiers: its authority number, ``(scheme)value`` identifiers, and the
    URIs it is the same as; each kind sorted, so that any store (a server gives values in its own
    order) lists them alike."""
    return list(dict.fromkeys(sorted(store.values(iri, T.MB_AUTHORITY_ID)) + sorted(store.values(iri, T.MB_IDENTIFIER))
                              + sorted(store.values(iri, T.OWL_SAMEAS))))


def _gone(store, iri: str) -> bool:
    return bool(store.values(iri, DCT_IS_REPLACED_BY)) or TOMBSTONE in store.values(iri, T.RDF_TYPE)


@router.get("/agents", tags=["Look-ups"],
            summary="Agents (persons, corporate bodies, families) by name: preferred and variant names, every "
                    "word in any order, case, accents and Nordic letters folded (ø as o, æ as ae, å as a); the "
                    "last word may be typed in part. A name that is the text asked exactly comes first, then "
                    "preferred names, then by relevance")
async def agents(request: Request, name: str = Query(min_length=1, description="words of a name"),
                 kind: str | None = Query(default=None, description="person, corporate or family"),
                 limit: int = _LIMIT, offset: int = _OFFSET,
                 format: str | None = Query(default=None, description="json or html; else the Accept header")):
    _within(offset)
    if kind is not None and kind not in KINDS:
        raise Problem(400, f"kind must be one of {', '.join(KINDS)}, not {kind!r}", parameter="kind")
    if format is not None and format not in ("json", "html"):
        raise Problem(406, f"agents come as json or html, not {format!r}")
    store = request.app.state.store

    def run(conn: sqlite3.Connection) -> list[names.Hit]:
        found, skipped = [], 0
        for hit in names.iter_hits(conn, name, kind=kind or KINDS):  # works and concepts have names too
            if _gone(store, hit.entity):
                skipped += 1
                if skipped > MAX_SKIPPED:
                    break
                continue
            found.append(hit)
            if len(found) > offset + limit:
                break
        return found[offset:]

    hits = searching(request, run)
    base = request.app.state.base
    items = [{**h.as_dict(), "path": _local(h.entity, base), "identifiers": identifiers(store, h.entity)}
             for h in hits[:limit]]
    more = len(hits) > limit
    if format == "html" or (format is None and wants_html(request)):
        return _html(request, items, limit, offset, more)
    return page_json(request, items, limit, offset, more, headers={"Vary": "Accept"})


def _html(request: Request, items: list[dict], limit: int, offset: int, more: bool) -> HTMLResponse:
    lang = L.choose(request.headers.get("accept-language"))
    params = dict(request.query_params)
    heading = f'{L.t("Results", lang)}: {L.t("Agents", lang).lower()} “{params.get("name", "")}”'
    rows = []
    for item in items:
        matched = (f' <span class="matched">({e(L.t("as", lang))} {e(item["matched"])})</span>'
                   if item["matched"] else "")
        ids = " ".join(identifier_html(i) for i in item["identifiers"])
        rows.append(f'<li><a href="{e(item["path"])}">{e(item["name"])}</a>'
                    f' <span class="kind">{e(L.t(_KIND_LABELS.get(item["kind"], item["kind"]), lang))}</span>'
                    f'{matched}{" " + ids if ids else ""}</li>')

    body = f'<h1>{e(heading)}</h1>{results.listing(request, rows, limit, offset, more, lang, "results agents")}'
    html = page(heading, body, lang, page_class="results", query=params.get("name", ""), by="name")
    return HTMLResponse(html, headers={"Vary": "Accept, Accept-Language"})


# the authority record graph -----------------------------------------------------------------

_AUTHORITY_TYPES = {**GRAPH_TYPES, "marcxml": "application/marcxml+xml", "marc": "application/marc"}


@router.get("/authority/{id}", tags=["Entities"], summary="An authority record: its graph, or its MARC 21 record",
            description="The named graph `{base}/authority/{id}` one MARC 21 authority record was loaded into "
                        "(its provenance, the statements it makes of its entity, the nomens of its access points) "
                        "in `turtle` (default), `jsonld`, `ntriples`, `rdfxml`; or the authority record itself as "
                        "export writes it, `marcxml` or `marc` (ISO 2709). By Accept or `format`.",
            response_class=Response,
            responses={200: {"content": {t.split(";")[0]: {} for t in _AUTHORITY_TYPES.values()}},
                       404: {"description": "no such authority record"},
                       406: {"description": "a format authority records do not come in"}})
async def authority(request: Request, id: str, format: str | None = Query(default=None)):
    state = request.app.state
    graph = f"{state.base}/authority/{id}"
    fmt = _format(request, format, _AUTHORITY_TYPES, "authority records")
    if not is_iri(graph):
        raise Problem(404, f"no authority record {graph} in the well")
    if fmt in ("marcxml", "marc"):
        return _send(request, _authority_marc(state.key, graph, fmt))
    return _send(request, _render_record(state.key, graph, fmt, str(request.base_url)))


@lru_cache(maxsize=2_000)
def _authority_marc(app_key: int, graph: str, fmt: str) -> tuple[bytes, str, str, str]:
    store = _STATES[app_key].store
    record = marc_record(store, graph)
    if record is None:
        raise Problem(404, f"no authority record {graph} in the well")
    if fmt == "marc":
        try:
            body = iso2709(record)
        except ExportError as exc:
            raise Problem(406, f"{graph} cannot be written as ISO 2709: {exc.reason}; ask for MARCXML",
                          alternate="marcxml") from exc
    else:
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + marcxml(record) + b"\n"
    etag = 'W/"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    stamp = store.generated(graph)
    modified = _parse_time(stamp) if stamp else _STATES[app_key].started
    return body, _AUTHORITY_TYPES[fmt], etag, format_datetime(modified, usegmt=True)


__all__ = ["router", "identifiers"]
