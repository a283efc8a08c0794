"""ISNI (ISO 27729) assignment: the check character, the AtomPub request the well sends for a
person or corporate body, and ISNI's answers. Pure: no store, no RDF; the pipeline
(:mod:`metadatabronn.pipeline.isni`) gathers what a request carries and applies the answers."""

from . import checksum, request, response

__all__ = ["checksum", "request", "response"]
