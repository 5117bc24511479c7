"""``dldl sanity``: Adebayo et al.'s sanity checks of the CAM methods (cascading randomisation of the network and a
network trained on shuffled ages) on the faces of a manifest."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from dldl_core.cli.common import Command, print_json
from dldl_core.explain.methods import CAM_METHOD_NAMES


def _sanity_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="image folder (aligned face chips, as UTKFace's)")
    p.add_argument("--manifest", required=True, help="CSV with file,age[,split]")
    p.add_argument("--split", default="val", help="only this split ('all' for every row)")
    p.add_argument("--limit", type=int, default=None, help="at most N faces, drawn at random")
    p.add_argument("--methods", default=",".join(CAM_METHOD_NAMES), help="comma-separated CAM methods")
    p.add_argument("--scorecam-limit", type=int, default=None,
                   help="Score-CAM (a forward pass per channel) on only the first N of the faces")
    p.add_argument("--target", default="expected", help="CAM target (see dldl explain; not predicted)")
    p.add_argument("--shuffled-weights", default=None,
                   help="the network trained on shuffled ages (scripts/train_shuffled_labels.py), same architecture")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the draw of --limit, the re-initialisation and the bootstrap")
    p.add_argument("--out", required=True, help="folder for sanity.json, sanity.md and sanity.png")
    p.add_argument("--weights", default=None,
                   help="a shipped network (thin, tiny) or a .safetensors file; default: thin")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", action="store_true", help="print JSON")


def _split(args: argparse.Namespace) -> str | None:
    """The split to read: None for ``all`` and for a manifest without a split column (said in one line)."""
    from dldl_core.explain.samples import has_split_column

    split = None if args.split in (None, "", "all") else args.split
    if split is not None and not has_split_column(args.manifest):
        print(f"{args.manifest} has no split column: all its rows are used, not only split {split!r}.",
              file=sys.stderr if args.json else sys.stdout)
        return None
    return split


def _shuffled_network(path: str | None, predictor):
    """The label-shuffled network, checked to take the trained network's input; None without a path."""
    if path is None:
        return None, None
    from dldl_core.explain.samples import weights_record
    from dldl_core.models.weights import load_weights

    weights = load_weights(path, device=next(predictor.model.parameters()).device)
    if weights.preprocess.input_size != predictor.preprocess.input_size:
        raise ValueError(f"{path} takes {weights.preprocess.input_size} px faces, the trained network "
                         f"{predictor.preprocess.input_size} px")
    if weights.model.config.arch != predictor.model.config.arch:
        raise ValueError(f"{path} holds a {weights.model.config.arch}, not a {predictor.model.config.arch}")
    return weights.model.eval(), weights_record(weights)


def _faces(args: argparse.Namespace, predictor, explainer, split: str | None):
    """(N, 3, S, S) normalised faces of the manifest rows."""
    import torch

    from dldl_core.explain.samples import load_faces, select_rows

    rows = select_rows(args.manifest, args.data, split, args.limit, lambda age: "all", args.seed)
    faces = [f for f in load_faces(predictor, args.data, rows, "chip", args.seed) if f is not None]
    if len(faces) < 2:
        raise ValueError(f"{args.manifest}: the sanity check needs at least 2 readable faces, found {len(faces)}")
    return torch.cat([explainer.input(f.chip) for f in faces])


def _example(predictor, explainer, model, shuffled, methods, target, seed: int):
    """Maps of the Grace Hopper photo bundled with matplotlib along the cascade, and its chip at the input size."""
    import cv2
    from matplotlib import cbook

    from dldl_core.data.images import load_rgb
    from dldl_core.explain.sanity import map_strip

    faces = predictor.predict_rgb(load_rgb(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), max_faces=1)
    if not faces:
        return None, None
    size = explainer.input_size
    strips = map_strip(model, explainer.input(faces[0].chip), methods, target, shuffled, seed)
    return strips, cv2.resize(faces[0].chip, (size, size), interpolation=cv2.INTER_AREA)


def _save_png(fig, path: str) -> None:
    """The figure as a 256-colour PNG (its many overlays make a full-colour file several times larger)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    image = Image.open(buffer).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def _write(report: dict, strips, chip, out: Path) -> dict[str, str]:
    from dldl_core.explain.sanity_report import sanity_figure, sanity_markdown

    out.mkdir(parents=True, exist_ok=True)
    files = {name: str(out / f"sanity.{ext}") for name, ext in (("figure", "png"), ("json", "json"),
                                                                ("markdown", "md"))}
    _save_png(sanity_figure(report, strips, chip), files["figure"])
    Path(files["json"]).write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    Path(files["markdown"]).write_text(sanity_markdown(report))
    return files


def sanity_command(args: argparse.Namespace) -> int:
    from dldl_core.explain.cam import method_name
    from dldl_core.explain.explainer import Explainer
    from dldl_core.explain.samples import weights_record
    from dldl_core.explain.sanity import method_verdict, sanity_check
    from dldl_core.explain.targets import parse_target
    from dldl_core.pipeline.predictor import Predictor

    t0 = time.perf_counter()
    methods = [method_name(m) for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise ValueError("--methods names no method")
    for path in (args.data, args.manifest, args.shuffled_weights):
        if path is not None and not Path(path).exists():
            raise FileNotFoundError(f"{path} does not exist")
    split = _split(args)
    limits = {"scorecam": args.scorecam_limit} if args.scorecam_limit else None
    with Predictor(args.weights, device=args.device) as predictor:
        if not predictor.objective.has_distribution:
            raise ValueError(f"{predictor.weights.path}: the CAM targets need weights with a distribution head")
        explainer = Explainer(predictor)
        target = parse_target(args.target, explainer.support)
        shuffled, shuffled_record = _shuffled_network(args.shuffled_weights, predictor)
        x = _faces(args, predictor, explainer, split)
        report = sanity_check(predictor.model, x, methods, target, shuffled, args.seed, limits)
        strips, chip = _example(predictor, explainer, predictor.model, shuffled, methods, target, args.seed)
        report = {"weights": weights_record(predictor.weights), "shuffled_weights": shuffled_record,
                  "target": args.target, "split": split, "seed": args.seed, **report,
                  "wall_s": round(time.perf_counter() - t0, 1)}
    for m in methods:
        report["methods"][m]["verdict"] = method_verdict(report, m)
    report["files"] = _write(report, strips, chip, Path(args.out))
    if args.json:
        print_json(report)
        return 0
    for m in methods:
        print(report["methods"][m]["verdict"])
    for name, path in report["files"].items():
        print(f"  {name}: {path}")
    return 0


COMMANDS = (
    Command("sanity",
            "Sanity checks of the CAM methods (Adebayo et al. 2018): similarity of the trained network's maps with "
            "those after cascading randomisation and of a label-shuffled network; writes sanity.png, .json and .md.",
            _sanity_args, sanity_command),
)
