"""The web layer: FastAPI app factory over the store (REST, SPARQL 1.1 Protocol, query page)."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app", "app_from_environment"]


def app_from_environment():
    """The app as ``metadatabronn serve`` configures it, through the environment (so that each
    uvicorn worker process builds the same one)."""
    from .. import config
    from .app import DEFAULT_QUERY_NICE, DEFAULT_QUERY_WAIT

    return create_app(config.store_path(None), config.base_iri(None),
                      timeout=config.number(None, "QUERY_TIMEOUT", config.DEFAULT_QUERY_TIMEOUT, "query timeout"),
                      max_bytes=int(config.number(None, "MAX_RESULT_BYTES", config.DEFAULT_MAX_RESULT_BYTES,
                                                  "result size limit")),
                      refresh=config.number(None, "REFRESH", config.DEFAULT_REFRESH, "refresh", minimum=-1),
                      query_wait=config.number(None, "QUERY_WAIT", DEFAULT_QUERY_WAIT, "query wait"),
                      query_nice=int(config.number(None, "QUERY_NICE", DEFAULT_QUERY_NICE, "query worker nice",
                                                   minimum=-1)))
