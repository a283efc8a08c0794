"""N-Quads of a copy (:mod:`.copies`) as plain statements, ``(subject, predicate, object, literal?)``.

MARC out reads a record's graph and the cores it names, and wants only each term's text and
whether the object is a literal. Parsed by pyoxigraph, each statement first became four Python
objects: 108-112 µs for a record's graph of the LC 20k (41 statements), where this reading takes
73-85. A copy holds the lines :func:`..rdf.serialise` (or the store) wrote, one statement a line,
so each is cut at its known separators. Anything this reading cannot vouch for (a blank node, an
escape in an IRI, a literal JSON cannot decode) sends the whole copy to pyoxigraph instead.

A copy ingest writes of a record's graph holds its statements instead of their text
(:func:`kept`): the rows as this module gives them, dumped by :mod:`marshal`, with each
literal's language or datatype beside them. Reading those back is one ``marshal.loads``: 18 µs
for a record of the LC Books 2016 records at 250,000, where cutting its N-Quads took 131
(steady state, in a process reading 30,000 records one after another).

>>> statements(b'<http://x/s> <http://x/p> "a \\\\"b\\\\""@en <http://x/g> .\\n<http://x/s> <http://x/q> <http://x/o> .\\n')
[('http://x/s', 'http://x/p', 'a "b"', True), ('http://x/s', 'http://x/q', 'http://x/o', False)]
"""

from __future__ import annotations

import json
import marshal

import pyoxigraph as ox

from ..rdf import nquads_of

_loads = json.loads

# What a copy kept as statements begins with (N-Quads text cannot begin with a NUL).
KEPT = b"\x00mb-statements\x01"
_MARSHAL_VERSION = 4  # read by every Python the package supports


class _Unread(ValueError):
    """A line this reading does not vouch for."""


def statements(text: bytes) -> list[tuple[str, str, str, bool]]:
    """Each statement once, in the copy's order (a bulk load merges repeats, so the store holds
    each once too). ``SyntaxError`` for text that is not N-Quads."""
    if text[:len(KEPT)] == KEPT:
        return _kept(text)[1]
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
    return plain(quads(text))


def quads(text: bytes) -> list[ox.Quad]:
    """A copy's statements as pyoxigraph quads, each once. ``SyntaxError`` if it holds neither
    N-Quads nor statements :func:`kept`."""
    if text[:len(KEPT)] != KEPT:
        return list(dict.fromkeys(ox.parse(text, format=ox.RdfFormat.N_QUADS, lenient=True)))
    graph, rows, kinds = _kept(text)
    g = ox.NamedNode(graph) if graph else ox.DefaultGraph()
    out = []
    try:
        for i, (s, p, o, is_literal) in enumerate(rows):
            kind = kinds.get(i) if is_literal else None
            if not is_literal:
                obj = ox.NamedNode(o)
            elif not kind:
                obj = ox.Literal(o)
            elif kind[0] == "@":
                obj = ox.Literal(o, language=kind[1:])
            else:
                obj = ox.Literal(o, datatype=ox.NamedNode(kind[2:]))
            out.append(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), obj, g))
    except (ValueError, TypeError) as exc:
        raise SyntaxError(f"a copy's statements cannot be read: {exc}") from exc
    return out


def kept(graph: str, said) -> bytes:
    """The form a copy keeps a record graph's statements in: ``said`` holds
    ``(subject, predicate, object, literal)`` per statement, literal being False for an IRI,
    "" for a plain string, else "@tag" (lower case) or "^^datatype" (:func:`..rdf.kind_of`).
    Repeats are kept once, as the store keeps them."""
    unique = dict.fromkeys(said)
    kinds = {i: kind for i, (_, _, _, kind) in enumerate(unique) if kind}
    rows = [(s, p, o, kind is not False) for s, p, o, kind in unique]
    return KEPT + marshal.dumps((graph, rows, kinds), _MARSHAL_VERSION)


def text(body: bytes) -> bytes:
    """A copy as N-Quads, each statement once (for a dump): statements :func:`kept` written
    as the serialiser writes them, N-Quads as they are."""
    if body[:len(KEPT)] != KEPT:
        return body
    graph, rows, kinds = _kept(body)
    noted = [(s, p, o, kinds.get(i, "") if is_literal else False) for i, (s, p, o, is_literal) in enumerate(rows)]
    return nquads_of(graph, noted).encode("utf-8")


def _kept(text: bytes) -> tuple[str, list, dict]:
    try:
        graph, rows, kinds = marshal.loads(memoryview(text)[len(KEPT):])
    except (ValueError, EOFError, TypeError) as exc:
        raise SyntaxError(f"a copy's statements cannot be read: {exc}") from exc
    return graph, rows, kinds


def plain(quads) -> list[tuple[str, str, str, bool]]:
    """Quads as plain statements."""
    return [(q.subject.value, q.predicate.value, q.object.value, isinstance(q.object, ox.Literal)) for q in quads]
