"""Handlers for descriptive fields: identifiers, titles, edition, publication, extent, notes.

Each handler takes the record's :class:`Builder` and one pymarc field. Which subfields a
handler consumes is declared beside it in ``rules.py``; the others are carried.
"""

from __future__ import annotations

import re

from . import terms as T
from .builder import Builder
from .fixed import language_codes
from .model import Kind
from .text import control_number, isbn13, isbn_parts, issn, join_parts, strip_isbd


def _subs(field):
    return field.subfields


def identifier_035(b: Builder, field) -> None:
    for code, value in _subs(field):
        if code == "a":
            b.add(b.manifestation, T.M_IDENTIFIER, control_number(None, value))


def lccn(value: str) -> str:
    """An LCCN in its normalised form (LC's LCCN namespace rules): blanks out, anything from a
    "/" on out, and a hyphenated serial padded to six digits.

    >>> lccn("   00001671 "), lccn("n 78890351 "), lccn("85-2"), lccn("  2001012345 //r892")
    ('00001671', 'n78890351', '85000002', '2001012345')
    """
    v = "".join(value.split()).split("/", 1)[0]
    if "-" in v:
        head, _, serial = v.partition("-")
        if serial.isdigit():
            v = head + serial.rjust(6, "0")
    return v


LCCN_PREFIX = "info:lccn/"


def lccn_010(b: Builder, field) -> None:
    """010: the Library of Congress control number as ``info:lccn/<normalised LCCN>``; $z
    (cancelled or invalid) as an invalid identifier in the same form."""
    for code, value in _subs(field):
        if code in "az":
            norm = lccn(value)
            if norm:
                b.add(b.manifestation, T.M_IDENTIFIER if code == "a" else T.MB_INVALID_IDENTIFIER,
                      LCCN_PREFIX + norm)


def url_856(b: Builder, field) -> None:
    """856 $u: the address of an online resource a user can follow (the resource itself, a
    version of it, or a related one such as a table of contents, as the second indicator says)."""
    for code, value in _subs(field):
        if code == "u":
            b.add(b.manifestation, T.M_URL, value.strip())


def isbn_020(b: Builder, field) -> None:
    m = b.manifestation
    qualifiers = [strip_isbd(v).strip("()") for c, v in _subs(field) if c == "q"]
    for code, value in _subs(field):
        if code == "a":
            given, qualifier = isbn_parts(value)
            if qualifier:
                qualifiers.append(qualifier)
            norm = isbn13(given)
            digits = given.replace("-", "").replace(" ", "")
            if norm:
                b.add(m, T.M_IDENTIFIER, "urn:isbn:" + norm)
                b.add(m, T.SCHEMA_ISBN, norm)
                if given != norm:
                    b.add(m, T.M_IDENTIFIER_AS_GIVEN, given)
            elif len(digits) == 13 and digits.isdigit():
                # A 13-digit ISBN with a bad check digit, or another prefix than 978/979, is kept
                # as an invalid ISBN, as $z is, so it matches no other manifestation; it keeps its
                # scheme, so the profile warns a cataloguer to correct it or move it to $z.
                b.add(m, T.MB_INVALID_IDENTIFIER, "urn:isbn:" + digits)
                if given != digits:
                    b.add(m, T.MB_INVALID_IDENTIFIER, given)
            else:
                # An ISBN-10 with a bad check digit is still what the book prints: keep it.
                b.add(m, T.M_IDENTIFIER, given)
        elif code == "z":
            # As printed: a cancelled ISBN is evidence about the book, not an identifier to normalise.
            given, qualifier = isbn_parts(value)
            b.add(m, T.MB_INVALID_IDENTIFIER, given)
            if qualifier:
                qualifiers.append(qualifier)
    for q in qualifiers:
        b.add(m, T.M_IDENTIFIER_NOTE, q)


def isbn_not_canonical(field, code: str, value: str) -> bool:
    """An 020 $a that is not exactly "ISBN" or "ISBN (qualifier)" cannot be written again
    from the entities."""
    if code != "a":
        return False
    given, qualifier = isbn_parts(value)
    v = value.strip()
    return v != given and v != f"{given} ({qualifier})"


_ENGLISH_LABELS = ({label.lower() for label in T.CONTENT_LABEL_OF.values()}
                   | {label.lower() for label in T.MEDIA_LABEL_OF.values()}
                   | {label.lower() for label in T.CARRIER_LABEL_OF.values()})


def label_not_english(field, code: str, value: str) -> bool:
    """336-338 $a in another language ("teksti", "nide"): the entities hold the term, whose
    English label is all export could write."""
    return code == "a" and value.strip().lower() not in _ENGLISH_LABELS


def copyright_264_not_in_c(field, code: str, value: str) -> bool:
    """264 _4 holds its date in $c; anything else there is carried as it is."""
    return field.indicator2 == "4" and code != "c"


def issn_not_canonical(field, code: str, value: str) -> bool:
    return code == "a" and issn(value) != value.strip()


def issn_022(b: Builder, field) -> None:
    for code, value in _subs(field):
        if code == "a":
            norm = issn(value)
            b.add(b.manifestation, T.M_IDENTIFIER, "urn:issn:" + norm if norm else value.strip())
        elif code in "yz":
            b.add(b.manifestation, T.MB_INVALID_IDENTIFIER, value.strip())


_024_SCHEMES = {"0": "isrc", "1": "upc", "2": "ismn", "3": "ean", "4": "sici"}


def other_identifier_024(b: Builder, field) -> None:
    scheme = _024_SCHEMES.get(field.indicator1)
    if scheme is None:
        scheme = next((v.strip() for c, v in _subs(field) if c == "2"), "")
    for code, value in _subs(field):
        if code == "a":
            value = value.strip()
            b.add(b.manifestation, T.M_IDENTIFIER, f"urn:{scheme}:{value}" if scheme else value)
        elif code == "z":
            b.add(b.manifestation, T.MB_INVALID_IDENTIFIER, value.strip())


def language_041(b: Builder, field) -> None:
    """041 $a (the expression's languages) and $h (the original's): every code, also those packed
    together before 2001 ("engfre"); an obsolete code is linked by its replacement ("scr": hrv);
    a code no list defines ("jap", "it") is kept as given on the expression, unlinked."""
    for code, value in _subs(field):
        if code not in "ah":
            continue
        for given in language_codes(value):
            current = T.current_language(given)
            if current is None:
                b.add(b.expression, T.MB_INVALID_LANGUAGE, given)
            elif code == "a":
                b.languages.append(current)
            else:
                b.original_languages.append(current)


def title_245(b: Builder, field) -> None:
    m = b.manifestation
    parts: list[str] = []
    parallel_next = False  # " =" ends whatever subfield precedes a parallel title
    skip = int(field.indicator2) if field.indicator2.isdigit() else 0
    # Archival and manuscript records may have no $a: the form ($k, "Photograph album") is then
    # the title, as ISBD and DACS devise it.
    main = "a" if any(c == "a" for c, _ in _subs(field)) else "k"
    for code, value in _subs(field):
        if code == main:
            parts.append(strip_isbd(value))
            if not b.filed_title and b.lang_tag is None:
                # The cluster key files the title as a catalogue does: without its article.
                filed = strip_isbd(value[skip:]) if main == "a" else strip_isbd(value)
                filed = filed[:1].upper() + filed[1:]
                b.filed_title = join_parts([filed] + [strip_isbd(v) for c, v in _subs(field) if c in "np"])
        elif code in "np":
            parts.append(strip_isbd(value))
        elif code == "b":
            b.add(m, T.M_PARALLEL_TITLE if parallel_next else T.M_OTHER_TITLE, strip_isbd(value))
            if not parallel_next and not b.filed_other and b.lang_tag is None:
                b.filed_other = strip_isbd(value)
        elif code == "c":
            b.add(m, T.M_SOR, strip_isbd(value))
        parallel_next = value.rstrip().endswith("=")
    if parts:
        title = join_parts(p for p in parts if p)
        b.add(m, T.M_TITLE_PROPER, title)


# Display texts (246 $i) and note openings (500) that introduce the original's title.
ORIGINAL_TITLE_LABELS = ("tyt. oryg", "original title", "originaltitel", "originaltittel",
                         "titre original", "alkuteos", "originalets titel", "título original",
                         "titolo originale", "translation of")
_TRANSLATION_NOTE = re.compile(
    r"^(?:translation of|originaltittel|original title|originaltitel|titre original)\s*:?\s*(.+?)[.\s]*$",
    re.IGNORECASE)


def variant_title_246(b: Builder, field) -> None:
    text = " ".join(strip_isbd(v) for c, v in _subs(field) if c in "abnp")
    label = " ".join(v for c, v in _subs(field) if c == "i").strip().lower()
    if text and b.lang_tag is None and label.startswith(ORIGINAL_TITLE_LABELS):
        b.original_titles.append(" ".join(strip_isbd(v) for c, v in _subs(field) if c in "anp"))
    if text:
        pred = T.M_PARALLEL_TITLE if field.indicator2 == "1" else T.M_VARIANT_TITLE
        b.add(b.manifestation, pred, text)


def edition_250(b: Builder, field) -> None:
    for code, value in _subs(field):
        if code == "a":
            b.add(b.manifestation, T.M_EDITION, strip_isbd(value))


# 264 second indicator -> (statement, place, name, date); 260 is publication (and $e-$g manufacture).
_264 = {
    "0": (T.M_PRODUCTION, T.M_PLACE_PROD, T.M_PRODUCER_NAME, T.M_DATE_PROD),
    "1": (T.M_PUBLICATION, T.M_PLACE_PUB, T.M_PUBLISHER_NAME, T.M_DATE_PUB),
    "2": (T.M_DISTRIBUTION, T.M_PLACE_DIST, T.M_DISTRIBUTOR_NAME, T.M_DATE_DIST),
    "3": (T.M_MANUFACTURE, T.M_PLACE_MANU, T.M_MANUFACTURER_NAME, T.M_DATE_MANU),
}


def _statement(b: Builder, field, elements, codes: str = "abc") -> None:
    statement, place, name, date = elements
    element = {codes[0]: place, codes[1]: name, codes[2]: date}
    m = b.manifestation
    pieces = []
    for code, value in _subs(field):
        if code not in codes:
            continue
        v = strip_isbd(value)
        if not v:
            continue
        pieces.append((code, v))
        b.add(m, element[code], v)
    if pieces:
        b.add(m, statement, _isbd_statement(pieces, codes))


def _isbd_statement(pieces, codes) -> str:
    out = ""
    for code, v in pieces:
        if not out:
            out = v
        elif code == codes[0]:
            out += " ; " + v
        elif code == codes[1]:
            out += " : " + v
        else:
            out += ", " + v
    return out


def publication_260(b: Builder, field) -> None:
    _statement(b, field, _264["1"], "abc")
    if any(c in "efg" for c, _ in _subs(field)):
        _statement(b, field, _264["3"], "efg")


def publication_264(b: Builder, field) -> None:
    if field.indicator2 == "4":
        for code, value in _subs(field):
            if code == "c":
                b.add(b.manifestation, T.M_COPYRIGHT, strip_isbd(value))
        return
    _statement(b, field, _264.get(field.indicator2, _264["1"]))


def extent_300(b: Builder, field) -> None:
    m = b.manifestation
    for code, value in _subs(field):
        if code == "a":
            b.add(m, T.M_EXTENT, strip_isbd(value))
        elif code == "b":
            b.add(m, T.M_ILLUSTRATIVE, strip_isbd(value))
        elif code == "c":
            b.add(m, T.M_DIMENSIONS, strip_isbd(value))


def _type_field(field, codes: dict, labels: dict) -> list[str]:
    found = [v.strip() for c, v in _subs(field) if c == "b" and v.strip() in codes]
    if not found:
        found = [labels[v.strip().lower()] for c, v in _subs(field) if c == "a" and labels.get(v.strip().lower())]
    return found


def content_336(b: Builder, field) -> None:
    for code in _type_field(field, T.CONTENT_CODES, T.CONTENT_LABELS):
        b.content_codes.append(code)


def media_337(b: Builder, field) -> None:
    for code in _type_field(field, T.MEDIA_CODES, T.MEDIA_LABELS):
        b.add(b.manifestation, T.M_MEDIA, b.iri(T.media_iri(code)))


def carrier_338(b: Builder, field) -> None:
    for code in _type_field(field, T.CARRIER_CODES, T.CARRIER_LABELS):
        b.add(b.manifestation, T.M_CARRIER, b.iri(T.carrier_iri(code)))


def series_statement_490(b: Builder, field) -> None:
    text = ""
    for code, value in _subs(field):
        if code == "a":
            text += ("; " if text else "") + strip_isbd(value)
        elif code == "v":
            text += " ; " + strip_isbd(value)
    b.add(b.manifestation, T.M_SERIES_STATEMENT, text)


def _note(predicate_of, codes: str = "a"):
    def handler(b: Builder, field) -> None:
        text = " ".join(v.strip() for c, v in _subs(field) if c in codes)
        entity, predicate = predicate_of(b)
        b.add(entity, predicate, text)

    return handler


def note_500(b: Builder, field) -> None:
    text = " ".join(v.strip() for c, v in _subs(field) if c == "a")
    b.add(b.manifestation, T.M_NOTE, text)
    match = _TRANSLATION_NOTE.match(text) if b.lang_tag is None else None
    if match:
        title = strip_isbd(match.group(1).split(" / ")[0])
        if title:
            b.original_titles.append(title)


def original_entry_765(b: Builder, field) -> None:
    """765 (original language entry): its $t is the original's title, for the work key."""
    title = " ".join(strip_isbd(v) for c, v in _subs(field) if c == "t")
    if title and b.lang_tag is None:
        b.original_titles.append(title)
bibliography_504 = _note(lambda b: (b.manifestation, T.M_SUPPLEMENTARY))
contents_505 = _note(lambda b: (b.work, T.W_CONTENTS))
summary_520 = _note(lambda b: (b.expression, T.E_SUMMARY), "ab")


def holding_852(b: Builder, field) -> None:
    """852 in a bibliographic record: one item of the manifestation."""
    barcode = next((v.strip() for c, v in field.subfields if c == "p"), "")
    call = " ".join(v.strip() for c, v in field.subfields if c in "hijkm")
    location = " ".join(v.strip() for c, v in field.subfields if c in "ab")
    basis = (b.manifestation.basis[0], barcode or call or location or str(len(b.entities)))
    item = b.entity(Kind.ITEM, basis)
    item.add(T.I_MANIFESTATION, b.manifestation)
    b.add(item, T.I_IDENTIFIER, barcode)
    b.add(item, T.I_LOCATION, location)
    b.add(item, T.I_CALL_NUMBER, call)
