"""Coded data: content, media and carrier type inferred from Leader/06-07, 007 and 008 when a
record has no 336/337/338; mode of issuance; language; target audience; literary form."""

from __future__ import annotations

import re

from . import terms as T

# Leader/06 type of record -> MARC content type code
CONTENT_BY_TYPE = {
    "a": "txt", "t": "txt", "c": "ntm", "d": "ntm", "e": "cri", "f": "cri", "i": "spw",
    "j": "prm", "k": "sti", "g": "tdi", "m": "cop", "r": "tdf", "o": "xxx", "p": "xxx",
}
# 007/00 category of material -> media type code
MEDIA_BY_007 = {"c": "c", "h": "h", "s": "s", "v": "v", "g": "g", "m": "g", "t": "n", "a": "n", "k": "n"}
# 008 form of item -> media type code
MEDIA_BY_FORM = {" ": "n", "r": "n", "d": "n", "f": "n", "o": "c", "q": "c", "s": "c",
                 "a": "h", "b": "h", "c": "h"}
# 008 form of item -> carrier code where the form settles it
CARRIER_BY_FORM = {"o": "cr", "a": "hd", "b": "he", "c": "hg", "q": "cd"}
# unmediated carriers by Leader/06
UNMEDIATED_CARRIER = {"a": "nc", "t": "nc", "c": "nc", "d": "nc", "e": "nb", "f": "nb",
                      "k": "nb", "r": "nr", "o": "nr", "p": "nc"}
MODE_BY_LEVEL = {"m": T.MODE_SINGLE, "a": T.MODE_SINGLE, "c": T.MODE_SINGLE, "d": T.MODE_SINGLE,
                 "s": T.MODE_MULTIPLE, "i": T.MODE_MULTIPLE, "b": T.MODE_MULTIPLE}

# 008/22 target audience. Blank means not stated, which Norwegian loan statistics count as adult;
# "|" (no attempt to code) and undefined values say nothing about the audience.
JUVENILE = set("abcdj")
ADULT = set("efg")
UNSTATED = " "
# 008/33 literary form (books)
FICTION = set("1dfhjp")
NONFICTION = set("0eis")

_BOOKS = set("at")
_FORM_AT_29 = set("ekgor")  # maps and visual materials put form of item at 008/29


def form_of_item(leader: str, f008: str) -> str:
    pos = 29 if leader[6:7] in _FORM_AT_29 else 23
    return f008[pos:pos + 1] if len(f008) > pos else " "


def infer_content(leader: str) -> str | None:
    return CONTENT_BY_TYPE.get(leader[6:7])


# 008/33 type of visual material -> media type code
MEDIA_BY_VISUAL = {"v": "v", "m": "g", "f": "g", "s": "g", "t": "g"}


def _all_007(f007) -> list[str]:
    """Every 007 of the record: a list, or one 007 as a string (older callers)."""
    if not f007:
        return []
    return [f007] if isinstance(f007, str) else [v for v in f007 if v]


# 007 categories that describe accompanying material when Leader/06 is of another type (a book
# with a videocassette, "v|"), by the Leader/06 types they describe as the resource itself. A
# 007 whose 007/00-01 names a carrier (an online book's "cr") counts whatever Leader/06 says.
_CATEGORY_FITS = {"s": "ij", "v": "g", "g": "gk", "m": "g", "c": "m"}


def _carrier_of_007(value: str) -> str | None:
    pair = value[:2]
    code = CARRIER_BY_007.get(pair, pair)
    return code if len(pair) == 2 and code in T.CARRIER_CODES else None


def _settling_007(leader: str, f007s: list[str]) -> str | None:
    """The 007 that says what the resource is: the first naming a carrier, else the first whose
    category fits Leader/06 (a sound recording's "sz": audio, carrier not coded)."""
    for value in f007s:
        if _carrier_of_007(value):
            return value
    kind = leader[6:7]
    for value in f007s:
        fits = _CATEGORY_FITS.get(value[:1])
        if MEDIA_BY_007.get(value[:1]) and (fits is None or (kind and kind in fits)):
            return value
    return None


def infer_media(leader: str, f007, f008: str) -> str:
    """Media type code from the 007s (every one, see :func:`_settling_007`), else 008 and Leader/06."""
    settling = _settling_007(leader, _all_007(f007))
    if settling:
        return MEDIA_BY_007[settling[0]]
    form = form_of_item(leader, f008)
    if form in "oqs" and form != " ":
        return "c"
    kind = leader[6:7]
    if kind in "ij":  # sound recordings
        return "s"
    if kind == "g":  # projected media and video, by 008/33
        return MEDIA_BY_VISUAL.get(f008[33:34], "n") if len(f008) > 33 else "n"
    if kind == "m":
        return "c"
    return MEDIA_BY_FORM.get(form, "n")


# 007/00-01 pairs whose RDA carrier code is not the pair itself.
CARRIER_BY_007 = {"go": "gf", "co": "cd", "cj": "cd", "cm": "cd", "cc": "ce", "ce": "ce", "cs": "cz",
                  "vc": "vc", "vd": "vd", "vf": "vf", "vr": "vr", "sd": "sd", "ss": "ss"}


# Words of an extent statement (300 $a) that name a carrier, by media type: older records of
# sound and video recordings often have no 007 but say "1 sound disc" or "1 videocassette".
CARRIER_BY_EXTENT = {
    "s": (("sound disc", "sd"), ("audio disc", "sd"), ("compact disc", "sd"), ("cd", "sd"),
          ("sound cassette", "ss"), ("audiocassette", "ss"), ("cassette", "ss"),
          ("sound tape reel", "st"), ("online resource", "cr")),
    "v": (("videodisc", "vd"), ("video disc", "vd"), ("dvd", "vd"), ("videocassette", "vf"),
          ("video cassette", "vf"), ("videocartridge", "vc"), ("videoreel", "vr"), ("online resource", "cr")),
    "g": (("film reel", "mr"), ("filmstrip", "gf"), ("slide", "gs"), ("transparenc", "gt"), ("film cassette", "mf")),
    "c": (("online resource", "cr"), ("computer disc", "cd"), ("cd-rom", "cd"), ("dvd-rom", "cd"),
          ("computer optical disc", "cd"), ("computer file", "cr")),
}


def infer_carrier(leader: str, f007, f008: str, media: str, extent: str = "") -> str | None:
    """Carrier type code: a 007 naming a carrier of the media type (any 007 naming one when none
    fits it), else the extent's words, 008 form of item, or the unmediated carrier of Leader/06."""
    codes = [c for c in (_carrier_of_007(v) for v in _all_007(f007)) if c]
    if codes:
        fitting = [c for c in codes if MEDIA_OF_CARRIER.get(c) == media]
        return (fitting or codes)[0]
    if extent and media in CARRIER_BY_EXTENT:
        words = extent.lower()
        for word, code in CARRIER_BY_EXTENT[media]:
            if word in words:
                return code
    form = form_of_item(leader, f008)
    if form in CARRIER_BY_FORM:
        return CARRIER_BY_FORM[form]
    if media == "n":
        return UNMEDIATED_CARRIER.get(leader[6:7])
    return None


# RDA carrier code -> its media type code (the carrier codes' first letter, but for unmediated "n").
MEDIA_OF_CARRIER = {c: ("n" if c[0] == "n" else "g" if c[0] == "m" else c[0]) for c in T.CARRIER_CODES}


def mode_of_issuance(leader: str) -> str | None:
    return MODE_BY_LEVEL.get(leader[7:8])


def language(f008: str) -> str:
    """008/35-37 as a current code: obsolete codes give their replacement (``scr`` → ``hrv``);
    a code no list defines is returned as given, for the builder to keep unlinked; blanks and
    fill characters give ""."""
    code = f008[35:38].strip().lower() if len(f008) >= 38 else ""
    if len(code) != 3 or not code.isalpha():
        return ""
    return T.current_language(code) or code


def language_codes(value: str) -> list[str]:
    """041 subfield → its codes: pre-2001 records pack several into one ("engfre", "hinrajprah"),
    and some have punctuation round them ("eng.", "(eng)"). A remainder shorter than three
    letters is kept as a code of its own (invalid: "engja" → eng, ja).

    >>> language_codes("hinrajprah"), language_codes("eng."), language_codes("engja")
    (['hin', 'raj', 'pra', 'h'], ['eng'], ['eng', 'ja'])
    """
    out: list[str] = []
    for word in _LETTERS.findall(value):
        word = word.lower()
        out.extend(word[i:i + 3] for i in range(0, len(word), 3))
    return out


_LETTERS = re.compile(r"[A-Za-z]+")


def audience(leader: str, f008: str) -> tuple[str | None, bool]:
    """(audience concept, inferred?) from 008/22 where the material type defines it.

    Blank is adult by default (inferred); "|" (no attempt to code) or an undefined value gives
    no audience, so MARC export leaves 008/22 as it was.
    """
    if leader[6:7] not in "acdgijkmt" or len(f008) < 23:
        return None, False
    code = f008[22]
    if code in JUVENILE:
        return T.MB_JUVENILE, False
    if code in ADULT:
        return T.MB_ADULT, False
    if code == UNSTATED:
        return T.MB_ADULT, True
    return None, False


def literary_form(leader: str, f008: str) -> str | None:
    if leader[6:7] not in _BOOKS or len(f008) < 34:
        return None
    code = f008[33]
    if code in FICTION:
        return T.MB_FICTION
    if code in NONFICTION:
        return T.MB_NONFICTION
    return None
