"""CQL as SRU 1.2 takes it: the boolean grammar (terms joined by ``and`` / ``or`` / ``not``,
parentheses), the indexes and relations this server answers, and the SRU diagnostics a query
that breaks them gets. A query parses to a tree of tuples: ``("term", index, relation, value)``
or ``(op, left, right)``."""

from __future__ import annotations

import re

INDEXES = {
    "isbn": "isbn", "bath.isbn": "isbn", "dc.identifier": "isbn",
    "title": "title", "dc.title": "title", "bath.title": "title",
    "creator": "creator", "author": "creator", "dc.creator": "creator", "bath.author": "creator",
    "bath.name": "creator",
    "any": "any", "cql.serverchoice": "any", "cql.anywhere": "any", "cql.anywhere.": "any",
}
RELATIONS = {"=", "==", "exact", "all", "any", "adj"}
MAX_NESTING = 32  # parentheses inside parentheses in a CQL query
MAX_OPERATORS = 100  # and / or / not in a CQL query
_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|==|<>|>=|<=|[=<>]|[^\s()=<>"]+)')


class Diagnostic(Exception):
    def __init__(self, number: int, message: str, details: str = ""):
        super().__init__(message)
        self.number, self.message, self.details = number, message, details


def _tokens(query: str) -> list[str]:
    tokens, pos = [], 0
    query = query.strip()
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            raise Diagnostic(10, "Query syntax error", query[pos:])
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


class _Parser:
    """CQL's boolean grammar: cqlQuery = scopedClause; terms joined by and / or / not."""

    def __init__(self, query: str):
        self.tokens = _tokens(query)
        self.i = 0
        self.depth = 0
        operators = sum(1 for t in self.tokens if t.lower() in ("and", "or", "not", "prox"))
        if operators > MAX_OPERATORS:
            raise Diagnostic(38, "Too many boolean operators in query", str(MAX_OPERATORS))

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.i += 1
        return token

    def parse(self):
        if not self.tokens:
            raise Diagnostic(10, "Query syntax error", "empty query")
        tree = self.boolean()
        if self.peek() is not None:
            raise Diagnostic(10, "Query syntax error", f"unexpected {self.peek()!r}")
        return tree

    def boolean(self):
        left = self.clause()
        while (self.peek() or "").lower() in ("and", "or", "not", "prox"):
            op = self.take().lower()
            if op == "prox":
                raise Diagnostic(37, "Unsupported boolean operator", "prox")
            left = (op, left, self.clause())
        return left

    def clause(self):
        token = self.take()
        if token is None:
            raise Diagnostic(10, "Query syntax error", "the query ends too soon")
        if token == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise Diagnostic(10, "Query syntax error",
                                 f"parentheses nested more than {MAX_NESTING} deep")
            inner = self.boolean()
            self.depth -= 1
            if self.take() != ")":
                raise Diagnostic(10, "Query syntax error", "a parenthesis is not closed")
            return inner
        if token == ")":
            raise Diagnostic(10, "Query syntax error", "unexpected ')'")
        nxt = self.peek()
        if nxt is not None and (nxt in ("=", "==", "<>", "<", ">", "<=", ">=") or nxt.lower() in RELATIONS):
            index, relation = token, self.take().lower()
            value = self.take()
            if value is None or value in ("(", ")"):
                raise Diagnostic(10, "Query syntax error", f"no search term after {index} {relation}")
            return ("term", index.lower(), relation, _unquote(value))
        return ("term", "cql.serverchoice", "=", _unquote(token))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse(query: str):
    """The tree of a CQL query, its indexes and relations checked: a :class:`Diagnostic` if not."""
    tree = _Parser(query).parse()
    checked(tree)
    return tree


def checked(tree) -> None:
    """Unknown indexes and relations are diagnostics, found before anything is searched."""
    if tree[0] == "term":
        _, index, relation, _ = tree
        if INDEXES.get(index) is None:
            raise Diagnostic(16, "Unsupported index", index)
        if relation not in RELATIONS:
            raise Diagnostic(19, "Unsupported relation", relation)
        return
    checked(tree[1])
    checked(tree[2])
