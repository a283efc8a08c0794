"""Aliases: a translation's own title as a second name of its original's work.

A record that names its original (``mapping.translation.read``: 240/130 with a translation, 765,
7XX $i/$t, an accepted 500 note) says two things: its work is the original's, and its own title
proper, under its creator, is what that work is called in the translation's language. So the key
(creator, own title) is an *alias* of the original's key. Another record of that creator whose own
work key is that alias, which names no original of its own, and whose language is not the
original's (or whose 041 $h says it is a translation), gets the original's work and an expression
of its own. Only keys the input states are used: no fuzzy matching.

A run collects the aliases of all its input files (:func:`scan`): a quick pass that parses only
the records that could name an original, so which record comes first does not matter. With a
process pool the scan runs in a thread beside the first conversions: the workers are forked
before it ends, join nothing (:data:`DEFERRED`) and give back each record's own work key, and
the run converts again, with the whole table, the few records whose key it names. Converting in
one process, or on a cluster, the table is made first and set before converting (:func:`activate`).
An alias whose key the store had already minted (a work of its own from an earlier run) is not
applied: IRIs once minted stay, and that work stays apart until a cataloguer merges it
(``run.ingest`` converts such a record again without the table).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable

from .. import identity
from ..errors import InputError, MetadatabronnError
from ..mapping import convert
from ..mapping import terms as T
from ..mapping import translation
from ..mapping.model import Description
from ..marc import Chunk, Format, RecordKind, iter_chunks, parse_chunk, record_kind

log = logging.getLogger(__name__)

# Fields without which a record cannot name its original (translation.SIGNALS): a record with
# none of these tags, and none of the wordings below, is not parsed at all.
_TAGS = frozenset({b"041", b"130", b"240", b"246", b"765"})
# In ISO 2709 a field is looked at before the record is parsed: what of it makes it a signal (a
# 041 with $h or first indicator 1, a 130 or 240 with $l, any 765). A 246 signals only with an
# $i label (translation.ORIGINAL_TITLE_LABELS), which the wordings below find. Most LC records
# have a 041 or a 246 that signals nothing: parsed, they were most of the scan's time.
_SIGNAL_IN_FIELD = {b"041": lambda f: f[:1] == b"1" or b"\x1fh" in f, b"130": lambda f: b"\x1fl" in f,
                    b"240": lambda f: b"\x1fl" in f, b"765": lambda f: True}
# The 500 and 7XX $i wordings (translation.NOTE, LINK_WORDINGS) and the 246 $i labels, in lower
# case, as fragments that hold in UTF-8 (composed or not) and in MARC-8 alike.
_WORDINGS = (b"translation of", b"original", b"oversettelse", b"ttning av", b"perustana",
             b"nn\xc3\xb6s", b"nno\xcc\x88s", b"nn\xe8os", b"bersetzung", b"tyt. oryg", b"alkuteos")


def may_name_original(chunk: Chunk) -> bool:
    """False only for a record that certainly names no original (checked on its bytes)."""
    data = chunk.data
    if _kind_on_bytes(chunk) not in _MAY_BE_BIBLIOGRAPHIC:
        return False  # an authority record (a register holds thousands) is not parsed at all
    if chunk.format is Format.ISO2709:
        try:
            base = int(data[12:17])
        except ValueError:
            return True
        directory = data[24:base - 1]
        for i in range(0, len(directory) - 11, 12):
            signal = _SIGNAL_IN_FIELD.get(directory[i:i + 3])
            if signal is not None:
                try:
                    length, start = int(directory[i + 3:i + 7]), base + int(directory[i + 7:i + 12])
                except ValueError:
                    return True  # a damaged directory: parsed, as the conversion will
                if signal(data[start:start + length]):
                    return True
    elif any(b'"' + tag + b'"' in data or b"'" + tag + b"'" in data for tag in _TAGS):
        return True
    lowered = data.lower()
    return any(w in lowered for w in _WORDINGS)


# A blank Leader/06 with a 245 is a bibliographic record (marc.record_kind): parsed to find out.
_MAY_BE_BIBLIOGRAPHIC = (RecordKind.BIBLIOGRAPHIC, RecordKind.UNKNOWN)
_XML_LEADER = b"<leader>"
_UTF8_BOM = b"\xef\xbb\xbf"


def _kind_on_bytes(chunk: Chunk) -> RecordKind:
    """The kind of record a chunk's Leader/06 says, read off its bytes where they say it plainly
    (ISO 2709: the leader's own bytes; MARCXML: the one ``<leader>`` of the reader's document,
    24 ASCII characters without a reference); else UNKNOWN (the record is parsed to find out)."""
    data = chunk.data
    if chunk.format is Format.ISO2709:
        leader = data[:24]
    elif chunk.format is Format.MARCXML:
        start = data.find(_XML_LEADER)
        if start < 0 or data.find(b"<leader", start + 1) >= 0:
            return RecordKind.UNKNOWN
        start += len(_XML_LEADER)
        leader = data[start:start + 24]
        if data[start + 24:start + 33] != b"</leader>" or b"&" in leader:
            return RecordKind.UNKNOWN
    else:
        return RecordKind.UNKNOWN
    if len(leader) != 24 or not leader.isascii():
        return RecordKind.UNKNOWN
    return record_kind(leader.decode("ascii"))


# A MARCXML leader as a plain element: 24 characters, no reference, no markup; found by its
# name first (a literal is searched for fast), its opening tag's "<" or prefix checked apart.
_XML_LEADER_ELEMENT = re.compile(rb"leader>([^<&]{24})</(?:[A-Za-z_][\w.-]*:)?leader>")
# Every tag of an element named leader holds one of these, once (text may hold one too).
_XML_LEADER_TAGS = (b"<leader", b"/leader", b":leader")
_MAX_CARRY = 1 << 23
_XML_UNREAD = (b"<!DOCTYPE", b"<!ENTITY", b"<![CDATA[")  # what the plain reading below cannot follow


def _records_of_other_kinds(path) -> int:
    """How many records a MARCXML file holds when every one of them is certainly not
    bibliographic (an authority file: its records are not even cut into chunks), else 0.

    Read as bytes, in blocks cut before a tag: every tag of an element named ``leader`` in the
    file must belong to a plain leader element (an opening and a closing tag around 24 plain
    characters), and each must say another kind of record. Anything else (a compressed file,
    another encoding, a DTD, CDATA, a leader with attributes or a reference, "/leader" in a
    text) answers 0, and the records are read one by one."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            start = head[3:] if head.startswith(_UTF8_BOM) else head
            if not start.lstrip().startswith(b"<"):
                return 0
            count = 0
            carry = b""
            block = head
            while block:
                buf = carry + block
                block = f.read(1 << 22)
                # Cut before the last opening tag: a leader element (no "<" inside) is never split.
                cut = len(buf) if not block else _last_opening_tag(buf)
                part, carry = buf[:cut], buf[cut:]
                if len(carry) > _MAX_CARRY:
                    return 0  # not markup as records are
                if b"<!" in part and any(marker in part for marker in _XML_UNREAD):
                    return 0
                leaders = 0
                for m in _XML_LEADER_ELEMENT.finditer(part):
                    leader = m.group(1)
                    if part[m.start() - 1:m.start()] not in (b"<", b":") or not leader.isascii() \
                            or record_kind(leader.decode("ascii")) in _MAY_BE_BIBLIOGRAPHIC:
                        return 0
                    leaders += 1
                # Each plain element holds two of the names; any other is a leader this reading
                # cannot vouch for (or the word in a text: read one by one all the same).
                if 2 * leaders != sum(part.count(tag) for tag in _XML_LEADER_TAGS):
                    return 0
                count += leaders
            return 0 if carry.strip() else count
    except OSError:
        return 0  # the run says why


def _last_opening_tag(buf: bytes) -> int:
    at = len(buf)
    while True:
        at = buf.rfind(b"<", 0, at)
        if at <= 0 or buf[at + 1:at + 2] != b"/":
            return max(at, 0)


@dataclass(frozen=True)
class Target:
    """The original's work an alias stands for, as a record naming it gives that work."""

    key: str
    basis: tuple[str, ...]
    title: str  # the work's preferred title
    access_point: str
    originals: frozenset[str]  # the original's languages (041 $h of the records naming it)
    translations: frozenset[str]  # the languages of the records naming it under this alias


@dataclass
class Table:
    """Alias key → the original's work, for the keys that name exactly one original."""

    targets: dict[str, Target] = field(default_factory=dict)
    records: int = 0  # records read by the scan
    parsed: int = 0  # of them, parsed (the others cannot name an original)
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.targets)

    def get(self, key: str) -> Target | None:
        return self.targets.get(key)


def _languages(description: Description) -> tuple[frozenset[str], frozenset[str]]:
    """(the expression's languages, the original languages its 041 $h names)."""
    expression = description.expression
    own = frozenset(code for code in expression.basis[3].split("+") if code)
    originals = frozenset(e.basis[3] for e in expression.values(T.E_TRANSLATION_OF) if e.basis[3])
    return own, originals


def naming(record) -> tuple[str, Target] | None:
    """(alias key, original's work) when the record names its original under another title."""
    reading = translation.read(record)
    if reading.original is None or not reading.reliable:
        return None
    creator, title = translation.own_name(record)
    if not creator or not title:
        return None  # without a creator a title alone is too common to be a work's name
    alias = identity.work_key(creator, title)
    description = convert(record)
    target = identity.key(description.work)
    if alias == target or description.deleted:
        return None
    work = description.work
    preferred = work.first(T.W_PREFERRED_TITLE)
    points = work.values(T.W_AAP)
    own, originals = _languages(description)
    return alias, Target(target, work.basis, preferred.text if preferred is not None else "",
                         points[-1].text if points else "", originals, own)


def scan(paths: Iterable[str]) -> Table:
    """The aliases the input files state. A file or record that cannot be read is passed over
    here (the run itself reports it)."""
    started = time.perf_counter()
    table = Table()
    found: dict[str, list[Target]] = {}
    for path in paths:
        others = _records_of_other_kinds(path)
        if others:
            table.records += others
            continue
        try:
            for chunk in iter_chunks(path):
                table.records += 1
                if chunk.is_xml_error or not may_name_original(chunk):
                    continue
                table.parsed += 1
                try:
                    record = parse_chunk(chunk)
                    if record_kind(record) is not RecordKind.BIBLIOGRAPHIC:
                        continue
                    named = naming(record)
                except MetadatabronnError:
                    continue
                except Exception:  # a record must never stop a run; conversion reports it
                    log.debug("alias scan: record %s of %s passed over", chunk.number, path, exc_info=True)
                    continue
                if named is not None:
                    found.setdefault(named[0], []).append(named[1])
        except InputError:
            continue
        except Exception:  # a fault of the reader: the run itself meets it and says so
            log.warning("alias scan: %s not read to its end", path, exc_info=True)
            continue
    named_originals = {t.key for targets in found.values() for t in targets}
    for alias, targets in found.items():
        if len({t.key for t in targets}) != 1 or alias in named_originals:
            # Two originals under one title, or a title that is itself named as an original:
            # the input does not say which work the title's other records belong to.
            continue
        first = min(targets, key=lambda t: (t.title, t.access_point, t.basis))
        table.targets[alias] = Target(first.key, first.basis, first.title, first.access_point,
                                      frozenset().union(*(t.originals for t in targets)),
                                      frozenset().union(*(t.translations for t in targets)))
    table.seconds = round(time.perf_counter() - started, 3)
    log.info("aliases: %d from %d records (%d parsed) in %.2f s", len(table), table.records, table.parsed,
             table.seconds)
    return table


def join(description: Description, record, table: Table) -> str:
    """Put the record's work under the original its own key is an alias of, if the record may
    join it; the alias key when it did, else ""."""
    alias = identity.key(description.work)
    target = table.get(alias)
    if target is None:
        return ""
    if translation.read(record).original is not None:
        return ""  # it names an original of its own
    own, originals = _languages(description)
    if own & target.originals:
        return ""  # in the original's language: the same title may be another work
    differs = bool(own) and bool(target.originals or own & target.translations)
    if not (differs or originals):
        return ""
    identity.adopt(description, target.basis, target.title, target.access_point)
    if target.originals:
        _drop_undetermined(description)
    return alias


def _drop_undetermined(description: Description) -> None:
    """A joined record's 041 $h und says nothing of the original the records naming it state:
    its "translation of an expression in an undetermined language" is left out, rather than give
    the original's work an expression in no language. (041 is carried whole: MARC is unchanged.)"""
    expression = description.expression
    gone = [e for e in expression.values(T.E_TRANSLATION_OF) if e.basis[3] == _UNDETERMINED]
    if gone:
        expression.statements = [(p, o) for p, o in expression.statements
                                 if not (p == T.E_TRANSLATION_OF and o in gone)]
        description.entities = [e for e in description.entities if not any(e is g for g in gone)]


_UNDETERMINED = "und"


# The table of the run under way: set before the conversion workers are forked, so that each
# inherits it; None outside a run.
_active: Table | None = None
# Set instead of a table in workers forked before the scan is over (``run.ingest`` with a
# process pool): a worker then joins nothing and gives back each record's own work key and
# bytes, and the run converts again, with the table, the records whose key it names.
DEFERRED = Table()


def activate(table: Table | None) -> None:
    global _active
    _active = table


def active() -> Table | None:
    return _active


class Scanning:
    """:func:`scan` in a thread of its own, started at once; :meth:`table` waits for its end.

    Start it after the conversion workers are forked: a process forked while the thread runs
    would hold a copy of whatever lock the thread held then."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._paths = list(paths)
        self._table: Table | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="metadatabronn-aliases", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._table = scan(self._paths)
        except BaseException as exc:  # raised where the run waits for the table, as scan() run there would
            self._failure = exc

    def table(self) -> Table:
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._table
