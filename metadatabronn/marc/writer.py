"""Writing MARC 21 records as a stream: ISO 2709, MARCXML (one collection) or MARC-in-JSON.

Only valid output is written. What a format cannot carry is replaced, and said: a leader
character outside printable ASCII becomes a blank; a character XML 1.0 does not allow (control
characters, U+FFFE, U+FFFF, lone surrogates), and in ISO 2709 the structure bytes 0x1D, 0x1E
and 0x1F inside a value, become U+FFFD; an indicator that is not one printable ASCII
character becomes a blank; a subfield whose code is not one printable ASCII character is left
out (ISO 2709 and MARCXML). A record that cannot be written at all in a format raises
:class:`~metadatabronn.errors.ExportError`: in ISO 2709 one over 99,999 bytes, a field over
9,999 bytes, a tag that is not three ASCII letters or digits. MARCXML and MARC-in-JSON write
records of any length.
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from pymarc import Record

from ..errors import ConfigError, ExportError

FORMATS = ("marc", "marcxml", "json")
_XML_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n')

# The longest record and field ISO 2709 can describe (5 and 4 digits in leader and directory).
MAX_ISO_RECORD = 99_999
MAX_ISO_FIELD = 9_999


class Writer:
    """Writes records one at a time, so an export of any size runs in constant memory."""

    def __init__(self, stream: BinaryIO, fmt: str = "marc"):
        if fmt not in FORMATS:
            raise ConfigError(f"unknown MARC format {fmt!r}: choose one of {', '.join(FORMATS)}")
        self.stream = stream
        self.format = fmt
        self.count = 0
        if fmt == "marcxml":
            stream.write(_XML_HEAD)
        elif fmt == "json":
            stream.write(b"[")

    def write(self, record: Record) -> None:
        self.write_encoded(encode(record, self.format))

    def write_encoded(self, data: bytes) -> None:
        """Write a record :func:`encode` made (perhaps in another process)."""
        if self.format == "json":
            self.stream.write(b",\n" if self.count else b"\n")
        self.stream.write(data)
        self.count += 1

    def close(self) -> None:
        if self.format == "marcxml":
            self.stream.write(b"</collection>\n")
        elif self.format == "json":
            self.stream.write(b"\n]\n")
        self.stream.flush()


def encode(record: Record, fmt: str, notes: list[str] | None = None) -> bytes:
    """One record in one of :data:`FORMATS`, as it goes into that format's stream.

    What had to be replaced to make the output valid is appended to ``notes`` (one line
    each: where, what); a record the format cannot hold raises ``ExportError``."""
    if fmt == "marc":
        return iso2709(record, notes)
    if fmt == "marcxml":
        # Inside the collection the MARCXML namespace is the default one already.
        return marcxml(record, notes=notes).encode("utf-8") + b"\n"
    leader = _leader(str(record.leader), notes)
    try:
        return json.dumps(_json_dict(record, leader), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON text in UTF-8 cannot carry it
        return json.dumps(_json_dict(record, leader, notes), ensure_ascii=False).encode("utf-8")


def _json_dict(record: Record, leader: str, notes: list[str] | None | bool = False) -> dict:
    if notes is False:
        clean = _same
    else:
        def clean(value: str, where: str) -> str:
            return _replace(_SURROGATE, value, where, notes)
    fields = []
    for f in record.fields:
        if f.is_control_field():
            fields.append({f.tag: clean(f.data or "", f.tag)})
        else:
            fields.append({f.tag: {"ind1": f.indicator1, "ind2": f.indicator2, "subfields": [
                {code: clean(value, f"{f.tag} ${code}")} for code, value in f.subfields]}})
    return {"leader": leader, "fields": fields}


def _same(value: str, where: str) -> str:
    return value


# What each format cannot carry -------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ISO_UNSAFE = re.compile("[\x1d\x1e\x1f\ud800-\udfff]")
_ISO_TAG = re.compile("[0-9A-Za-z]{3}")
_LEADER_UNSAFE = re.compile("[^\x20-\x7e]")


def _replace(pattern: re.Pattern, value: str, where: str, notes: list[str] | None) -> str:
    found = pattern.findall(value)
    if not found:
        return value
    if notes is not None:
        chars = ", ".join(sorted({f"U+{ord(c):04X}" for c in found}))
        notes.append(f"field {where}: {len(found)} character(s) the format cannot carry ({chars}) "
                     "replaced with U+FFFD")
    return pattern.sub("\ufffd", value)


def _leader(leader: str, notes: list[str] | None) -> str:
    if len(leader) == 24 and leader.isascii() and leader.isprintable():
        return leader
    fixed = _LEADER_UNSAFE.sub(" ", leader)
    fixed = (fixed + " " * 24)[:24]
    if notes is not None:
        notes.append(f"leader {leader!r}: characters outside printable ASCII or past position 23 "
                     f"replaced, written as {fixed!r}")
    return fixed


_INDICATOR_CHARS = frozenset(map(chr, range(0x20, 0x7F)))  # one printable ASCII character, blank too
_CODE_CHARS = frozenset(map(chr, range(0x21, 0x7F)))  # one printable ASCII character, not blank


def _indicator(value: object, tag: str, which: int, notes: list[str] | None) -> str:
    if isinstance(value, str) and value in _INDICATOR_CHARS:
        return value
    if notes is not None:
        notes.append(f"field {tag}: indicator {which} {value!r} is not one printable ASCII "
                     "character, written blank")
    return " "


# ISO 2709 -----------------------------------------------------------------------------------


def _code_ok(code: object, tag: str, value: str, notes: list[str] | None) -> bool:
    """A subfield code MARC 21 can carry: one printable ASCII character. Another (BIBSYS's local
    "BIBLIOTEK") cannot be written in ISO 2709 nor in schema-valid MARCXML: that one subfield is
    left out and said, and the record with the rest of the field is written."""
    if isinstance(code, str) and code in _CODE_CHARS:
        return True
    if notes is not None:
        notes.append(f"{tag}: subfield code {code!r} (value {value!r}) left out: a subfield code is one printable "
                     "ASCII character")
    return False


def iso2709(record: Record, notes: list[str] | None = None) -> bytes:
    """The record as ISO 2709 in UTF-8 (Leader/09 ``a``), byte for byte what pymarc writes
    for a valid record; ``ExportError`` for a record ISO 2709 cannot hold."""
    return _iso2709_plain(record) or _iso2709(record, notes)


_END_OR_SURROGATE = re.compile("[\x1d\ud800-\udfff]")  # (0x1E and 0x1F are counted instead)
_TAGS: set[str] = set()  # tags seen to be valid (a few hundred at most)


def _iso2709_plain(record: Record) -> bytes | None:
    """:func:`_iso2709` for a record with nothing to replace, leave out or refuse, written and
    checked whole rather than a subfield at a time; None for any other record, which the careful
    path then writes and explains."""
    leader = str(record.leader)
    if not (len(leader) == 24 and leader.isascii() and leader.isprintable()):
        return None
    texts = []
    subfields = 0
    for f in record.fields:
        if f.control_field:
            texts.append(f.data or "")
            continue
        indicators = f.indicators
        if indicators is None:
            return None
        first, second = indicators
        if not (type(first) is str and first in _INDICATOR_CHARS and type(second) is str and second in _INDICATOR_CHARS):
            return None
        pairs = f.subfields
        if not _CODE_CHARS.issuperset([code for code, _ in pairs]):
            return None
        texts.append("".join([first, second, *["\x1f" + code + value for code, value in pairs]]))
        subfields += len(pairs)
    if not texts:
        return None
    body = "\x1e".join(texts)
    # One 0x1E between fields and one 0x1F a subfield: any other is inside a value.
    if body.count("\x1e") != len(texts) - 1 or body.count("\x1f") != subfields or _END_OR_SURROGATE.search(body):
        return None
    sizes = [len(t) + 1 for t in texts] if body.isascii() else [len(t.encode("utf-8")) + 1 for t in texts]
    directory = []
    offset = 0
    for f, size in zip(record.fields, sizes):
        tag = f.tag
        if tag not in _TAGS:
            if not (isinstance(tag, str) and _ISO_TAG.fullmatch(tag)):
                return None
            _TAGS.add(tag)
        if size > MAX_ISO_FIELD:
            return None
        directory.append(f"{tag}{size:04d}{offset:05d}")
        offset += size
    base = 24 + 12 * len(directory) + 1
    length = base + offset + 1
    if length > MAX_ISO_RECORD:
        return None
    return f"{length:05d}{leader[5:9]}a{leader[10:12]}{base:05d}{leader[17:]}{''.join(directory)}\x1e{body}\x1e\x1d".encode()


def _iso2709(record: Record, notes: list[str] | None = None) -> bytes:
    leader = _leader(str(record.leader), notes)
    directory = []
    data = []
    offset = 0
    search = _ISO_UNSAFE.search
    for f in record.fields:
        tag = f.tag
        if not (isinstance(tag, str) and _ISO_TAG.fullmatch(tag)):
            raise ExportError(f"field tag {tag!r} cannot be written in ISO 2709 (three ASCII letters "
                              "or digits): write the record as MARCXML or MARC-in-JSON", tag=str(tag))
        if f.is_control_field():
            value = f.data or ""
            if search(value):
                value = _replace(_ISO_UNSAFE, value, tag, notes)
            raw = value.encode("utf-8") + b"\x1e"
        else:
            parts = [_indicator(f.indicator1, tag, 1, notes), _indicator(f.indicator2, tag, 2, notes)]
            for code, value in f.subfields:
                if not _code_ok(code, tag, value, notes):
                    continue
                if search(value):
                    value = _replace(_ISO_UNSAFE, value, f"{tag} ${code}", notes)
                parts.append("\x1f" + code + value)
            raw = "".join(parts).encode("utf-8") + b"\x1e"
        if len(raw) > MAX_ISO_FIELD:
            raise ExportError(f"field {tag} is {len(raw):,} bytes, more than the {MAX_ISO_FIELD:,} an ISO 2709 "
                              "field can hold: write the record as MARCXML or MARC-in-JSON", tag=tag)
        directory.append(f"{tag}{len(raw):04d}{offset:05d}")
        data.append(raw)
        offset += len(raw)
    base = 24 + 12 * len(directory) + 1
    length = base + offset + 1
    if length > MAX_ISO_RECORD:
        raise ExportError(f"record is {length:,} bytes, more than the {MAX_ISO_RECORD:,} ISO 2709 can hold: "
                          "write it as MARCXML or MARC-in-JSON")
    head = f"{length:05d}{leader[5:9]}a{leader[10:12]}{base:05d}{leader[17:]}{''.join(directory)}"
    return head.encode("ascii") + b"\x1e" + b"".join(data) + b"\x1d"


# MARCXML ------------------------------------------------------------------------------------


def _text(value: str, where: str = "", notes: list[str] | None = None) -> str:
    if not value.isprintable() and _XML_UNSAFE.search(value):  # characters XML 1.0 cannot carry
        value = _replace(_XML_UNSAFE, value, where, notes)
    if "&" in value or "<" in value or ">" in value:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _attr(value: str, where: str = "", notes: list[str] | None = None) -> str:
    return _text(value, where, notes).replace('"', "&quot;")


def marcxml(record: Record, namespace: str | None = None, notes: list[str] | None = None) -> str:
    """One ``<record>`` as MARCXML text, written directly (several times faster than building
    an element tree); ``namespace`` puts the MARCXML namespace on the element. What had to be
    replaced to make it well-formed is appended to ``notes``."""
    ns = f' xmlns="{namespace}"' if namespace else ""
    parts = [f"<record{ns}><leader>{_text(_leader(str(record.leader), notes))}</leader>"]
    for f in record.fields:
        tag = _attr(f.tag, f"tag {f.tag!r}", notes)
        if f.is_control_field():
            parts.append(f'<controlfield tag="{tag}">{_text(f.data or "", f.tag, notes)}</controlfield>')
        else:
            parts.append(f'<datafield tag="{tag}" ind1="{_attr(f.indicator1, f.tag, notes)}" '
                         f'ind2="{_attr(f.indicator2, f.tag, notes)}">')
            parts.extend(f'<subfield code="{_attr(code, f.tag, notes)}">{_text(value, f"{f.tag} ${code}", notes)}'
                         "</subfield>" for code, value in f.subfields if _code_ok(code, f.tag, value, notes))
            parts.append("</datafield>")
    parts.append("</record>")
    return "".join(parts)
