"""``dldl predict`` and ``dldl evaluate``: estimates for photos and folders, and their accuracy on a labelled
manifest."""
from __future__ import annotations

import argparse

from dldl_core.cli.common import Command, print_json
from dldl_core.evaluation.evaluate import PIPELINES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


WEIGHTS_HELP = ("a shipped network (thin, tiny) or a weights file (.safetensors); default: DLDL_WEIGHTS, else the "
                "shipped default (thin)")


def _weights_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", default=None, help=WEIGHTS_HELP)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))


def _predict_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    _weights_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--csv", default=None, help="also write one CSV row per face to this file")
    p.add_argument("--jsonl", default=None, help="also write one JSON object per image (a line each) to this file")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run: skip the images the --csv / --jsonl files already hold and "
                        "append to them")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="predict only shard I of N (0 <= I < N) of the images, for N copies of this command")
    p.add_argument("--backend", default="auto", choices=("auto", "onnxruntime", "torch"),
                   help="auto: a shipped network runs on onnxruntime without importing torch (CPU); a weights file, "
                        "--device cuda and --backend torch run on torch")
    p.add_argument("--no-tta", action="store_true", help="no flip test-time augmentation")
    p.add_argument("--workers", type=int, default=1, help="image decoding threads for folders")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (shown for several images on a "
                                                               "terminal)")
    p.add_argument("--min-confirmation", type=float, default=None,
                   help="score a face needs on the second, upright look that confirms and re-aligns it (at or "
                        "below the default, up to 0.1 less when both looks together reach it plus 0.65; default "
                        "0.7; 0: no second look, every detection is a face; dldl_core.pipeline.face.is_confirmed)")


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


def predict_command(args: argparse.Namespace) -> int:
    import json
    import math
    import sys

    from tqdm import tqdm

    from dldl_core.pipeline.batch import iterate_predictions
    from dldl_core.pipeline.prediction_files import PredictionFiles
    from dldl_core.pipeline.predictors import open_predictor
    from dldl_core.pipeline.sharding import in_shard, parse_shard

    if args.min_confirmation is not None and not 0 <= args.min_confirmation <= 1:
        raise ValueError(f"--min-confirmation must be between 0 and 1, got {args.min_confirmation}")
    paths = list(expand_images(args.images))
    if args.shard:
        paths = list(in_shard(paths, *parse_shard(args.shard)))
    failures = 0
    confirmation = {} if args.min_confirmation is None else {"min_confirmation": args.min_confirmation}
    with PredictionFiles(args.csv, args.jsonl, args.resume) as files, \
            open_predictor(args.weights, args.device, args.backend, tta=not args.no_tta, **confirmation) as predictor:
        todo = [p for p in paths if p not in files.done]
        progress = tqdm(total=len(todo), unit="image", file=sys.stderr, dynamic_ncols=True,
                        disable=True if args.no_progress or len(todo) < 2 else None)  # None: on a terminal only
        say = progress.write if not progress.disable else print
        if args.json:
            sys.stdout.write('{"images": [')
        for n, result in enumerate(iterate_predictions(predictor, todo, args.workers)):
            failures += result.error is not None
            files.write(result)
            progress.update()
            if args.json:
                sys.stdout.write(("," if n else "") + "\n  " + json.dumps(result.to_json(), allow_nan=False))
            elif result.error:
                progress.write(f"dldl: error: {result.error}", file=sys.stderr)
            elif not result.faces:
                say(f"{result.path}: no face found")
            for i, face in enumerate(result.faces):
                if not args.json:
                    spread = (f" +- {face.std:.1f} (90 % interval {face.interval90[0]:.0f}-{face.interval90[1]:.0f})"
                              if math.isfinite(face.std) else " (these weights give no distribution)")
                    grainy = " (grainy, as in a dim photo: less reliable, may be too old)" if face.grainy else ""
                    say(f"{result.path}: face {i + 1} at {tuple(round(v) for v in face.box)}: age {face.age:.1f}"
                        + spread + grainy)
        progress.close()
        if args.json:
            sys.stdout.write("\n]}\n")
    return 2 if failures else 0


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="image folder")
    p.add_argument("--manifest", required=True, help="CSV with file,age[,sigma][,split]")
    p.add_argument("--split", default=None, help="evaluate only this split (e.g. val)")
    p.add_argument("--pipeline", choices=PIPELINES, default="chip",
                   help="chip: images are aligned crops; full: detect and align each; pasted: paste into a photo first")
    p.add_argument("--limit", type=int, default=None, help="only the first N rows")
    p.add_argument("--no-tta", action="store_true")
    p.add_argument("--json", action="store_true")
    _weights_args(p)


def evaluate_command(args: argparse.Namespace) -> int:
    from dldl_core.evaluation.evaluate import evaluate
    from dldl_core.pipeline.predictor import Predictor

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


COMMANDS = (
    Command("predict",
            'Estimate the age of every face in images or folders of images.',
            _predict_args, predict_command),
    Command("evaluate",
            'Measure MAE, CS@5 and per-band errors on a labelled manifest.',
            _evaluate_args, evaluate_command),
)
