"""The ``isni`` commands: requests for ISNI, ISNI's answers taken in, the review list and its
decisions (:mod:`metadatabronn.pipeline.isni`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import UsageError


def add_isni(sub, common, whole_number) -> None:
    """The ``isni`` command and its subcommands, for the parser of :mod:`metadatabronn.cli`."""
    k = sub.add_parser("isni", help="ISNI assignment: requests for new and changed persons and corporate bodies, "
                       "ISNI's answers, the review of possible matches")
    verbs = k.add_subparsers(dest="isni_command", required=True)
    requestor = ("the requestor code: the requestor's identifier of an agent without an authority record is "
                 "(CODE)AGENT-ID (env METADATABRONN_ISNI_REQUESTOR, default metadatabronn)")

    r = verbs.add_parser("requests", parents=[common], help="write an ISNI AtomPub request for each person and "
                         "corporate body created or changed since a date that has no ISNI")
    r.add_argument("--since", required=True, help="ISO 8601 date or time: agents created or changed since then")
    r.add_argument("--out", required=True, help="directory for the request files, one AGENT-ID.xml each")
    r.add_argument("--titles", type=whole_number(0), help="titles of works the agent created sent with each "
                   "request, at most (env METADATABRONN_ISNI_TITLES, default 10)")
    r.add_argument("--requestor", help=requestor)
    r.add_argument("--report", help="write the summary, with every agent written or skipped and why, as JSON")
    r.set_defaults(func=_requests)

    a = verbs.add_parser("responses", parents=[common], help="take in ISNI's answers (a directory of *.xml, each "
                         "named AGENT-ID.xml as its request was): assigned ISNIs become the agents' identifiers, "
                         "possible matches go to the review list")
    a.add_argument("folder", metavar="DIR")
    a.add_argument("--requestor", help=requestor)
    a.add_argument("--report", help="write the summary as JSON to this file")
    a.set_defaults(func=_responses)

    v = verbs.add_parser("review", parents=[common], help="the agents ISNI answered with possible matches")
    v.add_argument("--all", action="store_true", help="decided ones too")
    v.add_argument("--json", action="store_true", help="one JSON object a line")
    v.set_defaults(func=_review)

    d = verbs.add_parser("decide", parents=[common], help="decide on an agent of the review list: give its ISNI, "
                         "or --reject the candidates")
    d.add_argument("agent", metavar="AGENT", help="the agent's IRI or id")
    d.add_argument("isni", metavar="ISNI", nargs="?", help="the ISNI that is this agent's (16 characters, spaces "
                   "allowed)")
    d.add_argument("--reject", action="store_true", help="none of the candidates is this agent")
    d.set_defaults(func=_decide)


def _open(args, *, read_only: bool = False):
    from ..store import Store
    from .common import store_base
    from .store import _existing_store

    path = _existing_store(args.store)
    return Store(path, store_base(path, args.base_iri), read_only=read_only)


def _requests(args) -> int:
    from ..pipeline import isni
    from ..store.catalogue import Catalogue
    from .store import _since

    since = _since(args.since)
    titles = isni.title_count(args.titles)
    code = isni.requestor_code(args.requestor)
    store = _open(args, read_only=True)
    cat = Catalogue(store.path, read_only=True)
    try:
        summary = isni.requests(store, cat, since, Path(args.out), titles=titles, requestor=code)
    finally:
        cat.close()
        store.close()
    result = summary.as_dict()
    if args.report:
        Path(args.report).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    skipped = sum(result["skipped"].values())
    sys.stdout.write(f"{result['written']:,} requests written to {args.out} ({result['titles']:,} titles); "
                     f"{skipped:,} agents not sent\n")
    for reason, n in result["skipped"].items():
        sys.stdout.write(f"  {n:,} {reason}\n")
    return 0


def _responses(args) -> int:
    from ..pipeline import isni

    code = isni.requestor_code(args.requestor)
    store = _open(args)
    try:
        summary = isni.responses(store, Path(args.folder), requestor=code)
    finally:
        store.close()
    result = summary.as_dict()
    if args.report:
        Path(args.report).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stdout.write(f"{result['assigned']:,} ISNIs written, {result['review']:,} agents to review, "
                     f"{result['conflicts']:,} in conflict with an ISNI they have, {result['provisional']:,} "
                     f"provisional, {result['rejected']:,} rejected, {result['unchanged']:,} taken in before\n")
    for agent, has, answered in summary.conflicts:
        sys.stdout.write(f"  conflict: {agent} has {has}, ISNI answered {answered} (on the review list)\n")
    for agent, reason in summary.rejected:
        sys.stdout.write(f"  rejected: {agent}: {reason}\n")
    return 0


def _review(args) -> int:
    from ..isni.checksum import grouped
    from ..store.authorities import reviews

    store = _open(args, read_only=True)
    try:
        entries = [r for r in reviews(store) if args.all or not r.decision]
    finally:
        store.close()
    for r in entries:
        if args.json:
            sys.stdout.write(json.dumps({"agent": r.agent, "candidates": r.candidates, "response": r.response,
                                         "decision": r.decision, "time": r.when}, ensure_ascii=False) + "\n")
            continue
        state = f" [{r.decision}]" if r.decision else ""
        sys.stdout.write(f"{r.agent}{state} ({r.response})\n")
        for c in r.candidates:
            isni = grouped(c["isni"]) if c.get("isni") else "no ISNI yet"
            extra = f" score {c['score']}" if c.get("score") else ""
            sys.stdout.write(f"  PPN {c.get('ppn') or '?'}: {isni}{extra}{' ' + c['note'] if c.get('note') else ''}\n")
    if not args.json:
        sys.stderr.write(f"{len(entries):,} agents{'' if args.all else ' to review'}\n")
    return 0


def _decide(args) -> int:
    from ..pipeline import isni

    if args.reject == bool(args.isni):
        raise UsageError("give either the agent's ISNI or --reject")
    store = _open(args)
    try:
        sys.stdout.write(isni.decide(store, args.agent, None if args.reject else args.isni) + "\n")
    finally:
        store.close()
    return 0

