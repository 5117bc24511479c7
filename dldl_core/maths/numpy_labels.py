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


def bin_edges(support: np.ndarray) -> np.ndarray:
    """(K,) ages -> (K+1,) the edges of their bins: halfway between neighbours, the outer ones half a step out."""
    support = np.asarray(support, dtype=np.float64)
    if len(support) < 2:
        return np.concatenate([support, support])
    inner = (support[1:] + support[:-1]) / 2
    return np.concatenate([support[:1] - (inner[0] - support[0]), inner, support[-1:] + (support[-1] - inner[-1])])


def quantile(probs: np.ndarray, support: np.ndarray, q: float) -> np.ndarray:
    """(B, K) -> (B,) the q-quantile, each p_k spread evenly over the bin around l_k (``bin_edges``), so the
    quantiles agree with the expectation (a point mass at 30 has median 30); kept inside the support."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    c = np.pad(np.clip(np.cumsum(probs.astype(np.float64), axis=1), 0, 1), ((0, 0), (1, 0)))  # (B, K+1), a leading 0
    s = bin_edges(support)  # (K+1,)
    hi = np.clip((c < q).sum(1), 1, len(s) - 1)  # (B,) the first edge whose CDF reaches q (searchsorted, left)
    lo = hi - 1
    rows = np.arange(len(c))
    c_lo, c_hi = c[rows, lo], c[rows, hi]
    frac = np.clip((q - c_lo) / np.maximum(c_hi - c_lo, 1e-12), 0, 1)
    value = s[lo] + frac * (s[hi] - s[lo])
    return np.clip(value, np.min(support), np.max(support)).astype(probs.dtype)


def interval(probs: np.ndarray, support: np.ndarray, mass: float = 0.9) -> np.ndarray:
    """(B, K) -> (B, 2) the central interval holding ``mass`` of the distribution."""
    tail = (1.0 - mass) / 2
    return np.stack([quantile(probs, support, tail), quantile(probs, support, 1 - tail)], axis=1)
