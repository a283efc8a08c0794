"""The ISNI check character (ISO 27729, by ISO/IEC 7064 MOD 11-2).

An ISNI is 16 characters: 15 digits and a check character, a digit or ``X`` (for ten). It is
written in four groups of four (``0000 0001 2281 955X``), on the web as one run
(``https://isni.org/isni/000000012281955X``); both forms, and ``ISNI`` before them, are read.
"""

from __future__ import annotations

import re

from ..errors import IsniError

_SPACING = re.compile(r"[\s\-\u00a0]+")
_SHAPE = re.compile(r"\d{15}[\dX]")
URI_BASE = "https://isni.org/isni/"


def check_character(digits: str) -> str:
    """The check character of the first 15 digits of an ISNI."""
    if len(digits) != 15 or not digits.isdigit():
        raise ValueError(f"an ISNI's check character is computed from 15 digits, not {digits!r}")
    total = 0
    for ch in digits:
        total = (total + int(ch)) * 2
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def compact(text: str) -> str:
    """An ISNI as 16 characters: spacing, hyphens, a leading ``ISNI`` or the ISNI URI dropped,
    a lower-case ``x`` raised. Its shape and check character are not checked here."""
    value = text.strip()
    if value.startswith(("http://", "https://")):
        value = value.rstrip("/").rsplit("/", 1)[-1]
    if value[:4].upper() == "ISNI":
        value = value[4:]
    return _SPACING.sub("", value).upper()


def is_valid(text: str) -> bool:
    value = compact(text)
    return bool(_SHAPE.fullmatch(value)) and check_character(value[:15]) == value[15]


def validate(text: str, where: str = "") -> str:
    """The ISNI ``text`` names, as 16 characters; :class:`IsniError` (naming ``where``) if it is
    not 16 characters of the right shape or its check character is wrong."""
    value = compact(text)
    prefix = f"{where}: " if where else ""
    if not _SHAPE.fullmatch(value):
        raise IsniError(f"{prefix}{text!r} is not an ISNI (15 digits and a check character, a digit or X)")
    wanted = check_character(value[:15])
    if value[15] != wanted:
        raise IsniError(f"{prefix}the ISNI {grouped(value)} has the check character {value[15]}, where "
                        f"ISO 27729 gives {wanted}: a mistyped or damaged ISNI")
    return value


def grouped(isni: str) -> str:
    """``000000012281955X`` as it is printed: ``0000 0001 2281 955X``."""
    return " ".join(isni[i:i + 4] for i in range(0, len(isni), 4))


def uri(isni: str) -> str:
    return URI_BASE + isni
