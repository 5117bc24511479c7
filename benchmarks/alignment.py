"""How far the aligned chip's eyes, nose and mouth land from the template when heads are rolled, turned or small,
with the detector's keypoints alone and with the second, upright look that re-aligns each face
(dldl_core.pipeline.face.confirm_face).

Each UTKFace val chip (an aligned face, so its keypoints are the template's) is warped into a 640x480 scene by a
known homography: a roll about the face's centre, a perspective warp that narrows one side (a turned head), a
smaller size. The true keypoints follow the same homography, so after the pipeline's alignment their distance from
the template is known exactly, as a fraction of the chip's width. The table gives, per condition, faces missed,
the mean distance of the eyes and of the mouth, the 90th percentile of the largest of the four, and MAE / share of
gross errors (> 15 years) of the estimate.

    python benchmarks/alignment.py --data ../shared/datasets/utkface [--limit 100] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data.datasets import read_manifest, utkface_folder_problem, val_files_with_train_copy
from dldl_core.data.images import load_rgb
from dldl_core.data.synthetic import random_background
from dldl_core.markdown import markdown_table
from dldl_core.models.preprocess import DEFAULT_TEMPLATE
from dldl_core.pipeline.face import MIN_CONFIRMATION
from dldl_core.pipeline.predictor import Predictor

# name: (roll in degrees, random sign; face width in px; perspective narrowing of one side, random side)
CONDITIONS = {"upright": (0, 260, 0.0), "roll 15": (15, 260, 0.0), "roll 30": (30, 260, 0.0),
              "roll 45": (45, 260, 0.0), "turned": (0, 260, 0.25), "roll 30 + turned": (30, 200, 0.25),
              "roll 30, 70 px face": (30, 70, 0.0)}
SCENE = (480, 640)


def scene_homography(chip_size: int, roll: float, side: int, narrowing: float, corner: tuple[int, int]
                     ) -> np.ndarray:
    """(3, 3) chip -> scene: one side of the face narrowed (a turned head), scaled to ``side`` px, rolled by
    ``roll`` degrees about its centre, placed with its top-left at ``corner``."""
    c = float(chip_size)
    d = narrowing * c / 2  # the far side's height shrinks by ``narrowing``
    src = np.float32([[0, 0], [c, 0], [c, c], [0, c]])
    dst = np.float32([[0, 0], [c, d], [c, c - d], [0, c]]) if narrowing >= 0 else \
        np.float32([[0, -d], [c, 0], [c, c], [0, c + d]])
    perspective = cv2.getPerspectiveTransform(src, dst)
    scale = np.diag([side / c, side / c, 1.0])
    rotate = np.vstack([cv2.getRotationMatrix2D((side / 2, side / 2), roll, 1.0), [0, 0, 1]])
    place = np.array([[1, 0, corner[0]], [0, 1, corner[1]], [0, 0, 1.0]])
    return place @ rotate @ scale @ perspective


def warp_into_scene(chip: np.ndarray, homography: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = SCENE
    scene = random_background(h, w, rng)
    face = cv2.warpPerspective(chip, homography, (w, h), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(np.full(chip.shape[:2], 255, np.uint8), homography, (w, h), flags=cv2.INTER_NEAREST)
    scene[inside > 0] = face[inside > 0]
    return scene


def landing_errors(predictor: Predictor, chips: list[np.ndarray], ages: list[float], condition: tuple,
                   seed: int) -> dict:
    roll, side, narrowing = condition
    template = np.asarray(predictor.preprocess.template or DEFAULT_TEMPLATE)[:4]
    size = predictor.preprocess.chip_size
    rng = np.random.default_rng(seed)
    errors, abs_errors, missed = [], [], 0
    for chip, age in zip(chips, ages):
        sign, side_sign = rng.choice([-1, 1], 2)
        corner = (int(rng.integers(0, SCENE[1] - side * 1.5)), int(rng.integers(0, SCENE[0] - side * 1.5)))
        homography = scene_homography(chip.shape[0], sign * roll, side, side_sign * narrowing, corner)
        scene = warp_into_scene(chip, homography, rng)
        faces = predictor.detect(scene, max_faces=1)
        if not faces:
            missed += 1
            continue
        truth = np.hstack([template * chip.shape[0], np.ones((4, 1))]) @ homography.T
        truth = truth[:, :2] / truth[:, 2:]
        landed = (truth @ faces[0].matrix[:, :2].T + faces[0].matrix[:, 2]) / size
        errors.append(np.linalg.norm(landed - template, axis=1))
        abs_errors.append(abs(predictor.predict_faces(faces[:1])[0].age - age))
    e, a = np.array(errors).reshape(-1, 4), np.array(abs_errors)
    found = len(a) > 0
    return {"n": len(chips), "missed": missed,
            "eyes": float(e[:, :2].mean()) if found else None, "mouth": float(e[:, 3].mean()) if found else None,
            "worst_p90": float(np.percentile(e.max(1), 90)) if found else None,
            "mae": float(a.mean()) if found else None, "gross": float((a > 15).mean()) if found else None}


def markdown(results: dict) -> str:
    def fmt(value: float | None, pattern: str) -> str:
        return "-" if value is None else format(value, pattern)

    rows = [[name, look, f"{r['missed']}/{r['n']}", fmt(r["eyes"], ".3f"), fmt(r["mouth"], ".3f"),
             fmt(r["worst_p90"], ".3f"), fmt(r["mae"], ".2f"), fmt(r["gross"], ".1%")]
            for name, by_look in results.items() for look, r in by_look.items()]
    return markdown_table(["condition", "second look", "missed", "eyes", "mouth", "worst point, p90", "MAE",
                           "gross > 15 y"], rows, align="llrrrrrr")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/datasets/utkface", help="UTKFace folder (images/, manifest.csv)")
    parser.add_argument("--weights", default=None, help="weights (default: the shipped default)")
    parser.add_argument("--limit", type=int, default=100, help="val faces per condition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if problem := utkface_folder_problem(data):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    copies = val_files_with_train_copy(data / "duplicates.csv")
    samples = [s for s in read_manifest(data / "manifest.csv", data / "images").split("val").samples
               if s.file not in copies]
    picks = np.random.default_rng(args.seed).choice(len(samples), min(args.limit, len(samples)), replace=False)
    chips = [load_rgb(data / "images" / samples[i].file) for i in picks]
    ages = [samples[i].age for i in picks]
    results: dict[str, dict] = {name: {} for name in CONDITIONS}
    for look, threshold in (("off", 0.0), (f">= {MIN_CONFIRMATION}", MIN_CONFIRMATION)):
        with Predictor(args.weights, min_confirmation=threshold) as predictor:
            for name, condition in CONDITIONS.items():
                results[name][look] = landing_errors(predictor, chips, ages, condition, args.seed + 1)
    print(json.dumps(results, indent=1) if args.json else markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
