"""Rank two weights files on the same val faces: each pipeline of the model card (chip, full, pasted; the pasted
photos are drawn from the same seed for both), with the paired bootstrap interval of the MAE difference and of the
gross-error share (|error| > 15 years). One MAE over a few hundred faces has a standard error of tenths of a year,
but two networks err on mostly the same faces, so their difference is known far better than either MAE.

    python benchmarks/compare_weights.py --data ../shared/datasets/utkface --weights A.safetensors B.safetensors \\
        [--pipelines chip,full,pasted] [--limit N] [--threads 2] [--out compare.json] [--json]

Prints a Markdown table (``a`` is the first file; a negative difference means it is better); ``--out`` also writes the
result and every face's two estimates (ages only, no file names) as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dldl_core.data.datasets import utkface_folder_problem  # noqa: E402
from dldl_core.evaluation.comparison import compare_errors, comparison_table  # noqa: E402
from dldl_core.evaluation.evaluate import PIPELINES  # noqa: E402


class UsageError(Exception):
    """Bad input; the message is one sentence for the user."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="UTKFace folder: manifest.csv, images/")
    parser.add_argument("--weights", nargs=2, required=True, metavar=("A", "B"), help="the two weights files")
    parser.add_argument("--pipelines", default=",".join(PIPELINES), help="comma-separated: chip, full, pasted")
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=None, help="the split's first N faces (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="the pasted photos' seed (the model card's is 0)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the network")
    parser.add_argument("--out", type=Path, default=None, help="write the result and per-face estimates here")
    parser.add_argument("--json", action="store_true", help="print the JSON result instead of the table")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> list[str]:
    """The pipeline names, after checking what can be checked before loading anything."""
    if problem := utkface_folder_problem(args.data):
        raise UsageError(problem)
    names = [n.strip() for n in args.pipelines.split(",") if n.strip()]
    unknown = [n for n in names if n not in PIPELINES]
    if unknown or not names:
        raise UsageError(f"unknown pipeline {', '.join(map(repr, unknown)) or 'list'}; choose from "
                         f"{', '.join(PIPELINES)}")
    missing = [w for w in args.weights if not Path(w).is_file()]
    if missing:
        raise UsageError(f"no weights file at {missing[0]}")
    if (args.limit is not None and args.limit < 1) or args.threads < 1:
        raise UsageError("--limit and --threads must be at least 1")
    return names


def load_predictors(weights: Sequence[str]) -> list:
    """Both predictors, loaded before any evaluation so that a bad file fails at once."""
    from dldl_core.models.weights import WeightsError
    from dldl_core.pipeline.predictor import Predictor

    predictors = []
    for w in weights:
        try:
            predictors.append(Predictor(w, device="cpu"))
        except (WeightsError, OSError, ValueError, KeyError) as err:
            for p in predictors:
                p.close()
            raise UsageError(f"the weights {w} could not be loaded: {err}") from None
    return predictors


def estimates(predictor, args: argparse.Namespace, names: list[str]) -> dict[str, dict[str, float]]:
    """Per pipeline, each face's estimate keyed by its file (a face that could not be read is absent)."""
    from dldl_core.evaluation.evaluate import evaluate

    by_pipeline = {}
    for name in names:
        try:
            ev = evaluate(predictor, args.data / "images", args.data / "manifest.csv", args.split, name,
                          limit=args.limit, seed=args.seed, progress=False)
        except ValueError as err:
            raise UsageError(str(err)) from None
        by_pipeline[name] = {s.file: float(p) for s, p in zip(ev.samples, ev.pred)}
        print(f"  {predictor.weights.path.name} {name}: {len(ev.samples)} faces", file=sys.stderr)
    return by_pipeline


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from dldl_core.data.datasets import read_manifest

    names = check_args(args)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    ages = {s.file: float(s.age) for s in read_manifest(args.data / "manifest.csv", args.data / "images").samples}
    predictors = load_predictors(args.weights)
    try:
        a, b = (estimates(p, args, names) for p in predictors)
    finally:
        for p in predictors:
            p.close()
    rows, per_face = {}, {}
    for name in names:
        files = sorted(set(a[name]) & set(b[name]))
        true = np.array([ages[f] for f in files])
        pred_a, pred_b = (np.array([est[name][f] for f in files]) for est in (a, b))
        rows[name] = compare_errors(true, pred_a, pred_b, seed=args.seed)
        per_face[name] = {"true": true.tolist(), "a": np.round(pred_a, 2).tolist(), "b": np.round(pred_b, 2).tolist()}
    return {"a": args.weights[0], "b": args.weights[1], "split": args.split, "seed": args.seed,
            "pipelines": rows, "per_face": per_face, "wall_s": round(time.perf_counter() - started, 1)}


def markdown_report(result: dict[str, Any]) -> str:
    a, b = (Path(result[k]).name for k in ("a", "b"))
    return (f"`{a}` (a) against `{b}` (b) on the {result['split']} split, flip-TTA, pasted seed {result['seed']}; "
            "differences a - b with their 95 % paired bootstrap intervals over the faces:\n\n"
            + comparison_table(result["pipelines"], a, b) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except UsageError as err:
        print(f"compare_weights: {err}", file=sys.stderr)
        return 2
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    summary = {k: v for k, v in result.items() if k != "per_face"}
    print(json.dumps(summary, indent=1) if args.json else markdown_report(result) + f"\nwall time {result['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
