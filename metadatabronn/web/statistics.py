"""Loan statistics over HTTP (issue 18): the questions, as JSON or CSV, each answer cut to what its
asker may see (:mod:`.statistics_access`); deliveries are taken by :mod:`.statistics_delivery`.

| path | who | gives |
|---|---|---|
| ``/statistics/work/{id}`` | anyone | a work's loans, by month, by language; its editions' figures only to their publisher |
| ``/statistics/expression/{id}`` | anyone | an expression's loans, by month |
| ``/statistics/isbn/{isbn}`` | the edition's publisher | an ISBN's loans, by month |
| ``/statistics/top`` | anyone | the most-lent works, by fiction × audience × borrower |
| ``/statistics/languages`` | anyone | loans per language of expression, translated or original |
| ``/statistics/creator/{id}`` | anyone | a creator's works with their loans |
| ``/statistics/unmatched`` | cataloguers (``write:work``) | ISBNs the well does not know, most loans first |
| ``/statistics/match-report`` | a system (its own), cataloguers (all) | the share of loans matched |
| ``/statistics/deliveries`` | a system (its own), cataloguers (all) | what was delivered |
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from starlette.convertors import Convertor, register_url_convertor

from ..store.loans.editions import prefix_of
from . import statistics_delivery
from .problems import Problem
from .statistics_access import (CATALOGUER_SCOPE, DELIVER_SCOPES, Edition, can_any, is_publisher, needs_credential,
                                optional_principal, suppress, suppressed_value)
from .statistics_output import answer, period_range, shown
from .statistics_state import state_of

log = logging.getLogger(__name__)
router = APIRouter(tags=["Loan statistics"])


class _NotSvg(Convertor):
    """A work id that is not the chart's (``/statistics/work/{id}.svg`` is the picture): so the
    two routes never take each other's requests, whichever is registered first."""

    regex = r"[^/]+(?<!\.svg)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("notsvg", _NotSvg())
router.add_api_route("/statistics/loans", statistics_delivery.deliver, methods=["POST"],
                     summary=statistics_delivery.SUMMARY)

_FROM = Query(None, alias="from", description="first month, YYYY-MM (inclusive; default: the first delivered)")
_TO = Query(None, description="last month, YYYY-MM (inclusive; default: the last delivered)")
_FORMAT = Query(None, description="json (default) or csv; or by Accept: text/csv")
_BY = Query(None, description="split by 'language' (anyone) or 'edition' (the publisher's own editions only)")


def _iri(request: Request, kind: str, id_: str) -> str:
    """The IRI of a work, expression or agent of the well; 404 for one it does not hold, and
    308 to the survivor's figures for one merged into another (its editions count there)."""
    from ..mapping import terms as T
    from ..store.feed import DCT_IS_REPLACED_BY

    state = request.app.state
    iri = f"{state.base}/{kind}/{id_}"
    try:
        known = "/" not in id_ and bool(id_) and bool(state.store.values(iri, T.RDF_TYPE))
    except ValueError:  # not an IRI at all
        known = False
    if not known:
        raise Problem(404, f"no {kind} {iri} in the well")
    successor = next(iter(state.store.values(iri, DCT_IS_REPLACED_BY)), None)
    if successor is not None and successor.startswith(f"{state.base}/{kind}/"):
        segment = {"agent": "creator"}.get(kind, kind)
        target = request.url.replace(path=f"/statistics/{segment}/{successor.rsplit('/', 1)[1]}")
        raise Problem(308, f"{iri} was merged into {successor}: its loans count there",
                      title="Permanent redirect", headers={"Location": str(target)}, successor=successor)
    return iri


def _isbn13(text: str) -> str:
    import isbnlib

    digits = isbnlib.canonical(text)
    if isbnlib.is_isbn10(digits):
        digits = isbnlib.to_isbn13(digits)
    if not isbnlib.is_isbn13(digits):
        raise Problem(422, f"{text!r} is not an ISBN (10 or 13 digits with a right check digit)", parameter="isbn")
    return digits


def _edition(row: dict) -> Edition:
    isbn = str(row.get("isbn") or "")
    statements = row.get("publisher") or ()
    if isinstance(statements, str):
        statements = (statements,)
    return Edition(isbn=isbn, prefix=row.get("prefix") or (prefix_of(isbn) if isbn else None),
                   statements=tuple(statements))


def _own(request: Request, principal, row: dict) -> bool:
    """Whether the asker is the publisher of the edition ``row`` describes."""
    if principal is None or not principal.org:
        return False
    return is_publisher(principal.org, _edition(row), state_of(request.app).publishers)


_EDITION_FIGURES = ("loans", "series", "periods")  # what of an edition is ISBN level


def _editions(request: Request, principal, editions: list[dict]) -> tuple[list[dict], int]:
    """A work's or expression's editions as the asker may see them: with their figures where the
    asker is the edition's publisher, without them otherwise; and how many were shown without."""
    out, hidden = [], 0
    for row in editions or ():
        if _own(request, principal, row):
            out.append({**row, "own": True})
        else:
            out.append({k: v for k, v in row.items() if k not in _EDITION_FIGURES})
            hidden += 1
    return out, hidden


def _public_total(body: dict, threshold: int) -> dict:
    value, cut = suppressed_value(body.get("loans"), threshold)
    body["loans"] = value
    if cut:
        body["suppressed"] = True
    return body


def _work_answer(request: Request, id_: str, frm, to, by, format, with_editions: bool = True):
    state = state_of(request.app)
    principal = optional_principal(request)
    frm, to = period_range(frm, to)
    iri = _iri(request, "work", id_)
    if by not in (None, "language", "edition"):
        raise Problem(422, f"by={by!r}: split by 'language' or 'edition'", parameter="by")
    loans = state.current(request.app)
    threshold = state.min_cell
    if not with_editions and by != "edition":
        # the roll-up alone: one query; the total is the sum of its months
        series = loans.work_series(iri, frm, to, by=by)
        body = _public_total({"work": iri, **shown(frm, to), "loans": sum(r["loans"] or 0 for r in series)},
                             threshold)
        series = suppress(series, threshold)
        body.update(by=by, series=series, min_cell=threshold)
        return answer(request, format, body, series, f"work-{id_}-loans")
    totals = dict(loans.work_totals(iri, frm, to))
    known = {str(e.get("isbn")): e for e in totals.get("editions") or ()}
    editions, hidden = _editions(request, principal, totals.pop("editions", []))
    body = _public_total({**totals, "work": iri, **shown(frm, to)}, threshold)
    body["languages"] = suppress(body.get("languages") or [], threshold)
    body["editions"] = editions
    if hidden:
        body["editions_without_figures"] = hidden
    if by == "edition":
        # ISBN level: each edition's line only for its publisher, and not suppressed for it
        series = [r for r in loans.work_series(iri, frm, to, by="edition")
                  if _own(request, principal, {**known.get(str(r.get("key")), {}), "isbn": str(r.get("key"))})]
    else:
        series = suppress(loans.work_series(iri, frm, to, by=by), threshold)
    body.update(by=by, series=series, min_cell=threshold)
    return answer(request, format, body, series, f"work-{id_}-loans")


@router.get("/statistics/work/{id:notsvg}", summary="A work's loans across its editions and translations, by month")
def work(request: Request, id: str, frm: str | None = _FROM, to: str | None = _TO, by: str | None = _BY,
         editions: bool = Query(True, description="false: the monthly roll-up and its total only (no editions "
                                "or languages lists; one query)"),
         format: str | None = _FORMAT):
    return _work_answer(request, id, frm, to, by, format, editions)


@router.get("/statistics/expression/{id}", summary="An expression's loans across its editions, by month")
def expression(request: Request, id: str, frm: str | None = _FROM, to: str | None = _TO,
               format: str | None = _FORMAT):
    frm, to = period_range(frm, to)
    iri = _iri(request, "expression", id)
    state = state_of(request.app)
    rows = state.current(request.app).expression_totals(iri, frm, to)
    body = _public_total({"expression": iri, **shown(frm, to), "loans": sum(r["loans"] or 0 for r in rows)},
                         state.min_cell)
    series = suppress(rows, state.min_cell)
    body.update(series=series, min_cell=state.min_cell)
    return answer(request, format, body, series, f"expression-{id}-loans")


@router.get("/statistics/isbn/{isbn}", summary="An ISBN's loans by month: for the edition's publisher only")
def isbn(request: Request, isbn: str, frm: str | None = _FROM, to: str | None = _TO, format: str | None = _FORMAT):
    principal = optional_principal(request)
    if principal is None:
        raise needs_credential("ISBN-level loan figures")
    frm, to = period_range(frm, to)
    isbn13 = _isbn13(isbn)
    state = state_of(request.app)
    loans = state.current(request.app)
    known = _store_edition(request, isbn13)
    if not _own(request, principal, known):
        raise Problem(403, f"ISBN-level loan figures are shown only to the edition's publisher; "
                      f"{principal.org or 'a credential without an organisation'} is not the publisher of {isbn13}",
                      title="Forbidden")
    rows = loans.isbn_totals(isbn13, frm, to)
    body = {"isbn": isbn13, **shown(frm, to), "manifestations": known["manifestations"],
            "publisher": known["publisher"], "loans": sum(r.get("loans") or 0 for r in rows), "series": rows}
    return answer(request, format, body, rows, f"isbn-{isbn13}-loans")


def _store_edition(request: Request, isbn13: str) -> dict:
    """What the served snapshot says of the manifestations with this ISBN: their IRIs and
    publisher statements (none for an ISBN the well does not know)."""
    from ..mapping import terms as T

    store = request.app.state.store
    found = store.subjects_with(T.M_IDENTIFIER, f"urn:isbn:{isbn13}")
    statements = [v for m in found for v in store.values(m, T.M_PUBLISHER_NAME)]
    return {"isbn": isbn13, "manifestations": found, "publisher": list(dict.fromkeys(statements))}


def _choice(name: str, value: str | None, table: dict) -> str | None:
    if value is None or value == "":
        return None
    found = table.get(value.strip().lower())
    if found is None:
        raise Problem(422, f"{name}={value!r}: one of {', '.join(sorted(set(table.values())))}", parameter=name)
    return found


@router.get("/statistics/top", summary="The most-lent works for a period, by fiction × audience × borrower")
def top(request: Request, frm: str | None = _FROM, to: str | None = _TO, n: int = Query(10, ge=1, le=1000),
        fiction: str | None = None, audience: str | None = None, borrower: str | None = None,
        format: str | None = _FORMAT):
    from ..store.loans.schema import AUDIENCE, BORROWER, FICTION

    frm, to = period_range(frm, to)
    state = state_of(request.app)
    choices = {"fiction": _choice("fiction", fiction, FICTION), "audience": _choice("audience", audience, AUDIENCE),
               "borrower": _choice("borrower", borrower, BORROWER)}
    rows = suppress(state.current(request.app).top_works(frm, to, n=n, **choices), state.min_cell)
    body = {**shown(frm, to), **choices, "n": n, "min_cell": state.min_cell, "works": rows}
    return answer(request, format, body, rows, "top-works")


@router.get("/statistics/languages", summary="Loans per language of expression: translations and originals")
def languages(request: Request, frm: str | None = _FROM, to: str | None = _TO, format: str | None = _FORMAT):
    frm, to = period_range(frm, to)
    state = state_of(request.app)
    rows = suppress(state.current(request.app).by_language(frm, to), state.min_cell)
    body = {**shown(frm, to), "min_cell": state.min_cell, "languages": rows}
    return answer(request, format, body, rows, "languages")


@router.get("/statistics/creator/{id}", summary="A creator's works with their loans")
def creator(request: Request, id: str, frm: str | None = _FROM, to: str | None = _TO, format: str | None = _FORMAT):
    frm, to = period_range(frm, to)
    iri = _iri(request, "agent", id)
    state = state_of(request.app)
    rows = suppress(state.current(request.app).creator_works(iri, frm, to), state.min_cell)
    body = {"agent": iri, **shown(frm, to), "min_cell": state.min_cell, "works": rows}
    return answer(request, format, body, rows, f"creator-{id}-works")


@router.get("/statistics/unmatched", summary="ISBNs with loans the well does not know, most loans first "
            "(cataloguers: scope write:work)")
def unmatched(request: Request, frm: str | None = _FROM, to: str | None = _TO, n: int = Query(50, ge=1, le=10_000),
              format: str | None = _FORMAT):
    principal = optional_principal(request)
    if principal is None:
        raise needs_credential("the unmatched ISBNs (ISBN-level figures)")
    if not can_any(principal, (CATALOGUER_SCOPE,)):
        raise Problem(403, f"the unmatched ISBNs are for cataloguers: a credential with the scope "
                      f"{CATALOGUER_SCOPE!r} and an organisation", title="Forbidden", scope=CATALOGUER_SCOPE)
    frm, to = period_range(frm, to)
    rows = state_of(request.app).current(request.app).unmatched(frm, to, n=n)
    body = {**shown(frm, to), "n": n, "isbns": rows}
    return answer(request, format, body, rows, "unmatched")


def _system_scope(request: Request, system: str | None, what: str) -> str | None:
    """The system whose figures the asker may see: its own for a delivering system, any (or
    all: None) for a cataloguer."""
    principal = optional_principal(request)
    if principal is None:
        raise needs_credential(what)
    if can_any(principal, (CATALOGUER_SCOPE,)):
        return system
    if can_any(principal, DELIVER_SCOPES):
        if system not in (None, principal.org):
            raise Problem(403, f"{principal.org} sees its own {what}, not {system}'s", title="Forbidden")
        return principal.org
    raise Problem(403, f"{what} are for the library system that delivered them (scope stats:deliver or ingest) "
                  f"and for cataloguers (scope {CATALOGUER_SCOPE})", title="Forbidden")


@router.get("/statistics/match-report", summary="The share of loans matched to the well's editions, by system "
            "and month (a system its own; cataloguers all)")
def match_report(request: Request, system: str | None = None, format: str | None = _FORMAT):
    system = _system_scope(request, system, "match reports")
    rows = state_of(request.app).current(request.app).match_report(system=system)
    return answer(request, format, {"system": system, "periods": rows}, rows, "match-report")


@router.get("/statistics/deliveries", summary="What a library system delivered (its own; cataloguers all)")
def deliveries(request: Request, system: str | None = None, format: str | None = _FORMAT):
    system = _system_scope(request, system, "deliveries")
    rows = state_of(request.app).open().deliveries(system=system)
    return answer(request, format, {"system": system, "deliveries": rows}, rows, "deliveries")


def close(app) -> None:
    from .statistics_state import close as _close

    _close(app)


__all__ = ["router", "close"]
