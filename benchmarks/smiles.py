"""Smiles against neutral faces: does the network read a smiling face's age worse, on chips and in photos?

UTKFace val faces (none with a copy in train) in an age range are sorted by the mouth's shape, measured by MediaPipe's
468-point face mesh on the aligned chip (dldl_core.pipeline.landmarks, dldl_core.evaluation.expressions): clear
smiles (raised mouth corners), neutral mouths, and the rest. Per expression the table gives the faces' mean age, the
chip MAE with its 95 % t interval, the mean signed error (positive: read older), the gross-error share (more than 15
years off), and the same through the full pipeline under some of the wild proxy's conditions (dldl_core.data.wild):
a photo per face, the largest face found is the estimate. The conditions' photos are the wild proxy's for the same
seed and face order, so a condition's change against ``pasted`` is paired within each expression.

    python benchmarks/smiles.py --data ../shared/datasets/utkface [--ages 18 60] [--limit 300] [--sheet smiles.png]
                                [--weights thin] [--out weights/thin_age_net.smiles.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dldl_core.data.datasets import read_manifest, utkface_folder_problem, val_files_with_train_copy
from dldl_core.data.images import load_rgb
from dldl_core.data.wild import CONDITIONS
from dldl_core.evaluation.expressions import EXPRESSIONS, expression, mouth_shape
from dldl_core.evaluation.smile_report import errors_summary, smiles_table
from dldl_core.models.sidecar import WeightsError
from dldl_core.pipeline.landmarks import FaceMesh, LandmarkError
from dldl_core.pipeline.predictor import Predictor

DEFAULT_CONDITIONS = ("pasted", "strong_light", "roll_30", "low_light")
SHEET_FACES = 10  # faces per expression on the contact sheet
MIN_MESH_SCORE = 0.5  # below it the mesh did not find a face on the chip; such a chip is left out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/utkface"))
    parser.add_argument("--ages", type=float, nargs=2, default=(18, 60), metavar=("LOW", "HIGH"),
                        help="true ages kept, ends included (default 18 60: adults, where smiles are compared)")
    parser.add_argument("--limit", type=int, default=300, help="faces per expression in each photo condition")
    parser.add_argument("--conditions", default=",".join(DEFAULT_CONDITIONS), help="comma-separated wild conditions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weights", help="a shipped network (thin, tiny) or a weights file (default: the shipped "
                        "default)")
    parser.add_argument("--out", type=Path, help="also write the JSON result to this file (the model card reads "
                        "weights/<name>.smiles.json)")
    parser.add_argument("--sheet", type=Path, help="write a PNG of random faces of each expression here")
    parser.add_argument("--json", action="store_true", help="print the JSON result instead of the tables")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> str | None:
    """One sentence on what is wrong with the arguments, or None."""
    if problem := utkface_folder_problem(args.data):
        return problem
    unknown = [c for c in args.conditions.split(",") if c not in CONDITIONS or CONDITIONS[c].is_group]
    if unknown:
        singles = ", ".join(n for n, c in CONDITIONS.items() if not c.is_group)
        return f"unknown or group conditions {', '.join(unknown)}; choose among {singles}"
    if args.limit < 1:
        return "--limit must be at least 1"
    if args.ages[0] > args.ages[1]:
        return "--ages takes the lower age first"
    if args.out and not args.out.parent.is_dir():
        return f"the folder of --out, {args.out.parent}, does not exist"
    return None


def read_faces(data: Path, ages: tuple[float, float], mesh: FaceMesh) -> list[dict[str, Any]]:
    """Val faces without a copy in train whose true age is in ``ages``: age, chip and expression."""
    in_train = val_files_with_train_copy(data / "duplicates.csv")
    faces = []
    for sample in read_manifest(data / "manifest.csv", data / "images").split("val").samples:
        if sample.file in in_train or not ages[0] <= sample.age <= ages[1]:
            continue
        chip = load_rgb(data / "images" / sample.file)
        points, score = mesh.points(chip)
        if score < MIN_MESH_SCORE:
            continue
        faces.append({"age": float(sample.age), "chip": chip, "expression": expression(mouth_shape(points))})
    return faces


def chip_estimates(predictor: Predictor, chips: list[np.ndarray], batch: int = 64) -> np.ndarray:
    return np.concatenate([predictor.estimate_chips(chips[i:i + batch]).age.cpu().numpy()
                           for i in range(0, len(chips), batch)]) if chips else np.zeros(0)


def photo_estimates(predictor: Predictor, faces: list[dict[str, Any]], condition: str, seed: int) -> np.ndarray:
    """The estimate of the largest face found in each face's photo under ``condition`` (NaN: none found)."""
    make = CONDITIONS[condition].make
    estimates = []
    for face in faces:
        found = predictor.predict_rgb(make(face["chip"], np.random.default_rng([seed, face["index"]])), max_faces=1)
        estimates.append(found[0].age if found else np.nan)
    return np.array(estimates, np.float64)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    conditions = args.conditions.split(",")
    with FaceMesh() as mesh:
        faces = read_faces(args.data, tuple(args.ages), mesh)
    order = np.random.default_rng(args.seed).permutation(len(faces))
    for rank, i in enumerate(order):
        faces[i]["index"] = rank  # the photo's seed, as the wild proxy seeds its k-th face
    with Predictor(args.weights, tta=True) as predictor:
        result: dict[str, Any] = {"weights": predictor.weights.path.name,
                                  "sha256": predictor.weights.meta.get("sha256"), "ages": list(args.ages),
                                  "seed": args.seed, "conditions": conditions, "faces": len(faces), "groups": {}}
        for name in EXPRESSIONS:
            group = sorted((f for f in faces if f["expression"] == name), key=lambda f: f["index"])
            true = np.array([f["age"] for f in group], np.float64)
            row: dict[str, Any] = {"n": len(group), "mean_age": float(true.mean()) if len(group) else None,
                                   "chips": errors_summary(true, chip_estimates(predictor, [f["chip"] for f in group]))}
            picked = group[:args.limit]
            for condition in conditions:
                row[condition] = errors_summary(true[:len(picked)],
                                                photo_estimates(predictor, picked, condition, args.seed))
            result["groups"][name] = row
    if args.sheet:
        write_sheet(args.sheet, faces, args.seed)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def write_sheet(path: Path, faces: list[dict[str, Any]], seed: int, tile: int = 96) -> None:
    """One row of random faces per expression, to look at what each group holds."""
    rng = np.random.default_rng(seed)
    rows = []
    for name in EXPRESSIONS:
        group = [f for f in faces if f["expression"] == name]
        picks = rng.permutation(len(group))[:SHEET_FACES]
        tiles = [cv2.resize(group[i]["chip"], (tile, tile), interpolation=cv2.INTER_AREA) for i in picks]
        tiles += [np.zeros((tile, tile, 3), np.uint8)] * (SHEET_FACES - len(tiles))
        rows.append(np.hstack(tiles))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


def markdown_report(result: dict[str, Any]) -> str:
    lo, hi = result["ages"]
    return (f"`{result['weights']}`: UTKFace val faces aged {lo:g}-{hi:g} (no copy in train), {result['faces']} with a "
            f"face mesh; {result['wall_s']} s\n\n" + smiles_table(result["groups"], result["conditions"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if problem := check_args(args):
        print(f"smiles: {problem}", file=sys.stderr)
        return 2
    try:
        result = measure(args)
    except (LandmarkError, WeightsError, OSError) as err:
        print(f"smiles: {err}", file=sys.stderr)
        return 2
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1) if args.json else markdown_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
