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
from typing import Iterable, Sequence

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
        work_title TEXT,
        title_key TEXT,
        proper_key TEXT)""",
    "CREATE INDEX IF NOT EXISTS search_text_work ON search_text(work)",
    "CREATE INDEX IF NOT EXISTS search_text_title_key ON search_text(title_key)",
    "CREATE INDEX IF NOT EXISTS search_text_proper_key ON search_text(proper_key)",
    # One row per search_text row, same rowid. Each text of a column on a line of its own (the
    # tokenizer ignores line ends; the exact relation reads them back). The *_alt columns hold
    # the alternate spelling, only where it differs.
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
        title, title_alt, creator, creator_alt,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')""",
)


def create(conn: sqlite3.Connection) -> None:
    """The tables and indexes of the text index, if they are not there yet."""
    for statement in SCHEMA:
        conn.execute(statement)


def _lines(values: Iterable[str]) -> tuple[str, str]:
    folded, seen = [], set()
    for value in values:
        f = fold(value) if value else ""
        if f and f not in seen:
            seen.add(f)
            folded.append(f)
    alternate = [s for s in (skeleton(f) for f in folded) if s not in seen]
    return "\n".join(folded), "\n".join(dict.fromkeys(alternate))


def put(conn: sqlite3.Connection, texts: Iterable[Text]) -> None:
    """Index these manifestations, replacing what was indexed of them before. Never commits."""
    for t in texts:
        title, title_alt = _lines((*t.titles, *((t.work_title,) if t.work_title else ())))
        creator, creator_alt = _lines(t.creators)
        work_key = skeleton(fold(t.work_title)) if t.work_title else None
        proper_key = skeleton(fold(t.titles[0])) if t.titles else None
        row = conn.execute("SELECT id FROM search_text WHERE manifestation = ?", (t.manifestation,)).fetchone()
        if row is None:
            rowid = conn.execute(
                "INSERT INTO search_text (manifestation, work, work_title, title_key, proper_key) VALUES (?,?,?,?,?)",
                (t.manifestation, t.work, t.work_title, work_key, proper_key)).lastrowid
        else:
            rowid = row[0]
            conn.execute("UPDATE search_text SET work = ?, work_title = ?, title_key = ?, proper_key = ? WHERE id = ?",
                         (t.work, t.work_title, work_key, proper_key, rowid))
            conn.execute("DELETE FROM search_index WHERE rowid = ?", (rowid,))
        conn.execute("INSERT INTO search_index (rowid, title, title_alt, creator, creator_alt) VALUES (?,?,?,?,?)",
                     (rowid, title, title_alt, creator, creator_alt))


def remove(conn: sqlite3.Connection, manifestations: Iterable[str]) -> None:
    """Take these manifestations out of the index (deleted records). Never commits."""
    for m in manifestations:
        row = conn.execute("SELECT id FROM search_text WHERE manifestation = ?", (m,)).fetchone()
        if row is not None:
            conn.execute("DELETE FROM search_index WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM search_text WHERE id = ?", (row[0],))
