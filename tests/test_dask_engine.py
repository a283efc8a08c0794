"""Conversion on Dask (``ingest --engine dask``): the same store as a local ingest, quad for quad,
the same rejects at the same record numbers, a scheduler named on the command line, a batch the
cluster fails on rejected rather than lost, and a clear word when Dask is not installed."""

from __future__ import annotations

import gzip
import json
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox
import pytest

from metadatabronn.cli import main
from metadatabronn.errors import EngineError
from metadatabronn.pipeline import Settings, ingest, run, worker
from .conftest import full, quad_store

try:
    import distributed
except ImportError:  # the extra not installed: only the test of what the engine then says runs
    distributed = None
needs_dask = pytest.mark.skipif(distributed is None, reason="Dask is not installed: pip install 'metadatabronn[dask]'")

HERE = Path(__file__).resolve().parent
LC20K = HERE / "data" / "lc-first20k.mrc.gz"  # LC Books All 2016 part 01, first 20,000 (public domain)
SAMPLE = HERE.parent / "data" / "sample.mrc"  # 400 LC records
WHEN = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=timezone.utc)


def quads(store: Path) -> list[bytes]:
    """Every quad of the store, change log and all, as sorted N-Quads lines."""
    s = quad_store(store)
    try:
        return sorted(s.dump(format=ox.RdfFormat.N_QUADS).splitlines())
    finally:
        del s


def rejects(summary) -> list[dict]:
    if not summary.rejects_file:
        return []
    return [json.loads(line) for line in Path(summary.rejects_file).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def scheduler():
    """A real Dask scheduler with two worker processes of one thread, as an operator runs one."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address="127.0.0.1:0") as cluster:
        yield cluster.scheduler_address


def lc_records(path: Path, n: int) -> Path:
    """The first ``n`` records of the LC 20k, as a file of their own."""
    with gzip.open(LC20K, "rb") as fh:
        data = fh.read()
    end = 0
    for _ in range(n):
        end = data.index(b"\x1d", end) + 1
    path.write_bytes(data[:end])
    return path


@needs_dask
def test_dask_ingest_of_lc_records_gives_the_store_a_local_ingest_gives(tmp_path):
    """Same file, same load time: the same quads, byte for byte, IRIs, change log and all. The
    LC 20k whole with ``pytest --full``; its first 1,000 records otherwise (a run of the 20k takes
    five minutes of the suite's two cores)."""
    n = 20_000 if full() else 1_000
    source = LC20K if n == 20_000 else lc_records(tmp_path / "lc.mrc", n)
    common = dict(base=None, workers=2, when=WHEN, compact="never")
    local = ingest([str(source)], Settings(store=tmp_path / "local", **common))
    dask = ingest([str(source)], Settings(store=tmp_path / "dask", engine="dask", **common))
    assert local.records_read == dask.records_read == n
    assert dask.records_stored == local.records_stored == n
    assert dask.engine == "dask" and set(dask.cluster_workers) == {"0", "1"}
    assert sum(w["records"] for w in dask.cluster_workers.values()) == n
    a, b = quads(tmp_path / "local"), quads(tmp_path / "dask")
    assert len(a) > 50 * n
    assert a == b


def hostile(path: Path) -> Path:
    """Real LC records, some of them broken in the ways input breaks: a leader that is not one,
    a field that is not UTF-8, a holdings record among the bibliographic ones, and a file that
    ends part-way through its last record."""
    records = [r + b"\x1d" for r in SAMPLE.read_bytes().split(b"\x1d")[:12]]
    records[2] = b"xxxxx" + records[2][5:]  # record 3: no record length
    i = records[4].index(b"\x1f", 30)
    records[4] = records[4][:i + 2] + b"\xff\xfe" + records[4][i + 4:]  # record 5: not UTF-8
    records[6] = records[6][:6] + b"x" + records[6][7:]  # record 7: a holdings record
    records[9] = records[9][:len(records[9]) // 2]  # record 10: the file is cut short here
    data = b"".join(records[:10])
    path.write_bytes(data)
    return path


@needs_dask
def test_hostile_input_gives_the_same_rejects_at_the_same_record_numbers(tmp_path, scheduler):
    bad = hostile(tmp_path / "hostile.mrc")
    local = ingest([str(bad)], Settings(store=tmp_path / "local", base=None, workers=2, when=WHEN,
                                        rejects_dir=tmp_path / "local.rejects"))
    dask = ingest([str(bad)], Settings(store=tmp_path / "dask", base=None, engine="dask", scheduler=scheduler,
                                       when=WHEN, rejects_dir=tmp_path / "dask.rejects"))
    got = rejects(dask)
    assert got == rejects(local)
    numbers = {(e["record"], e["status"]) for e in got}
    assert (7, "aside") in numbers and len(numbers) >= 3
    assert dask.records_read == local.records_read
    assert dask.rejection_reasons == local.rejection_reasons
    assert quads(tmp_path / "dask") == quads(tmp_path / "local")


@needs_dask
def test_the_cli_converts_on_the_cluster_of_a_named_scheduler(tmp_path, scheduler, monkeypatch, capsys):
    monkeypatch.setattr(run, "_load_time", lambda when: WHEN)
    report = tmp_path / "report.json"
    assert main(["ingest", "--store", str(tmp_path / "plain"), "-q", str(SAMPLE)]) == 0
    assert main(["ingest", "--scheduler", scheduler, "--store", str(tmp_path / "dask"), "--report", str(report),
                 "-q", str(SAMPLE)]) == 0
    summary = json.loads(report.read_text())
    assert summary["engine"] == "dask" and summary["records_stored"] == 400
    assert sum(w["records"] for w in summary["cluster_workers"].values()) == 400
    assert quads(tmp_path / "dask") == quads(tmp_path / "plain")
    # --scheduler names a Dask scheduler: with the local engine it is a mistake, said before reading
    assert main(["ingest", "--engine", "local", "--scheduler", scheduler, "--store", str(tmp_path / "x"),
                 str(SAMPLE)]) == 2
    assert "--scheduler is for --engine dask" in capsys.readouterr().err


@needs_dask
def test_an_unreachable_scheduler_stops_the_run_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("metadatabronn.pipeline.dask_engine.CONNECT_SECONDS", 1.0)
    assert main(["ingest", "--scheduler", "tcp://127.0.0.1:9", "--store", str(tmp_path / "s"), "-q",
                 str(SAMPLE)]) == 1
    err = capsys.readouterr().err
    assert "cannot use the Dask scheduler at tcp://127.0.0.1:9" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()
    assert main(["ingest", "--scheduler", "tcp://127.0.0.1:port", "--store", str(tmp_path / "s"), "-q",
                 str(SAMPLE)]) == 1
    err = capsys.readouterr().err
    assert "address 'tcp://127.0.0.1:port' cannot be used" in err and "Traceback" not in err


def test_without_dask_the_engine_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: import fails
    assert main(["ingest", "--engine", "dask", "--store", str(tmp_path / "s"), str(SAMPLE)]) == 1
    err = capsys.readouterr().err
    assert "pip install 'metadatabronn[dask]'" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


@pytest.fixture
def in_process():
    """A cluster whose workers are threads of this process: what they run can be changed here."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address="127.0.0.1:0") as cluster:
        yield cluster


@needs_dask
def test_a_batch_the_cluster_fails_on_is_rejected_record_by_record_and_the_run_goes_on(
        tmp_path, in_process, monkeypatch):
    real = worker._convert_batch

    def flaky(chunks, *args, **kwargs):
        if any(c.number == 201 for c in chunks):
            raise MemoryError("worker out of memory")
        return real(chunks, *args, **kwargs)

    monkeypatch.setattr(worker, "_convert_batch", flaky)
    s = ingest([str(SAMPLE)], Settings(store=tmp_path / "s", base=None, engine="dask",
                                       scheduler=in_process.scheduler_address, when=WHEN))
    assert (s.records_read, s.records_stored, s.records_rejected) == (400, 200, 200)
    got = rejects(s)
    assert [e["record"] for e in got] == list(range(201, 401))
    assert {e["reason"] for e in got} == {"conversion failed on the cluster: MemoryError: worker out of memory"}
    assert all(e["data"] for e in got)  # the records' bytes are kept, for the next run


@needs_dask
def test_a_cluster_gone_part_way_stops_the_run_and_keeps_what_was_stored(tmp_path, in_process, monkeypatch):
    real = worker._convert_batch
    closing = threading.Event()

    def slow_second(chunks, *args, **kwargs):
        if any(c.number == 201 for c in chunks):
            closing.wait(10)  # held until the cluster goes
        return real(chunks, *args, **kwargs)

    def gone(n):  # the first batch is converted: the cluster goes
        if not closing.is_set():
            threading.Thread(target=in_process.close).start()
            while in_process.status.name not in ("closing", "closed"):
                time.sleep(0.01)
            closing.set()

    monkeypatch.setattr(worker, "_convert_batch", slow_second)
    monkeypatch.setattr("metadatabronn.pipeline.dask_engine.CONNECT_SECONDS", 1.0)  # no wait for it to come back
    monkeypatch.setattr("metadatabronn.pipeline.dask_engine.WORKERS_SECONDS", 1.0)
    with pytest.raises(EngineError, match="is gone"):
        ingest([str(SAMPLE)], Settings(store=tmp_path / "s", base=None, engine="dask",
                                       scheduler=in_process.scheduler_address, when=WHEN), progress=gone)
    monkeypatch.setattr(worker, "_convert_batch", real)
    again = ingest([str(SAMPLE)], Settings(store=tmp_path / "s", base=None, workers=1))
    assert (again.records_unchanged, again.records_new) == (200, 200)
