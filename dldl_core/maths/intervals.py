"""Confidence intervals for comparisons: over training seeds (Student t) and over test faces (paired bootstrap)."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its two-sided Student-t interval; NaN bounds for fewer than two values."""
    values = np.asarray(values, np.float64)
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return mean, mean - half, mean + half


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                     ) -> tuple[float, float, float]:
    """Mean of ``a - b`` over items and its percentile bootstrap interval, items resampled with replacement.

    ``a`` and ``b`` are per-item scores of two systems on the same items (last axis); leading axes (e.g. seeds)
    are averaged first, so the interval reflects the sampling of the items only."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    diff = diff.reshape(-1, diff.shape[-1]).mean(0)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, (n_boot, diff.size))].mean(1)
    lo, hi = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
    return float(diff.mean()), float(lo), float(hi)
