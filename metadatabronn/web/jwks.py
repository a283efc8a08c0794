"""The OpenID Connect issuer's signing keys, as :mod:`.auth` checks tokens against them: read
from the issuer's discovery document and JWKS, kept a while, fetched again when a token names a
key the issuer has since rotated in. A fetch is network I/O: whoever may cause one runs off the
event loop (:func:`.auth.authorised`)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from joserfc import jwk
from joserfc.errors import JoseError

from .problems import Problem

if TYPE_CHECKING:
    from .auth import AuthSettings

log = logging.getLogger(__name__)

# Signature algorithms by key type; never "none" or HS*: a public key must not serve as an HMAC secret.
ALGORITHMS = {"RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
              "EC": {"ES256", "ES384", "ES512", "ES256K"}, "OKP": {"EdDSA", "Ed25519", "Ed448"}}
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "ES256K": "secp256k1"}


def unavailable(detail: str) -> Problem:
    return Problem(503, detail, title="Service unavailable", headers={"Retry-After": "30"})


@dataclass
class KeyCache:
    """The issuer's signing keys: read from its discovery document and JWKS, kept for
    ``jwks_max_age`` seconds, fetched again (at most once per ``jwks_refresh`` seconds) when a
    token names a key not among them."""

    settings: AuthSettings
    monotonic: object
    keys: list | None = None  # [(raw JWK dict, joserfc key)]
    issuer: str | None = None  # as the discovery document spells it: the value tokens carry
    fetched_at: float = float("-inf")
    tried_at: float = float("-inf")
    failure: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> list:
        with self.lock:
            if self.keys is None or self.monotonic() - self.fetched_at > self.settings.jwks_max_age:
                self._fetch(stale_ok=self.keys is not None)
            return self.keys

    def refresh(self) -> bool:
        """Fetch again if the last attempt is old enough; whether it did."""
        with self.lock:
            if self.monotonic() - self.tried_at < self.settings.jwks_refresh:
                return False
            self._fetch(stale_ok=False)
            return True

    def _fetch(self, stale_ok: bool) -> None:
        import httpx

        now = self.monotonic()
        if self.failure and now - self.tried_at < self.settings.jwks_refresh and not stale_ok:
            raise unavailable(self.failure)  # do not hammer a provider that is down
        self.tried_at = now
        base = self.settings.issuer.rstrip("/")
        where = f"{base}/.well-known/openid-configuration"
        try:
            with httpx.Client(timeout=self.settings.http_timeout, follow_redirects=True) as client:
                discovery = client.get(where)
                discovery.raise_for_status()
                meta = discovery.json()
                issuer, where = meta.get("issuer"), meta.get("jwks_uri")
                if not isinstance(issuer, str) or issuer.rstrip("/") != base:
                    raise ValueError(f"its discovery document names the issuer {issuer!r}")
                if not isinstance(where, str):
                    raise ValueError("its discovery document gives no jwks_uri")
                answer = client.get(where)
                answer.raise_for_status()
                keys = []
                for raw in answer.json()["keys"]:
                    if raw.get("use", "sig") != "sig" or raw.get("kty") not in ALGORITHMS:
                        continue
                    keys.append((raw, jwk.import_key(raw)))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, JoseError) as exc:
            reason = str(exc) or type(exc).__name__
            self.failure = (f"the OpenID Connect provider {base} cannot be reached to check the token "
                            f"({where}: {reason}); try again later")
            if stale_ok:
                log.warning("%s; using its keys fetched before", self.failure)
                return
            log.warning("%s", self.failure)
            raise unavailable(self.failure) from None
        self.keys, self.issuer, self.fetched_at, self.failure = keys, issuer, now, None
        log.info("read %d signing keys of %s", len(keys), base)


def fits(raw: dict, alg: str, kid: str | None) -> bool:
    if kid is not None and raw.get("kid") != kid:
        return False
    if alg not in ALGORITHMS[raw["kty"]] or raw.get("alg", alg) != alg:
        return False
    return alg not in CURVES or raw.get("crv") == CURVES[alg]
