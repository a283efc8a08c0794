"""Inline SVG pictures, drawn on the server (no script needed to see them): a work's editions
on a timeline by year and language, and a bar chart of counts."""

from __future__ import annotations

from collections import Counter

from .layout import e

ROW = 26  # height of one language's row on the timeline
LEFT = 150  # room for the row labels
WIDTH = 640


def timeline(rows: list[tuple[str, int | None, str]], title: str, undated: str) -> str:
    """One mark per edition: ``(language name, year or None, tooltip)``. Years run left to
    right, one row per language; editions without a year sit in a column of their own at the
    right, labelled ``undated``. Several editions of one year and language are stacked."""
    if not rows:
        return ""
    languages = list(dict.fromkeys(lang for lang, _, _ in rows))
    years = [y for _, y, _ in rows if y is not None]
    lo, hi = (min(years), max(years)) if years else (0, 0)
    if hi - lo < 10:  # a short span still reads as years, not as a blur
        pad = (10 - (hi - lo)) // 2 + 1
        lo, hi = lo - pad, hi + pad
    has_undated = any(y is None for _, y, _ in rows)
    right = WIDTH - (60 if has_undated else 20)
    height = ROW * len(languages) + 40

    def x(year: int) -> float:
        return LEFT + (year - lo) * (right - LEFT) / max(1, hi - lo)

    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}"><title>{e(title)}</title>']
    for i, lang in enumerate(languages):
        y = 20 + i * ROW
        parts.append(f'<text class="row-label" x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{e(lang)}</text>'
                     f'<line class="row" x1="{LEFT}" y1="{y}" x2="{right}" y2="{y}"/>')
    axis = 20 + len(languages) * ROW - 6
    if years:
        step = _step(hi - lo)
        for tick in range((lo // step + 1) * step if lo % step else lo, hi + 1, step):
            parts.append(f'<text class="tick" x="{x(tick):.1f}" y="{axis + 14}" text-anchor="middle">{tick}</text>')
    if has_undated:
        parts.append(f'<text class="tick" x="{WIDTH - 30}" y="{axis + 14}" text-anchor="middle">{e(undated)}</text>')
    stacked: Counter = Counter()
    for lang, year, tip in rows:
        row = languages.index(lang)
        cx = x(year) if year is not None else WIDTH - 30
        n = stacked[(row, year)]
        stacked[(row, year)] += 1
        cy = 20 + row * ROW + (0, -6, 6, -12, 12)[n % 5]
        parts.append(f'<circle class="edition" cx="{cx + (n // 5) * 6:.1f}" cy="{cy}" r="5">'
                     f'<title>{e(tip)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def _step(span: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500):
        if span / step <= 8:
            return step
    return 1000


def bars(items: list[tuple[str, int]], title: str, cls: str = "languages") -> str:
    """A horizontal bar per ``(label, count)``, longest first as given, the count beside it."""
    if not items:
        return ""
    top = max(n for _, n in items) or 1
    bar_left, bar_width, row = 200, 340, 24
    height = row * len(items) + 10
    parts = [f'<svg class="{e(cls)}" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}"><title>{e(title)}</title>']
    for i, (label, n) in enumerate(items):
        y = 5 + i * row
        w = max(2.0, bar_width * n / top)
        parts.append(f'<g class="bar"><text class="bar-label" x="{bar_left - 8}" y="{y + 15}" text-anchor="end">'
                     f'{e(_short(label))}</text><rect x="{bar_left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}">'
                     f'<title>{e(label)}: {n:,}</title></rect>'
                     f'<text class="bar-value" x="{bar_left + w + 6:.1f}" y="{y + 15}">{n:,}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str, most: int = 28) -> str:
    """A label that fits left of the bars; the bar's tooltip has it whole."""
    return label if len(label) <= most else label[:most - 1].rstrip() + "…"
