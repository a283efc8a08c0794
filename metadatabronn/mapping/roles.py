"""Relationship designators ($e terms, $4 codes) to the RDA element and the entity it sits on.

After the RDA Registry's relator map (mapMRC2RDA) narrowed to the canonical element sets:
creators sit on the work, translators and editors on the expression, illustrators and
publishers on the manifestation. Terms are matched in English and Norwegian, lower case,
without closing punctuation.
"""

from __future__ import annotations

from . import terms as T

WORK, EXPRESSION, MANIFESTATION = "work", "expression", "manifestation"

# code -> (entity, element)
CODES: dict[str, tuple[str, str]] = {
    "aut": (WORK, T.W_AUTHOR),
    "cre": (WORK, T.W_CREATOR),
    "cmp": (WORK, T.W_COMPOSER),
    "com": (WORK, T.W_COMPILER),
    "pht": (WORK, T.W_PHOTOGRAPHER),
    "isb": (WORK, T.W_ISSUING),
    "spn": (WORK, T.W_SPONSOR),
    "dgg": (WORK, T.W_DEGREE_GRANTOR),
    "trl": (EXPRESSION, T.E_TRANSLATOR),
    "edt": (EXPRESSION, T.E_EDITOR),
    "nrt": (EXPRESSION, T.E_NARRATOR),
    "ctb": (EXPRESSION, T.E_CREATOR),
    "ill": (MANIFESTATION, T.M_ILLUSTRATOR),
    "aui": (MANIFESTATION, T.M_CONTRIBUTOR_TEXT),
    "wpr": (MANIFESTATION, T.M_CONTRIBUTOR_TEXT),
    "aft": (MANIFESTATION, T.M_CONTRIBUTOR_TEXT),
    "win": (MANIFESTATION, T.M_CONTRIBUTOR_TEXT),
    "pbl": (MANIFESTATION, T.M_PUBLISHER),
}

# Role elements and the general element the RDA Registry makes them sub-properties of (directly,
# or through another: compiler through "has aggregator agent", editor and narrator through "has
# contributor agent to amalgamation"). The mapping states the general one beside the role, so
# that one triple pattern finds every creator of a work, or every agent of an expression. Issuing
# body, sponsor and degree grantor are related agents of the work in RDA, not creators: none.
# vocabularies/rda-elements.ttl declares the same sub-properties; a test holds the two together.
GENERAL: dict[str, str] = {
    T.W_AUTHOR: T.W_CREATOR,
    T.W_COMPILER: T.W_CREATOR,
    T.W_COMPOSER: T.W_CREATOR,
    T.W_PHOTOGRAPHER: T.W_CREATOR,
    T.E_TRANSLATOR: T.E_CREATOR,
    T.E_EDITOR: T.E_CREATOR,
    T.E_NARRATOR: T.E_CREATOR,
}

# Norwegian terms in bokmål and nynorsk, and the abbreviations NORMARC-era records use
# ("forf.", "red.", "overs.", "illustr."). "komp." is left out: komponist or kompilator.
TERMS: dict[str, str] = {
    "author": "aut", "joint author": "aut", "creator": "cre",
    "forfatter": "aut", "forfattar": "aut", "forf": "aut", "medforfatter": "aut", "medforfattar": "aut",
    "composer": "cmp", "komponist": "cmp", "compiler": "com", "comp": "com", "kompilator": "com",
    "photographer": "pht", "fotograf": "pht", "issuing body": "isb", "sponsor": "spn",
    "degree granting institution": "dgg", "degree grantor": "dgg",
    "translator": "trl", "trans": "trl", "tr": "trl",
    "oversetter": "trl", "overs": "trl", "oversettelse": "trl", "omsetjar": "trl",
    "editor": "edt", "ed": "edt", "editor of compilation": "edt", "redaktør": "edt", "red": "edt",
    "narrator": "nrt", "innleser": "nrt", "forteller": "nrt",
    "contributor": "ctb", "bidragsyter": "ctb",
    "illustrator": "ill", "ill": "ill", "illus": "ill", "illustratør": "ill", "illustr": "ill",
    "author of introduction": "aui", "writer of introduction": "win", "writer of preface": "wpr",
    "author of afterword": "aft", "writer of afterword": "aft", "etterord": "aft", "forord": "wpr",
    "publisher": "pbl", "forlag": "pbl", "utgiver": "pbl",
}


def roles(field) -> list[str]:
    """Relator codes named by a heading's $4 and $e (or $j for meetings), in order, de-duplicated."""
    out: list[str] = []
    for code, value in field.subfields:
        if code == "4":
            c = value.strip().lower()
            if c.startswith("http"):  # id.loc.gov relator URI
                c = c.rsplit("/", 1)[-1]
        elif code == "e" and field.tag[1:] != "11" or code == "j" and field.tag[1:] == "11":
            c = TERMS.get(value.strip().rstrip(".,;").strip().lower(), "")
        else:
            continue
        if c and c not in out:
            out.append(c)
    return out
