"""The questions the loan figures answer: SQL in DuckDB joining ``loans`` with the edition map.

Periods are ``YYYY-MM``, both ends inclusive, either open (None). Every answer is JSON-ready:
lists of dicts (or one dict), ISBNs as 13-digit text. A row whose ISBN the map does not know is
counted only by the match report and the unmatched list.
"""

from __future__ import annotations

import isbnlib

_RANGE = "l.period BETWEEN coalesce($frm, '0000-00') AND coalesce($to, '9999-99')"


def isbn_number(isbn: str | int) -> int | None:
    """An ISBN in any form as the number the tables keep (its ISBN-13), or None when invalid."""
    text = str(isbn).replace("-", "").replace(" ", "").upper()
    thirteen = isbnlib.to_isbn13(text) if isbnlib.is_isbn10(text) else (text if isbnlib.is_isbn13(text) else None)
    return int(thirteen) if thirteen else None


class Questions:
    con = None  # a duckdb connection (Loans)

    def _cursor(self):  # Loans: this thread's cursor
        raise NotImplementedError

    def _rows(self, sql: str, params: dict) -> list[dict]:
        # each thread its own cursor (DuckDB runs them in parallel, each on a committed state:
        # never half a delivery)
        cur = self._cursor().execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def work_series(self, work_iri: str, frm: str | None = None, to: str | None = None,
                    by: str | None = None) -> list[dict]:
        """Loans of a work per period, in all its editions and languages; ``by`` "edition" (key:
        the ISBN) or "language" (key: the expression's language code) splits each period."""
        p = {"work": work_iri, "frm": frm, "to": to}
        if by is None:
            return self._rows(f"""SELECT l.period, sum(l.loans)::BIGINT AS loans FROM monthly l
                WHERE l.isbn IN (SELECT isbn FROM edition WHERE work = $work) AND {_RANGE}
                GROUP BY l.period ORDER BY l.period""", p)
        key = {"edition": "e.isbn::VARCHAR", "language": "e.language"}.get(by)
        if key is None:
            raise ValueError(f"by must be edition or language, not {by!r}")
        return self._rows(f"""SELECT l.period, {key} AS key, sum(l.loans)::BIGINT AS loans
            FROM monthly l JOIN (SELECT * FROM edition WHERE work = $work) e ON l.isbn = e.isbn
            WHERE {_RANGE} GROUP BY ALL ORDER BY l.period, key NULLS LAST""", p)

    def work_totals(self, work_iri: str, frm: str | None = None, to: str | None = None) -> dict:
        """A work's loans in the range: in all, per edition (every edition the map knows, lent or
        not) and per language."""
        p = {"work": work_iri, "frm": frm, "to": to}
        editions = self._rows(f"""WITH e AS (SELECT * FROM edition WHERE work = $work),
            lent AS (SELECT l.isbn, sum(l.loans)::BIGINT AS loans FROM monthly l
                     WHERE l.isbn IN (SELECT isbn FROM e) AND {_RANGE} GROUP BY l.isbn)
            SELECT e.isbn::VARCHAR AS isbn, e.manifestation, e.expression, e.language, e.title, e.year,
                   e.publisher, coalesce(lent.loans, 0) AS loans, e.work_title
            FROM e LEFT JOIN lent USING (isbn) ORDER BY loans DESC, isbn""", p)
        languages: dict[str | None, int] = {}
        for e in editions:
            languages[e["language"]] = languages.get(e["language"], 0) + e["loans"]
        title = editions[0].pop("work_title") if editions else None
        for e in editions:
            e.pop("work_title", None)
        return {"work": work_iri, "title": title, "loans": sum(e["loans"] for e in editions),
                "editions": editions,
                "languages": [{"language": k, "loans": v} for k, v in
                              sorted(languages.items(), key=lambda kv: (-kv[1], kv[0] or "~"))]}

    def expression_totals(self, expression_iri: str, frm: str | None = None, to: str | None = None) -> list[dict]:
        """Loans of an expression (one language of a work) per period, over its editions."""
        return self._rows(f"""SELECT l.period, sum(l.loans)::BIGINT AS loans FROM monthly l
            WHERE l.isbn IN (SELECT isbn FROM edition WHERE expression = $e) AND {_RANGE}
            GROUP BY l.period ORDER BY l.period""", {"e": expression_iri, "frm": frm, "to": to})

    def isbn_totals(self, isbn13: str | int, frm: str | None = None, to: str | None = None) -> list[dict]:
        """Loans of one ISBN per period (whether the well knows it or not)."""
        number = isbn_number(isbn13)
        if number is None:
            raise ValueError(f"{isbn13!r} is not a valid ISBN")
        return self._rows(f"""SELECT l.period, sum(l.loans)::BIGINT AS loans FROM monthly l
            WHERE l.isbn = $isbn AND {_RANGE} GROUP BY l.period ORDER BY l.period""",
                          {"isbn": number, "frm": frm, "to": to})

    def top_works(self, frm: str | None = None, to: str | None = None, n: int = 10, fiction: str | None = None,
                  audience: str | None = None, borrower: str | None = None) -> list[dict]:
        """The N most lent works, counting only loan rows of the given categories (stored values:
        skjønn/fag, barn/voksen, barn/ungdom/voksen/institusjon/annet)."""
        filtered = any(v is not None for v in (fiction, audience, borrower))
        source = "loans" if filtered else "monthly"  # categories are the loan rows' own
        where = ("AND ($fiction IS NULL OR l.fiction = $fiction) AND ($audience IS NULL OR l.audience = $audience) "
                 "AND ($borrower IS NULL OR l.borrower = $borrower)") if filtered else ""
        params = {"frm": frm, "to": to, "n": int(n)}
        if filtered:
            params.update(fiction=fiction, audience=audience, borrower=borrower)
        return self._rows(f"""SELECT e.work, any_value(e.work_title) AS title, sum(l.loans)::BIGINT AS loans,
                count(DISTINCT e.isbn) AS editions
            FROM {source} l JOIN edition e ON l.isbn = e.isbn
            WHERE {_RANGE} {where} AND e.work IS NOT NULL
            GROUP BY e.work ORDER BY loans DESC, e.work LIMIT $n""", params)

    def by_language(self, frm: str | None = None, to: str | None = None) -> list[dict]:
        """Loans per language of expression, translations (an expression that is a translation
        of one in another language) apart from originals."""
        return self._rows(f"""SELECT e.language,
                coalesce(e.original_language IS NOT NULL AND e.original_language <> e.language, false) AS translated,
                sum(l.loans)::BIGINT AS loans, count(DISTINCT e.work) AS works
            FROM monthly l JOIN edition e ON l.isbn = e.isbn WHERE {_RANGE}
            GROUP BY ALL ORDER BY loans DESC, e.language NULLS LAST, translated""", {"frm": frm, "to": to})

    def creator_works(self, agent_iri: str, frm: str | None = None, to: str | None = None) -> list[dict]:
        """A creator's works (every work naming the agent as a creator) with their loans; works
        with none lent are listed with 0."""
        return self._rows(f"""WITH e AS (SELECT * FROM edition WHERE list_contains(creators, $agent)),
            lent AS (SELECT l.isbn, sum(l.loans) AS loans FROM monthly l WHERE l.isbn IN (SELECT isbn FROM e)
                     AND {_RANGE} GROUP BY l.isbn)
            SELECT e.work, any_value(e.work_title) AS title, coalesce(sum(lent.loans), 0)::BIGINT AS loans,
                   count(DISTINCT e.isbn) AS editions
            FROM e LEFT JOIN lent USING (isbn) GROUP BY e.work ORDER BY loans DESC, e.work""",
                          {"agent": agent_iri, "frm": frm, "to": to})

    def unmatched(self, frm: str | None = None, to: str | None = None, n: int = 50) -> list[dict]:
        """The ISBNs the well does not know, most loans first, with the title and filing word the
        deliveries gave: what cataloguers should add."""
        return self._rows(f"""SELECT l.isbn::VARCHAR AS isbn, sum(l.loans)::BIGINT AS loans,
                min(l.title) AS title, min(l.filing_word) AS filing_word, min(l.year) AS year,
                list_sort(list_distinct(list(l.system))) AS systems
            FROM loans l ANTI JOIN editions e ON l.isbn = e.isbn WHERE {_RANGE}
            GROUP BY l.isbn ORDER BY loans DESC, l.isbn LIMIT $n""", {"frm": frm, "to": to, "n": int(n)})

    def match_report(self, system: str | None = None) -> list[dict]:
        """Per system and period: rows, loans, loans whose ISBN the well knows, and their share."""
        return self._rows("""SELECT l.system, l.period, count(*) AS rows, sum(l.loans)::BIGINT AS loans,
                coalesce(sum(l.loans) FILTER (WHERE m.isbn IS NOT NULL), 0)::BIGINT AS matched,
                round(coalesce(sum(l.loans) FILTER (WHERE m.isbn IS NOT NULL), 0) / nullif(sum(l.loans), 0), 4)
                    AS share
            FROM loans l LEFT JOIN (SELECT DISTINCT isbn FROM editions) m ON l.isbn = m.isbn
            WHERE $system IS NULL OR l.system = $system
            GROUP BY l.system, l.period ORDER BY l.system, l.period""", {"system": system})

    def deliveries(self, system: str | None = None) -> list[dict]:
        """What each system (or one) delivered: per period, rows, loans and when."""
        rows = self._rows("""SELECT system, period, rows, loans, delivered FROM deliveries
            WHERE $system IS NULL OR system = $system ORDER BY system, period""", {"system": system})
        for r in rows:
            r["delivered"] = r["delivered"].isoformat()
        return rows
