"""Settings: command-line flags win over environment variables, which win over defaults.

| setting   | flag          | environment variable        | default                         |
|-----------|---------------|-----------------------------|---------------------------------|
| store     | ``--store``   | ``METADATABRONN_STORE``     | ``./var/store``                 |
| store home | (``--store sparql+http://…``) | ``METADATABRONN_REMOTE_HOME`` | ``./var/remote/HOST-PORT-PATH``: a server store's local files |
| base IRI  | ``--base-iri``| ``METADATABRONN_BASE_IRI``  | the store's own; a new store: ``http://localhost:8000`` |
| workers   | ``--workers`` | ``METADATABRONN_WORKERS``   | number of CPUs, at most 2       |
| batch     | ``--batch-records`` | ``METADATABRONN_BATCH_RECORDS`` | 2,000 records a bulk load (ingest) |
| log level | ``--log-level``| ``METADATABRONN_LOG_LEVEL``| ``WARNING``                     |
| profile   | ``--profile`` | ``METADATABRONN_PROFILE``   | ``base``                        |
| timeout   | ``--timeout`` | ``METADATABRONN_QUERY_TIMEOUT`` | 30 s (serve: SPARQL queries) |
| result    | ``--max-result-bytes`` | ``METADATABRONN_MAX_RESULT_BYTES`` | 50 MB (serve)       |
| refresh   | ``--refresh`` | ``METADATABRONN_REFRESH``   | 5 s (serve; 0 never)            |
| queue     | ``--query-wait`` | ``METADATABRONN_QUERY_WAIT`` | 1 s a query waits for a worker (serve) |
| nice      | ``--query-nice`` | ``METADATABRONN_QUERY_NICE`` | 5 lower priority of query workers (serve) |
| writer nice | ``--writer-nice`` | ``METADATABRONN_WRITER_NICE`` | 5 lower priority of the writer process (serve) |
| unpacked  |               | ``METADATABRONN_MAX_UNPACKED`` | 64 GiB a compressed input    |
| ratio     |               | ``METADATABRONN_MAX_RATIO`` | 200 × packed size, past 100 MiB |
| retries   | ``--retries`` | ``METADATABRONN_MIRROR_RETRIES`` | 6 (mirror: network errors and 5xx) |
| backoff   | ``--backoff`` | ``METADATABRONN_MIRROR_BACKOFF`` | 1 s, doubled each retry, at most 60 s (mirror) |
| HTTP time | ``--http-timeout`` | ``METADATABRONN_MIRROR_TIMEOUT`` | 60 s a request may stall (mirror) |
| feed page |               | ``METADATABRONN_FEED_PAGE_SIZE`` | 100 activities a page of the change feed (serve) |
| min cell  | ``--stats-min-cell`` | ``METADATABRONN_STATS_MIN_CELL`` | 5: smaller loan counts suppressed in public statistics (serve) |
| publishers | ``--publishers`` | ``METADATABRONN_PUBLISHERS`` | ``STORE/publishers.json``: registrant prefixes per publisher (serve) |
| loans body |              | ``METADATABRONN_MAX_LOANS_BYTES`` | 2,000,000,000 bytes a loan delivery (serve) |
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from .errors import ConfigError

DEFAULT_STORE = "var/store"
DEFAULT_BASE_IRI = "http://localhost:8000"


def store_path(flag: str | None) -> Path:
    """The store's directory; a store on a SPARQL server (``sparql+http://…``) is given as its
    local home directory (see :mod:`metadatabronn.store.remote_home`)."""
    from .store.remote_home import resolve

    return resolve(flag or os.environ.get("METADATABRONN_STORE") or DEFAULT_STORE)


def base_iri(flag: str | None) -> str:
    value = (flag or os.environ.get("METADATABRONN_BASE_IRI") or DEFAULT_BASE_IRI).rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ConfigError(f"base IRI must be an http(s) IRI without query or fragment, got {value!r}")
    return value


def workers(flag: int | None) -> int:
    raw = flag if flag is not None else os.environ.get("METADATABRONN_WORKERS")
    if raw is None:
        return max(1, min(2, os.cpu_count() or 1))
    try:
        n = int(raw)
    except ValueError as exc:
        raise ConfigError(f"workers must be a whole number, got {raw!r}") from exc
    if n < 1:
        raise ConfigError(f"workers must be at least 1, got {n}")
    return n


# Records a bulk load writes at once. Larger batches leave RocksDB fewer files to merge while a
# load runs, at the cost of memory: on the LC 20k, 2,000 gave a peak of about 500 MB and 35 CPU-s,
# 5,000 about 860 MB and 31 CPU-s (the README's ingest figures).
DEFAULT_BATCH_RECORDS = 2000


def batch_records(flag: int | None) -> int:
    return whole_number(flag, "BATCH_RECORDS", DEFAULT_BATCH_RECORDS, "batch records", minimum=1)


DEFAULT_PROFILE = "base"


def profile(flag: str | None) -> str:
    """The application profile name; "none" (ingest only) switches the gate off."""
    from .validate.profile import PROFILES

    name = flag or os.environ.get("METADATABRONN_PROFILE") or DEFAULT_PROFILE
    if name != "none" and name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}")
    return name


def keep_alive() -> int:
    """Seconds ``serve`` keeps an idle HTTP/1.1 connection open (uvicorn's own default is 5: a
    harvester or a library system pausing between pages would reconnect for each)."""
    return whole_number(None, "KEEP_ALIVE", 30, "the time an idle HTTP connection is kept open", minimum=1)


def log_level(flag: str | None) -> str:
    level = (flag or os.environ.get("METADATABRONN_LOG_LEVEL") or "WARNING").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log level must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return level


def number(flag: float | None, env: str, default: float, what: str, minimum: float = 0) -> float:
    """A positive number setting (seconds, bytes) from a flag or ``METADATABRONN_{env}``."""
    raw = flag if flag is not None else os.environ.get(f"METADATABRONN_{env}")
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{what} must be a number, got {raw!r}") from exc
    if value <= minimum:
        raise ConfigError(f"{what} must be more than {minimum:g}, got {value:g}")
    return value


def whole_number(flag: int | None, env: str, default: int, what: str, minimum: int = 0,
                 environ=os.environ) -> int:
    """A whole-number setting of at least ``minimum`` from a flag or ``METADATABRONN_{env}``."""
    raw = flag if flag is not None else environ.get(f"METADATABRONN_{env}")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{what} (METADATABRONN_{env}) must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{what} (METADATABRONN_{env}) must be at least {minimum}, got {value}")
    return value


DEFAULT_QUERY_TIMEOUT = 30.0  # seconds
DEFAULT_MAX_RESULT_BYTES = 50_000_000
DEFAULT_QUERY_WORKERS = 2
DEFAULT_QUERY_WAIT = 1.0  # seconds a SPARQL request waits for a free query worker before a 503
DEFAULT_QUERY_NICE = 5  # how much lower the query workers' CPU priority is than the server's
DEFAULT_WRITER_NICE = 5  # how much lower the writer process's CPU priority is than the server's
DEFAULT_REFRESH = 5.0  # seconds a changed store must stay quiet before serve shows it; 0: never


# Compressed input (gzip, bzip2, xz) is unpacked as a stream; past either limit the rest of
# the file is refused as a likely decompression bomb (the records before it are kept).
DEFAULT_MAX_UNPACKED = 64 << 30  # bytes unpacked from one file: METADATABRONN_MAX_UNPACKED
DEFAULT_MAX_RATIO = 200.0  # unpacked / packed, once past 100 MiB: METADATABRONN_MAX_RATIO


def max_unpacked() -> int:
    """Bytes one compressed input may unpack to (``METADATABRONN_MAX_UNPACKED``, 64 GiB)."""
    return int(number(None, "MAX_UNPACKED", DEFAULT_MAX_UNPACKED, "the unpacked size limit"))


def max_ratio() -> float:
    """How many times its packed size a compressed input may unpack to, once past 100 MiB
    (``METADATABRONN_MAX_RATIO``, 200; MARC compresses 5 to 20 times)."""
    return number(None, "MAX_RATIO", DEFAULT_MAX_RATIO, "the unpacking ratio limit", minimum=1)


def explicit_base_iri(flag: str | None) -> str | None:
    """The base IRI given by ``--base-iri`` or ``METADATABRONN_BASE_IRI``, checked; None when
    neither gives one (a store then works under the base it records)."""
    if not (flag or os.environ.get("METADATABRONN_BASE_IRI")):
        return None
    return base_iri(flag)


# The mirror client: a network error or a 5xx answer is retried, after ``backoff`` seconds, then
# twice that, and so on (at most ``MIRROR_MAX_BACKOFF``, or what a Retry-After header asks).
DEFAULT_MIRROR_RETRIES = 6
DEFAULT_MIRROR_BACKOFF = 1.0  # seconds before the first retry
DEFAULT_MIRROR_TIMEOUT = 60.0  # seconds a request may wait for the source (connect, read, write)
MIRROR_MAX_BACKOFF = 60.0


def mirror_retries(flag: int | None) -> int:
    """Retries of one request (``--retries``, ``METADATABRONN_MIRROR_RETRIES``, default 6; 0: none)."""
    value = number(flag, "MIRROR_RETRIES", DEFAULT_MIRROR_RETRIES, "retries", minimum=float("-inf"))
    if value < 0 or value != int(value):
        raise ConfigError(f"retries must be a whole number, 0 or more, got {value:g}")
    return int(value)


def mirror_backoff(flag: float | None) -> float:
    """Seconds before the first retry, doubled for each next one (``--backoff``,
    ``METADATABRONN_MIRROR_BACKOFF``, default 1)."""
    value = number(flag, "MIRROR_BACKOFF", DEFAULT_MIRROR_BACKOFF, "backoff", minimum=float("-inf"))
    if value < 0:
        raise ConfigError(f"backoff must be 0 or more seconds, got {value:g}")
    return value


def mirror_timeout(flag: float | None) -> float:
    """Seconds a request may wait for the source (``--http-timeout``, ``METADATABRONN_MIRROR_TIMEOUT``,
    default 60)."""
    return number(flag, "MIRROR_TIMEOUT", DEFAULT_MIRROR_TIMEOUT, "the HTTP timeout")
