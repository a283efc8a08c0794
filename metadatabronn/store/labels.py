"""Labels of the terms the store uses, in a named graph of their own, so that a query can say
``?p rdfs:label ?label`` of every element, class and value it meets.

The graph ``https://w3id.org/metadatabronn/graph/labels`` (a name independent of the base IRI,
like ``mb:store``: a rebase leaves it as it is) holds, for every term that ``vocabularies/``
declares (RDA elements and classes, the RDA value vocabularies, the ISO 639-2 languages, the
project's own terms, and the RDF, SKOS, SHACL, PROV and Activity Streams terms the store uses):

- its ``rdfs:label``s in English and Norwegian bokmål, as the vocabulary gives them; a term the
  vocabulary labels with ``skos:prefLabel`` only (a language, a content type) gets the same
  texts as ``rdfs:label``, so one pattern serves every term;
- the ``rdfs:subPropertyOf`` statements the vocabulary declares (a role element under the
  general creator element), so ``?p rdfs:subPropertyOf* rdaw:P10065`` works too.

Nothing else: no record, no entity of the catalogue. The graph is written when a store is opened
for writing and it is missing or made from other vocabulary files than the installed ones (their
digest is kept in ``mb:store`` as ``mb:labelsVersion``), never per record.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

import pyoxigraph as ox

from ..mapping import terms as T
from .layout import STORE_GRAPH

log = logging.getLogger(__name__)

LABELS_GRAPH = "https://w3id.org/metadatabronn/graph/labels"
MB_LABELS_VERSION = T.MB + "labelsVersion"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_SUBPROPERTY = "http://www.w3.org/2000/01/rdf-schema#subPropertyOf"
VOCABULARY_FILES = ("rda-elements.ttl", "rda-classes.ttl", "rda-terms.ttl", "iso639-2.ttl", "metadatabronn.ttl",
                    "other-terms.ttl")
# Bumped when what the graph holds changes for the same files.
_FORMAT = "1"
_KEPT = {RDFS_LABEL: RDFS_LABEL, T.SKOS_PREFLABEL: RDFS_LABEL, RDFS_SUBPROPERTY: RDFS_SUBPROPERTY}


@lru_cache(maxsize=1)
def version() -> str:
    """A digest of the vocabulary files (names and bytes) and of the graph's format."""
    h = hashlib.blake2b(_FORMAT.encode(), digest_size=12)
    for name in VOCABULARY_FILES:
        h.update(name.encode())
        h.update(T.vocabulary_file(name).read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def statements() -> tuple[tuple[str, str, ox.Literal | ox.NamedNode], ...]:
    """(term, predicate, object) for the labels graph, in a stable order, without repeats."""
    out: dict[tuple[str, str, str], tuple[str, str, ox.Literal | ox.NamedNode]] = {}
    for name in VOCABULARY_FILES:
        path = T.vocabulary_file(name)
        for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            subject, predicate, obj = triple.subject, triple.predicate.value, triple.object
            kept = _KEPT.get(predicate)
            if kept is None or not isinstance(subject, ox.NamedNode):
                continue
            if kept == RDFS_LABEL and not isinstance(obj, ox.Literal):
                continue
            out.setdefault((subject.value, kept, str(obj)), (subject.value, kept, obj))
    return tuple(out[k] for k in sorted(out))


def labels(lang: str = "en") -> dict[str, str]:
    """Each term's label in ``lang`` (else its English one): what a page shows for an IRI."""
    found: dict[str, str] = {}
    fallback: dict[str, str] = {}
    for term, predicate, obj in statements():
        if predicate != RDFS_LABEL:
            continue
        if obj.language == lang:
            found.setdefault(term, obj.value)
        elif obj.language in ("en", None):
            fallback.setdefault(term, obj.value)
    return {**{t: v for t, v in fallback.items() if t not in found}, **found}


def stored_version(store: ox.Store) -> str | None:
    g = ox.NamedNode(STORE_GRAPH)
    for q in store.quads_for_pattern(g, ox.NamedNode(MB_LABELS_VERSION), None, g):
        return q.object.value
    return None


def _present(store: ox.Store) -> bool:
    for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(LABELS_GRAPH)):
        return True
    return False


def ensure(store: ox.Store) -> bool:
    """Write the labels graph when it is missing or outdated; True when it was written.

    The graph is replaced in one transaction, and its version recorded after it: a write cut
    short leaves an old version (or none) behind, and the next opening writes it again.
    """
    current = version()
    if stored_version(store) == current and _present(store):
        return False
    graph = ox.NamedNode(LABELS_GRAPH)
    quads = [ox.Quad(ox.NamedNode(s), ox.NamedNode(p), o, graph) for s, p, o in statements()]
    store.update(f"DROP SILENT GRAPH <{LABELS_GRAPH}>")
    store.extend(quads)
    g = STORE_GRAPH
    store.update(f"DELETE WHERE {{ GRAPH <{g}> {{ <{g}> <{MB_LABELS_VERSION}> ?v }} }} ;\n"
                 f"INSERT DATA {{ GRAPH <{g}> {{ <{g}> <{MB_LABELS_VERSION}> \"{current}\" }} }}")
    log.info("the store's labels graph holds %d statements of the vocabularies (version %s)", len(quads), current)
    return True
