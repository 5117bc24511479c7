"""Penultimate features of a frozen network on a sample of labelled faces, computed once and kept on disk.

The Learn page trains small heads on them (dldl_core.ui.head_training): a face costs one forward pass of the
network once, after which a training step of a linear head costs microseconds. The files go to the user's cache
folder (``DLDL_CACHE`` or ``~/.cache/dldl_core``, as the training's image cache), never into the project.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dldl_core.data.datasets import Sample, default_cache_dir, read_manifest
from dldl_core.data.images import ImageError, load_rgb
from dldl_core.models.preprocess import resize_transform
from dldl_core.models.weights import Weights


@dataclass(frozen=True)
class FeatureSet:
    """Features of labelled faces and which rows are held out for validation."""

    features: np.ndarray  # (N, C) float32, the network's pooled features before its head
    ages: np.ndarray  # (N,) float32 true ages
    val: np.ndarray  # (N,) bool, True for a validation face

    def __len__(self) -> int:
        return len(self.ages)


def sample_rows(samples: list[Sample], limit: int, val_fraction: float = 0.25, seed: int = 0
                ) -> list[tuple[Sample, bool]]:
    """A seeded random draw of ``limit`` rows, each with whether it is a validation row, in a fixed order (validation
    rows first). ``val_fraction`` of them come from the manifest's ``val`` split where it has one (the rest from the
    other rows), else from the one draw."""
    rng = np.random.default_rng(seed)
    n_val = max(1, round(limit * val_fraction))
    val_rows = [s for s in samples if s.split == "val"]
    train_rows = [s for s in samples if s.split != "val"]
    if not val_rows or not train_rows:  # no usable split: hold out part of one draw
        drawn = [samples[i] for i in rng.permutation(len(samples))[:limit]]
        return [(s, i < min(n_val, len(drawn) - 1)) for i, s in enumerate(drawn)]
    val = [val_rows[i] for i in rng.permutation(len(val_rows))[:n_val]]
    train = [train_rows[i] for i in rng.permutation(len(train_rows))[:limit - len(val)]]
    return [(s, True) for s in val] + [(s, False) for s in train]


def read_faces(image_dir: str | os.PathLike, rows: list[tuple[Sample, bool]], input_size: int
               ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The readable faces of ``rows`` resized as every pipeline resizes (files outside ``image_dir`` and unreadable
    ones are left out). Returns (N, 3, S, S) uint8 images, (N,) ages and (N,) validation flags."""
    folder = Path(image_dir).resolve()
    resize = resize_transform(input_size)
    images, ages, val = [], [], []
    for sample, is_val in rows:
        path = (folder / sample.file).resolve()
        if not path.is_relative_to(folder):
            continue
        try:
            images.append(resize(load_rgb(path)))
        except ImageError:
            continue
        ages.append(sample.age)
        val.append(is_val)
    if len(images) < 2 or all(val) or not any(val):
        raise ValueError("fewer than 2 readable faces, or none for training or for validation")
    return torch.stack(images), np.asarray(ages, np.float32), np.asarray(val, bool)


@torch.inference_mode()
def extract_features(weights: Weights, images: torch.Tensor, batch_size: int = 128) -> np.ndarray:
    """(N, 3, S, S) uint8 images -> (N, C) float32 features of the frozen network (``forward_features``)."""
    model = weights.model.eval()
    device = next(model.parameters()).device
    out = [model.forward_features(weights.preprocess.normalize(chunk.to(device))).float().cpu()
           for chunk in images.split(batch_size)]
    return torch.cat(out).numpy()


def cache_file(weights: Weights, image_dir: str | os.PathLike, manifest: str | os.PathLike, limit: int,
               val_fraction: float, seed: int, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the features of one draw live: keyed by the weights' sha256, the folder, the manifest (its path, size
    and modification time) and the draw."""
    manifest = Path(manifest).resolve()
    stat = manifest.stat()
    key = json.dumps([weights.meta.get("sha256") or str(weights.path), str(Path(image_dir).resolve()), str(manifest),
                      stat.st_size, stat.st_mtime_ns, limit, val_fraction, seed, weights.preprocess.input_size])
    name = hashlib.sha256(key.encode()).hexdigest()[:20]
    return Path(cache_dir or default_cache_dir()) / "learn_features" / f"{name}.npz"


def load_features(weights: Weights, image_dir: str | os.PathLike, manifest: str | os.PathLike, limit: int,
                  val_fraction: float = 0.25, seed: int = 0, cache_dir: str | os.PathLike | None = None
                  ) -> FeatureSet:
    """The features of a seeded draw of ``limit`` faces of a manifest, from the disk cache or computed and saved
    there (written to a temporary name and renamed, so an interrupted run leaves no broken file).

    Raises:
        ValueError: a manifest without usable rows, or too few readable faces.
    """
    path = cache_file(weights, image_dir, manifest, limit, val_fraction, seed, cache_dir)
    if path.is_file():
        with np.load(path) as data:
            return FeatureSet(data["features"], data["ages"], data["val"])
    samples = read_manifest(manifest, image_dir).samples
    if not samples:
        raise ValueError(f"{Path(manifest).name} has no usable rows")
    images, ages, val = read_faces(image_dir, sample_rows(samples, limit, val_fraction, seed),
                                   weights.preprocess.input_size)
    result = FeatureSet(extract_features(weights, images), ages, val)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, features=result.features, ages=result.ages, val=result.val)
    os.replace(tmp, path)
    return result
