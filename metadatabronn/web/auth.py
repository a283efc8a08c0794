"""Who may write: OpenID Connect bearer tokens (JWT, checked against the issuer's published keys)
and API keys (:mod:`.apikeys`), each giving a :class:`Principal` (organisation, user, scopes).

Reading stays anonymous; :func:`require` guards every write. A server with neither an issuer
nor a live API key has no :class:`Authenticator` (``app.state.auth`` is None) and is read-only.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from joserfc import jws, jwt
from joserfc.errors import (BadSignatureError, ClaimError, ExpiredTokenError, InvalidClaimError, JoseError,
                            MissingClaimError)
from starlette.concurrency import run_in_threadpool

from ..errors import ConfigError
from .apikeys import PREFIX as API_KEY_PREFIX, SCOPES, KeyRing, RefusedKey
from .jwks import ALGORITHMS, KeyCache, fits
from .problems import Problem

log = logging.getLogger(__name__)

REALM = "metadatabronn"
READ_ONLY = ("this server is read-only: no OpenID Connect issuer or API keys are configured "
             "(METADATABRONN_OIDC_ISSUER, METADATABRONN_API_KEYS)")
__all__ = ["SCOPES", "AuthSettings", "Authenticator", "Principal", "authenticator", "require"]


@dataclass(frozen=True)
class Principal:
    """Who a request is from. ``org`` is empty when a token names no organisation (then
    :func:`require` refuses it)."""

    org: str
    user: str
    scopes: frozenset[str]
    method: str  # "oidc" or "key"

    def can(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def _number(environ, name: str, default: float, minimum: float = 0) -> float:
    text = environ.get(name)
    if text in (None, ""):
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: a number is wanted") from None
    if value < minimum:
        raise ConfigError(f"{name}={text!r}: must be at least {minimum:g}")
    return value


@dataclass(frozen=True)
class AuthSettings:
    """Every setting of authentication, from flags (keywords of :meth:`from_env`) or the
    environment. An issuer needs an audience: without one, a token the provider made for any
    other application would be taken."""

    issuer: str | None = None  # METADATABRONN_OIDC_ISSUER
    audience: str | None = None  # METADATABRONN_OIDC_AUDIENCE
    leeway: int = 60  # seconds of clock skew allowed on exp, nbf and iat; METADATABRONN_OIDC_LEEWAY
    org_claim: str = "org"  # METADATABRONN_OIDC_ORG_CLAIM; a dotted path reaches into objects
    # METADATABRONN_OIDC_SCOPE_CLAIMS (comma-separated): a string claim is split at spaces, a list taken whole
    scope_claims: tuple[str, ...] = ("scope", "scp", "roles")
    keys_file: Path | None = None  # METADATABRONN_API_KEYS (the caller's default: STORE/api-keys.json)
    jwks_refresh: float = 30.0  # fewest seconds between two key fetches caused by an unknown key
    jwks_max_age: float = 300.0  # keys older than this are fetched again (a key withdrawn stops working)
    http_timeout: float = 5.0  # seconds to wait for the provider; METADATABRONN_OIDC_TIMEOUT

    @classmethod
    def from_env(cls, environ=os.environ, **flags) -> "AuthSettings":
        """Flags given (not None) win over ``METADATABRONN_*`` variables, which win over defaults."""
        unknown = set(flags) - set(cls.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown auth settings: {', '.join(sorted(unknown))}")
        claims = environ.get("METADATABRONN_OIDC_SCOPE_CLAIMS")
        values = {
            "issuer": environ.get("METADATABRONN_OIDC_ISSUER") or None,
            "audience": environ.get("METADATABRONN_OIDC_AUDIENCE") or None,
            "leeway": int(_number(environ, "METADATABRONN_OIDC_LEEWAY", cls.leeway)),
            "org_claim": environ.get("METADATABRONN_OIDC_ORG_CLAIM") or cls.org_claim,
            "scope_claims": tuple(c.strip() for c in claims.split(",") if c.strip()) if claims else cls.scope_claims,
            "keys_file": Path(environ["METADATABRONN_API_KEYS"]) if environ.get("METADATABRONN_API_KEYS") else None,
            "jwks_refresh": _number(environ, "METADATABRONN_OIDC_JWKS_REFRESH", cls.jwks_refresh),
            "jwks_max_age": _number(environ, "METADATABRONN_OIDC_JWKS_MAX_AGE", cls.jwks_max_age),
            "http_timeout": _number(environ, "METADATABRONN_OIDC_TIMEOUT", cls.http_timeout, minimum=0.1),
        }
        values.update({k: v for k, v in flags.items() if v is not None})
        if values["keys_file"] is not None:
            values["keys_file"] = Path(values["keys_file"])
        settings = cls(**values)
        if settings.issuer and not settings.audience:
            raise ConfigError("an OpenID Connect issuer needs an audience (METADATABRONN_OIDC_AUDIENCE): the "
                              "client id or API identifier the provider puts in the tokens meant for this server")
        if settings.issuer and not settings.issuer.startswith(("https://", "http://")):
            raise ConfigError(f"the OpenID Connect issuer must be an http(s) URL, not {settings.issuer!r}")
        return settings

    @property
    def enabled(self) -> bool:
        """Whether anything can write: an issuer, or a keys file with at least one live key."""
        return bool(self.issuer) or (self.keys_file is not None and KeyRing(self.keys_file).live() > 0)


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


def _invalid(detail: str, status: int = 401) -> Problem:
    challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{_quoted(detail)}"'
    return Problem(status, detail, title="Unauthorized", headers={"WWW-Authenticate": challenge})


def _bearer(header: str) -> str | None:
    """The credential of an ``Authorization: Bearer …`` header, or None for any other."""
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


def _claim(claims: dict, path: str):
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Authenticator:
    """Turns a request's credential into a :class:`Principal`. ``now`` (wall time, for token
    expiry) and ``monotonic`` (key-fetch intervals) can be given, for tests."""

    def __init__(self, settings: AuthSettings, *, now=time.time, monotonic=time.monotonic):
        self.settings = settings
        self._now = now
        self.jwks = KeyCache(settings, monotonic) if settings.issuer else None
        self.ring = KeyRing(settings.keys_file) if settings.keys_file is not None else None

    def describe(self) -> str:
        """One line for the server's start: what it accepts."""
        parts = []
        if self.jwks is not None:
            parts.append(f"OpenID Connect tokens from {self.settings.issuer} for {self.settings.audience}")
        if self.ring is not None:
            parts.append(f"{self.ring.live()} API keys from {self.ring.path}")
        return "writes accepted with " + " and ".join(parts)

    def warm(self) -> None:
        """Fetch the issuer's keys now (at start) rather than at the first write; a failure is
        logged, and tried again then."""
        if self.jwks is not None:
            try:
                self.jwks.current()
            except Problem:
                pass

    def authenticate(self, request) -> Principal | None:
        header = request.headers.get("authorization")
        api_key = request.headers.get("x-api-key")
        if header is not None and api_key is not None:
            raise _invalid("give one credential: an Authorization header or an X-API-Key header, not both")
        if api_key is not None:
            return self._key(api_key.strip())
        if header is None:
            return None
        credential = _bearer(header)
        if credential is None:
            raise _invalid("only Bearer credentials are accepted (an OpenID Connect token or an API key)")
        if credential.startswith(API_KEY_PREFIX):
            return self._key(credential)
        return self._token(credential)

    def may_fetch(self, request) -> bool:
        """Whether checking this request's credential may fetch the issuer's keys (network
        I/O): a bearer token that is not an API key. Anything else is checked from memory and
        the keys file's stat."""
        credential = _bearer(request.headers.get("authorization") or "")
        return credential is not None and not credential.startswith(API_KEY_PREFIX)

    def _key(self, presented: str) -> Principal:
        if self.ring is None:
            raise _invalid("this server accepts no API keys")
        try:
            key = self.ring.verify(presented)
        except RefusedKey as exc:
            raise _invalid(exc.reason) from None
        return Principal(org=key.org, user=key.name, scopes=frozenset(key.scopes), method="key")

    def _token(self, token: str) -> Principal:
        if self.jwks is None:
            raise _invalid("this server accepts no OpenID Connect tokens (no issuer configured)")
        claims = self.verify(token)
        s = self.settings
        org = _claim(claims, s.org_claim)
        if isinstance(org, list) and len(org) == 1:
            org = org[0]
        scopes: set[str] = set()
        for name in s.scope_claims:
            value = _claim(claims, name)
            if isinstance(value, str):
                scopes.update(value.split())
            elif isinstance(value, list):
                scopes.update(v for v in value if isinstance(v, str))
        sub = str(claims.get("sub") or "")
        shown = claims.get("preferred_username") or claims.get("email")
        user = f"{sub} ({shown})" if isinstance(shown, str) and shown and shown != sub else sub
        return Principal(org=org if isinstance(org, str) else "", user=user, scopes=frozenset(scopes), method="oidc")

    def verify(self, token: str) -> dict:
        """The claims of a token whose signature, issuer, audience and times hold; else a 401
        problem (503 when the provider cannot be reached)."""
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise _invalid("the bearer token is not a JWT (nor an API key)") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or not any(alg in algs for algs in ALGORITHMS.values()):
            raise _invalid(f"tokens signed with {alg!r} are not accepted")
        keys = self.jwks.current()
        fitting = [k for raw, k in keys if fits(raw, alg, kid)]
        refreshed = False
        if not fitting and self.jwks.refresh():  # a key new at the provider (rotated)
            refreshed = True
            fitting = [k for raw, k in self.jwks.keys if fits(raw, alg, kid)]
        if not fitting:
            raise _invalid("the token is signed by a key the issuer does not publish")
        decoded = self._decode(token, alg, fitting)
        if decoded is None and kid is None and not refreshed and self.jwks.refresh():
            # without a kid a rotated key looks like a bad signature: look at the keys once more
            decoded = self._decode(token, alg, [k for raw, k in self.jwks.keys if fits(raw, alg, kid)])
        if decoded is None:
            raise _invalid("the token's signature does not verify with the issuer's keys")
        audience = self.settings.audience
        registry = jwt.JWTClaimsRegistry(now=lambda: int(self._now()), leeway=self.settings.leeway,
                                         iss={"essential": True, "value": self.jwks.issuer},
                                         aud={"essential": True, "value": audience},
                                         exp={"essential": True}, sub={"essential": True})
        try:
            registry.validate(decoded.claims)
        except ExpiredTokenError:
            raise _invalid("the token has expired") from None
        except MissingClaimError as exc:
            raise _invalid(f"the token has no {exc.claim!r} claim") from None
        except InvalidClaimError as exc:
            raise _invalid(_why(exc.claim, audience)) from None
        except ClaimError as exc:
            raise _invalid(f"the token's {exc.claim!r} claim is not accepted") from None
        return decoded.claims

    @staticmethod
    def _decode(token: str, alg: str, keys: list):
        for key in keys:
            try:
                return jwt.decode(token, key, algorithms=[alg])
            except BadSignatureError:
                continue
            except JoseError as exc:
                raise _invalid(f"the token cannot be read ({exc.error})") from None
        return None


def _why(claim: str, audience: str | None) -> str:
    return {"aud": f"the token is not meant for this server (its audience is not {audience})",
            "iss": "the token was issued by another issuer",
            "nbf": "the token is not valid yet",
            "iat": "the token is issued in the future"}.get(claim, f"the token's {claim!r} claim is not accepted")


def authenticator(settings: AuthSettings) -> Authenticator | None:
    """The app's authenticator, or None for a read-only server."""
    return Authenticator(settings) if settings.enabled else None


def require(request, scope: str) -> Principal:
    """The principal of a write needing ``scope``, kept on ``request.state.principal`` for the
    audit log; else a problem: 405 on a read-only server, 401 without a valid credential, 403
    without the scope or an organisation. Call it from a plain ``def`` endpoint: the first token
    may make it fetch the issuer's keys."""
    auth = getattr(request.app.state, "auth", None)
    if auth is None:
        raise Problem(405, READ_ONLY, headers={"Allow": "GET, HEAD, OPTIONS"})
    principal = getattr(request.state, "principal", None)
    if principal is None:
        try:
            principal = auth.authenticate(request)
        except Problem as exc:
            _note(request, refused=exc.detail)
            raise
        if principal is None:
            raise Problem(401, "this needs a credential: an OpenID Connect bearer token or an API key",
                          title="Unauthorized", headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})
        request.state.principal = principal
    if not principal.org:
        raise Problem(403, f"the token names no organisation: its claim {auth.settings.org_claim!r} is missing; "
                      "every write is attributed to an organisation", title="Forbidden")
    if not principal.can(scope):
        challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
        raise Problem(403, f"this needs the scope {scope!r}; the credential has "
                      f"{', '.join(sorted(principal.scopes)) or 'none'}", title="Forbidden",
                      headers={"WWW-Authenticate": challenge}, scope=scope)
    return principal


async def authorised(request, scope: str) -> Principal:
    """:func:`require` for an ``async`` endpoint: in a worker thread when checking the credential
    may fetch the issuer's keys, else here in the event loop (a hop to a thread costs about
    0.18 ms of CPU, a tenth of a PUT's HTTP side)."""
    auth = getattr(request.app.state, "auth", None)
    if auth is not None and auth.may_fetch(request):
        return await run_in_threadpool(require, request, scope)
    return require(request, scope)


def _note(request, **entries) -> None:
    """Add to what the audit log records of this request."""
    state = request.scope.setdefault("state", {})
    audit = state.get("audit")
    if not isinstance(audit, dict):
        audit = state["audit"] = {}
    audit.update(entries)
