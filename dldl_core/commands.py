"""Sub-commands of the ``dldl`` CLI; each is a thin wrapper over a library function."""
from __future__ import annotations

import argparse

from dldl_core.cli import arguments, command, print_json


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="image folder")
    p.add_argument("--manifest", required=True, help="CSV with file,age[,sigma][,split]")
    p.add_argument("--arch", default="tiny", help="thin or tiny (thin_age_net / tiny_age_net)")
    p.add_argument("--objective", default="dldl_v2", help="objective name (see the registry)")
    p.add_argument("--lam", type=float, default=1.0, help="weight of the expectation L1 term")
    p.add_argument("--sigma", type=float, default=2.0, help="label std where the manifest gives none")
    p.add_argument("--input-size", type=int, default=128, help="square input, a multiple of 32")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", choices=("cosine", "step"), default="cosine")
    p.add_argument("--warmup-epochs", type=int, default=2)
    p.add_argument("--max-age", type=float, default=116.0, help="last bin of the age support")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training rows")
    p.add_argument("--init", default=None, help="start from these weights (e.g. at a larger input size)")
    p.add_argument("--ema", type=float, default=0.0,
                   help="decay of a moving average of the weights that is validated and kept (e.g. 0.998); 0: off")
    p.add_argument("--augment", choices=("paper", "light", "wild"), default="paper",
                   help="paper: the DLDL-v2 recipe; light: half its rotation, shift, rescale and colour jitter; "
                        "wild: the paper's plus roll, perspective, light, occluders, blur, low resolution, JPEG")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--no-cache", action="store_true", help="decode images every epoch instead of caching them")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--out", required=True, help="weights path (.safetensors); log and checkpoint go next to it")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint next to --out")
    p.add_argument("--no-progress", action="store_true")


@command("train", "Train ThinAgeNet or TinyAgeNet on a manifest of face images.")
@arguments(_train_args)
def train_command(args: argparse.Namespace) -> int:
    from dldl_core.augment import augment_preset
    from dldl_core.train import TrainConfig, train

    if args.input_size % 32:
        raise ValueError(f"--input-size must be a multiple of 32, got {args.input_size}")
    if not args.out.endswith(".safetensors"):
        raise ValueError("--out must name a .safetensors file")
    config = TrainConfig(data=args.data, manifest=args.manifest, out=args.out, arch=args.arch,
                         objective=args.objective, lam=args.lam, sigma=args.sigma, input_size=args.input_size,
                         epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
                         warmup_epochs=args.warmup_epochs, max_age=args.max_age, limit=args.limit, init=args.init,
                         ema=args.ema, augment=augment_preset(args.augment), seed=args.seed, device=args.device, cache=not args.no_cache, workers=args.workers,
                         progress=not args.no_progress)
    path = train(config, resume=args.resume)
    print(f"weights written to {path}")
    return 0


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _weights_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", default=None, help="weights file (.safetensors); default: the shipped weights")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))


def _predict_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    _weights_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--csv", default=None, help="also write one CSV row per face to this file")
    p.add_argument("--no-tta", action="store_true", help="no flip test-time augmentation")
    p.add_argument("--workers", type=int, default=1, help="image decoding workers for folders")
    p.add_argument("--min-confirmation", type=float, default=None,
                   help="score a face needs on the second, upright look that confirms and re-aligns it "
                        "(default 0.7; 0: no second look, every detection is a face)")


def expand_images(paths: list[str]):
    """Files as given; folders walked (sorted) for image files. Missing paths are kept so they get an error."""
    from pathlib import Path

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.suffix.lower() in IMAGE_SUFFIXES and child.is_file():
                    yield str(child)
        else:
            yield raw


@command("predict", "Estimate the age of every face in images or folders of images.")
@arguments(_predict_args)
def predict_command(args: argparse.Namespace) -> int:
    import csv
    import json
    import sys

    from dldl_core.batch import iterate_predictions
    from dldl_core.predictor import Predictor

    if args.min_confirmation is not None and not 0 <= args.min_confirmation <= 1:
        raise ValueError(f"--min-confirmation must be between 0 and 1, got {args.min_confirmation}")
    failures = 0
    csv_file = open(args.csv, "w", newline="") if args.csv else None
    writer = csv.writer(csv_file) if csv_file else None
    if writer:
        writer.writerow(["path", "face", "x0", "y0", "x1", "y1", "score", "confirmation", "age", "std", "lo90", "hi90",
                         "error"])
    confirmation = {} if args.min_confirmation is None else {"min_confirmation": args.min_confirmation}
    with Predictor(args.weights, device=args.device, tta=not args.no_tta, **confirmation) as predictor:
        if args.json:
            sys.stdout.write('{"images": [')
        for n, result in enumerate(iterate_predictions(predictor, expand_images(args.images), args.workers)):
            failures += result.error is not None
            if args.json:
                sys.stdout.write(("," if n else "") + "\n  " + json.dumps(result.to_json()))
            elif result.error:
                print(f"dldl: error: {result.error}", file=sys.stderr)
            elif not result.faces:
                print(f"{result.path}: no face found")
            for i, face in enumerate(result.faces):
                if not args.json:
                    print(f"{result.path}: face {i + 1} at {tuple(round(v) for v in face.box)}: age {face.age:.1f}"
                          f" +- {face.std:.1f} (90 % interval {face.interval90[0]:.0f}-{face.interval90[1]:.0f})")
                if writer:
                    writer.writerow([result.path, i + 1, *(round(v, 1) for v in face.box), round(face.score, 4),
                                     "" if face.confirmation is None else round(face.confirmation, 4),
                                     round(face.age, 2), round(face.std, 2), *(round(v, 2) for v in face.interval90),
                                     ""])
            if writer and result.error:
                writer.writerow([result.path, *[""] * 11, result.error])
        if args.json:
            sys.stdout.write("\n]}\n")
    if csv_file:
        csv_file.close()
    return 2 if failures else 0


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="image folder")
    p.add_argument("--manifest", required=True, help="CSV with file,age[,sigma][,split]")
    p.add_argument("--split", default=None, help="evaluate only this split (e.g. val)")
    p.add_argument("--pipeline", choices=("chip", "full", "pasted"), default="chip",
                   help="chip: images are aligned crops; full: detect and align each; pasted: paste into a photo first")
    p.add_argument("--limit", type=int, default=None, help="only the first N rows")
    p.add_argument("--no-tta", action="store_true")
    p.add_argument("--json", action="store_true")
    _weights_args(p)


@command("evaluate", "Measure MAE, CS@5 and per-band errors on a labelled manifest.")
@arguments(_evaluate_args)
def evaluate_command(args: argparse.Namespace) -> int:
    from dldl_core.evaluate import evaluate
    from dldl_core.predictor import Predictor

    with Predictor(args.weights, device=args.device, tta=not args.no_tta) as predictor:
        result = evaluate(predictor, args.data, args.manifest, args.split, args.pipeline, limit=args.limit,
                          progress=not args.json).summary()
    if args.json:
        print_json(result)
        return 0
    print(f"{result['n']} faces, pipeline {result['pipeline']}: MAE {result['mae']:.3f}, CS@5 {result['cs5']:.3f}, "
          f"faces missed {result['faces_missed']}")
    for band, row in result["per_band"].items():
        if row["n"]:
            print(f"  {band:>6}: n={row['n']:5d}  MAE {row['mae']:6.2f}  bias {row['bias']:+6.2f}")
    return 0
