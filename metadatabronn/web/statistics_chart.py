"""Loans over time as a picture: one line per language (or per edition) of a work, month by
month, drawn on the server as SVG (no script, no plotting library), with its figures as a table
beside it for readers who cannot see the picture.

Public figures only: a cell under the smallest count shown (``METADATABRONN_STATS_MIN_CELL``,
default 5) is left out, and its line broken there; the legend says so. The figures come from
:meth:`Loans.work_series`; this module only arranges and draws them.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from .catalogue import labels as L

MOST_LINES = 7  # more lines than this cannot be told apart: the smallest are summed as "other"
# Okabe and Ito's palette, told apart by readers with any common colour blindness; a dash
# pattern and a mark shape for each line besides, so that print in grey still reads.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#7F6A00", "#555555")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 4", "1 2", "12 4", "6 2 2 2")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, AXIS = 66, 16, 16, 250  # the plot area; month labels below AXIS

_MONTHS = {"en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
           "nb": ("jan.", "feb.", "mars", "apr.", "mai", "juni", "juli", "aug.", "sep.", "okt.", "nov.", "des.")}
_WORDS_NB = {
    "Loans": "Utlån", "Loans per month": "Utlån per måned", "Month": "Måned", "loans": "utlån",
    "by language": "etter språk", "by edition": "etter utgave", "Other languages": "Andre språk",
    "Other editions": "Andre utgaver", "All editions": "Alle utgaver", "Figures as a table": "Tallene som tabell",
    "not shown": "ikke vist", "No loans recorded in this period": "Ingen utlån registrert i perioden",
    "to": "til", "one line per language": "én linje per språk", "one line per edition": "én linje per utgave",
    "in all": "i alt", "Gaps: fewer than {n} loans in the month, not shown":
        "Hull: færre enn {n} utlån i måneden, ikke vist",
    "Months with fewer than {n} loans are not shown": "Måneder med færre enn {n} utlån er ikke vist",
}


def t(text: str, lang: str) -> str:
    return _WORDS_NB.get(text, text) if lang == "nb" else L.t(text, lang)


def e(text) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class Chart:
    """Months ``periods`` (YYYY-MM, every month from first to last) and one line per key: its
    label and its count per month, ``None`` where the count is too small to be shown."""

    periods: list[str]
    lines: list[tuple[str, list[int | None]]]
    by: str | None = None
    min_cell: int = 5

    @property
    def suppressed(self) -> bool:
        return any(v is None for _, values in self.lines for v in values)

    @property
    def empty(self) -> bool:
        """No loans in any month (a hidden count is a few loans, not none)."""
        return not any(v is None or v for _, values in self.lines for v in values)


def months(frm: str, to: str) -> list[str]:
    """Every month from ``frm`` to ``to`` (YYYY-MM), both included."""
    y, m = int(frm[:4]), int(frm[5:7])
    end = (int(to[:4]), int(to[5:7]))
    out = []
    while (y, m) <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def shift(period: str, by: int) -> str:
    """The month ``by`` months after (before, when negative) ``period``."""
    n = int(period[:4]) * 12 + int(period[5:7]) - 1 + by
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def arrange(rows: list[dict], frm: str, to: str, *, min_cell: int = 5, by: str | None = None,
            label=str, other: str = "Other", total: str = "Loans") -> Chart:
    """A chart from :meth:`Loans.work_series` rows (``period``, ``key`` when split, ``loans``):
    a month without a row counts 0; the lines ordered by their loans, most first, those past
    :data:`MOST_LINES` summed as one line called ``other`` (an unsplit series is called
    ``total``); then every cell under ``min_cell``
    (but above 0) hidden, after the summing, so a sum of small cells may be shown."""
    periods = months(frm, to)
    where = {p: i for i, p in enumerate(periods)}
    sums: dict[str | None, list[int]] = {}
    for row in rows:
        i = where.get(row["period"])
        if i is not None:
            counts = sums.setdefault(row.get("key") if by else "", [0] * len(periods))
            counts[i] += int(row["loans"] or 0)
    order = sorted(sums, key=lambda k: (-sum(sums[k]), str(k)))
    kept = [(label(k) if by else total, sums[k]) for k in order[:MOST_LINES]]
    rest = order[MOST_LINES:]
    if len(rest) == 1:
        kept.append((label(rest[0]), sums[rest[0]]))
    elif rest:
        kept.append((other, [sum(sums[k][i] for k in rest) for i in range(len(periods))]))
    lines = [(name, [None if 0 < v < min_cell else v for v in counts]) for name, counts in kept]
    return Chart(periods, lines, by, min_cell)


def _nice(top: int) -> tuple[int, int]:
    """(step, highest tick) of a y axis that reaches ``top`` in four to six steps."""
    if top <= 0:
        return 1, 5
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw)
    step = max(1, int(step))
    return step, step * math.ceil(top / step)


def _number(n: int, lang: str) -> str:
    text = f"{n:,}"
    return text.replace(",", "\u00a0") if lang == "nb" else text


def month_name(period: str, lang: str, year: bool = True) -> str:
    name = _MONTHS.get(lang, _MONTHS["en"])[int(period[5:7]) - 1]
    return f"{name} {period[:4]}" if year else name


def _span(chart: Chart, lang: str) -> str:
    return f"{month_name(chart.periods[0], lang)} {t('to', lang)} {month_name(chart.periods[-1], lang)}"


def describe(chart: Chart, lang: str) -> str:
    """The picture in words, for ``<desc>``: what it shows, over which months, each line's
    name, and what was left out."""
    split = {"language": "one line per language", "edition": "one line per edition"}.get(chart.by or "")
    parts = [t("Loans per month", lang) + (f", {_span(chart, lang)}" if chart.periods else "")]
    if split:
        parts[0] += f", {t(split, lang)}"
    if chart.lines and not chart.empty:
        parts.append(", ".join(name for name, _ in chart.lines))
    else:
        parts.append(t("No loans recorded in this period", lang))
    if chart.suppressed:
        parts.append(t("Months with fewer than {n} loans are not shown", lang).format(n=chart.min_cell))
    return ". ".join(parts) + "."


def svg(chart: Chart, title: str, lang: str = "en", ident: str = "loans", standalone: bool = False) -> str:
    """The chart as one ``<svg>`` element: a line per key, a mark per shown month (its
    tooltip the month and count), a break where a month is hidden, the y axis in loans, the
    months below (a year label at each January and at the start), a legend under it.
    Presentation attributes only, so it looks the same inline and on its own; ``ident``
    keeps its ids apart from others on the page; ``standalone``: with a background and the
    title written above (a page shows its own heading)."""
    n = len(chart.periods)
    legend_rows = math.ceil((len(chart.lines) + (1 if chart.suppressed else 0)) / _columns(chart))
    above = 30 if standalone else 0
    height = HEIGHT + 22 * legend_rows + above
    top_value = max((v for _, values in chart.lines for v in values if v), default=0)
    step, ceiling = _nice(top_value)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, AXIS - TOP

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n if n else 0)

    def y(v: int) -> float:
        return AXIS - plot_h * v / ceiling

    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    head = (f'<svg class="loans-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'aria-labelledby="{title_id} {desc_id}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" font-family="system-ui, sans-serif" font-size="12">'
            f'<title id="{title_id}">{e(title)}</title><desc id="{desc_id}">{e(describe(chart, lang))}</desc>')
    parts = [head]
    if standalone:
        parts.append(f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>'
                     f'<text class="chart-title" x="{LEFT}" y="20" font-size="15" font-weight="600" '
                     f'fill="#222222">{e(_short(title, 80))}</text><g transform="translate(0 {above})">')
    # y axis: gridlines and counts
    for tick in range(0, ceiling + 1, step):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="{"#999999" if tick == 0 else "#e4e4e4"}" stroke-width="1"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#555555">'
                     f'{_number(tick, lang)}</text>')
    parts.append(f'<text x="12" y="{(TOP + AXIS) / 2:.0f}" text-anchor="middle" fill="#555555" '
                 f'transform="rotate(-90 12 {(TOP + AXIS) / 2:.0f})">{e(t("Loans", lang))}</text>')
    # x axis: a label every few months, so that they never overlap
    every = next(k for k in (1, 2, 3, 4, 6, 12, 24, 60) if n / k <= 12)
    for i, period in enumerate(chart.periods):
        if i % every and period[5:7] != "01":
            continue
        parts.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{AXIS}" y2="{AXIS + 4}" stroke="#999999"/>'
                     f'<text class="month" x="{x(i):.1f}" y="{AXIS + 16}" text-anchor="middle" fill="#555555">'
                     f'{e(month_name(period, lang, year=False))}</text>')
        if i == 0 or period[5:7] == "01":
            parts.append(f'<text class="year" x="{x(i):.1f}" y="{AXIS + 30}" text-anchor="middle" '
                         f'fill="#333333">{period[:4]}</text>')
    if chart.empty:
        parts.append(f'<text class="empty" x="{LEFT + plot_w / 2:.0f}" y="{(TOP + AXIS) / 2:.0f}" '
                     f'text-anchor="middle" fill="#555555">{e(t("No loans recorded in this period", lang))}</text>')
    for k, (name, values) in enumerate(chart.lines):
        parts.append(_line(k, name, values, chart.periods, x, y, lang))
    parts.append(_legend(chart, lang))
    parts.append("</g></svg>" if standalone else "</svg>")
    return "".join(parts)


def _line(k: int, name: str, values: list[int | None], periods: list[str], x, y, lang: str) -> str:
    """One line, broken where a month is hidden: a path of runs, and a mark per shown month."""
    colour, dash = COLOURS[k % len(COLOURS)], DASHES[k % len(DASHES)]
    runs, run = [], []
    for i, v in enumerate(values):
        if v is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(f"{x(i):.1f},{y(v):.1f}")
    if run:
        runs.append(run)
    d = " ".join("M" + " L".join(r) for r in runs)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    out = [f'<g class="line" data-key="{k}"><path d="{d}" fill="none" stroke="{colour}" stroke-width="2"'
           f'{dash_attr} stroke-linejoin="round"/>']
    for i, v in enumerate(values):
        if v is not None:
            tip = f"{name} · {month_name(periods[i], lang)}: {_number(v, lang)} {t('loans', lang)}"
            out.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                       f'<title>{e(tip)}</title></circle>')
    out.append("</g>")
    return "".join(out)


def _columns(chart: Chart) -> int:
    """Two columns of legend, or one when a name would not fit half the width (an edition's
    title, year and ISBN)."""
    return 1 if any(len(name) > SHORT for name, _ in chart.lines) else 2


SHORT = 44  # characters of a name that fit half the legend's width


def _legend(chart: Chart, lang: str) -> str:
    """Under the months, in one or two columns: each line's colour and dash, then what a gap
    means."""
    items = [(name, COLOURS[k % len(COLOURS)], DASHES[k % len(DASHES)]) for k, (name, _) in
             enumerate(chart.lines)]
    out = ['<g class="legend">']
    columns = _columns(chart)
    col_w = (WIDTH - LEFT - RIGHT) / columns
    for j, (name, colour, dash) in enumerate(items):
        lx, ly = LEFT + (j % columns) * col_w, HEIGHT + 22 * (j // columns) - 4
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx:.0f}" x2="{lx + 28:.0f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
                   f'stroke-width="2"{dash_attr}/><text class="legend-label" x="{lx + 34:.0f}" y="{ly}" '
                   f'fill="#222222">{e(_short(name, 2 * SHORT if columns == 1 else SHORT))}</text>')
    if chart.suppressed:
        gap = t("Gaps: fewer than {n} loans in the month, not shown", lang).format(n=chart.min_cell)
        j = len(items)
        lx, ly = LEFT + (j % columns) * col_w, HEIGHT + 22 * (j // columns) - 4
        out.append(f'<line x1="{lx:.0f}" x2="{lx + 8:.0f}" y1="{ly - 4}" y2="{ly - 4}" stroke="#555555" '
                   f'stroke-width="2"/><line x1="{lx + 20:.0f}" x2="{lx + 28:.0f}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="#555555" stroke-width="2"/><text class="legend-gap" x="{lx + 34:.0f}" y="{ly}" '
                   f'fill="#222222">{e(gap)}</text>')
    out.append("</g>")
    return "".join(out)


def _short(label: str, most: int = SHORT) -> str:
    return label if len(label) <= most else label[:most - 1].rstrip() + "…"


def table(chart: Chart, lang: str) -> str:
    """The chart's figures as a table: a row per month, a column per line; a hidden cell says
    so in words."""
    hidden = f"&lt;{chart.min_cell} ({e(t('not shown', lang))})"
    head = f'<th scope="col">{e(t("Month", lang))}</th>' + "".join(
        f'<th scope="col">{e(name)}</th>' for name, _ in chart.lines)
    rows = []
    for i, period in enumerate(chart.periods):
        cells = "".join(f'<td class="{"suppressed" if values[i] is None else "count"}">'
                        f'{hidden if values[i] is None else _number(values[i], lang)}</td>'
                        for _, values in chart.lines)
        rows.append(f'<tr><th scope="row"><time datetime="{period}">{e(month_name(period, lang))}</time></th>'
                    f"{cells}</tr>")
    return (f'<table class="loans"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def section(chart: Chart, title: str, lang: str, link: str = "") -> str:
    """The work page's "Loans" section: the chart, then its table folded under it; nothing for
    a work without loans."""
    if chart.empty:
        return ""
    more = f'<p class="loans-link"><a href="{e(link)}">SVG</a></p>' if link else ""
    return (f'<section class="loans"><h2>{e(t("Loans", lang))}</h2>'
            f'<figure class="loans">{svg(chart, title, lang, ident="loans")}'
            f'<figcaption>{e(describe(chart, lang))}</figcaption></figure>'
            f'<details class="loans-table"><summary>{e(t("Figures as a table", lang))}</summary>'
            f'{table(chart, lang)}</details>{more}</section>')


def __getattr__(name: str):
    """``router``: the chart's route (in :mod:`.statistics_chart_http`, which draws with this
    module), as the statistics router includes it from here."""
    if name == "router":
        from .statistics_chart_http import router

        return router
    raise AttributeError(name)
