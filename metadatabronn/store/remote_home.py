"""Where a store on a SPARQL server keeps what is not quads, and how its name is resolved.

A store on a server is named ``sparql+http://HOST:PORT/PATH`` (or ``sparql+https://``). Its
quads are on the server; its catalogue, search and name indexes, loan figures, rejects and keys
stay in a local home directory, which holds ``remote.json`` naming the endpoint. That directory
is ``METADATABRONN_REMOTE_HOME`` when set, else ``var/remote/HOST-PORT-PATH`` (below the working
directory, as the default store ``var/store`` is). A home that names another endpoint is refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigError, StoreError
from . import remote_pool

log = logging.getLogger(__name__)

FILE = "remote.json"
DEFAULT_HOMES = "var/remote"

# Graphs Virtuoso makes for itself: its schemas, its DAV and its endpoint's description.
_SYSTEM_PREFIXES = ("http://www.openlinksw.com/", "http://www.w3.org/2002/07/owl", "http://www.w3.org/ns/ldp",
                    "urn:activitystreams-owl:map", "urn:core:services:sparql", "virtrdf:")
_SERVER_OWN = re.compile(r"^https?://[^/]+/(?:DAV/|sparql)$")


def is_remote_name(value: str | os.PathLike) -> bool:
    return str(value).startswith(("sparql+http://", "sparql+https://"))


def is_remote_home(path: str | os.PathLike) -> bool:
    return (Path(path) / FILE).is_file()


def home_of(url: str) -> Path:
    """The home directory of the store a ``sparql+http(s)://`` name means."""
    given = os.environ.get("METADATABRONN_REMOTE_HOME")
    if given:
        return Path(given)
    parts = urlsplit(url)
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{parts.hostname}-{parts.port or ''}-{parts.path}").strip("-")
    return Path(DEFAULT_HOMES) / slug


def resolve(value: str | os.PathLike) -> Path:
    """A ``--store`` value as a directory: a path as it is; a server's name as its home
    directory, made (with its ``remote.json``) the first time."""
    if not is_remote_name(value):
        return Path(value)
    url = str(value)
    home = home_of(url)
    settings = read(home)
    if settings is None:
        home.mkdir(parents=True, exist_ok=True)
        write(home, url)
    elif settings["endpoint"] != url:
        raise ConfigError(f"the store home {home} belongs to the store at {settings['endpoint']}, not {url}: "
                          "set METADATABRONN_REMOTE_HOME to a directory of its own")
    return home


def read(home: Path) -> dict | None:
    home = Path(home)
    try:
        return json.loads((home / FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {home / FILE}: {exc}") from exc


def write(home: Path, url: str) -> dict:
    """A new home's ``remote.json``: the endpoint, and the server's own graphs as they are now
    (left out of every read of the store)."""
    from .remote import RemoteStore

    probe = RemoteStore(url, read_only=True)
    try:
        settings = {"endpoint": url, "system_graphs": probe.system_graphs}
    finally:
        probe.close()
    (home / FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    log.info("the store home %s now names the store at %s", home, url)
    return settings


def system_graph(graph: str) -> bool:
    return graph.startswith(_SYSTEM_PREFIXES) or _SERVER_OWN.match(graph) is not None


def system_filter(variable: str) -> str:
    """A SPARQL filter expression true of the graphs :func:`system_graph` may hold true of."""
    tests = [f'STRSTARTS(STR({variable}), "{p}")' for p in _SYSTEM_PREFIXES]
    tests.append(f'REGEX(STR({variable}), "^https?://[^/]+/(DAV/|sparql)$")')
    return " || ".join(tests)


def open_home(home: Path, read_only: bool):
    """The :class:`~.remote.RemoteStore` a home directory names."""
    from .remote import RemoteStore

    home = Path(home)
    settings = read(home)
    if settings is None:
        raise StoreError(f"{home} names no store on a SPARQL server (no {FILE})")
    if settings.get("given_up"):
        raise StoreError(f"the store at {home} was given up: its server {settings['endpoint']} now holds "
                         f"the store at {settings['given_up']} (METADATABRONN_TEST_STORE_SERVER's pool)")
    store = RemoteStore(settings["endpoint"], read_only=read_only, system_graphs=settings.get("system_graphs", ()))
    if remote_pool.active():
        remote_pool.opened(home, settings["endpoint"])
        store.on_close = lambda: remote_pool.closed(home, settings["endpoint"])
    return store


_GENERATIONS: dict[str, tuple[float, int]] = {}
GENERATION_TTL = 1.0  # seconds one answer stands for: readers ask between requests


def generation(home: Path) -> int:
    """What :func:`.reading.generation` is for a store on disk: a number that changes whenever
    the store is written. Here the change log's last sequence number and the pending marks (a
    load under way), asked of the server at most once a :data:`GENERATION_TTL`."""
    import time

    from .layout import MB_LAST_SEQUENCE, MB_PENDING

    key = str(home)
    now = time.monotonic()
    held = _GENERATIONS.get(key)
    if held is not None and now - held[0] < GENERATION_TTL:
        return held[1]
    store = open_home(home, read_only=True)
    try:
        rows = store._select(f"SELECT (MAX(?n) AS ?m) (COUNT(?p) AS ?c) WHERE {{ {{ GRAPH ?g {{ ?g <{MB_LAST_SEQUENCE}> ?n }} }} "
                             f"UNION {{ GRAPH ?h {{ ?x <{MB_PENDING}> ?p }} }} }}")
        row = next(iter(rows), None)
        value = 0
        if row is not None:
            last = int(row["m"].value) if row["m"] is not None else 0
            value = last * 1000 + (int(row["c"].value) % 1000) + 1
    except StoreError:
        value = 0  # the server is away: as a store whose files cannot be read
    finally:
        store.close()
    _GENERATIONS[key] = (now, value)
    return value


def adopt_new(path: Path) -> bool:
    """With ``METADATABRONN_TEST_STORE_SERVER`` set (:mod:`.remote_pool`), a directory holding no
    store yet is made a home on a server of the test run (emptied first); whether it was."""
    path = Path(path)
    if not remote_pool.active() or (path / FILE).exists() or (path / "CURRENT").exists():
        return False
    from .remote import RemoteStore

    url, given_up = remote_pool.choose(path)
    if given_up is not None and (given_up / FILE).exists():
        (given_up / FILE).write_text(json.dumps({"endpoint": url, "given_up": str(path)}) + "\n", encoding="utf-8")
    server = RemoteStore(url)
    server.clear()
    server.close()
    path.mkdir(parents=True, exist_ok=True)
    write(path, url)
    return True
