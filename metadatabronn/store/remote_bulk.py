"""Virtuoso's own bulk loader for a large load, where it can be reached.

Set ``METADATABRONN_VIRTUOSO_ISQL=HOST:PORT`` (its ISQL port) and
``METADATABRONN_VIRTUOSO_LOAD_DIR`` (a directory this process writes and the server reads: in
its ``DirsAllowed``); ``METADATABRONN_VIRTUOSO_USER``/``_PASSWORD`` [dba/dba]. A load of at least
``METADATABRONN_VIRTUOSO_BULK_BYTES`` [5,000,000] bytes of N-Quads is then written there as one
file and loaded by ``ld_dir`` and ``rdf_loader_run``; a smaller one, or one without those
settings or without the ``isql-vt`` (or ``isql``) client, goes by HTTP. A log line says which.

The loader is not one transaction either: the batch's pending mark covers it as it covers the
HTTP path (a load cut short is rolled back when the store is next opened for ingest).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pyoxigraph as ox

from ..errors import StoreError
from .remote_text import DEFAULT_NODE, canonical

log = logging.getLogger(__name__)


def _settings() -> tuple[str, str, Path, str] | None:
    isql = os.environ.get("METADATABRONN_VIRTUOSO_ISQL")
    directory = os.environ.get("METADATABRONN_VIRTUOSO_LOAD_DIR")
    client = shutil.which("isql-vt") or shutil.which("isql")
    if not isql or not directory or not client:
        return None
    host, _, port = isql.rpartition(":")
    return client, f"{host or 'localhost'}:{port}", Path(directory), port


def _isql(client: str, address: str, sql: str) -> str:
    user = os.environ.get("METADATABRONN_VIRTUOSO_USER", "dba")
    password = os.environ.get("METADATABRONN_VIRTUOSO_PASSWORD", "dba")
    done = subprocess.run([client, address, user, password, f"exec={sql}"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=float(os.environ.get("METADATABRONN_SPARQL_TIMEOUT", "300")))
    out = done.stdout + done.stderr
    if done.returncode != 0 or "*** Error" in out:
        raise StoreError(f"the Virtuoso bulk loader failed: {out.strip()[-1000:]}")
    return out


def load(store, input, format, *, path=None, to_graph=None) -> bool:
    """Whether the load was done by the server's bulk loader (False: the caller loads by HTTP)."""
    settings = _settings()
    threshold = int(os.environ.get("METADATABRONN_VIRTUOSO_BULK_BYTES", "5000000"))
    size = len(input) if isinstance(input, (bytes, str)) else (os.path.getsize(path) if path else None)
    if settings is None or format != ox.RdfFormat.N_QUADS or size is None or size < threshold:
        if size is not None and size >= threshold:
            log.info("bulk load of %d bytes by HTTP (METADATABRONN_VIRTUOSO_ISQL, METADATABRONN_VIRTUOSO_LOAD_DIR "
                     "or an isql client missing)", size)
        return False
    client, address, directory, _ = settings
    name = f"metadatabronn-{uuid.uuid4().hex}.nq"
    target = directory / name
    quads = ox.parse(input, format, path=path, lenient=True)
    if to_graph is not None:
        quads = (ox.Quad(q.subject, q.predicate, q.object, to_graph) for q in quads)
    # The well's default graph is a named graph on the server: every quad names its graph.
    quads = (ox.Quad(q.subject, q.predicate, q.object, DEFAULT_NODE) if isinstance(q.graph_name, ox.DefaultGraph)
             else q for q in canonical(quads))
    try:
        with open(target, "wb") as fh:
            ox.serialize(quads, fh, ox.RdfFormat.N_QUADS)
        log.info("bulk load of %d bytes by Virtuoso's loader (%s, %s)", size, address, target)
        with store.line.exclusive():  # an update meanwhile would time out waiting on the loader's locks
            _isql(client, address, f"ld_dir('{directory}', '{name}', '{DEFAULT_NODE.value}'); rdf_loader_run(); "
                                   f"checkpoint;")
        found = _isql(client, address, f"SELECT ll_error FROM DB.DBA.load_list WHERE ll_file = '{target}' "
                                       "AND ll_error IS NOT NULL;")
        if "\n0 Rows." not in found:
            raise StoreError(f"the Virtuoso bulk loader refused {target}: {found.strip()[-1000:]}")
    finally:
        try:
            target.unlink()
        except OSError:
            pass
    return True
