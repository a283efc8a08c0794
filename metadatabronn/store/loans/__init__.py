"""Loan statistics beside the store: ``<store>/loans.duckdb`` (DuckDB; docs/architecture.md,
"Loan statistics"). The only package that touches DuckDB.

- :mod:`.schema`: the tables, the rows of a delivery and their checks (SQL);
- :mod:`.core`: :class:`Loans`, a delivery's atomic replacement, the edition map's writes;
- :mod:`.questions`: the questions, as SQL joining loans with the edition map;
- :mod:`.editions`: what the map says of a manifestation, read from the store and its change feed.
"""

from .core import Delivered, Loans, path_of
from .questions import isbn_number
from .schema import LoanRow, RowProblem

__all__ = ["Delivered", "LoanRow", "Loans", "RowProblem", "isbn_number", "path_of"]
