"""The writer process of a server that takes writes (pipeline.writer)."""

import os

from metadatabronn.pipeline import writer

BASE = "http://localhost:8000"


def test_the_writer_runs_below_the_server_s_priority_as_asked(tmp_path):
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for nice in (0, 3):
        process = writer.start(tmp_path / "store", BASE, "base", nice=nice)
        try:
            assert os.getpriority(os.PRIO_PROCESS, process.process.pid) == min(19, mine + nice)
        finally:
            process.stop()
