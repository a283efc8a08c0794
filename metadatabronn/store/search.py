"""The text index: titles and creators of every live manifestation, searched by word.

It lives in the catalogue file beside the record index (SQLite, FTS5), written in the same
transactions as the rest of that file; ``put`` and ``remove`` never commit.

**Folding** (:func:`fold`, the one rule for indexing and for queries): Unicode compatibility
forms, case folded; ``æ``/``ä`` as ``ae``/``a``, ``ø``/``ö`` as ``o``, ``å`` as ``aa``, ``ß`` as
``ss``, ``œ`` as ``oe``, ``þ`` as ``th``, ``ð``/``đ`` as ``d``, ``ł`` as ``l``; every other
diacritic dropped; anything not a letter or digit is a space. So ``Bjørnson`` is ``bjornson`` and
``Kjærstad`` is ``kjaerstad``, as they are spelled without the letters.

**Alternate spellings**: ``å`` was written ``aa`` before 1917 and is often typed ``a``, so a
word with ``aa`` in its folded form is indexed (and searched) also with every ``aa`` as ``a``
(:func:`skeleton`): ``Ålesund``, ``Aalesund`` and ``Alesund`` find each other. The alternate
form of a text goes to columns of its own, so phrases match within one spelling.

**Prefixes**: a word ending in ``*`` matches every word it begins (``histor*``).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from .cores import Memo

FIELDS = ("title", "creator", "any")
RELATIONS = ("all", "any", "adj", "exact")
_SEPARATE = re.compile(r"[^\w]+|_+")
_LETTERS = str.maketrans({"æ": "ae", "ä": "a", "ø": "o", "ö": "o", "å": "aa", "ß": "ss", "œ": "oe",
                          "þ": "th", "ð": "d", "đ": "d", "ł": "l", "ı": "i", "ŀ": "l", "ĳ": "ij"})


@dataclass(frozen=True, slots=True)
class Text:
    """What is searched of one manifestation."""

    manifestation: str            # IRI
    work: str | None              # the work's IRI
    titles: tuple[str, ...]       # title proper, other title information, parallel and variant titles
    creators: tuple[str, ...]     # the record's creator headings/names as given (1XX/7XX agent names)
    work_title: str | None = None  # the work's preferred title


def fold(text: str) -> str:
    """Lower case, Nordic letters spelled out, diacritics and punctuation gone, one space between
    words: ``fold("Bjørnson, Bjørnstjerne")`` is ``"bjornson bjornstjerne"``."""
    if text.isascii():  # most titles: the same result, four times as fast
        return " ".join(w for w in _SEPARATE.split(text.lower()) if w)
    return _fold_unicode(text)


def _fold_unicode(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LETTERS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    # Decomposing can leave a letter the table spells out or an upper-case compatibility form.
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LETTERS)
    return " ".join(w for w in _SEPARATE.split(text) if w)


def skeleton(folded: str) -> str:
    """The alternate spelling of folded text: every ``aa`` as ``a`` (``aalesund`` → ``alesund``)."""
    while "aa" in folded:
        folded = folded.replace("aa", "a")
    return folded


# writing -----------------------------------------------------------------------------------

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS search_text (
        id INTEGER PRIMARY KEY,
        manifestation TEXT NOT NULL UNIQUE,
        work TEXT,
        work_title TEXT)""",
    # (An index of search_text by work, which no query used, is dropped: in a 10,000-record load
    # into a 240,000-record store it was 21,500 of the pages written.)
    "DROP INDEX IF EXISTS search_text_work",
    # Every title and creator whole, folded to its alternate spelling: for CQL exact and for
    # putting an exact title first. field: t (title) or c (creator).
    """CREATE TABLE IF NOT EXISTS search_key (
        key TEXT NOT NULL, field TEXT NOT NULL, id INTEGER NOT NULL,
        PRIMARY KEY (key, field, id)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS search_key_id ON search_key(id)",
    # One row per search_text row, same rowid. Each text of a column on a line of its own (the
    # tokenizer ignores line ends). The *_alt columns hold the alternate spelling, only where it
    # differs.
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
        title, title_alt, creator, creator_alt,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')""",
)


def create(conn: sqlite3.Connection) -> None:
    """The tables and indexes of the text index, if they are not there yet."""
    for statement in SCHEMA:
        conn.execute(statement)


def optimize(conn: sqlite3.Connection) -> None:
    """Merge the full-text index's segments into one. Each batch written adds a segment, and a
    query reads every segment: at 250,000 records as loaded, a three-word title search took p99
    29 ms, after this 9.5 ms (the merge itself 2 s). Worth it after a large load or a rebuild."""
    conn.execute("INSERT INTO search_index(search_index) VALUES ('optimize')")


def _folded(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(f for f in (fold(v) for v in values if v) if f))


def _alternates(folded: list[str]) -> str:
    have = set(folded)
    return "\n".join(dict.fromkeys(s for s in map(skeleton, folded) if s not in have))


def put(conn: sqlite3.Connection, texts: Iterable[Text]) -> None:
    """Index these manifestations, replacing what was indexed of them before. Never commits."""
    for t in texts:
        titles = _folded((*t.titles, t.work_title))
        creators = _folded(t.creators)
        row = conn.execute("SELECT id FROM search_text WHERE manifestation = ?", (t.manifestation,)).fetchone()
        if row is None:
            rowid = conn.execute("INSERT INTO search_text (manifestation, work, work_title) VALUES (?, ?, ?)",
                                 (t.manifestation, t.work, t.work_title)).lastrowid
        else:
            rowid = row[0]
            conn.execute("UPDATE search_text SET work = ?, work_title = ? WHERE id = ?",
                         (t.work, t.work_title, rowid))
            conn.execute("DELETE FROM search_index WHERE rowid = ?", (rowid,))
            conn.execute("DELETE FROM search_key WHERE id = ?", (rowid,))
        conn.execute("INSERT INTO search_index (rowid, title, title_alt, creator, creator_alt) VALUES (?,?,?,?,?)",
                     (rowid, "\n".join(titles), _alternates(titles), "\n".join(creators), _alternates(creators)))
        keys = {(skeleton(f), "t") for f in titles} | {(skeleton(f), "c") for f in creators}
        conn.executemany("INSERT INTO search_key (key, field, id) VALUES (?, ?, ?)",
                         [(k, field, rowid) for k, field in keys])


def indexed_work(conn: sqlite3.Connection, manifestation: str) -> tuple[str | None, str | None] | None:
    """``(work, work title)`` as indexed for a manifestation, or None if nothing is."""
    return conn.execute("SELECT work, work_title FROM search_text WHERE manifestation = ?", (manifestation,)).fetchone()


def remove(conn: sqlite3.Connection, manifestations: Iterable[str]) -> None:
    """Take these manifestations out of the index (deleted records). Never commits."""
    for m in manifestations:
        row = conn.execute("SELECT id FROM search_text WHERE manifestation = ?", (m,)).fetchone()
        if row is not None:
            conn.execute("DELETE FROM search_index WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM search_key WHERE id = ?", (row[0],))
            conn.execute("DELETE FROM search_text WHERE id = ?", (row[0],))


# reading -----------------------------------------------------------------------------------

_COLUMNS = {"title": "{title title_alt}", "creator": "{creator creator_alt}",
            "any": "{title title_alt creator creator_alt}"}
CHUNK = 200  # ranked rows read at a time while distinct works are gathered
RANKED = 4_000  # matches ranked by relevance at most (see ranked)
EXACT = 200  # rows with exactly the title asked for, put first


@dataclass(frozen=True, slots=True)
class Words:
    """A search value cut into folded words; ``prefixes``: which of them match as beginnings."""

    words: tuple[str, ...]
    prefixes: tuple[bool | None, ...]  # None: the word itself or one it begins, the word first

    @classmethod
    def of(cls, value: str, *, last_is_prefix: bool = False) -> "Words":
        """Words of ``value``; one ending in ``*`` is a prefix, and with ``last_is_prefix`` the last
        one is too unless the value ends in a space (a word still being typed)."""
        words, prefixes = [], []
        for raw in value.split():
            star = raw.endswith("*")
            for w in fold(raw).split():
                words.append(w)
                prefixes.append(False)
            if star and prefixes:
                prefixes[-1] = True
        if last_is_prefix and prefixes and value[-1:].strip() and not value.rstrip().endswith("*"):
            prefixes[-1] = None
        return cls(tuple(words), tuple(prefixes))

    @property
    def text(self) -> str:
        return " ".join(self.words)


def _quoted(word: str) -> str:
    return '"' + word + '"'  # folded words hold letters and digits only


def _word(word: str, prefix: bool | None) -> str:
    forms = dict.fromkeys((word, skeleton(word)))
    if prefix is None:
        # BM25 sums over the alternatives, so the word itself scores above a longer one. A
        # single letter stays a word: as a prefix it would match a good part of the index.
        alternatives = [_quoted(f) for f in forms] + [_quoted(f) + " *" for f in forms if len(f) > 1]
    else:
        alternatives = [_quoted(f) + (" *" if prefix else "") for f in forms]
    return alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"


def expression(field: str, words: Words, relation: str = "all") -> str | None:
    """The FTS5 query for ``words`` in ``field`` (title, creator, any) under a CQL ``relation``:
    ``all`` every word in any order, ``any`` one of them, ``adj`` the words as a phrase (``exact``
    too: :func:`exact` then finds the rows whose whole text they are). None: no words."""
    if field not in _COLUMNS:
        raise ValueError(f"no search field {field!r}")
    if not words.words:
        return None
    if relation in ("adj", "exact"):
        phrases = []
        for form in dict.fromkeys((words.text, skeleton(words.text))):
            star = " *" if words.prefixes[-1] else ""
            phrases.append(_quoted(form) + star)
        inner = phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"
    else:
        joiner = " OR " if relation == "any" else " AND "
        inner = "(" + joiner.join(_word(w, p) for w, p in zip(words.words, words.prefixes)) + ")"
    return f"{_COLUMNS[field]} : {inner}"


def exact(conn: sqlite3.Connection, field: str, words: Words, limit: int | None = None) -> list[int]:
    """Rows with a title (``title``), creator (``creator``) or either (``any``) that is exactly
    these words, folded (CQL ``exact`` and ``==``)."""
    fields = {"title": ("t",), "creator": ("c",), "any": ("t", "c")}[field]
    marks = ",".join("?" * len(fields))
    return [r[0] for r in conn.execute(
        f"SELECT DISTINCT id FROM search_key WHERE key = ? AND field IN ({marks}) ORDER BY id LIMIT ?",
        (skeleton(words.text), *fields, -1 if limit is None else limit))]


def ranked(conn: sqlite3.Connection, expr: str, *, exact_title: str | None = None) -> Iterator[int]:
    """Row ids matching ``expr``, the most relevant first: those with a title that is exactly
    ``exact_title`` (folded; the first catalogued first), then by BM25 over the matched columns.

    BM25 costs about 2 µs a matching row, so a word found in 100,000 titles ("the") would take
    0.2 s to rank. Only the ``RANKED`` most recently indexed matches are ranked; any older
    ones follow, newest first."""
    first = exact(conn, "title", Words.of(exact_title), EXACT) if exact_title else []
    # One look-up a row, and only as far as the caller reads: FTS5 reads a single rowid directly
    # but would filter a whole match for IN, and a prefix costs as much once as for every row.
    matching = "SELECT 1 FROM search_index WHERE search_index MATCH ? AND rowid = ?"
    yield from (i for i in first if conn.execute(matching, (expr, i)).fetchone())
    skip = set(first)
    bound = conn.execute("SELECT rowid FROM search_index WHERE search_index MATCH ? ORDER BY rowid DESC "
                         "LIMIT 1 OFFSET ?", (expr, RANKED - 1)).fetchone()
    window, rest = ("", None) if bound is None else (" AND rowid >= ?", bound[0])
    # Most answers are one page: its rows come from a top-N sort, the rest (rarely wanted) from
    # one full sort, read only as far as needed.
    query = (f"SELECT rowid FROM search_index WHERE search_index MATCH ?{window} ORDER BY rank, rowid "
             "LIMIT ? OFFSET ?")
    args = (expr,) if rest is None else (expr, rest)
    rows = conn.execute(query, (*args, CHUNK, 0)).fetchall()
    yield from (r for (r,) in rows if r not in skip)
    if len(rows) == CHUNK:
        yield from (r for (r,) in conn.execute(query, (*args, -1, CHUNK)) if r not in skip)
    if rest is not None:
        yield from (r for (r,) in conn.execute(
            "SELECT rowid FROM search_index WHERE search_index MATCH ? AND rowid < ? ORDER BY rowid DESC",
            (expr, rest)) if r not in skip)


def count(conn: sqlite3.Connection, expr: str, cap: int) -> int:
    """How many rows match ``expr``, counted up to ``cap``."""
    return conn.execute("SELECT count(*) FROM (SELECT 1 FROM search_index WHERE search_index MATCH ? LIMIT ?)",
                        (expr, cap)).fetchone()[0]


REMEMBERED_ROWS = 200  # rows of a search remembered at most: 20 pages of ten


class Recent:
    """What the latest searches over one read-only connection found, to answer them again: a
    few searches are most of what is asked ("the", a new book's title), and ranking a common
    word's matches costs milliseconds each time. The index changes only when another
    connection commits, which moves SQLite's ``data_version``: everything is forgotten then.
    The last ``size`` searches at most (:class:`.cores.Memo`: those asked again stay); each
    holds at most ``REMEMBERED_ROWS`` row numbers (a page deep in a list is ranked again)."""

    def __init__(self, size: int = 2_000):
        self.size = size
        self._version: int | None = None
        self._found = Memo(max(1, size // 2))  # (a memo holds up to twice its size)

    def get(self, conn: sqlite3.Connection, key):
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:  # (a race of two threads can only forget more)
            self._found = Memo(max(1, self.size // 2))
            self._version = version
            return None
        return self._found.get(key)

    def put(self, key, value) -> None:
        self._found.put(key, value)


def first_rows(conn: sqlite3.Connection, expr: str, n: int, *, cap: int, exact_title: str | None = None,
               recent: Recent | None = None) -> tuple[int, tuple[int, ...]]:
    """How many rows match ``expr`` (counted up to ``cap``) and the first ``n`` of them in
    :func:`ranked` order; ``recent`` remembers them for the next to ask."""
    key = (expr, exact_title, cap)
    known = recent.get(conn, key) if recent is not None else None
    if known is not None:
        total, rows = known
        if len(rows) >= min(n, total):
            return total, rows[:n]
    total = count(conn, expr, cap)
    rows = tuple(r for _, r in zip(range(min(n, total)), ranked(conn, expr, exact_title=exact_title)))
    if recent is not None and len(rows) <= REMEMBERED_ROWS:  # the first pages, not a deep one's 10,000 rows
        recent.put(key, (total, rows))
    return total, rows


def manifestations(conn: sqlite3.Connection, rowids: Sequence[int]) -> list[str]:
    """The manifestation IRIs of these rows, in their order."""
    found = {}
    for i in range(0, len(rowids), 500):  # SQLite takes a few thousand parameters at most
        part = tuple(rowids[i:i + 500])
        marks = ",".join("?" * len(part))
        found.update(conn.execute(f"SELECT id, manifestation FROM search_text WHERE id IN ({marks})", part))
    return [found[r] for r in rowids if r in found]


def rows_of(conn: sqlite3.Connection, iris: Iterable[str]) -> dict[str, int]:
    """The rows of these manifestations that are in the index (deleted ones are not)."""
    iris = list(iris)
    if not iris:
        return {}
    marks = ",".join("?" * len(iris))
    return dict(conn.execute(f"SELECT manifestation, id FROM search_text WHERE manifestation IN ({marks})", iris))


def search_manifestations(conn: sqlite3.Connection, field: str, value: str, relation: str = "all", *,
                          limit: int = 20, offset: int = 0) -> list[str]:
    """Manifestations whose ``field`` holds ``value`` under ``relation``, most relevant first."""
    words = Words.of(value)
    if relation == "exact":
        return manifestations(conn, exact(conn, field, words, offset + limit)[offset:]) if words.words else []
    expr = expression(field, words, relation)
    if expr is None:
        return []
    exact_title = words.text if field in ("title", "any") else None
    found = [r for _, r in zip(range(offset + limit), ranked(conn, expr, exact_title=exact_title))]
    return manifestations(conn, found[offset:])


def iter_works(conn: sqlite3.Connection, title: str | None = None, creator: str | None = None):
    """(work IRI, its preferred title) of the works whose manifestations match every word of
    ``title`` in titles and of ``creator`` in creators, each work once, the most relevant first
    (a work whose title is ``title`` exactly before the others). The last word of each is also
    a beginning (``histor`` finds ``history``), the word itself ranked first."""
    parts = []
    title_words = Words.of(title or "", last_is_prefix=True)
    for field, words in (("title", title_words), ("creator", Words.of(creator or "", last_is_prefix=True))):
        expr = expression(field, words)
        if expr is not None:
            parts.append(expr)
    if not parts:
        return
    seen = set()
    rowids = ranked(conn, " AND ".join(parts), exact_title=title_words.text or None)
    size = 25  # a first page often comes from the first rows: read more only when it does not
    while True:
        chunk = [r for _, r in zip(range(size), rowids)]
        size = min(CHUNK, size * 2)
        if not chunk:
            return
        marks = ",".join("?" * len(chunk))
        works = dict(conn.execute(f"SELECT id, work FROM search_text WHERE id IN ({marks})", chunk))
        labels = dict(conn.execute(
            f"SELECT work, work_title FROM search_text WHERE id IN ({marks}) AND work IS NOT NULL", chunk))
        for r in chunk:
            work = works.get(r)
            if work is not None and work not in seen:
                seen.add(work)
                yield work, labels.get(work)


def search_works(conn: sqlite3.Connection, title: str | None = None, creator: str | None = None, *,
                 limit: int = 20, offset: int = 0) -> list[tuple[str, str | None]]:
    """A page of :func:`iter_works`."""
    out = []
    for i, found in enumerate(iter_works(conn, title, creator)):
        if i >= offset + limit:
            break
        if i >= offset:
            out.append(found)
    return out
