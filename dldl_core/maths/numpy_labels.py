"""The read-outs of dldl_core.maths.labels in numpy, for the prediction path that runs without torch.

Same definitions and the same interpolation as the torch functions (the tests compare them): a support of K ages
l_k and distributions p_k over it, batched as (B, K).
"""
from __future__ import annotations

import numpy as np


def expectation(probs: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(B, K) -> (B,) the mean sum_k p_k l_k."""
    return probs @ support.astype(probs.dtype)


def variance(probs: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(B, K) -> (B,) sum_k p_k (l_k - mean)^2."""
    mean = expectation(probs, support)[:, None]  # (B, 1)
    return (probs * (support.astype(probs.dtype) - mean) ** 2).sum(1)


def standard_deviation(probs: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(B, K) -> (B,) sqrt(variance)."""
    return np.sqrt(np.clip(variance(probs, support), 0, None))


def quantile(probs: np.ndarray, support: np.ndarray, q: float) -> np.ndarray:
    """(B, K) -> (B,) the q-quantile, linear between the points (l_k, CDF_k) and starting at (l_0, 0)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    c = np.pad(np.clip(np.cumsum(probs.astype(np.float64), axis=1), 0, 1), ((0, 0), (1, 0)))  # (B, K+1), a leading 0
    s = np.concatenate([support[:1], support]).astype(np.float64)  # (K+1,)
    hi = np.clip((c < q).sum(1), 1, len(s) - 1)  # (B,) the first point whose CDF reaches q (searchsorted, left)
    lo = hi - 1
    rows = np.arange(len(c))
    c_lo, c_hi = c[rows, lo], c[rows, hi]
    frac = np.clip((q - c_lo) / np.maximum(c_hi - c_lo, 1e-12), 0, 1)
    return (s[lo] + frac * (s[hi] - s[lo])).astype(probs.dtype)


def interval(probs: np.ndarray, support: np.ndarray, mass: float = 0.9) -> np.ndarray:
    """(B, K) -> (B, 2) the central interval holding ``mass`` of the distribution."""
    tail = (1.0 - mass) / 2
    return np.stack([quantile(probs, support, tail), quantile(probs, support, 1 - tail)], axis=1)
