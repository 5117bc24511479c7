"""Two networks on the very same faces: the difference of their MAE and gross-error share, with paired bootstrap
intervals over the faces. Pure functions over arrays; a face that one of them missed (NaN) is left out of both."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dldl_core.markdown import markdown_table
from dldl_core.maths.intervals import paired_bootstrap

GROSS_YEARS = 15.0  # an error above this is gross, as in dldl_core.maths.metrics.gross_error_share


def compare_errors(true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, n_boot: int = 2000,
                   seed: int = 0) -> dict[str, Any]:
    """``a`` against ``b`` on the faces both found: n, each MAE and gross-error share, and ``a`` minus ``b`` of both
    with its 95 % paired bootstrap interval (negative: ``a`` is better). Faces are resampled together, so what the
    two share (a hard face) cancels out of the interval."""
    true, pred_a, pred_b = (np.asarray(x, np.float64) for x in (true, pred_a, pred_b))
    both = ~(np.isnan(pred_a) | np.isnan(pred_b) | np.isnan(true))
    err_a, err_b = np.abs(pred_a[both] - true[both]), np.abs(pred_b[both] - true[both])
    result: dict[str, Any] = {"n": int(both.sum())}
    if not both.any():
        return result
    gross_a, gross_b = (err_a > GROSS_YEARS).astype(float), (err_b > GROSS_YEARS).astype(float)
    mae_diff = paired_bootstrap(err_a, err_b, n_boot=n_boot, seed=seed)
    gross_diff = paired_bootstrap(gross_a, gross_b, n_boot=n_boot, seed=seed)
    return result | {"mae_a": float(err_a.mean()), "mae_b": float(err_b.mean()),
                     "mae_diff": mae_diff[0], "mae_diff_low": mae_diff[1], "mae_diff_high": mae_diff[2],
                     "gross_a": float(gross_a.mean()), "gross_b": float(gross_b.mean()),
                     "gross_diff": gross_diff[0], "gross_diff_low": gross_diff[1], "gross_diff_high": gross_diff[2]}


def verdict(row: Mapping[str, Any]) -> str:
    """Which network the MAE interval favours: "a", "b" or "tie" (the interval holds 0)."""
    if row.get("n", 0) == 0:
        return "-"
    if row["mae_diff_high"] < 0:
        return "a"
    return "b" if row["mae_diff_low"] > 0 else "tie"


def comparison_table(rows: Mapping[str, Mapping[str, Any]], a: str, b: str) -> str:
    """A Markdown table with one row per named comparison (a pipeline or a wild-proxy condition)."""
    cells = []
    for name, row in rows.items():
        if row.get("n", 0) == 0:
            cells.append([name, 0, "-", "-", "-", "-", "-"])
            continue
        better = {"a": a, "b": b, "tie": "neither (interval holds 0)"}[verdict(row)]
        mae = f"{row['mae_diff']:+.3f} [{row['mae_diff_low']:+.3f}, {row['mae_diff_high']:+.3f}]"
        gross = (f"{100 * row['gross_diff']:+.1f} [{100 * row['gross_diff_low']:+.1f}, "
                 f"{100 * row['gross_diff_high']:+.1f}]")
        cells.append([name, row["n"], f"{row['mae_a']:.3f}", f"{row['mae_b']:.3f}", mae, gross, better])
    return markdown_table(["faces", "n (both found)", f"MAE `{a}`", f"MAE `{b}`", "MAE a - b [95 %]",
                           "gross-error points a - b [95 %]", "better MAE"], cells, align="lrrrrrl")
