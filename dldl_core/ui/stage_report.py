"""What the Age stages page shows of a stage report (``stages.json`` from ``dldl stages``, the JSON of
dldl_core.explain.stages.StageAnalysis): where the shipped one lives, whether it describes the network in use, its
tables with counts and 95 % intervals, the corrected statistics (Holm-adjusted p-values, split-half replication,
effects per unit of area, the rank agreement of map and occlusion), and which stages hold too few faces to read.
Reports written before those statistics existed are still shown, with what they have and a note saying so.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dldl_core.assets import PACKAGE_DIR
from dldl_core.explain.methods import METHOD_LABELS
from dldl_core.explain.regions import region_label
from dldl_core.explain.strip_bands import strip_names
from dldl_core.models.registry import resolve
from dldl_core.models.weights import WeightsError, read_sidecar

STAGE_REPORT_DIRS = ("{stem}.stages", "stages")  # beside the weights, then docs/figures/
DOCS_FIGURES = PACKAGE_DIR.parent / "docs" / "figures"
MIN_STAGE_FACES = 20  # below this a stage's means are mostly chance
Z95 = 1.96  # a 95 % interval is the mean +- 1.96 standard errors

# Region measures of a report: key -> (name, unit). The change of MAE is the report's main measure (its figure's
# "regions" row and its Markdown tables); the page uses these names everywhere it shows one.
MEASURES: dict[str, tuple[str, str]] = {
    "delta_mae": ("change of MAE when the region is hidden", "years"),
    "delta_mae_per_area": ("change of MAE per 10 % of the chip's area when the region is hidden",
                           "years per 10 % of the area"),
    "delta_age": ("change of the estimated age when the region is hidden", "years (+: older without it)"),
    "area": ("share of the face the region covers", "share of the face"),
}
METHOD_NAMES = METHOD_LABELS  # the page's name for them
FILL_NAMES = {"blur": "a strong blur of the same face", "road": "noisy linear imputation (ROAD)",
              "mean": "the data's mean colour"}  # shorter than explain.methods.FILLS, for the caption
LEGACY_NOTE = ("This report predates the corrected statistics: its intervals are the mean ± 1.96 standard errors with "
               "no correction for the many cells read, it has no Holm-adjusted p-values, no split-half replication, "
               "no effects per unit of area and no rank agreement of map and occlusion, and its regions and strips "
               "were filled with the data's mean colour. Regenerate it with `dldl stages` for those.")
STAGES_VS_BANDS = ("Why two groupings: these stages are the paper's (0-3, 4-12, 13-19, 20-39, 40-59, 60+), chosen "
                   "for what the network looks at (infants' faces read differently from older children's). The model "
                   "card's age bands (0-12, 13-19, 20-39, 40-59, 60-79, 80+) are chosen for its error tables: they "
                   "keep the children together and split the seniors, whose oldest faces are estimated much too young. "
                   "Both are defined in dldl_core/maths/age_groups.py.")


def find_stage_report(path: str | os.PathLike | None = None) -> Path | None:
    """The folder of the precomputed age-stage report (``stages.json`` from ``dldl stages``) that ships with the
    weights: ``<stem>.stages/`` or ``stages/`` beside them, else ``docs/figures/stages/`` or ``docs/figures/``."""
    path = resolve(path)[0]
    names = [d.format(stem=path.stem) for d in STAGE_REPORT_DIRS]
    for folder in [path.parent / n for n in names] + [DOCS_FIGURES / "stages", DOCS_FIGURES]:
        if (folder / "stages.json").is_file():
            return folder
    return None


def stage_report_weights(report: dict[str, Any], path: str | os.PathLike) -> str | None:
    """None when a stage report was made with the weights at ``path`` (same sha256), else a sentence naming the
    weights it was made with, for the page to show beside it."""
    made_with = report.get("weights") or {}
    try:
        current = read_sidecar(path).get("sha256")
    except WeightsError:
        current = None
    if current is not None and made_with.get("sha256") == current:
        return None
    sha = str(made_with.get("sha256") or "unknown")[:12]
    return (f"This analysis was made with other weights ({made_with.get('file', 'unnamed')}, sha256 {sha}...), "
            f"not the network in use: its maps and tables describe that network.")


def stage_summary_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage: its faces, their mean true age and the network's MAE on them (no flip)."""
    return [{"stage": name, "faces": s.get("n", 0), "mean true age": round(s.get("true_age_mean", 0.0), 1),
             "MAE (no flip)": round(s.get("mae_no_flip", 0.0), 2)} for name, s in report.get("stages", {}).items()]


def has_statistics(report: dict[str, Any]) -> bool:
    """Whether a report carries the corrected statistics (reports before them lack the ``statistics`` block)."""
    return isinstance(report.get("statistics"), dict)


def stage_measure_tables(report: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Per region measure of ``MEASURES`` that the report holds, a {region: {stage: value}} table (regions by their
    names for people, stages without faces left out); ``"<measure>_ci95"`` tables hold the 95 % half-widths: the
    report's own (Student t) where it has them, else 1.96 standard errors."""
    tables: dict[str, dict[str, dict[str, float]]] = {}
    for name, s in report.get("stages", {}).items():
        if not s.get("n"):
            continue
        for name_in_report, values in s.get("regions", {}).items():
            region = region_label(name_in_report)
            for key, value in values.items():
                table = _table_of(key, values)
                if table is not None and value is not None:
                    tables.setdefault(table, {}).setdefault(region, {})[name] = value * (Z95 if key.endswith("_se")
                                                                                          else 1.0)
    return tables


def _table_of(key: str, values: dict[str, Any]) -> str | None:
    """The table a region value belongs in: a measure, its report's own ``_ci95``, or a ``_se`` (as 1.96 x) where
    the report has no ``_ci95`` for it; None for everything else."""
    measure = key.removesuffix("_ci95").removesuffix("_se")
    if measure not in MEASURES:
        return None
    if key.endswith("_se"):
        return None if f"{measure}_ci95" in values else f"{measure}_ci95"
    return key


def interval_table(report: dict[str, Any], measure: str = "delta_mae") -> list[dict[str, str]]:
    """One row per region, one column per stage headed with its faces (``0-3 (n=100)``), each cell the mean and its
    95 % interval (``+0.51 ± 0.21``), or the mean alone where the report has no interval."""
    tables = stage_measure_tables(report)
    values, half = tables.get(measure, {}), tables.get(f"{measure}_ci95", {})
    counts = {name: s.get("n", 0) for name, s in report.get("stages", {}).items() if s.get("n")}
    rows = []
    for region, per_stage in values.items():
        row = {"region": region}
        for stage, n in counts.items():
            cell = f"{per_stage[stage]:+.2f}" if stage in per_stage else ""
            if stage in half.get(region, {}):
                cell += f" ± {half[region][stage]:.2f}"
            row[f"{stage} (n={n})"] = cell
        rows.append(row)
    return rows


def strip_labels(report: dict[str, Any]) -> list[str]:
    """The strips' names: the report's own, or for reports before them the names by height range and landmarks of
    the default template (the strips' geometry has not changed)."""
    bands = report.get("strip_bands") or {}
    return list(bands.get("names") or strip_names(None))


def strip_tables(report: dict[str, Any]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """The paper's horizontal-strip occlusion as {strip: {stage: change of MAE}} and the 95 % half-widths in the
    same layout (stages without faces left out); strips numbered from the top and named by ``strip_labels``."""
    values: dict[str, dict[str, float]] = {}
    half: dict[str, dict[str, float]] = {}
    names = strip_labels(report)
    for stage, s in report.get("stages", {}).items():
        strips = s.get("strips") or {}
        if not s.get("n") or "delta_mae" not in strips:
            continue
        own = strips.get("delta_mae_ci95")
        widths = own or [None if se is None else Z95 * se for se in strips.get("delta_mae_se") or []]
        widths = widths or [None] * len(strips["delta_mae"])
        for i, (name, value, width) in enumerate(zip(names, strips["delta_mae"], widths)):
            values.setdefault(f"{i + 1}: {name}", {})[stage] = value
            if width is not None:
                half.setdefault(f"{i + 1}: {name}", {})[stage] = width
    return values, half


def few_faces_warning(report: dict[str, Any], minimum: int = MIN_STAGE_FACES) -> str | None:
    """One sentence naming the stages with fewer than ``minimum`` faces, or None when every stage has enough."""
    few = [f"{name} ({s.get('n', 0)})" for name, s in report.get("stages", {}).items() if s.get("n", 0) < minimum]
    if not few:
        return None
    return (f"Fewer than {minimum} faces in the stage{'s' if len(few) > 1 else ''} {', '.join(few)}: their means "
            f"are mostly chance (see the intervals); analyse more faces per stage.")


def report_caption(report: dict[str, Any]) -> str:
    """What a report was made with: faces, CAM method and targets, pipeline, split and occlusion fill."""
    method = report.get("method") or "unknown"
    targets = ", ".join(report.get("targets") or []) or "none"
    pipeline = {"chip": "aligned crops", "full": "photos", "pasted": "crops pasted into photos"}.get(
        report.get("pipeline"), report.get("pipeline") or "unknown")
    fill = report.get("fill", "mean")  # reports before the fill option filled with the mean colour
    return (f"{report.get('faces', 0)} faces; CAM method {METHOD_NAMES.get(method, method)} (targets: {targets}); "
            f"images: {pipeline}; split: {report.get('split') or 'all rows'}; hidden parts filled with "
            f"{FILL_NAMES.get(fill, fill)}.")


def enlarge_fonts(figure: Any, size: float = 12.0, taller: float = 1.4) -> Any:
    """A matplotlib figure with every text at least ``size`` points and ``taller`` times its height, readable when
    shown at a page's width (the rows' two-line labels need the height; the constrained layout makes room)."""
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        text.set_fontsize(max(text.get_fontsize(), size))
    for ax in figure.axes:
        ax.tick_params(labelsize=size - 2)
    width, height = figure.get_size_inches()
    figure.set_size_inches(width, height * taller)
    return figure
