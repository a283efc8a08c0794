"""The server's own bulk loader, where there is one to use (placeholder: none yet)."""

from __future__ import annotations


def load(store, input, format, *, path=None, to_graph=None) -> bool:
    """Whether the load was done by the server's bulk loader (False: the caller loads by SPARQL)."""
    return False
