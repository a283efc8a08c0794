"""Where the loans chart is shown: ``GET /statistics/work/{id}.svg`` (the chart alone) and the
"Loans" section of a work's HTML page.

Public figures, as every anonymous answer gives them: lines per language of expression, small
cells hidden. Lines per edition are ISBN-level figures, so ``by=edition`` is answered only to a
credential whose organisation publishes at least one of the work's editions: its own editions
each get a line, every other edition is summed into one ("Other editions", which anyone can work
out from the public total anyway), and small cells are hidden as in public output.

The work page is kept in a cache for the life of the served snapshot, but deliveries come
without changing the store: so the cached page holds a mark where the section goes, and the
section is drawn from the loans as they are at each request (:func:`fill`).
"""

from __future__ import annotations

import hashlib
import logging

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from ..errors import MetadatabronnError
from ..store.feed import DCT_IS_REPLACED_BY
from ..store.loans import path_of
from ..store.loans.editions import prefix_of
from . import statistics_chart as C
from .catalogue import labels as L
from .catalogue.layout import Context
from .catalogue.read import edition, name
from .problems import Problem
from .statistics_access import Edition, is_publisher, needs_credential, optional_principal
from .statistics_output import period_range
from .statistics_state import state_of

log = logging.getLogger(__name__)
router = APIRouter(tags=["Loan statistics"])

MARK = "<!--loans-->"  # where a work page's "Loans" section goes, once drawn
SPAN = 24  # months a chart shows when no range is asked for: the last two years with loans
MOST_MONTHS = 240
SVG_TYPE = "image/svg+xml"


def window(periods: list[str], frm: str | None, to: str | None) -> tuple[str, str] | None:
    """The months to draw: as asked, a bound not given taken from the other (``SPAN`` months)
    or from the months that have loans (the last ``SPAN`` of them); None when there are none."""
    if frm and to:
        return frm, to
    if frm:
        return frm, C.shift(frm, SPAN - 1)
    if to:
        return C.shift(to, -(SPAN - 1)), to
    if not periods:
        return None
    last = max(periods)
    return max(min(periods), C.shift(last, -(SPAN - 1))), last


def _editions(loans, work: str, frm: str, to: str) -> dict[str, dict]:
    """The work's editions as the edition map holds them (ISBN, manifestation, registrant prefix,
    publisher statement, title, year), by ISBN and by manifestation: the keys ``work_series``
    may split by."""
    found: dict[str, dict] = {}
    for row in loans.work_totals(work, frm, to).get("editions") or ():
        for key in (row.get("isbn"), row.get("manifestation")):
            if key is not None:
                found.setdefault(str(key), row)
    return found


def _whose(row: dict) -> Edition:
    statements = row.get("publisher") or ()
    isbn = str(row.get("isbn") or "")
    return Edition(isbn, row.get("prefix") or (prefix_of(isbn) if isbn else None),
                   (statements,) if isinstance(statements, str) else tuple(statements))


def _label(ctx: Context, by: str | None, editions: dict[str, dict]):
    """How a line is named: a language by its name, an edition by its title, year and ISBN."""
    def language(key: str) -> str:
        return L.language(key or "und", ctx.lang)  # an expression without a language

    def named_edition(key: str) -> str:
        row = editions.get(str(key)) or {}
        isbn = row.get("isbn") or (key if not str(key).startswith("http") else None)
        title, year = row.get("title"), row.get("year")
        if not title and str(key).startswith("http"):
            ed = edition(ctx, key)
            title, year = (ed.title, ed.year) if ed is not None else (None, None)
        return " · ".join(str(p) for p in (title, year, f"ISBN {isbn}" if isbn else None) if p)
    return named_edition if by == "edition" else language


def chart(request: Request, work: str, by: str, frm: str | None, to: str | None, lang: str) -> C.Chart | None:
    """The chart of ``work``'s loans as the caller may see them; None when it has none in
    the months asked for (or, with no months asked for, none at all)."""
    state = state_of(request.app)
    org = _publisher(request) if by == "edition" else None
    loans = state.current(request.app)
    first, last = period_range(frm, to)
    rows = loans.work_series(work, first, last, by=by)
    span = window([r["period"] for r in rows if r.get("loans")], frm, to)
    if span is None:
        return None
    if len(C.months(*span)) > MOST_MONTHS:
        raise Problem(422, f"at most {MOST_MONTHS} months can be drawn in one chart", parameter="from")
    ctx = Context(request.app.state.store, request.app.state.base, lang)
    editions = _editions(loans, work, first, last) if by == "edition" else {}
    named, other = _label(ctx, by, editions), C.t("Other languages", lang)
    if org is not None:
        rows, other = _own(request, editions, org, rows), C.t("Other editions", lang)
    label = (lambda key: other if key == OTHER else named(key))
    return C.arrange(rows, *span, min_cell=state.min_cell, by=by, label=label, other=other,
                     total=C.t("All editions", lang))


OTHER = "~other"  # the key of every edition not the caller's, summed


def _publisher(request: Request) -> str:
    """The caller's organisation, which must be given for figures per edition."""
    principal = optional_principal(request)
    if principal is None:  # no credential at all: 401, as the JSON answers say
        raise needs_credential("loans per edition")
    if not principal.org:
        raise Problem(403, "loans per edition are ISBN-level figures, shown only to the edition's publisher "
                      "(a credential naming its organisation); by=language is public")
    return principal.org


def _own(request: Request, editions: dict[str, dict], org: str, rows: list[dict]) -> list[dict]:
    """Edition rows as publisher ``org`` may see them: its own editions by key, all others as
    one."""
    publishers = state_of(request.app).publishers
    own = {key for key, row in editions.items() if is_publisher(org, _whose(row), publishers)}
    if not own:
        raise Problem(403, f"{org} publishes none of this work's editions the well knows: loans per edition are "
                      "shown only to an edition's publisher; by=language is public")
    return [row if row.get("key") in own else {**row, "key": OTHER} for row in rows]


@router.get("/statistics/work/{id}.svg", summary="A work's loans per month as an SVG chart",
            response_class=Response, responses={200: {"content": {SVG_TYPE: {}}}})
def work_chart(request: Request, id: str, by: str = Query(default="language", pattern="^(language|edition)$",
                                                        description="one line per language, or per edition "
                                                                    "(the edition's publisher only)"),
               from_: str | None = Query(default=None, alias="from", description="first month, YYYY-MM"),
               to: str | None = Query(default=None, description="last month, YYYY-MM"),
               lang: str | None = Query(default=None, pattern="^(en|nb)$",
                                        description="the labels' language (else by Accept-Language)")):
    """Loans of the work in all its editions and translations, month by month, a line per
    language (or per edition, for its publisher): public figures, months under the small-count
    threshold left out as gaps. The last 24 months with loans unless ``from``/``to`` say."""
    state = request.app.state
    work = f"{state.base}/work/{id}"
    successor = next(iter(state.store.values(work, DCT_IS_REPLACED_BY)), None)
    if successor is not None and successor.startswith(state.base + "/work/"):
        target = request.url.replace(path=f"/statistics/work/{successor.rsplit('/', 1)[-1]}.svg")
        return RedirectResponse(str(target), status_code=308)
    if not state.store.values(work, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"):
        raise Problem(404, f"no work {work} in the well")
    period_range(from_, to)
    lang = lang or L.choose(request.headers.get("accept-language"))
    drawn = chart(request, work, by, from_, to, lang)
    if drawn is None:  # no loans: a chart that says so, over the months asked for if any
        span = window([], from_, to)
        drawn = C.Chart(C.months(*span) if span else [], [], by, state_of(request.app).min_cell)
    title = _title(request, work, by, lang)
    body = C.svg(drawn, title, lang, ident=f"loans-{id}", standalone=True).encode("utf-8")
    etag = 'W/"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Language, Authorization, X-API-Key"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=SVG_TYPE, headers=headers)


def _title(request: Request, work: str, by: str | None, lang: str) -> str:
    ctx = Context(request.app.state.store, request.app.state.base, lang)
    split = C.t("by edition" if by == "edition" else "by language", lang)
    return f"{name(ctx, work)}: {C.t('Loans per month', lang).lower()} {split}"


def fill(request: Request, iri: str, rendered: tuple[bytes, str, str, str]) -> tuple[bytes, str, str, str]:
    """A page as rendered, with its "Loans" section drawn in where its mark is (nothing for
    a work without loans, a server whose store has no loans file, or loans another process
    holds). The page's tag then covers the section too."""
    body, media, etag, modified = rendered
    mark = MARK.encode()
    if mark not in body:
        return rendered
    section = ""
    well = getattr(request.app.state, "well", None)
    if well is not None and path_of(well.store_path).exists():  # a well without loans gets no file made
        lang = L.choose(request.headers.get("accept-language"))
        try:
            drawn = chart(request, iri, "language", None, None, lang)
            if drawn is not None:
                link = f"/statistics/work/{iri.rsplit('/', 1)[-1]}.svg"
                section = C.section(drawn, _title(request, iri, "language", lang), lang, link)
        except (Problem, MetadatabronnError) as exc:  # loans another process holds: the page without them
            log.warning("a work page without its loans: %s", getattr(exc, "detail", exc))
    body = body.replace(mark, section.encode("utf-8"))
    if section:
        etag = 'W/"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    return body, media, etag, modified
