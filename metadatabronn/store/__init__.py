"""The embedded pyoxigraph store: the only package that touches pyoxigraph.

- :mod:`.core`: opening a store under its own base IRI, ingest's look-ups, updates;
- :mod:`.writing`: bulk batches marked pending and their roll-back, the change log's entries;
- :mod:`.reading`: what the server and the tools read; :mod:`.records`: a record read back for MARC out;
- :mod:`.editing`: writers' statements (a graph per organisation and entity) and how an entity reads;
- :mod:`.catalogue`: the index beside the store (SQLite) that harvesting and search read, kept in
  step by ingest and by :mod:`.catchup` from the change log;
- :mod:`.rebase`: giving a store a new base IRI, deliberately;
- :mod:`.sparql`: what a query or update asks for (dataset clause, wholesale drops, network);
- :mod:`.formats`: RDF text out of plain statements.
"""

from .core import Store, UpdateResult
from .formats import convert_rdf, serialise_triples, statement_order
from .reading import generation

__all__ = ["Store", "UpdateResult", "convert_rdf", "generation", "serialise_triples", "statement_order"]
