"""SRU 1.2 at /sru: explain, and searchRetrieve with CQL over isbn, title, creator (author) and
any, combined with and / or / not and parentheses; records as MARCXML or Dublin Core.

Copy cataloguing by ISBN is one request: ``/sru?operation=searchRetrieve&version=1.2&query=isbn=...``,
answered from the store's own index. Title, creator and any are searched in the text index
(:mod:`..store.search`): words folded for case, diacritics and Nordic letters; ``histor*`` a
prefix; relations ``=``/``all`` (every word), ``any``, ``adj`` (a phrase), ``==``/``exact`` (a
whole title or name). Records come in order of relevance (a record whose title is the query's
first title words exactly, then BM25); a query with an ISBN or exact term in it, in identifier
order. ``numberOfRecords`` counts up to 10,000, and paging stops there.
"""

from __future__ import annotations

import sqlite3
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..mapping import terms as T
from ..mapping.text import isbn13
from ..store import search
from ..store.cores import UNKNOWN, Memo
from .cql import INDEXES, Diagnostic, parse
from .lookups import _catalogue, _deleted, searching
from .records import dublin_core, marc_record, marcxml, record_graph

router = APIRouter(tags=["SRU"])
SRW = "http://www.loc.gov/zing/srw/"
DIAG = "http://www.loc.gov/zing/srw/diagnostic/"
SCHEMAS = {
    "marcxml": "info:srw/schema/1/marcxml-v1.1", "marc21": "info:srw/schema/1/marcxml-v1.1",
    "info:srw/schema/1/marcxml-v1.1": "info:srw/schema/1/marcxml-v1.1",
    "dc": "info:srw/schema/1/dc-v1.1", "info:srw/schema/1/dc-v1.1": "info:srw/schema/1/dc-v1.1",
}
MAX_RECORDS = 100


# searching ---------------------------------------------------------------------------------

MAX_COUNT = 10_000  # numberOfRecords counts this far: past it, it says 10,000 (and paging stops there)
SMALL = 1_000  # a set this small is checked term by term against the text index, not joined with it


def _isbn_like(value: str) -> bool:
    compact = value.replace("-", "").replace(" ", "")
    return bool(compact) and compact[:-1].isdigit() and isbn13(compact) is not None


class Search:
    """One CQL query over the text index and the store. Terms become FTS5 expressions; a tree
    of them is one expression, ranked by relevance. An ISBN or an exact term is a set of rows;
    a tree holding one is worked out as sets, in identifier order."""

    def __init__(self, store, conn, recent: search.Recent | None = None):
        self.store, self.conn, self.recent = store, conn, recent

    def isbn(self, value: str) -> set[int]:
        return set(search.rows_of(self.conn, _by_isbn(self.store, value)).values())

    def term(self, index: str, relation: str, value: str):
        """("fts", expression or None for nothing) or ("set", row ids)."""
        field = INDEXES[index]
        if field == "isbn" or (field == "any" and _isbn_like(value)):
            return "set", self.isbn(value)
        words = search.Words.of(value)
        if relation in ("==", "exact"):
            return "set", set(search.exact(self.conn, field, words)) if words.words else set()
        return "fts", search.expression(field, words, {"=": "all"}.get(relation, relation))

    def rows(self, expr: str | None) -> set[int]:
        if expr is None:
            return set()
        return {r for (r,) in self.conn.execute(
            "SELECT rowid FROM search_index WHERE search_index MATCH ?", (expr,))}

    def matching(self, ids: set[int], expr: str | None) -> set[int]:
        if expr is None or not ids:
            return set()
        if len(ids) > SMALL:
            return ids & self.rows(expr)
        one = "SELECT 1 FROM search_index WHERE search_index MATCH ? AND rowid = ?"
        return {i for i in ids if self.conn.execute(one, (expr, i)).fetchone()}

    def evaluate(self, tree):
        if tree[0] == "term":
            _, index, relation, value = tree
            return self.term(index, relation, value)
        op = tree[0]
        parts = [self.evaluate(t) for t in _chain(tree, op)]
        texts = [e for kind, e in parts if kind == "fts"]
        sets = [e for kind, e in parts if kind == "set"]
        if op == "not":  # a not b not c: a, less b or c
            base, less = parts[0], parts[1:]
            less_text = _joined("OR", [e for kind, e in less if kind == "fts"])
            less_set = set().union(*(e for kind, e in less if kind == "set"))
            if base[0] == "fts" and not less_set:
                if base[1] is None or less_text is None:
                    return "fts", base[1]
                return "fts", f"({base[1]}) NOT ({less_text})"
            kept = (base[1] if base[0] == "set" else self.rows(base[1])) - less_set
            return "set", kept - self.matching(kept, less_text)
        if op == "and":
            text = None if None in texts else _joined("AND", texts)
            if not sets:
                return "fts", text
            both = set.intersection(*sets)
            return "set", both if not texts else self.matching(both, text)
        text = _joined("OR", [e for e in texts if e is not None])
        if not sets:
            return "fts", text
        return "set", set().union(*sets) | self.rows(text)

    def run(self, tree, start: int, maximum: int) -> tuple[int, list[str]]:
        """How many records match (up to ``MAX_COUNT``), and the manifestations of the page."""
        try:
            return self._run(tree, start, maximum)
        except sqlite3.OperationalError as exc:
            if "parser stack overflow" not in str(exc):
                raise
            raise Diagnostic(38, "Too many boolean operators in query",
                             "and / or alternating too often for the text index") from None

    def _run(self, tree, start: int, maximum: int) -> tuple[int, list[str]]:
        kind, found = self.evaluate(tree)
        if kind == "set":
            ordered = search.manifestations(self.conn, sorted(found))
            ordered.sort(key=lambda m: m.rsplit("/", 1)[-1])
            return min(len(ordered), MAX_COUNT), ordered[start - 1:min(start - 1 + maximum, MAX_COUNT)]
        if found is None:
            return 0, []
        total, rows = search.first_rows(self.conn, found, start - 1 + maximum, cap=MAX_COUNT,
                                        exact_title=_first_title(tree), recent=self.recent)
        return total, search.manifestations(self.conn, rows[start - 1:])


def _chain(tree, op: str) -> list:
    """The operands of a run of one boolean operator, flattened: FTS5's parser takes a long list
    but not parentheses some 60 deep. ``not`` runs only down its left side."""
    if tree[0] != op:
        return [tree]
    return _chain(tree[1], op) + ([tree[2]] if op == "not" else _chain(tree[2], op))


def _joined(op: str, expressions: list[str]) -> str | None:
    if not expressions:
        return None
    return expressions[0] if len(expressions) == 1 else f" {op} ".join(f"({e})" for e in expressions)


def _by_isbn(store, value: str) -> set[str]:
    """The live manifestations with this ISBN (any form), read from the store's own index."""
    norm = isbn13(value.replace("-", "").replace(" ", ""))
    found = set(store.subjects_with(T.M_IDENTIFIER, f"urn:isbn:{norm}")) if norm else set()
    found |= set(store.subjects_with(T.M_IDENTIFIER, value.strip()))
    return {m for m in found if "/manifestation/" in m and not _deleted(store, m)}


def _by_isbn_alone(store, tree) -> set[str] | None:
    """The manifestations of a query made of ISBN terms only (no text index needed); None for
    any other query."""
    if tree[0] == "term":
        return _by_isbn(store, tree[3]) if INDEXES[tree[1]] == "isbn" else None
    left, right = _by_isbn_alone(store, tree[1]), _by_isbn_alone(store, tree[2])
    if left is None or right is None:
        return None
    return left & right if tree[0] == "and" else left - right if tree[0] == "not" else left | right


def _first_title(tree) -> str | None:
    """The words of the query's first title or any term: a record with exactly that title comes first."""
    if tree[0] == "term":
        _, index, relation, value = tree
        return value if INDEXES[index] in ("title", "any") and relation in ("=", "all", "adj") else None
    return _first_title(tree[1]) or (_first_title(tree[2]) if tree[0] != "not" else None)


# the protocol ------------------------------------------------------------------------------

@router.get("/sru", summary="SRU 1.2: explain and searchRetrieve (CQL: isbn, title, creator/author, any)",
            response_class=Response, responses={200: {"content": {"text/xml": {}}}})
def sru(request: Request):  # a thread: writing up to 100 records must not hold up the event loop
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


# Records as a served snapshot writes them, for SRU pages: (snapshot, manifestation, schema) →
# the record's XML, or None for one without a record graph. A snapshot never changes, and a
# popular search sends the same records again and again.
WRITTEN = 5_000  # records at most (some 3 KB each)
_WRITTEN = Memo(WRITTEN // 2)  # (a memo holds up to twice its size; what is asked again stays)


def _written(state, page: list[str], schema: str) -> list[str | None]:
    """The page's records as ``schema`` (MARCXML or Dublin Core): those written for this snapshot
    before from memory, the others read in one go (their copies, the cores they name and their
    change times: three queries for the page, as an OAI-PMH page, instead of three a record)."""
    keys = [(state.key, m, schema) for m in page]
    out = [_WRITTEN.get(k, UNKNOWN) for k in keys]
    wanted = [m for m, o in zip(page, out) if o is UNKNOWN]
    if not wanted:
        return out
    ahead = state.store.read_ahead([record_graph(m) for m in wanted])
    for i, (key, m) in enumerate(zip(keys, page)):
        if out[i] is not UNKNOWN:
            continue
        record = marc_record(state.store, m, ahead)
        if record is None:
            out[i] = None
        else:
            out[i] = (marcxml(record) if schema.endswith("marcxml-v1.1") else dublin_core(record, m, "srw_dc")).decode()
        _WRITTEN.put(key, out[i])
    return out


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
    tree = parse(query)
    state = request.app.state
    alone = _by_isbn_alone(state.store, tree)
    if alone is not None:  # copy cataloguing: answered from the store, with or without a text index
        ordered = sorted(alone, key=lambda m: m.rsplit("/", 1)[-1])
        total, page = len(ordered), ordered[start - 1:start - 1 + maximum]
    else:
        recent = getattr(_catalogue(request), "recent", None)
        total, page = searching(request, lambda conn: Search(state.store, conn, recent).run(tree, start, maximum))
    if start > total and total and maximum:
        raise Diagnostic(61, "First record position out of range", str(start))
    records = []
    for position, (m, data) in enumerate(zip(page, _written(state, page, schema)), start):
        if data is None:
            continue
        if packing == "string":
            data = escape(data)
        records.append(f"<record><recordSchema>{schema}</recordSchema><recordPacking>{packing}</recordPacking>"
                       f"<recordData>{data}</recordData><recordPosition>{position}</recordPosition></record>")
    nxt = start + len(page)
    next_position = f"<nextRecordPosition>{nxt}</nextRecordPosition>" if nxt <= total and page else ""
    echo = (f"<echoedSearchRetrieveRequest><version>1.2</version><query>{escape(query)}</query>"
            f"<startRecord>{start}</startRecord><maximumRecords>{maximum}</maximumRecords>"
            f"<recordPacking>{packing}</recordPacking><recordSchema>{escape(schema_name)}</recordSchema>"
            f"</echoedSearchRetrieveRequest>")
    return (f'<searchRetrieveResponse xmlns="{SRW}"><version>1.2</version>'
            f"<numberOfRecords>{total}</numberOfRecords>"
            f"{'<records>' + ''.join(records) + '</records>' if records else ''}{next_position}{echo}"
            f"</searchRetrieveResponse>")
