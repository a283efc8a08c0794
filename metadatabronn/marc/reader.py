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

from metadatabronn import config
from metadatabronn.errors import InputError, ReadError
from metadatabronn.marc.jsonread import json_chunks as _json_chunks
from metadatabronn.marc.kinds import Chunk, Format, xml_error_data
from metadatabronn.marc.limits import BLOCK, MAX_CHUNK, UTF8_BOM
from metadatabronn.marc.xmlread import xml_chunks as _xml_chunks

__all__ = ["iter_chunks"]

log = logging.getLogger(__name__)

# The longest legal ISO 2709 record; keeping this much buffered lets the fast path take a
# whole record by its leader length without a refill in the middle.
_MAX_ISO = 99_999
_WHITESPACE = b" \t\r\n"
_ISO_SEPARATORS = frozenset(b"\r\n\x00\x1a")
_ISO_PADDING = b" \t\r\n\x00\x1a"

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
        data = self._stream.read1(size if size and size > 0 else BLOCK)
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
                part = self._read1(BLOCK if everything else wanted)
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
    head = stream.read(BLOCK)
    while head and not head.strip(_WHITESPACE) and len(head) < MAX_CHUNK:
        more = stream.read(BLOCK)
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
    body = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
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
            more = stream.read(BLOCK)
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
            while found < 0 and not eof and size - pos < MAX_CHUNK:
                more = stream.read(BLOCK)
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
            elif size - pos >= MAX_CHUNK:
                end = pos + MAX_CHUNK
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
