"""SRU 1.2 at /sru: explain, and searchRetrieve with CQL over isbn, title, creator (author) and
any, combined with and / or / not and parentheses; records as MARCXML or Dublin Core.

Copy cataloguing by ISBN is one request: ``/sru?operation=searchRetrieve&version=1.2&query=isbn=...``.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..identity import normalise
from ..mapping import terms as T
from ..mapping.text import isbn13
from .records import dublin_core, marc_record, marcxml

router = APIRouter(tags=["SRU"])
SRW = "http://www.loc.gov/zing/srw/"
DIAG = "http://www.loc.gov/zing/srw/diagnostic/"
SCHEMAS = {
    "marcxml": "info:srw/schema/1/marcxml-v1.1", "marc21": "info:srw/schema/1/marcxml-v1.1",
    "info:srw/schema/1/marcxml-v1.1": "info:srw/schema/1/marcxml-v1.1",
    "dc": "info:srw/schema/1/dc-v1.1", "info:srw/schema/1/dc-v1.1": "info:srw/schema/1/dc-v1.1",
}
INDEXES = {
    "isbn": "isbn", "bath.isbn": "isbn", "dc.identifier": "isbn",
    "title": "title", "dc.title": "title", "bath.title": "title",
    "creator": "creator", "author": "creator", "dc.creator": "creator", "bath.author": "creator",
    "bath.name": "creator",
    "any": "any", "cql.serverchoice": "any", "cql.anywhere": "any", "cql.anywhere.": "any",
}
RELATIONS = {"=", "==", "exact", "all", "any", "adj"}
MAX_RECORDS = 100
MAX_NESTING = 32  # parentheses inside parentheses in a CQL query
MAX_OPERATORS = 100  # and / or / not in a CQL query
_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|==|<>|>=|<=|[=<>]|[^\s()=<>"]+)')


class Diagnostic(Exception):
    def __init__(self, number: int, message: str, details: str = ""):
        super().__init__(message)
        self.number, self.message, self.details = number, message, details


# CQL ---------------------------------------------------------------------------------------

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


# the index ---------------------------------------------------------------------------------

class Catalogue:
    """What SRU searches: per manifestation its normalised title, creators and identifiers."""

    def __init__(self, store):
        self.store = store
        rows = store.query(
            f"""SELECT ?m ?title ?key WHERE {{ ?m a <{T.C_MANIFESTATION}> .
                OPTIONAL {{ ?m <{T.M_TITLE_PROPER}> ?title }}
                OPTIONAL {{ ?m <{T.M_WORK}> ?w . ?w <{T.MB}key> ?key }} }}""")
        texts: dict[str, dict[str, set[str]]] = {}
        for r in rows:
            m = r["m"].value
            entry = texts.setdefault(m, {"title": set(), "creator": set()})
            if r["title"] is not None:
                entry["title"].add(normalise(r["title"].value))
            if r["key"] is not None:
                parts = r["key"].value.split("|")
                if len(parts) >= 3:
                    entry["creator"].add(parts[1])
                    entry["title"].add(parts[2])
        # Other title information, parallel and variant titles are searched as titles too.
        for predicate in (T.M_OTHER_TITLE, T.M_PARALLEL_TITLE, T.M_VARIANT_TITLE):
            for r in store.query(f"SELECT ?m ?t WHERE {{ ?m <{predicate}> ?t }}"):
                entry = texts.get(r["m"].value)
                if entry is not None:
                    entry["title"].add(normalise(r["t"].value))
        self.texts = texts
        self.order = sorted(texts, key=lambda m: m.rsplit("/", 1)[-1])

    def isbn(self, value: str) -> set[str]:
        norm = isbn13(value.replace("-", "").replace(" ", ""))
        found = set(self.store.subjects_with(T.M_IDENTIFIER, f"urn:isbn:{norm}")) if norm else set()
        found |= set(self.store.subjects_with(T.M_IDENTIFIER, value.strip()))
        return {m for m in found if m in self.texts}

    def words(self, field: str, value: str, relation: str) -> set[str]:
        wanted = normalise(value)
        words = wanted.split()
        if not words:
            return set()
        out = set()
        for m, entry in self.texts.items():
            texts = entry["title"] | entry["creator"] if field == "any" else entry[field]
            for text in texts:
                if relation in ("==", "exact"):
                    hit = text == wanted
                elif relation == "any":
                    hit = any(w in text.split() for w in words)
                elif relation == "adj":
                    hit = wanted in text
                else:  # "=" and "all": every word, in any order
                    have = set(text.split())
                    hit = all(w in have for w in words)
                if hit:
                    out.add(m)
                    break
        return out

    def search(self, tree) -> set[str]:
        if tree[0] == "term":
            _, index, relation, value = tree
            field = INDEXES.get(index)
            if field is None:
                raise Diagnostic(16, "Unsupported index", index)
            if relation not in RELATIONS:
                raise Diagnostic(19, "Unsupported relation", relation)
            if field == "isbn":
                return self.isbn(value)
            found = self.words(field, value, relation)
            if field == "any" and not found:
                found = self.isbn(value) if isbn13(value.replace("-", "")) else found
            return found
        op, left, right = tree
        a, b = self.search(left), self.search(right)
        return a & b if op == "and" else a | b if op == "or" else a - b


def catalogue(request: Request) -> Catalogue:
    state = request.app.state
    found = getattr(state, "sru", None)
    if found is None:
        found = state.sru = Catalogue(state.store)
    return found


# the protocol ------------------------------------------------------------------------------

@router.get("/sru", summary="SRU 1.2: explain and searchRetrieve (CQL: isbn, title, creator/author, any)",
            response_class=Response, responses={200: {"content": {"text/xml": {}}}})
async def sru(request: Request):
    params = {k.lower(): v for k, v in request.query_params.items()}
    operation = params.get("operation") or ("searchRetrieve" if "query" in params else "explain")
    try:
        version = params.get("version", "1.2")
        if version not in ("1.1", "1.2"):
            raise Diagnostic(5, "Unsupported version", "1.2")
        if operation == "explain":
            return _xml(_explain(request))
        if operation != "searchRetrieve":
            raise Diagnostic(4, "Unsupported operation", operation)
        return _xml(_search(request, params))
    except Diagnostic as exc:
        tag = "explainResponse" if operation == "explain" else "searchRetrieveResponse"
        extra = "<numberOfRecords>0</numberOfRecords>" if tag == "searchRetrieveResponse" else ""
        return _xml(f'<{tag} xmlns="{SRW}"><version>1.2</version>{extra}{_diagnostics(exc)}</{tag}>')


def _xml(body: str) -> Response:
    return Response(('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8"),
                    media_type="text/xml; charset=utf-8")


def _diagnostics(exc: Diagnostic) -> str:
    return (f'<diagnostics><diagnostic xmlns="{DIAG}"><uri>info:srw/diagnostic/1/{exc.number}</uri>'
            f"<details>{escape(exc.details)}</details><message>{escape(exc.message)}</message></diagnostic>"
            "</diagnostics>")


def _explain(request: Request) -> str:
    host = request.url.hostname or "localhost"
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    indexes = "".join(
        f'<index><title>{name}</title><map><name set="{cs}">{ix}</name></map></index>'
        for name, cs, ix in (("ISBN", "bath", "isbn"), ("Title", "dc", "title"), ("Creator", "dc", "creator"),
                             ("Author", "cql", "author"), ("Any", "cql", "serverChoice")))
    return (f'<explainResponse xmlns="{SRW}"><version>1.2</version><record><recordSchema>'
            f"http://explain.z3950.org/dtd/2.0/</recordSchema><recordPacking>xml</recordPacking><recordData>"
            f'<explain xmlns="http://explain.z3950.org/dtd/2.0/"><serverInfo protocol="SRU" version="1.2">'
            f"<host>{escape(host)}</host><port>{port}</port><database>sru</database></serverInfo>"
            f"<databaseInfo><title>metadatabronn</title><description>RDA entities from MARC 21, "
            f"searched by ISBN, title, creator or any of them</description></databaseInfo>"
            f'<indexInfo><set name="dc" identifier="info:srw/cql-context-set/1/dc-v1.1"/>'
            f'<set name="bath" identifier="http://zing.z3950.org/cql/bath/2.0/"/>'
            f'<set name="cql" identifier="info:srw/cql-context-set/1/cql-v1.2"/>{indexes}</indexInfo>'
            f'<schemaInfo><schema identifier="info:srw/schema/1/marcxml-v1.1" name="marcxml"><title>MARCXML</title>'
            f'</schema><schema identifier="info:srw/schema/1/dc-v1.1" name="dc"><title>Dublin Core</title></schema>'
            f"</schemaInfo><configInfo><default type=\"numberOfRecords\">10</default>"
            f'<setting type="maximumRecords">{MAX_RECORDS}</setting></configInfo></explain></recordData>'
            f"</record></explainResponse>")


def _number(params, name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15 or int(raw) < minimum:
        raise Diagnostic(6, "Unsupported parameter value", f"{name}={raw}")
    return int(raw)


def _search(request: Request, params: dict) -> str:
    query = params.get("query")
    if not query:
        raise Diagnostic(7, "Mandatory parameter not supplied", "query")
    schema_name = (params.get("recordschema") or "marcxml").lower()
    schema = SCHEMAS.get(schema_name)
    if schema is None:
        raise Diagnostic(66, "Unknown schema for retrieval", params.get("recordschema", ""))
    packing = params.get("recordpacking", "xml")
    if packing not in ("xml", "string"):
        raise Diagnostic(71, "Unsupported record packing", packing)
    start = _number(params, "startrecord", 1, 1)
    maximum = min(_number(params, "maximumrecords", 10, 0), MAX_RECORDS)
    tree = _Parser(query).parse()
    cat = catalogue(request)
    hits = cat.search(tree)
    ordered = [m for m in cat.order if m in hits]
    if start > len(ordered) and ordered and maximum:
        raise Diagnostic(61, "First record position out of range", str(start))
    page = ordered[start - 1:start - 1 + maximum]
    state = request.app.state
    records = []
    for position, m in enumerate(page, start):
        record = marc_record(state.store, m)
        if record is None:
            continue
        data = (marcxml(record) if schema.endswith("marcxml-v1.1") else dublin_core(record, m, "srw_dc")).decode()
        if packing == "string":
            data = escape(data)
        records.append(f"<record><recordSchema>{schema}</recordSchema><recordPacking>{packing}</recordPacking>"
                       f"<recordData>{data}</recordData><recordPosition>{position}</recordPosition></record>")
    nxt = start + len(page)
    next_position = f"<nextRecordPosition>{nxt}</nextRecordPosition>" if nxt <= len(ordered) and page else ""
    echo = (f"<echoedSearchRetrieveRequest><version>1.2</version><query>{escape(query)}</query>"
            f"<startRecord>{start}</startRecord><maximumRecords>{maximum}</maximumRecords>"
            f"<recordPacking>{packing}</recordPacking><recordSchema>{escape(schema_name)}</recordSchema>"
            f"</echoedSearchRetrieveRequest>")
    return (f'<searchRetrieveResponse xmlns="{SRW}"><version>1.2</version>'
            f"<numberOfRecords>{len(ordered)}</numberOfRecords>"
            f"{'<records>' + ''.join(records) + '</records>' if records else ''}{next_position}{echo}"
            f"</searchRetrieveResponse>")
