"""The ``keys`` command: API keys for machine clients that write to the well (add, list, revoke)."""

from __future__ import annotations

import json
import sys

from .. import config


def add_keys(sub, common) -> None:
    """The ``keys`` command and its subcommands, for the parser of :mod:`metadatabronn.cli`."""
    k = sub.add_parser("keys", help="API keys for clients that write over HTTP: add, list, revoke")
    verbs = k.add_subparsers(dest="keys_command", required=True)
    where = "the keys file (env METADATABRONN_API_KEYS, default STORE/api-keys.json)"

    a = verbs.add_parser("add", parents=[common], help="make a key; it is printed once, only its hash is kept")
    a.add_argument("name", metavar="NAME", help="who uses the key (a system, a partner's service); "
                   "the audit log and provenance name it")
    a.add_argument("--org", required=True, help="the organisation the key writes for")
    a.add_argument("--scope", action="append", default=[], metavar="SCOPE",
                   help="repeatable: write:work, write:agent, write:concept, ingest, merge, stats:deliver "
                   "(loan deliveries), admin (all), read")
    a.add_argument("--keys-file", help=where)
    a.set_defaults(func=_add)

    ls = verbs.add_parser("list", parents=[common], help="the keys, without their secrets")
    ls.add_argument("--keys-file", help=where)
    ls.add_argument("--json", action="store_true", help="one JSON object a line")
    ls.set_defaults(func=_list)

    r = verbs.add_parser("revoke", parents=[common], help="revoke a key by its name or id; a running "
                         "server refuses it from its next request")
    r.add_argument("name", metavar="NAME")
    r.add_argument("--keys-file", help=where)
    r.set_defaults(func=_revoke)


def _path(args):
    from ..web.apikeys import default_keys_file

    return default_keys_file(config.store_path(args.store), flag=args.keys_file)


def _add(args) -> int:
    from ..web.apikeys import add_key

    path = _path(args)
    secret, key = add_key(path, args.name, args.org, args.scope)
    sys.stdout.write(secret + "\n")
    sys.stderr.write(f"API key {key.name!r} ({key.id}) for {key.org}, scopes {' '.join(key.scopes)}, kept in "
                     f"{path}. The key above is shown this once; give it to the client as "
                     "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.\n")
    return 0


def _list(args) -> int:
    from ..web.apikeys import read_keys

    keys = read_keys(_path(args))
    for key in keys:
        if args.json:
            sys.stdout.write(json.dumps(key.public(), ensure_ascii=False) + "\n")
        else:
            state = f"revoked {key.revoked}" if key.revoked else "live"
            sys.stdout.write(f"{key.name}\t{key.id}\t{key.org}\t{' '.join(key.scopes)}\t{key.created}\t{state}\n")
    return 0


def _revoke(args) -> int:
    from ..web.apikeys import revoke_key

    for key in revoke_key(_path(args), args.name):
        sys.stderr.write(f"revoked API key {key.name!r} ({key.id}) of {key.org}\n")
    return 0
