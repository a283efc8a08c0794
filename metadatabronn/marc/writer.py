"""Writing MARC 21 records as a stream: ISO 2709, MARCXML (one collection) or MARC-in-JSON."""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from pymarc import Record

from ..errors import ConfigError

FORMATS = ("marc", "marcxml", "json")
_XML_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n')


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


def encode(record: Record, fmt: str) -> bytes:
    """One record in one of :data:`FORMATS`, as it goes into that format's stream."""
    if fmt == "marc":
        return record.as_marc()
    if fmt == "marcxml":
        # Inside the collection the MARCXML namespace is the default one already.
        return marcxml(record).encode("utf-8") + b"\n"
    return json.dumps(record.as_dict(), ensure_ascii=False).encode("utf-8")


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(value: str) -> str:
    if not value.isprintable() and _XML_UNSAFE.search(value):  # characters XML 1.0 cannot carry
        value = _XML_UNSAFE.sub("\ufffd", value)
    if "&" in value or "<" in value or ">" in value:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def marcxml(record: Record, namespace: str | None = None) -> str:
    """One ``<record>`` as MARCXML text, written directly (several times faster than building
    an element tree); ``namespace`` puts the MARCXML namespace on the element."""
    ns = f' xmlns="{namespace}"' if namespace else ""
    parts = [f"<record{ns}><leader>{_text(str(record.leader))}</leader>"]
    for f in record.fields:
        if f.is_control_field():
            parts.append(f'<controlfield tag="{_attr(f.tag)}">{_text(f.data or "")}</controlfield>')
        else:
            parts.append(f'<datafield tag="{_attr(f.tag)}" ind1="{_attr(f.indicator1)}" ind2="{_attr(f.indicator2)}">')
            parts.extend(f'<subfield code="{_attr(code)}">{_text(value)}</subfield>' for code, value in f.subfields)
            parts.append("</datafield>")
    parts.append("</record>")
    return "".join(parts)
