"""MARCXML streamed record by record (see :mod:`.reader`): no DTD or external entity is ever read
or fetched; entities the document's internal DTD declares are expanded here, with bounds; the
records before a syntax error are kept."""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator
from typing import BinaryIO

from lxml import etree

from metadatabronn.errors import InputError
from metadatabronn.marc.kinds import Chunk, Format, xml_error_data, xml_record_data
from metadatabronn.marc.limits import BLOCK, UTF8_BOM

__all__ = ["xml_chunks"]

log = logging.getLogger("metadatabronn.marc.reader")

_SLIM = "http://www.loc.gov/MARC21/slim"
_MARCXCHANGE = "info:lc/xmlns/marcxchange-v1"
_OAI = "http://www.openarchives.org/OAI/2.0/"
_MARC_CHILDREN = ("leader", "controlfield", "datafield")

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
    if b"<!DOCTYPE" not in head[:BLOCK]:
        return head, None
    pos = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
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
    enc = _ENCODING.match(head, len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0)
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


def xml_chunks(head: bytes, stream: BinaryIO, name: str, guarded=None) -> Generator[Chunk, None, tuple[int, bytes]]:
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
            data = stream.read(BLOCK)
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
