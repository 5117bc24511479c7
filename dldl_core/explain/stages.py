"""Age-stage analysis: what the network looks at in infants, children, teenagers, adults and seniors.

Faces are grouped by their true age into the paper's ``AGE_STAGES`` (dldl_core.maths.age_groups); per stage the
CAMs are averaged in the aligned frame (over the mean face of that stage), and region occlusion, the share of CAM
mass per region and the paper's strip protocol are averaged. Only aggregates are kept: no individual face leaves this
module, and a stage's mean face is drawn only when it averages at least ``MIN_FACES_FOR_MEAN_FACE`` faces.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from dldl_core.explain import render
from dldl_core.explain.cam import compute_cam, method_name
from dldl_core.explain.explainer import Explainer
from dldl_core.explain.forward import readout
from dldl_core.explain.occlusion import region_occlusion, strip_occlusion
from dldl_core.explain.regions import REGION_NAMES, FaceRegions, face_regions
from dldl_core.explain.samples import (
    FaceSample,
    describe_weights,
    has_split_column,
    load_faces,
    select_rows,
    weights_record,
)
from dldl_core.explain.targets import parse_target
from dldl_core.markdown import markdown_table
from dldl_core.maths.age_groups import AGE_STAGES, age_stage, group_names
from dldl_core.models.preprocess import template_points

MIN_FACES_FOR_MEAN_FACE = 20  # fewer faces would make a stage's mean face too close to an individual
MAP_SIZE = 100  # side of the averaged maps, in pixels of the aligned frame
# What the seven horizontal strips cover on an aligned chip (eyes at about 0.3 of the height, mouth at 0.72).
STRIP_NAMES = ("forehead", "brows", "eyes", "nose", "upper lip", "mouth", "chin")


def cam_mass(cam: np.ndarray, regions: FaceRegions) -> dict[str, float]:
    """Share of a map's total mass inside each region (0 everywhere for an all-zero map)."""
    total = float(cam.sum())
    return {name: float(cam[regions.labels == i].sum()) / total if total > 0 else 0.0
            for i, name in enumerate(regions.names)}


DEFAULT_TARGETS = ("expected", "younger", "predicted")  # what pushes older, what pushes younger, what supports it


def standard_error(total: float, total_sq: float, n: int) -> float:
    """Standard error of a mean from the sum and the sum of squares of n values (0 below two values)."""
    if n < 2:
        return 0.0
    variance = max(total_sq - total**2 / n, 0.0) / (n - 1)
    return float(np.sqrt(variance / n))


@dataclass
class StageAccumulator:
    """Running sums of one stage; CAM sums are kept per target."""

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
    delta_error: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REGION_NAMES, 0.0))
    delta_error_sq: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REGION_NAMES, 0.0))
    area: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REGION_NAMES, 0.0))
    strip_delta_error: np.ndarray = field(default_factory=lambda: np.zeros(len(STRIP_NAMES)))
    strip_delta_error_sq: np.ndarray = field(default_factory=lambda: np.zeros(len(STRIP_NAMES)))
    strip_delta_age: np.ndarray = field(default_factory=lambda: np.zeros(len(STRIP_NAMES)))

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
            change = abs(age + value - face.age) - abs(age - face.age)
            self.delta_error[name] += change
            self.delta_error_sq[name] += change**2
        for name, value in regions.area_fractions().items():
            self.area[name] += value
        strip_change = np.abs(strip_ages - face.age) - abs(base_tta - face.age)
        self.strip_delta_error += strip_change
        self.strip_delta_error_sq += strip_change**2
        self.strip_delta_age += strip_ages - base_tta

    def summary(self) -> dict[str, Any]:
        n = max(self.n, 1)
        se = {r: standard_error(self.delta_error[r], self.delta_error_sq[r], self.n) for r in REGION_NAMES}
        return {
            "n": self.n, "true_age_mean": self.true_age / n, "mae_no_flip": self.abs_error / n,
            "regions": {name: {"delta_age": self.delta[name] / n, "abs_delta_age": self.abs_delta[name] / n,
                               "delta_mae": self.delta_error[name] / n, "delta_mae_se": se[name],
                               "area": self.area[name] / n}
                        for name in REGION_NAMES},
            "cam_mass": {t: {name: m / n for name, m in self.mass[t].items()} for t in self.targets},
            "strips": {"names": list(STRIP_NAMES), "delta_mae": (self.strip_delta_error / n).tolist(),
                       "delta_mae_se": [standard_error(a, b, self.n) for a, b in
                                        zip(self.strip_delta_error, self.strip_delta_error_sq)],
                       "delta_age": (self.strip_delta_age / n).tolist()},
        }


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
        return {"method": self.method, "targets": list(self.targets), "weights": self.weights, "split": self.split,
                "pipeline": self.pipeline, "faces": sum(s.n for s in self.stages.values()), "skipped": self.skipped,
                "template_fallbacks": self.template_fallbacks,
                "stages": {name: s.summary() for name, s in self.stages.items()}}


def analyse_stages(explainer: Explainer, data: str | os.PathLike, manifest: str | os.PathLike,
                   split: str | None = "val", limit: int | None = None, method: str = "gradcam",
                   targets: tuple[str, ...] | list[str] = DEFAULT_TARGETS, pipeline: str = "chip", seed: int = 0,
                   progress: bool = False) -> StageAnalysis:
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
        seed: seeds the per-stage draw (and the photos of ``pasted``).
        progress: show a progress bar.
    """
    method = method_name(method)
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
                           template=explainer.preprocess.template)
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
    deltas = region_occlusion(explainer.model, x, regions.resized(size), regions.names, explainer.fill)
    base, strips = strip_occlusion(explainer.model, x, fill=explainer.fill)
    result.stages[age_stage(face.age)].add(face, age, cams, regions, deltas, float(base[0]), strips[0])


def write_stage_report(analysis: StageAnalysis, out: str | os.PathLike) -> dict[str, str]:
    """Write ``stages.png`` (the figure grid), ``stages.json``, ``stages.csv`` and ``stages.md`` (the tables in
    Markdown) into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"figure": out / "stages.png", "json": out / "stages.json", "csv": out / "stages.csv",
             "markdown": out / "stages.md"}
    stage_figure(analysis).savefig(paths["figure"], dpi=110)
    paths["json"].write_text(json.dumps(analysis.to_json(), indent=2, allow_nan=False) + "\n")
    paths["markdown"].write_text(stage_markdown_tables(analysis))
    with open(paths["csv"], "w", newline="") as f:
        writer = csv.writer(f)
        columns = ("delta_age", "abs_delta_age", "delta_mae", "area")
        writer.writerow(["stage", "n", "region", *columns, *(f"cam_mass_{t}" for t in analysis.targets)])
        for name, summary in analysis.to_json()["stages"].items():
            for region, row in summary["regions"].items():
                writer.writerow([name, summary["n"], region, *(round(row[k], 5) for k in columns),
                                 *(round(summary["cam_mass"][t][region], 5) for t in analysis.targets)])
    return {k: str(v) for k, v in paths.items()}


def stage_markdown_tables(analysis: StageAnalysis) -> str:
    """The analysis as Markdown tables: per stage the change of MAE per region and per strip, and where each
    target's CAM mass lies (share of mass / share of area, 1 = no preference)."""
    data = analysis.to_json()
    stages = [v for v in data["stages"].values() if v["n"]]
    columns = [f"{k} (n={v['n']})" for k, v in data["stages"].items() if v["n"]]
    regions = [[r, *(f"{v['regions'][r]['delta_mae']:+.2f} +- {v['regions'][r]['delta_mae_se']:.2f}" for v in stages)]
               for r in REGION_NAMES]
    strips = [[f"{i + 1} {name}", *(f"{v['strips']['delta_mae'][i]:+.2f} +- {v['strips']['delta_mae_se'][i]:.2f}"
                                    for v in stages)] for i, name in enumerate(STRIP_NAMES)]
    parts = [(f"Weights {describe_weights(data['weights'])}; split {data['split'] or 'all'}, {data['faces']} faces, "
              f"{data['method']}."),
             "Change of MAE (years, +- 1 standard error) when a region is filled with the mean colour (no flip):",
             markdown_table(["region", *columns], regions),
             "Change of MAE (years, +- 1 standard error) per horizontal strip of the paper's protocol (flip averaged):",
             markdown_table(["strip", *columns], strips)]
    for t in data["targets"]:
        mass = [[r, *(f"{v['cam_mass'][t][r] / max(v['regions'][r]['area'], 1e-9):.2f}" for v in stages)]
                for r in REGION_NAMES]
        parts += [f"CAM mass per region for target `{t}`, relative to the region's area (1 = as much as its area):",
                  markdown_table(["region", *columns], mass)]
    return "\n\n".join(parts) + "\n"


TARGET_LABELS = {"expected": "pushes older", "older": "pushes older", "younger": "pushes younger",
                 "predicted": "supports the estimate"}


def stage_figure(analysis: StageAnalysis):
    """A matplotlib Figure with one column per stage: the mean CAM of each target over the stage's mean face, the
    change of MAE when each region is hidden (drawn on the template's regions over the mean face of all stages),
    and the paper's horizontal-strip protocol (change of MAE per strip, flip averaged)."""
    from matplotlib.figure import Figure

    names = group_names(AGE_STAGES)
    rows = len(analysis.targets) + 2
    fig = Figure(figsize=(2.1 * len(names) + 0.4, 2.1 * rows + 0.3), layout="constrained")
    axes = fig.subplots(rows, len(names))
    side = 2 * MAP_SIZE
    overall = _upsized(analysis.mean_face(), side)
    backdrop = overall if overall is not None else np.full((side, side, 3), 128, np.uint8)
    template = face_regions(template_points(analysis.template, side), side)
    summaries = analysis.to_json()["stages"]
    region_max = max((abs(row["delta_mae"]) for s in summaries.values() for row in s["regions"].values()),
                     default=0.0) or 1.0
    strip_max = max((abs(v) for s in summaries.values() for v in s["strips"]["delta_mae"]), default=0.0) or 1.0
    for col, name in enumerate(names):
        face = _upsized(analysis.mean_face(name), side)
        _draw_mean_cams(axes[:-2, col], analysis, name, face if face is not None else backdrop, summaries[name]["n"])
        values = {r: row["delta_mae"] for r, row in summaries[name]["regions"].items()}
        axes[-2, col].imshow(render.region_overlay(backdrop, template.labels, template.names, values, region_max))
        _draw_strip_changes(axes[-1, col], summaries[name]["strips"]["delta_mae"], strip_max, labelled=col == 0)
    _label_rows(axes, analysis, region_max)
    fig.suptitle(f"Per age stage: mean maps over the stage's mean face, and occlusion ({analysis.split or 'all'} "
                 f"split, {sum(s['n'] for s in summaries.values())} faces)", fontsize=12)
    return fig


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


def _draw_strip_changes(ax: Any, strips: list[float], strip_max: float, labelled: bool) -> None:
    """The change of MAE per horizontal strip as bars, red up and blue down, on a symmetric axis."""
    ax.barh(np.arange(len(strips)), strips, color=["#b2182b" if v > 0 else "#2166ac" for v in strips])
    ax.set_ylim(len(strips) - 0.5, -0.5)
    ax.set_xlim(-strip_max * 1.1, strip_max * 1.1)
    ax.axvline(0, color="k", linewidth=0.5)
    ax.set_yticks(np.arange(len(strips)), STRIP_NAMES if labelled else [""] * len(strips), fontsize=10)
    ax.tick_params(axis="x", labelsize=7)


def _label_rows(axes: Any, analysis: StageAnalysis, region_max: float) -> None:
    """Bare image axes (all rows but the strips), and what each row shows on the first column."""
    for ax in axes[:-1].ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    labels = [f"{analysis.method}: {t}\n({TARGET_LABELS.get(t, t)})" for t in analysis.targets]
    labels += [f"regions: change of MAE\n(red up, blue down; max {region_max:.1f} y)", "strips: change of MAE (y)"]
    for ax, label in zip(axes[:, 0], labels):
        ax.set_ylabel(label, fontsize=11)
