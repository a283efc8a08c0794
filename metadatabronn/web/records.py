"""One manifestation as the record formats harvesters ask for: MARCXML, ISO 2709, Dublin Core,
and RDF/XML of the manifestation with its expression and work."""

from __future__ import annotations

from xml.sax.saxutils import escape

from pymarc import Record

from ..mapping import terms as T
from ..mapping.reverse import from_triples, to_marc
from ..mapping.source import control_number_of
from ..marc.writer import encode
from ..marc.writer import marcxml as marcxml_text
from ..store import Store, serialise_triples

MARC_NS = "http://www.loc.gov/MARC21/slim"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"


def record_graph(manifestation: str) -> str:
    """The record graph that describes a manifestation: beside it, under the base it was minted with."""
    return manifestation.rsplit("/manifestation/", 1)[0] + "/record/" + manifestation.rsplit("/", 1)[-1]


def marc_record(store: Store, manifestation: str, ahead=None) -> Record | None:
    """The manifestation's MARC 21 record, as export writes it; None if it has no record graph.
    ``ahead``: what ``Store.read_ahead`` read for a page of records this one is among."""
    unchanged: list[bool] = []
    found = store.record_statements(record_graph(manifestation), edits=True, unchanged=unchanged, ahead=ahead)
    if found is None:
        return None
    m, carried, modified, deleted, statements, edited = found
    return to_marc(from_triples(control_number_of(statements, m), m, statements, carried, modified=modified,
                                deleted=deleted, edited=edited, unchanged=unchanged[0]))


def marcxml(record: Record) -> bytes:
    """A ``<record>`` in the MARCXML namespace, without an XML declaration (to embed)."""
    return marcxml_text(record, MARC_NS).encode("utf-8")


def iso2709(record: Record) -> bytes:
    return encode(record, "marc")


SRW_DC_NS = "info:srw/schema/1/dc-schema"


def dublin_core(record: Record, iri: str, wrapper: str = "oai_dc") -> bytes:
    """Dublin Core after LC's MARC to Dublin Core crosswalk (the unqualified part), wrapped for
    OAI-PMH (``oai_dc``) or SRU (``srw_dc``)."""
    out: list[tuple[str, str]] = []

    def add(element: str, value: str) -> None:
        value = " ".join(value.split()).strip(" /:;,=")
        if value.endswith(".") and value[-2:-1].isdigit():  # "1899." is a date and its ISBD full stop
            value = value[:-1]
        if value and (element, value) not in out:
            out.append((element, value))

    for f in record.get_fields("245"):
        add("title", " ".join(v for c, v in f.subfields if c in "abfgknps"))
    for f in record.get_fields("100", "110", "111", "700", "710", "711", "720"):
        name = " ".join(v for c, v in f.subfields if c in "abcdq")
        add("creator" if f.tag.startswith("1") else "contributor", name)
    for f in record.get_fields("600", "610", "611", "630", "650", "651", "653"):
        add("subject", " -- ".join(v for c, v in f.subfields if c in "abcdqtvxyz"))
    for f in record.get_fields("050", "082"):
        add("subject", " ".join(f.get_subfields("a")))
    for f in record.get_fields("520", "505", "500"):
        add("description", " ".join(f.get_subfields("a")))
    for f in record.get_fields("260", "264"):
        if f.tag == "264" and f.indicator2 not in ("1", " "):
            continue
        for v in f.get_subfields("b"):
            add("publisher", v)
        for v in f.get_subfields("c"):
            add("date", v)
    leader = str(record.leader)
    add("type", {"a": "Text", "t": "Text", "c": "Text", "d": "Text", "i": "Sound", "j": "Sound",
                 "k": "Image", "g": "MovingImage", "e": "Image", "f": "Image", "m": "Software"}.get(leader[6:7], ""))
    for f in record.get_fields("300"):
        add("format", " ".join(f.get_subfields("a", "b", "c")))
    for f in record.get_fields("020"):
        for v in f.get_subfields("a"):
            add("identifier", "URN:ISBN:" + v.split(" ")[0])
    for f in record.get_fields("022"):
        for v in f.get_subfields("a"):
            add("identifier", "URN:ISSN:" + v)
    add("identifier", iri)
    f008 = next((f.data for f in record.get_fields("008")), "")
    if len(f008) >= 38 and f008[35:38].strip():
        add("language", f008[35:38])
    for f in record.get_fields("041"):
        for v in f.get_subfields("a"):
            add("language", v)
    for f in record.get_fields("490", "830"):
        add("relation", " ".join(f.get_subfields("a")))
    body = "".join(f"<dc:{e}>{escape(v)}</dc:{e}>" for e, v in out)
    if wrapper == "srw_dc":
        return f'<srw_dc:dc xmlns:srw_dc="{SRW_DC_NS}" xmlns:dc="{DC_NS}">{body}</srw_dc:dc>'.encode("utf-8")
    return (f'<oai_dc:dc xmlns:oai_dc="{OAI_DC_NS}" xmlns:dc="{DC_NS}" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd">{body}</oai_dc:dc>'
            ).encode("utf-8")


def rdf_xml(store: Store, manifestation: str) -> bytes:
    """RDF/XML of the manifestation, its expression and its work (the well's own statements)."""
    triples = []
    seen = set()
    subjects = [manifestation]
    for p_iri in (T.M_EXPRESSION, T.M_WORK):
        subjects += store.values(manifestation, p_iri)
    for subject in subjects:
        for _, p, o, lit, lang, dt in store.about(subject):
            key = (subject, p, o, lit, lang, dt)
            if key not in seen:
                seen.add(key)
                triples.append(key)
    body = serialise_triples(triples, "rdfxml", {"rdac": T.RDAC, "rdaw": T.RDAW, "rdae": T.RDAE,
                                                  "rdam": T.RDAM})
    if body.startswith(b"<?xml"):
        body = body.split(b"?>", 1)[1].lstrip()
    return body
