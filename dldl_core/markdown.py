"""Markdown that the package, the benchmarks and the scripts write into the docs: tables, and the blocks between
``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` markers that a command regenerates in place."""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

SMOKE = "smoke"  # the mark of a smoke run's block: <!-- NAME:begin smoke -->


def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A Markdown table, without a trailing newline; each cell is written with ``str``.

    Args:
        header: the column titles.
        rows: one sequence of cells per row, as many as ``header``.
        align: one letter per column, ``l`` (left, the default) or ``r`` (right, for numbers), e.g. ``"lrr"``.

    Raises:
        ValueError: ``align`` or a row whose length differs from the header's, or a letter other than l and r.
    """
    align = "l" * len(header) if align is None else align
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align needs one letter l or r per column ({len(header)}), got {align!r}")
    lines = [_row(header), "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(header)} columns: {list(row)}")
        lines.append(_row(row))
    return "\n".join(lines)


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _pattern(name: str) -> re.Pattern[str]:
    """A whole block: its begin marker (group 1: `` smoke`` or nothing), its text and its end marker."""
    return re.compile(rf"<!-- {re.escape(name)}:begin( {SMOKE})? -->.*?<!-- {re.escape(name)}:end -->", re.S)


def check_blocks(path: str | os.PathLike, names: Iterable[str]) -> None:
    """A ValueError naming the first of ``names`` whose markers the file lacks (checked before a long run)."""
    text = Path(path).read_text()
    for name in names:
        if not _pattern(name).search(text):
            raise ValueError(f"{path} has no <!-- {name}:begin --> ... <!-- {name}:end --> markers")


def write_blocks(path: str | os.PathLike, blocks: Mapping[str, str], smoke: bool = False,
                 append_missing: bool = False) -> list[str]:
    """Replace the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` of the file ``path`` by each
    block's body, in place: the rest of the file is kept as it was. Returns the names written.

    A smoke run (a check that a script works, not results) never replaces measured results: with ``smoke`` its blocks
    are marked ``<!-- NAME:begin smoke -->``, and a block whose begin marker lacks that mark is left as it is (and
    its name left out of the names written). A block without that mark replaces any block.

    Args:
        path: the Markdown file.
        blocks: marker name (e.g. ``bench:stages``) -> body, written between the markers on lines of its own.
        smoke: the bodies come from a smoke run.
        append_missing: a block whose markers the file lacks is appended at its end (the file is created if it does
            not exist) instead of being a ValueError.
    """
    path = Path(path)
    text = path.read_text() if path.is_file() else ""
    if not append_missing:
        check_blocks(path, blocks)
    written = []
    for name, body in blocks.items():
        block = f"<!-- {name}:begin{' ' + SMOKE if smoke else ''} -->\n{body}\n<!-- {name}:end -->"
        found = _pattern(name).search(text)
        if found is None:
            text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
        elif smoke and found.group(1) is None:
            continue
        else:
            text = text[:found.start()] + block + text[found.end():]
        written.append(name)
    if written:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return written
