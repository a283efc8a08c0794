"""Render the mapping table (``rules.RULES``) as Markdown for ``docs/mapping.md``.

    python -m metadatabronn.mapping.doc > docs/mapping.md
"""

from __future__ import annotations

import sys

from . import terms as T
from .rules import RULES
from .translation import doc_lines as translation_lines
from .authority_rules import doc_lines as authority_lines

_PREFIXES = {
    T.RDAW: "rdaw:", T.RDAE: "rdae:", T.RDAM: "rdam:", T.RDAI: "rdai:", T.RDAA: "rdaa:",
    T.SKOS: "skos:", T.MB: "mb:", T.CONTENT_BASE: "rdaco:", T.MEDIA_BASE: "rdamt:",
    T.CARRIER_BASE: "rdact:", T.LANG_BASE: "iso639-2:",
}


def curie(iri: str) -> str:
    for ns, prefix in _PREFIXES.items():
        if iri.startswith(ns):
            return prefix + iri[len(ns):]
    return iri


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [
        "# The MARC 21 → RDA mapping",
        "",
        "Generated from `metadatabronn/mapping/rules.py` by `python -m metadatabronn.mapping.doc`;",
        "a test fails when this page and the table disagree. Every example comes from a real record",
        "and is run by the test suite. Subfields not listed under *held* are carried with the record",
        "(`mb:carriedMarc`) so that MARC export can restore them; fields with no rule are carried whole.",
        "",
        "| tags | held subfields | example (source) | produces | note |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES:
        produces = "<br>".join(f"{role} {curie(el)} “{_cell(curie(v))}”" for role, el, v in rule.expect)
        lines.append(f"| {', '.join(rule.tags)} | {rule.consumes or '(all carried)'} | "
                     f"`{_cell(rule.example)}` ({rule.source}) | {produces} | {_cell(rule.note)} |")
    lines += [
        "",
        "## Coded data and inference",
        "",
        "| source | element | rule |",
        "|---|---|---|",
        "| 001, 003 | rdam:P30004 | control number as `(ORG)ID`; the manifestation IRI is `{base}/manifestation/ORG-ID` |",
        "| Leader/06 | rdae:P20001 content type | when no 336: a/t text, c/d notated music, e/f cartographic image, i spoken word, j performed music, k still image, g two-dimensional moving image, m computer program, r three-dimensional form (flagged `mb:inferred`) |",
        "| 007/00, 008 form of item | rdam:P30002 media type | when no 337, from every 007: the first whose 007/00-01 names a carrier, else the first whose category fits Leader/06 (a sound 007 only for i/j, video for g, computer for m: a book's accompanying videocassette 'v\\|' does not make it a video); 007/00 c computer, h microform, s audio, v video, g projected; else 008 form o/q/s computer, a/b/c microform, otherwise unmediated (flagged) |",
        "| 007/00-01, 300, 008, Leader/06 | rdam:P30001 carrier type | when no 338: a 007 whose 007/00-01 is a carrier code (cr, sd, vd, he, …) of the media type (any such 007 when none fits: a sound recording's 'sz' then 'cr' is an online resource); the extent's words (1 sound disc); 008 form o online resource, b microfiche; unmediated text volume, maps and pictures sheet (flagged); none for a kit or a sound recording that says nothing (a Warning of the profile) |",
        "| Leader/07 | rdam:P30003 mode of issuance | m/a/c/d single unit, s/i/b multiple unit |",
        "| 008/35-37, 041 $a | rdae:P20006 language | 041 $a when present, else 008; an obsolete code of the MARC code list by its replacement (scr → hrv; 008 keeps the code as given); a code no list defines as mb:invalidLanguage on the expression, linking no language |",
        "| 041 $h | rdae:P20141 is translation of | the expression of the same work in the original language |",
        "| 008/22 | rdae:P20322 intended audience | a b c d j → mb:Juvenile; e f g → mb:Adult; blank → mb:Adult, flagged inferred; `\\|` (no attempt to code) or any other value → none, and MARC export leaves 008/22 as it was |",
        "| 008/33 (books) | rdaw:P10004 category of work | 1 d f h j p → mb:Fiction; 0 e i s → mb:NonFiction |",
        "| 880 | same element as its pair | literals tagged with the script from $6 (e.g. `he-Hebr`); headings add an access point to the paired agent or work; $6 carried |",
        "",
    ]
    lines += translation_lines()
    lines += authority_lines()
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
