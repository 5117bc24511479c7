"""The Analyze page's cache: bounded by the bytes of what it keeps, least recently used dropped first."""
from dataclasses import dataclass

import numpy as np

from dldl_core.ui.analysis import PhotoAnalysis, display_copy
from dldl_core.ui.byte_cache import OBJECT_BYTES, ByteBudgetCache, approximate_nbytes

MB = 2**20


def block(megabytes: int) -> np.ndarray:
    return np.zeros(megabytes * MB, np.uint8)


def test_the_bytes_of_arrays_are_found_through_dataclasses_mappings_and_sequences():
    @dataclass
    class Holder:
        image: np.ndarray
        maps: dict
        name: str

    shared = block(1)
    holder = Holder(block(2), {"a": shared, "b": [shared, block(1)]}, "x" * 10)
    assert 4 * MB < approximate_nbytes(holder) < 4 * MB + 20 * OBJECT_BYTES  # the shared array counted once
    assert approximate_nbytes(b"abc") == 3 and approximate_nbytes(3.5) == OBJECT_BYTES


def test_the_least_recently_used_values_go_first_when_the_budget_is_full():
    cache = ByteBudgetCache(10 * MB)
    cache.put("a", block(4))
    cache.put("b", block(4))
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", block(4))  # 12 MB: "b" must go
    assert "a" in cache and "c" in cache and "b" not in cache
    assert cache.nbytes <= cache.budget and len(cache) == 2
    cache.put("a", block(1))  # replacing a value counts its new size only
    assert 5 * MB <= cache.nbytes < 6 * MB
    assert cache.pop("c") is not None and cache.pop("c") is None and cache.nbytes < 2 * MB


def test_a_value_larger_than_the_whole_budget_is_returned_but_not_kept():
    cache = ByteBudgetCache(8 * MB)
    cache.put("small", block(1))
    value = cache.get_or_compute("huge", lambda: block(9))
    assert value.nbytes == 9 * MB and "huge" not in cache and "small" in cache
    calls = []
    cache.get_or_compute("k", lambda: calls.append(1) or block(1))
    cache.get_or_compute("k", lambda: calls.append(1) or block(1))
    assert calls == [1]


def test_a_50_megapixel_photo_is_counted_by_its_kept_copy():
    photo = np.zeros((6000, 8400, 3), np.uint8)  # 50 MP, 151 MB decoded
    kept, scale = display_copy(photo)
    analysis = PhotoAnalysis("big.jpg", kept, scale=scale)
    assert approximate_nbytes(analysis) < 8 * MB  # what the cache holds of it
    cache = ByteBudgetCache(256 * MB)
    for i in range(60):
        cache.put(i, PhotoAnalysis(f"{i}.jpg", kept.copy(), scale=scale))
    assert cache.nbytes <= 256 * MB and 40 <= len(cache) < 60 and 59 in cache and 0 not in cache
