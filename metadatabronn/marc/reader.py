"""Cut an input file into per-record chunks, in constant memory, without parsing records.

This runs in the main process ahead of the workers, so it does as little as possible per
record: ISO 2709 is split on the leader's length (checked against the 0x1D terminator),
MARC-in-JSON on balanced braces, and MARCXML is streamed with lxml and re-serialised record
by record. A damaged record still becomes a chunk, so that the caller can reject it with
its bytes; only whole-file problems raise :class:`~metadatabronn.errors.InputError`.

A file that cannot be read to its end (a truncated gzip, an I/O error) still yields every
record before the fault; then :class:`~metadatabronn.errors.ReadError` says after which
record reading stopped and why, with the bytes of the record cut short.

Hostile input costs only what is wrong with it:

- ISO 2709: a record cut short (or a length that lies, or garbage between records) ends
  where the next whole record begins, found by its leader, directory and terminator.
- MARCXML: no DTD or external entity is ever read or fetched. Entities the document's
  internal DTD declares are expanded here, at most 1,000,000 characters a record; a record
  whose reference is external, undeclared, circular or a "billion laughs" is rejected alone
  (an error chunk). Documents are fed to the parser block by block, so the records before a
  syntax error are kept; more than 4 MiB without the end of a record stops the file.
- Compressed input is unpacked as a stream, refused past ``METADATABRONN_MAX_UNPACKED``
  bytes (64 GiB) or, past 100 MiB, ``METADATABRONN_MAX_RATIO`` times its packed size (200).
- MARC-in-JSON nested past 64 levels is cut at the next line that starts an object; a JSON
  file without any object, an empty file, a PDF or another known non-MARC file raise
  ``InputError`` naming the file.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import lzma
import os
import re
import zlib
from collections.abc import Generator, Iterator
from typing import BinaryIO

from lxml import etree

from metadatabronn import config
from metadatabronn.errors import InputError, ReadError
from metadatabronn.marc.kinds import Chunk, Format, xml_error_data, xml_record_data

__all__ = ["iter_chunks"]

log = logging.getLogger(__name__)

_BLOCK = 1 << 20
# The longest legal ISO 2709 record; keeping this much buffered lets the fast path take a
# whole record by its leader length without a refill in the middle.
_MAX_ISO = 99_999
# No real record comes near this; past it a "record" is a run of garbage and is cut so
# that a file without terminators cannot fill memory.
_MAX_CHUNK = 16 << 20
_WHITESPACE = b" \t\r\n"
_ISO_SEPARATORS = frozenset(b"\r\n\x00\x1a")
_ISO_PADDING = b" \t\r\n\x00\x1a"
_UTF8_BOM = b"\xef\xbb\xbf"

_SLIM = "http://www.loc.gov/MARC21/slim"
_MARCXCHANGE = "info:lc/xmlns/marcxchange-v1"
_OAI = "http://www.openarchives.org/OAI/2.0/"
_MARC_CHILDREN = ("leader", "controlfield", "datafield")

# Compressed streams are recognised by content so that a misnamed file still reads.
_DECOMPRESSORS = (
    (b"\x1f\x8b", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    (b"BZh", lambda raw: bz2.BZ2File(raw, mode="rb")),
    (b"\xfd7zXZ\x00", lambda raw: lzma.LZMAFile(raw, mode="rb")),
)
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


def iter_chunks(path: str | os.PathLike, *, source: str | None = None) -> Iterator[Chunk]:
    """Yield the records of *path* as :class:`Chunk` objects, numbered from 1.

    The format is detected from the content (gzip, bzip2 and xz are unpacked first):
    first non-blank byte ``<`` is MARCXML, ``{`` or ``[`` MARC-in-JSON, otherwise ISO 2709.
    Raises ``InputError`` when the file cannot be read, is empty or is none of these, and
    ``ReadError`` (an ``InputError``) after the last whole record when reading fails part-way.
    """
    name = source if source is not None else os.fsdecode(path)
    with contextlib.ExitStack() as stack:
        try:
            raw = stack.enter_context(open(path, "rb"))
            magic = raw.peek(8)[:8]
            stream: BinaryIO = raw
            for prefix, opener in _DECOMPRESSORS:
                if magic.startswith(prefix):
                    stream = _Limited(stack.enter_context(opener(raw)), raw)
                    break
        except _READ_ERRORS as exc:
            raise InputError(f"{name}: cannot read: {_describe(exc)}") from exc
        guarded = _Guarded(stream)
        head = _read_head(guarded)
        if guarded.error is not None and not head.strip(_WHITESPACE):
            raise InputError(f"{name}: cannot read: {_describe(guarded.error)}") from guarded.error
        try:
            fmt, head = _detect(head, name)
        except InputError:
            if guarded.error is not None:  # a few bytes, then the fault: the fault is the news
                raise InputError(f"{name}: cannot read: {_describe(guarded.error)}") from guarded.error
            raise
        log.debug("%s: reading %s", name, fmt.value)
        if fmt is Format.ISO2709:
            number, partial = yield from _iso_chunks(guarded, head, name)
        elif fmt is Format.MARCJSON:
            number, partial = yield from _json_chunks(guarded, head, name)
        else:
            number, partial = yield from _xml_chunks(head, guarded, name, guarded)
        if guarded.error is not None:
            reason = _describe(guarded.error)
            if fmt is Format.MARCXML:
                partial = xml_error_data(reason)
            raise ReadError(name, reason, after=number, data=partial, format=fmt.value) from guarded.error


class _UnpackLimit(OSError):
    """A compressed input that unpacks past the configured limits (a decompression bomb?)."""


_RATIO_FLOOR = 100 << 20  # the ratio is not judged on less than this much unpacked


class _Limited:
    """A decompressed stream that refuses to give more than ``config.max_unpacked()`` bytes,
    or, past 100 MiB, more than ``config.max_ratio()`` times the packed bytes read so far.
    Reading stays piecewise, so memory stays bounded whatever the file unpacks to."""

    def __init__(self, stream: BinaryIO, packed: BinaryIO):
        self._stream = stream
        self._packed = packed
        self._limit = config.max_unpacked()
        self._ratio = config.max_ratio()
        self.total = 0

    def read1(self, size: int = -1) -> bytes:
        data = self._stream.read1(size if size and size > 0 else _BLOCK)
        self.total += len(data)
        if self.total > self._limit:
            raise _UnpackLimit(f"unpacks to more than {_size(self._limit)}, the limit for one compressed "
                               "file (METADATABRONN_MAX_UNPACKED): the rest is refused as a likely "
                               "decompression bomb")
        if self.total > _RATIO_FLOOR:
            packed = max(1, self._packed.tell())
            if self.total > self._ratio * packed:
                raise _UnpackLimit(f"unpacks to more than {self._ratio:g} times its packed size "
                                   f"({_size(self.total)} from {_size(packed)}; METADATABRONN_MAX_RATIO): "
                                   "the rest is refused as a likely decompression bomb")
        return data

    read = read1


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


class _Guarded:
    """A stream on which a read error ends the data, as the end of the file would, and is
    kept in ``error`` for the reader to report after the last whole record.

    It reads piecewise (``read1``): a decompressor that fails returns nothing of the read in
    progress, and the bytes before the fault must reach the records they belong to.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._read1 = getattr(stream, "read1", stream.read)
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            return b""
        everything = size is None or size < 0
        parts = []
        wanted = 0 if everything else size
        try:
            while everything or wanted > 0:
                part = self._read1(_BLOCK if everything else wanted)
                if not part:
                    break
                parts.append(part)
                wanted -= len(part)
        except _READ_ERRORS as exc:
            self.error = exc
        return parts[0] if len(parts) == 1 else b"".join(parts)


def _describe(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(text.split())


def _read_head(stream: BinaryIO) -> bytes:
    """Read the first block, going on while it is all blank, for format detection."""
    head = stream.read(_BLOCK)
    while head and not head.strip(_WHITESPACE) and len(head) < _MAX_CHUNK:
        more = stream.read(_BLOCK)
        if not more:
            break
        head += more
    return head


# Files that turn up among MARC files, said by name rather than as "unrecognised".
_NOT_MARC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a document packed as one: .docx, .xlsx, .odt, .epub)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program (ELF)"),
    (b"MZ", "a program (Windows)"),
    (b"SQLite format 3", "an SQLite database"),
)
_PRINTABLE_LEADER = re.compile(rb"[\x20-\x7e]{24}")


def _detect(head: bytes, name: str) -> tuple[Format, bytes]:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 is only plausible for XML, whose parser reads the byte order mark itself.
        text = head[:64].decode("utf-16", errors="replace").lstrip()
        if text.startswith("<"):
            return Format.MARCXML, head
        raise InputError(f"{name}: unrecognised format (UTF-16 text that is not XML)")
    body = head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head
    stripped = body.lstrip(_WHITESPACE)
    if not stripped:
        raise InputError(f"{name}: file is empty" + ("" if not head else " (blank space only)"))
    for magic, what in _NOT_MARC:
        if stripped.startswith(magic):
            raise InputError(f"{name}: not MARC: this is {what}")
    first = stripped[:1]
    if first == b"<":
        return Format.MARCXML, stripped  # a blank line before "<?xml" would be fatal
    if first in (b"{", b"["):
        return Format.MARCJSON, stripped
    # A damaged first leader must not hide a real MARC file, so structure bytes count too
    # (after a leader of printable ASCII: binary files hold those bytes by chance).
    if stripped[:5].isdigit() or (b"\x1e" in head and b"\x1d" in head
                                  and _PRINTABLE_LEADER.match(stripped) is not None):
        return Format.ISO2709, body
    raise InputError(f"{name}: unrecognised format (not MARCXML, MARC-in-JSON or ISO 2709)")


def _iso_chunks(stream: BinaryIO, buf: bytes, name: str) -> Generator[Chunk, None, tuple[int, bytes]]:
    """The records; returns how many, and the bytes of a last record a read error cut short."""
    pos = 0
    number = 0
    eof = False
    iso = Format.ISO2709
    while True:
        if not eof and len(buf) - pos <= _MAX_ISO:
            more = stream.read(_BLOCK)
            if more:
                buf = buf[pos:] + more
                pos = 0
            else:
                eof = True
        size = len(buf)
        while pos < size and buf[pos] in _ISO_SEPARATORS:
            pos += 1
        if pos >= size:
            if eof:
                return number, b""
            continue
        end = 0
        length = buf[pos : pos + 5]
        if length.isdigit():
            end = pos + int(length)
            if end > size or end - pos < 24 or buf[end - 1] != 0x1D:
                end = 0
        if not end:
            # Leader length unusable: the record ends at the next terminator, if any.
            found = buf.find(b"\x1d", pos)
            while found < 0 and not eof and size - pos < _MAX_CHUNK:
                more = stream.read(_BLOCK)
                if not more:
                    eof = True
                    break
                scanned = size - pos
                buf = buf[pos:] + more
                pos = 0
                found = buf.find(b"\x1d", scanned)
                size = len(buf)
            if found >= 0:
                end = found + 1
                # A record cut short runs into the next one: that one starts where a whole
                # record (leader, directory, terminator) ending here does.
                start = _record_start(buf, pos + 1, end)
                if start > 0:
                    log.debug("%s: record %d cut short; the next record starts %d bytes on",
                              name, number + 1, start - pos)
                    end = start
            elif size - pos >= _MAX_CHUNK:
                end = pos + _MAX_CHUNK
            else:
                tail = buf[pos:]
                if not tail.strip(_ISO_PADDING):
                    return number, b""
                if getattr(stream, "error", None) is not None:
                    return number, tail  # cut short by the read error: reported with it
                log.debug("%s: %d bytes after the last record terminator", name, len(tail))
                yield Chunk(number + 1, iso, tail, name)
                return number + 1, b""
        number += 1
        yield Chunk(number, iso, buf[pos:end], name)
        pos = end


_LEADER = re.compile(rb"\d{5}[\x20-\x7e]{7}\d{5}[\x20-\x7e]{7}")


def _record_start(buf: bytes, start: int, end: int) -> int:
    """Where, between *start* and *end*, a whole record begins that ends exactly at *end*
    (its leader's length and base address consistent with its terminators); -1 if none."""
    search = _LEADER.search
    pos = max(start, end - _MAX_ISO)  # no record is longer
    while True:
        m = search(buf, pos, end)
        if m is None:
            return -1
        q = m.start()
        length = int(buf[q : q + 5])
        base = int(buf[q + 12 : q + 17])
        if q + length == end and 25 <= base < length and buf[q + base - 1] == 0x1E and not (base - 25) % 12:
            return q
        pos = q + 1


_JSON_TOKEN = re.compile(rb'[{}\[\]"]')
_JSON_STRING_END = re.compile(rb'["\\]')
_JSON_BETWEEN = re.compile(rb"[\s,\[\]]*")
_JSON_GARBAGE_END = re.compile(rb"[\n{]")


# MARC-in-JSON nests 6 levels; past this an "object" is not a record, and scanning it for
# its end would cost time for nothing.
_MAX_JSON_DEPTH = 64
_TOO_DEEP = -2


def _json_object_end(buf: bytes, start: int, state: tuple[int, int] | None = None) -> tuple[int, tuple[int, int]]:
    """Index just past the object opening at *start*, or -1 if *buf* ends first, or
    ``_TOO_DEEP``; with where the scan stopped (position, depth), to go on from there once
    more bytes have come (never inside a string: a string cut short is scanned again)."""
    pos, depth = state or (start, 0)
    token = _JSON_TOKEN.search
    string_end = _JSON_STRING_END.search
    while True:
        m = token(buf, pos)
        if m is None:
            return -1, (len(buf), depth)
        char = buf[m.start()]
        if char == 0x22:  # a string: braces inside it do not count
            resume = m.start()
            pos = m.end()
            while True:
                s = string_end(buf, pos)
                if s is None:
                    return -1, (resume, depth)
                pos = s.end()
                if buf[s.start()] == 0x22:
                    break
                pos += 1  # the escaped character
            if pos > len(buf):  # the escaped character is still to come
                return -1, (resume, depth)
            continue
        pos = m.end()
        if char in b"{[":
            depth += 1
            if depth > _MAX_JSON_DEPTH:
                return _TOO_DEEP, (pos, depth)
        else:
            depth -= 1
            if depth == 0:
                return pos, (pos, depth)


def _nesting(buf: bytes) -> str:
    depth = len(buf) - len(buf.lstrip(b"[ \t\r\n"))
    return f"; arrays nested {buf[:depth].count(b'[')} deep" if buf[:depth].count(b"[") > 2 else ""


def _json_chunks(stream: BinaryIO, buf: bytes, name: str) -> Generator[Chunk, None, tuple[int, bytes]]:
    """One object, an array of objects, or objects one per line: each object is a chunk.

    Returns how many, and the bytes of a last object a read error cut short."""
    pos = 0
    number = 0
    eof = False
    json = Format.MARCJSON
    state = None  # how far the object at pos has been scanned
    while True:
        if state is None:
            pos = _JSON_BETWEEN.match(buf, pos).end()
        if pos >= len(buf) or buf[pos] == 0x7B:
            end = -1
            if pos < len(buf):
                if state is not None and state[1] > _MAX_JSON_DEPTH:
                    end = _TOO_DEEP
                else:
                    end, state = _json_object_end(buf, pos, state)
            if end == _TOO_DEEP:
                # Not a record: it ends where a line starts with the next object, if any.
                more_at = buf.find(b"\n{", state[0])
                end = more_at + 1 if more_at >= 0 else -1
            if end < 0 and not eof and len(buf) - pos < _MAX_CHUNK:
                more = stream.read(_BLOCK)
                if more:
                    if state is not None:
                        state = (state[0] - pos, state[1])
                    buf = buf[pos:] + more
                    pos = 0
                else:
                    eof = True
                continue
            if end < 0:
                if pos >= len(buf):
                    if number == 0 and getattr(stream, "error", None) is None:
                        raise InputError(f"{name}: no MARC-in-JSON record in this JSON (no object "
                                         f"with a leader and fields{_nesting(buf)})")
                    return number, b""
                if getattr(stream, "error", None) is not None:
                    return number, buf[pos:]  # cut short by the read error: reported with it
                end = min(len(buf), pos + _MAX_CHUNK)  # unterminated: parse will say so
        else:
            # Not an object where one should start: hand it over to be rejected.
            m = _JSON_GARBAGE_END.search(buf, pos + 1)
            end = m.start() if m else len(buf)
        state = None
        number += 1
        yield Chunk(number, json, buf[pos:end], name)
        pos = end


# MARCXML -------------------------------------------------------------------------------------

# Past this many bytes of XML without the end of a record the document is not a stream of
# records (or holds one no library would make): reading stops, so memory stays bounded.
_MAX_XML_RECORD = 4 << 20
# The text entity references may add to one record. A "billion laughs" asks for 3 GB.
_MAX_ENTITY_TEXT = 1_000_000
_MAX_ENTITY_DEPTH = 40
_PREDEFINED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _EntityError(Exception):
    """An entity reference that is not expanded; the record holding it is rejected."""


class _Entities:
    """The general entities a document's internal DTD subset declares, expanded here with a
    bound rather than by the XML parser, so that one record's bomb costs that record only.

    Internal entities (and character references in them) are expanded; external ones
    (``SYSTEM``/``PUBLIC``) are never fetched or read.
    """

    _TOKEN = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[^\s&;<>]+);|<!\[CDATA\[(.*?)\]\]>|<!--.*?-->|<[^>]*>",
                        re.S)

    def __init__(self, declared: dict[str, str | None]):
        self.declared = declared  # name → replacement text; None for an external entity
        self._sizes: dict[str, int] = {}
        self._texts: dict[str, str] = {}

    def _parts(self, name: str, stack: tuple[str, ...]) -> list:
        if name in _PREDEFINED:
            return [_PREDEFINED[name]]
        if name in stack:
            raise _EntityError(f"entity &{name}; refers to itself")
        if len(stack) > _MAX_ENTITY_DEPTH:
            raise _EntityError(f"entity &{stack[0]}; nests entities more than {_MAX_ENTITY_DEPTH} deep: not expanded")
        if name not in self.declared:
            raise _EntityError(f"entity &{name}; is not declared in the document's DTD")
        value = self.declared[name]
        if value is None:
            raise _EntityError(f"entity &{name}; is external: external entities are never read")
        parts: list = []
        last = 0
        for m in self._TOKEN.finditer(value):
            parts.append(value[last:m.start()])
            last = m.end()
            ref, cdata = m.group(1), m.group(2)
            if cdata is not None:
                parts.append(cdata)
            elif ref is None:
                continue  # a tag or comment in the entity's text: its text is kept, not it
            elif ref.startswith("#"):
                parts.append(_char(ref, name))
            else:
                parts.append((ref,))
        parts.append(value[last:])
        return parts

    def size(self, name: str, stack: tuple[str, ...] = ()) -> int:
        """Characters the reference expands to (at most just past the bound)."""
        if name in self._sizes:
            return self._sizes[name]
        total = 0
        for part in self._parts(name, stack):
            total += self.size(part[0], stack + (name,)) if isinstance(part, tuple) else len(part)
            if total > _MAX_ENTITY_TEXT:
                break
        self._sizes[name] = total
        return total

    def text(self, name: str) -> str:
        """The expansion of a reference whose :meth:`size` is known to be within bounds."""
        if name not in self._texts:
            self._texts[name] = "".join(self.text(p[0]) if isinstance(p, tuple) else p
                                        for p in self._parts(name, ()))
        return self._texts[name]


def _char(ref: str, entity: str) -> str:
    try:
        code = int(ref[2:], 16) if ref.startswith("#x") else int(ref[1:])
        char = chr(code)
    except (ValueError, OverflowError):
        raise _EntityError(f"entity &{entity}; holds a bad character reference &{ref};") from None
    if not (char in "\t\n\r" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code):
        raise _EntityError(f"entity &{entity}; holds a character XML does not allow: &{ref};")
    return char


_PROLOG_SKIP = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)?", re.S)
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+([^\s\[>]+)")
_ENTITY_DECL = re.compile(
    r"""<!ENTITY\s+(%\s+)?([^\s%;&<>"']+)\s+(?:"([^"]*)"|'([^']*)'|(SYSTEM|PUBLIC)\b)""")
_DTD_SCAN = re.compile(rb"""["'\[\]>]|<!--""")
_CHAR_REF = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);")
_STANDALONE = re.compile(rb"""(<\?xml[^>]*?standalone\s*=\s*)(["'])yes\2""")
_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _prolog(head: bytes, name: str) -> tuple[bytes, _Entities | None]:
    """Take a DOCTYPE out of the document's prolog, keeping the entities it declares.

    It is replaced by one that names an external subset nobody reads, so that the parser
    leaves entity references in the tree (instead of failing on them) and expands nothing;
    the lines are kept, so the parser's line numbers stay right. ``None``: no DOCTYPE (or one
    not understood, which the parser then reads as it is: safely, as it reads no DTD)."""
    if b"<!DOCTYPE" not in head[:_BLOCK]:
        return head, None
    pos = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    while True:  # past the XML declaration, comments and processing instructions
        m = _PROLOG_SKIP.match(head, pos)
        if m.end() == pos:
            break
        pos = m.end()
    m = _DOCTYPE.match(head, pos)
    if m is None:
        return head, None
    end = m.end()
    subset = b""
    opening = -1
    while True:  # to the end of the DOCTYPE: quoted strings and comments may hold "]" or ">"
        t = _DTD_SCAN.search(head, end)
        if t is None:
            return head, None
        token = t.group()
        end = t.end()
        if token in (b'"', b"'", b"<!--"):
            close = head.find(b"-->" if token == b"<!--" else token, end)
            if close < 0:
                return head, None
            end = close + (3 if token == b"<!--" else 1)
        elif token == b"[":
            opening = end
        elif token == b"]" and opening >= 0:
            subset = head[opening : t.start()]
            opening = -2
        elif token == b">" and opening < 0:
            break
    enc = _ENCODING.match(head, len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0)
    try:
        text = subset.decode(enc.group(1).decode("ascii") if enc else "utf-8")
    except (LookupError, UnicodeDecodeError):
        text = subset.decode("utf-8", "replace")
    declared: dict[str, str | None] = {}
    for d in _ENTITY_DECL.finditer(text):
        if d.group(1) or d.group(2) in declared:  # parameter entities; the first one counts
            continue
        value = d.group(3) if d.group(3) is not None else d.group(4)
        if value is not None:  # character references are expanded where the entity is declared
            value = _CHAR_REF.sub(lambda c: _safe_chr(c.group(1)), value)
        declared[d.group(2)] = value
    if declared:
        log.debug("%s: %d entities declared in the DTD", name, len(declared))
    doctype = b'<!DOCTYPE ' + m.group(1) + b' SYSTEM "about:blank">'
    doctype += b"\n" * head.count(b"\n", pos, end)
    prolog = _STANDALONE.sub(rb"\1\2no\2", head[:pos])  # "yes" would make a reference fatal
    return prolog + doctype + head[end:], _Entities(declared)


def _safe_chr(ref: str) -> str:
    try:
        return chr(int(ref[1:], 16) if ref.startswith("x") else int(ref))
    except (ValueError, OverflowError):
        return "\ufffd"


def _xml_chunks(head: bytes, stream: BinaryIO, name: str,
                guarded: _Guarded | None = None) -> Generator[Chunk, None, tuple[int, bytes]]:
    """The records; returns how many (and b"": the part of a record cut short is not kept).

    The document is fed to a pull parser block by block: the records completed before a
    fault in a block are yielded before the fault is reported."""
    head, entities = _prolog(head, name)
    parser = etree.XMLPullParser(
        events=("end",),
        tag="{*}record",
        resolve_entities=False,  # entities are expanded here, with a bound (see _Entities)
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    state = {"number": 0, "bare_root": None}
    fed = last_record = 0
    data = head
    failure: str | None = None
    while True:
        if not data:
            data = stream.read(_BLOCK)
            if not data:
                break
        try:
            parser.feed(data)
        except etree.XMLSyntaxError as exc:
            failure = _xml_reason(exc)
        fed += len(data)
        data = b""
        seen = state["number"]
        try:
            yield from _xml_records(parser, name, state, entities)
        except etree.XMLSyntaxError as exc:
            failure = failure or _xml_reason(exc)
        if state["number"] != seen or state.get("envelope"):
            last_record = fed
            state["envelope"] = False
        if failure is None and fed - last_record > _MAX_XML_RECORD:
            failure = (f"more than {_MAX_XML_RECORD >> 20} MiB of XML without the end of a record: "
                       "not MARCXML, or a record far larger than any MARC record")
        if failure is not None:
            break
    root = None
    if failure is None:
        try:
            root = parser.close()
        except etree.XMLSyntaxError as exc:  # the document ends early: no more records
            failure = _xml_reason(exc)
        else:
            yield from _xml_records(parser, name, state, entities)
    number = state["number"]
    if failure is not None:
        if guarded is not None and guarded.error is not None:
            return number, b""  # the document ends where reading failed: that is the fault
        log.warning("%s: %s (after %d records)", name, failure, number)
        yield Chunk(number + 1, Format.MARCXML, xml_error_data(failure), name)
        return number + 1, b""
    if number == 0 and (guarded is None or guarded.error is None):
        local = etree.QName(root).localname if root is not None and isinstance(root.tag, str) else ""
        if local not in _CONTAINERS:  # XHTML, RSS, anything but an empty answer with records
            raise InputError(f"{name}: not MARC: an XML document of <{local}> without MARC records")
        log.warning("%s: no MARC records in this XML document", name)
    return number, b""


# Roots of documents that hold MARC records, or would: a collection, an SRU or OAI-PMH answer.
_CONTAINERS = frozenset({"collection", "record", "records", "searchRetrieveResponse", "OAI-PMH",
                         "ListRecords", "GetRecord", "explainResponse"})


def _xml_reason(exc: etree.XMLSyntaxError) -> str:
    msg = exc.msg or str(exc)
    if msg.startswith("Document is empty") or msg.startswith("no element found"):
        return "XML not well-formed: the document ends before its root element is closed"
    reason = f"XML not well-formed: {msg}"
    if exc.position and "line" not in msg:
        reason += f", line {exc.position[0]}, column {exc.position[1]}"
    return reason


def _xml_records(parser: etree.XMLPullParser, name: str, state: dict,
                 entities: _Entities | None) -> Iterator[Chunk]:
    for _event, elem in parser.read_events():
        namespace, _, local = elem.tag.rpartition("}")
        namespace = namespace[1:]
        if state["bare_root"] is None:
            root = elem.getroottree().getroot()
            state["bare_root"] = root.tag in ("collection", "record")
        if namespace in (_SLIM, _MARCXCHANGE) or (
            not namespace and (state["bare_root"] or _has_marc_children(elem))
        ):
            state["number"] += 1
            yield Chunk(state["number"], Format.MARCXML, _record_data(elem, entities), name)
        else:
            state["envelope"] = True
            if namespace == _OAI:
                header = elem.find(f"{{{_OAI}}}header")
                if header is not None and header.get("status") == "deleted":
                    log.debug("%s: skipping deleted OAI record %s", name,
                              header.findtext(f"{{{_OAI}}}identifier"))
        # Drop what has been handled so that memory stays flat on huge files.
        elem.clear()
        parent = elem.getparent()
        if parent is not None:
            while elem.getprevious() is not None:
                del parent[0]


_MARK = re.compile("\ue000([^\ue001]*)\ue001".encode())


def _record_data(elem: etree._Element, entities: _Entities | None) -> bytes:
    """The record's chunk; a record whose entity references cannot be expanded becomes an
    error chunk with the reason and the record as written (references kept as they were)."""
    if entities is None or next(elem.iter(etree.Entity), None) is None:
        try:
            return xml_record_data(elem)
        except ValueError as exc:  # an entity reference without any DTD (a UTF-16 prolog)
            return xml_error_data(str(exc), xml_record_data(elem, lambda n: f"\ue000{n}\ue001"))
    try:
        refs = [e.name for e in elem.iter(etree.Entity)]
        total = 0
        for ref in refs:
            total += entities.size(ref)
            if total > _MAX_ENTITY_TEXT:
                raise _EntityError(f"entity &{ref}; expands past the {_MAX_ENTITY_TEXT:,} characters "
                                   "entities may add to one record (an entity expansion bomb?): not expanded")
        return xml_record_data(elem, entities.text)
    except RecursionError:
        exc = _EntityError("entities nested too deeply to expand")
        record = xml_record_data(elem, lambda n: f"\ue000{n}\ue001")
        return xml_error_data(str(exc), _MARK.sub(rb"&\1;", record))
    except _EntityError as exc:
        record = xml_record_data(elem, lambda n: f"\ue000{n}\ue001")
        return xml_error_data(str(exc), _MARK.sub(rb"&\1;", record))


def _has_marc_children(elem: etree._Element) -> bool:
    return any(elem.find(child) is not None for child in _MARC_CHILDREN)
