"""The shipped networks on a real group photo, as it is and under camera effects: faces found and missed, false boxes,
and each face's estimate against the ages its people could have had.

The photo (six adults, 25-36 when it was taken, smiling, heads tilted, turned and bowed, warm directional light) is
installed by `scripts/fetch_group_photo.py` (part of `scripts/setup.sh --dev`); its faces are marked by hand in
`dldl_core.data.sample_photos`. Each network runs as `dldl predict` runs it (onnxruntime, flip-TTA, the face pipeline
with its second, upright look; a weights file runs on torch). Gross: an estimate more than 15 years outside 25-36.

    python benchmarks/real_group_photo.py [--weights thin tiny FILE.safetensors ...] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data.images import load_rgb
from dldl_core.data.sample_photos import GROUP_PHOTO_AGES, GROUP_PHOTO_NOSES, group_photo_path
from dldl_core.evaluation.group_photo import PHOTO_EFFECTS, score_group_photo
from dldl_core.markdown import markdown_table
from dldl_core.models.weights import WeightsError
from dldl_core.pipeline.predictor import Predictor


def measure(rgb: np.ndarray, weights: list[str]) -> list[dict]:
    """One row per network and camera effect."""
    rows = []
    noses = np.asarray(GROUP_PHOTO_NOSES, np.float64)
    for name in weights:
        with Predictor(name, backend="auto") as predictor:
            for effect_name, effect in PHOTO_EFFECTS.items():
                photo, move = effect(rgb)
                started = time.perf_counter()
                faces = predictor.predict_rgb(photo)
                seconds = time.perf_counter() - started
                score = score_group_photo([f.box for f in faces], [f.age for f in faces],
                                          [tuple(p) for p in move(noses)], GROUP_PHOTO_AGES)
                rows.append({"weights": name, "effect": effect_name, "found": score.found, "faces": score.faces,
                             "false_boxes": score.false_boxes, "gross": score.gross, "in_range": score.in_range,
                             "ages": [None if a is None else round(a, 1) for a in score.ages],
                             "stds": [round(f.std, 1) for f in faces], "seconds": round(seconds, 2)})
    return rows


def markdown_report(rows: list[dict]) -> str:
    lo, hi = GROUP_PHOTO_AGES
    header = ["network", "photo", "faces found", "false boxes", f"in {lo:g}-{hi:g}", "gross (> 15 y outside)",
              "estimates, left to right (- missed)", "s"]
    return markdown_table(header, [[r["weights"], r["effect"], f"{r['found']} of {r['faces']}", r["false_boxes"],
                                    r["in_range"], r["gross"],
                                    ", ".join("-" if a is None else f"{a:.1f}" for a in r["ages"]), r["seconds"]]
                                   for r in rows], align="llrrrrlr")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", default=["thin", "tiny"],
                        help="shipped networks by name or weights files (default: thin tiny)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the Markdown table")
    args = parser.parse_args(argv)
    path = group_photo_path()
    if path is None:
        print("real_group_photo: the group photo is not installed; run python scripts/fetch_group_photo.py",
              file=sys.stderr)
        return 2
    try:
        rows = measure(load_rgb(path), args.weights)
    except (WeightsError, OSError, ValueError, KeyError) as error:
        print(f"real_group_photo: the weights could not be loaded: {error}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=1) if args.json else markdown_report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
