"""Accuracy metrics of age estimation: pure functions over arrays of predicted and true ages."""
from __future__ import annotations

import numpy as np

from dldl_core.maths.age_groups import AGE_BANDS, age_band, group_names


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(true))))


def cs_at(pred: np.ndarray, true: np.ndarray, k: float = 5) -> float:
    """Cumulative score: the share of estimates within ``k`` years."""
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(true)) <= k))


def interval_coverage(intervals: np.ndarray, true: np.ndarray) -> float:
    """Share of true ages inside their (N, 2) predicted intervals (ends included); a calibrated 90 % interval
    covers about 0.9 of them."""
    intervals, true = np.asarray(intervals, np.float64), np.asarray(true, np.float64)
    return float(np.mean((intervals[:, 0] <= true) & (true <= intervals[:, 1])))


def gross_error_share(pred: np.ndarray, true: np.ndarray, limit: float = 15.0) -> float:
    """Share of estimates more than ``limit`` years off."""
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(true, np.float64)) > limit))


def e_error(pred: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> float:
    """mean(1 - exp(-(y_hat - mu)^2 / 2 sigma^2)), the ChaLearn error."""
    pred, mu, sigma = map(np.asarray, (pred, mu, sigma))
    return float(np.mean(1 - np.exp(-((pred - mu) ** 2) / (2 * sigma**2))))


def group_table(pred: np.ndarray, true: np.ndarray, groups: np.ndarray) -> dict[str, dict[str, float]]:
    """{group: {"n", "mae", "bias"}} where bias is the mean signed error (positive: estimated too old)."""
    pred, true, groups = np.asarray(pred), np.asarray(true), np.asarray(groups)
    table = {}
    for g in dict.fromkeys(groups.tolist()):
        m = groups == g
        table[str(g)] = {"n": int(m.sum()), "mae": mae(pred[m], true[m]), "bias": float(np.mean(pred[m] - true[m]))}
    return table


def per_band(pred: np.ndarray, true: np.ndarray) -> dict[str, dict[str, float]]:
    """MAE and bias per age band of the true age (dldl_core.maths.age_groups.AGE_BANDS), bands in order; an empty
    band has n = 0 and None for the rest. A negative or non-finite true age is a ValueError."""
    table = group_table(pred, true, np.array([age_band(a) for a in np.asarray(true)]))
    return {name: table.get(name, {"n": 0, "mae": None, "bias": None}) for name in group_names(AGE_BANDS)}
