"""What the edition map says of a manifestation, read from the store, and which manifestations the
change feed says have changed since a position.

A manifestation with ISBNs gives one row per ISBN: its expression and work (after a merge, the
survivor: merges rewrite the records that named the merged entity), the expression's language and
the language of the expression it translates, the work's creators, the first publisher name, the
ISBN's registrant prefix (the ISBN agency's ranges, by isbnlib), title proper, year and the work's
access point. Reads are range reads on one property each (or on a list of subjects), never a walk
of the whole store per manifestation.
"""

from __future__ import annotations

import re
from typing import Iterable

import isbnlib
import pyoxigraph as ox

from ...mapping import terms as T
from ..catalogue import Catalogue
from ..core import Store

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_KINDS = ("manifestation", "work", "expression")


def _pairs(store: Store, predicate: str, subjects: list[str] | None) -> dict[str, list[str]]:
    """subject → its values of ``predicate`` in any graph, sorted (one range read of the
    predicate when ``subjects`` is None)."""
    if subjects is not None:
        return {s: v[predicate] for s, v in _facts(store, subjects, (predicate,)).items() if predicate in v}
    out: dict[str, set[str]] = {}
    for q in store._store.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
        out.setdefault(q.subject.value, set()).add(q.object.value)
    return {k: sorted(v) for k, v in out.items()}


def _facts(store: Store, subjects: list[str], predicates: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    """subject → predicate → values (sorted): one index look-up per subject and predicate (about
    30 µs), never all of a subject's statements (a work's, from every record, cost far more to
    decode than the few wanted)."""
    quads = store._store.quads_for_pattern
    nodes = [(p, ox.NamedNode(p)) for p in predicates]
    out: dict[str, dict[str, list[str]]] = {}
    for s in subjects:
        node = ox.NamedNode(s)
        found = {}
        for p, pnode in nodes:
            values = sorted({q.object.value for q in quads(node, pnode, None, None)})
            if values:
                found[p] = values
        if found:
            out[s] = found
    return out


def _code(language_iri: str | None) -> str | None:
    return language_iri.rstrip("/").rsplit("/", 1)[-1] if language_iri else None


def prefix_of(isbn13: str) -> str | None:
    """The registrant prefix (``978-82-05``) of an ISBN-13, from the agency's ranges."""
    try:
        masked = isbnlib.mask(isbn13)
    except Exception:  # noqa: BLE001 - isbnlib raises its own classes for a range it does not know
        return None
    parts = masked.split("-") if masked else []
    return "-".join(parts[:3]) if len(parts) == 5 else None


def rows_of(store: Store, manifestations: list[str] | None) -> list[tuple]:
    """The edition map's rows (core.EDITION_COLUMNS) of these manifestations, or of every
    manifestation with an ISBN (None). A deleted manifestation has none."""
    isbns = _pairs(store, T.SCHEMA_ISBN, manifestations)
    ms = sorted(isbns)
    if not ms:
        return []
    first = lambda d, k: (d.get(k) or [None])[0]  # noqa: E731
    m_facts = _facts(store, ms, (T.M_EXPRESSION, T.M_WORK, T.M_TITLE_PROPER, T.M_DATE_PUB, T.M_PUBLISHER_NAME))
    of = lambda facts, p: {s: v[p] for s, v in facts.items() if p in v}  # noqa: E731
    expr, work, title = of(m_facts, T.M_EXPRESSION), of(m_facts, T.M_WORK), of(m_facts, T.M_TITLE_PROPER)
    date, publisher = of(m_facts, T.M_DATE_PUB), of(m_facts, T.M_PUBLISHER_NAME)
    es = sorted({first(expr, m) for m in ms} - {None})
    ws = sorted({first(work, m) for m in ms} - {None})
    e_facts = _facts(store, es, (T.E_LANGUAGE, T.E_TRANSLATION_OF))
    language, original_of = of(e_facts, T.E_LANGUAGE), of(e_facts, T.E_TRANSLATION_OF)
    originals = sorted({first(original_of, e) for e in es} - {None})
    original_language = _pairs(store, T.E_LANGUAGE, originals)
    w_facts = _facts(store, ws, (T.W_CREATOR, T.W_AAP, T.W_PREFERRED_TITLE))
    creators, aap, preferred = of(w_facts, T.W_CREATOR), of(w_facts, T.W_AAP), of(w_facts, T.W_PREFERRED_TITLE)
    rows = []
    for m in ms:
        e, w = first(expr, m), first(work, m)
        lang = _code(first(language, e))
        orig = first(original_of, e)
        year = _YEAR.search(" ".join(date.get(m, ())))
        for isbn in isbns[m]:
            if not (len(isbn) == 13 and isbn.isdigit()):
                continue
            rows.append((int(isbn), m, e, w, lang, _code(first(original_language, orig)),
                         list(creators.get(w, ())), first(publisher, m), prefix_of(isbn),
                         first(title, m), int(year.group(1)) if year else None,
                         first(aap, w) or first(preferred, w)))
    return rows


def changed_since(store_path, after: int) -> tuple[int, set[str], set[str], set[str]]:
    """The change feed's position now, and the manifestations, works and expressions it names
    after ``after`` (created, changed, deleted, merged)."""
    cat = Catalogue(store_path, read_only=True)
    try:
        with cat._lock:
            (last,) = cat.conn.execute("SELECT coalesce(max(n), 0) FROM activities").fetchone()
            named = cat.conn.execute(
                f"SELECT DISTINCT kind, iri FROM activities WHERE n > ? AND n <= ? AND kind IN {_KINDS}",
                (after, last)).fetchall()
    finally:
        cat.close()
    by_kind: dict[str, set[str]] = {k: set() for k in _KINDS}
    for kind, iri in named:
        by_kind[kind].add(iri)
    return last, by_kind["manifestation"], by_kind["work"], by_kind["expression"]


def chunks(items: Iterable[str], size: int = 5000) -> Iterable[list[str]]:
    items = sorted(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]
