"""How loan figures go out: JSON by default, CSV by ``Accept: text/csv`` or ``?format=csv``;
and the period range every question takes."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from .negotiate import choose
from .problems import Problem

TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
FIRST, LAST = "0001-01", "9999-12"  # no bound given: every period delivered


def period_range(frm: str | None, to: str | None) -> tuple[str, str]:
    """``from`` and ``to`` (YYYY-MM, inclusive) checked; a bound not given is open."""
    for name, value in (("from", frm), ("to", to)):
        if value is not None and not _PERIOD.fullmatch(value):
            raise Problem(422, f"{name}={value!r}: a period is YYYY-MM (2026-01)", parameter=name)
    frm, to = frm or FIRST, to or LAST
    if frm > to:
        raise Problem(422, f"from={frm} is after to={to}", parameter="from")
    return frm, to


def shown(frm: str, to: str) -> dict:
    """The range as an answer names it (an open bound as null)."""
    return {"from": None if frm == FIRST else frm, "to": None if to == LAST else to}


def output_format(request: Request, format: str | None) -> str:
    name = choose(format, request.headers.get("accept"), TYPES, "json")
    if name is None:
        raise Problem(406, f"loan figures come as json or csv, not {format!r}")
    return name


def _cell(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def to_csv(rows: list[dict]) -> str:
    """Rows as CSV with a header: every key any row has, in the order first met; a list or
    object in a cell as JSON."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(names))
    for row in rows:
        writer.writerow([_cell(row.get(n)) for n in names])
    return out.getvalue()


def answer(request: Request, format: str | None, body: dict, rows: list[dict], name: str) -> Response:
    """``body`` as JSON, or ``rows`` (its table) as CSV named ``name``.csv."""
    headers = {"Vary": "Accept", "Cache-Control": "no-cache"}
    if output_format(request, format) == "csv":
        headers["Content-Disposition"] = f'inline; filename="{name}.csv"'
        return Response(to_csv(rows), media_type=TYPES["csv"], headers=headers)
    return JSONResponse(body, headers=headers)
