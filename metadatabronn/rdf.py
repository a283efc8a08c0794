"""Descriptions → N-Quads text, one named graph per source record.

Written as text lines rather than through an RDF library: this is the ingest hot path, and
pyoxigraph parses N-Quads far faster than Python can build graph objects (see
``docs/architecture.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from json.encoder import encode_basestring as _quote

from .identity import assign, manifestation_id, record_graph
from .mapping import terms as T
from .mapping.model import IRI, Description, Kind, Lit
from .mapping.roles import GENERAL

_GENERAL_ELEMENTS = frozenset(GENERAL.values())

PROV_GENERATED = "http://www.w3.org/ns/prov#generatedAtTime"
DCT_SOURCE = "http://purl.org/dc/terms/source"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
AS = "https://www.w3.org/ns/activitystreams#"
AS_TOMBSTONE = AS + "Tombstone"
AS_FORMER_TYPE = AS + "formerType"
AS_DELETED = AS + "deleted"
MB_KEY = T.MB + "key"
MB_DESCRIBES = T.MB + "describes"
MB_SOURCE_RECORD = T.MB + "sourceRecord"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


def source_name(source: str) -> str:
    """What ``dcterms:source`` says of an input file: its name, never the path it was read from
    (which would tell the server's directory layout to every reader of the store)."""
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]

CLASS = {
    Kind.WORK: T.C_WORK, Kind.EXPRESSION: T.C_EXPRESSION, Kind.MANIFESTATION: T.C_MANIFESTATION,
    Kind.ITEM: T.C_ITEM, Kind.PERSON: T.C_PERSON, Kind.CORPORATE: T.C_CORPORATE,
    Kind.FAMILY: T.C_FAMILY, Kind.CONCEPT: T.C_CONCEPT,
}

_BAD_IRI_CHARS = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def literal(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    # JSON string syntax is a subset of N-Triples' STRING_LITERAL_QUOTE once non-ASCII is left as
    # is, and the JSON encoder's C quoting costs no more than looking for what needs escaping.
    s = _quote(text)
    if lang:
        return f"{s}@{lang}"
    if datatype:
        return f"{s}^^<{datatype}>"
    return s


def iri_value(value: str) -> str:
    """The IRI as it is written: characters N-Triples forbids are percent-encoded."""
    if _BAD_IRI_CHARS.search(value):
        return _BAD_IRI_CHARS.sub(lambda m: "%%%02X" % ord(m.group(0)), value)
    return value


def iri(value: str) -> str:
    return f"<{iri_value(value)}>"


# What identifies a shared entity, written once into the default graph when it is first
# minted. Everything else a record says about it is that record's contribution and stays in
# the record's graph, so that replacing or deleting a record takes exactly what it brought.
_CORE = {
    Kind.WORK: {T.W_PREFERRED_TITLE, T.W_AAP},
    Kind.EXPRESSION: {T.E_WORK, T.E_CONTENT_TYPE, T.E_LANGUAGE},
}
# Works and expressions keep their cluster key, so a cataloguer can ask why records share
# one; an agent or concept is found again by its IRI alone, minted from its key.
_KEYED = {Kind.WORK, Kind.EXPRESSION}
_SHARED = {Kind.WORK, Kind.EXPRESSION, Kind.PERSON, Kind.CORPORATE, Kind.FAMILY, Kind.CONCEPT}


@dataclass(slots=True)
class Serialised:
    """One record as N-Quads: its own graph, and the core of each shared entity it names.

    ``cores`` holds ``(key, iri, nquads)`` per shared entity; the loader writes a core only
    when the key is new to the store.
    """

    graph: str
    manifestation: str
    nquads: str
    cores: list[tuple[str, str, str]]
    # (subject, predicate, (kind, value, datatype, lang)) for the predicates asked for: the same
    # statements as the text, as the validation gate reads them, without parsing the text back.
    rows: list[tuple[str, str, tuple]] | None = None
    work: str | None = None  # the IRI of the manifestation's work, as minted here
    # The record graph's statements as the store will read them back, made beside the text
    # (the catalogue's copy keeps them so: store.nquads): ``(subject, predicate, object,
    # literal)`` where literal is False for an IRI, "" for a plain string, else "@tag" (in lower
    # case) or "^^datatype".
    statements: list[tuple[str, str, str, bool | str]] | None = None


# IRI values (vocabulary terms, authority URIs) recur record after record: each is written and
# escaped once per process. Bounded, since authority URIs are open-ended.
_IRI_FORMS: dict[str, tuple[str, tuple]] = {}
_IRI_FORMS_MAX = 50_000
_CLASS_TERM = {kind: ("I", cls, None, None) for kind, cls in CLASS.items()}
_NO_CORE: frozenset[str] = frozenset()


# A literal's language or datatype as a record graph's statements note it (store.nquads.kept):
# one string a tag or datatype, made once.
_KINDS: dict[str, str] = {}


def kind_of(lang: str | None, datatype: str | None) -> str:
    """How a statement noted beside its N-Quads line (``Serialised.statements``) says what its
    literal is: "" for a plain string, "@tag" (lower case, as the store gives it back) or
    "^^datatype". An IRI object is noted False."""
    kind = _KINDS.get(lang or datatype) if lang or datatype else ""
    if kind is None:
        kind = "@" + lang.lower() if lang else "" if datatype == XSD_STRING else "^^" + datatype
        if len(_KINDS) < 1000:
            _KINDS[lang or datatype] = kind
    return kind


def nquads_of(graph: str | None, said) -> str:
    """Noted statements ``(subject, predicate, object, kind)`` (:func:`kind_of`) as N-Quads lines
    in ``graph`` (None: the default graph), as :func:`serialise` writes them."""
    g = f" <{graph}> .\n" if graph else " .\n"
    out = []
    for s, p, o, kind in said:
        if kind is False:
            out.append(f"<{s}> <{p}> <{o}>{g}")
        elif not kind:
            out.append(f"<{s}> <{p}> {_quote(o)}{g}")
        elif kind[0] == "@":
            out.append(f"<{s}> <{p}> {_quote(o)}{kind}{g}")
        else:
            out.append(f"<{s}> <{p}> {_quote(o)}^^<{kind[2:]}>{g}")
    return "".join(out)


def _iri_forms(value: str) -> tuple[str, tuple]:
    """An IRI value as the text writes it and as the gate reads it."""
    forms = _IRI_FORMS.get(value)
    if forms is None:
        v = iri_value(value)
        forms = (f"<{v}>", ("I", v, None, None))
        if len(_IRI_FORMS) >= _IRI_FORMS_MAX:
            _IRI_FORMS.clear()
        _IRI_FORMS[value] = forms
    return forms


def serialise(description: Description, base: str, *, source: str, source_hash: str, when: str,
              registry: dict[str, str] | None = None, rows_for: frozenset[str] | None = None,
              position: int | None = None) -> Serialised:
    """The record's named graph (entities, carried MARC, provenance) and its entities' cores.

    With ``rows_for``, also the entities' statements with those predicates, and their classes,
    as ``rows``; the record's provenance statements are not among them. A row's object is the
    object as the store has it once parsed: a plain literal is an xsd:string, and a language tag
    is in lower case.
    """
    graph = record_graph(base, description.control_number)
    iris, keys = assign(base, description, registry)
    g = f" <{graph}> .\n"
    lines: list[str] = []
    append = lines.append
    said: list[tuple[str, str, str, bool | str]] = []
    say = said.append
    cores: list[tuple[str, str, str]] = []
    cored: set[str] = set()
    # The gate's view of the statements, taken as they are written (a second form of one heading
    # adds no core statements, exactly as in the text).
    rows: list[tuple[str, str, tuple]] | None = [] if rows_for is not None else None
    keep = rows.append if rows is not None else None
    # An IRI minted here under a base that needs no escaping needs none either (a digest, or a
    # manifestation id, which is percent-encoded already); a concept's own URI or an IRI from the
    # registry is written as iri_value writes it.
    minted = registry is None and _BAD_IRI_CHARS.search(base) is None
    entity_forms = {}
    for entity in description.entities:
        eid = id(entity)
        subject = iris[eid]
        if eid in entity_forms:
            continue
        v = subject if minted and not (entity.kind is Kind.CONCEPT and entity.basis[0] == "uri") else iri_value(subject)
        entity_forms[eid] = (f"<{v}>", ("I", v, None, None), v)

    for entity in description.entities:
        eid = id(entity)
        subject = iris[eid]
        s, _, v = entity_forms[eid]
        s = s + " <"
        kind = entity.kind
        statements = entity.statements
        core_lines = None
        if kind in _SHARED:
            core = _CORE.get(kind)  # None: every statement is the core's
            if subject in cored:
                # Two headings of one record that normalise to the same key ("Gibson, Charles H."
                # and "Gibson, Charles, H.") are one entity: its first form is its core, as in the store.
                if core is None:
                    continue
                statements = [(p, o) for p, o in statements if p not in core]
                core = _NO_CORE
            else:
                cored.add(subject)
                # The default graph: the well's own statements of shared entities.
                core_lines = [f"{s}{T.RDF_TYPE}> <{CLASS[kind]}> .\n"]
                if kind in _KEYED:
                    core_lines.append(f"{s}{MB_KEY}> {_quote(keys[eid])} .\n")
        else:
            core = _NO_CORE
            append(f"{s}{T.RDF_TYPE}> <{CLASS[kind]}>{g}")
            say((v, T.RDF_TYPE, CLASS[kind], False))
        if keep is not None:
            keep((v, T.RDF_TYPE, _CLASS_TERM[kind]))
        generals: set[tuple[str, int]] | None = None  # (general element, agent) stated, once needed
        for p, o in statements:
            t = type(o)
            wanted = keep is not None and p in rows_for
            if t is Lit:
                text = o.text
                lang = o.lang
                if lang:
                    obj = f"{_quote(text)}@{lang}"
                    value, noted = text, kind_of(lang, None)
                    if wanted:
                        keep((v, p, ("L", text, RDF_LANGSTRING, lang.lower())))
                else:
                    datatype = o.datatype
                    obj = f"{_quote(text)}^^<{datatype}>" if datatype else _quote(text)
                    value, noted = text, kind_of(None, datatype)
                    if wanted:
                        keep((v, p, ("L", text, datatype or XSD_STRING, None)))
            else:
                if t is IRI:
                    obj, term = _IRI_FORMS.get(o.value) or _iri_forms(o.value)
                else:
                    obj, term, _ = entity_forms[id(o)]
                    general = GENERAL.get(p)
                    if general is not None and generals is None:  # the description's own first
                        generals = {(q, id(x)) for q, x in statements if q in _GENERAL_ELEMENTS}
                    if general is not None and (general, id(o)) not in generals:
                        # The role's general element beside it (an author is a creator of the
                        # work), once per agent: one triple pattern then finds every creator. It
                        # is not in the description, so MARC export never reads it.
                        generals.add((general, id(o)))
                        append(f"{s}{general}> {obj}{g}")
                        say((v, general, term[1], False))
                        if keep is not None and general in rows_for:
                            keep((v, general, term))
                value, noted = term[1], False
                if wanted:
                    keep((v, p, term))
            if core is None or p in core:
                core_lines.append(f"{s}{p}> {obj} .\n")
            else:
                append(f"{s}{p}> {obj}{g}")
                say((v, p, value, noted))
        if core_lines is not None:
            cores.append((keys[eid], subject, "".join(core_lines)))
    m = iris[id(description.manifestation)]
    gs = f"<{graph}>"
    append(f"{gs} <{MB_DESCRIBES}> <{m}>{g}")
    name = source_name(source)
    append(f"{gs} <{DCT_SOURCE}> {literal(name)}{g}")
    say((graph, MB_DESCRIBES, m, False))
    say((graph, DCT_SOURCE, name, ""))
    if position is not None:  # where the record was in that file (1-based)
        append(f"{gs} <{MB_SOURCE_RECORD}> \"{int(position)}\"^^<{XSD_INTEGER}>{g}")
        say((graph, MB_SOURCE_RECORD, str(int(position)), kind_of(None, XSD_INTEGER)))
    append(f"{gs} <{PROV_GENERATED}> {literal(when, datatype=XSD_DATETIME)}{g}")
    append(f"{gs} <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}")
    say((graph, PROV_GENERATED, when, kind_of(None, XSD_DATETIME)))
    say((graph, T.MB_SOURCE_HASH, source_hash, ""))
    if description.carried:
        append(f"{gs} <{T.MB_CARRIED}> {literal(description.carried)}{g}")
        say((graph, T.MB_CARRIED, description.carried, ""))
    for element in description.inferred:
        append(f"{gs} <{T.MB_INFERRED}> <{element}>{g}")
        say((graph, T.MB_INFERRED, element, False))
    work = next((iris[id(o)] for p, o in description.manifestation.statements if p == T.M_WORK), None)
    return Serialised(graph, m, "".join(lines), cores, rows, work, said)


def tombstone(base: str, control_number: str, identifiers: list[str], *, source: str,
              source_hash: str, when: str) -> Serialised:
    """What is left of a deleted manifestation: its IRI, its identifiers and when it went."""
    graph = record_graph(base, control_number)
    m = f"{base}/manifestation/{manifestation_id(control_number)}"
    g = f" <{graph}> .\n"
    lines = [
        f"<{m}> <{T.RDF_TYPE}> <{AS_TOMBSTONE}>{g}",
        f"<{m}> <{AS_FORMER_TYPE}> <{T.C_MANIFESTATION}>{g}",
        f"<{m}> <{AS_DELETED}> {literal(when, datatype=XSD_DATETIME)}{g}",
        f"<{graph}> <{MB_DESCRIBES}> <{m}>{g}",
        f"<{graph}> <{DCT_SOURCE}> {literal(source_name(source))}{g}",
        f"<{graph}> <{T.MB_SOURCE_HASH}> {literal(source_hash)}{g}",
    ]
    for ident in dict.fromkeys([control_number, *identifiers]):
        lines.append(f"<{m}> <{T.M_IDENTIFIER}> {literal(ident)}{g}")
    return Serialised(graph, m, "".join(lines), [])
