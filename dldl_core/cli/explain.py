"""``dldl explain``, ``dldl stages`` and ``dldl faithfulness``: explanations of one photo, averaged per age
stage, and measured."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dldl_core.cli.common import Command, print_json
from dldl_core.evaluation.evaluate import PIPELINES
from dldl_core.explain.methods import CAM_METHOD_NAMES, DEFAULT_FILL, FILLS


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", default=None,
                   help="a shipped network (thin, tiny) or a .safetensors file; default: thin")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--json", action="store_true", help="print JSON")


def _explain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", metavar="IMAGE", help="a photo")
    p.add_argument("--method", default="gradcam", help=f"CAM method: {', '.join(CAM_METHOD_NAMES)}")
    p.add_argument("--target", default="expected",
                   help="expected (or older), younger, predicted (the bin of the estimate), bin:K (bin index) or "
                        "contrast:A,B (ages: why A and not B)")
    p.add_argument("--out", default=None, help="write the overlays as PNG into this folder")
    p.add_argument("--no-sliding", action="store_true", help="skip the sliding-window occlusion map (the slow part)")
    p.add_argument("--max-faces", type=int, default=None, help="explain at most this many faces, largest first")
    _model_args(p)


def _predictor(args: argparse.Namespace):
    from dldl_core.pipeline.predictor import Predictor

    predictor = Predictor(args.weights, device=args.device)
    if not predictor.objective.has_distribution:
        predictor.close()
        raise ValueError(f"{predictor.weights.path}: the explanations need weights with a distribution head")
    return predictor


def explain_command(args: argparse.Namespace) -> int:
    from PIL import Image

    from dldl_core.data.images import load_rgb
    from dldl_core.explain.cam import method_name
    from dldl_core.explain.explainer import Explainer
    from dldl_core.explain.targets import parse_target

    method = method_name(args.method)
    rgb = load_rgb(args.image)
    out = Path(args.out) if args.out else None
    with _predictor(args) as predictor:
        support = predictor.support.cpu()
        parse_target(args.target, support, float(support[0]))  # a bad target fails before any work
        explainer = Explainer(predictor)
        faces = predictor.predict_rgb(rgb, max_faces=args.max_faces)
        records = []
        for i, face in enumerate(faces, start=1):
            result = explainer.explain(face, method, args.target, image=rgb, sliding=not args.no_sliding)
            files = {}
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                stem = Path(args.image).stem
                for key, name in (("cam", "gradcam"), ("occlusion", "occlusion"), ("regions", "regions")):
                    if key in result.overlays_image:
                        path = out / f"{stem}_face{i}_{method if key == 'cam' else name}.png"
                        Image.fromarray(result.overlays_image[key]).save(path)
                        files[name] = str(path)
            records.append({"box": [round(float(v), 1) for v in face.box], "age": round(face.age, 2),
                            "explained_age": round(result.age, 2), "method": method, "target": result.target,
                            "regions": {k: round(v, 3) for k, v in result.regions.items()}, "files": files})
    if args.json:
        print_json({"image": args.image, "faces": records})
    else:
        for i, r in enumerate(records, start=1):
            ranked = sorted(r["regions"].items(), key=lambda kv: -abs(kv[1]))
            print(f"{args.image}: face {i} at {tuple(round(v) for v in r['box'])}: age {r['age']:.1f}; hiding "
                  + ", ".join(f"{k} {v:+.1f}" for k, v in ranked[:4]) + " years")
            for name, path in r["files"].items():
                print(f"  {name}: {path}")
    if not records:
        print(f"dldl: no face found in {args.image}", file=sys.stderr)
        return 1
    return 0


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="image folder")
    p.add_argument("--manifest", required=True, help="CSV with file,age[,split]")
    p.add_argument("--split", default="val", help="only this split ('all' for every row)")
    p.add_argument("--pipeline", choices=PIPELINES, default="chip",
                   help="chip: the images are aligned crops (UTKFace); full: detect and align each photo; pasted: "
                        "paste each crop into a photo first")
    p.add_argument("--seed", type=int, default=0, help="seeds the random draw of --limit")
    p.add_argument("--out", required=True, help="folder for the figure and the tables")
    _model_args(p)


def _stages_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="gradcam", help=f"CAM method: {', '.join(CAM_METHOD_NAMES)}")
    p.add_argument("--target", action="append", default=None,
                   help="CAM target, repeatable (see dldl explain); default: expected, younger and predicted")
    p.add_argument("--limit", type=int, default=None, help="at most N faces per stage, drawn at random")
    p.add_argument("--fill", default=DEFAULT_FILL, choices=tuple(FILLS),
                   help="what replaces a hidden region or strip: blur (a strong blur of the same face), road (noisy "
                        "linear imputation, slow) or mean (the data's mean colour); default blur")
    _dataset_args(p)


def stages_command(args: argparse.Namespace) -> int:
    from dldl_core.explain.explainer import Explainer
    from dldl_core.explain.stage_tables import format_p
    from dldl_core.explain.stages import DEFAULT_TARGETS, analyse_stages, write_stage_report

    split = _split(args)
    with _predictor(args) as predictor:
        analysis = analyse_stages(Explainer(predictor), args.data, args.manifest, split, args.limit,
                                  args.method, tuple(args.target or DEFAULT_TARGETS), args.pipeline, args.seed,
                                  progress=not args.json, fill=args.fill)
    files = write_stage_report(analysis, args.out)
    data = {**analysis.to_json(), "files": files}
    if args.json:
        print_json(data)
        return 0
    print(f"{data['faces']} faces ({data['skipped']} skipped); {analysis.method}, targets "
          f"{', '.join(analysis.targets)}, {analysis.fill} fill; change of MAE when a region is hidden (Holm p):")
    for name, s in data["stages"].items():
        top = sorted(s["regions"].items(), key=lambda kv: -kv[1]["delta_mae"])[:3]
        cells = [f"{r} {row['delta_mae']:+.2f} (p_H {format_p(row['test']['p_holm'])})" for r, row in top]
        print(f"  {name:>6}: n={s['n']:4d}  " + ", ".join(cells))
    for name, path in files.items():
        print(f"  {name}: {path}")
    return 0


def _faithfulness_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default="expected", help="CAM target (see dldl explain; not predicted)")
    p.add_argument("--methods", default=",".join(CAM_METHOD_NAMES), help="comma-separated CAM methods")
    p.add_argument("--limit", type=int, default=None, help="at most N faces, drawn at random")
    p.add_argument("--per-stage", type=int, default=None,
                   help="at most N faces of each age stage, drawn at random (instead of --limit)")
    p.add_argument("--fill", default=DEFAULT_FILL, choices=tuple(FILLS),
                   help="what replaces a hidden cell in the deletion and insertion curves (ROAD always imputes)")
    p.add_argument("--road-faces", type=int, default=32, help="how many of the faces also get ROAD scores")
    p.add_argument("--sanity-faces", type=int, default=16,
                   help="how many of the faces the sanity check maps (0: skip it)")
    p.add_argument("--steps", type=int, default=10, help="points per deletion / insertion curve")
    _dataset_args(p)


def faithfulness_command(args: argparse.Namespace) -> int:
    import json

    from dldl_core.explain.faithfulness_run import faithfulness_table

    methods = _methods(args.methods)
    split = _split(args)
    report, weights = _faithfulness_run(args, methods, split)
    if not report:
        raise ValueError(f"{args.manifest}: no face could be read")
    data = {"weights": weights, "target": args.target, "split": split, "pipeline": args.pipeline, "fill": args.fill,
            "methods": report, "files": _write_faithfulness(args, report)}
    Path(data["files"]["json"]).write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    Path(data["files"]["markdown"]).write_text(faithfulness_table(data))
    if args.json:
        print_json(data)
        return 0
    print(faithfulness_table(data), end="")
    for name, path in data["files"].items():
        print(f"  {name}: {path}")
    return 0


def _methods(text: str) -> list[str]:
    from dldl_core.explain.cam import method_name

    methods = [method_name(m) for m in text.split(",") if m.strip()]
    if not methods:
        raise ValueError("--methods names no method")
    return methods


def _faithfulness_run(args: argparse.Namespace, methods: list[str], split: str | None
                      ) -> tuple[dict, dict]:
    """The per-method report (with each method's sanity rank correlation) and the weights' record."""
    import torch
    from tqdm import tqdm

    from dldl_core.explain.explainer import Explainer
    from dldl_core.explain.faithfulness_run import evaluate_faithfulness, faithfulness_report, sanity_rank_corr
    from dldl_core.explain.samples import load_faces, select_rows, weights_record
    from dldl_core.explain.targets import parse_target
    from dldl_core.maths.age_groups import age_stage

    with _predictor(args) as predictor:
        explainer = Explainer(predictor)
        target = parse_target(args.target, explainer.support)
        rows = (select_rows(args.manifest, args.data, split, args.per_stage, age_stage, args.seed) if args.per_stage
                else select_rows(args.manifest, args.data, split, args.limit, lambda age: "all", args.seed))
        loaded = (f for f in load_faces(predictor, args.data, rows, args.pipeline, args.seed) if f is not None)
        faces = [(explainer.input(f.chip), f.age) for f in tqdm(loaded, total=len(rows), desc="faithfulness",
                                                                 disable=args.json)]
        results = evaluate_faithfulness(explainer.model, faces, methods, target, steps=args.steps,
                                        road_faces=args.road_faces, seed=args.seed, fill=args.fill,
                                        progress=not args.json)
        report = faithfulness_report(results, args.seed)
        if args.sanity_faces > 1 and len(faces) > 1:
            inputs = torch.cat([x for x, _ in faces[:args.sanity_faces]])
            for m, value in sanity_rank_corr(predictor.model, inputs, methods, target, args.seed).items():
                report[m]["sanity_rank_corr"] = value
        return report, weights_record(predictor.weights)


def _write_faithfulness(args: argparse.Namespace, report: dict) -> dict[str, str]:
    """The figure into ``--out``; the paths of the figure, the JSON and the Markdown table."""
    from dldl_core.explain.faithfulness_run import faithfulness_figure

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {name: str(out / f"faithfulness.{ext}") for name, ext in (("figure", "png"), ("json", "json"),
                                                                      ("markdown", "md"))}
    faithfulness_figure(report, args.fill).savefig(files["figure"], dpi=110)
    return files


def _split(args: argparse.Namespace) -> str | None:
    """The manifest split to read: None for ``all``, and for a manifest without a split column (said in one line)."""
    split = None if args.split in (None, "", "all") else args.split
    if split is not None:
        from dldl_core.explain.samples import has_split_column

        if not has_split_column(args.manifest):
            print(f"{args.manifest} has no split column: all its rows are used, not only split {split!r}.",
                  file=sys.stderr if args.json else sys.stdout)
            return None
    return split


COMMANDS = (
    Command("explain",
            'Explain the age estimate of each face in a photo: CAM, occlusion and face regions. Exit 0 on '
            'success, 1 when no face is found, 2 on a user error.',
            _explain_args, explain_command),
    Command("stages",
            "Average CAMs, region occlusion and the paper's strip occlusion per age stage (0-3, 4-12, 13-19, "
            '20-39, 40-59, 60+); writes stages.png, .json, .csv and .md (tables).',
            _stages_args, stages_command),
    Command("faithfulness",
            'Deletion / insertion AUCs (map order vs random order) and ROAD scores per CAM method; writes '
            'faithfulness.png, .json and .md (the table).',
            _faithfulness_args, faithfulness_command),
)
