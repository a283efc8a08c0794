"""The only place the stages are chained.

read (main process) → parse + map + identity + N-Quads + validation (worker processes, a pure
function of each record's bytes) → registry check, change log, bulk load (main process and its
loader thread).
"""

__all__ = ["ON_INVALID", "Settings", "Summary", "ingest", "query", "explain_records", "Outcome", "convert_chunk"]

# Where each name is defined. They are imported when first asked for, not with the package: a
# server imports pipeline.dump and pipeline.writer, and paid 0.4 s of CPU in every process for
# the ingest machinery it never runs.
_WHERE = {"ON_INVALID": "run", "Settings": "run", "Summary": "run", "ingest": "run",
          "query": "tools", "explain_records": "tools", "Outcome": "worker", "convert_chunk": "worker"}


def __getattr__(name: str):
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
