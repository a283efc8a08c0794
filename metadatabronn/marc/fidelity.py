"""The fidelity of a whole file's round trip: the sum of :func:`.compare.compare` results as
rates, the classification of every subfield, a per-tag table and the worst records, as JSON or
as a plain-text report."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from .compare import CLASSES, KEY_TAGS, RecordDiff, TagCounts

__all__ = ["Fidelity"]


def _tag_matches(pattern: str, tag: str) -> bool:
    if len(pattern) != len(tag):
        return False
    return all(p in "Xx" or p == t for p, t in zip(pattern, tag))


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _percent(rate: float) -> str:
    text = f"{100 * rate:6.2f}"
    # A report that says 100.00 % must mean nothing was missed.
    if rate < 1.0 and text.strip() == "100.00":
        text = " 99.99"
    return text


def _diff_lines(diff: RecordDiff) -> list[str]:
    entries: list[tuple[str, list[str]]] = []
    entries.extend((line[1:4], [f"- {line}"]) for line in diff.lost)
    entries.extend((before[1:4], [f"- {before}", f"+ {after}"]) for before, after in diff.changed)
    entries.extend((line[1:4], [f"+ {line}"]) for line in diff.added)
    entries.sort(key=lambda entry: entry[0])
    return [line for _, lines in entries for line in lines]


class Fidelity:
    """Accumulates :class:`RecordDiff` s over a file; keeps only sums and the ``worst`` few."""

    def __init__(self, worst: int = 20):
        self.records = 0
        self._keep = worst
        self._tags: dict[str, TagCounts] = {}
        # A min-heap whose root is the mildest kept diff, so a worse one can replace it.
        self._heap: list[tuple[int, int, int, RecordDiff]] = []
        self._order = itertools.count()

    def add(self, diff: RecordDiff) -> None:
        self.records += 1
        for tag, tally in diff.tags.items():
            mine = self._tags.get(tag)
            if mine is None:
                mine = self._tags[tag] = TagCounts()
            mine.add(tally)
        score = diff.score
        if score <= 0 or self._keep <= 0:
            return
        entry = (score, -diff.number, -next(self._order), diff)
        if len(self._heap) < self._keep:
            heapq.heappush(self._heap, entry)
        elif entry[:3] > self._heap[0][:3]:
            heapq.heapreplace(self._heap, entry)

    def merge(self, other: "Fidelity") -> None:
        """Add another accumulation's counts and worst records (from a worker process)."""
        self.records += other.records
        for tag, tally in other._tags.items():
            mine = self._tags.get(tag)
            if mine is None:
                mine = self._tags[tag] = TagCounts()
            mine.add(tally)
        for _, _, _, diff in other._heap:
            entry = (diff.score, -diff.number, -next(self._order), diff)
            if len(self._heap) < self._keep:
                heapq.heappush(self._heap, entry)
            elif entry[:3] > self._heap[0][:3]:
                heapq.heapreplace(self._heap, entry)

    @property
    def worst(self) -> list[RecordDiff]:
        """Kept diffs, worst first; equal scores in record order."""
        return [entry[3] for entry in sorted(self._heap, key=lambda e: e[:3], reverse=True)]

    def per_tag(self) -> dict[str, TagCounts]:
        return {tag: self._tags[tag] for tag in sorted(self._tags)}

    def totals(self) -> TagCounts:
        total = TagCounts()
        for tally in self._tags.values():
            total.add(tally)
        return total

    def rates(self) -> dict[str, float]:
        total = self.totals()
        return {
            "fields_kept": _rate(total.fields_kept, total.fields_in),
            "subfields_exact": _rate(total.exact, total.subfields_in),
            "subfields_modulo": _rate(total.modulo, total.subfields_in),
            "subfields_identical_nfc": _rate(total.identical, total.subfields_in),
        }

    def classes(self) -> dict[str, int]:
        """Subfields of the originals by how they came back (:data:`CLASSES`); ``added`` counts
        the output's subfields that the originals did not have (a 336 the well always writes)."""
        total = self.totals()
        return {name: getattr(total, name) for name in CLASSES}

    def added_by_tag(self) -> dict[str, int]:
        return {tag: t.added for tag, t in self.per_tag().items() if t.added}

    def _sum_for(self, patterns: Iterable[str]) -> TagCounts:
        if isinstance(patterns, str):
            patterns = patterns.split("/")
        patterns = list(patterns)
        total = TagCounts()
        for tag, tally in self._tags.items():
            if any(_tag_matches(p, tag) for p in patterns):
                total.add(tally)
        return total

    def rate_for(self, tags: Iterable[str]) -> float:
        """Share of subfield values kept modulo punctuation in ``tags``.

        A pattern may use ``X`` as a wildcard digit ("1XX"); a single string may list
        alternatives with ``/`` ("260/264").
        """
        total = self._sum_for(tags)
        return _rate(total.modulo, total.subfields_in)

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "rates": self.rates(),
            "key_tags": {name: self.rate_for(tags) for name, tags in KEY_TAGS.items()},
            "classes": self.classes(),
            "added_by_tag": self.added_by_tag(),
            "tags": {tag: asdict(tally) for tag, tally in self.per_tag().items()},
            "worst": [
                {
                    "control_number": diff.control_number,
                    "number": diff.number,
                    "score": diff.score,
                    "lost": list(diff.lost),
                    "changed": [[before, after] for before, after in diff.changed],
                    "added": list(diff.added),
                }
                for diff in self.worst
            ],
        }

    def text(self, limit_worst: int = 5) -> str:
        total = self.totals()
        lines = [f"{'records':<18}{self.records:,}", ""]
        for label, part, whole in (
            ("fields kept", total.fields_kept, total.fields_in),
            ("subfields exact", total.exact, total.subfields_in),
            ("subfields modulo", total.modulo, total.subfields_in),
        ):
            lines.append(f"{label:<18}{_percent(_rate(part, whole))} %  ({part:,} / {whole:,})")
        lines += ["", "subfields, after Unicode NFC"]
        for name, n in self.classes().items():
            share = "" if name == "added" else f"{_percent(_rate(n, total.subfields_in))} %  "
            lines.append(f"{name.replace('_', '/'):<18}{share}{n:,}")
        added = self.added_by_tag()
        if added:
            lines.append("added, by tag      " + ", ".join(f"{t} {n:,}" for t, n in added.items()))

        lines += ["", "key tags, subfields identical modulo punctuation"]
        for name, tags in KEY_TAGS.items():
            tally = self._sum_for(tags)
            rate = _rate(tally.modulo, tally.subfields_in)
            lines.append(
                f"{name:<18}{_percent(rate)} %  ({tally.modulo:,} / {tally.subfields_in:,})"
            )

        heading = f"{'tag':<5}{'in':>10}{'out':>10}{'kept':>10}{'exact %':>10}{'modulo %':>10}"
        lines += ["", heading]
        for tag, tally in self.per_tag().items():
            # A tag only the output has has no original subfields to score.
            exact = _percent(tally.exact / tally.subfields_in) if tally.subfields_in else "-"
            modulo = _percent(tally.modulo / tally.subfields_in) if tally.subfields_in else "-"
            lines.append(
                f"{tag:<5}{tally.fields_in:>10,}{tally.fields_out:>10,}{tally.fields_kept:>10,}"
                f"{exact:>10}{modulo:>10}"
            )

        worst = self.worst[: max(limit_worst, 0)]
        if worst:
            lines += ["", f"worst records ({len(worst)} of {len(self._heap)} kept)"]
            for diff in worst:
                lines += [
                    "",
                    f"#{diff.number}  {diff.control_number or '(no 001)'}  score {diff.score}"
                    f"  ({len(diff.lost)} lost, {len(diff.changed)} changed,"
                    f" {len(diff.added)} added)",
                ]
                lines += _diff_lines(diff)
        return "\n".join(lines) + "\n"
