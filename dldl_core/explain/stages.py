"""Age-stage analysis: what the network looks at in infants, children, teenagers, adults and seniors.

Faces are grouped by their true age into the paper's ``AGE_STAGES`` (dldl_core.maths.age_groups); per stage the
CAMs are averaged in the aligned frame (over the mean face of that stage), and region occlusion, the share of CAM
mass per region and the paper's strip protocol are averaged. The statistics (intervals, Holm-adjusted p-values,
split-half replication: dldl_core.explain.stage_stats) need per-face numbers, which are kept as numbers only. Only
aggregates leave this module: no individual face, and a stage's mean face is drawn only when it averages at least
``MIN_FACES_FOR_MEAN_FACE`` faces.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from dldl_core.explain import render
from dldl_core.explain.cam import compute_cam, method_name
from dldl_core.explain.explainer import Explainer
from dldl_core.explain.fills import DEFAULT_FILL, FILLS, fill_name
from dldl_core.explain.forward import readout
from dldl_core.explain.occlusion import region_occlusion, strip_occlusion
from dldl_core.explain.regions import REGION_NAMES, FaceRegions, face_regions
from dldl_core.explain.samples import (
    FaceSample,
    has_split_column,
    load_faces,
    select_rows,
    weights_record,
)
from dldl_core.explain.stage_stats import ALPHA, AREA_UNIT, column_stats, correct_families, split_halves
from dldl_core.explain.stage_tables import stage_markdown
from dldl_core.explain.strip_bands import PAPER_STRIPS, strip_edges, strip_landmarks, strip_names
from dldl_core.explain.targets import parse_target
from dldl_core.maths.age_groups import AGE_STAGES, age_stage, group_names
from dldl_core.models.preprocess import template_points

MIN_FACES_FOR_MEAN_FACE = 20  # fewer faces would make a stage's mean face too close to an individual
MAP_SIZE = 100  # side of the averaged maps, in pixels of the aligned frame


def cam_mass(cam: np.ndarray, regions: FaceRegions) -> dict[str, float]:
    """Share of a map's total mass inside each region (0 everywhere for an all-zero map)."""
    total = float(cam.sum())
    return {name: float(cam[regions.labels == i].sum()) / total if total > 0 else 0.0
            for i, name in enumerate(regions.names)}


DEFAULT_TARGETS = ("expected", "younger", "predicted")  # what pushes older, what pushes younger, what supports it


@dataclass
class StageAccumulator:
    """One stage: running sums for the maps and per-face numbers (never images) for the statistics; CAM sums are
    kept per target."""

    name: str
    targets: tuple[str, ...] = DEFAULT_TARGETS
    n: int = 0
    abs_error: float = 0.0
    true_age: float = 0.0
    face: np.ndarray = field(default_factory=lambda: np.zeros((MAP_SIZE, MAP_SIZE, 3)))
    cams: dict[str, np.ndarray] = field(default_factory=dict)
    mass: dict[str, dict[str, float]] = field(default_factory=dict)
    delta: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REGION_NAMES, 0.0))
    abs_delta: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REGION_NAMES, 0.0))
    area: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REGION_NAMES, 0.0))
    region_changes: list[np.ndarray] = field(default_factory=list)  # per face: (R,) change of the absolute error
    strip_changes: list[np.ndarray] = field(default_factory=list)  # per face: (T,) the same per strip (flip)
    strip_delta_age: np.ndarray = field(default_factory=lambda: np.zeros(PAPER_STRIPS))

    def __post_init__(self) -> None:
        for t in self.targets:
            self.cams.setdefault(t, np.zeros((MAP_SIZE, MAP_SIZE)))
            self.mass.setdefault(t, dict.fromkeys(REGION_NAMES, 0.0))

    def add(self, face: FaceSample, age: float, cams: dict[str, np.ndarray], regions: FaceRegions,
            deltas: dict[str, float], base_tta: float, strip_ages: np.ndarray) -> None:
        """One face: its estimate (no flip), (C, C) CAMs per target, region changes and strip estimates (flip)."""
        self.n += 1
        self.abs_error += abs(age - face.age)
        self.true_age += face.age
        small = (MAP_SIZE, MAP_SIZE)
        self.face += cv2.resize(face.chip, small, interpolation=cv2.INTER_AREA)
        for t, cam in cams.items():
            self.cams[t] += cv2.resize(cam, small, interpolation=cv2.INTER_AREA)
            for name, value in cam_mass(cam, regions).items():
                self.mass[t][name] += value
        for name, value in deltas.items():
            self.delta[name] += value
            self.abs_delta[name] += abs(value)
        self.region_changes.append(np.array([abs(age + deltas[r] - face.age) - abs(age - face.age)
                                             for r in REGION_NAMES]))
        for name, value in regions.area_fractions().items():
            self.area[name] += value
        self.strip_changes.append(np.abs(strip_ages - face.age) - abs(base_tta - face.age))
        self.strip_delta_age += strip_ages - base_tta

    def summary(self, seed: int | Sequence[int] = 0) -> dict[str, Any]:
        """The stage's means, and per region and strip the statistics of the change of the absolute error
        (dldl_core.explain.stage_stats; the split-half check draws its halves with ``seed``)."""
        n = max(self.n, 1)
        halves = split_halves(self.n, seed)
        tests = column_stats(np.reshape(self.region_changes, (self.n, len(REGION_NAMES))), halves)
        regions = {r: self._region_row(r, test) for r, test in zip(REGION_NAMES, tests)}
        strip_tests = column_stats(np.reshape(self.strip_changes, (self.n, PAPER_STRIPS)), halves)
        return {
            "n": self.n, "true_age_mean": self.true_age / n, "mae_no_flip": self.abs_error / n, "regions": regions,
            "cam_mass": {t: {name: m / n for name, m in self.mass[t].items()} for t in self.targets},
            "strips": {"delta_mae": [t["mean"] or 0.0 for t in strip_tests],
                       "delta_mae_se": [t["se"] for t in strip_tests],
                       "delta_mae_ci95": [t["ci95"] for t in strip_tests],
                       "delta_age": (self.strip_delta_age / n).tolist(), "tests": strip_tests},
        }

    def _region_row(self, name: str, test: dict[str, Any]) -> dict[str, Any]:
        """One region's means; its change of the absolute error with interval and test, also per ``AREA_UNIT`` of
        the chip's area; and each target's CAM mass share per area share (1 = no preference)."""
        n = max(self.n, 1)
        area = self.area[name] / n
        per_area = AREA_UNIT / area if area > 0 else None
        ci95 = test["ci95"]
        return {"delta_age": self.delta[name] / n, "abs_delta_age": self.abs_delta[name] / n,
                "delta_mae": test["mean"] or 0.0, "delta_mae_se": test["se"], "delta_mae_ci95": test["ci95"],
                "area": area,
                "delta_mae_per_area": None if per_area is None else (test["mean"] or 0.0) * per_area,
                "delta_mae_per_area_ci95": None if per_area is None or ci95 is None else ci95 * per_area,
                "cam_per_area": {t: self.mass[t][name] / n / area if area > 0 else None for t in self.targets},
                "test": test}


@dataclass
class StageAnalysis:
    """The aggregated result of ``analyse_stages``."""

    method: str
    targets: tuple[str, ...]
    weights: dict[str, Any]  # weights_record of the weights used
    split: str | None
    pipeline: str
    stages: dict[str, StageAccumulator]
    skipped: int = 0  # unreadable images, or photos without a face (pipeline full)
    template_fallbacks: int = 0  # chips on which the detector found no face: regions from the template
    template: tuple[tuple[float, float], ...] | None = None  # the weights' alignment template (None: default)
    seed: int = 0  # seeds the per-stage draw and the split-half check
    fill: str = DEFAULT_FILL  # what replaces a hidden region or strip (dldl_core.explain.fills)

    def mean_cam(self, name: str, target: str | None = None) -> np.ndarray:
        """(M, M) mean CAM of a stage for a target (default the first), scaled to [0, 1] for display."""
        s = self.stages[name]
        cam = s.cams[target or self.targets[0]] / max(s.n, 1)
        return cam / cam.max() if cam.max() > 0 else cam

    def mean_face(self, name: str | None = None) -> np.ndarray | None:
        """(M, M, 3) uint8 mean face of a stage (or of all faces); None below ``MIN_FACES_FOR_MEAN_FACE``."""
        chosen = list(self.stages.values()) if name is None else [self.stages[name]]
        n = sum(s.n for s in chosen)
        if n < MIN_FACES_FOR_MEAN_FACE:
            return None
        return np.clip(sum(s.face for s in chosen) / n, 0, 255).astype(np.uint8)

    def to_json(self) -> dict[str, Any]:
        """The report: settings, per stage the means and per-cell statistics, Holm-corrected per family."""
        stages = {name: s.summary([self.seed, i]) for i, (name, s) in enumerate(self.stages.items())}
        bands = {"names": strip_names(self.template), "landmarks": strip_landmarks(self.template),
                 "edges": strip_edges().tolist()}
        for s in stages.values():
            s["strips"]["names"] = bands["names"]
        families = correct_families(stages, self.targets)
        statistics = {"test": "one-sample Student t-test of the change of the absolute error against 0, per cell",
                      "interval": "95 % Student t", "correction": "Holm, per family", "alpha": ALPHA,
                      "families": families, "area_unit": AREA_UNIT, "split_half_seed": self.seed}
        return {"method": self.method, "targets": list(self.targets), "weights": self.weights, "split": self.split,
                "pipeline": self.pipeline, "fill": self.fill, "fill_description": FILLS.get(self.fill, self.fill),
                "faces": sum(s.n for s in self.stages.values()), "skipped": self.skipped,
                "template_fallbacks": self.template_fallbacks, "strip_bands": bands, "statistics": statistics,
                "stages": stages}


def analyse_stages(explainer: Explainer, data: str | os.PathLike, manifest: str | os.PathLike,
                   split: str | None = "val", limit: int | None = None, method: str = "gradcam",
                   targets: tuple[str, ...] | list[str] = DEFAULT_TARGETS, pipeline: str = "chip", seed: int = 0,
                   progress: bool = False, fill: str = DEFAULT_FILL) -> StageAnalysis:
    """Group the faces of a manifest by age stage and average their explanations.

    Args:
        explainer: supplies the network and its preprocessing.
        data: image folder.
        manifest: CSV with file,age[,split].
        split: only the rows of this split (None: all).
        limit: at most this many faces per stage, drawn at random (seeded).
        method: CAM method.
        targets: CAM target specs, one mean map each (``predicted``: the bin of each face's estimate).
        pipeline: ``chip`` (images are aligned crops), ``full`` (detect and align each photo) or ``pasted`` (paste
            each crop into a random photo first; dldl_core.explain.samples.load_faces).
        seed: seeds the per-stage draw, the split-half check (and the photos of ``pasted``).
        progress: show a progress bar.
        fill: what replaces a hidden region or strip, a name of dldl_core.explain.fills.FILLS.
    """
    method = method_name(method)
    fill_name(fill)  # an unknown fill fails before any work
    targets = tuple(targets)
    if not targets:
        raise ValueError("at least one CAM target is needed")
    for t in targets:  # a bad spec fails before any work
        parse_target(t, explainer.support, float(explainer.support[0]))
    if split is not None and not has_split_column(manifest):
        split = None  # a manifest of file,age: all its rows (the result says split None)
    rows = select_rows(manifest, data, split, limit, age_stage, seed)
    result = StageAnalysis(method, targets, weights_record(explainer.predictor.weights), split, pipeline,
                           {name: StageAccumulator(name, targets) for name in group_names(AGE_STAGES)},
                           template=explainer.preprocess.template, seed=seed, fill=fill)
    faces: Iterable[FaceSample | None] = load_faces(explainer.predictor, data, rows, pipeline, seed)
    for face in tqdm(faces, total=len(rows), desc="stages", disable=not progress):
        if face is None:
            result.skipped += 1
        else:
            _add_face(result, explainer, face)
    return result


def _add_face(result: StageAnalysis, explainer: Explainer, face: FaceSample) -> None:
    """Explain one face (its CAMs, region and strip occlusion) into its stage's accumulator."""
    support, size, chip_size = explainer.support, explainer.input_size, face.chip.shape[0]
    if face.keypoints is None:
        result.template_fallbacks += 1
    keypoints = face.keypoints if face.keypoints is not None else template_points(
        explainer.preprocess.template, chip_size)
    regions = face_regions(keypoints, chip_size)
    x = explainer.input(face.chip)
    age = float(readout(explainer.model, x)[0][0])
    cams = {t: cv2.resize(compute_cam(explainer.model, x, parse_target(t, support, age), result.method)[0],
                          (chip_size, chip_size), interpolation=cv2.INTER_LINEAR) for t in result.targets}
    deltas = region_occlusion(explainer.model, x, regions.resized(size), regions.names, result.fill)
    base, strips = strip_occlusion(explainer.model, x, fill=result.fill)
    result.stages[age_stage(face.age)].add(face, age, cams, regions, deltas, float(base[0]), strips[0])


def write_stage_report(analysis: StageAnalysis, out: str | os.PathLike) -> dict[str, str]:
    """Write ``stages.png`` (the figure grid), ``stages.json``, ``stages.csv`` and ``stages.md`` (the tables in
    Markdown) into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"figure": out / "stages.png", "json": out / "stages.json", "csv": out / "stages.csv",
             "markdown": out / "stages.md"}
    data = analysis.to_json()
    stage_figure(analysis, data).savefig(paths["figure"], dpi=110)
    paths["json"].write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    paths["markdown"].write_text(stage_markdown(data))
    with open(paths["csv"], "w", newline="") as f:
        writer = csv.writer(f)
        masses = [f"cam_mass_{t}" for t in analysis.targets]
        writer.writerow(["stage", "n", "region", *CSV_COLUMNS, *CSV_TESTS, *masses])
        for name, summary in data["stages"].items():
            for region, row in summary["regions"].items():
                writer.writerow([name, summary["n"], region, *(_rounded(row[k]) for k in CSV_COLUMNS),
                                 *(_rounded(row["test"][k]) for k in CSV_TESTS),
                                 *(round(summary["cam_mass"][t][region], 5) for t in analysis.targets)])
    return {k: str(v) for k, v in paths.items()}


CSV_COLUMNS = ("delta_age", "abs_delta_age", "delta_mae", "delta_mae_ci95", "area", "delta_mae_per_area")
CSV_TESTS = ("p", "p_holm", "replicated")


def _rounded(value: Any) -> Any:
    return round(value, 5) if isinstance(value, float) else ("" if value is None else value)


def stage_markdown_tables(analysis: StageAnalysis) -> str:
    """The analysis as Markdown tables with their statistics (dldl_core.explain.stage_tables.stage_markdown)."""
    return stage_markdown(analysis.to_json())


TARGET_LABELS = {"expected": "pushes older", "older": "pushes older", "younger": "pushes younger",
                 "predicted": "supports the estimate"}


def stage_figure(analysis: StageAnalysis, data: dict[str, Any] | None = None):
    """A matplotlib Figure with one column per stage: the mean CAM of each target over the stage's mean face, the
    change of MAE per 10 % of the area when each region is hidden (only the Holm-significant regions coloured, on a
    square-root scale so that moderate effects show beside the eyes' large ones; drawn on the template's regions
    over the mean face of all stages), and the paper's horizontal-strip protocol (change
    of MAE per strip, flip averaged, grey where not Holm-significant). ``data``: ``analysis.to_json()`` if known."""
    from matplotlib.figure import Figure

    names = group_names(AGE_STAGES)
    rows = len(analysis.targets) + 2
    fig = Figure(figsize=(2.1 * len(names) + 1.0, 2.1 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, len(names))
    side = 2 * MAP_SIZE
    overall = _upsized(analysis.mean_face(), side)
    backdrop = overall if overall is not None else np.full((side, side, 3), 128, np.uint8)
    template = face_regions(template_points(analysis.template, side), side)
    data = data or analysis.to_json()
    summaries = data["stages"]
    regions = {name: _significant(s["regions"].values(), "delta_mae_per_area") for name, s in summaries.items()}
    region_max = max((abs(v) for values in regions.values() for v in values), default=0.0) or 1.0
    strip_max = max((abs(v) for s in summaries.values() for v in s["strips"]["delta_mae"]), default=0.0) or 1.0
    for col, name in enumerate(names):
        face = _upsized(analysis.mean_face(name), side)
        _draw_mean_cams(axes[:-2, col], analysis, name, face if face is not None else backdrop, summaries[name]["n"])
        values = {r: float(np.sign(v) * np.sqrt(abs(v))) for r, v in zip(summaries[name]["regions"], regions[name])}
        axes[-2, col].imshow(render.region_overlay(backdrop, template.labels, template.names, values,
                                                   float(np.sqrt(region_max))))  # square-root colour scale
        strip_labels = data["strip_bands"]["names"] if col == 0 else None
        _draw_strip_changes(axes[-1, col], summaries[name]["strips"], strip_max, strip_labels)
    _label_rows(axes, analysis, region_max)
    fig.suptitle(f"Per age stage: mean maps over the stage's mean face, and occlusion with the {analysis.fill} fill "
                 f"({analysis.split or 'all'} split, {sum(s['n'] for s in summaries.values())} faces; "
                 f"occlusion coloured where Holm p < {ALPHA})", fontsize=12)
    return fig


def _significant(cells: Iterable[dict[str, Any]], key: str) -> list[float]:
    """Each cell's ``key`` where its change of MAE is a finding after Holm, else 0."""
    return [(c.get(key) or 0.0) if (c["test"].get("p_holm") or 1.0) < ALPHA else 0.0 for c in cells]


def _upsized(face: np.ndarray | None, side: int) -> np.ndarray | None:
    return None if face is None else cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)


def _draw_mean_cams(axes: Any, analysis: StageAnalysis, name: str, face: np.ndarray, n: int) -> None:
    """One stage's mean CAM per target over ``face``, one axis each, the first titled with the stage."""
    side = face.shape[0]
    for row, (ax, target) in enumerate(zip(axes, analysis.targets)):
        cam = cv2.resize(analysis.mean_cam(name, target).astype(np.float32), (side, side))
        ax.imshow(render.heat_overlay(face, cam) if n else face)
        if row == 0:
            ax.set_title(f"{name}  (n={n})", fontsize=12)


def _draw_strip_changes(ax: Any, strips: dict[str, Any], strip_max: float, labels: list[str] | None) -> None:
    """The change of MAE per horizontal strip as bars on a symmetric axis: red up and blue down where Holm-significant,
    grey otherwise; the strips named with ``labels`` (None: unlabelled)."""
    values = strips["delta_mae"]
    found = [(t.get("p_holm") or 1.0) < ALPHA for t in strips["tests"]]
    colours = [("#b2182b" if v > 0 else "#2166ac") if f else "#bbbbbb" for v, f in zip(values, found)]
    ax.barh(np.arange(len(values)), values, color=colours)
    ax.set_ylim(len(values) - 0.5, -0.5)
    ax.set_xlim(-strip_max * 1.1, strip_max * 1.1)
    ax.axvline(0, color="k", linewidth=0.5)
    ax.set_yticks(np.arange(len(values)), labels or [""] * len(values), fontsize=9)
    ax.tick_params(axis="x", labelsize=7)


def _label_rows(axes: Any, analysis: StageAnalysis, region_max: float) -> None:
    """Bare image axes (all rows but the strips), and what each row shows on the first column."""
    for ax in axes[:-1].ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    labels = [f"{analysis.method}: {t}\n({TARGET_LABELS.get(t, t)})" for t in analysis.targets]
    labels += [f"regions: MAE change\nper 10 % of area\n(√ scale, max {region_max:.1f} y)", "strips:\nMAE change (y)"]
    for ax, label in zip(axes[:, 0], labels):  # at most ~23 characters a line: the rows are 2.1 inches tall
        ax.set_ylabel(label, fontsize=10)
