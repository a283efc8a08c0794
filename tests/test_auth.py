"""Who may write: OpenID Connect tokens from a real provider process, API keys, scopes, and the
audit log, through a real server (uvicorn) and an HTTP client.

The write route here is a stand-in that only calls :func:`require`; every token comes from
``oidc-provider-mock`` (tests/oidc.py) except the forgeries, which copy a real token's claims."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import stat
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi import Request
from joserfc import jwk, jws

from metadatabronn.errors import ConfigError, UsageError
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.web import create_app
from metadatabronn.web.apikeys import add_key, read_keys
from metadatabronn.web.audit import Audit
from metadatabronn.web.auth import AuthSettings, Authenticator, Principal, authenticator, require

from .conftest import DATA
from .oidc import Provider, free_port
from .client import HTTP

AUDIENCE = "metadatabronn"
USERS = {
    "ada": {"org": "nb", "roles": ["write:work"], "preferred_username": "ada.l"},
    "bo": {"org": "bokbasen", "scp": ["write:agent"]},
    "cy": {"roles": ["write:work"]},  # names no organisation
    "di": {"org": "bibsent", "scope": "admin"},
}


class Clock:
    """A monotonic clock the test moves: key fetches are rate-limited by it, not by waiting."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def provider():
    with Provider(USERS) as p:
        yield p


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A server over a small store, with a write route that asks for ``write:work``."""
    root = tmp_path_factory.mktemp("auth")
    port = free_port()
    store = root / "store"
    ingest([str(DATA / "golden" / "golden.mrc")], Settings(store=store, base=f"http://127.0.0.1:{port}", workers=1))
    app = create_app(store, f"http://127.0.0.1:{port}", query_workers=1, refresh=0)
    app.state.auth = None

    @app.post("/test/write")
    def write(request: Request):
        who = require(request, "write:work")
        request.state.audit = {"entity": "http://127.0.0.1/work/w1", "outcome": "updated"}
        return {"org": who.org, "user": who.user, "scopes": sorted(who.scopes), "method": who.method}

    audit = root / "audit.jsonl"
    server = uvicorn.Server(uvicorn.Config(Audit(app, audit), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    app.state.root, app.state.audit_path = root, audit
    app.state.url = f"http://127.0.0.1:{port}"
    yield app
    server.should_exit = True
    thread.join(30)


def oidc(provider, live, **kw) -> Authenticator:
    """A fresh authenticator for ``provider``, installed in the live server."""
    settings = AuthSettings(issuer=provider.issuer, audience=AUDIENCE, **{k: v for k, v in kw.items()
                                                                           if k in AuthSettings.__dataclass_fields__})
    auth = Authenticator(settings, **{k: v for k, v in kw.items() if k in ("now", "monotonic")})
    live.state.auth = auth
    return auth


def post(live, *, token: str | None = None, headers: dict | None = None, query: str = "") -> httpx.Response:
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return HTTP.post(f"{live.state.url}/test/write{query}", headers=h, timeout=60)


def claims_of(token: str) -> dict:
    return json.loads(jws.extract_compact(token.encode()).payload)


def forged(claims: dict, header: dict) -> str:
    """A token signed by a key of our own, with the header given (the provider's kid, say)."""
    key = jwk.RSAKey.generate_key(2048)
    return jws.serialize_compact({"alg": "RS256", **header}, json.dumps(claims).encode(), key)


def audit_lines(live) -> list[dict]:
    path = live.state.audit_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- OpenID Connect ------------------------------------------------------------------------------

def test_a_token_from_the_provider_names_organisation_user_and_scopes(provider, live):
    oidc(provider, live)
    before = len(audit_lines(live))
    r = post(live, token=provider.token("ada"), query="?dry=1")
    assert r.status_code == 200, r.text
    assert r.json() == {"org": "nb", "user": "ada (ada.l)", "scopes": ["write:work"], "method": "oidc"}
    # a scope given as a space-separated string counts too, and admin can do everything
    r = post(live, token=provider.token("di"))
    assert r.status_code == 200 and r.json()["scopes"] == ["admin"]
    line = audit_lines(live)[before]
    assert line["method"] == "POST" and line["path"] == "/test/write" and line["query"] == "dry=1"
    assert line["principal"] == {"org": "nb", "user": "ada (ada.l)", "method": "oidc"}
    assert line["status"] == 200 and line["entity"] == "http://127.0.0.1/work/w1" and line["outcome"] == "updated"
    assert line["client"] == "127.0.0.1" and line["time"].endswith("Z")


def test_no_credential_is_asked_for_and_reading_needs_none(provider, live):
    oidc(provider, live)
    r = post(live)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="metadatabronn"'
    assert r.headers["content-type"].startswith("application/problem+json")
    assert HTTP.get(f"{live.state.url}/health", timeout=30).status_code == 200


def test_a_token_expired_when_issued_is_refused(provider, live, tmp_path):
    with Provider(USERS, lifetime=-3600) as stale:
        token = stale.token("ada")
        oidc(stale, live)
        r = post(live, token=token)
    assert r.status_code == 401
    assert r.json()["detail"] == "the token has expired"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert 'error_description="the token has expired"' in r.headers["www-authenticate"]


def test_the_leeway_is_the_clock_skew_allowed_past_expiry(provider, live):
    token = provider.token("ada")
    exp = claims_of(token)["exp"]
    oidc(provider, live, leeway=60, now=lambda: exp + 59)
    assert post(live, token=token).status_code == 200
    oidc(provider, live, leeway=60, now=lambda: exp + 61)
    assert post(live, token=token).json()["detail"] == "the token has expired"
    oidc(provider, live, leeway=0, now=lambda: exp)
    assert post(live, token=token).status_code == 401
    # a token issued further in the future than the leeway: a clock far behind the provider's
    iat = claims_of(token)["iat"]
    oidc(provider, live, leeway=60, now=lambda: iat - 61)
    assert post(live, token=token).json()["detail"] == "the token is issued in the future"
    oidc(provider, live, leeway=60, now=lambda: iat - 59)
    assert post(live, token=token).status_code == 200


def test_a_token_for_another_audience_is_refused(provider, live):
    oidc(provider, live)
    r = post(live, token=provider.token("ada", client_id="another-application"))
    assert r.status_code == 401
    assert r.json()["detail"] == "the token is not meant for this server (its audience is not metadatabronn)"


def test_a_token_signed_by_another_key_with_the_providers_kid_is_refused(provider, live):
    auth = oidc(provider, live)
    claims = claims_of(provider.token("ada"))
    kid = provider.jwks()["keys"][0]["kid"]
    r = post(live, token=forged(claims, {"kid": kid}))
    assert r.status_code == 401
    assert r.json()["detail"] == "the token's signature does not verify with the issuer's keys"
    # no kid: every published key is tried (the provider names none in its tokens)
    assert post(live, token=forged(claims, {})).status_code == 401
    # a kid the provider does not publish
    r = post(live, token=forged(claims, {"kid": "not-a-key-of-the-provider"}))
    assert r.json()["detail"] == "the token is signed by a key the issuer does not publish"
    assert auth.jwks.keys is not None


def test_no_none_algorithm_and_no_hmac_with_the_public_key(provider, live):
    oidc(provider, live)
    claims = claims_of(provider.token("ada"))
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    r = post(live, token=f"{head}.{body}.")
    assert r.status_code == 401 and r.json()["detail"] == "tokens signed with 'none' are not accepted"
    # HS256 keyed with the provider's public modulus: the classic confusion, refused by algorithm
    public = provider.jwks()["keys"][0]
    secret = jwk.OctKey.import_key(public["n"].encode())
    hmac_token = jws.serialize_compact({"alg": "HS256"}, json.dumps(claims).encode(), secret)
    r = post(live, token=hmac_token)
    assert r.status_code == 401 and r.json()["detail"] == "tokens signed with 'HS256' are not accepted"
    assert post(live, token="not.a.jwt").status_code == 401


def test_a_missing_scope_is_403_naming_it(provider, live):
    oidc(provider, live)
    r = post(live, token=provider.token("bo"))
    assert r.status_code == 403
    assert r.json()["scope"] == "write:work"
    assert r.json()["detail"] == "this needs the scope 'write:work'; the credential has write:agent"
    assert r.headers["www-authenticate"] == 'Bearer realm="metadatabronn", error="insufficient_scope", scope="write:work"'
    line = audit_lines(live)[-1]
    assert line["status"] == 403 and line["principal"]["org"] == "bokbasen"


def test_a_token_naming_no_organisation_is_403_naming_the_claim(provider, live):
    oidc(provider, live)
    r = post(live, token=provider.token("cy"))
    assert r.status_code == 403
    assert "its claim 'org' is missing" in r.json()["detail"]
    # the claim is configurable
    oidc(provider, live, org_claim="preferred_username")
    r = post(live, token=provider.token("ada"))
    assert r.status_code == 200 and r.json()["org"] == "ada.l"


def test_a_key_rotated_at_the_provider_is_taken_without_a_restart(live):
    clock = Clock()
    with Provider(USERS) as rotating:
        auth = oidc(rotating, live, monotonic=clock, jwks_refresh=30, jwks_max_age=300)
        old = rotating.token("ada")
        assert post(live, token=old).status_code == 200
        rotating.restart()  # same address, a new signing key; the old one is no longer published
        new = rotating.token("ada")
        assert post(live, token=old).status_code == 200  # the old key is still in the cache
        # within jwks_refresh of the last fetch, the keys are not fetched again: a new key waits
        clock.t += 10
        r = post(live, token=new)
        assert r.status_code == 401
        clock.t += 21
        assert post(live, token=new).status_code == 200  # fetched again: the new key is known
        r = post(live, token=old)  # and the withdrawn one no longer
        assert r.status_code == 401
        assert r.json()["detail"] == "the token's signature does not verify with the issuer's keys"
        assert auth.jwks.keys and len(auth.jwks.keys) == 1

        # a key withdrawn while none of its tokens came is dropped once the cache is jwks_max_age old
        clock.t += 100
        newer_token = new
        rotating.restart()
        assert post(live, token=newer_token).status_code == 200  # cached, 100 s old
        clock.t += 201
        assert post(live, token=newer_token).status_code == 401


class KeyedIssuer:
    """An issuer of our own, served over HTTP (discovery and JWKS), whose keys carry a ``kid`` as
    most providers' do (the mock's tokens name none): an RSA key stating its algorithm, an EC one."""

    def __init__(self):
        import http.server

        self.rsa = jwk.RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256"})
        self.ec = jwk.ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
        port = free_port()
        self.issuer = f"http://127.0.0.1:{port}"
        documents = {"/.well-known/openid-configuration": {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/keys"},
                     "/keys": {"keys": [self.rsa.as_dict(private=False), self.ec.as_dict(private=False)]}}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(documents[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key, alg: str, header: dict | None = None, **claims) -> str:
        body = {"iss": self.issuer, "aud": AUDIENCE, "sub": "u1", "org": "nb", "scope": "openid write:work",
                "exp": int(time.time()) + 600, **claims}
        return jws.serialize_compact({"alg": alg, "kid": key.kid, **(header or {})}, json.dumps(body).encode(), key,
                                    algorithms=[alg])


def test_tokens_naming_their_key_by_kid(live):
    issuer = KeyedIssuer()
    try:
        oidc(issuer, live)
        for key, alg in ((issuer.rsa, "RS256"), (issuer.ec, "ES256")):
            r = post(live, token=issuer.token(key, alg))
            assert r.status_code == 200, r.text
            assert r.json()["scopes"] == ["openid", "write:work"]
        # signed by the EC key but naming the RSA one; an algorithm other than the key states
        r = post(live, token=issuer.token(issuer.ec, "ES256", {"kid": "rsa-1"}))
        assert r.status_code == 401
        same_key = jwk.RSAKey.import_key({k: v for k, v in issuer.rsa.as_dict(private=True).items() if k != "alg"})
        assert post(live, token=issuer.token(same_key, "PS256")).json()["detail"] == (
            "the token is signed by a key the issuer does not publish")
        # a token another issuer made, signed with a key this one publishes
        r = post(live, token=issuer.token(issuer.rsa, "RS256", iss="https://elsewhere.example.org"))
        assert r.json()["detail"] == "the token was issued by another issuer"
        r = post(live, token=issuer.token(issuer.rsa, "RS256", nbf=int(time.time()) + 3600))
        assert r.json()["detail"] == "the token is not valid yet"
    finally:
        issuer.server.shutdown()


def test_an_unreachable_provider_is_503_and_logged(live, caplog):
    port = free_port()  # nothing listens there
    oidc(Provider({}, port=port), live)
    token = forged({"iss": f"http://127.0.0.1:{port}", "aud": AUDIENCE, "sub": "x", "exp": 4102444800}, {})
    with caplog.at_level(logging.WARNING, logger="metadatabronn.web.auth"):
        r = post(live, token=token)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "30"
    detail = r.json()["detail"]
    assert detail.startswith(f"the OpenID Connect provider http://127.0.0.1:{port} cannot be reached")
    assert "Traceback" not in r.text and token not in caplog.text
    assert any("cannot be reached" in m for m in caplog.messages)


def test_a_read_only_server_refuses_writes_whatever_the_credential(live):
    live.state.auth = None
    r = post(live, token="whatever")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"
    assert r.json()["detail"].startswith("this server is read-only: no OpenID Connect issuer or API keys")


# --- API keys ------------------------------------------------------------------------------------

def keys_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from metadatabronn.cli.keys import add_keys

    parser = argparse.ArgumentParser(prog="metadatabronn")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store")
    common.add_argument("--base-iri")
    add_keys(sub, common)
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_add_prints_the_key_once_and_keeps_only_its_hash(tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    code, out, err = keys_cli(["keys", "add", "bokbasen-sync", "--org", "Bokbasen", "--scope", "write:work",
                               "--scope", "ingest", "--store", str(store)], capsys)
    assert code == 0
    key = out.strip()
    assert key.startswith("mbk_") and len(key) > 40 and "bokbasen-sync" in err and key not in err
    path = store / "api-keys.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    key_id, secret = key[4:].split("_", 1)
    import hashlib

    assert secret not in text and key not in text
    assert json.loads(text)["keys"][0]["sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    code, out, _ = keys_cli(["keys", "list", "--store", str(store)], capsys)
    assert out.split("\t")[:4] == ["bokbasen-sync", key_id, "Bokbasen", "write:work ingest"] and secret not in out
    code, out, _ = keys_cli(["keys", "list", "--json", "--store", str(store)], capsys)
    assert json.loads(out)["revoked"] is None and "sha256" not in out
    # a second live key of the same name is refused; an unknown scope too
    with pytest.raises(UsageError, match="exists"):
        keys_cli(["keys", "add", "bokbasen-sync", "--org", "B", "--scope", "ingest", "--store", str(store)], capsys)
    with pytest.raises(UsageError, match="unknown scope write:everything"):
        add_key(path, "x", "B", ["write:everything"])
    # --keys-file and METADATABRONN_API_KEYS name another file
    other = tmp_path / "elsewhere.json"
    keys_cli(["keys", "add", "k", "--org", "O", "--scope", "merge", "--keys-file", str(other)], capsys)
    assert [k.name for k in read_keys(other)] == ["k"]


def test_an_api_key_writes_until_revoked_without_a_restart(live, tmp_path, capsys, monkeypatch):
    path = tmp_path / "keys.json"
    key, _ = add_key(path, "bibsent-robot", "bibsent", ["write:work"])
    settings = AuthSettings.from_env({"METADATABRONN_API_KEYS": str(path)})
    assert settings.enabled and settings.issuer is None
    live.state.auth = authenticator(settings)
    assert live.state.auth.describe() == f"writes accepted with 1 API keys from {path}"
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        r = post(live, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"org": "bibsent", "user": "bibsent-robot", "scopes": ["write:work"], "method": "key"}
    assert audit_lines(live)[-1]["principal"] == {"org": "bibsent", "user": "bibsent-robot", "method": "key"}
    # a wrong secret for a real id, and a key of no id
    key_id = key[4:].split("_", 1)[0]
    r = post(live, headers={"X-API-Key": f"mbk_{key_id}_{'x' * 43}"})
    assert r.status_code == 401 and r.json()["detail"] == "an unknown API key"
    assert post(live, headers={"X-API-Key": "mbk_000000000000_secret"}).status_code == 401
    # revoked by the command while the server runs: refused at the next request
    monkeypatch.setenv("METADATABRONN_API_KEYS", str(path))
    code, _, err = keys_cli(["keys", "revoke", "bibsent-robot"], capsys)
    assert code == 0 and "revoked" in err
    r = post(live, headers={"X-API-Key": key})
    assert r.status_code == 401 and r.json()["detail"].startswith("this API key was revoked at ")
    assert key not in r.text and key not in json.dumps(audit_lines(live))
    assert audit_lines(live)[-1]["refused"].startswith("this API key was revoked")
    # a file whose keys are all revoked makes no writer
    assert not AuthSettings(keys_file=path).enabled and authenticator(AuthSettings(keys_file=path)) is None
    with pytest.raises(UsageError, match="no live API key"):
        keys_cli(["keys", "revoke", "bibsent-robot"], capsys)


# --- settings and the audit log ------------------------------------------------------------------

def test_settings_from_flags_and_environment():
    env = {"METADATABRONN_OIDC_ISSUER": "https://login.example.org/realms/nb", "METADATABRONN_OIDC_AUDIENCE": "well",
           "METADATABRONN_OIDC_LEEWAY": "5", "METADATABRONN_OIDC_ORG_CLAIM": "organisation",
           "METADATABRONN_OIDC_SCOPE_CLAIMS": "scope, realm_access.roles", "METADATABRONN_OIDC_JWKS_REFRESH": "10"}
    s = AuthSettings.from_env(env)
    assert (s.issuer, s.audience, s.leeway, s.org_claim, s.scope_claims, s.jwks_refresh) == (
        "https://login.example.org/realms/nb", "well", 5, "organisation", ("scope", "realm_access.roles"), 10.0)
    assert AuthSettings.from_env(env, audience="other", leeway=None).audience == "other"
    assert AuthSettings.from_env({}) == AuthSettings() and not AuthSettings().enabled
    with pytest.raises(ConfigError, match="needs an audience"):
        AuthSettings.from_env({"METADATABRONN_OIDC_ISSUER": "https://x.example.org"})
    with pytest.raises(ConfigError, match="METADATABRONN_OIDC_LEEWAY"):
        AuthSettings.from_env({"METADATABRONN_OIDC_LEEWAY": "soon"})
    assert Principal("o", "u", frozenset({"admin"}), "key").can("merge")
    assert not Principal("o", "u", frozenset({"write:agent"}), "key").can("write:work")


def test_the_audit_log_has_a_line_per_write_and_none_per_read(provider, live):
    oidc(provider, live)
    before = len(audit_lines(live))
    assert HTTP.get(f"{live.state.url}/health", timeout=30).status_code == 200
    assert HTTP.head(f"{live.state.url}/health", timeout=30).status_code in (200, 405)
    assert len(audit_lines(live)) == before
    r = post(live, token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln", headers={"X-Forwarded-For": "192.0.2.7"})
    assert r.status_code == 401
    line = audit_lines(live)[-1]
    assert len(audit_lines(live)) == before + 1
    assert line["forwarded_for"] == "192.0.2.7" and line["status"] == 401 and "principal" not in line
    assert "eyJhbGciOiJSUzI1NiJ9" not in json.dumps(line)


def test_an_audit_log_that_cannot_be_written_breaks_no_request(tmp_path, caplog):
    import asyncio

    async def app(scope, receive, send):
        scope["state"]["audit"] = {"entity": "e", "status": "overwritten?"}
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "DELETE", "path": "/work/1", "query_string": b"", "headers": [],
             "client": ("10.0.0.1", 5)}
    with caplog.at_level(logging.ERROR, logger="metadatabronn.web.audit"):
        asyncio.run(Audit(app, tmp_path / "missing" / "audit.jsonl")(scope, None, send))
    assert sent[0]["status"] == 201 and "could not write the audit log" in caplog.text
    # lines from many threads at once stay whole, and an endpoint cannot overwrite the status
    audit = Audit(app, tmp_path / "audit.jsonl")
    threads = [threading.Thread(target=lambda: [asyncio.run(audit(dict(scope), None, send)) for _ in range(50)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert len(lines) == 200 and {x["status"] for x in lines} == {201} and {x["entity"] for x in lines} == {"e"}


def test_only_a_token_is_checked_off_the_event_loop(tmp_path):
    """A bearer token may make the check fetch the issuer's keys, so it runs in a worker thread;
    an API key, in either header, or no credential at all is checked where the request is."""
    from types import SimpleNamespace

    path = tmp_path / "api-keys.json"
    key, _ = add_key(path, "ingest-bot", "nb", ["ingest"])
    auth = Authenticator(AuthSettings(issuer="https://id.example.org", audience="metadatabronn", keys_file=path))

    def asked(**headers) -> bool:
        return auth.may_fetch(SimpleNamespace(headers={k.replace("_", "-"): v for k, v in headers.items()}))

    assert asked(authorization="Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    assert asked(authorization="bearer  eyJhbGciOiJSUzI1NiJ9.e30.c2ln ")
    assert not asked(authorization=f"Bearer {key}")
    assert not asked(x_api_key=key)
    assert not asked()
    assert not asked(authorization="Basic dXNlcjpwYXNz")  # refused at once, nothing fetched
