"""Translations under their original's work: which fields of a record name the original, and how.

A translation is an expression of its original's work: it takes the original's work key (the
original's creator and title) and has an expression of its own (its language, its translator).
A record says it is a translation in one of the ways :data:`SIGNALS` lists; it *names* its original
by one of :data:`RULES`, tried in that order. Each rule has a worked example from a real record.

The converter applies these rules as it builds the work key: the 7XX link in
``headings.added_entry``, the preferred title in ``headings.preferred_title`` and
``convert._work_title``, the 765, 246 and 500 titles in ``fields``. :func:`read` applies the same
rules to a pymarc record on its own, for the clustering bench and the tests; a test
holds the two in step on every bundled record. Nothing here changes a value of the record: a
translation's own 240, 245, 765 and 7XX go out in MARC exactly as they came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .headings import _creator_key, _title_of, nonfiling
from .text import join_parts, strip_isbd

# 7XX $i wordings that make the work in $a/$t the original of this record's translation
# (compared in lower case, as a prefix: "Oversettelse av:" and "Translation of (work):").
LINK_WORDINGS = ("translation of", "oversettelse av", "oversettelse", "översättning av",
                 "käännöksen perustana", "käännös", "übersetzung von")

# 246 $i display texts that introduce the original's title (lower case, as a prefix).
ORIGINAL_TITLE_LABELS = ("tyt. oryg", "original title", "originaltitel", "originaltittel",
                         "titre original", "alkuteos", "originalets titel", "título original",
                         "titolo originale", "translation of")

# A 500 note that is nothing but an opening and the original's title: "Translation of: Música en
# Cuba." The title runs to the end of the note, or to a " / " before a statement of
# responsibility. A note that only says where a text comes from ("Translated from the French by
# Richard Davey.") names no title and is not read.
NOTE = re.compile(
    r"^(?:translation of|originaltittel|original title|originaltitel|titre original)\s*:?\s*(.+?)[.\s]*$",
    re.IGNORECASE)

# A title read off a note is taken as reliable only when it is one title: no further sentence
# (". 5th ed.", ". Hamburg : Meiner, 1952") and no quotation left open.
_SENTENCE = re.compile(r"[.!?]['\"’”]?\s+\S")


@dataclass(frozen=True)
class Original:
    """The original a translation's record names: its creator and title as the record gives them."""

    rule: str  # "7XX $i", "240", "130", "765", "246", "500": which rule named it
    creator: str  # the name part of the heading ("" for a work entered under its title)
    title: str  # ISBD punctuation and the non-filing article off; case and diacritics as given
    language: str = ""  # the original's language (041 $h), when the record gives one


@dataclass(frozen=True)
class Reading:
    """What one record says of translation: the fields that call it one, and the original it names."""

    says: tuple[str, ...]  # SIGNALS found, in field order, each once
    original: Original | None  # None: not a translation, or its original is not named (041 $h alone)
    reliable: bool = True  # False: the original was read off a note that holds more than a title

    @property
    def translation(self) -> bool:
        return bool(self.says)


# The fields that say a record is (or includes) a translation.
SIGNALS = {
    "240 $l": "240 with $l (the expression's language): the 240 names the original's title",
    "130 $l": "130 with $l: a work entered under its title, in a language other than its own",
    "041 $h": "041 $h: the original's language",
    "041 ind1 1": "041 first indicator 1: the item is or includes a translation",
    "765": "765 original language entry",
    "246": "246 with $i 'Original title' and its translations",
    "500": "500 'Translation of: …' / 'Originaltittel: …'",
    "7XX $i": "700/710/711 with $i 'Translation of:' / 'Oversettelse av:' and $t",
}


@dataclass(frozen=True)
class Rule:
    """One way a record names its original, with a real record's fields and what they give."""

    name: str
    reads: str
    example: tuple[str, ...]  # MARC fields of the source record, in mnemonic form
    source: str
    gives: tuple[str, str]  # (creator, title) of the original
    note: str


RULES: tuple[Rule, ...] = (
    Rule("7XX $i", "700/710/711 $i + $a + $t ($n $p)",
         ("=041  1\\$aswe$hfin", "=100  1\\$aKivi, Aleksis,$d1834-1872,$ekirjoittaja.",
          "=240  10$aSeitsemän veljestä,$lruotsi",
          "=700  1\\$iKäännöksen perustana:$aKivi, Aleksis,$d1834-1872.$tSeitsemän veljestä."),
         "(FI-MELINDA)001286900", ("Kivi, Aleksis", "Seitsemän veljestä"),
         "The link wins over everything else the record says. $i is compared in lower case as a "
         "prefix: " + ", ".join(f"'{w}'" for w in LINK_WORDINGS) + ". The original's creator is "
         "the 7XX name ($a $b $c $g $n), and it becomes an author of the work as well."),
    Rule("240", "240 (or 130) $a $n $p, one preferred title, no $k",
         ("=041  1\\$aeng$hnor", "=100  1\\$aIbsen, Henrik,$d1828-1906.",
          "=240  10$aNår vi døde vågner.$lEnglish",
          "=245  10$aWhen we dead awaken :$ba dramatic epilogue in 3 acts /$cby Henrik Ibsen ; translated by William Archer."),
         "(DLC)00002489", ("Ibsen, Henrik", "Når vi døde vågner"),
         "A translation (240/130 $l, 041 $h or 041 first indicator 1) takes its preferred title as "
         "the original's title, with the 1XX as its creator; $l is the expression's language, never "
         "part of the work key (the expression's language comes from 041 $a, else 008/35-37). Two "
         "240/130 with different titles name a compilation: the record keeps its own title proper. "
         "A 240 with $k (Selections) names a selection, a work of its own."),
    Rule("041 $h + 240", "041 $h with a 240 naming the original",
         ("=041  1\\$afin$hswe", "=100  1\\$aRuneberg, Johan Ludvig.",
          "=240  10$aFänrik Ståls sägner", "=245  10$aVänrikki Stoolin tarinat /$cSuom. O[tto] Manninen."),
         "(FI-MELINDA)000670725", ("Runeberg, Johan Ludvig", "Fänrik Ståls sägner"),
         "041 $h gives the original's language: the work gets an expression in it (the original's), "
         "and the record's expression is a translation of it (rdae:P20141). 041 $h alone names no "
         "title: the record keeps its own work key."),
    Rule("765", "765 $t (one title), without 240/130",
         ("=245  00$aCollege English.",
          "=765  0\\$cOriginal$tAstrofizicheskie issledovaniíà$w(DLC)   78648457 $w(OCoLC)4798581"),
         "marc2bibframe2 ConvSpec-760-788-Links 1", ("", "Astrofizicheskie issledovaniíà"),
         "The creator is the record's 1XX (a 765 $a is the same person in practice and is carried "
         "as given). Two 765 (or 765, 246 and 500) with different titles name several originals: "
         "the record keeps its own title."),
    Rule("246", "246 $i 'Original title' $a $n $p, without 240/130",
         ("=041  1\\$heng", "=100  1\\$aEliot, T.S.$d1888-1965$0(NO-TrBIB)90052479",
          "=245  10$aÅ nærme seg en katt$cT.S. Eliot ; gjendiktet av Paal Brekke",
          "=246  1\\$aOld Possum's book of practical cats$iOriginaltittel"),
         "BIBSYS 990929710914702204", ("Eliot, T.S.", "Old Possum's book of practical cats"),
         "Display texts compared in lower case as a prefix: "
         + ", ".join(f"'{w}'" for w in ORIGINAL_TITLE_LABELS) + "."),
    Rule("500", "500 $a 'Translation of: TITLE', without 240/130",
         ("=041  1\\$aeng$hger", "=100  1\\$aFrick, Hermann.",
          "=245  10$aOutline of the antiseptic treatment of wounds;$bfor veterinarians.",
          "=500  \\\\$aTranslation of Grundriss der antiseptischen Wundbehandlung für Thierärzte."),
         "(DLC)00001015", ("Frick, Hermann", "Grundriss der antiseptischen Wundbehandlung für Thierärzte"),
         "Accepted: a note that opens with 'Translation of', 'Original title', 'Originaltitel', "
         "'Originaltittel' or 'Titre original' (colon optional) and holds nothing but the title, up "
         "to a ' / ' before a statement of responsibility. Not accepted: 'Translated from the "
         "French by …' (no title), and a note whose title is followed by more sentences ('… 5th ed. / "
         "edited by …'): such a title is not read reliably, and the bench does not count it."),
)


def _subs(field, code: str) -> list[str]:
    return [v for c, v in field.subfields if c == code]


def signals(record) -> tuple[str, ...]:
    """The fields of a record that say it is a translation (keys of :data:`SIGNALS`)."""
    found: list[str] = []
    for field in record.fields:
        tag = field.tag
        if field.is_control_field():
            continue
        if tag in ("240", "130") and _subs(field, "l"):
            found.append(f"{tag} $l")
        elif tag == "041":
            if _subs(field, "h"):
                found.append("041 $h")
            if field.indicator1 == "1":
                found.append("041 ind1 1")
        elif tag == "765" and any(v.strip() for v in _subs(field, "t")):
            found.append("765")
        elif tag == "246" and _original_label(field):
            found.append("246")
        elif tag == "500" and _note_title(field) is not None:
            found.append("500")
        elif tag in ("700", "710", "711") and _link(field):
            found.append("7XX $i")
    return tuple(dict.fromkeys(found))


def _link(field) -> bool:
    relation = " ".join(_subs(field, "i")).strip().lower()
    return bool(_subs(field, "t")) and relation.startswith(LINK_WORDINGS)


def _original_label(field) -> bool:
    label = " ".join(_subs(field, "i")).strip().lower()
    return bool(label) and label.startswith(ORIGINAL_TITLE_LABELS) and \
        any(v.strip() for c, v in field.subfields if c in "abnp")


def _note_title(field) -> str | None:
    match = NOTE.match(" ".join(v.strip() for v in _subs(field, "a")))
    if match is None:
        return None
    return strip_isbd(match.group(1).split(" / ")[0]) or None


def reliable_title(title: str) -> bool:
    """A title read off a note is one title: no further sentence, quotes closed."""
    return _SENTENCE.search(title) is None and title.count('"') % 2 == 0


def read(record) -> Reading:
    """What a pymarc record says of translation, by :data:`RULES` in order."""
    says = signals(record)
    if not says:
        return Reading((), None)
    language = next((v.strip()[:3] for f in record.get_fields("041") for v in _subs(f, "h") if v.strip()), "")
    main = next(iter(record.get_fields("100", "110", "111")), None)
    creator = _creator_key(main) if main is not None else ""

    link = None
    for field in record.get_fields("700", "710", "711"):
        if _link(field):
            link = field  # the last one, as the converter takes it
    if link is not None:
        return Reading(says, Original("7XX $i", _creator_key(link), _title_of(link, "tnp"), language))

    uniform = [(f.tag, _title_of(f, "anp", nonfiling(f))) for f in record.get_fields("130", "240")]
    uniform = [(tag, t) for tag, t in uniform if t]
    if uniform:
        if len({t.casefold() for _, t in uniform}) > 1 or any(_subs(f, "k") for f in record.get_fields("130", "240")):
            return Reading(says, None)  # a compilation or a selection: no one original
        tag, title = uniform[0]
        return Reading(says, Original(tag, creator, title, language))

    named: list[tuple[str, str]] = []
    for field in record.fields:
        if field.is_control_field():
            continue
        if field.tag == "765":
            title = " ".join(strip_isbd(v) for v in _subs(field, "t"))
            if title:
                named.append(("765", title))
        elif field.tag == "246" and _original_label(field):
            named.append(("246", " ".join(strip_isbd(v) for c, v in field.subfields if c in "anp")))
        elif field.tag == "500":
            title = _note_title(field)
            if title:
                named.append(("500", title))
    if len({t.casefold() for _, t in named}) != 1:
        return Reading(says, None)  # none named, or several originals
    rule, title = named[0]
    reliable = all(reliable_title(t) for r, t in named if r == "500")
    return Reading(says, Original(rule, creator, title, language), reliable)


def own_name(record) -> tuple[str, str]:
    """(creator, title) that key a record's work when it names no original and has no 240/130:
    the 1XX name part and the 245 title proper ($a, or $k without one) without its non-filing
    article, with $n $p, as the converter files them (``fields.title_245``). A record that names
    its original gives the title of the translation under this creator: an alias of the
    original's work (``pipeline.aliases``)."""
    main = next(iter(record.get_fields("100", "110", "111")), None)
    creator = _creator_key(main) if main is not None else ""
    field = next(iter(record.get_fields("245")), None)
    if field is None:
        return creator, ""
    subfields = field.subfields
    code = "a" if any(c == "a" for c, _ in subfields) else "k"
    first = next((v for c, v in subfields if c == code), None)
    if first is None:
        return creator, ""
    skip = int(field.indicator2) if code == "a" and field.indicator2.isdigit() else 0
    filed = strip_isbd(first[skip:])
    filed = filed[:1].upper() + filed[1:]
    return creator, join_parts([filed] + [strip_isbd(v) for c, v in subfields if c in "np"])


def doc_lines() -> list[str]:
    """The clustering section of ``docs/mapping.md``: translations, rule by rule."""
    lines = [
        "## Translations cluster under their original's work",
        "",
        "A translation takes its original's work key (the original's creator and title) and keeps an",
        "expression of its own: its language (041 $a, else 008/35-37) and content type, its translator",
        "as a contributor. The record's own 240, 245, 765 and 7XX are kept as given and go out in MARC as",
        "they came. Generated from `metadatabronn/mapping/translation.py`; the rules are tried in this",
        "order, and the first that names an original gives the work key.",
        "",
        "| rule | reads | example (source) | original | note |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES:
        example = "<br>".join(f"`{line}`" for line in rule.example).replace("|", "\\|")
        creator, title = rule.gives
        lines.append(f"| {rule.name} | {rule.reads} | {example} ({rule.source}) | "
                     f"{creator + ' / ' if creator else ''}{title} | {rule.note.replace('|', chr(92) + '|')} |")
    lines += [
        "",
        "A record says it is a translation by " + "; ".join(SIGNALS.values()) + ".",
        "",
        "**IRIs stay as minted.** The store's registry has the last word: a key it already maps keeps",
        "that IRI. Ingesting the same file again gives the same IRIs (unchanged records are not even",
        "converted again). A store made before a rule that re-keys a record keeps the record under the",
        "work it was stored with until that record itself changes; a changed record is converted again",
        "and joins its original's work, and the work it leaves keeps its IRI (its core stays in the",
        "default graph, so the IRI still resolves).",
        "",
        "**Measured** (`python bench/clusters.py FILE --translations`). A translation is a record one of",
        "those fields calls one; its original is *in the file* when another record, itself no translation,",
        "has the same creator surname and a title proper or preferred title beginning with the same four",
        "words as the original's title (looser than the work key, so that recall sees the key's misses);",
        "it *joins* when it has that record's work key. Recall = joined / original in the file.",
        "Precision = joins judged the same work by hand / joins judged, over a seeded sample of the",
        "translations that share their work with another record (`bench/translations-judged.tsv`).",
        "",
        "| file | translations | naming their original | original in the file | joined (recall) | joins judged same (precision) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in MEASURED]
    lines += [
        "",
        "The LC 20k's one miss is a title-only record: the Spanish *Panama, estudio sobre pobreza*",
        "(130 `Panama poverty assessment. $l Spanish`) and the English original, whose key adds its 245 $b",
        "because a bare title without a creator is too common to cluster by. Records that say only 041 $h",
        "(127 in the LC 20k; 28 Runeberg editions of *Vänrikki Stoolin tarinat* in the Fennica sample) name",
        "no title: they keep their own work unless an alias (below) joins them. The 28 Runeberg editions",
        "join through the title that the three editions with 240 *Fänrik Ståls sägner* give: all 31 are",
        "under the original's work, with a Finnish expression that translates the Swedish one.",
        "",
        "### A translation's own title names its original's work (aliases)",
        "",
        "A record that names its original also says what that work is called in its own language: its",
        "title proper (245 $a $n $p, filed without its article, as the work key files it) under its 1XX",
        "is an *alias* of the original's key. Another record of that creator whose own work key is an",
        "alias joins the original's work, with an expression of its own (its language and content type,",
        "its translator on it), when it names no original itself, is not in the original's language (041",
        "$h of the records giving the alias), and either is in another language than the original's or",
        "says by 041 $h that it is a translation (when no record gives the original's language: in the",
        "language of the records giving the alias). Its work then has the original's preferred title and",
        "access point as those records give them; its 041 $h `und` (undetermined) makes no expression.",
        "Only keys the input states are used, no fuzzy matching: an alias that records give to two",
        "different originals, or that is itself named as an original, is not used, and *Vänrikki Stoolin",
        "tarinat* under the heading `Runeberg, J. L., puuteluettelotieto` stays apart. The record's MARC",
        "is untouched (no 240 is written for it).",
        "",
        "An ingest reads its input files once for these records",
        "(`metadatabronn/pipeline/aliases.py`; a record is not even parsed without a field that can",
        "name an original (in ISO 2709, read off its bytes: a 041 with $h or first indicator 1, a 130 or",
        "240 with $l, a 765) or a wording of a note, link or 246 label such as 'translation of' or",
        "'original'). Every record is joined against the whole table, so which record comes first in a",
        "file does not matter. With conversion workers the scan runs beside their first conversions (5.6 s",
        "at 250,000 LC records, which the load no longer waits for before it starts): the workers join",
        "nothing and give back each record's own work key, and the ingest converts again, with the table,",
        "the few records whose key it names. In one process, or on a Dask cluster, the table is made",
        "first. The ingest summary counts `records_joined` and the scan's time (`aliases_seconds`).",
        "",
        "**Across runs.** Aliases come from the files of the run. A work already minted under an alias",
        "key in an earlier run (a translation's editions loaded before any record named the original)",
        "stays its own work until a cataloguer merges it: its records stay, and a new record of that",
        "title goes to it too (the store's key registry has the last word; such a record is converted",
        "again without the alias). A later run's record joins an original through an alias only when a",
        "file of that run gives the alias. Keeping aliases in the store (a second `mb:key` on the",
        "original's core) would give one key two IRIs where the alias key is already a work of its",
        "own, and each expression key of the title would need its alias too; so the store keeps none.",
        "",
        "**Measured** (`python bench/clusters.py FILE --translations`: the library's alias scan and join,",
        "as an ingest applies them; every join judged by hand in `bench/translations-judged.tsv`).",
        "",
        "| file | aliases | records joined through an alias | judged same work (precision) | scan |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in ALIASES_MEASURED]
    lines.append("")
    return lines


# Figures of bench/clusters.py --translations (see doc_lines), by file.
MEASURED = (
    ("LC 20k (`lc-books-2016-part01-first20k.mrc.gz`)", "681", "511 (240: 454, 130: 47, 500: 10)",
     "8", "7 (0.875)", "13 of 13 (1.0)"),
    ("Fennica sample (`data/fennica-sample.marcxml`)", "74", "39 (240: 35, 130: 2, 7XX $i: 2)",
     "2", "2 (1.0)", "27 of 27 (1.0)"),
    ("*Pride and prejudice*, 383 records (marc4j test data)", "57", "52 (765: 24, 240: 21, 246: 7)",
     "49", "49 (1.0)", "not judged"),
)

# Figures of bench/clusters.py --translations for aliases (see doc_lines), by file. The scan's
# time on the LC 20k: aliases.scan alone, three runs, and an ingest's aliases_seconds.
ALIASES_MEASURED = (
    ("LC 20k", "432", "0", "none to judge", "0.7–1.2 s (20,000 records read, 2,890 parsed)"),
    ("Fennica sample", "15", "28 (Runeberg's *Vänrikki Stoolin tarinat*, 041 $h swe or und)", "28 of 28 (1.0)",
     "0.06–0.2 s"),
    ("*Pride and prejudice*, marc4j test data", "20", "4 (German, Spanish, Swedish, Polish)", "4 of 4 (1.0)",
     "0.03 s"),
)
