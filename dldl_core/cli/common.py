"""What every sub-command module of the ``dldl`` command line shares: the command record and strict JSON output."""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A sub-command: its name, its one-line help, what declares its options and what runs it (returning the exit
    code). Each module of dldl_core.cli lists its commands in ``COMMANDS``; dldl_core.cli.main gathers them."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


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
