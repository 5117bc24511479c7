"""The statistics of the age-stage analysis, from per-face numbers (never images) to what its report may claim.

Per cell (a region or strip in a stage): the mean change of the absolute error over the stage's faces, its 95 %
Student-t interval and the p-value of a one-sample t-test against 0 (dldl_core.maths.multiple_testing). Each table
(all regions x stages, all strips x stages) is one family: its p-values are Holm-adjusted together, and a cell is a
finding when its adjusted p is below ``ALPHA``. A finding replicates when, with the stage's faces split at random
(seeded) into two halves, it has the same sign in both and is significant in both (Holm over the findings of the
table, per half). Regions differ in size (2.6 % to 30 % of the chip), so effects are also given per ``AREA_UNIT``
of the chip's area, and compared with the CAM mass per unit of area by Spearman's rank correlation per stage.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import stats

from dldl_core.maths.multiple_testing import holm, mean_test

ALPHA = 0.05  # family-wise error rate of every table
AREA_UNIT = 0.1  # region effects per 10 % of the chip's area


def number(value: float) -> float | None:
    """A JSON-safe float: None for NaN or infinity."""
    return float(value) if value is not None and math.isfinite(value) else None


def split_halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of ``range(n)`` (seeded; the first has n // 2 items)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n // 2]), np.sort(order[n // 2:])


def column_stats(values: np.ndarray, halves: tuple[np.ndarray, np.ndarray]) -> list[dict[str, Any]]:
    """(n, K) per-face values -> per column its mean, standard error, 95 % half-width, p-value (t-test against 0)
    and the means and p-values of the two halves of the faces (JSON-safe: None where undefined)."""
    values = np.asarray(values, np.float64)
    values = values[:, None] if values.ndim == 1 else values
    columns = []
    for k in range(values.shape[1]):
        full = mean_test(values[:, k])
        parts = [mean_test(values[h, k]) for h in halves]
        columns.append({"mean": number(full.mean), "se": number(full.se), "ci95": number(full.ci95),
                        "p": number(full.p), "halves": [number(t.mean) for t in parts],
                        "halves_p": [number(t.p) for t in parts]})
    return columns


def holm_in_place(cells: Sequence[dict[str, Any]], key: str = "p", out: str = "p_holm") -> None:
    """Holm-adjust ``cell[key]`` over ``cells`` (one family; None counts as no test) into ``cell[out]``."""
    adjusted = holm([np.nan if c.get(key) is None else c[key] for c in cells])
    for cell, p in zip(cells, adjusted):
        cell[out] = number(p)


def mark_replication(cells: Sequence[dict[str, Any]], alpha: float = ALPHA) -> None:
    """Set ``cell["replicated"]``: None for cells that are no finding (``p_holm`` >= alpha), else whether both
    halves have the finding's sign and a p below alpha after Holm over the findings, per half."""
    findings = [c for c in cells if c.get("p_holm") is not None and c["p_holm"] < alpha]
    for c in cells:
        c["replicated"] = None
    if not findings:
        return
    half_holm = [holm([np.nan if f["halves_p"][h] is None else f["halves_p"][h] for f in findings]) for h in (0, 1)]
    for i, f in enumerate(findings):
        sign = np.sign(f["mean"])
        f["replicated"] = bool(all(f["halves"][h] is not None and np.sign(f["halves"][h]) == sign
                                   and half_holm[h][i] < alpha for h in (0, 1)))


def rank_agreement(cam_per_area: Sequence[float], effect_per_area: Sequence[float]) -> dict[str, float | None]:
    """Spearman's rank correlation across regions between the CAM mass per unit of area and the occlusion effect
    per unit of area, with its p-value (None where either is constant)."""
    a, b = (np.array([np.nan if v is None else v for v in x], np.float64) for x in (cam_per_area, effect_per_area))
    if len(a) < 3 or not (np.isfinite(a).all() and np.isfinite(b).all()) or np.ptp(a) == 0 or np.ptp(b) == 0:
        return {"rho": None, "p": None}
    result = stats.spearmanr(a, b)
    return {"rho": number(result.statistic), "p": number(result.pvalue)}


def disagreements(regions: dict[str, dict[str, Any]], cam_per_area: dict[str, float], alpha: float = ALPHA
                  ) -> list[dict[str, Any]]:
    """Regions where the map and occlusion disagree: the occlusion effect is a finding (Holm p < alpha) whose sign
    differs from the map's preference (more mass than area: +, less: -)."""
    out = []
    for name, row in regions.items():
        p, effect, ratio = (row.get("test") or {}).get("p_holm"), row.get("delta_mae"), cam_per_area.get(name)
        if p is None or p >= alpha or ratio is None or ratio == 1 or not effect:
            continue
        if (ratio > 1) != (effect > 0):
            out.append({"region": name, "cam_per_area": ratio, "delta_mae": effect, "p_holm": p})
    return out


def family(cells: Iterable[dict[str, Any]], alpha: float = ALPHA) -> int:
    """Holm-adjust and mark the replication of one family of cells in place; returns its number of tests."""
    cells = list(cells)
    holm_in_place(cells)
    mark_replication(cells, alpha)
    return sum(c.get("p") is not None for c in cells)


def correct_families(stages: dict[str, dict[str, Any]], targets: Sequence[str], alpha: float = ALPHA
                     ) -> dict[str, int]:
    """Holm over each family of a report's stage summaries, in place: the region cells, the strip cells, and the
    CAM-vs-occlusion rank agreements (one per stage and target, with the disagreeing regions); returns the number
    of tests per family."""
    sizes = {"regions": family((row["test"] for s in stages.values() for row in s["regions"].values()), alpha),
             "strips": family((cell for s in stages.values() for cell in s["strips"]["tests"]), alpha)}
    agreements = []
    for s in stages.values():
        s["agreement"] = {}
        for t in targets:
            ratios = {r: row["cam_per_area"].get(t) for r, row in s["regions"].items()}
            cell = rank_agreement(list(ratios.values()), [row["delta_mae_per_area"] for row in s["regions"].values()])
            cell["disagreements"] = disagreements(s["regions"], ratios, alpha)
            s["agreement"][t] = cell
            agreements.append(cell)
    holm_in_place(agreements)
    sizes["agreement"] = sum(c["p"] is not None for c in agreements)
    return sizes
