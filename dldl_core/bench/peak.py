"""The machine's matrix-multiply peak, measured in the same run as the model timings it is compared with."""
from __future__ import annotations

import torch

from dldl_core.bench.timing import time_call


def matmul_peak_gflops(device: torch.device | str = "cpu", sizes: tuple[int, ...] = (1024, 2048),
                       dtype: torch.dtype = torch.float32, repeat: int = 10, warmup: int = 2) -> float:
    """GFLOP/s of the best square (n x n) @ (n x n) product over ``sizes`` and calls, 2 * n**3 FLOPs each, at the
    current thread count: what the BLAS of this torch build reaches, the practical ceiling for the network's
    convolutions (which run as matrix products). The best call, not the median, because a peak is a ceiling and
    other work on the machine only ever lowers it."""
    device = torch.device(device)
    generator = torch.Generator(device="cpu").manual_seed(0)
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, generator=generator).to(device, dtype)
        b = torch.randn(n, n, generator=generator).to(device, dtype)
        out = torch.empty(n, n, device=device, dtype=dtype)
        timing = time_call(lambda: torch.mm(a, b, out=out), repeat, warmup, device)
        best = max(best, 2 * n ** 3 / (timing.min_ms * 1e-3) / 1e9)
    return best
