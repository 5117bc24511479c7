"""The smiles benchmark's summary (benchmarks/smiles.py): per expression, how good the estimate is on chips and in
photos, and a Markdown table for the README and the model card. Pure functions; NaN marks a face not found."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dldl_core.markdown import markdown_table
from dldl_core.maths import metrics
from dldl_core.maths.intervals import t_interval


def errors_summary(true: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """n, faces missed (NaN ``pred``), and over the faces found: MAE with its 95 % t interval, the mean signed
    error (``bias``, positive: read older) and the gross-error share (more than 15 years off)."""
    true, pred = np.asarray(true, np.float64), np.asarray(pred, np.float64)
    found = ~np.isnan(pred)
    summary: dict[str, Any] = {"n": int(len(true)), "missed": int((~found).sum())}
    if not found.any():
        return summary
    mae, low, high = t_interval(np.abs(pred[found] - true[found]))
    return summary | {"mae": mae, "mae_low": low, "mae_high": high, "bias": float(np.mean(pred[found] - true[found])),
                      "gross": metrics.gross_error_share(pred[found], true[found])}


def _photo_cell(summary: Mapping[str, Any]) -> str:
    if "mae" not in summary:
        return "-"
    missed = f", {summary['missed']} missed" if summary["missed"] else ""
    return f"{summary['mae']:.2f} / {100 * summary['gross']:.1f}% (n {summary['n']}{missed})"


def smiles_table(groups: Mapping[str, Mapping[str, Any]], conditions: Sequence[str]) -> str:
    """One row per expression: faces, mean age, chip MAE [95 %], bias and gross share, then MAE / gross share in the
    photos of each condition."""
    rows = []
    for name, row in groups.items():
        chips = row["chips"]
        if "mae" not in chips:
            rows.append([name, row["n"], "-", "-", "-", "-", *["-"] * len(conditions)])
            continue
        rows.append([name, row["n"], f"{row['mean_age']:.1f}",
                     f"{chips['mae']:.2f} [{chips['mae_low']:.2f}, {chips['mae_high']:.2f}]",
                     f"{chips['bias']:+.2f}", f"{100 * chips['gross']:.1f}%",
                     *[_photo_cell(row.get(c, {})) for c in conditions]])
    header = ["expression", "faces", "mean age", "chips MAE [95 %]", "chips bias", "chips gross",
              *[f"{c}: MAE / gross" for c in conditions]]
    return markdown_table(header, rows, align="lrrrrr" + "r" * len(conditions))
