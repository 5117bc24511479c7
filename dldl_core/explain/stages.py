"""Age-stage analysis: what the network looks at in infants, children, teenagers, adults and seniors.

Faces are grouped by their true age into ``STAGES``; per stage the CAMs are averaged in the aligned frame (over
the mean face of that stage), and region occlusion, the share of CAM mass per region and the paper's strip
protocol are averaged. Only aggregates are kept: no individual face leaves this module, and a stage's mean face
is drawn only when it averages at least ``MIN_FACES_FOR_MEAN_FACE`` faces.
"""
from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np
from tqdm import tqdm

from dldl_core.explain.cam import compute_cam, method_name
from dldl_core.explain.explainer import Explainer
from dldl_core.explain.forward import readout
from dldl_core.explain.occlusion import region_occlusion, strip_occlusion
from dldl_core.explain.regions import REGION_NAMES, FaceRegions, face_regions, template_keypoints
from dldl_core.explain.samples import FaceSample, describe_weights, load_faces, select_rows, weights_record
from dldl_core.explain.targets import parse_target

# (name, first age, first age of the next stage)
STAGES: tuple[tuple[str, float, float], ...] = (
    ("0-3", 0, 4), ("4-12", 4, 13), ("13-19", 13, 20), ("20-39", 20, 40), ("40-59", 40, 60), ("60+", 60, math.inf))
MIN_FACES_FOR_MEAN_FACE = 20  # fewer faces would make a stage's mean face too close to an individual
MAP_SIZE = 100  # side of the averaged maps, in pixels of the aligned frame
# What the seven horizontal strips cover on an aligned chip (eyes at about 0.3 of the height, mouth at 0.72).
STRIP_NAMES = ("forehead", "brows", "eyes", "nose", "upper lip", "mouth", "chin")


def age_stage(age: float) -> str:
    """The stage name of an age."""
    for name, lo, hi in STAGES:
        if lo <= age < hi:
            return name
    raise ValueError(f"age {age} is in no stage")


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
        pipeline: ``chip`` (images are aligned crops) or ``full`` (detect and align each photo).
        seed: seeds the per-stage draw.
        progress: show a progress bar.
    """
    method = method_name(method)
    targets = tuple(targets)
    if not targets:
        raise ValueError("at least one CAM target is needed")
    support = explainer.support
    for t in targets:  # a bad spec fails before any work
        parse_target(t, support, float(support[0]))
    rows = select_rows(manifest, data, split, limit, age_stage, seed)
    result = StageAnalysis(method, targets, weights_record(explainer.predictor.weights), split, pipeline,
                           {name: StageAccumulator(name, targets) for name, _, _ in STAGES},
                           template=explainer.preprocess.template)
    size = explainer.input_size
    faces: Iterable[FaceSample | None] = load_faces(explainer.predictor, data, rows, pipeline)
    for face in tqdm(faces, total=len(rows), desc="stages", disable=not progress):
        if face is None:
            result.skipped += 1
            continue
        chip_size = face.chip.shape[0]
        if face.keypoints is None:
            result.template_fallbacks += 1
        keypoints = face.keypoints if face.keypoints is not None else template_keypoints(
            explainer.preprocess.template, chip_size)
        regions = face_regions(keypoints, chip_size)
        x = explainer.input(face.chip)
        age = float(readout(explainer.model, x)[0][0])
        cams = {t: cv2.resize(compute_cam(explainer.model, x, parse_target(t, support, age), method)[0],
                              (chip_size, chip_size), interpolation=cv2.INTER_LINEAR) for t in targets}
        deltas = region_occlusion(explainer.model, x, regions.resized(size), regions.names, explainer.fill)
        base, strips = strip_occlusion(explainer.model, x, fill=explainer.fill)
        result.stages[age_stage(face.age)].add(face, age, cams, regions, deltas, float(base[0]), strips[0])
    return result


def write_stage_report(analysis: StageAnalysis, out: str | os.PathLike) -> dict[str, str]:
    """Write ``stages.png`` (the figure grid), ``stages.json``, ``stages.csv`` and ``stages.md`` (the tables in
    Markdown) into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"figure": out / "stages.png", "json": out / "stages.json", "csv": out / "stages.csv",
             "markdown": out / "stages.md"}
    stage_figure(analysis).savefig(paths["figure"], dpi=110)
    paths["json"].write_text(json.dumps(analysis.to_json(), indent=2, allow_nan=False) + "\n")
    paths["markdown"].write_text(stage_tables(analysis))
    with open(paths["csv"], "w", newline="") as f:
        writer = csv.writer(f)
        columns = ("delta_age", "abs_delta_age", "delta_mae", "area")
        writer.writerow(["stage", "n", "region", *columns, *(f"cam_mass_{t}" for t in analysis.targets)])
        for name, summary in analysis.to_json()["stages"].items():
            for region, row in summary["regions"].items():
                writer.writerow([name, summary["n"], region, *(round(row[k], 5) for k in columns),
                                 *(round(summary["cam_mass"][t][region], 5) for t in analysis.targets)])
    return {k: str(v) for k, v in paths.items()}


def stage_tables(analysis: StageAnalysis) -> str:
    """The analysis as Markdown tables: per stage the change of MAE per region and per strip, and where each
    target's CAM mass lies (share of mass / share of area, 1 = no preference)."""
    data = analysis.to_json()
    stages = {k: v for k, v in data["stages"].items() if v["n"]}
    head = "| region | " + " | ".join(f"{k} (n={v['n']})" for k, v in stages.items()) + " |"
    rule = "|---|" + "---|" * len(stages)
    lines = [f"Weights {describe_weights(data['weights'])}; split {data['split'] or 'all'}, {data['faces']} faces, "
             f"{data['method']}.",
             "", "Change of MAE (years, +- 1 standard error) when a region is filled with the mean colour (no flip):",
             "", head, rule]
    lines += [f"| {r} | " + " | ".join(f"{v['regions'][r]['delta_mae']:+.2f} +- {v['regions'][r]['delta_mae_se']:.2f}"
                                       for v in stages.values()) + " |" for r in REGION_NAMES]
    lines += ["", "Change of MAE (years, +- 1 standard error) per horizontal strip of the paper's protocol (flip "
              "averaged):", "", head.replace("| region |", "| strip |"), rule]
    lines += [f"| {i + 1} {name} | " + " | ".join(
        f"{v['strips']['delta_mae'][i]:+.2f} +- {v['strips']['delta_mae_se'][i]:.2f}" for v in stages.values()) + " |"
        for i, name in enumerate(STRIP_NAMES)]
    for t in data["targets"]:
        lines += ["", f"CAM mass per region for target `{t}`, relative to the region's area (1 = as much as its area):",
                  "", head, rule]
        lines += [f"| {r} | " + " | ".join(
            f"{v['cam_mass'][t][r] / max(v['regions'][r]['area'], 1e-9):.2f}" for v in stages.values()) + " |"
            for r in REGION_NAMES]
    return "\n".join(lines) + "\n"


TARGET_LABELS = {"expected": "pushes older", "older": "pushes older", "younger": "pushes younger",
                 "predicted": "supports the estimate"}


def stage_figure(analysis: StageAnalysis):
    """A matplotlib Figure with one column per stage: the mean CAM of each target over the stage's mean face, the
    change of MAE when each region is hidden (drawn on the template's regions over the mean face of all stages),
    and the paper's horizontal-strip protocol (change of MAE per strip, flip averaged)."""
    from matplotlib.figure import Figure

    from dldl_core.explain import render

    names = [name for name, _, _ in STAGES]
    rows = len(analysis.targets) + 2
    fig = Figure(figsize=(2.1 * len(names) + 0.4, 2.1 * rows + 0.3), layout="constrained")
    axes = fig.subplots(rows, len(names))
    side = 2 * MAP_SIZE
    grey = np.full((side, side, 3), 128, np.uint8)

    def upsized(face: np.ndarray | None) -> np.ndarray | None:
        return None if face is None else cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)

    overall = upsized(analysis.mean_face())
    backdrop = overall if overall is not None else grey
    template = face_regions(template_keypoints(analysis.template, side), side)
    summaries = analysis.to_json()["stages"]
    region_max = max((abs(row["delta_mae"]) for s in summaries.values() for row in s["regions"].values()),
                     default=0.0) or 1.0
    strip_max = max((abs(v) for s in summaries.values() for v in s["strips"]["delta_mae"]), default=0.0) or 1.0
    for col, name in enumerate(names):
        summary = summaries[name]
        face = upsized(analysis.mean_face(name))
        face = face if face is not None else backdrop
        for row, target in enumerate(analysis.targets):
            ax = axes[row, col]
            cam = cv2.resize(analysis.mean_cam(name, target).astype(np.float32), (side, side))
            ax.imshow(render.heat_overlay(face, cam) if summary["n"] else face)
            if row == 0:
                ax.set_title(f"{name}  (n={summary['n']})", fontsize=9)
        values = {r: row["delta_mae"] for r, row in summary["regions"].items()}
        axes[-2, col].imshow(render.region_overlay(backdrop, template.labels, template.names, values, region_max))
        ax = axes[-1, col]
        strips = summary["strips"]["delta_mae"]
        ax.barh(np.arange(len(strips)), strips, color=["#b2182b" if v > 0 else "#2166ac" for v in strips])
        ax.set_ylim(len(strips) - 0.5, -0.5)
        ax.set_xlim(-strip_max * 1.1, strip_max * 1.1)
        ax.axvline(0, color="k", linewidth=0.5)
        ax.set_yticks(np.arange(len(strips)), STRIP_NAMES if col == 0 else [""] * len(strips), fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[:-1].ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    labels = [f"{analysis.method}: {t}\n({TARGET_LABELS.get(t, t)})" for t in analysis.targets]
    labels += [f"regions: change of MAE\n(red up, blue down; max {region_max:.1f} y)", "strips: change of MAE (y)"]
    for ax, label in zip(axes[:, 0], labels):
        ax.set_ylabel(label, fontsize=8)
    fig.suptitle(f"Per age stage: mean maps over the stage's mean face, and occlusion ({analysis.split or 'all'} "
                 f"split, {sum(s['n'] for s in summaries.values())} faces)", fontsize=9)
    return fig
