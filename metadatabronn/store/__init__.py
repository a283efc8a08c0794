"""The embedded pyoxigraph store: the only package that touches pyoxigraph.

- :mod:`.core`: opening a store under its own base IRI, ingest's look-ups, writing, updates;
- :mod:`.reading`: what export, the server and the tools read;
- :mod:`.rebase`: giving a store a new base IRI, deliberately;
- :mod:`.sparql`: what a query or update asks for (dataset clause, wholesale drops, network);
- :mod:`.formats`: RDF text out of plain statements.
"""

from .core import Store, UpdateResult
from .formats import convert_rdf, serialise_triples
from .reading import generation

__all__ = ["Store", "UpdateResult", "convert_rdf", "generation", "serialise_triples"]
