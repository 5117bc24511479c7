"""Tests of a mean against zero and their correction over a family of tests (Holm 1979)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class MeanTest:
    """A mean over items with its standard error, 95 % Student-t half-width and two-sided p-value (H0: mean 0)."""

    mean: float
    se: float
    ci95: float  # half-width: the interval is mean +- ci95
    p: float


def mean_test(values: np.ndarray) -> MeanTest:
    """One-sample Student t-test of ``values`` against 0; NaN for the spread and p below two values, p 1 when
    every value is the same 0 and p 0 when every value is the same non-zero number."""
    values = np.asarray(values, np.float64).ravel()
    mean = float(values.mean()) if values.size else math.nan
    if values.size < 2:
        return MeanTest(mean, math.nan, math.nan, math.nan)
    se = float(values.std(ddof=1) / math.sqrt(values.size))
    if se == 0:
        return MeanTest(mean, 0.0, 0.0, 1.0 if mean == 0 else 0.0)
    p = float(2 * stats.t.sf(abs(mean) / se, values.size - 1))
    return MeanTest(mean, se, float(stats.t.ppf(0.975, values.size - 1) * se), p)


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values of one family of tests, in the input's order.

    The i-th smallest of m p-values is multiplied by m - i + 1 (i from 1), the running maximum is taken in that
    order and the result is capped at 1; a test is rejected at level alpha when its adjusted p is below alpha. NaN
    entries (tests that could not be made) stay NaN and do not count in m.
    """
    p = np.asarray(p_values, np.float64)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    if m == 0:
        return adjusted
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = p[order] * (m - np.arange(m))
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted
