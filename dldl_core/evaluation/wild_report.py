"""The wild-proxy summary: per condition, how often the face was found and how good and how honest the estimate
was (MAE, gross errors, spread, 90 % interval coverage), its change against the ``pasted`` baseline, and a
Markdown table. Pure functions over arrays; a face that was not found has NaN as its prediction."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dldl_core.evaluation.comparison import comparison_table
from dldl_core.markdown import markdown_table
from dldl_core.maths import metrics

BASELINE = "pasted"
Box = Sequence[float]  # (x0, y0, x1, y1)


def summarize(true: np.ndarray, pred: np.ndarray, std: np.ndarray, low: np.ndarray, high: np.ndarray,
              false_boxes: int = 0) -> dict[str, Any]:
    """One condition: n faces, those missed (NaN ``pred``) and, over the faces found, MAE, gross-error share (more
    than 15 years off), mean predicted std and 90 % interval coverage (None when no face was found)."""
    true, pred, std, low, high = (np.asarray(a, float) for a in (true, pred, std, low, high))
    found = ~np.isnan(pred)
    summary: dict[str, Any] = {"n": int(len(true)), "faces_missed": int((~found).sum()),
                               "false_boxes": int(false_boxes)}
    if not found.any():
        return summary | {"mae": None, "gross_error_share": None, "mean_std": None, "coverage90": None}
    return summary | {
        "mae": metrics.mae(pred[found], true[found]),
        "gross_error_share": metrics.gross_error_share(pred[found], true[found]),
        "mean_std": float(np.mean(std[found])),
        "coverage90": metrics.interval_coverage(np.stack([low[found], high[found]], axis=1), true[found])}


def with_changes(summaries: Mapping[str, dict[str, Any]], baseline: str = BASELINE) -> dict[str, dict[str, Any]]:
    """Each condition's summary plus ``mae_change``, its MAE minus the baseline's (None where either is missing)."""
    base = summaries.get(baseline, {}).get("mae")
    return {name: s | {"mae_change": None if base is None or s.get("mae") is None else s["mae"] - base}
            for name, s in summaries.items()}


def box_overlap(inner: Box, outer: Box) -> float:
    """Share of ``inner``'s area that lies inside ``outer``."""
    iw = min(inner[2], outer[2]) - max(inner[0], outer[0])
    ih = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return 0.0 if iw <= 0 or ih <= 0 or area <= 0 else float(iw * ih / area)


def match_faces(pasted: Sequence[Box], predicted: Sequence[Box],
                min_overlap: float = 0.5) -> tuple[list[int | None], int]:
    """Pair each pasted face with at most one predicted box, greedily by overlap (the share of the predicted box
    inside the pasted square, which holds the face and its surroundings; between equal overlaps, the box that covers
    more of the square). Returns, per pasted face, the index of its predicted box or None (missed), and the number
    of predicted boxes left over (false boxes)."""
    pairs = sorted(((box_overlap(p, t), box_overlap(t, p), i, j) for i, t in enumerate(pasted)
                    for j, p in enumerate(predicted)), key=lambda pair: pair[:2], reverse=True)
    matches: list[int | None] = [None] * len(pasted)
    used: set[int] = set()
    for overlap, _, i, j in pairs:
        if overlap >= min_overlap and matches[i] is None and j not in used:
            matches[i] = j
            used.add(j)
    return matches, len(predicted) - len(used)


def _cell(value: Any, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def condition_table(results: Mapping[str, Mapping[str, dict[str, Any]]],
                    descriptions: Mapping[str, str] | None = None) -> str:
    """``results[weights][condition]`` summaries as one Markdown table, a row per condition and weights file (the
    weights side by side under each condition), followed by a note per described condition."""
    descriptions = descriptions or {}
    conditions = list(dict.fromkeys(c for by_condition in results.values() for c in by_condition))
    rows = [[condition, weights, s["n"], s["faces_missed"], s["false_boxes"], _cell(s["mae"], ".2f"),
             _cell(s.get("mae_change"), "+.2f"), _cell(s["gross_error_share"], ".1%"), _cell(s["mean_std"], ".2f"),
             _cell(s["coverage90"], ".1%")]
            for condition in conditions for weights, by_condition in results.items()
            if (s := by_condition.get(condition)) is not None]
    table = markdown_table(["condition", "weights", "n", "missed", "false boxes", "MAE", "vs pasted", "gross > 15 y",
                            "mean std", "90 % coverage"], rows, align="llrrrrrrrr")
    notes = [f"- `{c}`: {descriptions[c]}" for c in conditions if c in descriptions]
    return "\n".join([table, "", *notes] if notes else [table])


def paired_sections(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """One (sentence, Markdown table) per paired comparison of a wild-proxy result: every further network against
    the first (``result["weights"][0]``), condition by condition."""
    first = (result.get("weights") or [None])[0]
    return [((f"`{first}` (a) against `{label}` (b) on the same photos: differences a - b with their 95 % paired "
              "bootstrap intervals over the faces both found:"), comparison_table(rows, first, label))
            for label, rows in result.get("paired", {}).items()]
