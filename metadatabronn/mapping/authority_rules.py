"""The MARC 21 authority → RDA mapping as a table: one rule per field, each with an example.

Every rule names the tags it reads, its handler (:mod:`.authority` for headings,
:mod:`.authority_fields` for the rest), the elements it may state, and an example: the fields of
a record (a heading first where the rule needs one) with what the record's entity must then say.
Examples come from the committed records under ``tests/data/authorities/``: real records where
one shows the field (BIBSYS, GND, LCSH, LCGFT, NAL), else the Norwegian-style set built for the
tests from the register's documented field usage (marked "constructed"). The test suite runs
every example; the section "Authority records" of ``docs/mapping.md`` is generated from it.
Every field, mapped or not, is carried whole in the record's layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import authority as AU
from . import authority_fields as AF
from . import terms as T
from .authority_terms import ELEMENTS, RDAN, N_NOTE, N_REFERENCE_SOURCE, SKOS_ALTLABEL, SKOS_BROADER, SKOS_SCOPE_NOTE

E, N = "entity", "nomen"  # what an expectation is about: the main entity, or a nomen's string
A = T.RDAA
BIBSYS_HAMSUN = "BIBSYS (NO-TrBIB)90081146"
CONSTRUCTED = "constructed (NO-TrBIB)"


@dataclass(frozen=True)
class Rule:
    tags: tuple[str, ...]
    handler: Callable
    elements: tuple[str, ...]
    example: tuple[str, ...]  # fields in MARC mnemonic form, the record's heading first
    expect: tuple[tuple[str, str, str], ...]  # (E or N, element, value)
    source: str
    note: str = ""


def _heading(st, field) -> None:  # the 1XX is mapped first, by convert_authority itself
    AU.main_heading(st, field)


RULES: tuple[Rule, ...] = (
    Rule(("100", "110", "111"), _heading, (T.A_PERSON_NAME, T.A_PERSON_AAP, T.A_CORPORATE_AAP, T.A_FAMILY_AAP),
         ("=100  1\\$aHamsun, Marie$d1881-1969",),
         ((E, T.A_PERSON_NAME, "Hamsun, Marie"), (E, T.A_PERSON_AAP, "Hamsun, Marie 1881-1969"),
          (N, "100", "Hamsun, Marie 1881-1969")), BIBSYS_HAMSUN,
         "The main entity: a person (100, first indicator 3 a family), a corporate body (110, 111), keyed by "
         "the record's identifier (agent|id|(ORG)CTRL, the key a bibliographic heading with that $0 has). Its "
         "core (type, preferred name, access point) is written once, when its IRI is first minted; the "
         "access point is the heading as a bibliographic heading gives it. With $t the heading names a work."),
    Rule(("100", "110", "111", "130"), _heading, (T.W_PREFERRED_TITLE, T.W_AAP),
         ("=100  1\\$aSolberg, Åse Kari,$d1921-1998.$tFjellsanger",),
         ((E, T.W_PREFERRED_TITLE, "Fjellsanger"), (E, T.W_AAP, "Solberg, Åse Kari, 1921-1998. Fjellsanger")),
         CONSTRUCTED + "99990007",
         "A name/title heading (and 130, filed by its second indicator) names a work, keyed as a bibliographic "
         "record of that work keys it (creator without dates, title): the authority joins the work's cluster."),
    Rule(("150", "151", "155"), _heading, (T.SKOS_PREFLABEL, T.SKOS_INSCHEME),
         ("=040  \\\\$aNo-TrBIB$bnob$fhumord", "=150  \\\\$aUndervannsgeologi$9rank=preferred$9language=nb"),
         ((E, T.SKOS_PREFLABEL, "Undervannsgeologi"),
          (E, T.SKOS_INSCHEME, "https://w3id.org/metadatabronn/scheme/humord")), "Humord HUME28807",
         "A SKOS concept keyed concept|id|(ORG)CTRL, in the scheme of 040 $f, else of 008/11 (a LCSH)."),
    Rule(("400", "410", "411", "430"), AU.variant_heading, (A + "P50412", A + "P50408", A + "P50410", T.RDAW + "P10332"),
         ("=100  1\\$aHamsun, Marie$d1881-1969", "=400  1\\$aAndersen, Marie$d1881-1969"),
         ((E, A + "P50412", "Andersen, Marie 1881-1969"), (N, "400", "Andersen, Marie 1881-1969")), BIBSYS_HAMSUN,
         "A variant access point, also as a nomen of its own with its scheme ($2) and source ($5, else $2); "
         "$w/0 (a earlier, b later form, d acronym) as a note on the nomen. Its key is a variant key: a "
         "heading matched by it is a variant match."),
    Rule(("450", "451", "455"), AU.variant_heading, (SKOS_ALTLABEL,),
         ("=155  \\\\$aRemote-sensing images", "=455  \\\\$aImages, Remote-sensing"),
         ((E, SKOS_ALTLABEL, "Images, Remote-sensing"), (N, "455", "Images, Remote-sensing")), "LCGFT gf2011026530"),
    Rule(("500", "510", "511", "530"), AU.related_heading, (A + "P50318", A + "P50316", A + "P50336"),
         ("=100  1\\$aSchneider, Birgit$d1971-",
          "=510  2\\$0(DE-101)956081045$aChristian-Albrechts-Universität zu Kiel$bInstitut für Geowissenschaften"),
         ((E, A + "P50318", "Christian-Albrechts-Universität zu Kiel Institut für Geowissenschaften"),),
         "GND 1020118989 (shortened)",
         "A related agent or work, made as a bibliographic heading makes it (keyed by $1/$0, else $9, else "
         "its access point). The element: $4 when it is an RDA element's IRI; else by the two kinds "
         "(related person of person …); $w a/b between bodies: predecessor/successor. $i is carried."),
    Rule(("550", "551", "555"), AU.related_heading, (SKOS_BROADER,),
         ("=150  \\\\$aUndervannsgeologi", "=550  \\\\$aGeologi$wg$0(No-TrBIB)HUME08282"),
         ((E, SKOS_BROADER, "Geologi"),), "Humord HUME28807",
         "$w g broader, h narrower, else related; the concept keyed by its $0 as an authority identifier."),
    Rule(("024",), AF.identifier_024, (T.MB_IDENTIFIER, T.OWL_SAMEAS, T.A_PERSON_ID),
         ("=100  1\\$aHamsun, Marie$d1881-1969", "=024  7\\$a0000000120169813$2isni"),
         ((E, T.MB_IDENTIFIER, "(isni)0000000120169813"), (E, T.A_PERSON_ID, "(isni)0000000120169813"),
          (E, T.OWL_SAMEAS, "https://isni.org/isni/0000000120169813")), BIBSYS_HAMSUN,
         "By $2: isni (spaces removed), viaf, orcid, wikidata, NO-TrBIB, hdl, bibbi as mb:identifier "
         "'(scheme)value' and the kind's identifier element; isni, viaf, orcid, wikidata, hdl and uri also as "
         "owl:sameAs. Each is a link key of the entity."),
    Rule(("035",), AF.identifier_035, (T.A_PERSON_ID,),
         ("=100  1\\$aHamsun, Marie$d1881-1969", "=035  \\\\$a(NO-TrBIB)90081146"),
         ((E, T.A_PERSON_ID, "(NO-TrBIB)90081146"),), BIBSYS_HAMSUN, "$a a link key; $z (cancelled) carried only."),
    Rule(("010",), AF.lccn_010, (T.DCT_IDENTIFIER,),
         ("=151  \\\\$aValley Forge National Historical Park (Pa.)", "=010  \\\\$ash2009007258"),
         ((E, T.DCT_IDENTIFIER, "(DLC)sh2009007258"),), "LCSH sh2009007258", "As (DLC)…, spaces out; a link key."),
    Rule(("046",), AF.dates_046, (T.A_BIRTH, T.A_DEATH, A + "P50037", A + "P50038", T.RDAW + "P10219"),
         ("=100  1\\$aSolberg, Åse Kari$d1921-1998", "=046  \\\\$f1921$g1998"),
         ((E, T.A_BIRTH, "1921"), (E, T.A_DEATH, "1998")), CONSTRUCTED + "99990001",
         "$f/$g birth and death; a body's $q/$s establishment, $r/$t termination; a person's $s-$t period of "
         "activity; a work's $k date of work."),
    Rule(("370",), AF.places_370, (A + "P50119", A + "P50118", A + "P50109", A + "P50350"),
         ("=100  1\\$aSolberg, Åse Kari$d1921-1998", "=370  \\\\$aTrondheim$bBergen"),
         ((E, A + "P50119", "Trondheim"), (E, A + "P50118", "Bergen")), CONSTRUCTED + "99990001",
         "As given (literals): $a birth, $b death, $e residence; a body's $c, $e, $f its related places."),
    Rule(("372",), AF.attribute("field"), (A + "P50100", A + "P50022"),
         ("=100  1\\$aSolberg, Åse Kari$d1921-1998", "=372  \\\\$aLyrikk"),
         ((E, A + "P50100", "Lyrikk"),), CONSTRUCTED + "99990001"),
    Rule(("374",), AF.attribute("occupation"), (A + "P50104",),
         ("=100  1\\$aSolberg, Åse Kari$d1921-1998", "=374  \\\\$aForfatter"),
         ((E, A + "P50104", "Forfatter"),), CONSTRUCTED + "99990001"),
    Rule(("375",), AF.attribute("gender"), (A + "P50116",),
         ("=100  1\\$aHamsun, Marie$d1881-1969", "=375  \\\\$af"), ((E, A + "P50116", "f"),), BIBSYS_HAMSUN,
         "As given ('f', 'kvinne', ISO 5218 '2'): the register's codes vary."),
    Rule(("377",), AF.language_377, (A + "P50102",),
         ("=100  1\\$aSolberg, Åse Kari$d1921-1998", "=377  \\\\$anob"),
         ((E, A + "P50102", T.LANG_BASE + "nob"),), CONSTRUCTED + "99990001",
         "$a a MARC language code, linked; $l a name, as given."),
    Rule(("378",), AF.attribute("fuller form", "q"), (A + "P50115",),
         ("=100  1\\$aSolberg, Åse Kari$d1921-1998", "=378  \\\\$qÅse Kari Margrethe"),
         ((E, A + "P50115", "Åse Kari Margrethe"),), CONSTRUCTED + "99990001"),
    Rule(("670",), AF.source_670, (N_REFERENCE_SOURCE, T.RDAW + "P10406"),
         ("=151  \\\\$aValley Forge National Historical Park (Pa.)", "=670  \\\\$aGNIS, July 27, 2009"),
         ((N, N_REFERENCE_SOURCE, "GNIS, July 27, 2009"),), "LCSH sh2009007258",
         "The preferred nomen's reference source ($a and $b), and a work's source consulted."),
    Rule(("675",), AF.not_found_675, (N_NOTE,),
         ("=155  \\\\$aRemote-sensing images", "=675  \\\\$aGlossary of the mapping sciences, 1994"),
         ((N, N_NOTE, "Not found: Glossary of the mapping sciences, 1994"),), "LCGFT gf2011026530"),
    Rule(("678",), AF.history_678, (A + "P50113", A + "P50035", A + "P50064", T.RDAW + "P10210"),
         ("=100  1\\$aSchneider, Birgit$d1971-", "=678  \\\\$bDiss. Bremen 2002"),
         ((E, A + "P50113", "Diss. Bremen 2002"),), "GND 1020118989",
         "A person's biographical information, a body's or family's history, a work's history, a concept's note."),
    Rule(("680",), AF.scope_680, (SKOS_SCOPE_NOTE,),
         ("=150  \\\\$a3-methyl-2-oxobutanoate dehydrogenase (lipoamide)",
          "=680  \\\\$iA ketone oxidoreductase."),
         ((E, SKOS_SCOPE_NOTE, "A ketone oxidoreductase."),), "NAL thesaurus 1396 (shortened)"),
    Rule(("682",), AF.replaced_682, (),
         ("=100  1\\$aØdegaard, Marius$d1975-",
          "=682  \\\\$iDenne overskriften er erstattet av$aØdegård, Marius, 1975-$0(NO-TrBIB)99990009"),
         (), CONSTRUCTED + "99990011",
         "With Leader/05 x (replaced) or s (split): each $0 (and each 5XX $0 with $w b) names a record "
         "replacing this one; the entity says dcterms:isReplacedBy the entity of each. Leader/05 d: the "
         "record is deleted (a tombstone)."),
    Rule(("901",), AF.quality_901, (T.MB_QUALITY,),
         ("=100  1\\$aHamsun, Marie$d1881-1969", "=901  \\\\$akat3"), ((E, T.MB_QUALITY, "kat3"),), BIBSYS_HAMSUN,
         "The register's quality level (kat1, kat2, kat3); other values carried only."),
)

BY_TAG: dict[str, Rule] = {}
for _rule in RULES:
    for _tag in _rule.tags:
        if _rule.handler is not _heading:  # headings are the 1XX, mapped before the other fields
            BY_TAG.setdefault(_tag, _rule)
del _rule, _tag
ELEMENTS_USED = ELEMENTS  # for the vocabulary check


def doc_lines() -> list[str]:
    """The section "Authority records" of ``docs/mapping.md``, from this table."""
    from .doc import curie as _curie

    def curie(iri: str) -> str:
        return _curie(iri).replace(RDAN, "rdan:")

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "## Authority records",
        "",
        "Generated from `metadatabronn/mapping/authority_rules.py`. A MARC 21 authority record (Leader/06 `z`) is",
        "converted by `mapping.authority` into its main entity, named by its 1XX: a person, family or corporate body",
        "(100, 110, 111), a work (a name/title 1XX, or 130) or a SKOS concept (150, 151, 155). A name or title",
        "heading with subject subdivisions ($v $x $y $z: `Lenin, Vladimir Ilʹich, 1870-1924 $x Travel $z Europe`) is",
        "a concept, as a bibliographic 600/610/611/630 with them is.",
        "",
        "- **Identity.** The record's identifier is `(ORG)CTRL`: 001 with 003, else 040 $a, else `local`; without",
        "  001 the first 035 $a, else 010 $a as `(DLC)…`. A record without one, or without a 1XX, is refused (with its",
        "  number and tag). An agent is keyed `agent|id|(ORG)CTRL` and a concept `concept|id|(ORG)CTRL`: the key, and",
        "  so the IRI, of a bibliographic heading whose $0 is that identifier. A work is keyed as a bibliographic",
        "  record of it is (creator and title), so it joins that work's cluster.",
        "- **Graphs.** Everything the record says is in its graph `{base}/authority/{slug}` (the slug made from the",
        "  identifier as a record's is), with its provenance as for bibliographic records. The core of the entity",
        "  (type, preferred name or title or label, access point) is written once into the default graph, by",
        "  whichever record mints the IRI first, heading or authority, and never replaced by the authority; related",
        "  entities (5XX) get the core a heading naming them would write, when they are new.",
        "- **Nomens.** The 1XX and each 4XX is an RDA nomen (rdac:C10012) `{graph}#nomen-{n}`, n the field's position",
        "  in the record: its string (rdan:P80068), scheme (rdan:P80069: 040 $f, or the 4XX $2), who gave it",
        "  (rdan:P80073: 040 $a, or the 4XX $5 or $2), notes (675, a 4XX's $w), reference sources (670), linked to",
        "  the entity both ways (rdaa:P50377 … has access point for person; rdan:P80107/P80108 … is authorized /",
        "  variant access point for person of). The access points are also plain literals of the entity.",
        "- **Keys.** `mb:authorityId` is the record's identifier. `mb:linkKey` gives every identity key a",
        "  bibliographic heading could have that means the entity: its own key, `…|local|CTRL` (Koha's $9), `…|id|x`",
        "  for each 035 $a, the 010 and each 024 identifier, `agent|uri|…` for each owl:sameAs URI (http and https),",
        "  and the key of a heading without identifiers that gives its access point (`agent|person|{folded}`,",
        "  `concept|label|{scheme}|{folded}`). `mb:variantKey` gives the same for each 4XX. Headings are linked by",
        "  them (`pipeline.linking`).",
        "- **Status.** Leader/05 `d`: the record's graph becomes a tombstone (the entity's core stays, its IRI",
        "  resolves); `x` (replaced) and `s` (split): the record is stored, and the entity `dcterms:isReplacedBy` the",
        "  entity of each record a 682 $0 (or a 5XX $0 with $w b) names.",
        "- **Round trip.** Every field is carried, in order, with its indicators and subfields, in `mb:carriedMarc`",
        "  (layout version 3, no value marked as held): authority MARC out (`mapping.authority_out`) writes the",
        "  record back as it came, with identifiers added in the well as new 024s.",
        "",
        "| tags | example (source) | produces | note |",
        "|---|---|---|---|",
    ]
    for rule in RULES:
        produces = "<br>".join(f"{'nomen' if about == N and element.isdigit() else about} "
                               f"{'' if element.isdigit() else curie(element) + ' '}“{cell(curie(value))}”"
                               for about, element, value in rule.expect)
        example = "<br>".join(f"`{cell(line)}`" for line in rule.example)
        lines.append(f"| {', '.join(rule.tags)} | {example} ({rule.source}) | {produces} | {cell(rule.note)} |")
    lines.append("")
    return lines
