"""A real OpenID Connect provider for the tests: ``oidc-provider-mock`` in a process of its own.

It signs its ID tokens (RS256, with a key it makes at start and publishes at its ``jwks_uri``);
the tests present those as bearer tokens, with the client id as their audience. A token is got
the way a client gets one: the authorization-code flow, driven with httpx (the provider's form
takes the user's ``sub``; its predefined users carry the claims given here). Restarting the
process on the same port gives it a new signing key: a key rotated at the provider.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from urllib.parse import parse_qs, urlparse

import httpx

from .client import HTTP, http_client
from .netports import free_port

CALLBACK = "http://127.0.0.1/callback"


class Provider:
    """``users``: sub → claims put in that user's tokens; ``lifetime``: seconds a token lives
    (negative: expired when issued)."""

    def __init__(self, users: dict[str, dict], *, lifetime: int = 3600, port: int | None = None):
        self.users, self.lifetime = users, lifetime
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._out = None

    def start(self) -> "Provider":
        self._out = tempfile.TemporaryFile()
        claims = [a for sub, c in self.users.items() for a in ("--user-claims", json.dumps({"sub": sub, **c}))]
        self.proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(self.port),
                                      "--host", "127.0.0.1", f"--token-max-age={self.lifetime}", *claims],
                                     stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60  # only how long a busy machine may take to start it
        while True:
            try:
                if HTTP.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._out.seek(0)
                raise RuntimeError("the OpenID Connect provider did not start: " + self._out.read().decode())
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out is not None:
            self._out.close()
        self.proc = self._out = None

    def restart(self) -> None:
        """The same provider at the same address, signing with a new key."""
        self.stop()
        self.start()

    def jwks(self) -> dict:
        return HTTP.get(f"{self.issuer}/jwks", timeout=10).json()

    def token(self, sub: str, *, client_id: str = "metadatabronn", scope: str = "openid profile email") -> str:
        """A signed token for ``sub``, for the client ``client_id`` (its audience)."""
        with http_client(base_url=self.issuer, timeout=10) as client:
            asked = client.post("/oauth2/authorize", data={"sub": sub},
                                params={"client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code",
                                        "scope": scope, "state": "s"})
            assert asked.status_code == 302, asked.text
            code = parse_qs(urlparse(asked.headers["location"]).query)["code"][0]
            answer = client.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                        "redirect_uri": CALLBACK, "client_id": client_id,
                                                        "client_secret": "any"})
            assert answer.status_code == 200, answer.text
            return answer.json()["id_token"]

    def __enter__(self) -> "Provider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
