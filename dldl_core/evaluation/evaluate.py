"""Evaluation on a labelled manifest: MAE, CS@5, e-error and per-band / per-group tables.

Pipelines: ``chip`` feeds the images as aligned crops; ``full`` detects and aligns each image as an uploaded photo
would be (an image with no face found is predicted from the whole image and counted in ``faces_missed``);
``pasted`` first pastes each chip into a larger random photo (rotated, 30-80 % of the width) and then runs ``full``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dldl_core.maths import metrics

if TYPE_CHECKING:
    from dldl_core.data.datasets import Sample
    from dldl_core.pipeline.predictor import Predictor

# How labelled images reach the network (the module docstring): every --pipeline choice of the CLI, the benchmarks
# and the scripts. Importing this module does not import torch, so the CLI can offer the choices cheaply.
PIPELINES = ("chip", "full", "pasted")


@dataclass
class Evaluation:
    pred: np.ndarray  # (N,) estimated ages
    true: np.ndarray  # (N,) true ages
    samples: list[Sample]
    faces_missed: int
    pipeline: str
    interval90: np.ndarray | None = None  # (N, 2) the predicted central 90 % intervals, when there are distributions

    def summary(self, groups: tuple[str, ...] = ("gender", "race")) -> dict[str, Any]:
        result: dict[str, Any] = {
            "n": int(len(self.true)), "mae": metrics.mae(self.pred, self.true),
            "cs5": metrics.cs_at(self.pred, self.true, 5), "per_band": metrics.per_band(self.pred, self.true),
            "faces_missed": self.faces_missed, "pipeline": self.pipeline,
            "gross_error_share": metrics.gross_error_share(self.pred, self.true)}
        if self.interval90 is not None and len(self.interval90) == len(self.true):
            result["coverage90"] = metrics.interval_coverage(self.interval90, self.true)
            result["interval90_width"] = float(np.mean(self.interval90[:, 1] - self.interval90[:, 0]))
        sigmas = np.array([s.sigma or np.nan for s in self.samples])
        if len(sigmas) and not np.isnan(sigmas).any():
            result["e_error"] = metrics.e_error(self.pred, self.true, sigmas)
        for key in groups:
            values = [s.meta.get(key) for s in self.samples]
            if values and all(v not in (None, "") for v in values):
                result[f"per_{key}"] = metrics.group_table(self.pred, self.true, np.array(values))
        return result


def evaluate(predictor: Predictor, image_dir: str | os.PathLike, manifest: str | os.PathLike,
             split: str | None = None, pipeline: str = "chip", batch_size: int = 64, limit: int | None = None,
             seed: int = 0, progress: bool = True) -> Evaluation:
    """Run ``predictor`` over the manifest rows of ``split``."""
    from tqdm import tqdm

    from dldl_core.data.datasets import read_manifest
    from dldl_core.data.images import ImageError, load_rgb
    from dldl_core.data.synthetic import paste_into_photo
    from dldl_core.maths import labels

    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r}; choose one of {PIPELINES}")
    samples = read_manifest(manifest, image_dir).split(split).samples[:limit]
    if not samples:
        raise ValueError(f"{manifest}: no usable rows" + (f" in split {split!r}" if split else ""))
    rng = np.random.default_rng(seed)
    preds, intervals, kept, missed, batch, batch_samples = [], [], [], 0, [], []

    def flush() -> None:
        if batch:
            est = predictor.estimate_chips(batch)
            preds.extend(est.age.cpu().tolist())
            if est.distribution is not None:
                intervals.extend(labels.interval(est.distribution.cpu(), predictor.support.cpu(), 0.9).tolist())
            kept.extend(batch_samples)
            batch.clear()
            batch_samples.clear()

    for sample in tqdm(samples, desc=f"evaluating ({pipeline})", disable=not progress):
        try:
            rgb = load_rgb(Path(image_dir) / sample.file)
        except ImageError:
            continue
        if pipeline != "chip":
            if pipeline == "pasted":
                rgb = paste_into_photo(rgb, rng)
            faces = predictor.detect(rgb, max_faces=1)
            if faces:
                rgb = faces[0].chip
            else:
                missed += 1
        batch.append(rgb)
        batch_samples.append(sample)
        if len(batch) >= batch_size:
            flush()
    flush()
    return Evaluation(np.array(preds), np.array([s.age for s in kept]), kept, missed, pipeline,
                      np.array(intervals) if intervals else None)
