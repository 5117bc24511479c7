"""The run's JSON-lines log: one record per epoch (loss terms, val MAE and CS@5, learning rate, images/s)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of ``path``; none where it does not exist."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def append_record(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def rewrite_log(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace ``path`` with exactly ``records``, atomically (a temporary file renamed over it)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    os.replace(tmp, path)
