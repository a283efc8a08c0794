"""The web layer: FastAPI app factory over the store (REST, SPARQL 1.1 Protocol, query page)."""

from __future__ import annotations

__all__ = ["create_app", "app_from_environment"]


def __getattr__(name: str):
    # The app (FastAPI and every route) is imported when asked for, not with the package: the
    # query workers a server spawns import metadatabronn.web.queries, and paid 2 s of CPU each
    # for an app they never build.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def app_from_environment():
    """The app as ``metadatabronn serve`` configures it, through the environment (so that each
    uvicorn worker process builds the same one)."""
    from .. import config
    from ..config import DEFAULT_QUERY_NICE, DEFAULT_QUERY_WAIT
    from .app import create_app

    import os

    from ..pipeline.writer import Writer
    from .apikeys import default_keys_file
    from .auth import AuthSettings

    store = config.store_path(None)
    writer = None
    if os.environ.get("METADATABRONN_WRITER_SOCKET"):  # set by serve, which started the writer
        writer = Writer(os.environ["METADATABRONN_WRITER_SOCKET"], bytes.fromhex(os.environ["METADATABRONN_WRITER_KEY"]))
    auth = AuthSettings.from_env(keys_file=default_keys_file(store))
    return create_app(store, config.base_iri(None), auth=auth, writer=writer, freeze=True,
                      timeout=config.number(None, "QUERY_TIMEOUT", config.DEFAULT_QUERY_TIMEOUT, "query timeout"),
                      max_bytes=int(config.number(None, "MAX_RESULT_BYTES", config.DEFAULT_MAX_RESULT_BYTES,
                                                  "result size limit")),
                      refresh=config.number(None, "REFRESH", config.DEFAULT_REFRESH, "refresh", minimum=-1),
                      query_wait=config.number(None, "QUERY_WAIT", DEFAULT_QUERY_WAIT, "query wait"),
                      query_nice=int(config.number(None, "QUERY_NICE", DEFAULT_QUERY_NICE, "query worker nice",
                                                   minimum=-1)))
