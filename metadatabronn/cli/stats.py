"""The ``stats`` command: loan deliveries in, the edition map synced, and the questions asked
(docs/architecture.md, "Loan statistics"). Every question syncs the edition map first (cheap when
nothing changed) and prints JSON, or CSV with ``--format csv``."""

from __future__ import annotations

import csv
import json
import re
import sys

from .. import config
from ..errors import DeliveryRejected, UsageError

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _period(text: str) -> str:
    import argparse

    if not _PERIOD.match(text):
        raise argparse.ArgumentTypeError(f"a period is YYYY-MM, not {text!r}")
    return text


def add_stats(sub, common) -> None:
    """The ``stats`` command and its subcommands, for the parser of :mod:`metadatabronn.cli`."""
    s = sub.add_parser("stats", help="loan statistics: load deliveries, sync the edition map, ask questions")
    verbs = s.add_subparsers(dest="stats_command", required=True)

    ld = verbs.add_parser("load", parents=[common], help="store a delivery file (CSV or JSON); it replaces "
                          "what the system delivered for the periods it holds")
    ld.add_argument("file", metavar="FILE")
    ld.add_argument("--system", required=True, help="the delivering library system")
    ld.add_argument("--partial", action="store_true", help="store the good rows and report the bad ones "
                    "(default: a delivery with a bad row stores nothing)")
    ld.set_defaults(func=_load)

    sy = verbs.add_parser("sync", parents=[common], help="bring the edition map (ISBN → manifestation → "
                          "expression → work) up to the store's change feed")
    sy.set_defaults(func=_sync)

    ask = __import__("argparse").ArgumentParser(add_help=False, parents=[common])
    ask.add_argument("--from", dest="frm", type=_period, metavar="YYYY-MM", help="first period (inclusive)")
    ask.add_argument("--to", type=_period, metavar="YYYY-MM", help="last period (inclusive)")
    ask.add_argument("--format", choices=["json", "csv"], default="json")
    ask.add_argument("--no-sync", action="store_true", help="answer from the edition map as it is")

    def question(name, help, fn, *args):
        q = verbs.add_parser(name, parents=[ask], help=help)
        for a in args:
            q.add_argument(a, metavar=a.upper())
        q.set_defaults(func=_ask, question=fn)
        return q

    w = question("work", "a work's loans per period, over all its editions and languages", "work", "iri")
    w.add_argument("--by", choices=["edition", "language"], help="split each period by edition (ISBN) or language")
    w.add_argument("--totals", action="store_true", help="totals for the range: in all, per edition, per language")
    question("expression", "an expression's loans per period", "expression", "iri")
    question("isbn", "one ISBN's loans per period", "isbn", "isbn")
    t = question("top", "the most lent works", "top")
    t.add_argument("-n", type=int, default=10)
    t.add_argument("--fiction", help="skjønn or fag (fiction, nonfiction)")
    t.add_argument("--audience", help="barn or voksen (children, adults)")
    t.add_argument("--borrower", help="barn, ungdom, voksen, institusjon or annet")
    question("languages", "loans per language of expression, translations apart from originals", "languages")
    question("creator", "a creator's works with their loans", "creator", "iri")
    u = question("unmatched", "the ISBNs the well does not know, most loans first", "unmatched")
    u.add_argument("-n", type=int, default=50)
    m = question("match-report", "per system and period: loans, loans matched to the well, share", "match")
    m.add_argument("--system")
    d = question("deliveries", "what each system delivered", "deliveries")
    d.add_argument("--system")


def _load(args) -> int:
    from ..pipeline.loans import load

    try:
        result = load(config.store_path(args.store), args.file, args.system, partial=args.partial)
    except DeliveryRejected as exc:
        json.dump({"system": exc.system, "stored": False, "problems": [p.as_dict() for p in exc.problems]},
                  sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        sys.stderr.write(f"metadatabronn: error: {exc}\n")
        return 1
    json.dump(result.as_dict(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


def _sync(args) -> int:
    from ..pipeline.loans import sync

    json.dump(sync(config.store_path(args.store)).as_dict(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def _category(value: str | None, table: dict[str, str], flag: str) -> str | None:
    if value is None:
        return None
    known = table.get(value.strip().lower())
    if known is None:
        raise UsageError(f"{flag} must be one of {', '.join(sorted(set(table.values())))}, not {value!r}")
    return known


def _ask(args) -> int:
    from ..pipeline.loans import sync
    from ..store.loans import Loans
    from ..store.loans.schema import AUDIENCE, BORROWER, FICTION

    store = config.store_path(args.store)
    if not store.is_dir():
        raise UsageError(f"no store at {store}")
    with Loans(store) as loans:
        if not args.no_sync:
            sync(store, loans)
        span = (args.frm, args.to)
        q = args.question
        if q == "work":
            answer = (loans.work_totals(args.iri, *span) if args.totals
                      else loans.work_series(args.iri, *span, by=args.by))
        elif q == "expression":
            answer = loans.expression_totals(args.iri, *span)
        elif q == "isbn":
            try:
                answer = loans.isbn_totals(args.isbn, *span)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        elif q == "top":
            answer = loans.top_works(*span, n=args.n, fiction=_category(args.fiction, FICTION, "--fiction"),
                                     audience=_category(args.audience, AUDIENCE, "--audience"),
                                     borrower=_category(args.borrower, BORROWER, "--borrower"))
        elif q == "languages":
            answer = loans.by_language(*span)
        elif q == "creator":
            answer = loans.creator_works(args.iri, *span)
        elif q == "unmatched":
            answer = loans.unmatched(*span, n=args.n)
        elif q == "match":
            answer = loans.match_report(args.system)
        else:
            answer = loans.deliveries(args.system)
    write(answer, args.format, sys.stdout)
    return 0


def write(answer, form: str, out) -> None:
    """JSON as it is; CSV of the list (of a totals object: its editions, with the work's columns)."""
    if form == "json":
        json.dump(answer, out, ensure_ascii=False, indent=1)
        out.write("\n")
        return
    rows = answer
    if isinstance(answer, dict):
        rows = [{"work": answer["work"], **e} for e in answer["editions"]]
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    w = csv.DictWriter(out, fieldnames=names or ["period", "loans"], lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()})
