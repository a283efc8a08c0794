"""The state of one record's conversion: entities so far, carried MARC, alternate script."""

from __future__ import annotations

from .model import Entity, IRI, Kind, Lit
from .terms import LANGUAGE_CODES, MB_CONTROL_NUMBER_FROM, MB_INVALID_LANGUAGE

# $6 script identification codes (MARC 21 Appendix: script codes) to ISO 15924.
SCRIPTS = {"(3": "Arab", "(B": "Latn", "$1": "Hani", "(N": "Cyrl", "(S": "Grek", "(2": "Hebr"}

# MARC language codes to BCP 47 primary subtags, for script-tagged literals.
BCP47 = {
    "eng": "en", "nor": "no", "nob": "nb", "nno": "nn", "swe": "sv", "dan": "da", "fin": "fi",
    "ger": "de", "fre": "fr", "spa": "es", "ita": "it", "por": "pt", "rus": "ru", "chi": "zh",
    "jpn": "ja", "kor": "ko", "ara": "ar", "heb": "he", "gre": "el", "pol": "pl", "ukr": "uk",
    "per": "fa", "urd": "ur", "hin": "hi", "yid": "yi", "bul": "bg", "srp": "sr", "tha": "th",
    "hrv": "hr", "bos": "bs", "tgl": "tl", "gle": "ga", "glg": "gl", "tat": "tt",
}


class Builder:
    """Collects what one record says. Handlers receive it and add statements through it."""

    __slots__ = (
        "manifestation", "expression", "work", "entities", "_index", "inferred", "language",
        "lang_tag", "linked", "filed_title", "filed_other", "uniform_titles", "selection",
        "original_titles", "translation_of", "languages", "original_languages",
        "content_codes", "textual", "creator_basis", "creator_heading",
    )

    def __init__(self, control_number: str, language: str, textual: bool):
        self.entities: list[Entity] = []
        self._index: dict[tuple[Kind, tuple[str, ...]], Entity] = {}
        self.manifestation = self.entity(Kind.MANIFESTATION, (control_number,))
        # Work and expression bases are settled at the end, once 1XX, 240 and 7XX are seen.
        self.work = Entity(Kind.WORK, ())
        self.expression = Entity(Kind.EXPRESSION, ())
        self.inferred: list[str] = []
        if language and language not in LANGUAGE_CODES:
            # 008/35-37 with a code no list defines ("jap"): kept as given, for a cataloguer, and
            # the expression is not linked by it.
            self.expression.add(MB_INVALID_LANGUAGE, language)
            language = ""
        self.language = language  # 008/35-37 (current code), the fallback language of the expression
        self.lang_tag: str | None = None  # set while an 880 is being mapped
        self.linked: dict[str, Entity] = {}  # $6 occurrence number -> entity of the paired field
        # Ingredients of the work's cluster key, settled in convert._finish.
        self.filed_title = ""  # 245 $a $n $p without the non-filing article
        self.filed_other = ""  # 245 $b (other title information)
        self.uniform_titles: list[str] = []  # 240/130
        self.selection = ""  # 240/130 $k, e.g. "Selections"
        self.original_titles: list[str] = []  # 765 $t, 246 "Original title:", 500 "Translation of:"
        self.creator_basis: str = ""
        self.creator_heading: str = ""
        self.translation_of: tuple[str, str] | None = None  # 7XX $i + $t: (creator, title)
        self.languages: list[str] = []
        self.original_languages: list[str] = []
        self.content_codes: list[str] = []
        self.textual = textual

    def entity(self, kind: Kind, basis: tuple[str, ...]) -> Entity:
        key = (kind, basis)
        found = self._index.get(key)
        if found is None:
            found = Entity(kind, basis)
            self._index[key] = found
            self.entities.append(found)
        return found

    def add(self, entity: Entity, predicate: str, value) -> None:
        """Add a value; plain strings become literals tagged with the current script."""
        # (Strings first: asking a Lit or an IRI whether it equals "" runs its dataclass __eq__.)
        if isinstance(value, str):
            if not value:
                return
            value = Lit(value, self.lang_tag)
        elif value is None:
            return
        entity.statements.append((predicate, value))

    def alternate_tag(self, linkage: str) -> str:
        """BCP 47 tag for an 880 from its $6, e.g. ``245-01/(N`` -> ``ru-Cyrl``."""
        script = SCRIPTS.get(linkage.split("/", 1)[1][:2], "") if "/" in linkage else ""
        lang = BCP47.get(self.language, "und")
        return f"{lang}-{script}" if script else lang

    def identity_from(self, tag: str) -> None:
        """The record has no 001: its control number was taken from this field ("035", "010").
        The manifestation says so, and the profile warns a cataloguer to give it a 001."""
        self.manifestation.add(MB_CONTROL_NUMBER_FROM, tag)

    def iri(self, value: str) -> IRI:
        return IRI(value)
