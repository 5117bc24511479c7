"""The ``dldl`` command line: train, evaluate, predict (and more, one sub-command per concern).

User errors (a bad image, a missing file, a weights file that fails its hash) print one line and exit 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable, Sequence

from dldl_core.images import ImageError
from dldl_core.weights import WeightsError

USER_ERRORS = (ImageError, WeightsError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help_text: str):
    """Register ``add_arguments`` for a sub-command; the decorated function runs it and returns the exit code."""
    def wrap(run: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = (help_text, run)
        return run
    return wrap


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False, default=float) + "\n")


def build_parser() -> argparse.ArgumentParser:
    from dldl_core import commands  # noqa: F401  (registers the sub-commands)

    parser = argparse.ArgumentParser(prog="dldl", description="DLDL-v2 age estimation with explanations.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        getattr(run, "add_arguments")(p)
        p.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"dldl: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dldl: interrupted", file=sys.stderr)
        return 130
