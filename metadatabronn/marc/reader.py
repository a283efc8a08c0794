"""Cut an input file into per-record chunks, in constant memory, without parsing records.

This runs in the main process ahead of the workers, so it does as little as possible per
record: ISO 2709 is split on the leader's length (checked against the 0x1D terminator),
MARC-in-JSON on balanced braces, and MARCXML is streamed with lxml and re-serialised record
by record. A damaged record still becomes a chunk, so that the caller can reject it with
its bytes; only whole-file problems raise :class:`~metadatabronn.errors.InputError`.

A file that cannot be read to its end (a truncated gzip, an I/O error) still yields every
record before the fault; then :class:`~metadatabronn.errors.ReadError` says after which
record reading stopped and why, with the bytes of the record cut short.
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
                    stream = stack.enter_context(opener(raw))
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
            number, partial = yield from _xml_chunks(_Prefixed(head, guarded), name, guarded)
        if guarded.error is not None:
            reason = _describe(guarded.error)
            if fmt is Format.MARCXML:
                partial = xml_error_data(reason)
            raise ReadError(name, reason, after=number, data=partial, format=fmt.value) from guarded.error


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
        raise InputError(f"{name}: file is empty")
    first = stripped[:1]
    if first == b"<":
        return Format.MARCXML, stripped  # a blank line before "<?xml" would be fatal
    if first in (b"{", b"["):
        return Format.MARCJSON, stripped
    # A damaged first leader must not hide a real MARC file, so structure bytes count too.
    if stripped[:5].isdigit() or (b"\x1e" in head and b"\x1d" in head):
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


_JSON_TOKEN = re.compile(rb'[{}\[\]"]')
_JSON_STRING_END = re.compile(rb'["\\]')
_JSON_BETWEEN = re.compile(rb"[\s,\[\]]*")
_JSON_GARBAGE_END = re.compile(rb"[\n{]")


def _json_object_end(buf: bytes, start: int) -> int:
    """Index just past the object opening at *start*, or -1 if *buf* ends first."""
    depth = 0
    pos = start
    token = _JSON_TOKEN.search
    string_end = _JSON_STRING_END.search
    while True:
        m = token(buf, pos)
        if m is None:
            return -1
        char = buf[m.start()]
        pos = m.end()
        if char == 0x22:  # a string: braces inside it do not count
            while True:
                s = string_end(buf, pos)
                if s is None:
                    return -1
                pos = s.end()
                if buf[s.start()] == 0x22:
                    break
                pos += 1  # the escaped character
        elif char in b"{[":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos


def _json_chunks(stream: BinaryIO, buf: bytes, name: str) -> Generator[Chunk, None, tuple[int, bytes]]:
    """One object, an array of objects, or objects one per line: each object is a chunk.

    Returns how many, and the bytes of a last object a read error cut short."""
    pos = 0
    number = 0
    eof = False
    json = Format.MARCJSON
    while True:
        pos = _JSON_BETWEEN.match(buf, pos).end()
        if pos >= len(buf) or buf[pos] == 0x7B:
            end = _json_object_end(buf, pos) if pos < len(buf) else -1
            if end < 0 and not eof and len(buf) - pos < _MAX_CHUNK:
                more = stream.read(_BLOCK)
                if more:
                    buf = buf[pos:] + more
                    pos = 0
                else:
                    eof = True
                continue
            if end < 0:
                if pos >= len(buf):
                    return number, b""
                if getattr(stream, "error", None) is not None:
                    return number, buf[pos:]  # cut short by the read error: reported with it
                end = min(len(buf), pos + _MAX_CHUNK)  # unterminated: parse will say so
        else:
            # Not an object where one should start: hand it over to be rejected.
            m = _JSON_GARBAGE_END.search(buf, pos + 1)
            end = m.start() if m else len(buf)
        number += 1
        yield Chunk(number, json, buf[pos:end], name)
        pos = end


class _Prefixed:
    """A read-only stream that returns the bytes already read for detection first."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._stream.read(), b""
            else:
                data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(size)


def _xml_chunks(stream: _Prefixed, name: str,
                guarded: _Guarded | None = None) -> Generator[Chunk, None, tuple[int, bytes]]:
    """The records; returns how many (and b"": the part of a record cut short is not kept)."""
    number = 0
    bare_root: bool | None = None
    events = etree.iterparse(
        stream,
        events=("end",),
        tag="{*}record",
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for _event, elem in events:
            namespace, _, local = elem.tag.rpartition("}")
            namespace = namespace[1:]
            if bare_root is None:
                root = elem.getroottree().getroot()
                bare_root = root.tag in ("collection", "record")
            if namespace in (_SLIM, _MARCXCHANGE) or (
                not namespace and (bare_root or _has_marc_children(elem))
            ):
                number += 1
                yield Chunk(number, Format.MARCXML, xml_record_data(elem), name)
            elif namespace == _OAI:
                header = elem.find(f"{{{_OAI}}}header")
                if header is not None and header.get("status") == "deleted":
                    log.debug(
                        "%s: skipping deleted OAI record %s",
                        name,
                        header.findtext(f"{{{_OAI}}}identifier"),
                    )
            # Drop what has been handled so that memory stays flat on huge files.
            elem.clear()
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        if guarded is not None and guarded.error is not None:
            return number, b""  # the document ends where reading failed: that is the fault
        reason = f"XML not well-formed: {exc.msg}"
        if exc.position and "line" not in exc.msg:
            reason += f", line {exc.position[0]}, column {exc.position[1]}"
        log.warning("%s: %s (after %d records)", name, reason, number)
        yield Chunk(number + 1, Format.MARCXML, xml_error_data(reason), name)
        return number + 1, b""
    if number == 0 and (guarded is None or guarded.error is None):
        log.info("%s: no MARC records in this XML document", name)
    return number, b""


def _has_marc_children(elem: etree._Element) -> bool:
    return any(elem.find(child) is not None for child in _MARC_CHILDREN)
