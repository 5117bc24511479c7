"""What a fill does to the estimate by itself: the whole face hidden, and half of it hidden in random blobs.

For every fill of ``dldl_core.explain.fills`` and N val faces (a seeded draw): the estimate of the face with every
pixel hidden (its mean and spread over faces: a fill that ignores the face gives every face the same age), and the
change of the estimate when half of the face is hidden in random CAM-sized blobs (16 x 16 cells, as the deletion
curves hide them). A fill that stays near the data moves the estimate little on its own; one that does not makes the
deletion curves measure the fill.

Usage:
    python benchmarks/fill_effects.py --data ../shared/datasets/utkface --limit 200 [--weights W] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dldl_core.explain.explainer import Explainer  # noqa: E402
from dldl_core.explain.faithfulness import cell_order, cell_scores, random_map, rank_map  # noqa: E402
from dldl_core.explain.fills import hide  # noqa: E402
from dldl_core.explain.forward import readout  # noqa: E402
from dldl_core.explain.methods import FILLS  # noqa: E402
from dldl_core.explain.samples import load_faces, select_rows  # noqa: E402
from dldl_core.markdown import markdown_table  # noqa: E402
from dldl_core.pipeline.predictor import Predictor  # noqa: E402

CELLS = 16


def half_hidden_mask(size: int, rng: np.random.Generator) -> torch.Tensor:
    """(1, S, S) mask hiding half of the cells, in the order of a random CAM-sized blob map."""
    scores = cell_scores(random_map(size, max(size // 16, 2), rng), CELLS)
    rank = rank_map(cell_order(scores, scores), CELLS, size)
    return torch.from_numpy(rank < 0.5).float()[None]


def measure(explainer: Explainer, faces: list, seed: int) -> dict[str, dict[str, float]]:
    """Per fill: the estimates of the faces fully hidden and the changes when half is hidden."""
    size = explainer.input_size
    full = torch.ones(1, size, size)
    out = {}
    for fill in FILLS:
        rng = np.random.default_rng(seed)
        hidden_all, half_change, originals = [], [], []
        for face in faces:
            x = explainer.input(face.chip)
            batch = torch.cat([x, hide(x, full, fill, seed), hide(x, half_hidden_mask(size, rng), fill, seed)])
            ages, _ = readout(explainer.model, batch)
            originals.append(float(ages[0]))
            hidden_all.append(float(ages[1]))
            half_change.append(float(ages[2] - ages[0]))
        change = np.array(half_change)
        out[fill] = {"all_hidden_mean": float(np.mean(hidden_all)), "all_hidden_std": float(np.std(hidden_all)),
                     "estimate_std": float(np.std(originals)), "half_mean_change": float(change.mean()),
                     "half_mean_abs_change": float(np.abs(change).mean()),
                     "half_share_over_15": float(np.mean(np.abs(change) > 15))}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "utkface")
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.data / "manifest.csv").is_file():
        print(f"{args.data} has no manifest.csv", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    with Predictor(args.weights) as predictor:
        explainer = Explainer(predictor)
        rows = select_rows(args.data / "manifest.csv", args.data / "images", args.split, args.limit,
                           lambda age: "all", args.seed)
        faces = [f for f in load_faces(predictor, args.data / "images", rows) if f is not None]
        result = measure(explainer, faces, args.seed)
    wall = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"faces": len(faces), "wall_s": wall, "fills": result}, indent=2))
        return 0
    rows = [[f, f"{r['all_hidden_mean']:.1f} +- {r['all_hidden_std']:.1f}", f"{r['half_mean_change']:+.1f}",
             f"{r['half_mean_abs_change']:.1f}", f"{r['half_share_over_15']:.0%}"] for f, r in result.items()]
    print(f"{len(faces)} {args.split} faces (their estimates spread +- "
          f"{next(iter(result.values()))['estimate_std']:.1f} years), {wall:.0f} s\n")
    print(markdown_table(["fill", "whole face hidden: estimate (mean +- sd over faces)",
                          "half hidden in random blobs: mean change", "mean |change|", "|change| > 15 years"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
