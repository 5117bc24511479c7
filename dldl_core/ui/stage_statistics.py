"""The corrected statistics of a stage report for the Age stages page: one row per cell (stage x region, stage x
strip) with its effect, 95 % interval, Holm-adjusted p and split-half replication, and the rank agreement of map
and occlusion per stage. Reports without the statistics give no rows (dldl_core.ui.stage_report.has_statistics)."""
from __future__ import annotations

from typing import Any

from dldl_core.explain.regions import region_label
from dldl_core.explain.stage_tables import format_p
from dldl_core.ui.stage_report import has_statistics, strip_labels

ALPHA_DEFAULT = 0.05


def _alpha(report: dict[str, Any]) -> float:
    return float((report.get("statistics") or {}).get("alpha", ALPHA_DEFAULT))


def _interval(mean: float, half: float | None) -> str:
    return "" if half is None else f"[{mean - half:+.2f}, {mean + half:+.2f}]"


def _halves(test: dict[str, Any]) -> str:
    return " / ".join("n/a" if m is None else f"{m:+.2f} (p {format_p(p)})"
                      for m, p in zip(test.get("halves", []), test.get("halves_p", [])))


def _cell_row(stage: str, n: int, what: tuple[str, str], mean: float, half: float | None, test: dict[str, Any],
              alpha: float) -> dict[str, Any]:
    finding = test.get("p_holm") is not None and test["p_holm"] < alpha
    replicated = {True: "yes", False: "no"}.get(test.get("replicated"), "")
    return {"stage": stage, "faces": n, what[0]: what[1], "change of MAE (years)": round(mean, 2),
            "95 % interval": _interval(mean, half), "p": format_p(test.get("p")),
            "Holm p": format_p(test.get("p_holm")), f"finding (Holm p < {alpha:g})": finding,
            "halves A / B": _halves(test), "replicated in both halves": replicated}


def region_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage and region: the change of MAE, its 95 % interval, the same per 10 % of the chip's area,
    the p-value and its Holm adjustment over the table, each half's mean and p, and whether a finding replicates."""
    if not has_statistics(report):
        return []
    alpha, rows = _alpha(report), []
    for stage, s in report["stages"].items():
        if not s.get("n"):
            continue
        for name, r in s["regions"].items():
            row = _cell_row(stage, s["n"], ("region", region_label(name)), r["delta_mae"], r.get("delta_mae_ci95"),
                            r["test"], alpha)
            per_area = r.get("delta_mae_per_area")
            row["per 10 % of area (years)"] = None if per_area is None else round(per_area, 2)
            row["per 10 % of area, 95 % interval"] = ("" if per_area is None else
                                                      _interval(per_area, r.get("delta_mae_per_area_ci95")))
            rows.append(row)
    return rows


def strip_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage and strip of the paper's protocol, with the same statistics as ``region_rows``."""
    if not has_statistics(report):
        return []
    alpha, names, rows = _alpha(report), strip_labels(report), []
    for stage, s in report["stages"].items():
        if not s.get("n"):
            continue
        strips = s["strips"]
        for i, name in enumerate(names):
            rows.append(_cell_row(stage, s["n"], ("strip", f"{i + 1}: {name}"), strips["delta_mae"][i],
                                  strips["delta_mae_ci95"][i], strips["tests"][i], alpha))
    return rows


def agreement_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per stage and CAM target: Spearman's rho across regions between the CAM mass per area and the change of MAE
    per area, its Holm-adjusted p, and the regions where a Holm-significant occlusion effect contradicts the map."""
    if not has_statistics(report):
        return []
    rows = []
    for stage, s in report["stages"].items():
        for target, cell in (s.get("agreement") or {}).items():
            if not s.get("n"):
                continue
            against = "; ".join(f"{region_label(d['region'])}: map {d['cam_per_area']:.2f}x its area, hiding it "
                                f"{d['delta_mae']:+.2f} y" for d in cell.get("disagreements", []))
            rows.append({"stage": stage, "target": target,
                         "Spearman rho": None if cell.get("rho") is None else round(cell["rho"], 2),
                         "Holm p": format_p(cell.get("p_holm")), "map and occlusion disagree on": against})
    return rows


def statistics_caption(report: dict[str, Any]) -> str:
    """How the statistics were made, with the size of each family, for a caption under the tables."""
    stats = report.get("statistics") or {}
    families = stats.get("families", {})
    return (f"Per cell a one-sample t-test of the change of the absolute error against 0 over the stage's faces, "
            f"with its 95 % Student-t interval. Holm's correction runs over each table as one family "
            f"({families.get('regions', '?')} region cells, {families.get('strips', '?')} strip cells, "
            f"{families.get('agreement', '?')} rank correlations); a finding has a Holm p below "
            f"{stats.get('alpha', ALPHA_DEFAULT):g}. Replication: each stage's faces split at random (seed "
            f"{stats.get('split_half_seed', 0)}) into two halves; a finding replicates when both halves have its sign "
            "and a Holm p (over the table's findings) below the same level. Per 10 % of area: the change divided by "
            "the region's share of the chip, times 0.1, so that small and large regions compare.")
