"""Loan statistics from a server of two HTTP worker processes: one statistics process holds the
loans database for both, so every question and every delivery is answered, whichever worker
takes it (DuckDB lets one process open the file; without that process the second worker to ask
answered 503).

Clients keep a connection each; which worker process took a connection is read from the
system's socket table (``/proc``), so the test knows that both workers answered. The loan
figures are made up, as all loan data in the tests is.
"""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from .test_statistics_web import FRE, GER, LAT, SPA, TRANSLATIONS, report, work_of
from .writeserver import GOLDEN, free_port, make_store, serving
from .client import HTTP

CLIENTS = {"bibsys": ("Bibsys", ["stats:deliver"]), "koha": ("Koha", ["ingest"]),
           "harcourt": ("Harcourt", ["read"]), "cataloguer": ("nb", ["write:work"])}
FRESH = {"Connection": "close"}  # a new connection for each request: either worker may take it
ROUNDS = 15


@pytest.fixture(scope="module")
def well(tmp_path_factory):
    port = free_port()
    store = tmp_path_factory.mktemp("loans-workers") / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}", files=(GOLDEN, TRANSLATIONS), clients=CLIENTS)
    (store / "publishers.json").write_text(json.dumps({"Harcourt": ["978-0-15"]}))
    # The connections pinned to each worker wait while the deliveries are made: kept open however
    # busy the machine is.
    env = {"METADATABRONN_STATS_MIN_CELL": "5", "METADATABRONN_KEEP_ALIVE": "3600"}
    with serving(store, port, keys, env, "--http-workers", "2") as served:
        served.port = port
        yield served


def _socket_inodes_to_pids() -> dict[str, int]:
    owners = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    owners[target[8:-1]] = int(pid)
        except OSError:  # gone, or not ours to read
            continue
    return owners


def _worker_of(conn: http.client.HTTPConnection, server_port: int) -> int | None:
    """The pid of the server process holding the other end of ``conn``."""
    mine = conn.sock.getsockname()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == mine:
            return _socket_inodes_to_pids().get(inode)
    return None


def _pinned(well, clients: int = 12) -> dict[int, http.client.HTTPConnection]:
    """A kept-alive connection to each HTTP worker: connections are opened until two different
    server processes hold them (the kernel hands each new one to either worker)."""
    found: dict[int, http.client.HTTPConnection] = {}
    spare = []
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", well.port, timeout=120)
        conn.request("GET", "/health")
        assert conn.getresponse().read()
        pid = _worker_of(conn, well.port)
        if pid is not None and pid not in found:
            found[pid] = conn
        else:
            spare.append(conn)
        if len(found) >= 2:
            break
    for conn in spare:
        conn.close()
    return found


def _ask(conn: http.client.HTTPConnection, well, path: str, client: str | None = None, **params):
    headers = well.auth(client) if client else {}
    conn.request("GET", f"{path}?{urlencode(params)}", headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def _get(well, path: str, client: str | None = None, **params) -> httpx.Response:
    headers = {**FRESH, **(well.auth(client) if client else {})}
    return HTTP.get(f"{well.base}{path}", params=params, headers=headers, timeout=120)


def _deliver(well, body: bytes, client: str = "bibsys") -> httpx.Response:
    return HTTP.post(f"{well.base}/statistics/loans", content=body, timeout=120,
                      headers={**FRESH, **well.auth(client, **{"Content-Type": "text/csv"})})


def test_both_workers_answer_every_statistics_request(well):
    workers = _pinned(well)
    assert len(workers) == 2, "two HTTP worker processes take connections"
    work = work_of(well, FRE)
    # a month a delivery, each on its own connection: either worker stores it
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    for i, month in enumerate(months):
        r = _deliver(well, report([(month, FRE, 10 + i), (month, GER, 3), (month, SPA, 6)]))
        assert r.status_code == 200, r.text
        assert r.json()["periods"] == [month] and r.json()["loans"] == 19 + i
    expected = sum(19 + i for i in range(12))
    span = {"from": "2025-01", "to": "2025-12"}
    for pid, conn in workers.items():  # each worker, many times over
        for _ in range(ROUNDS):
            status, body = _ask(conn, well, f"/statistics/work/{work}", **span)
            assert status == 200, (pid, body)
            assert json.loads(body)["loans"] == expected  # every worker sees every delivery
            for path, client in (("/statistics/top", None), ("/statistics/languages", None),
                                 (f"/statistics/isbn/{FRE}", "harcourt"), ("/statistics/deliveries", "bibsys"),
                                 ("/statistics/match-report", "bibsys"), (f"/statistics/work/{work}.svg", None)):
                status, body = _ask(conn, well, path, client, **span)
                assert status == 200, (pid, path, body)
        status, body = _ask(conn, well, "/statistics/deliveries", "bibsys")
        assert sorted(d["period"] for d in json.loads(body)["deliveries"]) == months
        conn.close()


def test_bad_rows_are_refused_with_their_numbers_through_the_statistics_process(well):
    for _ in range(6):  # on fresh connections: both workers refuse alike
        r = _deliver(well, report([("2025-06", LAT, 4), ("2025-06", "9780152164158", 2)]))
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["bad_rows"] == 1 and body["problems"][0]["row"] == 2
    r = _get(well, f"/statistics/isbn/{LAT}", "harcourt", **{"from": "2025-06", "to": "2025-06"})
    assert r.status_code == 200 and not any(row.get("loans") for row in r.json().get("periods", []))


def test_a_delivery_of_json_goes_to_the_statistics_process_as_a_file(well):
    rows = [{"period": "2024-12", "isbn": FRE, "loans": 9, "fiction": "fiction", "audience": "children",
             "borrower": "child"}]
    r = HTTP.post(f"{well.base}/statistics/loans", json=rows, timeout=120, headers={**FRESH, **well.auth("koha")})
    assert r.status_code == 200, r.text
    assert r.json()["system"] == "Koha" and r.json()["loans"] == 9


def test_a_file_held_elsewhere_is_503_and_the_server_lets_go_of_it_when_it_stops(tmp_path):
    from metadatabronn.store.loans import Loans

    port = free_port()
    store = tmp_path / "store"
    keys = make_store(store, f"http://127.0.0.1:{port}", files=(GOLDEN,), clients={"bibsys": CLIENTS["bibsys"]})
    with serving(store, port, keys, None, "--http-workers", "2") as served:
        held = Loans(store, read_only=False)  # as a 'stats' command would, before the server asks
        try:
            r = _deliver(served, report([("2025-03", FRE, 7)]))
            assert r.status_code == 503 and "retry-after" in r.headers, r.text
            r = _get(served, "/statistics/top")
            assert r.status_code == 503 and "retry-after" in r.headers, r.text
        finally:
            held.close()
        r = _deliver(served, report([("2025-03", FRE, 7)]))
        assert r.status_code == 200, r.text
        server = served.proc
    assert server.wait(30) == 0
    loans = Loans(store, read_only=False)  # nobody holds it now
    try:
        assert [(d["system"], d["period"]) for d in loans.deliveries()] == [("Bibsys", "2025-03")]
    finally:
        loans.close()
