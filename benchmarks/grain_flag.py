"""How well the grain level of an aligned face (dldl_core.pipeline.grain) picks out the faces of dim, noisy photos,
and what the network's estimate does on them.

Prints the grain level's percentiles over training chips, the level of each face of the real group photo under each
camera effect (where the photo is installed), and, for UTKFace val faces turned into photos under some of the wild
proxy's conditions (dldl_core.data.wild) and run through the full pipeline, how many exceed GRAINY and the mean
signed error and gross-error share of those above and below it.

    python benchmarks/grain_flag.py --data ../shared/datasets/utkface [--train 1500] [--val 150]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data import wild
from dldl_core.data.datasets import read_manifest, utkface_folder_problem
from dldl_core.data.images import load_rgb
from dldl_core.data.sample_photos import group_photo_path
from dldl_core.evaluation.group_photo import PHOTO_EFFECTS
from dldl_core.pipeline.grain import GRAINY, grain_level
from dldl_core.pipeline.predictor import Predictor

CONDITIONS = ("low_light", "pasted", "blur", "jpeg", "strong_light")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/datasets/utkface")
    parser.add_argument("--train", type=int, default=1500, help="training chips for the percentiles")
    parser.add_argument("--val", type=int, default=150, help="val faces per condition")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if problem := utkface_folder_problem(data):
        print(f"grain_flag: {problem}", file=sys.stderr)
        return 2
    manifest = read_manifest(data / "manifest.csv", data / "images")
    train, val = manifest.split("train").samples, manifest.split("val").samples
    rng = np.random.default_rng(0)
    levels = [grain_level(load_rgb(data / "images" / train[i].file))
              for i in rng.choice(len(train), min(args.train, len(train)), replace=False)]
    pct = np.percentile(levels, [50, 90, 99, 99.9, 100])
    print(f"{len(levels)} train chips, grain level p50 {pct[0]:.4f}, p90 {pct[1]:.4f}, p99 {pct[2]:.4f}, "
          f"p99.9 {pct[3]:.4f}, max {pct[4]:.4f}; GRAINY = {GRAINY}")
    picks = np.random.default_rng(1).choice(len(val), min(args.val, len(val)), replace=False)
    with Predictor("thin", backend="auto") as predictor:
        if (photo := group_photo_path()) is not None:
            rgb = load_rgb(photo)
            for name, effect in PHOTO_EFFECTS.items():
                faces = predictor.detect(effect(rgb)[0])
                print(f"group photo, {name}: " + ", ".join(f"{grain_level(f.chip):.4f}" for f in faces))
        for condition in CONDITIONS:
            scenes = np.random.default_rng(0)
            grain, error = [], []
            for i in picks:
                sample = val[i]
                faces = predictor.predict_rgb(getattr(wild, condition)(load_rgb(data / "images" / sample.file), scenes))
                if faces:
                    grain.append(grain_level(faces[0].chip))
                    error.append(faces[0].age - sample.age)
            grainy, error = np.array(grain) > GRAINY, np.array(error)
            parts = [f"{label} {mask.sum()}: signed error {error[mask].mean():+.1f}, gross "
                     f"{100 * (np.abs(error[mask]) > 15).mean():.0f} %"
                     for label, mask in (("above", grainy), ("below", ~grainy)) if mask.any()]
            print(f"val, {condition}: {len(error)} faces found; " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
