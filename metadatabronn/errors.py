"""The one exception hierarchy of metadatabronn.

Every error a user can provoke derives from :class:`MetadatabronnError`, so the CLI can turn
it into a one-line message instead of a traceback.
"""

from __future__ import annotations


class MetadatabronnError(Exception):
    """Base class of every error metadatabronn raises on purpose."""


class ConfigError(MetadatabronnError):
    """A setting (flag or environment variable) has an unusable value."""


class InputError(MetadatabronnError):
    """An input file cannot be opened or its format cannot be recognised."""


class RecordError(MetadatabronnError):
    """One record is unusable; the run goes on without it.

    ``number`` is the record's 1-based position in its input, ``tag`` the field at fault
    (``None`` when the fault is in the leader or the record structure).
    """

    def __init__(self, reason: str, *, number: int | None = None, tag: str | None = None):
        self.reason = reason
        self.number = number
        self.tag = tag
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.number is not None:
            where.append(f"record {self.number}")
        if self.tag is not None:
            where.append(f"field {self.tag}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class MarcError(RecordError):
    """A record cannot be read as MARC 21 (structure, encoding, leader)."""


class MappingError(RecordError):
    """A record was read but cannot be mapped to RDA entities (e.g. no control number)."""


class StoreError(MetadatabronnError):
    """The store cannot be opened or written (locked, missing, corrupt)."""


class QuerySyntaxError(MetadatabronnError):
    """A SPARQL query that does not parse; the message says where ("error at 1:25: ...")."""


class ResultTooLarge(MetadatabronnError):
    """A query result over the configured size limit."""


class QueryTimeout(MetadatabronnError):
    """A query that ran past its time limit and was stopped."""
