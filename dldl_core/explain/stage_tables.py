"""The age-stage report (the JSON of dldl_core.explain.stages.StageAnalysis) as Markdown tables with its statistics:
per cell the effect, its 95 % interval, the Holm-adjusted p and the split-half replication."""
from __future__ import annotations

from typing import Any

from dldl_core.explain.samples import describe_weights
from dldl_core.explain.stage_stats import ALPHA, AREA_UNIT
from dldl_core.markdown import markdown_table


def format_p(p: float | None) -> str:
    """A p-value for a table: ``<0.001``, three decimals, or ``n/a`` where no test could be made."""
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def replication_mark(test: dict[str, Any]) -> str:
    """`` ✓`` for a finding that replicates in both random halves, `` ✗`` for one that does not, else nothing."""
    return {True: " ✓", False: " ✗"}.get(test.get("replicated"), "")


def effect_cell(mean: float, ci95: float | None, test: dict[str, Any], alpha: float = ALPHA) -> str:
    """``+5.72 [+4.31, +7.13] p_H <0.001 ✓``: the mean (bold where it is a finding after Holm), its 95 % interval,
    the Holm-adjusted p and the replication mark."""
    value = f"{mean:+.2f}"
    if test.get("p_holm") is not None and test["p_holm"] < alpha:
        value = f"**{value}**"
    interval = f" [{mean - ci95:+.2f}, {mean + ci95:+.2f}]" if ci95 is not None else ""
    return f"{value}{interval} p_H {format_p(test.get('p_holm'))}{replication_mark(test)}"


def _columns(data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    stages = [s for s in data["stages"].values() if s["n"]]
    return stages, [f"{name} (n={s['n']})" for name, s in data["stages"].items() if s["n"]]


def region_tables(data: dict[str, Any]) -> list[str]:
    """The change of MAE per region and stage with its statistics, then the same per unit of area."""
    stages, columns = _columns(data)
    names = list(stages[0]["regions"]) if stages else []
    effect = [[r, *(_region_cell(s["regions"][r]) for s in stages)] for r in names]
    per_area = [[r, *(_per_area_cell(s["regions"][r]) for s in stages)] for r in names]
    family = data["statistics"]["families"]["regions"]
    return [(f"Change of MAE (years) when a region is hidden ({data.get('fill', 'mean')} fill, no flip): mean [95 % "
             f"interval], p_H the Holm-adjusted p over the {family} cells of this table, bold where p_H < {ALPHA}; "
             "✓ / ✗: the finding does / does not replicate in both random halves of the stage's faces:"),
            markdown_table(["region", *columns], effect),
            (f"The same per {AREA_UNIT * 100:.0f} % of the chip's area (the change divided by the region's share of "
             f"the chip, x {AREA_UNIT}; mean ± 95 % half-width), so that regions of different sizes compare:"),
            markdown_table(["region", *columns], per_area)]


def _region_cell(row: dict[str, Any]) -> str:
    return effect_cell(row["delta_mae"], row.get("delta_mae_ci95"), row["test"])


def _per_area_cell(row: dict[str, Any]) -> str:
    value, half = row.get("delta_mae_per_area"), row.get("delta_mae_per_area_ci95")
    if value is None:
        return "n/a"
    return f"{value:+.2f}" + (f" ± {half:.2f}" if half is not None else "")


def strip_table(data: dict[str, Any]) -> list[str]:
    """The paper's strip protocol per stage with its statistics; strips named by height range and landmarks."""
    stages, columns = _columns(data)
    names = data["strip_bands"]["names"]
    rows = [[f"{i + 1}: {name}", *(_strip_cell(s["strips"], i) for s in stages)] for i, name in enumerate(names)]
    family = data["statistics"]["families"]["strips"]
    return [(f"Change of MAE (years) per horizontal strip of the paper's protocol ({len(names)} equal strips at fixed "
             "heights, flip averaged; all strips have the same area); each strip named by its height range (0 % the "
             "top) and the alignment template's landmarks inside it, * where the strip's edge cuts the landmark; "
             f"p_H over the {family} cells of this table:"),
            markdown_table(["strip", *columns], rows)]


def _strip_cell(strips: dict[str, Any], i: int) -> str:
    return effect_cell(strips["delta_mae"][i], strips["delta_mae_ci95"][i], strips["tests"][i])


def cam_tables(data: dict[str, Any]) -> list[str]:
    """Per target, the CAM mass share per region relative to its area share, and the rank agreement per stage
    between the map and occlusion (both per unit of area)."""
    stages, columns = _columns(data)
    if not stages:
        return []
    parts = []
    for t in data["targets"]:
        rows = [[r, *(_ratio(s["regions"][r]["cam_per_area"][t]) for s in stages)] for r in stages[0]["regions"]]
        parts += [f"CAM mass per region for target `{t}`, relative to the region's area (1 = as much as its area):",
                  markdown_table(["region", *columns], rows)]
    rows = [[t, *(_agreement_cell(s["agreement"][t]) for s in stages)] for t in data["targets"]]
    family = data["statistics"]["families"]["agreement"]
    parts += [("Rank agreement between the map and occlusion per stage: Spearman's rho across the regions between "
               f"the CAM mass per area and the change of MAE per area (p_H over the {family} correlations); then the "
               "regions where a Holm-significant occlusion effect has the opposite sign of the map's preference (map "
               "> 1 x its area but hiding it lowers the error, or < 1 x and hiding it raises the error):"),
              markdown_table(["target", *columns], rows)]
    return parts


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _agreement_cell(cell: dict[str, Any]) -> str:
    rho = "n/a" if cell.get("rho") is None else f"{cell['rho']:+.2f}"
    odd = "; ".join(f"{d['region']} {d['cam_per_area']:.2f}x vs {d['delta_mae']:+.2f}" for d in cell["disagreements"])
    return f"rho {rho} p_H {format_p(cell.get('p_holm'))}" + (f"; against: {odd}" if odd else "")


def stage_markdown(data: dict[str, Any]) -> str:
    """The whole report as Markdown: settings, region, strip and CAM tables, each with its statistics."""
    head = (f"Weights {describe_weights(data['weights'])}; split {data['split'] or 'all'}, {data['faces']} faces, "
            f"{data['method']}; hidden parts filled with {data.get('fill_description', 'the mean colour')}.")
    parts = [head, *region_tables(data), *strip_table(data), *cam_tables(data)]
    return "\n\n".join(parts) + "\n"
