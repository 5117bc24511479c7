"""The wild-proxy benchmark: the full pipeline (detect, align, network) on UTKFace val faces made into photo-like
scenes under named conditions (``dldl_core.data.wild``), since there are no labelled real photos to test on.

The faces are the first N of the val split in a seeded order, leaving out the val files that have a byte-identical
copy in train (``duplicates.csv``: a network may remember those). Face i gets the same background, size and place
under every condition, so a condition's change against ``pasted`` comes from its effect alone. Several ``--weights``
run side by side on the very same photos, and each after the first is compared with the first by paired bootstrap
intervals (``dldl_core.evaluation.comparison``): on a few hundred faces one MAE is uncertain by tenths of a year, their
difference much less. ``--worst K`` adds the K worst val errors of the chip pipeline (every val
face, as aligned crops) grouped by measured cause, against how common each cause is among all val faces.

    python benchmarks/wild_proxy.py --data ../shared/datasets/utkface --limit 200 --out ../wild_proxy_out \\
        [--weights A.safetensors B.safetensors] [--conditions pasted,yaw] [--examples] [--worst 40] [--json]

Writes OUT/wild_proxy.json and OUT/wild_proxy.md and prints the table. ``--examples`` also writes
OUT/example_<condition>.png (a few photos with the predicted box and age; they show UTKFace faces, so OUT must be
outside the repository).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Photos go through the network one at a time: OpenMP threads that spin while they wait only slow that down, the
# more so beside another busy process.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from dldl_core.data.datasets import (  # noqa: E402
    Sample,
    duplicate_groups,
    read_manifest,
    utkface_folder_problem,
    val_files_with_train_copy,
)
from dldl_core.data.images import ImageError, load_rgb  # noqa: E402
from dldl_core.data.wild import CONDITIONS, Condition  # noqa: E402
from dldl_core.evaluation import error_causes, wild_report  # noqa: E402
from dldl_core.evaluation.comparison import compare_errors  # noqa: E402
from dldl_core.maths.age_groups import AGE_BANDS, age_band, group_names  # noqa: E402
from dldl_core.models.weights import WeightsError  # noqa: E402
from dldl_core.pipeline.predictor import Predictor  # noqa: E402

EXAMPLES_PER_CONDITION = 4
DUPLICATE_OTHER_AGE = "duplicate with another age"
CAUSE_ORDER = (*error_causes.IMAGE_CAUSES, DUPLICATE_OTHER_AGE, *(f"age {name}" for name in group_names(AGE_BANDS)))
EXAMPLE_TILE = (320, 240)  # (W, H) of one photo on an example sheet


class UsageError(Exception):
    """Bad input; the message is one sentence for the user."""


@dataclass
class Outcomes:
    """Per face of one condition and one weights file: the estimate, NaN where no face was found."""

    true: list[float] = field(default_factory=list)
    pred: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    false_boxes: int = 0

    def add(self, true: float, face: Any | None) -> None:
        self.true.append(true)
        nan = float("nan")
        self.pred.append(face.age if face else nan)
        self.std.append(face.std if face else nan)
        self.low.append(face.interval90[0] if face else nan)
        self.high.append(face.interval90[1] if face else nan)

    def summary(self) -> dict[str, Any]:
        return wild_report.summarize(self.true, self.pred, self.std, self.low, self.high, self.false_boxes)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="UTKFace folder: manifest.csv, images/")
    parser.add_argument("--weights", nargs="+", default=[None], help="one or more weights files (default: shipped)")
    parser.add_argument("--limit", type=int, default=300, help="val faces per condition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated names")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "wild_proxy")
    parser.add_argument("--json", action="store_true", help="print the JSON result instead of the table")
    parser.add_argument("--examples", action="store_true", help="write one example PNG per condition to --out")
    parser.add_argument("--worst", type=int, default=0, metavar="K", help="causes of the K worst chip errors")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of the network (one photo at a time)")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> list[str]:
    """The condition names, after checking every argument that can be checked before loading anything."""
    if problem := utkface_folder_problem(args.data):
        raise UsageError(problem)
    names = [n.strip() for n in args.conditions.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown or not names:
        raise UsageError(f"unknown condition {', '.join(map(repr, unknown)) or 'list'}; choose from "
                         f"{', '.join(CONDITIONS)}")
    if args.limit < 1 or args.worst < 0 or args.threads < 1:
        raise UsageError("--limit and --threads must be at least 1 and --worst at least 0")
    out = args.out.resolve()
    if args.examples and (out == ROOT or ROOT in out.parents):
        raise UsageError("--examples writes UTKFace faces, so --out must be outside the repository")
    return names


def read_duplicates(data: Path) -> tuple[set[str], set[str]]:
    """From ``duplicates.csv`` (when present): the val files with a copy in train, and every file with a copy
    under another age."""
    groups = duplicate_groups(data / "duplicates.csv")
    other_age = {r["file"] for rows in groups if len({r["age"] for r in rows}) > 1 for r in rows}
    return val_files_with_train_copy(data / "duplicates.csv"), other_age


def select_faces(val: list[Sample], excluded: set[str], limit: int, seed: int) -> list[Sample]:
    kept = [s for s in val if s.file not in excluded]
    order = np.random.default_rng(seed).permutation(len(kept))
    return [kept[i] for i in order[:limit]]


def load_chips(data: Path, samples: list[Sample]) -> tuple[list[Sample], list[np.ndarray]]:
    """The samples whose image decodes, and their chips."""
    kept, chips = [], []
    for sample in samples:
        try:
            chips.append(load_rgb(data / "images" / sample.file))
        except ImageError:
            continue
        kept.append(sample)
    return kept, chips


def group_sizes(n: int, rng: np.random.Generator, faces: tuple[int, int]) -> list[int]:
    """Split n faces into groups of faces[0]..faces[1]; the last group holds what is left (it may be smaller)."""
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(min(int(rng.integers(faces[0], faces[1] + 1)), n - sum(sizes)))
    return sizes


def load_predictors(weights: list[str | None]) -> dict[str, Predictor]:
    predictors: dict[str, Predictor] = {}
    try:
        for w in weights:
            predictor = Predictor(w, tta=True)
            label = predictor.weights.path.name
            predictors[label if label not in predictors else str(predictor.weights.path)] = predictor
    except (WeightsError, OSError, ValueError, KeyError) as err:
        for p in predictors.values():
            p.close()
        raise UsageError(f"the weights could not be loaded: {err}") from None
    return predictors


def run_single(condition: Condition, chips: list[np.ndarray], ages: list[float], predictors: dict[str, Predictor],
               seed: int, examples: list) -> dict[str, Outcomes]:
    """One photo per face, the largest face found is the estimate."""
    outcomes = {label: Outcomes() for label in predictors}
    for i, (chip, age) in enumerate(zip(chips, ages)):
        photo = condition.make(chip, np.random.default_rng([seed, i]))
        for k, (label, predictor) in enumerate(predictors.items()):
            faces = predictor.predict_rgb(photo, max_faces=1)
            outcomes[label].add(age, faces[0] if faces else None)
            if k == 0 and len(examples) < EXAMPLES_PER_CONDITION:
                examples.append((photo, faces, [age]))
    return outcomes


def run_group(condition: Condition, chips: list[np.ndarray], ages: list[float], predictors: dict[str, Predictor],
              seed: int, examples: list) -> dict[str, Outcomes]:
    """Faces in groups; each pasted face takes the predicted box that overlaps it, the others are false boxes."""
    outcomes = {label: Outcomes() for label in predictors}
    start = 0
    for g, size in enumerate(group_sizes(len(chips), np.random.default_rng([seed, 1, 0]), condition.faces)):
        group = condition.make(chips[start:start + size], np.random.default_rng([seed, 1, g + 1]))
        truths = ages[start:start + size]
        for k, (label, predictor) in enumerate(predictors.items()):
            faces = predictor.predict_rgb(group.photo)
            matches, extra = wild_report.match_faces(group.boxes, [f.box for f in faces])
            for age, j in zip(truths, matches):
                outcomes[label].add(age, None if j is None else faces[j])
            outcomes[label].false_boxes += extra
            if k == 0 and len(examples) < 1:
                examples.append((group.photo, faces, truths))
        start += size
    return outcomes


def example_sheet(examples: list) -> np.ndarray:
    """Photos side by side, each with its predicted boxes and ages (green) and the true ages (white)."""
    tiles = []
    for photo, faces, truths in examples:
        size = EXAMPLE_TILE if len(examples) > 1 else (EXAMPLE_TILE[0] * 2, EXAMPLE_TILE[1] * 2)
        scale = size[0] / photo.shape[1]
        tile = cv2.resize(photo, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
        for f in faces:
            x0, y0, x1, y1 = (int(v * scale) for v in f.box)
            cv2.rectangle(tile, (x0, y0), (x1, y1), (0, 255, 0), 2)
            cv2.putText(tile, f"{f.age:.0f}", (x0 + 2, max(y0 - 5, 14)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2,
                        cv2.LINE_AA)
        label = "true " + ", ".join(f"{a:.0f}" for a in truths) + ("" if faces else "; no face found")
        cv2.putText(tile, label, (6, size[1] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    return np.hstack(tiles)


def worst_causes(predictors: dict[str, Predictor], data: Path, val: list[Sample], other_age: set[str],
                 k: int) -> dict[str, Any]:
    """The chip pipeline over every val face: per weights file, the causes among the K worst errors against all."""
    first = next(iter(predictors.values()))
    causes, chips_ok, ages, preds = [], [], [], {label: [] for label in predictors}
    for start in range(0, len(val), 64):
        batch, batch_ages = [], []
        for sample in val[start:start + 64]:
            try:
                chip = load_rgb(data / "images" / sample.file)
            except ImageError:
                continue
            faces = first.detect(chip, max_faces=1)  # keypoints from the upright second look
            eye_line = error_causes.eye_line_degrees(faces[0].keypoints) if faces else None
            causes.append(error_causes.image_causes(chip, eye_line)
                          + ([DUPLICATE_OTHER_AGE] if sample.file in other_age else [])
                          + [f"age {age_band(sample.age)}"])
            batch.append(chip)
            batch_ages.append(sample.age)
            chips_ok.append(sample.file)
        if batch:
            ages += batch_ages
            for label, predictor in predictors.items():
                preds[label] += predictor.estimate_chips(batch).age.cpu().tolist()
    result = {}
    for label, pred in preds.items():
        errors = np.abs(np.asarray(pred) - np.asarray(ages))
        worst = [int(i) for i in np.argsort(-errors, kind="stable")[:k]]
        result[label] = {
            "n": len(ages), "k": len(worst), "mae_chip": float(errors.mean()) if len(errors) else None,
            "causes": error_causes.cause_table(causes, worst, CAUSE_ORDER),
            "worst": [{"file": chips_ok[i], "age": ages[i], "pred": round(pred[i], 2), "causes": causes[i]}
                      for i in worst]}
    return result


def markdown_report(result: dict[str, Any]) -> str:
    lines = [(f"Wild proxy: {result['n_faces']} UTKFace val faces (seed {result['seed']}, "
              f"{result['excluded_duplicates']} val files with a train copy left out), full pipeline with flip-TTA; "
              "MAE, gross share, mean std and coverage over the faces found."), "",
             wild_report.condition_table(result["results"], result["conditions"])]
    for sentence, paired_table in wild_report.paired_sections(result):
        lines += ["", sentence, "", paired_table]
    for label, worst in result.get("worst", {}).items():
        lines += ["", (f"Worst {worst['k']} of {worst['n']} val chips (chip pipeline, `{label}`, MAE "
                       f"{worst['mae_chip']:.2f}) by measured cause:"), "",
                  error_causes.cause_markdown(worst["causes"], worst["k"], worst["n"])]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> dict[str, Any]:
    names = check_args(args)
    started = time.perf_counter()
    val = read_manifest(args.data / "manifest.csv", args.data / "images").split("val").samples
    if not val:
        raise UsageError(f"{args.data / 'manifest.csv'} has no usable val rows")
    in_train, other_age = read_duplicates(args.data)
    faces, chips = load_chips(args.data, select_faces(val, in_train, args.limit, args.seed))
    ages = [float(s.age) for s in faces]
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    predictors = load_predictors(args.weights)
    results: dict[str, dict[str, Any]] = {label: {} for label in predictors}
    paired: dict[str, dict[str, Any]] = {label: {} for label in list(predictors)[1:]}
    seconds = {}
    try:
        for name in names:
            t0, condition, examples = time.perf_counter(), CONDITIONS[name], []
            runner = run_group if condition.is_group else run_single
            outcomes = runner(condition, chips, ages, predictors, args.seed, examples)
            for label, outcome in outcomes.items():
                results[label][name] = outcome.summary()
            first = next(iter(outcomes.values()))
            for label in paired:
                paired[label][name] = compare_errors(first.true, first.pred, outcomes[label].pred, seed=args.seed)
            seconds[name] = round(time.perf_counter() - t0, 1)
            print(f"  {name}: {seconds[name]} s", file=sys.stderr)
            if args.examples:
                sheet = example_sheet(examples)
                cv2.imwrite(str(args.out / f"example_{name}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        worst = worst_causes(predictors, args.data, val, other_age, args.worst) if args.worst else {}
    finally:
        for p in predictors.values():
            p.close()
    result = {"n_faces": len(faces), "seed": args.seed, "excluded_duplicates": len(in_train & {s.file for s in val}),
              "weights": list(predictors),
              "sha256": {label: p.weights.meta.get("sha256") for label, p in predictors.items()},
              "conditions": {n: CONDITIONS[n].description for n in names},
              "results": {label: wild_report.with_changes(r) for label, r in results.items()},
              "seconds_per_condition": seconds}
    if paired:
        result["paired"] = paired
    if worst:
        result["worst"] = worst
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except UsageError as err:
        print(f"wild_proxy: {err}", file=sys.stderr)
        return 2
    report = markdown_report(result)
    (args.out / "wild_proxy.json").write_text(json.dumps(result, indent=1))
    (args.out / "wild_proxy.md").write_text(report)
    print(json.dumps(result, indent=1) if args.json else report + f"\nwall time {result['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
