"""How far bf16 moves the explainer's occlusion read-outs from float32, and how much faster it is, on val faces.

The explainer runs occlusion and its faithfulness check in bf16 where bf16 is native (``readout_network``). This
measures, on ``--limit`` val faces through the full pipeline, the absolute difference of every region's change of
age (bf16 against float32), the largest difference and the correlation of the sliding-window maps, the difference
of the unoccluded age, and the median wall time of both. bf16 is emulated (and slow) on CPUs without AVX512-BF16 or
AMX: there the fidelity figures still hold, the timings do not apply.

Usage:
    python benchmarks/bf16_readout.py --data ../shared/datasets/utkface --limit 20
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dldl_core.data.datasets import read_manifest  # noqa: E402
from dldl_core.data.images import load_rgb  # noqa: E402
from dldl_core.explain.explainer import Explainer  # noqa: E402
from dldl_core.explain.forward import Bf16Forward  # noqa: E402
from dldl_core.explain.occlusion import region_occlusion, sliding_window_occlusion  # noqa: E402
from dldl_core.pipeline.inference import bf16_is_fast  # noqa: E402
from dldl_core.pipeline.predictor import Predictor  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1e3


def compare_face(explainer: Explainer, fast: Bf16Forward, face) -> dict[str, float]:
    """bf16 against float32 for one face: region gaps, sliding-window gap and correlation, base-age gap, times."""
    x, regions = explainer.input(face.chip), explainer.regions(face)
    masks, size = regions.resized(explainer.input_size), explainer.input_size
    exact, t_exact = timed(lambda: region_occlusion(explainer.model, x, masks, regions.names, explainer.fill))
    quick, t_quick = timed(lambda: region_occlusion(fast, x, masks, regions.names, explainer.fill))
    slide_exact, s_exact = timed(lambda: sliding_window_occlusion(explainer.model, x, fill=explainer.fill))
    slide_quick, s_quick = timed(lambda: sliding_window_occlusion(fast, x, fill=explainer.fill))
    gaps = np.abs(np.array(list(exact.values())) - np.array(list(quick.values())))
    return {"region_gaps": gaps.tolist(), "largest_region_change": float(np.abs(list(exact.values())).max()),
            "sliding_gap": float(np.abs(slide_exact.age - slide_quick.age).max()),
            "sliding_corr": float(np.corrcoef(slide_exact.age.ravel(), slide_quick.age.ravel())[0, 1]),
            "base_gap": abs(slide_exact.base_age - slide_quick.base_age), "input_px": size,
            "ms": {"region float32": t_exact, "region bf16": t_quick, "sliding float32": s_exact,
                   "sliding bf16": s_quick}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="UTKFace folder (images/ and manifest.csv)")
    parser.add_argument("--limit", type=int, default=20, help="val faces, drawn with --seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default=None, help="default: the shipped default")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    if not (data / "manifest.csv").is_file():
        print(f"error: no manifest.csv in {data}", file=sys.stderr)
        return 2
    rows = read_manifest(data / "manifest.csv").split("val").samples
    rows = [rows[i] for i in np.random.default_rng(args.seed).permutation(len(rows))[:args.limit]]
    results = []
    with Predictor(args.weights, device="cpu") as predictor:
        explainer = Explainer(predictor, bf16=False)
        fast = Bf16Forward(explainer.model)
        for row in rows:
            faces = predictor.predict_rgb(load_rgb(data / "images" / row.file))
            if faces:
                results.append(compare_face(explainer, fast, faces[0]))
    gaps = np.concatenate([r["region_gaps"] for r in results])
    summary = {
        "faces": len(results), "input_px": results[0]["input_px"], "bf16_native": bf16_is_fast(torch.device("cpu")),
        "region_gap_mean": round(float(gaps.mean()), 3), "region_gap_p95": round(float(np.quantile(gaps, 0.95)), 3),
        "region_gap_max": round(float(gaps.max()), 3),
        "largest_region_change_median": round(statistics.median(r["largest_region_change"] for r in results), 2),
        "sliding_gap_max": round(max(r["sliding_gap"] for r in results), 3),
        "sliding_corr_median": round(statistics.median(r["sliding_corr"] for r in results), 4),
        "sliding_corr_min": round(min(r["sliding_corr"] for r in results), 4),
        "base_age_gap_max": round(max(r["base_gap"] for r in results), 3),
        "median_ms": {k: round(statistics.median(r["ms"][k] for r in results), 1) for k in results[0]["ms"]},
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
