"""API keys for machine clients that cannot do OpenID Connect.

A key reads ``mbk_<id>_<secret>``. The keys file (JSON) keeps, per key, its id, name,
organisation, scopes, creation time and, once revoked, the time of revocation; of the secret only
its SHA-256 digest. The file is replaced whole (a temporary file renamed over it, mode 0600), so a
server reading it never sees half a file, and a server notices a new file by its identity
(inode, size, modification time) at the next request: revoking needs no restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError, UsageError

log = logging.getLogger(__name__)

PREFIX = "mbk_"
KEYS_FILE = "api-keys.json"  # in the store's directory unless METADATABRONN_API_KEYS names another
SCOPES = ("read", "write:work", "write:agent", "write:concept", "ingest", "merge", "stats:deliver", "admin")


def default_keys_file(store: Path, environ=os.environ, flag: str | None = None) -> Path:
    """The keys file: ``flag`` (--keys-file), else ``METADATABRONN_API_KEYS``, else STORE/api-keys.json."""
    given = flag or environ.get("METADATABRONN_API_KEYS")
    return Path(given) if given else Path(store) / KEYS_FILE


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    org: str
    scopes: tuple[str, ...]
    created: str
    digest: str  # SHA-256 of the secret, hex
    revoked: str | None = None

    def public(self) -> dict:
        """What may be shown: everything but the digest."""
        return {"id": self.id, "name": self.name, "org": self.org, "scopes": list(self.scopes),
                "created": self.created, "revoked": self.revoked}


class RefusedKey(Exception):
    """A presented key that does not authenticate; ``reason`` is safe to show (no secret)."""

    def __init__(self, reason: str, key_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.key_id = key_id


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def split_key(presented: str) -> tuple[str, str]:
    """``mbk_<id>_<secret>`` → (id, secret); the secret may itself hold underscores."""
    if not presented.startswith(PREFIX):
        raise RefusedKey("not an API key of this server (they begin mbk_)")
    key_id, sep, secret = presented[len(PREFIX):].partition("_")
    if not sep or not key_id or not secret:
        raise RefusedKey("a malformed API key (mbk_<id>_<secret>)")
    return key_id, secret


def read_keys(path: Path) -> list[ApiKey]:
    """The keys in ``path``; none when it does not exist."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read the API keys file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        return [ApiKey(id=k["id"], name=k["name"], org=k["org"], scopes=tuple(k["scopes"]), created=k["created"],
                       digest=k["sha256"], revoked=k.get("revoked")) for k in data["keys"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the API keys file {path} is not one this program wrote ({exc!r})") from None


def _write_keys(path: Path, keys: list[ApiKey]) -> None:
    data = {"version": 1, "keys": [{**k.public(), "sha256": k.digest} for k in keys]}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # the digests are not secrets, but whom they name need not be public
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(path: Path):
    """Two ``keys`` commands at once must not lose one's change: read-modify-write under a lock
    on a file beside the keys file (the keys file itself is replaced, so it cannot hold one)."""
    if not path.parent.is_dir():
        raise UsageError(f"cannot keep API keys in {path}: the directory {path.parent} does not exist", usage=False)
    with os.fdopen(os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _check_scopes(scopes: list[str]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise UsageError(f"unknown scope {', '.join(unknown)}; the scopes are {', '.join(SCOPES)}", usage=False)
    if not scopes:
        raise UsageError(f"give at least one --scope ({', '.join(SCOPES)})", usage=False)
    return tuple(dict.fromkeys(scopes))


def add_key(path: Path, name: str, org: str, scopes: list[str]) -> tuple[str, ApiKey]:
    """Make a key: (the key to hand over, shown this once; what the file keeps of it)."""
    if not name.strip() or not org.strip():
        raise UsageError("a key needs a name and an organisation", usage=False)
    wanted = _check_scopes(scopes)
    with _locked(path):
        keys = read_keys(path)
        if any(k.name == name and k.revoked is None for k in keys):
            raise UsageError(f"a key named {name!r} exists; revoke it first or choose another name", usage=False)
        taken = {k.id for k in keys}
        key_id = secrets.token_hex(6)
        while key_id in taken:
            key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(id=key_id, name=name, org=org, scopes=wanted, created=_now(), digest=_digest(secret))
        _write_keys(path, [*keys, key])
    log.info("API key %s (%s, %s) added to %s", name, key_id, org, path)
    return f"{PREFIX}{key_id}_{secret}", key


def revoke_key(path: Path, name: str) -> list[ApiKey]:
    """Revoke every live key named ``name`` (or whose id is ``name``); the ones revoked."""
    with _locked(path):
        keys = read_keys(path)
        hit = [k for k in keys if (k.name == name or k.id == name) and k.revoked is None]
        if not hit:
            raise UsageError(f"no live API key named {name!r} in {path}", usage=False)
        when = _now()
        ids = {k.id for k in hit}
        updated = [ApiKey(**{**k.__dict__, "revoked": when}) if k.id in ids else k for k in keys]
        _write_keys(path, updated)
    log.info("API key %s revoked in %s", name, path)
    return [k for k in updated if k.id in ids]


class KeyRing:
    """The keys file as a server sees it: read again whenever the file on disk changes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._seen: tuple | None = None
        self._keys: dict[str, ApiKey] = {}
        self._lock = threading.Lock()

    def _current(self) -> dict[str, ApiKey]:
        try:
            st = os.stat(self.path)
            seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            seen = None
        with self._lock:
            if seen != self._seen:
                try:
                    self._keys = {k.id: k for k in read_keys(self.path)}
                except ConfigError:
                    # A damaged file must not let in keys revoked since: none is accepted.
                    log.exception("API keys file unusable: no API key is accepted until it is repaired")
                    self._keys = {}
                self._seen = seen
            return self._keys

    def live(self) -> int:
        """How many keys are not revoked."""
        return sum(1 for k in self._current().values() if k.revoked is None)

    def verify(self, presented: str) -> ApiKey:
        """The key ``presented`` is, or :class:`RefusedKey` saying why not (without the secret)."""
        key_id, secret = split_key(presented)
        key = self._current().get(key_id)
        if key is None:
            raise RefusedKey("an unknown API key", key_id)
        if not hmac.compare_digest(key.digest, _digest(secret)):
            raise RefusedKey("an unknown API key", key_id)
        if key.revoked is not None:
            raise RefusedKey(f"this API key was revoked at {key.revoked}", key_id)
        return key
