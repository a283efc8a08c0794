"""64-bit fingerprints of IRIs and keys, for SQLite tables that are looked up by them.

Why: IRIs, identity keys and digests fall evenly over their range, so a batch's rows land on
pages all over a B-tree keyed by them, and SQLite writes every page a batch touches twice (the
log, then the file). Keyed by the text, a page holds about fifty rows; by a fingerprint (an
integer of a few bytes) several hundred, so a table or index is a fifth of the pages and a
batch into a big store touches a fifth as many. A fingerprint only finds candidates: a reader
that needs the value compares it, and a look-up that takes only "no" from a table asks the
store about a "yes".
"""

from __future__ import annotations

import hashlib


def fingerprint(value: str) -> int:
    """The 64-bit signed integer (SQLite's integer) kept for ``value``: stable across processes
    and machines, since one process writes what another reads."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big", signed=True)
