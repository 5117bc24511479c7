"""Trains the label-shuffled network of the data randomisation test (Adebayo et al. 2018, "Sanity Checks for
Saliency Maps").

The ages of a seeded subset of the train split are permuted among its faces (seeded), so that a face and its label
are unrelated while the distribution of ages stays the same; the network of the shipped default (its architecture,
input size and alignment template, read from the weights' sidecar) is then trained on them through the project's
trainer. ``dldl sanity --shuffled-weights OUT/shuffled_labels.safetensors`` compares its maps with the trained
network's. Nothing is written into the repository: ``--out`` defaults to a folder in the system's temp dir.

No augmentation and no per-epoch validation (the labels are random: there is nothing to select on); the weights
of the last epoch are kept. ``OUT/run.json`` records the recipe and the wall time.

Usage (3 epochs on 6,000 faces at the default's 64 px):
    python scripts/train_shuffled_labels.py --data ../shared/datasets/utkface
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from dldl_core.data.augment import AugmentConfig  # noqa: E402
from dldl_core.data.datasets import read_manifest  # noqa: E402
from dldl_core.training.trainer import TrainConfig, train  # noqa: E402

NO_VAL = "__no_val__"  # a split name no manifest row has: the trainer then skips its per-epoch validation
NO_AUGMENT = AugmentConfig(flip=0.0, grayscale=0.0, rotation=0.0, scale=(1.0, 1.0), shift=0.0, brightness=0.0,
                           contrast=0.0, saturation=0.0)


def shuffled_manifest(data: Path, out: Path, size: int | None, seed: int) -> Path:
    """``OUT/manifest.csv``: ``size`` train faces drawn at random (all with None), their ages permuted (seeded)."""
    samples = [s for s in read_manifest(data / "manifest.csv", data / "images").samples if s.split == "train"]
    if not samples:
        raise SystemExit(f"{data / 'manifest.csv'} has no rows with split 'train'")
    rng = np.random.default_rng(seed)
    if size and size < len(samples):
        samples = [samples[i] for i in sorted(rng.choice(len(samples), size=size, replace=False))]
    ages = rng.permutation([s.age for s in samples])
    path = out / "manifest.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "age", "split"])
        writer.writerows([s.file, f"{age:g}", "train"] for s, age in zip(samples, ages))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "utkface",
                        help="dataset folder with manifest.csv (file,age,split) and images/")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "thin_age_net.safetensors",
                        help="the trained network whose architecture and preprocessing are copied")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "dldl_shuffled_labels",
                        help="output folder, outside the repository")
    parser.add_argument("--train-size", type=int, default=6000, help="train faces drawn at random (0: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0, help="seeds the subset, the permutation and the training")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    sidecar = json.loads(args.weights.with_suffix(".json").read_text())
    prep, model = sidecar["preprocess"], sidecar["model"]
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = shuffled_manifest(args.data, args.out, args.train_size, args.seed)
    config = TrainConfig(
        data=str(args.data / "images"), manifest=str(manifest), out=str(args.out / "shuffled_labels.safetensors"),
        arch=model["arch"], objective=sidecar.get("objective", "dldl_v2"), input_size=prep["input_size"],
        min_age=model["min_age"], max_age=model["max_age"], epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, warmup_epochs=1, val_split=NO_VAL, keep="last", augment=NO_AUGMENT, seed=args.seed,
        device=args.device, cache_dir=str(args.out / "cache"), progress=args.progress,
        template=tuple(tuple(p) for p in prep["template"]) if prep.get("template") else None)
    t0 = time.perf_counter()
    weights = train(config, resume=True)
    wall = time.perf_counter() - t0
    record = {"weights": weights.name, "wall_s": round(wall, 1), "train_faces": args.train_size,
              "epochs": args.epochs, "seed": args.seed, "arch": model["arch"], "input_size": prep["input_size"]}
    (args.out / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{weights}: {args.epochs} epochs on {args.train_size} faces with shuffled ages in {wall:.0f} s")


if __name__ == "__main__":
    main()
