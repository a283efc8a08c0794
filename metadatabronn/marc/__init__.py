"""Reading MARC 21: split input files into record chunks, parse chunks into pymarc records.

``iter_chunks`` runs in the main process and only cuts the input; ``parse_chunk`` is pure
and meant for worker processes. Bad records surface as ``MarcError`` from ``parse_chunk``,
never as exceptions from the iterator.
"""

from metadatabronn.marc.kinds import Chunk, Format, RecordKind, record_kind
from metadatabronn.marc.parse import parse_chunk
from metadatabronn.marc.reader import iter_chunks

__all__ = ["Chunk", "Format", "RecordKind", "iter_chunks", "parse_chunk", "record_kind"]
