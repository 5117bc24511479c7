"""A least-recently-used cache bounded by the bytes its values hold, not by their number: one analysis of a small
photo and one of a 50-megapixel photo differ by orders of magnitude."""
from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

OBJECT_BYTES = 64  # what an object that holds no array or buffer is counted as


def approximate_nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """The bytes held by ``value``: its numpy arrays and byte strings, found through dataclasses, mappings and
    sequences (each object counted once); everything else as OBJECT_BYTES."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif isinstance(value, dict):
        parts = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        parts = list(value)
    else:
        return OBJECT_BYTES
    return OBJECT_BYTES + sum(approximate_nbytes(v, seen) for v in parts)


class ByteBudgetCache:
    """A mapping that keeps its most recently used values while their bytes (``size_of``) fit in ``budget``; a
    value larger than the whole budget is returned to its caller but not kept."""

    def __init__(self, budget: int, size_of: Callable[[Any], int] = approximate_nbytes) -> None:
        self.budget = budget
        self._size_of = size_of
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.nbytes = 0  # bytes of the values kept

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def items(self) -> list[tuple[Hashable, Any]]:
        """The kept (key, value) pairs, least recently used first (reading them changes no recency)."""
        return [(key, value) for key, (value, _) in self._items.items()]

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` (now the most recently used), or ``default``."""
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key][0]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value``, then drop the least recently used values until the rest fit in the budget."""
        self.pop(key)
        size = self._size_of(value)
        if size > self.budget:
            return
        self._items[key] = (value, size)
        self.nbytes += size
        while self.nbytes > self.budget:
            _, (_, dropped) = self._items.popitem(last=False)
            self.nbytes -= dropped

    def pop(self, key: Hashable) -> Any:
        """Forget ``key``; its value or None."""
        if key not in self._items:
            return None
        value, size = self._items.pop(key)
        self.nbytes -= size
        return value

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value of ``key``, computed (and kept) when missing."""
        if key in self._items:
            return self.get(key)
        value = compute()
        self.put(key, value)
        return value
