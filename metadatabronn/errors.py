"""The one exception hierarchy of metadatabronn.

Every error a user can provoke derives from :class:`MetadatabronnError`, so the CLI can turn
it into a one-line message instead of a traceback.
"""

from __future__ import annotations


class MetadatabronnError(Exception):
    """Base class of every error metadatabronn raises on purpose."""


class ConfigError(MetadatabronnError):
    """A setting (flag or environment variable) has an unusable value."""


class UsageError(MetadatabronnError):
    """The command line asks for something it cannot do: a contradiction, an argument out of
    range, a path that cannot be used. Found before anything is read or written (exit status
    2, like argparse). ``usage``: whether the command's usage line helps (it does not for a bad
    path or value, which the message names)."""

    def __init__(self, message: str, *, usage: bool = True):
        self.usage = usage
        super().__init__(message)


class InputError(MetadatabronnError):
    """An input file cannot be opened or its format cannot be recognised."""


class ReadError(InputError):
    """An input file that could be read only in part (a truncated or damaged compressed
    stream, an I/O error part-way): its records up to ``after`` were read whole, then reading
    stopped. ``data`` holds the bytes of the record cut short, if any, in ``format``.
    """

    def __init__(self, source: str, reason: str, *, after: int, data: bytes = b"", format: str = ""):
        self.source = source
        self.reason = reason
        self.after = after
        self.data = data
        self.format = format
        where = f"cannot read past record {after}" if after else "cannot read the first record"
        super().__init__(f"{source}: {where}: {reason}")


class RecordError(MetadatabronnError):
    """One record is unusable; the run goes on without it.

    ``number`` is the record's 1-based position in its input, ``tag`` the field at fault
    (``None`` when the fault is in the leader or the record structure).
    """

    def __init__(self, reason: str, *, number: int | None = None, tag: str | None = None,
                 control_number: str | None = None):
        self.reason = reason
        self.number = number
        self.tag = tag
        # The record's own name (001, else 035, else 010), which a cataloguer searches by; the
        # position in the file only where the record has none.
        self.control_number = control_number
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.control_number:
            where.append(f"record {self.control_number}" + (f" (no. {self.number})" if self.number is not None else ""))
        elif self.number is not None:
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


class QueryTooCostly(StoreError, QueryTimeout):
    """A SPARQL server refused to run a query as over its own time limit (Virtuoso estimates a
    query's cost first: SQL state 42000, "estimated execution time … exceeds the limit"). A
    store error to the loader; a timed-out query to a SPARQL user."""


class BaseMismatchError(StoreError):
    """The base IRI asked for is not the one the store's IRIs were minted under."""


class StoreFullError(StoreError):
    """The disk holding the store is full: the write under way stopped (and is rolled back)."""


class UpdateRefused(MetadatabronnError):
    """A SPARQL Update refused before anything is written: it would empty whole graphs (without
    ``--force``) or reach the network (without ``--allow-network``)."""


class ExportError(RecordError):
    """A record that cannot be written in the format asked for (longer than ISO 2709 allows, a
    tag or subfield code the format cannot carry); the export goes on without it."""


class MergeRefused(MetadatabronnError):
    """A merge of two entities refused before anything is written: one is unknown, they are of
    different kinds, they are the same, or one was already merged into another."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.status = status  # why, in HTTP's terms: 404 unknown, 409 it conflicts, 422 it cannot be


class MirrorError(MetadatabronnError):
    """A mirror run that cannot go on: its directory mirrors another source, the source answers
    with an error (its problem document's text), or stays unreachable after every retry. What
    the mirror had applied before is kept, with the position it reached."""


class EditRefused(MetadatabronnError):
    """A write of an entity refused before anything is written. ``status`` says why, in HTTP's
    terms: 409 (it conflicts with what the well holds), 412 (the entity changed since the
    writer read it), 422 (the entity would break the application profile, or the body names
    another entity or type), 428 (the writer did not say which version it read)."""

    def __init__(self, message: str, *, status: int = 422, report: object = None):
        super().__init__(message)
        self.status = status
        self.report = report


class IsniError(InputError):
    """An ISNI answer (or an ISNI given by hand) that cannot be used: not XML, not a response ISNI
    writes, an ISNI whose check character is wrong, or one that names no agent of the well. The
    message names the file; nothing of a run that meets one is written."""


class DeliveryRejected(InputError):
    """A loan delivery with rows that fail their checks: nothing of it was stored. ``problems``
    lists each bad row (its number, counting data rows from 1, and why)."""

    def __init__(self, system: str, problems: list):
        self.system = system
        self.problems = problems
        shown = "; ".join(f"row {p.row}: {p.reason}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"delivery from {system} refused, {len(problems)} bad rows: {shown}{more}")


class EngineError(MetadatabronnError):
    """The distributed conversion engine cannot go on: its scheduler cannot be reached, or its
    cluster is gone part-way (what was stored before stays; the same run again loads the rest)."""
