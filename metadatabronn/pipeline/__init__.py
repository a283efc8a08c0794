"""The only place the stages are chained.

read (main process) → parse + map + identity + N-Quads + validation (worker processes, a pure
function of each record's bytes) → registry check, change log, bulk load (main process and its
loader thread).
"""

from .run import ON_INVALID, Settings, Summary, ingest
from .tools import explain_records, query
from .worker import Outcome, convert_chunk

__all__ = ["ON_INVALID", "Settings", "Summary", "ingest", "query", "explain_records", "Outcome", "convert_chunk"]
