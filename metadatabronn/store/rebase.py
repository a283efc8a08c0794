"""Giving a store a new base IRI, deliberately: every IRI minted under the old base is rewritten.

The store is copied, rewritten, into a new directory beside it, and only a complete copy takes
its place: a rebase cut short leaves the store as it was. Entity, record graph, change-log and
graph IRIs under the old base move to the new one; IRIs of others (vocabularies, authority URIs)
and every literal stay as they are. Change-log times are kept, so OAI-PMH datestamps do not move,
but OAI-PMH identifiers (``oai:{host}:{id}``) follow the new base's host. The catalogue index
is built again from the rewritten change log.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ..errors import StoreError
from .core import Store, store_failure
from .layout import MB_BASE_IRI, STORE_GRAPH

log = logging.getLogger(__name__)


@dataclass
class Rebased:
    old: str
    new: str
    quads: int
    rewritten: int
    seconds: float


def rebase(path: str | os.PathLike, new_base: str) -> Rebased:
    """Rewrite the store at ``path`` from its base IRI to ``new_base``."""
    path = Path(path)
    started = time.perf_counter()
    store = Store(path)  # its own base; a load cut short is rolled back first
    old = store.base
    new_base = new_base.rstrip("/")
    if new_base == old:
        store.close()
        return Rebased(old, new_base, 0, 0, 0.0)
    rolled = store.roll_back()
    if rolled:
        log.warning("rolled back an interrupted load (%d graphs and change entries) before rebasing", rolled)
    prefix = old + "/"
    counts = [0, 0]

    def term(t):
        if isinstance(t, ox.NamedNode) and (t.value == old or t.value.startswith(prefix)):
            counts[1] += 1
            return ox.NamedNode(new_base + t.value[len(old):])
        return t

    def rewritten():
        for q in store._store:
            counts[0] += 1
            if q.predicate.value == MB_BASE_IRI:
                continue
            g = q.graph_name
            yield ox.Quad(term(q.subject), q.predicate, term(q.object),
                          g if isinstance(g, ox.DefaultGraph) else term(g))

    work = path.with_name(path.name + ".rebasing")
    shutil.rmtree(work, ignore_errors=True)
    try:
        target = ox.Store(str(work))
        target.bulk_extend(rewritten())
        target.add(ox.Quad(ox.NamedNode(STORE_GRAPH), ox.NamedNode(MB_BASE_IRI), ox.Literal(new_base),
                           ox.NamedNode(STORE_GRAPH)))
        target.flush()
        del target
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise store_failure("the rebase could not write its copy (the store is unchanged)", exc) from exc
    finally:
        store.close()
    before = path.with_name(path.name + ".before-rebase")
    shutil.rmtree(before, ignore_errors=True)
    try:
        os.replace(path, before)
        os.replace(work, path)
    except OSError as exc:
        raise StoreError(f"the rebased copy is in {work} but could not take the store's place: {exc}") from exc
    shutil.rmtree(before, ignore_errors=True)
    # The catalogue index names IRIs under the old base: the copy had none, so it is built now.
    Store(path, new_base).close()
    return Rebased(old, new_base, counts[0], counts[1], time.perf_counter() - started)
