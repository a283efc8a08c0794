"""IRIs the mapping emits, and the MARC code tables that pick RDA vocabulary terms.

Every IRI here must be declared in ``vocabularies/``; a test holds the two together.
"""

from __future__ import annotations

RDAW = "http://rdaregistry.info/Elements/w/"
RDAE = "http://rdaregistry.info/Elements/e/"
RDAM = "http://rdaregistry.info/Elements/m/"
RDAI = "http://rdaregistry.info/Elements/i/"
RDAA = "http://rdaregistry.info/Elements/a/"
RDAC = "http://rdaregistry.info/Elements/c/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OWL_SAMEAS = "http://www.w3.org/2002/07/owl#sameAs"
MB = "https://w3id.org/metadatabronn/ns#"
LANG_BASE = "http://id.loc.gov/vocabulary/iso639-2/"

CONTENT_BASE = "http://rdaregistry.info/termList/RDAContentType/"
MEDIA_BASE = "http://rdaregistry.info/termList/RDAMediaType/"
CARRIER_BASE = "http://rdaregistry.info/termList/RDACarrierType/"
MODE_BASE = "http://rdaregistry.info/termList/ModeIssue/"

# Classes
C_WORK = RDAC + "C10001"
C_EXPRESSION = RDAC + "C10006"
C_MANIFESTATION = RDAC + "C10007"
C_ITEM = RDAC + "C10003"
C_PERSON = RDAC + "C10004"
C_CORPORATE = RDAC + "C10005"
C_FAMILY = RDAC + "C10008"
C_CONCEPT = SKOS + "Concept"

# Work
W_PREFERRED_TITLE = RDAW + "P10223"
W_AAP = RDAW + "P10331"
W_AUTHOR = RDAW + "P10061"
W_CREATOR = RDAW + "P10065"
W_SUBJECT = RDAW + "P10256"
W_CATEGORY = RDAW + "P10004"
W_PART_OF = RDAW + "P10019"
W_VARIANT_TITLE = RDAW + "P10086"
W_COMPILER = RDAW + "P10055"
W_ISSUING = RDAW + "P10046"
W_COMPOSER = RDAW + "P10053"
W_PHOTOGRAPHER = RDAW + "P10056"
W_SPONSOR = RDAW + "P10067"
W_DEGREE_GRANTOR = RDAW + "P10006"
W_RELATED_WORK = RDAW + "P10198"
W_CONTENTS = RDAW + "P10330"  # note on work: RDA has no contents-note element of its own

# Expression
E_WORK = RDAE + "P20231"
E_CONTENT_TYPE = RDAE + "P20001"
E_LANGUAGE = RDAE + "P20006"
E_TRANSLATOR = RDAE + "P20037"
E_CREATOR = RDAE + "P20053"
E_EDITOR = RDAE + "P20330"
E_TRANSLATION_OF = RDAE + "P20141"
E_AUDIENCE = RDAE + "P20322"
E_NARRATOR = RDAE + "P20022"
E_SUMMARY = RDAE + "P20069"  # has summarization of content (520)

# Manifestation
M_EXPRESSION = RDAM + "P30139"
M_WORK = RDAM + "P30135"
M_TITLE_PROPER = RDAM + "P30156"
M_OTHER_TITLE = RDAM + "P30142"
M_SOR = RDAM + "P30105"
M_EDITION = RDAM + "P30107"
M_PUBLICATION = RDAM + "P30111"
M_PLACE_PUB = RDAM + "P30088"
M_PUBLISHER_NAME = RDAM + "P30176"
M_DATE_PUB = RDAM + "P30011"
M_PRODUCTION = RDAM + "P30110"
M_PLACE_PROD = RDAM + "P30086"
M_PRODUCER_NAME = RDAM + "P30174"
M_DATE_PROD = RDAM + "P30009"
M_DISTRIBUTION = RDAM + "P30108"
M_PLACE_DIST = RDAM + "P30085"
M_DISTRIBUTOR_NAME = RDAM + "P30173"
M_DATE_DIST = RDAM + "P30008"
M_MANUFACTURE = RDAM + "P30109"
M_PLACE_MANU = RDAM + "P30087"
M_MANUFACTURER_NAME = RDAM + "P30175"
M_DATE_MANU = RDAM + "P30010"
M_COPYRIGHT = RDAM + "P30007"
M_EXTENT = RDAM + "P30182"
M_DIMENSIONS = RDAM + "P30169"
M_ILLUSTRATIVE = RDAM + "P30453"
M_SUPPLEMENTARY = RDAM + "P30455"
M_MEDIA = RDAM + "P30002"
M_CARRIER = RDAM + "P30001"
M_MODE = RDAM + "P30003"
M_IDENTIFIER = RDAM + "P30004"
M_SERIES_STATEMENT = RDAM + "P30106"
M_NOTE = RDAM + "P30137"
M_VARIANT_TITLE = RDAM + "P30128"
M_PARALLEL_TITLE = RDAM + "P30203"
M_PUBLISHER = RDAM + "P30083"
M_ILLUSTRATOR = RDAM + "P30321"
M_CONTRIBUTOR_TEXT = RDAM + "P30328"
M_IDENTIFIER_AS_GIVEN = M_IDENTIFIER  # the design keeps the printed form beside the urn:isbn one
M_IDENTIFIER_NOTE = RDAM + "P30260"
M_URL = RDAM + "P30154"  # uniform resource locator (856 $u)
# A valid ISBN once more, as 13 plain digits, beside its urn:isbn: identifier: one triple pattern
# finds a manifestation by the number a reader types. Not RDA: schema.org's well-known property.
SCHEMA_ISBN = "http://schema.org/isbn"

# Item
I_MANIFESTATION = RDAI + "P40049"
I_IDENTIFIER = RDAI + "P40001"
I_LOCATION = RDAI + "P40162"

# Agents
A_PERSON_NAME = RDAA + "P50117"
A_PERSON_AAP = RDAA + "P50411"
A_PERSON_ID = RDAA + "P50094"
A_CORPORATE_NAME = RDAA + "P50041"
A_CORPORATE_AAP = RDAA + "P50407"
A_CORPORATE_ID = RDAA + "P50006"
A_FAMILY_NAME = RDAA + "P50065"
A_FAMILY_AAP = RDAA + "P50409"
A_AGENT_ID = RDAA + "P50383"
A_BIRTH = RDAA + "P50121"
A_DEATH = RDAA + "P50120"
A_PERSON_ACTIVITY = RDAA + "P50098"

# SKOS for subject concepts
SKOS_PREFLABEL = SKOS + "prefLabel"
SKOS_INSCHEME = SKOS + "inScheme"
SKOS_NOTATION = SKOS + "notation"

# The project's own terms (see vocabularies/metadatabronn.ttl)
MB_CARRIED = MB + "carriedMarc"
MB_INFERRED = MB + "inferred"
MB_SOURCE_HASH = MB + "sourceHash"
MB_FICTION = MB + "Fiction"
MB_NONFICTION = MB + "NonFiction"
MB_JUVENILE = MB + "Juvenile"
MB_ADULT = MB + "Adult"
MB_INVALID_IDENTIFIER = MB + "invalidIdentifier"
MB_CONTROL_NUMBER_FROM = MB + "controlNumberFrom"  # a record without 001: the field its identity came from
MB_HEADING_WITHOUT_NAME = MB + "headingWithoutName"  # a 1XX/6XX/7XX/8XX whose $a is empty, as given
MB_INVALID_LANGUAGE = MB + "invalidLanguage"  # a language code no code list defines, as given
MB_LCC = MB + "LCC"  # datatype: a Library of Congress Classification number
MB_DDC = MB + "DDC"  # datatype: a Dewey Decimal Classification number
# Authority records (mapping.authority) and the linking of headings to them (pipeline.linking)
MB_AUTHORITY_ID = MB + "authorityId"  # "(ORG)CTRL": the authority record's own identifier
MB_LINK_KEY = MB + "linkKey"  # an identity key a heading may have that means this authority's entity
MB_VARIANT_KEY = MB + "variantKey"  # the same, made from a variant access point (a variant match)
MB_IDENTIFIER = MB + "identifier"  # "(scheme)value": an identifier by its 024 $2 scheme
MB_QUALITY = MB + "quality"  # the register's quality level (kat1, kat2, kat3)

# 336/337/338 codes (MARC 21 source codes rdacontent/rdamedia/rdacarrier) to RDA term numbers,
# after the RDA Registry's maps to id.loc.gov.
CONTENT_CODES = {
    "crd": "1001", "cri": "1002", "crm": "1003", "crt": "1004", "crn": "1005", "crf": "1006",
    "cod": "1007", "cop": "1008", "ntv": "1009", "ntm": "1010", "prm": "1011", "snd": "1012",
    "spw": "1013", "sti": "1014", "tci": "1015", "tcm": "1016", "tcn": "1017", "tct": "1018",
    "tcf": "1019", "txt": "1020", "tdf": "1021", "tdm": "1022", "tdi": "1023",
}
MEDIA_CODES = {
    "s": "1001", "h": "1002", "c": "1003", "p": "1004", "g": "1005", "e": "1006", "n": "1007",
    "v": "1008",
}
CARRIER_CODES = {
    "sg": "1002", "se": "1003", "sd": "1004", "si": "1005", "sq": "1006", "ss": "1007",
    "st": "1008", "ck": "1011", "cb": "1012", "cd": "1013", "ce": "1014", "ca": "1015",
    "cf": "1016", "ch": "1017", "cr": "1018", "ha": "1021", "he": "1022", "hf": "1023",
    "hb": "1024", "hc": "1025", "hd": "1026", "hh": "1027", "hg": "1028", "pp": "1030",
    "mc": "1032", "mf": "1033", "mr": "1034", "gd": "1035", "gf": "1036", "gc": "1037",
    "gt": "1039", "gs": "1040", "eh": "1042", "es": "1043", "no": "1045", "nn": "1046",
    "na": "1047", "nb": "1048", "nc": "1049", "vc": "1051", "vf": "1052", "vr": "1053",
    "hj": "1056", "nr": "1059", "vd": "1060", "mo": "1069",
}
# Labels as they appear in 336/337/338 $a, for records that give a term but no code.
CONTENT_LABELS = {
    "text": "txt", "still image": "sti", "notated music": "ntm", "performed music": "prm",
    "spoken word": "spw", "cartographic image": "cri", "two-dimensional moving image": "tdi",
    "computer program": "cop", "computer dataset": "cod", "three-dimensional form": "tdf",
    "sounds": "snd", "tactile text": "tct", "other": None, "unspecified": None,
}
MEDIA_LABELS = {
    "unmediated": "n", "computer": "c", "microform": "h", "audio": "s", "video": "v",
    "projected": "g", "stereographic": "e", "microscopic": "p",
}
CARRIER_LABELS = {
    "volume": "nc", "online resource": "cr", "sheet": "nb", "microfiche": "he",
    "audio disc": "sd", "videodisc": "vd", "computer disc": "cd", "object": "nr",
    "card": "no", "microfilm reel": "hd", "audiocassette": "ss", "videocassette": "vf",
}

# English labels by code, as 336/337/338 $a writes them (from vocabularies/rda-terms.ttl).
CONTENT_LABEL_OF = {'cod': 'computer dataset', 'cop': 'computer program', 'crd': 'cartographic dataset', 'crf': 'cartographic three-dimensional form', 'cri': 'cartographic image', 'crm': 'cartographic moving image', 'crn': 'cartographic tactile three-dimensional form', 'crt': 'cartographic tactile image', 'ntm': 'notated music', 'ntv': 'notated movement', 'prm': 'performed music', 'snd': 'sounds', 'spw': 'spoken word', 'sti': 'still image', 'tcf': 'tactile three-dimensional form', 'tci': 'tactile image', 'tcm': 'tactile notated music', 'tcn': 'tactile notated movement', 'tct': 'tactile text', 'tdf': 'three-dimensional form', 'tdi': 'two-dimensional moving image', 'tdm': 'three-dimensional moving image', 'txt': 'text'}
MEDIA_LABEL_OF = {'c': 'computer', 'e': 'stereographic', 'g': 'projected', 'h': 'microform', 'n': 'unmediated', 'p': 'microscopic', 's': 'audio', 'v': 'video'}
CARRIER_LABEL_OF = {'ca': 'computer tape cartridge', 'cb': 'computer chip cartridge', 'cd': 'computer disc', 'ce': 'computer disc cartridge', 'cf': 'computer tape cassette', 'ch': 'computer tape reel', 'ck': 'computer card', 'cr': 'online resource', 'eh': 'stereograph card', 'es': 'stereograph disc', 'gc': 'filmstrip cartridge', 'gd': 'filmslip', 'gf': 'filmstrip', 'gs': 'slide', 'gt': 'overhead transparency', 'ha': 'aperture card', 'hb': 'microfilm cartridge', 'hc': 'microfilm cassette', 'hd': 'microfilm reel', 'he': 'microfiche', 'hf': 'microfiche cassette', 'hg': 'microopaque', 'hh': 'microfilm slip', 'hj': 'microfilm roll', 'mc': 'film cartridge', 'mf': 'film cassette', 'mo': 'film roll', 'mr': 'film reel', 'na': 'roll', 'nb': 'sheet', 'nc': 'volume', 'nn': 'flipchart', 'no': 'card', 'nr': 'object', 'pp': 'microscope slide', 'sd': 'audio disc', 'se': 'audio cylinder', 'sg': 'audio cartridge', 'si': 'sound-track reel', 'sq': 'audio roll', 'ss': 'audiocassette', 'st': 'audiotape reel', 'vc': 'video cartridge', 'vd': 'videodisc', 'vf': 'videocassette', 'vr': 'videotape reel'}
# Term IRI -> (MARC code, English label, source code for $2), for writing 336/337/338.
TYPE_FIELDS = {}
for _codes, _labels, _base, _source in ((CONTENT_CODES, CONTENT_LABEL_OF, CONTENT_BASE, "rdacontent"),
                                        (MEDIA_CODES, MEDIA_LABEL_OF, MEDIA_BASE, "rdamedia"),
                                        (CARRIER_CODES, CARRIER_LABEL_OF, CARRIER_BASE, "rdacarrier")):
    for _code, _n in _codes.items():
        TYPE_FIELDS[_base + _n] = (_code, _labels.get(_code, _code), _source)

MODE_SINGLE = MODE_BASE + "1001"
MODE_MULTIPLE = MODE_BASE + "1005"


def content_iri(code: str) -> str | None:
    n = CONTENT_CODES.get(code)
    return CONTENT_BASE + n if n else None


def media_iri(code: str) -> str | None:
    n = MEDIA_CODES.get(code)
    return MEDIA_BASE + n if n else None


def carrier_iri(code: str) -> str | None:
    n = CARRIER_CODES.get(code)
    return CARRIER_BASE + n if n else None


def language_iri(code: str) -> str:
    return LANG_BASE + code

DCT_IDENTIFIER = "http://purl.org/dc/terms/identifier"
I_CALL_NUMBER = MB + "callNumber"


# --- language codes ---------------------------------------------------------------------------
# 041 and 008/35-37 hold codes of the MARC Code List for Languages, whose current codes are the
# ISO 639-2 bibliographic codes declared in vocabularies/iso639-2.ttl (read from there, so the
# mapping links exactly the codes the profiles accept).

# Codes the MARC Code List for Languages marks obsolete ("discontinued") with one stated
# replacement. Records made before the change still carry them: the expression is linked to
# the current code and the field keeps the code as given. Obsolete codes the list replaces by
# several (esk Eskimo languages: iku, ipk, ypk; ajm Aljamía) have no one replacement and are
# kept unlinked like any code the list does not define.
OBSOLETE_LANGUAGES = {
    "cam": "khm", "esp": "epo", "eth": "gez", "far": "fao", "fri": "fry", "gae": "gla",
    "gag": "glg", "gal": "orm", "gua": "grn", "int": "ina", "iri": "gle", "kus": "kos",
    "lan": "oci", "lap": "smi", "max": "glv", "mla": "mlg", "mol": "rum", "sao": "smo",
    "scc": "srp", "scr": "hrv", "sho": "sna", "snh": "sin", "sso": "sot", "swz": "ssw",
    "tag": "tgl", "taj": "tgk", "tar": "tat", "tru": "chk", "tsw": "tsn",
}


def vocabulary_file(name: str):
    """The path of a file of ``vocabularies/``, in a checkout or an installed copy."""
    from pathlib import Path

    here = Path(__file__).resolve()
    installed = here.parents[1] / "vocabularies" / name  # an installed copy carries it inside
    return installed if installed.is_file() else here.parents[2] / "vocabularies" / name


def _read_language_codes() -> frozenset[str]:
    import re

    text = vocabulary_file("iso639-2.ttl").read_text(encoding="utf-8")
    return frozenset(re.findall(r"^iso639-2:([a-z]{3}) a skos:Concept", text, re.MULTILINE))


LANGUAGE_CODES: frozenset[str] = _read_language_codes()


def current_language(code: str) -> str | None:
    """The current MARC (ISO 639-2/B) code for a code as a record gives it, or None.

    >>> current_language("eng"), current_language("scr"), current_language("jap")
    ('eng', 'hrv', None)
    """
    code = code.strip().lower()
    if code in LANGUAGE_CODES:
        return code
    return OBSOLETE_LANGUAGES.get(code)
