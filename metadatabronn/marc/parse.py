"""Turn one :class:`Chunk` into a ``pymarc.Record``, or reject it with a precise reason.

:func:`parse_chunk` is a pure function of its chunk so that it can run in worker
processes. ISO 2709 is decoded here rather than by ``pymarc.Record(data)`` so that every
structural fault names the directory entry, the field and the byte at fault; the result is
the record pymarc would build, with all text in Unicode NFC.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import threading
import unicodedata

from lxml import etree
from pymarc import Field, Indicators, Leader, Record, Subfield
from pymarc.marc8 import MARC8ToUnicode

from metadatabronn.errors import MarcError
from metadatabronn.marc import fields as marc_fields
from metadatabronn.marc.kinds import XML_ERROR_PREFIX, Chunk, Format, element_text

__all__ = ["parse_chunk"]

log = logging.getLogger(__name__)

_is_nfc = unicodedata.is_normalized
_normalize = unicodedata.normalize
# Bytes that MARC-8 maps to themselves: printable ASCII, no escapes, no control codes.
_NOT_PLAIN_MARC8 = re.compile(rb"[^\x20-\x7e]")


def parse_chunk(chunk: Chunk) -> Record:
    """Parse *chunk*; raise ``MarcError`` (with the record number) when it is unusable."""
    try:
        if chunk.format is Format.ISO2709:
            return _parse_iso(chunk.data)
        if chunk.format is Format.MARCXML:
            return _parse_xml(chunk.data)
        if chunk.format is Format.MARCJSON:
            return _parse_json(chunk.data)
        raise MarcError(f"unknown chunk format {chunk.format!r}")
    except MarcError as exc:
        raise MarcError(exc.reason, number=chunk.number, tag=exc.tag) from None
    except Exception as exc:  # one odd record must never stop a run
        reason = f"unreadable record ({type(exc).__name__}: {exc})"
        raise MarcError(reason, number=chunk.number) from exc


def _nfc(text: str) -> str:
    if text.isascii() or _is_nfc("NFC", text):
        return text
    return _normalize("NFC", text)


def _record(leader: str, fields: list[Field]) -> Record:
    if not fields:
        raise MarcError("record has no fields")
    record = Record(fields=fields)
    record.leader = Leader(leader)
    return record


# ISO 2709 ---------------------------------------------------------------------------------


def _parse_iso(data: bytes) -> Record:
    size = len(data)
    if size < 25:
        raise MarcError(f"record is only {size} bytes, shorter than a leader")
    if data[-1] != 0x1D:
        raise MarcError("record does not end with a record terminator (0x1D): truncated?")
    try:
        leader = data[:24].decode("ascii")
    except UnicodeDecodeError:
        raise MarcError("leader is not ASCII") from None
    if not leader[:5].isdigit():
        raise MarcError(f"record length {leader[:5]!r} in the leader is not a number")
    if int(leader[:5]) > size:
        reason = f"leader gives a length of {int(leader[:5])} bytes but the record has {size}"
        raise MarcError(reason)
    if not leader[12:17].isdigit():
        raise MarcError(f"base address {leader[12:17]!r} in the leader is not a number")
    base = int(leader[12:17])
    if base < 25 or base >= size:
        raise MarcError(f"base address {base} is outside the record ({size} bytes)")
    if data[base - 1] != 0x1E:
        raise MarcError(f"no field terminator ends the directory before base address {base}")
    if (base - 25) % 12:
        raise MarcError(f"directory length {base - 25} is not a multiple of 12")
    directory = data[24 : base - 1]
    utf8 = leader[9] == "a"
    try:
        entries = directory.decode("ascii")
    except UnicodeDecodeError:
        entries = None  # the entry at fault is named below
    # A UTF-8 record all in ASCII (most are) is decoded once, and its fields cut from the text:
    # byte offsets are character offsets, and there is nothing to normalise.
    text = data.decode("ascii") if utf8 and data.isascii() else None
    fields = []
    append = fields.append
    new_field, new_tuple, indicators_of, subfield = _new_field, _new_tuple, marc_fields.INDICATORS.get, Subfield
    for index in range(0, base - 25, 12):
        if entries is not None:
            entry = entries[index : index + 12]
        else:
            try:
                entry = directory[index : index + 12].decode("ascii")
            except UnicodeDecodeError:
                raise MarcError(f"directory entry {index // 12 + 1} is not ASCII") from None
        tag = entry[:3]
        length, offset = entry[3:7], entry[7:]
        if not (length.isdigit() and offset.isdigit()):
            reason = f"directory entry {index // 12 + 1} has a non-numeric length or start"
            raise MarcError(f"{reason} {entry[3:]!r}", tag=tag)
        start = base + int(offset)
        end = start + int(length)
        if end >= size:
            raise MarcError(f"directory entry {index // 12 + 1} points past end of record", tag=tag)
        if end <= start or data[end - 1] != 0x1E:
            reason = f"directory entry {index // 12 + 1} does not end at a field terminator"
            raise MarcError(reason, tag=tag)
        control = tag < "010" and tag.isdigit()
        if text is not None:
            field = new_field(Field)
            if control:
                field.tag, field.data, field.control_field, field.subfields, field._indicators = (
                    tag, text[start : end - 1], True, [], None)
            else:
                parts = text[start : end - 1].split("\x1f")
                field.tag, field.data, field.control_field, field._indicators = (
                    tag, None, False, indicators_of(parts[0]) or _indicators(parts[0], tag))
                field.subfields = [new_tuple(subfield, (part[0], part[1:])) for part in parts[1:] if part]
            append(field)
            continue
        raw = data[start : end - 1]
        if control:
            # As pymarc does: MARC-8 control fields are read byte for byte.
            append(marc_fields.control(tag, _nfc(_decode_utf8(raw, tag) if utf8 else raw.decode("latin-1"))))
        elif utf8:
            append(_utf8_data_field(tag, raw))
        else:
            append(_marc8_data_field(tag, raw))
    return _record(leader, fields)


def _decode_utf8(raw: bytes, tag: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MarcError(f"invalid UTF-8 in field {tag} at byte {exc.start}", tag=tag) from None


# Fields as :mod:`.fields` makes them; the loop of a record all in ASCII above makes them inline,
# since it makes nearly every field of every record ingested.
_new_field = Field.__new__
_new_tuple = tuple.__new__


def _indicators(text: str, tag: str) -> Indicators:
    found = marc_fields.INDICATORS.get(text)
    if found is not None:
        return found
    if len(text) == 2 and text.isascii():
        return Indicators(text[0], text[1])
    # Like pymarc: missing indicators are blank, extra ones are dropped.
    if not text.isascii():
        raise MarcError(f"indicators {text!r} are not ASCII", tag=tag)
    text = (text + "  ")[:2]
    return Indicators(text[0], text[1])


def _utf8_data_field(tag: str, raw: bytes) -> Field:
    text = _decode_utf8(raw, tag)
    parts = text.split("\x1f")
    if text.isascii():  # the common case, and nothing to check or normalise
        subfields = [_new_tuple(Subfield, (part[0], part[1:])) for part in parts[1:] if part]
        return marc_fields.data(tag, _indicators(parts[0], tag), subfields)
    # A whole field in NFC has every subfield in NFC; otherwise normalise value by value so
    # that a leading combining mark cannot fuse with the subfield code.
    normal = _is_nfc("NFC", text)
    subfields = []
    for part in parts[1:]:
        if not part:
            continue
        code = part[0]
        if not code.isascii():
            raise MarcError(f"subfield code {code!r} is not ASCII", tag=tag)
        value = part[1:]
        subfields.append(marc_fields.subfield(code, value if normal else _nfc(value)))
    return marc_fields.data(tag, _indicators(parts[0], tag), subfields)


def _marc8_data_field(tag: str, raw: bytes) -> Field:
    parts = raw.split(b"\x1f")
    subfields = []
    for part in parts[1:]:
        if not part:
            continue
        if part[0] > 0x7F:
            raise MarcError(f"subfield code byte 0x{part[0]:02X} is not ASCII", tag=tag)
        value = part[1:]
        text = _marc8(value, tag) if _NOT_PLAIN_MARC8.search(value) else value.decode("ascii")
        subfields.append(marc_fields.subfield(chr(part[0]), text))
    return Field(tag, _indicators(parts[0].decode("latin-1"), tag), subfields)


def _marc8(value: bytes, tag: str) -> str:
    # pymarc reports unmappable MARC-8 on stderr; catch that and log it instead. The
    # translation already ends in NFC.
    sink = io.StringIO()
    try:
        with contextlib.redirect_stderr(sink):
            text = MARC8ToUnicode().translate(value)
    except (IndexError, TypeError, ValueError):
        raise MarcError(f"invalid MARC-8 in field {tag}", tag=tag) from None
    if sink.getvalue():
        log.debug("field %s: MARC-8 trouble: %s", tag, " ".join(sink.getvalue().split()))
    return text


# MARCXML and MARC-in-JSON ------------------------------------------------------------------


def _leader(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise MarcError("record has no leader")
    if len(value) != 24:
        raise MarcError(f"leader has {len(value)} characters, expected 24")
    return value


def _control_field(tag: str | None, value: str) -> Field:
    if not tag:
        raise MarcError("control field without a tag")
    field = Field(tag, data=_nfc(value))
    if not field.control_field:
        if tag.isdigit():
            raise MarcError(f"field {tag} has no subfields but is not a control field", tag=tag)
        # Local alphabetic control fields (Aleph's FMT, LDR...) keep their text.
        field.control_field, field.data, field.subfields = True, field.data or _nfc(value), []
        field._indicators = None
    return field


def _data_field(tag: str | None, ind1: object, ind2: object, subfields: list[Subfield]) -> Field:
    if not tag:
        raise MarcError("data field without a tag")
    first = ind1[:1] if isinstance(ind1, str) and ind1 else " "
    second = ind2[:1] if isinstance(ind2, str) and ind2 else " "
    field = Field(tag, Indicators(first, second), subfields)
    if field.control_field:
        raise MarcError(f"control field {tag} has indicators or subfields", tag=tag)
    return field


_xml_parsers = threading.local()


def _xml_parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads.
    parser = getattr(_xml_parsers, "parser", None)
    if parser is None:
        # A chunk is one record the reader wrote, without a DTD; whatever else arrives here
        # reads no DTD or external entity and expands no entity (a reference is rejected).
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False, remove_comments=True, remove_pis=True)
        _xml_parsers.parser = parser
    return parser


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _unresolved(name: str) -> str:
    raise MarcError(f"entity reference &{name}; is not resolved (entities are expanded only "
                    "from the document's own DTD)")


def _parse_xml(data: bytes) -> Record:
    if data.startswith(XML_ERROR_PREFIX):
        reason = data[len(XML_ERROR_PREFIX) :].split(b"\n", 1)[0]
        raise MarcError(reason.decode("utf-8", "replace").strip() or "unreadable XML")
    try:
        root = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise MarcError(f"XML not well-formed: {exc.msg}") from None
    if root is None:
        raise MarcError("XML document without a root element")
    if _local(root.tag) != "record":
        raise MarcError(f"XML element <{_local(root.tag)}> is not a MARC record")
    leader = None
    fields = []
    for child in root:
        kind = _local(child.tag)
        if kind == "leader":
            leader = element_text(child, _unresolved)
        elif kind == "controlfield":
            fields.append(_control_field(child.get("tag"), element_text(child, _unresolved)))
        elif kind == "datafield":
            tag = child.get("tag")
            subfields = []
            for sub in child:
                if _local(sub.tag) != "subfield":
                    continue
                code = sub.get("code")
                if not code:
                    raise MarcError(f"subfield without a code in field {tag}", tag=tag)
                subfields.append(Subfield(code, _nfc(element_text(sub, _unresolved))))
            fields.append(_data_field(tag, child.get("ind1"), child.get("ind2"), subfields))
    return _record(_leader(leader), fields)


def _parse_json(data: bytes) -> Record:
    try:
        obj = json.loads(data, strict=False)  # as pymarc: raw control characters pass
    except (ValueError, UnicodeDecodeError) as exc:
        raise MarcError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise MarcError("JSON nested too deeply to be a MARC-in-JSON record (which nests 6 "
                        "levels)") from None
    if not isinstance(obj, dict):
        raise MarcError(f"JSON {type(obj).__name__} where a MARC-in-JSON object was expected")
    leader = _leader(obj.get("leader"))
    items = obj.get("fields")
    if not isinstance(items, list):
        raise MarcError("MARC-in-JSON object has no \"fields\" list")
    fields = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise MarcError("MARC-in-JSON field is not an object with exactly one tag")
        ((tag, value),) = item.items()
        if isinstance(value, str):
            fields.append(_control_field(tag, value))
        elif isinstance(value, dict):
            subfields = []
            for sub in value.get("subfields") or ():
                if not isinstance(sub, dict) or len(sub) != 1:
                    raise MarcError(f"malformed subfield in field {tag}", tag=tag)
                ((code, text),) = sub.items()
                if not code or not isinstance(text, str):
                    raise MarcError(f"malformed subfield in field {tag}", tag=tag)
                subfields.append(Subfield(code, _nfc(text)))
            fields.append(_data_field(tag, value.get("ind1"), value.get("ind2"), subfields))
        else:
            raise MarcError(f"field {tag} is neither a string nor an object", tag=tag)
    return _record(leader, fields)
