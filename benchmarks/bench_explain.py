"""Speed of the explanations for one face: each CAM method, region occlusion, the sliding window, a full explain.

Goals (the default network at its shipped input size, 2 CPU threads): Grad-CAM <= 60 ms per face, region occlusion
(all regions, one batch) <= 150 ms, sliding-window map <= 1.5 s. The forward-only read-outs (occlusion, the
faithfulness check, Score-CAM's scoring) run as the explainer runs them: in bf16 where bf16 is native, else in float32,
occlusion and the faithfulness check on the predictor's onnxruntime session (the table's first line says which); the
predictor's backend is the app's (``--backend auto``). Speed does not depend on what the weights learned, so with
``--untrained`` (or without any weights) an untrained TinyAgeNet at ``--input-size`` is timed. The face is Grace
Hopper's portrait bundled with matplotlib, detected and aligned once; detection is not timed.

Each figure is the median and the minimum wall time over ``--repeat`` calls after two warm-up calls, and the median
process CPU time. The load average is printed with the figures: other work on the machine slows everything; the
minimum is then the better guide, and with ``--threads 1`` the CPU time is what a call costs on an idle core.

Usage:
    python benchmarks/bench_explain.py                       # the shipped weights, or an untrained TinyAgeNet at 96
    python benchmarks/bench_explain.py --untrained --input-size 128
    python benchmarks/bench_explain.py --weights W.safetensors --threads 2 --repeat 20 --json
    python benchmarks/bench_explain.py --no-bf16              # read-outs in float32, as on a CPU without native bf16
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dldl_core.data.images import load_rgb  # noqa: E402
from dldl_core.explain.cam import CAM_METHODS, compute_cam  # noqa: E402
from dldl_core.explain.explainer import Explainer  # noqa: E402
from dldl_core.explain.faithfulness import face_faithfulness  # noqa: E402
from dldl_core.explain.targets import ExpectedAgeTarget  # noqa: E402
from dldl_core.models.registry import weights_from_environment  # noqa: E402
from dldl_core.models.weights import DEFAULT_WEIGHTS  # noqa: E402
from dldl_core.pipeline.predictor import Predictor  # noqa: E402

GOALS_MS = {"cam gradcam": 60.0, "region occlusion": 150.0, "sliding window": 1500.0}


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    """Median and minimum wall time of ``fn`` in ms, and its median process CPU time, after two warm-up calls.

    With one thread the CPU time is what the call costs on an idle core even when other work shares the machine;
    with more threads it also counts threads spinning while they wait for each other."""
    for _ in range(2):
        fn()
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "cpu_ms": statistics.median(cpu)}


def untrained_weights(input_size: int, folder: Path) -> Path:
    from dldl_core.models.networks import create_model
    from dldl_core.models.preprocess import Preprocess
    from dldl_core.models.weights import save_weights

    torch.manual_seed(0)
    model = create_model("tiny", max_age=116, num_bins=117)
    return save_weights(model, folder / "untrained_tiny.safetensors", Preprocess(input_size=input_size), "dldl_v2")


def time_explanations(predictor: Predictor, methods: list[str], repeat: int, bf16: bool | None = None
                      ) -> tuple[dict, object, str]:
    """Median, min and CPU milliseconds of every explanation step on Grace Hopper's face; the sliding window; how the
    read-outs ran (``bf16`` or ``float32``, and on what)."""
    from matplotlib import cbook

    rgb = load_rgb(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    face = predictor.predict_rgb(rgb)[0]
    explainer = Explainer(predictor, bf16=bf16)
    regions = explainer.regions(face)
    figures: dict[str, dict[str, float]] = {}
    for method in methods:
        reps = max(2, repeat // 5) if method == "scorecam" else repeat
        figures[f"cam {method}"] = timed(lambda m=method: explainer.cam(face, m, "expected"), reps)
    figures["cam gradcam contrast"] = timed(lambda: explainer.cam(face, "gradcam", "contrast:30,60"), repeat)
    figures["regions geometry"] = timed(lambda: explainer.regions(face), repeat)
    figures["region occlusion"] = timed(lambda: explainer.region_deltas(face, regions), repeat)
    figures["sliding window"] = timed(lambda: explainer.occlusion(face), max(3, repeat // 3))
    x, target = explainer.input(face.chip), ExpectedAgeTarget(explainer.support)
    cam = compute_cam(explainer.model, x, target, "gradcam")[0]
    figures["faithfulness of one map"] = timed(lambda: face_faithfulness(explainer.readout_model, x, cam, target,
                                                                         explainer.fill), max(3, repeat // 3))
    figures["explain, no sliding window"] = timed(
        lambda: explainer.explain(face, "gradcam", image=rgb, sliding=False), repeat)
    figures["explain, no sliding window, no faithfulness"] = timed(
        lambda: explainer.explain(face, "gradcam", image=rgb, sliding=False, faithfulness=False), repeat)
    figures["explain, all"] = timed(lambda: explainer.explain(face, "gradcam", image=rgb), max(3, repeat // 3))
    return figures, explainer.occlusion(face), f"{explainer.readout_precision} on {explainer.readout_backend}"


def print_table(result: dict) -> None:
    print(f"{result['weights']}, input {result['input_size']} px, {result['threads']} threads, forward-only read-outs "
          f"in {result['readouts']}, load average {result['load_average']}")
    for name, f in result["figures"].items():
        goal = GOALS_MS.get(name)
        verdict = "" if goal is None else f"  goal <= {goal:.0f} ms: {'met' if f['median_ms'] <= goal else 'MISSED'}"
        print(f"  {name:<28} median {f['median_ms']:8.1f} ms   min {f['min_ms']:8.1f} ms   cpu {f['cpu_ms']:8.1f} ms"
              f"{verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="weights to time; default: DLDL_WEIGHTS or the shipped file")
    parser.add_argument("--untrained", action="store_true", help="time an untrained TinyAgeNet at --input-size")
    parser.add_argument("--input-size", type=int, default=96, help="input size of the untrained stand-in network")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per figure")
    parser.add_argument("--methods", default=",".join(CAM_METHODS), help="CAM methods to time")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime"),
                        help="the predictor's backend; auto, as in the app: onnxruntime on the CPU where installed")
    parser.add_argument("--no-bf16", action="store_true",
                        help="read-outs in float32 even where bf16 is native (as on a CPU without it)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    chosen = None if args.untrained else args.weights or weights_from_environment() or (
        str(DEFAULT_WEIGHTS) if DEFAULT_WEIGHTS.is_file() else None)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(chosen) if chosen else untrained_weights(args.input_size, Path(tmp))
        with Predictor(weights, device="cpu", backend=args.backend) as predictor:
            figures, windows, precision = time_explanations(predictor, args.methods.split(","), args.repeat,
                                                            False if args.no_bf16 else None)
    result = {
        "weights": chosen or f"untrained TinyAgeNet at {args.input_size} px",
        "input_size": predictor.preprocess.input_size, "threads": args.threads, "repeat": args.repeat,
        "sliding_window": {"patch": windows.patch, "stride": windows.stride}, "readouts": precision,
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()], "torch": torch.__version__,
        "figures": {k: {m: round(v, 1) for m, v in f.items()} for k, f in figures.items()},
        "goals_ms": GOALS_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
