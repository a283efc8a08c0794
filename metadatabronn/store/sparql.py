"""What a SPARQL text asks for, read without running it: its keywords and the IRIs it names.

pyoxigraph parses and runs SPARQL but does not show the parse, so these few questions are
answered by a small lexer: comments, string literals and IRIs are taken out first, so that a
keyword inside a title (``"Drop all"``) or an IRI (``<…/clear>``) is never taken for one, nor is
a variable (``?from``) or a prefixed name (``ex:load``).
"""

from __future__ import annotations

import re

# Longest string forms first; IRIREF cannot hold spaces, so `?a < ?b && ?c > 3` is no IRI.
_TOKENS = re.compile(
    r'''(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')'''
    r'''|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)'''
    r'''|(?P<comment>\#[^\n]*)''')
_NAME_EDGE_BEFORE = r"(?<![\w?$:\-.])"
_NAME_EDGE_AFTER = r"(?![\w:\-])"


def _keyword(*words: str) -> re.Pattern:
    return re.compile(_NAME_EDGE_BEFORE + r"(" + "|".join(words) + r")" + _NAME_EDGE_AFTER, re.IGNORECASE)


_FROM = _keyword("FROM")
_WIPE = re.compile(_NAME_EDGE_BEFORE + r"(DROP|CLEAR|MOVE|COPY)" + _NAME_EDGE_AFTER + r"(?:\s+SILENT\b)?\s*"
                   r"(ALL|DEFAULT|NAMED|GRAPH|<>)?", re.IGNORECASE)
_NETWORK = _keyword("LOAD", "SERVICE")
_PREFIX = re.compile(r"(?i:PREFIX)\s+([A-Za-z][\w\-.]*)?:\s*<>")
_PREFIXED = re.compile(_NAME_EDGE_BEFORE + r"([A-Za-z][\w\-.]*)?:((?:[\w\-]|%[0-9A-Fa-f]{2}|\.(?=[\w\-]))+)")


def skeleton(text: str) -> tuple[str, list[str]]:
    """The text with comments and strings blanked and every IRI written ``<>``; and the IRIs."""
    iris: list[str] = []

    def blank(m: re.Match) -> str:
        if m.group("iri") is not None:
            iris.append(m.group("iri")[1:-1])
            return "<>"
        return " "

    return _TOKENS.sub(blank, text), iris


def has_dataset_clause(query: str) -> bool:
    """Whether a query names its own dataset (``FROM`` / ``FROM NAMED``)."""
    return _FROM.search(skeleton(query)[0]) is not None


def wiping(update: str) -> list[str]:
    """The operations of an update that empty graphs wholesale: ``DROP``/``CLEAR`` of any graph
    (``ALL``, ``DEFAULT``, ``NAMED``, ``GRAPH <…>``), and ``MOVE``/``COPY``, which empty their
    target first."""
    text, _ = skeleton(update)
    return [" ".join(p.upper() for p in m.groups() if p and p != "<>") for m in _WIPE.finditer(text)]


def network(text: str) -> list[str]:
    """The operations of a query or update that reach the network: ``LOAD``, ``SERVICE``."""
    return sorted({m.group(1).upper() for m in _NETWORK.finditer(skeleton(text)[0])})


def named_iris(text: str) -> list[str]:
    """Every IRI the text names, written out or as a prefixed name (its prefix resolved), once each."""
    plain, iris = skeleton(text)
    # PREFIX declarations, in order: the skeleton keeps each one's <> in place of its IRI.
    prefixes: dict[str, str] = {}
    positions = [m.start() for m in re.finditer("<>", plain)]
    for m in _PREFIX.finditer(plain):
        at = positions.index(m.end() - 2) if (m.end() - 2) in positions else None
        if at is not None:
            prefixes[m.group(1) or ""] = iris[at]
    found = dict.fromkeys(iris)
    for m in _PREFIXED.finditer(plain):
        prefix = m.group(1) or ""
        if prefix in prefixes:
            found[prefixes[prefix] + m.group(2)] = None
    return list(found)
