"""The MARC 21 → RDA mapping as a table: one rule per field, each with a real example.

Every rule names the tags it reads, the handler that maps them, the subfields whose values
the entities hold (``consumes``; the rest are carried so that MARC export can restore them),
and an example field from a real record with the statements it must produce. The test suite
runs every example; ``docs/mapping.md`` is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import fields as F
from . import concepts as CO
from . import headings as H
from . import roles as R
from . import terms as T

W, E, M, A, C = "work", "expression", "manifestation", "agent", "concept"
_ROLE_ELEMENTS = tuple(sorted({element for _, element in R.CODES.values()}))


@dataclass(frozen=True)
class Rule:
    tags: tuple[str, ...]
    handler: Callable
    consumes: str
    elements: tuple[str, ...]
    example: str
    expect: tuple[tuple[str, str, str], ...]
    source: str
    note: str = ""
    # (field, code, value) -> True for a value the entities hold but cannot give back as
    # written: it is carried as it is, beside what the entities say.
    keep: Callable | None = None


RULES: tuple[Rule, ...] = (
    Rule(("010",), F.lccn_010, "", (T.M_IDENTIFIER, T.MB_INVALID_IDENTIFIER),
         "=010  \\\\$a   00001671 ", ((M, T.M_IDENTIFIER, "info:lccn/00001671"),), "(DLC)00001671",
         "The LCCN normalised by LC's rules (blanks and anything after '/' out, a hyphenated serial padded to six digits) as info:lccn/…; $z (cancelled) as an invalid identifier. Carried whole: the field's own spacing ('   00001671 ') goes out as it came."),
    Rule(("020",), F.isbn_020, "aqz", (T.M_IDENTIFIER, T.SCHEMA_ISBN, T.M_IDENTIFIER_NOTE, T.MB_INVALID_IDENTIFIER),
         "=020  \\\\$a0780363590 (softbound edition)",
         ((M, T.M_IDENTIFIER, "urn:isbn:9780780363595"), (M, T.M_IDENTIFIER, "0780363590"),
          (M, T.SCHEMA_ISBN, "9780780363595"), (M, T.M_IDENTIFIER_NOTE, "softbound edition")),
         "(DLC)00001525", "ISBN normalised to ISBN-13 as urn:isbn, the printed form kept beside it; the same 13 digits once more under schema:isbn (http://schema.org/isbn), so that one triple pattern finds the manifestation by the number a reader types (a valid ISBN only: none for one with a wrong check digit); $q (or a parenthesised qualifier) as a note on the identifier; $z as an invalid identifier; so is a 13-digit $a whose check digit is wrong (kept as urn:isbn:… among the invalid identifiers, a Warning of the profile). An $a with anything but an ISBN and a qualifier in parentheses (a price, odd spacing) is also carried as written.",
         keep=F.isbn_not_canonical),
    Rule(("022",), F.issn_022, "ayz", (T.M_IDENTIFIER, T.MB_INVALID_IDENTIFIER),
         "=022  \\\\$a0272-9172", ((M, T.M_IDENTIFIER, "urn:issn:0272-9172"),), "(DLC)00025161",
         "An $a not in the normal form (a lower-case x, no hyphen) is also carried as written.",
         keep=F.issn_not_canonical),
    Rule(("024",), F.other_identifier_024, "az", (T.M_IDENTIFIER,),
         "=024  3\\$a9789511206491", ((M, T.M_IDENTIFIER, "urn:ean:9789511206491"),), "(FI-MELINDA)004871089",
         "Scheme from the first indicator, or $2 when it is 7."),
    Rule(("035",), F.identifier_035, "a", (T.M_IDENTIFIER,),
         "=035  \\\\$a(OCoLC)5853149", ((M, T.M_IDENTIFIER, "(OCoLC)5853149"),), "(DLC)00000002"),
    Rule(("041",), F.language_041, "", (T.E_LANGUAGE, T.E_TRANSLATION_OF, T.MB_INVALID_LANGUAGE),
         "=041  1\\$aeng$hger",
         ((E, T.E_LANGUAGE, T.LANG_BASE + "eng"),), "(DLC)00001015",
         "$a languages of the expression; $h the original's language: the expression is a translation of the work's expression in that language. Codes packed together before 2001 ('engfre', 'hinrajpra') are split into threes; an obsolete code of the MARC code list is linked by its replacement ('scc' srp, 'scr' hrv, 'tag' tgl, 'iri' gle, 'gag' glg, 'tar' tat, 'eth' gez); a code no list defines ('jap', 'it', 'ja') is kept as given (mb:invalidLanguage), a Warning of the profile, and links no language. Carried whole: the field goes out with the codes as it came."),
    Rule(("050",), CO.classification, "a", (T.W_SUBJECT,),
         "=050  00$aRX671$b.A92", ((W, T.W_SUBJECT, "RX671"),), "(DLC)00000002",
         "The class number as a literal typed mb:LCC; $b (item number) belongs to the copy and is carried."),
    Rule(("082",), CO.classification, "a", (T.W_SUBJECT,),
         "=082  \\\\$a813.49", ((W, T.W_SUBJECT, "813.49"),), "(DLC)00000057",
         "Typed mb:DDC, prime marks (/) kept; the edition ($2) carried."),
    Rule(("100", "110", "111"), H.main_entry, "abcdgjnq01",
         (*_ROLE_ELEMENTS, T.A_PERSON_NAME, T.A_PERSON_AAP, T.A_BIRTH, T.A_DEATH, T.MB_HEADING_WITHOUT_NAME),
         "=100  1\\$aDelano, Joel Andrew,$d1831-1901,$ecomp.",
         ((W, T.W_COMPILER, "Delano, Joel Andrew, 1831-1901"), (A, T.A_PERSON_NAME, "Delano, Joel Andrew"),
          (A, T.A_BIRTH, "1831"), (A, T.A_DEATH, "1901")),
         "(DLC)00000119",
         "The creator; the role from $e/$4, else author for text and creator otherwise. The store states, beside a role the RDA Registry makes a sub-property of rdaw:P10065 (has creator agent of work: author, compiler, composer, photographer), that general element too, so one triple pattern finds every creator. Relator terms are carried as written. A heading whose $a is empty names no agent: the field is carried as written and noted on the manifestation (mb:headingWithoutName), a Warning of the profile.",
         keep=H.name_is_empty),
    Rule(("130", "240"), H.preferred_title, "anp", (T.W_PREFERRED_TITLE, T.W_VARIANT_TITLE),
         "=240  10$aSpeeches.$lEnglish", ((W, T.W_PREFERRED_TITLE, "Speeches"),), "(DLC)00001408",
         "Preferred title of the work; $l (language) and other parts are carried. With a non-filing article, $a is carried too: the preferred title drops the article.",
         keep=H.has_nonfiling_article),
    Rule(("245",), F.title_245, "abcnp", (T.M_TITLE_PROPER, T.M_OTHER_TITLE, T.M_SOR, T.M_PARALLEL_TITLE),
         "=245  12$aA new system of occult training :$bWest Gate philosophy.$nBook I /$cby Charles H. Mackay (founder).",
         ((M, T.M_TITLE_PROPER, "A new system of occult training. Book I"),
          (M, T.M_OTHER_TITLE, "West Gate philosophy"), (M, T.M_SOR, "by Charles H. Mackay (founder)")),
         "(DLC)00002848", "Title proper includes part number and name ($n, $p); $b after ' =' is a parallel title. Without $a (archival records) the form ($k) is the title proper; $k is then carried as written."),
    Rule(("246",), F.variant_title_246, "abnp", (T.M_VARIANT_TITLE, T.M_PARALLEL_TITLE),
         "=246  30$aBivouac and battle", ((M, T.M_VARIANT_TITLE, "Bivouac and battle"),), "(DLC)00000611"),
    Rule(("250",), F.edition_250, "a", (T.M_EDITION,),
         "=250  \\\\$aAppledore edition.", ((M, T.M_EDITION, "Appledore edition"),), "(DLC)00000019"),
    Rule(("260",), F.publication_260, "abcefg",
         (T.M_PUBLICATION, T.M_PLACE_PUB, T.M_PUBLISHER_NAME, T.M_DATE_PUB,
          T.M_MANUFACTURE, T.M_PLACE_MANU, T.M_MANUFACTURER_NAME, T.M_DATE_MANU),
         "=260  \\\\$aChicago,$bP. H. Mallen Company,$c1899.",
         ((M, T.M_PLACE_PUB, "Chicago"), (M, T.M_PUBLISHER_NAME, "P. H. Mallen Company"),
          (M, T.M_DATE_PUB, "1899"), (M, T.M_PUBLICATION, "Chicago : P. H. Mallen Company, 1899")),
         "(DLC)00000002"),
    Rule(("264",), F.publication_264, "abc",
         (T.M_PUBLICATION, T.M_PLACE_PUB, T.M_PUBLISHER_NAME, T.M_DATE_PUB,
          T.M_PRODUCTION, T.M_PLACE_PROD, T.M_PRODUCER_NAME, T.M_DATE_PROD,
          T.M_DISTRIBUTION, T.M_PLACE_DIST, T.M_DISTRIBUTOR_NAME, T.M_DATE_DIST,
          T.M_MANUFACTURE, T.M_PLACE_MANU, T.M_MANUFACTURER_NAME, T.M_DATE_MANU, T.M_COPYRIGHT),
         "=264  \\1$aBoston :$bLee and Shepard, publishers,$c1899.",
         ((M, T.M_PLACE_PUB, "Boston"), (M, T.M_PUBLISHER_NAME, "Lee and Shepard, publishers"),
          (M, T.M_DATE_PUB, "1899")),
         "(DLC)00000611", "Second indicator 0 production, 1 publication, 2 distribution, 3 manufacture, 4 copyright date ($c; other subfields of a 264 _4 are carried).",
         keep=F.copyright_264_not_in_c),
    Rule(("300",), F.extent_300, "abc", (T.M_EXTENT, T.M_ILLUSTRATIVE, T.M_DIMENSIONS),
         "=300  \\\\$a2 v. :$bill. ;$c21 cm.",
         ((M, T.M_EXTENT, "2 v."), (M, T.M_ILLUSTRATIVE, "ill."), (M, T.M_DIMENSIONS, "21 cm.")),
         "(DLC)00000009"),
    Rule(("336",), F.content_336, "ab", (T.E_CONTENT_TYPE,),
         "=336  \\\\$atext$btxt$2rdacontent", ((E, T.E_CONTENT_TYPE, T.CONTENT_BASE + "1020"),), "(DLC)00000611",
         "$a in another language than English is carried as written.", keep=F.label_not_english),
    Rule(("337",), F.media_337, "ab", (T.M_MEDIA,),
         "=337  \\\\$aunmediated$bn$2rdamedia", ((M, T.M_MEDIA, T.MEDIA_BASE + "1007"),), "(DLC)00000611",
         "$a in another language than English is carried as written.", keep=F.label_not_english),
    Rule(("338",), F.carrier_338, "ab", (T.M_CARRIER,),
         "=338  \\\\$avolume$bnc$2rdacarrier", ((M, T.M_CARRIER, T.CARRIER_BASE + "1049"),), "(DLC)00000611",
         "$a in another language than English is carried as written.", keep=F.label_not_english),
    Rule(("440",), H.series_added_entry, "anp", (T.W_PART_OF, T.M_SERIES_STATEMENT),
         "=440  \\0$aHome law school series ;$v[v. 1] no. 3",
         ((M, T.M_SERIES_STATEMENT, "Home law school series ; [v. 1] no. 3"),
          (W, T.W_PART_OF, "Home law school series")), "(DLC)00000004"),
    Rule(("490",), F.series_statement_490, "av", (T.M_SERIES_STATEMENT,),
         "=490  0\\$aHalf-title: Appleton's town and country library,$vno. 277",
         ((M, T.M_SERIES_STATEMENT, "Half-title: Appleton's town and country library ; no. 277"),),
         "(DLC)00000118"),
    Rule(("500",), F.note_500, "a", (T.M_NOTE,),
         "=500  \\\\$aHomeopathic formulae.", ((M, T.M_NOTE, "Homeopathic formulae."),), "(DLC)00000002",
         "Notes keep their punctuation: it is the cataloguer's text, not ISBD."),
    Rule(("504",), F.bibliography_504, "a", (T.M_SUPPLEMENTARY,),
         "=504  \\\\$a\"Bibliographical note\": p. 8-9.",
         ((M, T.M_SUPPLEMENTARY, "\"Bibliographical note\": p. 8-9."),), "(DLC)00000175"),
    Rule(("505",), F.contents_505, "a", (T.W_CONTENTS,),
         "=505  0\\$aCentury of science.--Doctrine of evolution.",
         ((W, T.W_CONTENTS, "Century of science.--Doctrine of evolution."),), "(DLC)00000048 (shortened)"),
    Rule(("520",), F.summary_520, "ab", (T.E_SUMMARY,),
         "=520  \\\\$aAn account of Douglass' life by a Washington, D.C., school teacher.",
         ((E, T.E_SUMMARY, "An account of Douglass' life by a Washington, D.C., school teacher."),),
         "(DLC)00000721 (shortened)"),
    Rule(("600", "610", "611", "630", "648", "650", "651", "655"), H.subject, "",
         (T.W_SUBJECT, T.W_CATEGORY, T.SKOS_PREFLABEL, T.SKOS_INSCHEME),
         "=651  \\0$aKansas$xHistory$y1854-1861",
         ((C, T.SKOS_PREFLABEL, "Kansas -- History -- 1854-1861"),
          (C, T.SKOS_INSCHEME, "http://id.loc.gov/authorities/subjects")),
         "(DLC)00000043",
         "Name headings without subdivisions point at the agent or work; others become SKOS concepts (the $0/$1 URI when present) in the scheme named by the second indicator or $2; 655 is category of work. All subfields are carried, so the heading's coding survives."),
    Rule(("653",), H.subject, "", (T.W_SUBJECT, T.SKOS_PREFLABEL, T.SKOS_INSCHEME),
         "=653  \\\\$aregler$adikt$akatter",
         ((C, T.SKOS_PREFLABEL, "regler"), (C, T.SKOS_PREFLABEL, "dikt"), (C, T.SKOS_PREFLABEL, "katter"),
          (C, T.SKOS_INSCHEME, "https://w3id.org/metadatabronn/scheme/uncontrolled")),
         "BIBSYS 990929710914702204",
         "Uncontrolled index terms: each $a is a term of its own, a concept in the uncontrolled scheme labelled with that $a. Carried whole."),
    Rule(("700", "710", "711"), H.added_entry, "abcdgjnq01",
         (*_ROLE_ELEMENTS, T.W_RELATED_WORK, T.MB_HEADING_WITHOUT_NAME),
         "=700  2\\$aCarrera y Jústiz, F.$q(Francisco),$etranslator.",
         ((E, T.E_TRANSLATOR, "Carrera y Jústiz, F. (Francisco)"),), "(DLC)00002690",
         "The role ($4, or an $e term in English or Norwegian, spelt out or abbreviated: 'illustr.', 'red.', 'forf.') picks the entity: authors on the work, translators and editors on the expression, illustrators on the manifestation; no role means a contributor to the expression (rdae:P20053, has creator agent of expression). Beside a translator, editor or narrator the store states rdae:P20053 too (the Registry's super-property of all three), and beside a creator role of the work rdaw:P10065, as in 100. With $t: a related work; with $i 'Translation of'/'Oversettelse av': the original work, which this record's expression realises. An empty $a names no agent, as in 100.",
         keep=H.name_is_empty),
    Rule(("730", "740"), H.uniform_title_730, "anp", (T.W_RELATED_WORK,),
         "=740  0\\$aMulhall-Harper comparative statistical tables.",
         ((W, T.W_RELATED_WORK, "Mulhall-Harper comparative statistical tables"),), "(DLC)00000050"),
    Rule(("765",), F.original_entry_765, "", (T.W_PREFERRED_TITLE,),
         "=765  0\\$tSuomen asetuskokoelma$x0787-314X",
         ((W, T.W_PREFERRED_TITLE, "Suomen asetuskokoelma"),), "(FI-MELINDA)000061544",
         "Original language entry: carried whole; its $t names the original for the work's cluster key when the record has no 240/130."),
    Rule(("800", "810", "811", "830"), H.series_added_entry, "abcdgnqtp",
         (T.W_PART_OF,),
         "=830  \\0$aProceedings series (International Atomic Energy Agency)",
         ((W, T.W_PART_OF, "Proceedings series (International Atomic Energy Agency)"),), "(DLC)00000255",
         "The series is a work of its own; $v (numbering) is carried."),
    Rule(("856",), F.url_856, "", (T.M_URL,),
         "=856  42$3Publisher description$uhttp://www.loc.gov/catdir/description/cam021/00023289.html",
         ((M, T.M_URL, "http://www.loc.gov/catdir/description/cam021/00023289.html"),), "(DLC)00023289",
         "Each $u as the manifestation's uniform resource locator (rdam:P30154: the address of an online resource), whatever the second indicator says it links to (the resource, a version, a related resource such as a table of contents). Carried whole: $3, $z and the indicators go out as they came."),
    Rule(("852",), F.holding_852, "abhijkmp", (T.I_MANIFESTATION, T.I_LOCATION, T.I_IDENTIFIER, T.I_CALL_NUMBER),
         "=852  \\\\$aLibrary of Congress$bPrints and Photographs Division$eWashington, D.C. 20540 USA$ndcu",
         (("item", T.I_LOCATION, "Library of Congress Prints and Photographs Division"),), "(DLC)00002458"),
)

BY_TAG: dict[str, Rule] = {tag: rule for rule in RULES for tag in rule.tags}

# Tags whose 880 partner is mapped by the same handler, with script-tagged literals.
DESCRIPTIVE_880 = {"245", "246", "250", "260", "264", "300", "490", "500", "504", "505", "520"}
