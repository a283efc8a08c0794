"""Rebuild the hostile input files of this directory from the bundled LC sample.

    python tests/data/hostile/make.py

Every file starts from public-domain Library of Congress records (``data/sample.mrc``),
damaged or wrapped the way hostile or broken files arrive. The same script gives the same
bytes, so the files can be checked against it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from pymarc import Record

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent


def lc_records(n: int) -> list[bytes]:
    data = (ROOT / "data" / "sample.mrc").read_bytes()
    return [r + b"\x1d" for r in data.split(b"\x1d")[:n]]


def marcxml_of(raw: bytes) -> str:
    from metadatabronn.marc.writer import marcxml

    return marcxml(Record(data=raw, force_utf8=True))


def main() -> None:
    r = lc_records(6)
    # ISO 2709: record 2 cut short (its last 200 bytes and terminator gone); 4 records in all.
    (HERE / "cut-short.mrc").write_bytes(r[0] + r[1][:-200] + r[2] + r[3])
    # ISO 2709: record 2's leader claims 99,999 bytes; 3 records.
    (HERE / "lying-length.mrc").write_bytes(r[0] + b"99999" + r[1][5:] + r[2])
    # ISO 2709: a stray HTML error page between records 1 and 2.
    (HERE / "garbage-between.mrc").write_bytes(r[0] + b"<html><body>502 Bad Gateway</body></html>\r\n" + r[1])

    # MARCXML with a DTD: an internal entity (record 1), a "billion laughs" (record 2), an
    # external entity (record 3), markup and a character reference inside a subfield
    # (record 4), a plain record (5).
    xml = [marcxml_of(x) for x in r[:5]]
    xml[0] = xml[0].replace('<datafield tag="245"', '<datafield tag="500" ind1=" " ind2=" ">'
                            '<subfield code="a">Catalogued by &lc;.</subfield></datafield><datafield tag="245"', 1)
    xml[1] = xml[1].replace('<subfield code="a">', '<subfield code="a">&lol9;', 1)
    xml[2] = xml[2].replace('<subfield code="a">', '<subfield code="a">&xxe;', 1)
    xml[3] = xml[3].replace('<datafield tag="245"', '<datafield tag="500" ind1=" " ind2=" ">'
                            '<subfield code="a">Bound with <i>another</i> caf&#233; guide.</subfield>'
                            '</datafield><datafield tag="245"', 1)
    lol = "".join(f'  <!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10))
    doctype = ('<!DOCTYPE collection [\n  <!ENTITY lc "the Library of Congress">\n  <!ENTITY lol0 "lol">\n'
               + lol + '  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n')
    (HERE / "entities.marcxml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype
        + '<collection xmlns="http://www.loc.gov/MARC21/slim">\n' + "\n".join(xml) + "\n</collection>\n",
        encoding="utf-8")
    # MARCXML naming an external DTD next to it that declares the entity record 1 uses: the
    # DTD is never read, so record 1 is rejected and record 2 read.
    (HERE / "external.dtd").write_text('<!ENTITY secret "read from the external DTD">\n', encoding="utf-8")
    two = [marcxml_of(x) for x in r[:2]]
    two[0] = two[0].replace('<subfield code="a">', '<subfield code="a">&secret;', 1)
    (HERE / "external-dtd.marcxml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE collection SYSTEM "external.dtd">\n'
        '<collection xmlns="http://www.loc.gov/MARC21/slim">\n' + "\n".join(two) + "\n</collection>\n",
        encoding="utf-8")

    # gzip bomb: one record, then 20 MiB of zero digits (about 20 KB packed).
    with gzip.GzipFile(HERE / "bomb.mrc.gz", "wb", mtime=0) as f:
        f.write(r[0])
        block = b"0" * (1 << 20)
        for _ in range(20):
            f.write(block)

    # MARC-in-JSON, one record a line: record 2 is nested 100,000 deep.
    js = [json.dumps(Record(data=x, force_utf8=True).as_dict(), ensure_ascii=False) for x in r[:3]]
    js[1] = js[1][:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (HERE / "deep-record.json").write_text("\n".join(js) + "\n", encoding="utf-8")
    # JSON that is nothing but arrays in arrays.
    (HERE / "deep.json").write_bytes(b"[" * 20_000 + b"]" * 20_000 + b"\n")
    (HERE / "empty.mrc").write_bytes(b"")
    # A harvester's error page saved in place of the records: well-formed XHTML.
    (HERE / "error-page.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>503'
        b'</title></head><body><p>Service temporarily unavailable.</p></body></html>\n')
    (HERE / "not-marc.pdf").write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n")

    # For export: a control character in a note and a non-ASCII leader position (record 1),
    # and a record of more than 99,999 bytes (record 2: 15 notes of 7,000 characters).
    one = Record(data=r[4], force_utf8=True).as_dict()
    one["leader"] = one["leader"][:18] + "\u00e9" + one["leader"][19:]
    one["fields"].append({"500": {"ind1": " ", "ind2": " ", "subfields": [{"a": "Bell \u0007 and form feed \u000c."}]}})
    big = Record(data=r[5], force_utf8=True).as_dict()
    for i in range(15):
        big["fields"].append({"500": {"ind1": " ", "ind2": " ", "subfields": [
            {"a": f"Note {i + 1}: " + "The rime of the ancient mariner. " * 212}]}})
    (HERE / "export-hazards.json").write_text(
        json.dumps([one, big, Record(data=r[2], force_utf8=True).as_dict()], ensure_ascii=False) + "\n",
        encoding="utf-8")


if __name__ == "__main__":
    main()
