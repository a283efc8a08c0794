"""ISNI's answers to AtomPub requests, read.

An answer is a ``responseRecord`` with one of:

- ``ISNIAssigned``: the identity has an ISNI (``isniUnformatted``, else ``isniURI``), newly
  assigned or found; ``mergedISNI`` names ISNIs merged into it, ``ISNIMetadata/sources`` the
  sources that contributed (``codeOfSource``, ``sourceIdentifier``: ours among them);
- ``ISNINotAssigned``: the identity was taken in without an ISNI yet (a provisional record, by
  its ``PPN``);
- ``noISNI``: nothing was assigned: with ``possibleMatch`` elements (each a ``PPN``, an
  ``evaluationScore``, the ``source``, sometimes the ISNI) ISNI found identities that may be this
  one and a person must decide; without them, the ``reason`` it was refused.

ISNI answers an unusable request with plain text instead of XML; that, and anything else that is
not one of the above, is an :class:`~metadatabronn.errors.IsniError` naming the file. Every ISNI
read is checked (:mod:`.checksum`). Pure: nothing here touches the store.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import IsniError
from . import checksum

ASSIGNED = "assigned"
POSSIBLE = "possible"  # possible matches: a person decides
PROVISIONAL = "provisional"  # taken in without an ISNI yet
REJECTED = "rejected"


@dataclass(frozen=True)
class Match:
    ppn: str
    isni: str = ""
    score: str = ""
    source: str = ""


@dataclass
class Response:
    name: str  # the file it came from, for messages
    status: str
    isni: str = ""
    ppn: str = ""
    reason: str = ""
    merged: list[str] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (code of source, its identifier)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element, name: str) -> str:
    for c in _children(el, name):
        if c.text and c.text.strip():
            return c.text.strip()
    return ""


def _record(root: ET.Element) -> ET.Element | None:
    if _local(root.tag) == "responseRecord":
        return root
    # an SRU answer carries it inside srw:recordData; one record is one answer
    found = [el for el in root.iter() if _local(el.tag) == "responseRecord"]
    return found[0] if len(found) == 1 else None


def _isni(el: ET.Element, name: str) -> str:
    text = _text(el, "isniUnformatted") or _text(el, "isniURI")
    return checksum.validate(text, name) if text else ""


def _matches(el: ET.Element, name: str) -> list[Match]:
    out = []
    for m in _children(el, "possibleMatch"):
        out.append(Match(ppn=_text(m, "PPN"), isni=_isni(m, name), score=_text(m, "evaluationScore"),
                         source=_text(m, "source")))
    return out


def read(data: bytes, name: str) -> Response:
    """The answer in ``data`` (the content of the file ``name``)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        text = data.decode("utf-8", "replace").strip()
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        if first and not first.startswith("<"):
            raise IsniError(f"{name}: not an ISNI response but a message: {first[:200]!r}") from None
        raise IsniError(f"{name}: not well-formed XML ({exc})") from None
    record = _record(root)
    if record is None:
        raise IsniError(f"{name}: not an ISNI AtomPub response (no responseRecord, but <{_local(root.tag)}>)")
    for el in _children(record, "ISNIAssigned"):
        isni = _isni(el, name)
        if not isni:
            raise IsniError(f"{name}: ISNIAssigned without an ISNI (no isniUnformatted or isniURI)")
        sources = []
        for meta in _children(el, "ISNIMetadata"):
            for src in _children(meta, "sources"):
                sources.append((_text(src, "codeOfSource"), _text(src, "sourceIdentifier")))
        merged = [checksum.validate(m.text or "", name) for m in _children(el, "mergedISNI")]
        return Response(name, ASSIGNED, isni=isni, ppn=_text(el, "PPN"), merged=merged, sources=sources,
                        matches=_matches(el, name))
    for tag in ("noISNI", "ISNINotAssigned"):
        for el in _children(record, tag):
            matches = _matches(el, name)
            if matches:
                return Response(name, POSSIBLE, ppn=_text(el, "PPN"), reason=_text(el, "reason"), matches=matches)
            if tag == "ISNINotAssigned":
                return Response(name, PROVISIONAL, ppn=_text(el, "PPN"), reason=_text(el, "reason"))
            return Response(name, REJECTED, ppn=_text(el, "PPN"), reason=_text(el, "reason") or "no reason given")
    raise IsniError(f"{name}: a responseRecord that says neither ISNIAssigned, ISNINotAssigned nor noISNI")
