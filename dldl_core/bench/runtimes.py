"""torch against onnxruntime on the CPU, as the Live page runs the network (dldl_core.pipeline.backends):
normalised faces -> head output at batch 1 (one face) and 2 (one face and its mirror, flip-TTA), calls interleaved."""
from __future__ import annotations

import copy
from typing import Any

import torch

from dldl_core.bench.timing import time_interleaved
from dldl_core.models.weights import Weights
from dldl_core.pipeline.backends import OnnxRuntimeNetwork, TorchNetwork
from dldl_core.pipeline.inference import autocast_for

WIN_MARGIN = 1.15  # onnxruntime must be this much faster (torch time / onnxruntime time) to replace torch


def compare_runtimes(weights: Weights, chip_input: torch.Tensor, threads: int, repeat: int, warmup: int,
                     batches: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """Time the weights' network on ``chip_input`` ((1, 3, S, S) normalised, one real face) in torch (channels_last,
    bf16 where it is fast) and in onnxruntime with ``threads`` threads each; batch 2 adds the mirrored face."""
    try:
        import onnxruntime
    except ImportError:
        return {"available": False, "reason": "onnxruntime is not installed (pip install onnxruntime)"}
    cpu = torch.device("cpu")
    model = copy.deepcopy(weights.model).float().to(cpu, memory_format=torch.channels_last).eval()
    size = weights.preprocess.input_size
    networks = {"torch": TorchNetwork(model), "onnxruntime": OnnxRuntimeNetwork(model, size, threads)}
    rows = []
    for batch in batches:
        x = torch.cat([chip_input, chip_input.flip(-1)] * batch)[:batch].contiguous(memory_format=torch.channels_last)

        def call(network, x=x):
            def run() -> torch.Tensor:
                with torch.inference_mode(), autocast_for(cpu):
                    return torch.softmax(network(x).float(), dim=1)
            return run

        calls = {name: call(network) for name, network in networks.items()}
        timings = time_interleaved(calls, repeat, warmup, cpu)
        gap = float((calls["torch"]() - calls["onnxruntime"]()).abs().max())
        rows.append({"batch": batch, **{name: t.to_json() for name, t in timings.items()},
                     "speedup": round(timings["torch"].median_ms / timings["onnxruntime"].median_ms, 3),
                     "max_abs_diff": gap})
    return {"available": True, "onnxruntime": onnxruntime.__version__, "threads": threads, "input_size": size,
            "rows": rows, "win_margin": WIN_MARGIN, "onnxruntime_wins": all(r["speedup"] > WIN_MARGIN for r in rows)}
