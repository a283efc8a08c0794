"""A mirror's store: a plain copy of what a well holds, kept by the well's dumps and documents.

A mirror holds the well's quads less the well's own bookkeeping (:func:`comparable` says which):
a dump loads it whole, and each document the change feed leads to replaces what the mirror holds
of one entity (a manifestation's record graph, or another entity's default-graph statements with
the writer graphs its core links and the authority record graphs that describe it: those the
mirror's copy linked or had describe it are dropped, those the document carries are loaded).
Replacing is idempotent, so a run cut short between a write and the saving of its position
repeats that write harmlessly; and each entity is written whole in one transaction, so a reader
of the mirror never sees one half replaced.

Not a :class:`~.core.Store`: that one records a base IRI, a labels graph and a catalogue index of
its own making, and a mirror holds only what its source sent. It keeps one index of its own
beside its store: the name index (:mod:`.names`, in a catalogue file as a store's is), made from
what it holds as the well's is made again from the same statements (:func:`.names.rebuild`), so
that a server over the mirror finds agents by name (``/agents?name=``) as the well's does.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from ..errors import MirrorError
from ..mapping import terms as T
from ..rdf import MB_DESCRIBES
from . import minted, names, remote_home
from .authorities import review_graph
from .catalogue import Catalogue, path_of as catalogue_path
from .feed import DCT_IS_REPLACED_BY
from .documents import Document, described_by, linked_graphs
from .editing import MB_STATED_IN
from .layout import MB_BASE_IRI, STORE_GRAPH, changes_graph, pending_graph
from .remote import RemoteStore

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
STATE_FILE = "mirror.json"  # the source and the feed position, beside the store's files
DUMP_HEADER = "# metadatabronn dump "


class MirrorStore:
    """The pyoxigraph store in a mirror's directory (its own state file sits beside its files)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._store = ox.Store(str(self.path))
            self._catalogue: Catalogue | None = None
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise MirrorError(f"the mirror at {self.path} is in use: another mirror run is writing to it; "
                                  "try again when it has finished") from exc
            raise MirrorError(f"cannot open the mirror's store at {self.path}: {exc}") from exc

    def __len__(self) -> int:
        return len(self._store)

    def _unindexed(self) -> None:
        """Once a run: a store's look-up index in this directory no longer covers it (:mod:`.minted`)."""
        if not getattr(self, "_flagged", False):
            minted.invalidate_file(catalogue_path(self.path))
            self._flagged = True

    def clear(self) -> None:
        """Empty the mirror (before a fresh dump is loaded)."""
        self._store.clear()

    def load_dump(self, file: str | os.PathLike) -> int:
        """Bulk-load an N-Quads dump (gzipped or not; its header is an N-Quads comment); the
        mirror's size after. Not transactional: the caller keeps the mirror marked as wanting a
        dump until this has returned."""
        self._unindexed()
        with open(file, "rb") as raw:
            packed = raw.read(2) == GZIP_MAGIC
        try:
            if packed:
                with gzip.open(file, "rb") as fh:
                    self._store.bulk_load(input=fh, format=ox.RdfFormat.N_QUADS, lenient=True)
            else:
                self._store.bulk_load(path=str(file), format=ox.RdfFormat.N_QUADS, lenient=True)
        except (SyntaxError, OSError, EOFError) as exc:
            raise MirrorError(f"the dump cannot be loaded: {exc}") from exc
        self._store.flush()
        return len(self._store)

    def apply(self, documents: Iterable[Document]) -> int:
        """Replace what the mirror holds of each entity with its document; how many statements
        the documents hold. Entities the mirror holds nothing of yet (most, in a catch-up) are
        added in one transaction, the others replaced in one update: each entity is written
        whole by one of the two, so a reader never sees one half replaced. (A SPARQL update
        costs twice what a transactional insert does, most of it parsing its text.)"""
        self._unindexed()
        fresh: list[ox.Quad] = []
        removals: list[str] = []
        inserts: list[str] = []
        written = 0
        for doc in documents:
            quads = self._parse(doc)
            written += len(quads)
            # The writer and authority graphs it carries, whole: what the mirror holds of them goes
            # first, even if another entity had them until now (a merge moves them to the survivor,
            # an authority record loaded again may describe another work).
            carried = self._carried(doc, quads)
            if not self._holds(doc) and not any(self._store.contains_named_graph(ox.NamedNode(g)) for g in carried):
                fresh.extend(quads)
                continue
            if doc.graph is not None:
                removals.append(f"DROP SILENT GRAPH <{doc.graph}>")
            else:
                removals += [f"DROP SILENT GRAPH <{g}>" for g in sorted({*self._linked(doc.iri), *carried})]
                removals.append(f"DELETE WHERE {{ <{doc.iri}> ?p ?o }}")
            by_graph: dict[str | None, list[str]] = {}
            for q in quads:
                g = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else None
                by_graph.setdefault(g, []).append(f"{q.subject} {q.predicate} {q.object} .")
            for g, lines in by_graph.items():
                body = " ".join(lines)
                inserts.append(f"GRAPH <{g}> {{ {body} }}" if g is not None else body)
        try:
            if removals:
                text = " ;\n".join(removals)
                if inserts:
                    text += " ;\nINSERT DATA {\n" + "\n".join(inserts) + "\n}"
                self._store.update(text)
            if fresh:
                self._store.extend(fresh)
        except (SyntaxError, OSError) as exc:
            raise MirrorError(f"cannot write to the mirror at {self.path}: {exc}") from exc
        return written

    @staticmethod
    def _carried(doc: Document, quads: list[ox.Quad]) -> list[str]:
        """The named graphs an entity's document carries besides its default-graph statements:
        the writer graphs its core links, and the graphs that describe it (authority records)."""
        if doc.graph is not None:
            return []
        core = ox.NamedNode(doc.iri)
        return sorted({*linked_graphs(q for q in quads if q.subject == core), *described_by(quads, doc.iri)})

    def _holds(self, doc: Document) -> bool:
        """Whether the mirror holds anything of this document's entity."""
        if doc.graph is not None:
            return self._store.contains_named_graph(ox.NamedNode(doc.graph))
        for _ in self._store.quads_for_pattern(ox.NamedNode(doc.iri), None, None, ox.DefaultGraph()):
            return True
        return False

    def _linked(self, iri: str) -> list[str]:
        """The writer graphs the mirror's copy of an entity's core links, less any that another core
        links too: that one was written later and carries the graph (a merge's survivor, written
        before the merged entity in a run whose documents are newer than its activities)."""
        node, stated = ox.NamedNode(iri), ox.NamedNode(MB_STATED_IN)
        linked = [g for g in linked_graphs(self._store.quads_for_pattern(node, stated, None, ox.DefaultGraph()))
                  if all(q.subject == node for q in self._store.quads_for_pattern(None, stated, ox.NamedNode(g),
                                                                                  ox.DefaultGraph()))]
        # A graph describes one entity: one the mirror's copy has describe this one goes with it.
        return linked + described_by(self._store.quads_for_pattern(None, ox.NamedNode(MB_DESCRIBES), node, None), iri)

    @staticmethod
    def _parse(doc: Document) -> list[ox.Quad]:
        if not doc.nquads:
            return []
        try:
            quads = list(ox.parse(doc.nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS))
        except SyntaxError as exc:
            raise MirrorError(f"the document of {doc.iri} is not N-Quads: {exc}") from exc
        if doc.graph is not None and doc.nquads.count(f" <{doc.graph}> .\n") == doc.nquads.count("\n") == len(quads):
            return quads  # a line a statement, each ending in its graph: checked in C, not per statement
        core = ox.NamedNode(doc.iri)
        if doc.graph is not None:
            wanted = {ox.NamedNode(doc.graph)}
        else:  # the core, the writer graphs the core itself links, the graphs that describe it
            wanted = {ox.DefaultGraph(), *(ox.NamedNode(g) for g in MirrorStore._carried(doc, quads))}
        for q in quads:
            if q.graph_name not in wanted:  # a document speaks of its own graphs only
                raise MirrorError(f"the document of {doc.iri} holds a statement outside its graphs: {q}")
            # (what the mirror removes of a core is its entity's statements: any other would stay)
            if doc.graph is None and q.subject != core and isinstance(q.graph_name, ox.DefaultGraph):
                raise MirrorError(f"the document of {doc.iri} holds a statement about another entity in the "
                                  f"default graph: {q}")
        return quads

    # the name index ------------------------------------------------------------------------------

    def index_names(self, documents: Iterable[Document] | None = None) -> int:
        """Keep the name index: made again whole (``documents`` None: after a dump is loaded), or
        the names of these documents' entities made again from what the mirror now holds of them
        (after they are written: an entity's names come from its document alone). How many
        names written."""
        if self._catalogue is None:
            self._catalogue = Catalogue(self.path)
        if documents is None:
            return names.rebuild(_Held(self._store, self._base()), self._catalogue)
        # Only agents, works and concepts have names (an expression, an item never); a work's or a
        # concept's only from an authority record, so one whose document has none has none now.
        wanted = {d.iri: d for d in documents if d.graph is None and d.iri.rsplit("/", 2)[-2] in _NAMED}
        rows = [r for iri, d in wanted.items() for r in self._names_of(iri, d.nquads)]
        with self._catalogue.transaction() as conn:
            names.create(conn)
            for iri in wanted:
                names._delete(conn, iri, None)
            for entity, kind, name, preferred, core in rows:
                names._insert(conn, entity, kind, name, preferred, core)
        return len(rows)

    def _names_of(self, iri: str, text: str) -> list[tuple[str, str, str, bool, bool]]:
        """An entity's rows of the name index, as :func:`.names.rebuild` makes them: its core's
        preferred name (an agent not merged into another), and its authority records' names.
        ``text``: its document, which says whether there is any of that to look up."""
        node = ox.NamedNode(iri)
        held = _Held(self._store, iri.rsplit("/", 2)[0])
        rows: list[tuple[str, str, str, bool, bool]] = []
        kind = None
        if iri.rsplit("/", 2)[-2] == "agent":  # (a work's or a concept's core gives it no name here)
            kind = next((names.KINDS[q.object.value] for q in self._store.quads_for_pattern(
                node, ox.NamedNode(T.RDF_TYPE), None, ox.DefaultGraph()) if q.object.value in names.KINDS), None)
        authority = f"<{held.base}/authority/"
        if kind is not None and (DCT_IS_REPLACED_BY not in text or not any(
                not str(r.graph_name).startswith(authority)
                for r in self._store.quads_for_pattern(node, ox.NamedNode(DCT_IS_REPLACED_BY), None, None))):
            for p in names.PREFERRED[kind]:
                found = names._literals(held, node, p, ox.DefaultGraph())
                if found:
                    rows.append((iri, kind, found[0], True, True))
                    break
        if T.MB_AUTHORITY_ID not in text:
            return rows
        for q in self._store.quads_for_pattern(node, ox.NamedNode(T.MB_AUTHORITY_ID), None, None):
            if isinstance(q.graph_name, ox.NamedNode):
                rows += [(*r, False) for r in names.authority_rows(held, iri, q.graph_name.value)]
        return rows

    def _base(self) -> str:
        """The base the mirrored well's IRIs are under, read off a record graph (any will do)."""
        for q in self._store.quads_for_pattern(None, ox.NamedNode(MB_DESCRIBES), None, None):
            if isinstance(q.graph_name, ox.NamedNode) and isinstance(q.object, ox.NamedNode):
                return q.object.value.rsplit("/", 2)[0]
        return ""

    def flush(self) -> None:
        self._store.flush()

    def close(self) -> None:
        try:
            self._store.flush()
        finally:
            del self._store
            if self._catalogue is not None:
                self._catalogue.close()
                self._catalogue = None


_NAMED = frozenset(("agent", "work", "concept"))  # the kinds of IRI the name index can hold


@dataclass(frozen=True)
class _Held:
    """The mirror's store as :mod:`.names` reads a store: its quads and its base."""

    _store: ox.Store
    base: str


def comparable(source: "str | os.PathLike | ox.Store | MirrorStore", base: str | None = None) -> set[str]:
    """The statements a mirror of ``source`` must hold, as N-Quads lines: every quad of it less
    the change log (``{base}/graph/changes``), the pending list (``{base}/graph/pending``), the
    store's statements about itself (graph ``mb:store``) and the ISNI review list (the flow's
    bookkeeping, which dumps leave out and no activity announces). ``source`` is a store's directory
    (opened read-only), an open pyoxigraph store or a mirror; ``base`` defaults to the base the
    store records (a mirror records none, and holds none of these graphs)."""
    if isinstance(source, MirrorStore):
        store = source._store
    elif isinstance(source, (ox.Store, RemoteStore)):
        store = source
    elif remote_home.is_remote_home(source):
        store = remote_home.open_home(Path(source), read_only=True)
    else:
        store = ox.Store.read_only(str(source))
    if base is None:
        g = ox.NamedNode(STORE_GRAPH)
        base = next((q.object.value for q in store.quads_for_pattern(g, ox.NamedNode(MB_BASE_IRI), None, g)), None)
    left_out = {ox.NamedNode(STORE_GRAPH)}
    if base is not None:
        left_out |= {ox.NamedNode(changes_graph(base)), ox.NamedNode(pending_graph(base)),
                     ox.NamedNode(review_graph(base))}
    return {str(q) for q in store if q.graph_name not in left_out}


# the state file and the dump's header ----------------------------------------------------------

@dataclass
class State:
    """What a mirror remembers between runs. ``position`` None: it wants a dump before
    following the feed (a new mirror, or one whose dump load was cut short)."""

    source: str
    position: int | None = None
    sequence: int | None = None  # the change-log sequence of the last activity applied
    dump: dict | None = None  # the header of the dump the mirror was last loaded from
    saved: str = ""
    extra: dict = field(default_factory=dict)

    @staticmethod
    def read(directory: Path) -> "State | None":
        path = directory / STATE_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return State(source=data["source"], position=data.get("position"), sequence=data.get("sequence"),
                         dump=data.get("dump"), saved=data.get("saved", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise MirrorError(f"the mirror's state file {path} cannot be read ({exc}): remove the directory to "
                              "start the mirror again") from exc

    def save(self, directory: Path) -> None:
        """Atomically: a crash leaves the old state or the new one, never half of one."""
        self.saved = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        fd, tmp = tempfile.mkstemp(prefix=".mirror-", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, directory / STATE_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def dump_header(path: Path) -> dict:
    """The first line of an N-Quads dump: where in the feed it was taken."""
    with open(path, "rb") as raw:
        packed = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if packed else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline(1 << 20).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise MirrorError(f"the dump cannot be read: {exc}") from exc
    if not first.startswith(DUMP_HEADER):
        raise MirrorError("the dump does not say where in the feed it was taken (its first line is not "
                          f"'{DUMP_HEADER.strip()} {{...}}')")
    try:
        header = json.loads(first[len(DUMP_HEADER):])
        int(header["position"] if header.get("position") is not None else header["sequence"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MirrorError(f"the dump's header cannot be read: {first[:200]!r}") from exc
    return header
