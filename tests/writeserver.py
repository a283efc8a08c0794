"""A served well that takes writes, as the write tests use it: a store of real records, API keys
for a few clients, and a real ``metadatabronn serve`` process (writer and all) on a free port,
with helpers a client needs (ETags, the change feed, OAI-PMH, the audit log).

A server's output goes to a file, not a pipe nobody reads while it runs (a server that logs more
than a pipe holds would block). Waiting for the server to show something (a fresh snapshot, a
feed entry) polls with a bound: the bound is only how long a busy machine may take, never a
margin the test depends on."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pymarc

from metadatabronn.pipeline import Settings, ingest
from metadatabronn.web.apikeys import add_key

from .client import http_client
from .conftest import DATA, ROOT
from .test_web import free_port, server  # noqa: F401 (free_port: for the write tests)

GOLDEN = DATA / "golden" / "golden.mrc"
SAMPLE = ROOT / "data" / "sample.mrc"  # 400 LC records
RDAC = "http://rdaregistry.info/Elements/c/"
RDAW = "http://rdaregistry.info/Elements/w/"
RDAE = "http://rdaregistry.info/Elements/e/"
RDAM = "http://rdaregistry.info/Elements/m/"
WORK = RDAC + "C10001"
TITLE = RDAW + "P10223"  # a work's preferred title
NOTE = RDAW + "P10330"  # a note on a work
JSONLD = "application/ld+json"
PROBLEM = "application/problem+json"
# The clients: name -> (organisation, scopes)
CLIENTS = {
    "cataloguer": ("nb", ["admin"]),
    "partner": ("bokbasen", ["write:work", "merge"]),
    "agents-only": ("bibsent", ["write:agent"]),
}


def eventually(probe, what: str, bound: float = 90.0, every: float = 0.1):
    """``probe()``'s first truthy answer; fails naming ``what`` if none comes within ``bound``
    seconds (only how long a busy machine may take)."""
    deadline = time.monotonic() + bound
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {bound:g} s (last: {value!r})")
        time.sleep(every)


def make_store(path: Path, base: str, files=(GOLDEN,), clients: dict | None = None) -> dict[str, str]:
    """A store of ``files`` at ``path`` and an API key for each client; the keys by client."""
    ingest([str(f) for f in files], Settings(store=path, base=base, workers=1))
    keys = {}
    for name, (org, scopes) in (CLIENTS if clients is None else clients).items():
        keys[name], _ = add_key(path / "api-keys.json", name, org, scopes)
    return keys


class Served:
    """A running server and its store, seen by its clients."""

    def __init__(self, store: Path, base: str, keys: dict[str, str], proc: subprocess.Popen, out):
        self.store, self.base, self.keys, self.proc, self._out = store, base, keys, proc, out
        self.http = http_client(timeout=120)
        self.retried = 0  # reads answered 503 with Retry-After, and tried again

    # --- requests ---------------------------------------------------------------------------

    def auth(self, client: str = "cataloguer", **more) -> dict:
        return {"Authorization": f"Bearer {self.keys[client]}", **more}

    def url(self, iri_or_path: str) -> str:
        return iri_or_path if iri_or_path.startswith("http") else self.base + iri_or_path

    def get(self, iri: str, fmt: str = "jsonld", **kw) -> httpx.Response:
        return self.http.get(self.url(iri), params={"format": fmt} if fmt else None, **kw)

    def read(self, iri: str) -> tuple[dict, str]:
        """An entity's JSON-LD and its ETag. A 503 with Retry-After (the server reopening its
        view after a load compacted the store under it) is tried again, as a client should."""
        r = self.get(iri)
        tries = 0
        while r.status_code == 503 and "retry-after" in r.headers and tries < 20:
            self.retried += 1
            tries += 1
            time.sleep(float(r.headers["retry-after"]) / 4)
            r = self.get(iri)
        assert r.status_code == 200, r.text
        return r.json(), r.headers["etag"]

    def put(self, iri: str, body, etag: str | None, client: str = "cataloguer", media: str = JSONLD,
            headers: dict | None = None) -> httpx.Response:
        h = self.auth(client, **{"Content-Type": media, **(headers or {})})
        if etag is not None:
            h["If-Match"] = etag
        content = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        return self.http.put(self.url(iri), content=content, headers=h)

    def post(self, path: str, content=b"", client: str = "cataloguer", **headers) -> httpx.Response:
        return self.http.post(self.url(path), content=content, headers=self.auth(client, **headers))

    def merge(self, iri: str, into: str, etag: str | None, client: str = "cataloguer") -> httpx.Response:
        h = self.auth(client, **{"Content-Type": "application/json"})
        if etag is not None:
            h["If-Match"] = etag
        return self.http.post(self.url(iri) + "/merge", json={"into": into}, headers=h)

    def sparql(self, query: str) -> list[dict]:
        r = self.http.post(self.base + "/sparql", data={"query": query},
                           headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200, r.text
        return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]

    # --- what the server shows --------------------------------------------------------------

    def sequence(self) -> int:
        """The last change-log entry the server's snapshot holds."""
        return self.http.get(self.base + "/health").json()["sequence"]

    def refreshed(self, sequence: int) -> int:
        """Wait until the server's snapshot holds change ``sequence``."""
        return eventually(lambda: self.sequence() >= sequence and self.sequence(),
                          f"the server's snapshot holding change {sequence}")

    def changes(self) -> list[dict]:
        """Every activity of the change feed, oldest first, page after page."""
        out, page = [], self.http.get(self.base + "/changes").json().get("first")
        while page:
            body = self.http.get(page["id"]).json()
            out += body.get("orderedItems", [])
            page = body.get("next")
        return out

    def datestamp(self, manifestation_id: str) -> str:
        host = self.base.split("//", 1)[1].split(":")[0]
        r = self.http.get(self.base + "/oai", params={"verb": "GetRecord", "metadataPrefix": "marc21",
                                                      "identifier": f"oai:{host}:{manifestation_id}"})
        found = re.search(r"<datestamp>([^<]+)</datestamp>", r.text)
        assert found, r.text
        return found.group(1)

    def marc(self, manifestation_id: str) -> pymarc.Record:
        r = self.http.get(f"{self.base}/manifestation/{manifestation_id}", params={"format": "marcxml"})
        assert r.status_code == 200, r.text
        with tempfile.TemporaryFile() as fh:
            fh.write(r.content)
            fh.seek(0)
            return pymarc.parse_xml_to_array(fh)[0]

    def audit(self) -> list[dict]:
        path = self.store / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def output(self) -> str:
        self._out.flush()
        self._out.seek(0)
        return self._out.read().decode(errors="replace")


@contextmanager
def serving(store: Path, port: int, keys: dict[str, str], env: dict | None = None, *extra: str):
    """``metadatabronn serve`` of ``store`` on ``port`` (started and stopped as every server test
    does, :func:`tests.test_web.server`), refreshing its snapshot every second; ``env``:
    settings given as METADATABRONN_ variables."""
    with server(store, port, "--refresh", "1", *extra, env=env) as (base, proc):
        served = Served(store, base, keys, proc, proc.output)
        try:
            yield served
        finally:
            served.http.close()


def works_with_records(served: Served) -> list[tuple[str, str]]:
    """(work, manifestation id) of each work that exactly one record names and that has an
    author (so its title goes out in 240), in a stable order."""
    rows = served.sparql(f"""
        SELECT ?w (MIN(?m) AS ?m1) (COUNT(DISTINCT ?m) AS ?n) WHERE {{
          ?w a <{WORK}> ; <{RDAW}P10061> ?author .
          ?e <{RDAE}P20231> ?w . ?m <{RDAM}P30139> ?e .
        }} GROUP BY ?w ORDER BY ?w""")
    return [(r["w"], r["m1"].rsplit("/", 1)[1]) for r in rows if r["n"] == "1"]


def record_of(manifestation_id: str) -> pymarc.Record:
    """The record a manifestation comes from (its id is <003>-<001>), from the golden records
    or the sample."""
    source, control = manifestation_id.split("-", 1)
    for path in (GOLDEN, SAMPLE):
        with open(path, "rb") as fh:
            for r in pymarc.MARCReader(fh):
                if r["001"].data.strip() == control and r["003"].data.strip() == source:
                    return r
    raise LookupError(f"no record {manifestation_id}")
