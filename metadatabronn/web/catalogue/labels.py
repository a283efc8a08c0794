"""Labels a reader sees: RDA element and value labels from ``vocabularies/`` (the RDA Registry's
English labels, Norwegian Bokmål where the files have them), language names from ISO 639-2,
the pages' own words, and the choice between English and Bokmål by ``Accept-Language``."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from ...mapping import roles as R
from ...mapping import terms as T
from ...store.pages import vocabulary_labels
from ..negotiate import ranked

LANGUAGES = ("en", "nb")
_NORWEGIAN = {"nb", "no", "nn"}


def choose(accept_language: str | None) -> str:
    """``"nb"`` when the best language the reader asks for (by q-value, then order) that the
    pages have is Norwegian (``nb``, ``no``, ``nn``, with or without a region), else ``"en"``."""
    for tag in ranked(accept_language):
        primary = tag.split("-")[0]
        if primary in _NORWEGIAN:
            return "nb"
        if primary == "en":
            return "en"
    return "en"


def _vocabulary_dir() -> Path:
    here = Path(__file__).resolve()
    installed = here.parents[2] / "vocabularies"  # an installed copy carries them inside
    return installed if installed.is_dir() else here.parents[3] / "vocabularies"


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, dict[str, str]]:
    """IRI → language → label, read once from every Turtle file of ``vocabularies/``."""
    return vocabulary_labels(sorted(_vocabulary_dir().glob("*.ttl")))


# Language names in Bokmål for the languages catalogues meet most; ISO 639-2 gives English only.
_LANGUAGE_NB = {
    "nor": "norsk", "nob": "norsk bokmål", "nno": "norsk nynorsk", "eng": "engelsk", "swe": "svensk",
    "dan": "dansk", "fin": "finsk", "ice": "islandsk", "fao": "færøysk", "sme": "nordsamisk", "smi": "samiske språk",
    "ger": "tysk", "fre": "fransk", "spa": "spansk", "ita": "italiensk", "por": "portugisisk", "dut": "nederlandsk",
    "rus": "russisk", "pol": "polsk", "cze": "tsjekkisk", "hun": "ungarsk", "est": "estisk", "lat": "latin",
    "grc": "gammelgresk", "gre": "gresk", "heb": "hebraisk", "ara": "arabisk", "chi": "kinesisk", "jpn": "japansk",
    "kor": "koreansk", "tur": "tyrkisk", "per": "persisk", "hin": "hindi", "ukr": "ukrainsk", "yid": "jiddisk",
    "mul": "flere språk", "und": "ubestemt språk", "zxx": "uten språklig innhold",
}

# The pages' own words in Bokmål (English is the key).
_WORDS_NB = {
    "Work": "Verk", "Expression": "Uttrykk", "Manifestation": "Manifestasjon", "Item": "Eksemplar",
    "Person": "Person", "Corporate body": "Korporasjon", "Family": "Familie", "Concept": "Begrep",
    "Agent": "Agent", "Entity": "Entitet", "Search": "Søk", "Title": "Tittel", "Creator": "Opphav",
    "ISBN": "ISBN", "Search the catalogue": "Søk i katalogen", "Year": "År", "Publisher": "Utgiver",
    "Place": "Sted", "Extent": "Omfang", "Edition": "Utgave", "Expressions": "Uttrykk",
    "Manifestations": "Manifestasjoner", "Items": "Eksemplarer", "Subjects": "Emner",
    "Classification": "Klassifikasjon", "Category": "Kategori", "Translators": "Oversettere",
    "Contributors": "Bidragsytere", "Translation of": "Oversettelse av", "Editions by year and language":
    "Utgaver etter år og språk", "Description": "Beskrivelse", "MARC record": "MARC-post",
    "View as MARCXML": "Vis som MARCXML", "Download MARC 21 (ISO 2709)": "Last ned MARC 21 (ISO 2709)",
    "Also as": "Også som", "Query with SPARQL": "Spør med SPARQL", "Named by": "Nevnt av",
    "Names": "Navn", "Dates": "Datoer", "Born": "Født", "Died": "Død", "Active": "Virksom",
    "Identifiers": "Identifikatorer", "Notes": "Noter", "Details": "Detaljer", "Language": "Språk",
    "Content type": "Innholdstype", "Creators": "Opphav", "Variant titles": "Varianttitler",
    "Part of": "Del av", "Related works": "Beslektede verk", "undated": "u.å.", "no year": "uten år",
    "Works": "Verk", "Agents": "Agenter", "The catalogue": "Katalogen", "Expressions by language":
    "Uttrykk etter språk", "Results": "Treff", "No results": "Ingen treff", "Next": "Neste",
    "Previous": "Forrige", "Something went wrong": "Noe gikk galt", "Deleted": "Slettet",
    "Back to the catalogue": "Tilbake til katalogen", "Scheme": "System", "Works on this subject":
    "Verk om dette emnet", "Location": "Plassering", "Call number": "Hyllesignatur",
    "Series": "Serie", "Translations": "Oversettelser", "Works by": "Verk av", "other": "annet",
    "Home": "Hjem", "Works in the catalogue": "Verk i katalogen",
    "Works of this genre or form": "Verk i denne sjangeren eller formen",
    # the Agent page and the agent search
    "Variant names": "Navnevarianter", "Quality level": "Kvalitetsnivå", "Related agents": "Relaterte agenter",
    "Forms of the name": "Navneformer", "Form": "Form", "Status": "Status", "Given by": "Gitt av",
    "Sources": "Kilder", "Preferred": "Foretrukket", "Variant": "Variant", "as": "som",
    "Established": "Etablert", "Terminated": "Avviklet", "Name": "Navn",
}


def t(text: str, lang: str) -> str:
    """One of the pages' own words or phrases in the reader's language."""
    return _WORDS_NB.get(text, text) if lang == "nb" else text


def label(iri: str, lang: str) -> str | None:
    """The vocabulary's label of ``iri`` in ``lang`` (English when it has none in it)."""
    labels = vocabulary().get(iri)
    if not labels:
        return None
    return labels.get(lang) or labels.get("en") or next(iter(labels.values()))


# Bokmål for elements the pages show often whose vocabulary entry has English only.
_ELEMENTS_NB = {
    T.W_CATEGORY: "kategori for verk", T.W_VARIANT_TITLE: "varianttittel for verk", T.W_CONTENTS: "note om verk",
    T.W_PART_OF: "del av verk", T.W_RELATED_WORK: "beslektet verk", T.E_LANGUAGE: "språk for uttrykk",
    T.E_CONTENT_TYPE: "innholdstype", T.E_AUDIENCE: "målgruppe for uttrykk", T.E_SUMMARY: "sammendrag av innhold",
    T.M_VARIANT_TITLE: "varianttittel for manifestasjon", T.M_ILLUSTRATIVE: "illustrativt innhold",
    T.M_SUPPLEMENTARY: "tilleggsinnhold", T.M_URL: "URL", T.M_IDENTIFIER_NOTE: "note om identifikator",
    T.I_LOCATION: "plassering av eksemplar", T.I_IDENTIFIER: "identifikator for eksemplar",
    T.A_BIRTH: "fødselsdato", T.A_DEATH: "dødsdato",
}


def element(iri: str, lang: str) -> str:
    """An RDA element as a heading: "has title proper" is "Title proper", "har hovedtittel"
    is "Hovedtittel"; a term without a label is spelled out from its name, never camelCase."""
    labels = vocabulary().get(iri) or {}
    text = labels.get("nb") or _ELEMENTS_NB.get(iri) if lang == "nb" else None
    text = text or label(iri, lang)
    if text is None:
        text = spell(iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1])
    text = re.sub(r"^(has|har) ", "", text).replace(" (agent)", "")
    return text[:1].upper() + text[1:]


def spell(name: str) -> str:
    """``callNumber`` as "call number": a name split at its capitals."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower()


def term(iri: str, lang: str) -> str:
    """A value vocabulary term (content, media, carrier type, mode of issuance, audience,
    category of work, language) as its label."""
    if iri.startswith(T.LANG_BASE):
        return language(iri, lang)
    text = label(iri, lang)
    if text is not None:
        return text.replace(" (Deprecated)", "")
    spec = T.TYPE_FIELDS.get(iri)
    if spec is not None:
        return spec[1]
    return spell(iri.rsplit("#", 1)[-1].rstrip("/").rsplit("/", 1)[-1])


def language(iri_or_code: str, lang: str) -> str:
    """A language's name: ``eng`` (or its IRI) is "English", in Bokmål "engelsk"."""
    code = iri_or_code.rsplit("/", 1)[-1]
    if lang == "nb" and code in _LANGUAGE_NB:
        return _LANGUAGE_NB[code]
    return label(T.LANG_BASE + code, "en") or code


# Roles as a reader names them; the element labels say "has author agent".
_ROLE_NB = {
    T.W_AUTHOR: "forfatter", T.W_CREATOR: "opphav", T.W_COMPOSER: "komponist", T.W_COMPILER: "kompilator",
    T.W_PHOTOGRAPHER: "fotograf", T.W_ISSUING: "utgivende organ", T.W_SPONSOR: "sponsor",
    T.W_DEGREE_GRANTOR: "gradsgivende institusjon", T.E_TRANSLATOR: "oversetter", T.E_EDITOR: "redaktør",
    T.E_NARRATOR: "innleser", T.E_CREATOR: "bidragsyter", T.M_ILLUSTRATOR: "illustratør",
    T.M_CONTRIBUTOR_TEXT: "bidragsyter til tekst", T.M_PUBLISHER: "utgiver", T.W_SUBJECT: "emne",
}
WORK_ROLES = tuple(dict.fromkeys(e for kind, e in R.CODES.values() if kind == R.WORK))
EXPRESSION_ROLES = tuple(dict.fromkeys(e for kind, e in R.CODES.values() if kind == R.EXPRESSION))
MANIFESTATION_ROLES = tuple(dict.fromkeys(e for kind, e in R.CODES.values() if kind == R.MANIFESTATION))
GENERAL_ROLES = {T.W_CREATOR, T.E_CREATOR}  # said beside a specific role, the specific one is shown


def role(iri: str, lang: str) -> str:
    """A relationship element as a role: "has author agent" is "author", "has translator agent"
    "translator"."""
    if lang == "nb" and iri in _ROLE_NB:
        return _ROLE_NB[iri]
    if iri == T.E_CREATOR:
        return "contributor"
    text = label(iri, "en") or spell(iri.rsplit("/", 1)[-1])
    text = re.sub(r"^has ", "", text)
    text = re.sub(r" agent( of (work|expression))?$", "", text).replace(" agent of ", " of ")
    return text


def scheme(iri: str) -> str:
    """A subject scheme by the name cataloguers use: LCSH, MeSH, YSO, ..."""
    known = {"http://id.loc.gov/authorities/subjects": "LCSH", "http://id.nlm.nih.gov/mesh": "MeSH",
             "http://id.loc.gov/authorities/genreForms": "LCGFT"}
    if iri in known:
        return known[iri]
    code = iri.rsplit("/scheme/", 1)[-1] if "/scheme/" in iri else iri.rstrip("/").rsplit("/", 1)[-1]
    return "" if code == "uncontrolled" else code.split("/")[0].upper()


CLASS_SCHEMES = {T.MB_DDC: "DDC", T.MB_LCC: "LCC", T.MB + "UDC": "UDC"}


def counts(editions: int, languages: int, lang: str) -> str:
    """ "12 editions in 4 languages", in the reader's language."""
    if lang == "nb":
        return f"{editions} {'utgave' if editions == 1 else 'utgaver'} på {languages} språk"
    return (f"{editions} {'edition' if editions == 1 else 'editions'} in {languages} "
            f"{'language' if languages == 1 else 'languages'}")


def year(text: str | None) -> int | None:
    """The first four-digit year in a date as transcribed ("c2000", "[1899?]")."""
    if not text:
        return None
    found = re.search(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)", text)
    return int(found.group(1)) if found else None
