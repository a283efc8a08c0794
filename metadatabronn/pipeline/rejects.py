"""Where records that cannot be stored are kept for a person to fix."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ..marc import Format
from .worker import Outcome


class Rejects:
    """Records that could not be stored, kept for a person to fix: reasons and original bytes.

    Each run writes files of its own (``rejects-STAMP[-N].jsonl`` and, for ISO 2709 input,
    ``.mrc``); an earlier run's files are never overwritten.
    """

    def __init__(self, directory: Path, stamp: str):
        self.directory = directory
        self.stamp = stamp
        self.path: Path | None = None
        self._log = None
        self._raw = None
        self.count = 0

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            stem = f"rejects-{self.stamp}" + (f"-{n}" if n > 1 else "")
            try:
                self._log = open(self.directory / f"{stem}.jsonl", "x", encoding="utf-8")
            except FileExistsError:
                n += 1
                continue
            self.path = self.directory / f"{stem}.jsonl"
            return

    def add(self, o: Outcome) -> None:
        if self._log is None:
            self._open()
        self.count += 1
        try:
            text, encoding = o.data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(o.data).decode("ascii"), "base64"
        entry = {"source": o.source, "record": o.number, "control_number": o.control_number or None,
                 "tag": o.tag, "reason": o.reason,
                 "status": o.status, "format": o.format, "encoding": encoding, "data": text}
        if o.report:
            entry["validation"] = json.loads(o.report)
        self._log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        # The raw bytes too, in the input's own format, so a cataloguing tool can open them.
        if o.format == Format.ISO2709.value:
            if self._raw is None:
                self._raw = open(self.path.with_suffix(".mrc"), "xb")
            self._raw.write(o.data)

    def close(self) -> None:
        for f in (self._log, self._raw):
            if f is not None:
                f.close()
