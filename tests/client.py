"""The tests' HTTP clients: ``HTTP`` for plain requests (``HTTP.get(...)`` where ``httpx.get(...)``
would do), and :func:`http_client` where a test needs one of its own (``httpx.Client(...)``).

Each new ``httpx.Client`` builds an SSL context from the CA bundle: 55 ms of CPU, paid at every
``httpx.get()``, every poll of a server that is starting and every page of a harvest. Here the
context is built once and shared. ``HTTP`` keeps no connection between requests, so that each
request comes on a fresh connection, as one of ``httpx.get()`` does."""

import ssl

import httpx

SSL = ssl.create_default_context()


def http_client(**kw) -> httpx.Client:
    """``httpx.Client(**kw)`` on the shared SSL context."""
    return httpx.Client(verify=SSL, **kw)


HTTP = http_client(timeout=5.0, limits=httpx.Limits(max_keepalive_connections=0))
