"""The small value types of the MARC layer: input formats, chunks and record kinds.

They live apart from the reader and the parser, which both use them. The canonical
``Chunk.data`` of a MARCXML record, and of the error chunk that ends a broken XML file, are
defined here too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from lxml import etree

__all__ = [
    "XML_ERROR_PREFIX",
    "Chunk",
    "Format",
    "RecordKind",
    "record_kind",
    "element_text",
    "xml_error_data",
    "xml_record_data",
]


class Format(enum.Enum):
    """How the records of an input file are encoded."""

    ISO2709 = "iso2709"
    MARCXML = "marcxml"
    MARCJSON = "marcjson"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One record's original bytes, cut out of an input file but not yet parsed.

    ``data`` is enough to parse the record alone and to write it to a rejects file:
    ISO 2709 bytes up to and including the 0x1D terminator; one standalone MARCXML
    ``<record xmlns="http://www.loc.gov/MARC21/slim">`` document in UTF-8; or the UTF-8
    text of one MARC-in-JSON object.

    A MARCXML file that stops being well-formed part-way ends with one *error chunk*:
    its ``data`` is :data:`XML_ERROR_PREFIX` followed by the parser's message, and
    :func:`~metadatabronn.marc.parse_chunk` rejects it with a ``MarcError`` carrying that
    message. A record whose entity references cannot be expanded (external, undeclared, an
    expansion bomb) is an error chunk too: the reason on the first line, then the record's
    XML with its references as written. The iterator therefore never raises for a damaged
    record.
    """

    number: int
    format: Format
    data: bytes
    source: str

    @property
    def is_xml_error(self) -> bool:
        """True for the chunk that stands for the unreadable end of an XML file."""
        return self.format is Format.MARCXML and self.data.startswith(XML_ERROR_PREFIX)




class RecordKind(enum.Enum):
    """The kind of a MARC 21 record, from Leader/06 (type of record)."""

    BIBLIOGRAPHIC = "bibliographic"
    AUTHORITY = "authority"
    HOLDINGS = "holdings"
    CLASSIFICATION = "classification"
    COMMUNITY = "community"
    UNKNOWN = "unknown"


_KIND_BY_TYPE: dict[str, RecordKind] = {
    **dict.fromkeys("acdefgijkmoprt", RecordKind.BIBLIOGRAPHIC),
    "z": RecordKind.AUTHORITY,
    **dict.fromkeys("uvxy", RecordKind.HOLDINGS),
    "w": RecordKind.CLASSIFICATION,
    "q": RecordKind.COMMUNITY,
}


def record_kind(leader: object) -> RecordKind:
    """The kind of record a leader describes (a ``str`` or a ``pymarc.Leader``), or a record is
    (a ``pymarc.Record``).

    A record whose Leader/06 is blank but which has a title statement (245) is a bibliographic
    record with its type of record left out (Koha exports such records): it is converted, and
    its Leader goes out as it came."""
    record = leader if hasattr(leader, "get_fields") else None  # (a pymarc Leader has a .leader too)
    code = str(record.leader if record is not None else leader)[6:7]
    kind = _KIND_BY_TYPE.get(code, RecordKind.UNKNOWN)
    if kind is RecordKind.UNKNOWN and code == " " and record is not None and record.get("245") is not None:
        return RecordKind.BIBLIOGRAPHIC
    return kind


# MARCXML chunk data ------------------------------------------------------------------------

# An XML comment, so that the error chunk reads sensibly when written to a rejects file;
# xml_record_data never starts a document with it.
XML_ERROR_PREFIX = b"<!-- metadatabronn: XML error -->\n"


def xml_error_data(reason: str, record: bytes = b"") -> bytes:
    """``Chunk.data`` standing for the unreadable rest of an XML file, or (with ``record``,
    the record's own XML) for one record that cannot be read: the reason is its first line."""
    # "--" would end the comment marker early if the data were inspected as XML.
    line = " ".join(reason.replace("--", "- -").split())
    return XML_ERROR_PREFIX + line.encode("utf-8") + (b"\n" + record if record else b"")


def element_text(elem: Any, entity: Any = None) -> str:
    """All the text of an element, as ``itertext`` gives it: text after a child element
    counts too. Comments and processing instructions give nothing; an unresolved entity
    reference gives ``entity(name)`` (by default: raises ``ValueError`` naming it)."""
    if len(elem) == 0:
        return elem.text or ""
    parts = [elem.text or ""]
    for child in elem:
        tag = child.tag
        if isinstance(tag, str):
            parts.append(element_text(child, entity))
        elif tag is etree.Entity:
            if entity is None:
                raise ValueError(f"entity reference &{child.name}; is not resolved")
            parts.append(entity(child.name))
        parts.append(child.tail or "")
    return "".join(parts)


def xml_record_data(record: Any, entity: Any = None) -> bytes:
    """``Chunk.data`` for an lxml MARC record element: a standalone slim-namespace document.

    Whatever namespace or prefix the record had (slim, marcxchange, none), the chunk is a
    ``<record xmlns="http://www.loc.gov/MARC21/slim">`` document without prefixes.
    ``entity(name)`` gives the text of an entity reference left in the tree (by default
    such a reference raises ``ValueError``).
    """
    if entity is not None:
        return _write_record(record, entity)
    # Exclusive C14N is lxml's C serialiser without the namespaces of the envelope; in its
    # output every literal "<" opens a tag, so prefixes can be dropped by plain replacement.
    # Anything less regular goes through the slower element-by-element writer.
    try:
        out = etree.tostring(record, method="c14n", exclusive=True)
    except etree.C14NError:  # an entity reference C14N cannot write
        return _write_record(record)
    if out.count(b"xmlns") > 1:
        return _write_record(record)
    namespace = etree.QName(record).namespace
    prefix = record.prefix
    if namespace is None:
        if b"xmlns" not in out and out.startswith(b"<record"):
            return _SLIM_START + out[7:]
    elif namespace in (_SLIM, _MARCXCHANGE):
        declared = f'xmlns{"" if prefix is None else ":" + prefix}="{namespace}"'.encode()
        start = b"<record " if prefix is None else f"<{prefix}:record ".encode()
        if out.startswith(start) and declared in out:
            out = _SLIM_START + out[len(start) - 1 :].replace(b" " + declared, b"", 1)
            if prefix is None:
                return out
            opener, closer = f"<{prefix}:".encode(), f"</{prefix}:".encode()
            out = out.replace(opener, b"<").replace(closer, b"</")
            if f" {prefix}:".encode() not in out:
                return out
    return _write_record(record)


_SLIM = "http://www.loc.gov/MARC21/slim"
_MARCXCHANGE = "info:lc/xmlns/marcxchange-v1"
_SLIM_START = b'<record xmlns="http://www.loc.gov/MARC21/slim"'


def _text(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


def _write_record(record: Any, entity: Any = None) -> bytes:
    out = [_SLIM_START.decode() + ">"]
    for child in record:
        if not isinstance(child.tag, str):
            continue
        local = child.tag.rpartition("}")[2]
        if local == "leader":
            out.append(f"<leader>{_text(element_text(child, entity))}</leader>")
        elif local == "controlfield":
            tag = child.get("tag")
            attrs = "" if tag is None else f' tag="{_attr(tag)}"'
            out.append(f"<controlfield{attrs}>{_text(element_text(child, entity))}</controlfield>")
        elif local == "datafield":
            attrs = "".join(
                f' {key}="{_attr(value)}"'
                for key in ("tag", "ind1", "ind2")
                if (value := child.get(key)) is not None
            )
            out.append(f"<datafield{attrs}>")
            for sub in child:
                if not isinstance(sub.tag, str) or sub.tag.rpartition("}")[2] != "subfield":
                    continue
                code = sub.get("code")
                attrs = "" if code is None else f' code="{_attr(code)}"'
                out.append(f"<subfield{attrs}>{_text(element_text(sub, entity))}</subfield>")
            out.append("</datafield>")
    out.append("</record>")
    return "".join(out).encode("utf-8")
