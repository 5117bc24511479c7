"""The objectives side by side and DLDL-v2's sensitivity to lambda and sigma, trained with the project's trainer.

Every run uses the same backbone, input size, seed, epoch budget and training subset (a seeded random subset of the
manifest's train split; the manifest itself is sorted by file name, hence by age, so its first rows would not do),
and is evaluated once, after its last epoch, on the val split with the flip test-time augmentation the project
uses everywhere. No run is selected on val: the per-epoch validation of the trainer is switched off.

Rows:
- every objective of the registry's seed set (mr, dex, ranking, dldl, dldl_v2, mean_variance, sadal) at lambda 1,
  sigma 2;
- dldl_v2 with lambda in {0, 0.01, 0.1, 1, 10} at sigma 2;
- dldl_v2 with sigma in {1, 2, 3, 4} at lambda 1.
Identical trainings run once: dldl_v2 at lambda 1, sigma 2 appears in all three tables, and dldl_v2 at lambda 0 is
the DLDL loss (KL only), so that row is the dldl run. 13 trainings in all.

The result table is written into the report between the markers ``<!-- ablation:begin -->`` and
``<!-- ablation:end -->`` (the rest of the report is left as it is); every run's numbers also go to
``OUT/results.jsonl``, and ``--resume`` skips the runs found there.

Usage (the full table; about an hour on 2 CPU cores at the defaults):
    nice -n 10 python benchmarks/ablation.py --data ../shared/datasets/utkface --out /tmp/dldl_ablation
Smoke test of the script (2 objectives, 200 images, 1 epoch, 300 val images; not results):
    nice -n 10 python benchmarks/ablation.py --data ../shared/datasets/utkface --quick
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dldl_core import metrics  # noqa: E402
from dldl_core.augment import AugmentConfig  # noqa: E402
from dldl_core.data import FaceDataset, build_cache, read_manifest  # noqa: E402
from dldl_core.inference import bf16_is_fast, pick_device  # noqa: E402
from dldl_core.objectives import distribution_note, get_objective  # noqa: E402
from dldl_core.train import TrainConfig, evaluate_dataset, out_paths, train  # noqa: E402
from dldl_core.weights import load_weights  # noqa: E402

OBJECTIVES = ("mr", "dex", "ranking", "dldl", "dldl_v2", "mean_variance", "sadal")
LAMBDAS = (0.0, 0.01, 0.1, 1.0, 10.0)
SIGMAS = (1.0, 2.0, 3.0, 4.0)
USES_LAMBDA = {"dldl_v2", "sadal"}  # objectives whose loss has the expectation L1 term
USES_SIGMA = {"dldl", "dldl_v2", "sadal"}  # objectives trained on Gaussian label distributions
BEGIN, END = "<!-- ablation:begin -->", "<!-- ablation:end -->"
NO_VAL = "__no_val__"  # a split name no manifest row has: the trainer then skips its per-epoch validation


@dataclass(frozen=True)
class Run:
    """One training: what the table's rows point at."""

    objective: str
    lam: float
    sigma: float

    @property
    def key(self) -> str:
        lam = f"_lam{self.lam:g}" if self.objective in USES_LAMBDA else ""
        sigma = f"_sigma{self.sigma:g}" if self.objective in USES_SIGMA else ""
        return f"{self.objective}{lam}{sigma}"


def canonical(objective: str, lam: float, sigma: float) -> Run:
    """The training a row needs; rows whose losses are identical share one training."""
    if objective == "dldl_v2" and lam == 0:
        objective = "dldl"  # KL + 0 x L1 is the DLDL loss
    return Run(objective, lam if objective in USES_LAMBDA else 1.0, sigma if objective in USES_SIGMA else 2.0)


def table_rows(objectives: tuple[str, ...], lambdas: tuple[float, ...], sigmas: tuple[float, ...]
               ) -> dict[str, list[tuple[str, float, float]]]:
    """Rows per table as (objective, lambda, sigma)."""
    tables = {"objectives": [(name, 1.0, 2.0) for name in objectives]}
    if lambdas:
        tables["lambda"] = [("dldl_v2", lam, 2.0) for lam in lambdas]
    if sigmas:
        tables["sigma"] = [("dldl_v2", 1.0, sigma) for sigma in sigmas]
    return tables


def write_subset_manifest(data: Path, out: Path, train_size: int, val_limit: int | None, seed: int) -> tuple[Path, int]:
    """A manifest of a seeded random subset of the train split and the val split (or a seeded subset of it).

    Only CSV rows are written; the images stay in the dataset's folder."""
    manifest = read_manifest(data / "manifest.csv", data / "images")
    rng = np.random.default_rng(seed)
    train_rows = [s for s in manifest.samples if s.split == "train"]
    val_rows = [s for s in manifest.samples if s.split == "val"]
    if not train_rows or not val_rows:
        raise SystemExit(f"{data / 'manifest.csv'} needs rows with split 'train' and 'val'")
    train_rows = [train_rows[i] for i in rng.permutation(len(train_rows))[:train_size]]
    if val_limit:
        val_rows = [val_rows[i] for i in sorted(rng.permutation(len(val_rows))[:val_limit])]
    path = out / "manifest_subset.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "age", "split"])
        for s in train_rows:
            writer.writerow([s.file, f"{s.age:g}", "train"])
        for s in val_rows:
            writer.writerow([s.file, f"{s.age:g}", "val"])
    return path, len(val_rows)


def run_one(run: Run, args: argparse.Namespace, manifest: Path, out: Path, val_set: FaceDataset) -> dict:
    config = TrainConfig(data=str(args.data / "images"), manifest=str(manifest),
                         out=str(out / "runs" / f"{run.key}.safetensors"), arch=args.arch, objective=run.objective,
                         lam=run.lam, sigma=run.sigma, input_size=args.input_size, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, warmup_epochs=args.warmup_epochs,
                         val_split=NO_VAL, limit=args.train_size, augment=AugmentConfig(), seed=args.seed,
                         device=args.device, cache_dir=str(out / "cache"), progress=args.progress)
    t0 = time.perf_counter()
    weights_path = train(config)
    train_wall = time.perf_counter() - t0
    paths = out_paths(weights_path)
    log = [json.loads(line) for line in paths["log"].read_text().splitlines()]
    # The last epoch's network (the checkpoint), not the weights file, which keeps the lowest training loss.
    weights = load_weights(weights_path)
    state = torch.load(paths["checkpoint"], map_location="cpu", weights_only=True)
    weights.model.load_state_dict(state["model"])
    device = pick_device(args.device)
    t1 = time.perf_counter()
    pred, true = evaluate_dataset(weights.model.to(device), val_set, weights.preprocess, run.objective)
    eval_s = time.perf_counter() - t1
    return {**asdict(run), "key": run.key, "val_mae": metrics.mae(pred, true), "val_cs5": metrics.cs_at(pred, true, 5),
            "val_images": len(true), "train_s": sum(r["epoch_s"] for r in log), "train_wall_s": train_wall,
            "eval_s": eval_s, "train_img_per_s": float(np.mean([r["train_img_per_s"] for r in log])),
            "final_train_loss": log[-1]["total"], "epochs": len(log)}


def render(tables: dict[str, list[tuple[str, float, float]]], results: dict[str, dict], args: argparse.Namespace,
           val_images: int, total_wall_s: float) -> str:
    device = pick_device(args.device)
    amp = "bf16" if bf16_is_fast(device) else "fp32"
    cpu = platform.processor() or platform.machine()
    kind = ("Smoke run of the script (`--quick`): NOT results. It only shows that the pipeline runs end to end; "
            "the numbers mean nothing at this budget." if args.quick else "Measured results.")
    lines = [BEGIN, "", f"**{kind}**", "",
             f"- When: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; device: {device.type} ({cpu}), "
             f"{torch.get_num_threads()} torch threads, {amp}; torch {torch.__version__}.",
             f"- Budget per training: {args.arch}, {args.input_size}x{args.input_size} input, "
             f"{args.train_size} training images (seeded subset {args.seed} of the train split), {args.epochs} "
             f"epoch(s), batch {args.batch_size}, Adam(W) lr {args.lr:g}, cosine with {args.warmup_epochs:g} warm-up "
             f"epoch(s), the default augmentation, seed {args.seed}.",
             f"- Evaluation: the last epoch's network on {val_images} val images, mean of the image and its mirror.",
             f"- {len(results)} trainings, {total_wall_s / 60:.1f} min wall in all (training + evaluation).", ""]
    titles = {"objectives": "Objectives (lambda 1, sigma 2 where they apply)",
              "lambda": "DLDL-v2, weight lambda of the L1 term (sigma 2)",
              "sigma": "DLDL-v2, label standard deviation sigma (lambda 1)"}
    for name, rows in tables.items():
        lines += [f"### {titles[name]}", "",
                  "| objective | lambda | sigma | distribution | val MAE | val CS@5 | train s | train img/s | note |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for objective, lam, sigma in rows:
            run = canonical(objective, lam, sigma)
            r = results.get(run.key)
            if r is None:
                continue  # not run (yet): no row
            note = ""
            if run.objective != objective:
                note = "same loss as dldl: the dldl run"
            kind_of = distribution_note(objective).split(":")[0].lower()
            lam_s = f"{lam:g}" if objective in USES_LAMBDA else "-"
            sigma_s = f"{sigma:g}" if objective in USES_SIGMA else "-"
            lines.append(f"| {objective} | {lam_s} | {sigma_s} | {kind_of} | {r['val_mae']:.2f} | "
                         f"{100 * r['val_cs5']:.1f}% | {r['train_s']:.0f} | {r['train_img_per_s']:.0f} | {note} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_report(report: Path, block: str, quick: bool = False) -> bool:
    """Replace the table block of the report; a smoke run never replaces measured results. True if written."""
    text = report.read_text() if report.is_file() else ""
    if quick and "**Measured results.**" in text:
        return False
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = (text.rstrip() + "\n\n" if text else "# Ablation\n\n") + block + "\n"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "utkface",
                        help="dataset folder with manifest.csv (split column train/val) and images/")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "dldl_ablation",
                        help="runs, the decoded-image cache and results.jsonl go here (never into the repository)")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "ablation.md")
    parser.add_argument("--arch", default="tiny")
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--train-size", type=int, default=4000, help="training images (seeded subset of train)")
    parser.add_argument("--val-limit", type=int, default=None, help="evaluate on a seeded subset of val")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup-epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--objectives", nargs="+", default=list(OBJECTIVES))
    parser.add_argument("--no-sweeps", action="store_true", help="only the objectives table")
    parser.add_argument("--expected-img-per-s", type=float, default=187.0,
                        help="training speed used for the up-front time estimate (TinyAgeNet, 64 px, 2 CPU cores)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: dldl_v2 and ranking, 200 images, 1 epoch, 300 val images, no sweeps")
    parser.add_argument("--resume", action="store_true", help="skip the runs already in OUT/results.jsonl")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.objectives, args.no_sweeps = ["dldl_v2", "ranking"], True
        args.train_size, args.epochs, args.warmup_epochs = 200, 1, 0.0
        args.val_limit = args.val_limit or 300
        args.out = args.out.with_name(args.out.name + "_quick")
    for name in args.objectives:
        get_objective(name)  # unknown names fail here, before any training

    out = args.out.resolve()
    if out == ROOT or ROOT in out.parents:
        raise SystemExit("--out must be outside the repository (runs and the image cache are large)")
    out.mkdir(parents=True, exist_ok=True)
    manifest, val_images = write_subset_manifest(args.data, out, args.train_size, args.val_limit, args.seed)
    tables = table_rows(tuple(args.objectives), () if args.no_sweeps else LAMBDAS, () if args.no_sweeps else SIGMAS)
    runs = list(dict.fromkeys(canonical(*row) for rows in tables.values() for row in rows))
    results_path = out / "results.jsonl"
    results: dict[str, dict] = {}
    if args.resume and results_path.is_file():
        results = {r["key"]: r for r in map(json.loads, results_path.read_text().splitlines())}
    elif results_path.exists():
        results_path.unlink()
    todo = [r for r in runs if r.key not in results]
    estimate_min = len(todo) * args.train_size * args.epochs / args.expected_img_per_s / 60
    print(f"{len(runs)} trainings ({len(todo)} to run); training alone about {estimate_min:.0f} min at "
          f"{args.expected_img_per_s:g} img/s, plus evaluation and a one-time image decode", flush=True)

    val_samples = read_manifest(manifest, args.data / "images").split("val").samples
    val_set = FaceDataset(args.data / "images", val_samples, args.input_size)
    val_set.cache = build_cache(val_set, out / "cache", progress=args.progress)
    started = time.perf_counter()
    for i, run in enumerate(todo, 1):
        r = run_one(run, args, manifest, out, val_set)
        results[run.key] = r
        with open(results_path, "a") as f:
            f.write(json.dumps(r) + "\n")
        elapsed = time.perf_counter() - started
        print(f"[{i}/{len(todo)}] {run.key}: val MAE {r['val_mae']:.2f}, CS@5 {100 * r['val_cs5']:.1f}%, "
              f"train {r['train_s']:.0f} s ({r['train_img_per_s']:.0f} img/s), eval {r['eval_s']:.0f} s; "
              f"{elapsed / 60:.1f} min so far, about {elapsed / i * (len(todo) - i) / 60:.0f} min left", flush=True)
    total = sum(r["train_wall_s"] + r["eval_s"] for r in results.values())
    block = render(tables, results, args, val_images, total)
    if write_report(args.report, block, quick=args.quick):
        print(f"table written to {args.report}")
    else:
        print(f"{args.report} holds measured results; the smoke run's table is not written there:\n{block}")


if __name__ == "__main__":
    main()
