"""Content negotiation: the ``format`` parameter wins, then the Accept header's preferences."""

from __future__ import annotations

RESULT_TYPES = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
}
GRAPH_TYPES = {
    "turtle": "text/turtle; charset=utf-8", "ntriples": "application/n-triples",
    "jsonld": "application/ld+json", "rdfxml": "application/rdf+xml",
}
ENTITY_TYPES = {**GRAPH_TYPES, "html": "text/html; charset=utf-8", "marcxml": "application/marcxml+xml",
                "marc": "application/marc"}

_MEDIA = {
    "application/sparql-results+json": "json", "application/json": "json", "text/javascript": "json",
    "application/javascript": "json", "application/sparql-results+xml": "xml", "application/xml": "xml",
    "text/xml": "xml", "text/csv": "csv", "text/tab-separated-values": "tsv",
    "text/turtle": "turtle", "application/x-turtle": "turtle", "application/n-triples": "ntriples",
    "text/plain": "ntriples", "application/ld+json": "jsonld", "application/rdf+xml": "rdfxml",
    "text/html": "html", "application/xhtml+xml": "html", "application/marcxml+xml": "marcxml",
    "application/marc": "marc",
}
_NAMES = {
    "json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
    "turtle": "turtle", "ttl": "turtle", "ntriples": "ntriples", "nt": "ntriples", "n-triples": "ntriples",
    "jsonld": "jsonld", "json-ld": "jsonld", "rdfxml": "rdfxml", "rdf": "rdfxml", "rdf/xml": "rdfxml",
    "html": "html", "marcxml": "marcxml", "marc": "marc", "mrc": "marc",
}


def ranked(accept: str | None) -> list[str]:
    """What an Accept (or Accept-Language) header asks for with q above 0, lower-cased, best
    first, in order among equals."""
    if not accept:
        return []
    found = []
    for i, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            found.append((-q, i, media.lower()))
    return [media for _, _, media in sorted(found)]


def accepted(accept: str | None) -> list[str]:
    """Format names the Accept header asks for, best first (q-values respected, order kept)."""
    return [name for name in (_MEDIA.get(media) for media in ranked(accept)) if name]


def choose(fmt: str | None, accept: str | None, allowed: dict, default: str, *, strict: bool = False
           ) -> str | None:
    """The format to answer in, or None when ``fmt`` names one that is not offered.

    With ``strict`` (a resource that comes in the ``allowed`` formats only), None too when the
    Accept header names only media types that are not offered and no wildcard (``*/*``, or
    ``text/*`` and the like, matching an offered type); no Accept header means ``default``.
    """
    if fmt:
        name = _NAMES.get(fmt.lower()) or _MEDIA.get(fmt.lower())
        if name == "xml" and "xml" not in allowed and "rdfxml" in allowed:
            name = "rdfxml"
        return name if name in allowed else None
    ranges = ranked(accept)
    for media in ranges:
        name = _MEDIA.get(media)
        if name == "xml" and "rdfxml" in allowed and "xml" not in allowed:
            name = "rdfxml"
        if strict and name == "json" and "jsonld" in allowed and "json" not in allowed:
            name = "jsonld"  # JSON-LD is JSON
        if name in allowed:
            return name
    if not strict or not (accept or "").strip():
        return default
    for media in ranges:
        if media in ("*/*", "*"):
            return default
        if media.endswith("/*"):
            kind = media[:-1]
            if allowed.get(default, "").startswith(kind):
                return default
            for name, offered in allowed.items():
                if offered.startswith(kind):
                    return name
    return None
