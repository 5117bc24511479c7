"""The ``dldl`` command line: train, evaluate, predict (and more, one sub-command per concern).

User errors (a bad image, a missing file, a weights file that fails its hash) print one line and exit 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence

from dldl_core.data.images import ImageError
from dldl_core.models.sidecar import WeightsError

USER_ERRORS = (ImageError, WeightsError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)
COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {}
# Modules whose import registers sub-commands with @command; each concern keeps its commands beside its code.
COMMAND_MODULES = ("dldl_core.cli.commands", "dldl_core.cli.explain_commands", "dldl_core.cli.bench_commands")


def command(name: str, help_text: str):
    """Register a sub-command: the decorated function runs it and returns the exit code; its ``add_arguments``
    attribute (set with ``arguments``) declares its options."""
    def wrap(run: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = (help_text, run)
        return run
    return wrap


def arguments(add: Callable[[argparse.ArgumentParser], None]):
    """Attach the option declarations of a sub-command (use under ``@command``)."""
    def attach(run):
        run.add_arguments = add
        return run
    return attach


def json_ready(data: object) -> object:
    """``data`` as strict JSON values: numpy arrays and scalars as Python lists and numbers, NaN and infinities as
    None (null), so that what is printed parses everywhere (Python's ``json`` alone would write the invalid NaN)."""
    if isinstance(data, dict):
        return {key: json_ready(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_ready(value) for value in data]
    if hasattr(data, "tolist"):  # numpy arrays and scalars
        return json_ready(data.tolist())
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(json_ready(data), indent=2, allow_nan=False, default=float) + "\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    for module in COMMAND_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name is None or not module.startswith(err.name):  # present but broken: a bug, raise it
                raise

    parser = argparse.ArgumentParser(prog="dldl", description="DLDL-v2 age estimation with explanations.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        run.add_arguments(p)
        p.set_defaults(run=run)
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
