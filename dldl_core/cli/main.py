"""The ``dldl`` command line: train, evaluate, predict (and more, one sub-command per concern).

User errors (a bad image, a missing file, a weights file that fails its hash) print one line and exit 2.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from dldl_core.cli import app, bench, explain, export, predict, sanity, train
from dldl_core.data.images import ImageError
from dldl_core.models.sidecar import WeightsError

USER_ERRORS = (ImageError, WeightsError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)
# Every sub-command, in the order of the help. Each module imports only what building its options needs (no torch),
# so that ``dldl predict`` with a shipped network stays torch-free; the heavy imports happen when a command runs.
COMMANDS = (*train.COMMANDS, *predict.COMMANDS, *app.COMMANDS, *explain.COMMANDS, *sanity.COMMANDS, *bench.COMMANDS,
            *export.COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dldl", description="DLDL-v2 age estimation with explanations.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if not args.verbose:  # Pillow logs lines of its own about a malformed file; the user error says it in one line
        logging.getLogger("PIL").setLevel(logging.CRITICAL)
    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"dldl: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a program that stopped reading (head, less)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("dldl: interrupted", file=sys.stderr)
        return 130
