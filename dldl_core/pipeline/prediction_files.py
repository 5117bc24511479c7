"""The files ``dldl predict`` writes (``--csv``: one row per face; ``--jsonl``: one JSON object per image), written
image by image, and read back to resume an interrupted run.

Resuming keeps every image a file already holds in full and drops a cut-off last line; the last image of a CSV is
dropped as well and predicted again (its rows may have been cut between faces). With both files, an image counts as
done only when both hold it, and each file is rewritten to hold exactly the done images before new ones are appended.
A CSV written by an earlier version (without the ``grain`` column) is rewritten with this version's header, its rows
given an empty ``grain`` cell, so that every row of the resumed file has the header's columns.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Self

from dldl_core.pipeline.prediction import ImagePrediction, finite

CSV_COLUMNS = ("path", "face", "x0", "y0", "x1", "y1", "score", "confirmation", "age", "std", "lo90", "hi90", "grain",
               "error")
NO_FACE = 0  # the face column of the one row of an image without a face
EARLIER_CSV_COLUMNS = tuple(c for c in CSV_COLUMNS if c != "grain")  # before the grain level was reported


def csv_rows(result: ImagePrediction) -> list[list[Any]]:
    """The CSV rows of one image: one per face, or one with the error, or one with face 0 when no face was found.
    A value the network cannot give (std and interval without a distribution) is an empty cell."""
    if result.error is not None:
        return [[result.path, *[""] * (len(CSV_COLUMNS) - 2), result.error]]
    if not result.faces:
        return [[result.path, NO_FACE, *[""] * (len(CSV_COLUMNS) - 2)]]
    return [[result.path, i + 1, *(finite(v, 1) for v in face.box), finite(face.score, 4),
             finite(face.confirmation, 4), finite(face.age, 2), finite(face.std, 2),
             *(finite(v, 2) for v in face.interval90), finite(face.grain, 4), ""]
            for i, face in enumerate(result.faces)]


def csv_text(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def jsonl_text(result: ImagePrediction) -> str:
    return json.dumps(result.to_json(), allow_nan=False) + "\n"


def complete_lines(path: Path) -> str:
    """The file's text up to and including its last newline (a line cut off by an interruption is dropped)."""
    with open(path, newline="") as f:
        text = f.read()
    return text[:text.rfind("\n") + 1]


def read_csv_records(path: Path) -> list[tuple[str, list[str]]]:
    """(path, row) of each row of a predict CSV, without the last image's rows (which may be incomplete)."""
    rows = list(csv.reader(io.StringIO(complete_lines(path))))
    if not rows:
        return []
    header = tuple(rows[0])
    if header == EARLIER_CSV_COLUMNS:  # an empty grain cell: the earlier version did not measure it
        grain = CSV_COLUMNS.index("grain")
        rows[1:] = [[*row[:grain], "", *row[grain:]] if len(row) == len(header) else row for row in rows[1:]]
    elif header != CSV_COLUMNS:
        raise ValueError(f"--resume: {path} is not a CSV that dldl predict wrote: its header is not "
                         f"{','.join(CSV_COLUMNS)}")
    records = [(row[0], row) for row in rows[1:] if row]
    last = records[-1][0] if records else None
    return [r for r in records if r[0] != last]


def read_jsonl_records(path: Path) -> list[tuple[str, str]]:
    """(path, line) of each complete line of a predict JSON Lines file."""
    records = []
    for number, line in enumerate(complete_lines(path).splitlines(), 1):
        try:
            records.append((json.loads(line)["path"], line + "\n"))
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"--resume: line {number} of {path} is not an image that dldl predict wrote") from None
    return records


class PredictionFiles:
    """The ``--csv`` and ``--jsonl`` outputs of a run, opened fresh or, with ``resume``, repaired and appended to;
    ``done`` holds the paths they already hold in full."""

    def __init__(self, csv_path: str | os.PathLike | None = None, jsonl_path: str | os.PathLike | None = None,
                 resume: bool = False) -> None:
        self.csv_path = Path(csv_path) if csv_path else None
        self.jsonl_path = Path(jsonl_path) if jsonl_path else None
        if resume and not (self.csv_path or self.jsonl_path):
            raise ValueError("--resume needs --csv or --jsonl: the output whose images it skips")
        self.done: set[str] = set()
        if resume:
            self._repair()
        self._csv = self._open(self.csv_path, resume, csv_text([list(CSV_COLUMNS)]))
        self._jsonl = self._open(self.jsonl_path, resume, "")

    def _repair(self) -> None:
        """Keep in each existing file the images that every file holds; ``done`` is that set."""
        existing = {}
        if self.csv_path and self.csv_path.is_file():
            existing[self.csv_path] = read_csv_records(self.csv_path)
        if self.jsonl_path and self.jsonl_path.is_file():
            existing[self.jsonl_path] = read_jsonl_records(self.jsonl_path)
        wanted = [p for p in (self.csv_path, self.jsonl_path) if p]
        if len(existing) < len(wanted):
            return  # a missing output: every image is predicted again, and the files written afresh
        self.done = set.intersection(*({p for p, _ in records} for records in existing.values()))
        for path, records in existing.items():
            kept = [r for p, r in records if p in self.done]
            text = csv_text([list(CSV_COLUMNS), *kept]) if path == self.csv_path else "".join(kept)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, newline="")
            os.replace(tmp, path)

    def _open(self, path: Path | None, resume: bool, header: str):
        if path is None:
            return None
        if resume and self.done:
            return open(path, "a", newline="")
        f = open(path, "w", newline="")  # noqa: SIM115 - held open for the run, closed by close()
        f.write(header)
        return f

    def write(self, result: ImagePrediction) -> None:
        """Append one image to every output and flush, so an interruption loses at most the image being written."""
        if self._csv:
            self._csv.write(csv_text(csv_rows(result)))
            self._csv.flush()
        if self._jsonl:
            self._jsonl.write(jsonl_text(result))
            self._jsonl.flush()

    def close(self) -> None:
        for f in (self._csv, self._jsonl):
            if f:
                f.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
