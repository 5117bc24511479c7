"""Forbid every network connection, loopback included, and record each attempt.

In a test: ``undo = forbid_network(attempts)``. For a whole program, from its first line on::

    python tests/no_network.py ATTEMPTS.json -m dldl_core predict photo.jpg

runs ``python -m dldl_core predict photo.jpg`` with the guard installed before anything is imported and writes
the attempts (a JSON list, empty when there were none) to ATTEMPTS.json when the program exits. The guard covers
Python's socket module (connect, connect_ex, sendto, create_connection and name resolution); native code that
opens sockets by itself is not seen.
"""
from __future__ import annotations

import socket
from collections.abc import Callable


def forbid_network(attempts: list[str]) -> Callable[[], None]:
    """Make every connection and name lookup raise OSError, appending a description of each attempt to
    ``attempts``; returns the function that restores the socket module."""
    saved = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto")}
    saved_module = {name: getattr(socket, name) for name in
                    ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex")}

    def refuse(what: str):
        def blocked(*args, **kwargs):
            shown = [a for a in args if not isinstance(a, socket.socket)]
            attempts.append(f"{what}{tuple(shown)!r}")
            raise OSError(f"network access is forbidden here ({what})")
        return blocked

    for name in saved:
        setattr(socket.socket, name, refuse(f"socket.{name}"))
    for name in saved_module:
        setattr(socket, name, refuse(name))

    def undo() -> None:
        for name, value in saved.items():
            setattr(socket.socket, name, value)
        for name, value in saved_module.items():
            setattr(socket, name, value)
    return undo


def main() -> None:
    import atexit
    import json
    import runpy
    import sys

    report, flag, module, *args = sys.argv[1:]
    if flag != "-m":
        raise SystemExit("usage: no_network.py ATTEMPTS.json -m MODULE [ARGS...]")
    attempts: list[str] = []
    forbid_network(attempts)

    def write() -> None:
        with open(report, "w") as f:
            json.dump(attempts, f)
    atexit.register(write)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
