"""Which port ``serve`` listens on.

``--port auto`` takes 8000 when it is free and otherwise one the system chooses. ``make demo``
asks the same question before it loads the demo store (``python -m metadatabronn.cli.ports --host
H auto`` prints the address), so that the store's base IRI is the address it is then served at
and every IRI in it dereferences.

A port chosen this way is free when it is chosen; another program could still take it before the
server binds it, and the server then stops with the operating system's message.
"""

from __future__ import annotations

import argparse
import socket
import sys

DEFAULT_PORT = 8000
AUTO = "auto"


def parse_port(text: str) -> int | str:
    """An argparse type: ``auto``, or a port from 1 to 65535."""
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port number (1-65535) or 'auto' is wanted, not {text!r}") from None
    if not 1 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535 (or 'auto'), not {n}")
    return n


def _bind(host: str, port: int) -> int | None:
    """Bind (host, port) as the server would, and give the port bound, or None if it is taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise OSError(f"cannot listen at {host}: {exc.strerror or exc}") from None
    with socket.socket(family, kind, proto) as s:
        # uvicorn binds with SO_REUSEADDR: a port left in TIME_WAIT by a server just stopped is free
        # for it, and so it is here; a port something listens on is not, with or without it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError:
            return None
        return s.getsockname()[1]


def is_free(host: str, port: int) -> bool:
    return _bind(host, port) is not None


def choose(host: str, wanted: int | str, preferred: int = DEFAULT_PORT) -> int:
    """The port to serve at: ``wanted`` itself when it is a port; for ``auto``, ``preferred`` if it
    is free, else one the system gives."""
    if wanted != AUTO:
        return int(wanted)
    if is_free(host, preferred):
        return preferred
    port = _bind(host, 0)
    if port is None:
        raise OSError(f"no free port to listen on at {host}")
    return port


def address(host: str, port: int) -> str:
    """The address a person on this machine types: ``localhost`` for a loopback or wildcard host."""
    if host in ("127.0.0.1", "0.0.0.0", "::", "::1", "localhost", ""):
        name = "localhost"
    else:
        name = f"[{host}]" if ":" in host else host
    return f"http://{name}:{port}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m metadatabronn.cli.ports",
                                description="Print the address `serve --port PORT` would serve at.")
    p.add_argument("port", nargs="?", type=parse_port, default=AUTO, help="a port, or auto (default auto)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    args = p.parse_args(argv)
    try:
        if args.port != AUTO and not is_free(args.host, args.port):
            sys.stderr.write(f"port {args.port} is in use at {args.host}: give another PORT=, or PORT=auto\n")
            return 1
        port = choose(args.host, args.port)
    except OSError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write(address(args.host, port) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
