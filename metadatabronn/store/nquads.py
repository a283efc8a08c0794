"""N-Quads of a copy (:mod:`.copies`) as plain statements, ``(subject, predicate, object, literal?)``.

MARC out reads a record's graph and the cores it names, and wants only each term's text and
whether the object is a literal. Parsed by pyoxigraph, each statement first became four Python
objects: 108-112 µs for a record's graph of the LC 20k (41 statements), where this reading takes
73-85. A copy holds the lines :func:`..rdf.serialise` (or the store) wrote, one statement a line,
so each is cut at its known separators. Anything this reading cannot vouch for (a blank node, an
escape in an IRI, a literal JSON cannot decode) sends the whole copy to pyoxigraph instead.

>>> statements(b'<http://x/s> <http://x/p> "a \\\\"b\\\\""@en <http://x/g> .\\n<http://x/s> <http://x/q> <http://x/o> .\\n')
[('http://x/s', 'http://x/p', 'a "b"', True), ('http://x/s', 'http://x/q', 'http://x/o', False)]
"""

from __future__ import annotations

import json

import pyoxigraph as ox

_loads = json.loads


class _Unread(ValueError):
    """A line this reading does not vouch for."""


def statements(text: bytes) -> list[tuple[str, str, str, bool]]:
    """Each statement once, in the copy's order (a bulk load merges repeats, so the store holds
    each once too). ``SyntaxError`` for text that is not N-Quads."""
    try:
        return _cut(text.decode("utf-8"))
    except (ValueError, IndexError):  # _Unread, a JSON or UTF-8 error among them
        return parsed(text)


def _cut(text: str) -> list[tuple[str, str, str, bool]]:
    out = []
    for line in dict.fromkeys(text.split("\n")):
        if not line:
            continue
        # "<s> <p> " then the object: an IRI, or a literal running to its last quote (what may
        # follow it, a language tag, a datatype IRI and the graph IRI, holds no quote).
        i = line.find("> <", 1)
        j = line.find("> ", i + 3) if i > 0 else -1
        if line[0] != "<" or j < 0:
            raise _Unread(line)
        s, p = line[1:i], line[i + 3:j]
        rest = line[j + 2:]
        if "\\" in s or "\\" in p:
            raise _Unread(line)
        head = rest[:1]
        if head == "<":
            end = rest.find(">")
            o = rest[1:end]
            if end < 0 or "\\" in o:
                raise _Unread(line)
            out.append((s, p, o, False))
        elif head == '"':
            end = rest.rfind('"')
            if end <= 0:
                raise _Unread(line)
            value = rest[1:end]
            # JSON's string escapes are N-Triples' but for \U and \' (never written here).
            out.append((s, p, _loads(rest[:end + 1]) if "\\" in value else value, True))
        else:
            raise _Unread(line)
    return out


def parsed(text: bytes) -> list[tuple[str, str, str, bool]]:
    """The same statements as pyoxigraph parses them."""
    return plain(dict.fromkeys(ox.parse(text, format=ox.RdfFormat.N_QUADS, lenient=True)))


def plain(quads) -> list[tuple[str, str, str, bool]]:
    """Quads as plain statements."""
    return [(q.subject.value, q.predicate.value, q.object.value, isinstance(q.object, ox.Literal)) for q in quads]
