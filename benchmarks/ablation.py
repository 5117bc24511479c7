"""DLDL against DLDL-v2 at a real budget: seeds, paired intervals, the paper's two stages, sigma, references.

Every training: TinyAgeNet at 64x64 on the whole train split of the manifest, ``--epochs`` epochs (default 20, the
first stage of the shipped TinyAgeNet), batch 128, AdamW lr 1e-3 with one warm-up epoch and a cosine schedule, the
paper's augmentation. Each run is evaluated once, after its last epoch (no selection on val), on the val split with
the flip test-time augmentation the project uses everywhere, and its per-face outputs are kept so that rows can be
compared face by face.

Rows (``ROWS``):
- ``dldl`` (KL only), ``dldl_v2`` trained jointly (KL + lambda L1 from the first step), ``dldl_v2`` staged (the paper's
  recipe: the first ``--kl-only-epochs`` epochs on KL alone, then KL + L1, one schedule throughout), ``dldl_v2`` at
  lambda 0.1: each with ``--seeds`` seeds (default 0 1 2; the seed sets the initialisation, the data order and the
  augmentation);
- references, one seed: ``dex``, ``mean_variance``, ``ranking``;
- the paper's sigma sensitivity: ``dldl_v2`` at sigma 1, 3, 4 (sigma 2 is the joint row), one seed.

Runs go in the order of their seed, so that an interrupted table already holds whole comparisons. Every finished
run is a line of ``OUT/results.jsonl`` and an ``OUT/outputs/KEY.npz``, and is also kept in the repository's record
(``--record``, default ``benchmarks/ablation_runs/``: the results line and the per-face estimates, a few kB a run), so
that the table can be rewritten and the plan resumed on another machine; a second call skips the recorded runs and
resumes an interrupted training from its checkpoint in ``OUT``. ``--report-only`` writes the table from the record.

The table goes into the report between ``<!-- ablation:begin -->`` and ``<!-- ablation:end -->`` (a smoke run's
block is marked ``<!-- ablation:begin smoke -->`` and never replaces measured results); the trained ranking network
against 1 - CDF of the trained ``dldl`` network goes to ``docs/figures/ranking_vs_cdf_trained.png``.

Usage (the whole table; about 4 h of training on 2 idle CPU cores with native bf16):
    python benchmarks/ablation.py --data ../shared/datasets/utkface --out ~/dldl_ablation
Smoke test (2 rows, 1 seed, 300 images, 1 epoch, 300 val images; not results):
    python benchmarks/ablation.py --data ../shared/datasets/utkface --quick
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
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import ablation_report as stats  # noqa: E402

from dldl_core.data.augment import AugmentConfig  # noqa: E402
from dldl_core.data.datasets import (  # noqa: E402
    FaceDataset,
    build_cache,
    read_manifest,
    val_files_with_train_copy,
)
from dldl_core.markdown import write_blocks  # noqa: E402
from dldl_core.models.objectives import get_objective  # noqa: E402
from dldl_core.models.weights import load_weights  # noqa: E402
from dldl_core.pipeline.inference import bf16_is_fast, pick_device  # noqa: E402
from dldl_core.training.trainer import TrainConfig, out_paths, train  # noqa: E402

BLOCK = "ablation"  # the report's block: <!-- ablation:begin --> ... <!-- ablation:end --> (dldl_core.markdown)
NO_VAL = "__no_val__"  # a split name no manifest row has: the trainer then skips its per-epoch validation
E_ERROR_SIGMA = 5.0  # UTKFace gives one age per face and no spread: the e-error uses this fixed sigma (years)
REFERENCE = "dldl_v2"  # the row every other is compared with
FIGURE_RUNS = ("dldl_seed0", "ranking_seed0")  # the runs whose distributions the ranking figure reads


@dataclass(frozen=True)
class Run:
    """One training."""

    objective: str
    lam: float = 1.0
    sigma: float = 2.0
    staged: bool = False
    seed: int = 0

    @property
    def row(self) -> str:
        """The table row this run belongs to (its seeds share it)."""
        if self.objective != "dldl_v2":
            return self.objective
        name = "dldl_v2 staged" if self.staged else "dldl_v2"
        name += f", lambda {self.lam:g}" if self.lam != 1 else ""
        return name + (f", sigma {self.sigma:g}" if self.sigma != 2 else "")

    @property
    def key(self) -> str:
        return self.row.replace(", ", "_").replace(" ", "") + f"_seed{self.seed}"


def plan(seeds: tuple[int, ...], quick: bool = False) -> list[Run]:
    """Every run of the table, seed by seed."""
    if quick:
        return [Run("dldl", seed=seeds[0]), Run("dldl_v2", seed=seeds[0])]
    seeded = [Run("dldl"), Run("dldl_v2"), Run("dldl_v2", staged=True), Run("dldl_v2", lam=0.1)]
    once = [Run("dex"), Run("mean_variance"), Run("ranking")] + [Run("dldl_v2", sigma=s) for s in (1.0, 3.0, 4.0)]
    runs = [Run(r.objective, r.lam, r.sigma, r.staged, seed) for seed in seeds for r in seeded]
    first = [Run(r.objective, r.lam, r.sigma, r.staged, seeds[0]) for r in once]
    return runs + first  # the seeded rows first: their paired intervals are what the table must decide


def write_manifest(data: Path, out: Path, train_size: int | None, val_limit: int | None) -> Path:
    """The train and val rows of the dataset's manifest (a seeded subset for a smoke run) as ``file,age,split``."""
    manifest = read_manifest(data / "manifest.csv", data / "images")
    rng = np.random.default_rng(0)
    rows = {split: [s for s in manifest.samples if s.split == split] for split in ("train", "val")}
    if not rows["train"] or not rows["val"]:
        raise SystemExit(f"{data / 'manifest.csv'} needs rows with split 'train' and 'val'")
    for split, limit in (("train", train_size), ("val", val_limit)):
        if limit:
            rows[split] = [rows[split][i] for i in sorted(rng.permutation(len(rows[split]))[:limit])]
    path = out / "manifest.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "age", "split"])
        writer.writerows([s.file, f"{s.age:g}", split] for split in rows for s in rows[split])
    return path


def train_run(run: Run, args: argparse.Namespace, manifest: Path, out: Path) -> tuple[Path, float]:
    """Train (or resume) one run; the weights of its last epoch and the wall time of this call."""
    config = TrainConfig(data=str(args.data / "images"), manifest=str(manifest),
                         out=str(out / "runs" / f"{run.key}.safetensors"), arch="tiny", objective=run.objective,
                         lam=run.lam, sigma=run.sigma, kl_only_epochs=args.kl_only_epochs if run.staged else 0,
                         input_size=64, epochs=args.epochs, batch_size=128, lr=1e-3, warmup_epochs=1,
                         val_split=NO_VAL, keep="last", augment=AugmentConfig(), seed=run.seed, device=args.device,
                         cache_dir=str(out / "cache"), progress=args.progress)
    t0 = time.perf_counter()
    return train(config, resume=True), time.perf_counter() - t0


@torch.no_grad()
def face_outputs(weights_path: Path, objective: str, val_set: FaceDataset, device: torch.device
                 ) -> dict[str, np.ndarray]:
    """Per val face: the estimate, the distribution (flip-averaged) and, for ``ranking``, the raw sigmoids."""
    weights = load_weights(weights_path)
    model = weights.model.to(device).eval()
    read = get_objective(objective)
    ages, dists, sigmoids = [], [], []
    for images, _, _ in torch.utils.data.DataLoader(val_set, batch_size=256):
        x = weights.preprocess.normalize(images.to(device))
        out = model(torch.cat([x, x.flip(-1)])).float()
        b = images.shape[0]
        r = read.readout(out, model.support)
        dist = (r.distribution[:b] + r.distribution[b:]) / 2
        ages.append((r.age[:b] + r.age[b:]).cpu() / 2 if objective in ("ranking", "mr") else
                    (dist * model.support).sum(1).cpu())
        dists.append(dist.cpu().half())
        if objective == "ranking":
            sigmoids.append(((torch.sigmoid(out[:b]) + torch.sigmoid(out[b:])) / 2).cpu())
    result = {"pred": torch.cat(ages).numpy(), "distribution": torch.cat(dists).numpy()}
    if sigmoids:
        result["ranking_sigmoids"] = torch.cat(sigmoids).numpy()
    return result


def finish_run(run: Run, args: argparse.Namespace, manifest: Path, out: Path, val: dict) -> dict:
    """Train, evaluate and store one run; its results line."""
    weights_path, wall = train_run(run, args, manifest, out)
    t1 = time.perf_counter()
    outputs = face_outputs(weights_path, run.objective, val["set"], pick_device(args.device))
    np.savez_compressed(out / "outputs" / f"{run.key}.npz", true=val["true"], files=val["files"],
                        unique=val["unique"], **outputs)
    log = [json.loads(line) for line in out_paths(weights_path)["log"].read_text().splitlines()]
    return {**asdict(run), "key": run.key, "row": run.row, "val_images": len(val["true"]),
            **stats.summary(outputs["pred"], val["true"], val["unique"], E_ERROR_SIGMA),
            "train_s": sum(r["epoch_s"] for r in log), "train_img_per_s": float(np.mean([r["train_img_per_s"]
                                                                                         for r in log])),
            "eval_s": time.perf_counter() - t1, "epochs": len(log), "call_wall_s": wall}


def load_val(args: argparse.Namespace, manifest: Path, out: Path) -> dict:
    """The val faces (decoded once into the cache), their ages and which have no copy in train."""
    samples = read_manifest(manifest, args.data / "images").split("val").samples
    val_set = FaceDataset(args.data / "images", samples, 64)
    val_set.cache = build_cache(val_set, out / "cache", progress=args.progress)
    copies = val_files_with_train_copy(args.data / "duplicates.csv") if (args.data / "duplicates.csv").is_file() \
        else set()
    return {"set": val_set, "true": np.array([s.age for s in samples], np.float64),
            "files": np.array([Path(s.file).name for s in samples]),
            "unique": np.array([Path(s.file).name not in copies for s in samples])}


def stored(out: Path, record: Path) -> tuple[dict[str, dict], dict[str, dict[str, np.ndarray]]]:
    """Finished runs: their results lines and their per-face outputs, from the record (copying into it any run
    that ``out`` holds and the record does not yet)."""
    results, outputs = _read_runs(record)
    found, full = _read_runs(out)
    for key in [k for k in found if k not in results]:  # in the order they finished
        keep_record(record, found[key], full[key])
        results[key], outputs[key] = found[key], compact(key, full[key])
    return results, outputs


def _read_runs(folder: Path) -> tuple[dict[str, dict], dict[str, dict[str, np.ndarray]]]:
    path = folder / "results.jsonl"
    results = {r["key"]: r for r in map(json.loads, path.read_text().splitlines())} if path.is_file() else {}
    outputs = {key: dict(np.load(folder / "outputs" / f"{key}.npz")) for key in results
               if (folder / "outputs" / f"{key}.npz").is_file()}
    return {k: results[k] for k in outputs}, outputs


def compact(key: str, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the record keeps of a run's per-face outputs: estimates, true ages and the no-copy mask; the
    distributions and sigmoids only for the runs of the ranking figure."""
    keep = ("pred", "true", "unique") + (("distribution", "ranking_sigmoids") if key in FIGURE_RUNS else ())
    return {k: v for k, v in outputs.items() if k in keep}


def keep_record(record: Path, result: dict, outputs: dict[str, np.ndarray]) -> None:
    """Add one finished run to the record (its results line and its compact outputs)."""
    (record / "outputs").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(record / "outputs" / f"{result['key']}.npz", **compact(result["key"], outputs))
    with open(record / "results.jsonl", "a") as f:
        f.write(json.dumps(result) + "\n")


def header(args: argparse.Namespace, results: dict[str, dict]) -> list[str]:
    device = pick_device(args.device)
    amp = "bf16 autocast" if bf16_is_fast(device) else "fp32"
    kind = ("Smoke run of the script (`--quick`): NOT results; the numbers mean nothing at this budget."
            if args.quick else "Measured results.")
    first = next(iter(results.values()), {})
    return [f"**{kind}**", "",
            (f"- Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {device.type} "
            f"({platform.processor() or platform.machine()}), {torch.get_num_threads()} torch threads, {amp}, "
            f"torch {torch.__version__}."),
            (f"- Each training: TinyAgeNet, 64x64, {args.epochs} epochs of {first.get('train_images', 'the')} train "
            f"images, batch 128, AdamW lr 1e-3, cosine with 1 warm-up epoch, the paper's augmentation; the staged "
            f"row trains its first {args.kl_only_epochs} epochs on KL alone."),
            (f"- Evaluation: the last epoch's network, mean of the image and its mirror, on {first.get('val_images')} "
            f"val faces (\"unique\": without the {first.get('val_images', 0) - first.get('unique_images', 0)} that "
            f"have a byte-identical copy in train). e-error with a fixed sigma of {E_ERROR_SIGMA:g} years."),
            (f"- {len(results)} of {len(plan(tuple(args.seeds), args.quick))} trainings finished, "
             f"{sum(r['train_s'] for r in results.values()) / 3600:.1f} h of training epochs in all."), ""]


def render(args: argparse.Namespace, results: dict[str, dict], outputs: dict[str, dict[str, np.ndarray]],
           figure: str | None) -> str:
    """The report's block (without its markers)."""
    rows = stats.rows_by_name(results)
    lines = ["", *header(args, results), "### Every row", "", *stats.row_table(rows), "",
             f"### Paired differences against `{REFERENCE}` (negative: the row is better)", "",
             *stats.difference_table(rows, outputs, REFERENCE), ""]
    if figure:
        lines += ["### Ranking against label distributions, trained", "", figure, ""]
    return "\n".join(lines)


def write_report(report: Path, block: str, quick: bool = False) -> bool:
    """Replace the table block of the report in place (appended to a report without one, a new report titled
    "Ablation" where there is none); a smoke run (``quick``) never replaces measured results. True if written."""
    if not report.is_file():
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text("# Ablation\n")
    return bool(write_blocks(report, {BLOCK: block}, smoke=quick, append_missing=True))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "utkface",
                        help="dataset folder with manifest.csv (split column train/val), images/ and duplicates.csv")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "dldl_ablation",
                        help="runs, outputs, the decoded-image cache and results.jsonl (never the repository)")
    parser.add_argument("--record", type=Path, default=ROOT / "benchmarks" / "ablation_runs",
                        help="the finished runs' results lines and compact per-face outputs (kept in the repository, "
                             "so that the table can be rewritten and resumed anywhere)")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "ablation.md")
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "figures" / "ranking_vs_cdf_trained.png")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--kl-only-epochs", type=int, default=10, help="the staged row's first, KL-only epochs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 rows, 1 seed, 1 epoch, 300 images")
    parser.add_argument("--report-only", action="store_true", help="write the table from the finished runs")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    args.train_size = args.val_limit = None
    if args.quick:
        args.epochs, args.kl_only_epochs, args.seeds, args.train_size, args.val_limit = 1, 0, args.seeds[:1], 300, 300
        args.out = args.out.with_name(args.out.name + "_quick")
        args.record = args.out / "record"  # a smoke run never touches the repository's record
    args.out = args.out.expanduser().resolve()
    if args.out == ROOT or ROOT in args.out.parents:
        raise SystemExit("--out must be outside the repository (runs and the image cache are large)")
    return args


def main() -> None:
    args = parse_args()
    out = args.out
    (out / "outputs").mkdir(parents=True, exist_ok=True)
    manifest = write_manifest(args.data, out, args.train_size, args.val_limit)
    results, _ = stored(out, args.record)
    todo = [] if args.report_only else [r for r in plan(tuple(args.seeds), args.quick) if r.key not in results]
    print(f"{len(results)} runs finished, {len(todo)} to run", flush=True)
    val = load_val(args, manifest, out) if todo else None
    with open(manifest) as f:
        train_images = sum(1 for row in csv.DictReader(f) if row["split"] == "train")
    for i, run in enumerate(todo, 1):
        r = {**finish_run(run, args, manifest, out, val), "train_images": train_images}
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps(r) + "\n")
        keep_record(args.record, r, dict(np.load(out / "outputs" / f"{run.key}.npz")))
        print(f"[{i}/{len(todo)}] {run.key}: MAE {r['mae']:.3f} (unique {r['mae_unique']:.3f}), "
              f"{r['train_img_per_s']:.0f} img/s, {r['call_wall_s'] / 60:.1f} min", flush=True)
    results, outputs = stored(out, args.record)
    figure = stats.ranking_figure(outputs, args.figure, ROOT) if not args.quick else None
    if write_report(args.report, render(args, results, outputs, figure), quick=args.quick):
        print(f"table written to {args.report}")
    else:
        print(f"{args.report} holds measured results; the smoke run's table was not written there")


if __name__ == "__main__":
    main()
