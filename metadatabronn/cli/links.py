"""The ``link-report`` command: the headings no authority record covers, by frequency."""

from __future__ import annotations

import json
import sys

from .common import store_base


def add_link_report(sub, common) -> None:
    r = sub.add_parser("link-report", parents=[common],
                       help="the agents and concepts headings named that no authority record covers, the most "
                            "named first, each with why and the nearest authorities by name")
    r.add_argument("--limit", type=int, default=None, help="at most this many (default: all)")
    r.add_argument("--candidates", type=int, default=3, help="nearest authorities shown for each (default 3)")
    r.add_argument("--json", action="store_true", help="one JSON object a line")
    r.set_defaults(func=_link_report)


def _link_report(args) -> int:
    from ..pipeline.linking import report
    from ..store import Store
    from .store import _existing_store

    path = _existing_store(args.store)
    store = Store(path, store_base(path, args.base_iri), read_only=True)
    try:
        entries = report(store, args.limit, args.candidates)
    finally:
        store.close()
    out = sys.stdout
    if args.json:
        for e in entries:
            out.write(json.dumps(e.to_json(), ensure_ascii=False) + "\n")
        return 0
    out.write(f"{len(entries)} heading entities not linked to an authority record\n")
    for e in entries:
        out.write(f"\n{e.records:6d}  {e.kind:9s} {e.name or '(no name)'}\n        {e.entity}\n        {e.reason}\n")
        for iri, name, matched in e.candidates:
            out.write(f"        candidate: {name}" + (f" (by the variant {matched})" if matched else "") + f"  {iri}\n")
    return 0
