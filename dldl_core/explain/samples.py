"""Labelled faces for the dataset-level analyses: manifest rows -> aligned chips with their keypoints."""
from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dldl_core.data.datasets import Sample, read_manifest
from dldl_core.data.images import ImageError, load_rgb
from dldl_core.data.synthetic import paste_into_photo
from dldl_core.evaluation.evaluate import PIPELINES
from dldl_core.explain.regions import keypoints_to_chip
from dldl_core.models.weights import Weights
from dldl_core.pipeline.predictor import Predictor


@dataclass
class FaceSample:
    """One labelled aligned face."""

    file: str
    age: float  # the manifest's (true) age
    chip: np.ndarray  # (C, C, 3) uint8
    keypoints: np.ndarray | None  # (6, 2) in the chip frame; None where the detector found none on a chip


def weights_record(weights: Weights) -> dict[str, object]:
    """Which weights a result came from, without the machine's path: file name, sha256, input size, best epoch and
    the sidecar's headline (scalar) val metrics."""
    meta = weights.meta
    metrics = {k: v for k, v in (meta.get("metrics") or {}).items() if isinstance(v, (int, float))}
    return {"file": weights.path.name, "sha256": meta.get("sha256"), "input_size": weights.preprocess.input_size,
            "epoch": (meta.get("recipe") or {}).get("best_epoch"), "metrics": metrics}


def describe_weights(record: dict[str, object]) -> str:
    """One line for a ``weights_record``."""
    mae = (record.get("metrics") or {}).get("val_mae_chip_tta")
    return (f"`{record['file']}` (sha256 {str(record.get('sha256'))[:12]}, {record['input_size']} px"
            + (f", epoch {record['epoch']}" if record.get("epoch") else "")
            + (f", val MAE {mae:.2f} with flip" if isinstance(mae, (int, float)) else "") + ")")


def has_split_column(manifest: str | os.PathLike) -> bool:
    """Whether the manifest's header names a ``split`` column (``file,age`` alone is a valid manifest)."""
    with open(manifest, newline="", encoding="utf-8") as f:
        return "split" in (csv.DictReader(f).fieldnames or ())


def select_rows(manifest: str | os.PathLike, data: str | os.PathLike, split: str | None, limit: int | None,
                key: Callable[[float], str], seed: int = 0) -> list[Sample]:
    """The manifest rows of ``split``; with ``limit``, at most that many per group ``key(age)``, drawn at random
    (seeded) so that every group is represented. Rows keep the manifest's order."""
    rows = read_manifest(manifest, data)
    samples = rows.split(split).samples
    if not samples:
        if split is None:
            raise ValueError(f"{manifest}: no usable rows")
        splits = sorted({s.split for s in rows.samples if s.split})
        raise ValueError(f"{manifest}: no usable rows in split {split!r}; "
                         + (f"its splits are {', '.join(splits)}" if splits else "no usable row names a split"))
    if limit is None:
        return samples
    if limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(key(s.age), []).append(i)
    keep = sorted(j for idx in groups.values() for j in
                  (idx if len(idx) <= limit else rng.choice(idx, limit, replace=False).tolist()))
    return [samples[i] for i in keep]


def load_faces(predictor: Predictor, data: str | os.PathLike, samples: list[Sample], pipeline: str = "chip",
               seed: int = 0) -> Iterator[FaceSample | None]:
    """One ``FaceSample`` per row, or None for an unreadable image or (``full``, ``pasted``) one without a face.

    The pipelines are evaluation's (dldl_core.evaluation.evaluate.PIPELINES). ``chip``: the images are aligned crops
    already (as UTKFace's); the detector runs on each for its keypoints. ``full``: each image is a photo; its largest
    face is detected and aligned as in prediction. ``pasted``: each image is first pasted into a random photo (drawn
    with ``seed``), then as ``full``.
    """
    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r}; choose one of {PIPELINES}")
    size = predictor.preprocess.chip_size
    rng = np.random.default_rng(seed)
    for sample in samples:
        try:
            rgb = load_rgb(Path(data) / sample.file)
        except ImageError:
            yield None
            continue
        if pipeline == "pasted":
            rgb = paste_into_photo(rgb, rng)
        if pipeline != "chip":
            faces = predictor.detect(rgb, max_faces=1)
            if not faces:
                yield None
                continue
            face = faces[0]
            yield FaceSample(sample.file, sample.age, face.chip, keypoints_to_chip(face.keypoints, face.matrix))
            continue
        if rgb.shape[:2] != (size, size):
            rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
        found = predictor.detector.detect(rgb)
        yield FaceSample(sample.file, sample.age, rgb, found[0].keypoints if found else None)
