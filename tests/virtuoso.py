"""A Virtuoso 7 server for the tests that run against a SPARQL server (marker ``remote``).

One fresh server per test session, its database in a directory of its own and on free local
ports, so that two test runs at once never meet. The server process dies with the process that
started it, even when that one is killed outright (the kernel's parent-death signal), and is
stopped at interpreter exit otherwise.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .netports import free_port

VIRTUOSO = "virtuoso-t"
ISQL = "isql-vt"
# Where the Debian package keeps the server's extensions; the conductor (web admin) is not
# installed, the rest of the server needs nothing from it.
VAD_DIR = "/usr/share/virtuoso-opensource-7/vad"
PLUGINS_DIR = "/usr/lib/x86_64-linux-gnu/virtuoso-opensource-7/hosting"
START_TIMEOUT = float(os.environ.get("METADATABRONN_TEST_VIRTUOSO_START", "90"))

class VirtuosoError(RuntimeError):
    """The test server could not be started or did not answer."""


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # as a server binds: a connection of the last run waiting out TIME_WAIT does not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the starting process ends, however it ends."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):  # not Linux: atexit and stop() remain
        pass
    os.setsid()  # its own process group, so that a Ctrl-C to the test run reaches it only via us


INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql}
LiteMode = 0
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
O_DIRECT = 0
CaseMode = 2
MaxStaticCursorRows = 5000
CheckpointAuditTrail = 0
AllowOSCalls = 0
SchedulerInterval = 10
DirsAllowed = ., {load}, {vad}
ThreadCleanupInterval = 0
ThreadThreshold = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize = 100000
SingleCPU = 0
VADInstallDir = {vad}/
PrefixResultNames = 0
RdfFreeTextRulesSize = 100
IndexTreeMaps = 64
MaxQueryMem = 512M
VectorSize = 1000
MaxVectorSize = 1000000
AdjustVectorSize = 0
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 10
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}/vsp
MaxClientConnections = 10
DavRoot = DAV
EnabledDavVSP = 0
HTTPProxyEnabled = 0
TempASPXDir = 0
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
MaxCachedProxyConnections = 10
ProxyConnectionCacheTimeout = 15
HTTPThreadSize = 280000
HttpPrintWarningsInOutput = 0
Charset = UTF-8
EnabledGzipContent = 1

[Client]
SQL_PREFETCH_ROWS = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT = 0
SQL_TXN_TIMEOUT = 0

[URIQA]
DynamicLocal = 0
DefaultHost = 127.0.0.1:{http}

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime = 60
DeferInferenceRulesInit = 0
"""


@dataclass
class VirtuosoServer:
    directory: Path
    http_port: int
    isql_port: int
    process: subprocess.Popen | None = field(default=None, repr=False)
    # Graphs Virtuoso makes for itself in a fresh database (its RDF views, the OWL and LDP
    # vocabularies, descriptions of its own endpoints): ``clear()`` keeps them, dropping them
    # breaks the server's own features, and every union query sees their triples.
    system_graphs: frozenset[str] = frozenset()

    @property
    def sparql_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql"

    @property
    def store_url(self) -> str:
        return f"sparql+http://127.0.0.1:{self.http_port}/sparql"

    @property
    def graph_store_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql-graph-crud"

    @property
    def load_dir(self) -> Path:
        return self.directory / "load"

    @property
    def log(self) -> Path:
        return self.directory / "virtuoso.log"

    def isql(self, sql: str) -> str:
        """Run SQL (statements ending in ``;``) as dba; the output, or VirtuosoError on an error."""
        done = subprocess.run(
            [ISQL, str(self.isql_port), "dba", "dba", f"exec={sql}"],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        )
        out = done.stdout + done.stderr
        if done.returncode != 0 or "*** Error" in out:
            raise VirtuosoError(f"isql failed ({done.returncode}): {sql[:200]}\n{out[-2000:]}")
        return out

    def graphs(self) -> list[str]:
        """Every graph the server holds a triple in."""
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return [r["g"]["value"] for r in rows]

    def select(self, query: str, **params) -> list[dict]:
        """SPARQL JSON bindings of a SELECT (for the tests' own checks; plain HTTP)."""
        return self._json(query, **params)["results"]["bindings"]

    def _json(self, query: str, **params) -> dict:
        import json

        body = urllib.parse.urlencode({"query": query, **params}).encode()
        req = urllib.request.Request(self.sparql_url, data=body, headers={
            "Accept": "application/sparql-results+json",
            "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.load(resp)

    def clear(self) -> None:
        """Drop every graph but Virtuoso's own."""
        # One delete of every quad outside Virtuoso's own graphs, without the transaction log
        # (log_enable): many times faster than a CLEAR a graph, and one statement however many
        # graphs a test left (a few thousand made the statement list fail). A throwaway database.
        keep = ", ".join(f"iri_to_id('{g}')" for g in sorted(self.system_graphs))
        where = f" WHERE G NOT IN ({keep})" if keep else ""
        self.isql(f"log_enable(3, 1); DELETE FROM DB.DBA.RDF_QUAD{where};")
        self.isql("DELETE FROM DB.DBA.load_list;")
        for p in self.load_dir.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()

    def stop(self) -> None:
        """End the server and wait until its ports are free again."""
        p, self.process = self.process, None
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # a throwaway database: no checkpoint needed
            except ProcessLookupError:
                pass
        p.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
                _port_free(self.http_port) and _port_free(self.isql_port)):
            time.sleep(0.1)

    def answers(self) -> bool:
        try:
            return "boolean" in self._json("ASK { ?s ?p ?o }")
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            return False


def installed() -> bool:
    return shutil.which(VIRTUOSO) is not None and shutil.which(ISQL) is not None


def start_virtuoso(directory: Path, max_rows: int = 10000) -> VirtuosoServer:
    """A fresh server with its database in ``directory`` (made if need be).

    ``max_rows`` is the server's cap on the rows of one result (``ResultSetMaxRows``; the Debian
    default, 10000, is kept unless asked otherwise: a client must cope with it)."""
    if not installed():
        raise VirtuosoError(f"{VIRTUOSO} or {ISQL} not found on PATH")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "load").mkdir(exist_ok=True)
    (directory / "vsp").mkdir(exist_ok=True)
    last = None
    for _ in range(3):  # a free port may be taken between choosing it and the server binding it
        server = VirtuosoServer(directory, free_port(), free_port())
        if server.http_port == server.isql_port:
            continue
        try:
            _launch(server, max_rows)
            return server
        except VirtuosoError as e:
            last = e
            server.stop()
            for p in directory.glob("virtuoso*"):
                p.unlink()
    raise last or VirtuosoError("no free ports")


def _launch(server: VirtuosoServer, max_rows: int) -> None:
    d = server.directory
    ini = d / "virtuoso.ini"
    ini.write_text(INI.format(d=d, isql=server.isql_port, http=server.http_port,
                              load=server.load_dir, vad=VAD_DIR, max_rows=max_rows))
    out = open(d / "virtuoso.out", "wb")
    server.process = subprocess.Popen(
        [VIRTUOSO, "+foreground", "+configfile", str(ini)], cwd=d,
        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    out.close()
    atexit.register(server.stop)
    deadline = time.monotonic() + START_TIMEOUT
    while not server.answers():
        if server.process.poll() is not None or time.monotonic() > deadline:
            why = "exited" if server.process.poll() is not None else f"no answer in {START_TIMEOUT:.0f} s"
            raise VirtuosoError(f"Virtuoso did not start ({why}); its log ends:\n{_tail(server)}")
        time.sleep(0.25)
    server.isql('GRANT SPARQL_UPDATE TO "SPARQL";')
    # The server answers /sparql before it has finished its own start-up work; an update then
    # may fail. One that goes through says it is ready for writers too.
    server.isql("SPARQL INSERT DATA { GRAPH <urn:x-test:ready> { <urn:x:s> <urn:x:p> 1 } };")
    server.isql("SPARQL CLEAR GRAPH <urn:x-test:ready>;")
    server.system_graphs = frozenset(server.graphs())


def _tail(server: VirtuosoServer) -> str:
    text = ""
    for name in ("virtuoso.log",) if (server.directory / "virtuoso.log").exists() else ("virtuoso.out",):
        p = server.directory / name
        if p.exists():
            text += p.read_text(errors="replace")[-3000:]
    return text
