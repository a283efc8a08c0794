"""MARC-in-JSON cut into records on balanced braces (see :mod:`.reader`), without parsing them:
objects nested past 64 levels are cut at the next line that starts an object."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import BinaryIO

from metadatabronn.errors import InputError
from metadatabronn.marc.kinds import Chunk, Format
from metadatabronn.marc.limits import BLOCK, MAX_CHUNK

__all__ = ["json_chunks"]


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


def json_chunks(stream: BinaryIO, buf: bytes, name: str) -> Generator[Chunk, None, tuple[int, bytes]]:
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
            if end < 0 and not eof and len(buf) - pos < MAX_CHUNK:
                more = stream.read(BLOCK)
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
                end = min(len(buf), pos + MAX_CHUNK)  # unterminated: parse will say so
        else:
            # Not an object where one should start: hand it over to be rejected.
            m = _JSON_GARBAGE_END.search(buf, pos + 1)
            end = m.start() if m else len(buf)
        state = None
        number += 1
        yield Chunk(number, json, buf[pos:end], name)
        pos = end
