"""Who sees which loan figures (issue 18).

- Anyone: work- and expression-level totals, national, per month; a cell under the small-count
  threshold (``METADATABRONN_STATS_MIN_CELL``, default 5) is suppressed in that public output.
- ISBN level: only the publisher of that edition, named by the credential's organisation. An
  edition is a publisher's when its ISBN's registrant prefix is listed for the organisation in the
  publishers file (``METADATABRONN_PUBLISHERS``, default STORE/publishers.json), or when the
  manifestation's publisher statement folds equal to the organisation's name.
- A library system (scope ``stats:deliver`` or ``ingest``) sees its own deliveries.
- Cataloguers (scope ``write:work``) see the unmatched ISBNs and every system's match report.

The core answers questions without knowing who asks; this module decides what of an answer goes
out.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..mapping.text import normalise
from .auth import REALM, Principal
from .problems import Problem

log = logging.getLogger(__name__)

DEFAULT_MIN_CELL = 5
PUBLISHERS_FILE = "publishers.json"
DELIVER_SCOPES = ("stats:deliver", "ingest")
CATALOGUER_SCOPE = "write:work"


def min_cell(environ=os.environ) -> int:
    """The small-count threshold: cells with 0 < loans < it are suppressed in public output
    (``METADATABRONN_STATS_MIN_CELL``; 1 shows every count)."""
    return config.whole_number(None, "STATS_MIN_CELL", DEFAULT_MIN_CELL, "the small-count threshold", minimum=1,
                               environ=environ)


def publishers_file(store: Path, environ=os.environ) -> Path:
    """``METADATABRONN_PUBLISHERS``, else STORE/publishers.json."""
    given = environ.get("METADATABRONN_PUBLISHERS")
    return Path(given) if given else Path(store) / PUBLISHERS_FILE


def _prefix(text: str) -> str:
    """A registrant prefix as compared: digits only (``978-82-05`` and ``97882 05`` are one)."""
    return "".join(ch for ch in text if ch.isdigit())


class Publishers:
    """The publishers file, read again when it changes on disk (as the API keys file is):
    ``{"Gyldendal": ["978-82-05", "978-82-417"], …}``. Organisation names compare folded (case,
    diacritics, punctuation), so a token's ``gyldendal`` is the file's ``Gyldendal``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._seen: tuple | None = None
        self._prefixes: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def _current(self) -> dict[str, frozenset[str]]:
        try:
            st = os.stat(self.path)
            seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            seen = None
        with self._lock:
            if seen != self._seen:
                self._prefixes = self._read() if seen is not None else {}
                self._seen = seen
            return self._prefixes

    def _read(self) -> dict[str, frozenset[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
                raise ValueError("not an object of lists of registrant prefixes")
            return {normalise(org): frozenset(_prefix(str(p)) for p in prefixes if _prefix(str(p)))
                    for org, prefixes in data.items()}
        except (OSError, ValueError) as exc:
            # A damaged file must not hand one publisher's figures to another: no prefix counts.
            log.error("the publishers file %s is unusable (%s): no registrant prefix is matched until it is "
                      "repaired", self.path, exc)
            return {}

    def prefixes(self, org: str) -> frozenset[str]:
        return self._current().get(normalise(org), frozenset())


@dataclass(frozen=True)
class Edition:
    """What decides whose an ISBN's figures are: its registrant prefix (``978-82-05``) and the
    publisher statements of the manifestations that carry it (none for an ISBN the well does not
    know)."""

    isbn: str
    prefix: str | None
    statements: tuple[str, ...] = ()


def is_publisher(org: str, edition: Edition, publishers: Publishers) -> bool:
    """Whether ``org`` is the publisher of ``edition``."""
    if not org:
        return False
    if edition.prefix and _prefix(edition.prefix) in publishers.prefixes(org):
        return True
    name = normalise(org)
    return bool(name) and any(normalise(s) == name for s in edition.statements if s)


def optional_principal(request) -> Principal | None:
    """Who asks, when a credential is given; None for an anonymous request. A credential given
    and not valid is refused (401), never taken as anonymous."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return principal
    has = request.headers.get("authorization") is not None or request.headers.get("x-api-key") is not None
    if not has:
        return None
    auth = getattr(request.app.state, "auth", None)
    if auth is None:
        raise Problem(401, "this server takes no credentials (no OpenID Connect issuer or API keys are configured)",
                      title="Unauthorized", headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})
    principal = auth.authenticate(request)
    request.state.principal = principal
    return principal


def needs_credential(what: str) -> Problem:
    return Problem(401, f"{what} needs a credential: an OpenID Connect bearer token or an API key",
                   title="Unauthorized", headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})


def can_any(principal: Principal | None, scopes) -> bool:
    return principal is not None and bool(principal.org) and any(principal.can(s) for s in scopes)


def _count(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def suppress(rows: list[dict], threshold: int, fields=("loans",)) -> list[dict]:
    """Rows with each small count (0 < n < threshold) in ``fields`` set to null and the row
    marked ``"suppressed": true``; zero and larger counts are shown."""
    out = []
    for row in rows:
        row = dict(row)
        for name in fields:
            value = row.get(name)
            if _count(value) and 0 < value < threshold:
                row[name] = None
                row["suppressed"] = True
        out.append(row)
    return out


def suppressed_value(value, threshold: int):
    """One count as public output gives it: (value or None, whether suppressed)."""
    if _count(value) and 0 < value < threshold:
        return None, True
    return value, False
