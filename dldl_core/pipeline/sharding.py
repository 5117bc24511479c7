"""Splitting a list of images between n copies of a command (``--shard i/n``) that a cluster scheduler starts.

A path belongs to shard crc32(path) mod n: the split does not depend on the other paths, so it stays the same when
images are added to a folder between an interrupted run and its resumption.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n; a ValueError in one sentence otherwise."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = -1
    if not sep or n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard must be i/n with 0 <= i < n (e.g. 0/4 ... 3/4), got {text!r}")
    return i, n


def shard_of(path: str, count: int) -> int:
    """The shard, 0 to ``count`` - 1, that ``path`` (as spelt) belongs to."""
    return zlib.crc32(path.encode("utf-8", "surrogateescape")) % count


def in_shard(paths: Iterable[str], index: int, count: int) -> Iterator[str]:
    """The paths of shard ``index`` of ``count``, in their order."""
    return (p for p in paths if shard_of(p, count) == index)
