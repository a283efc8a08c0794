"""The tests' one HTTP client for plain requests (``HTTP.get(...)`` where ``httpx.get(...)`` would do).

``httpx.get()`` builds a client, and with it an SSL context from the CA bundle, at every call:
58 ms of CPU, paid at every poll of a server that is starting and every page of a harvest. This
client is built once; it keeps no connection between requests, so that each request comes on a
fresh connection, as one of ``httpx.get()`` does."""

import httpx

HTTP = httpx.Client(timeout=5.0, limits=httpx.Limits(max_keepalive_connections=0))
