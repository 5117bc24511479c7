"""The machine's matrix-multiply peak, measured in the same run as the model timings it is compared with."""
from __future__ import annotations

import torch

from dldl_core.bench.timing import time_call


def matmul_peak_gflops(device: torch.device | str = "cpu", size: int = 1024, dtype: torch.dtype = torch.float32,
                       repeat: int = 10, warmup: int = 3) -> float:
    """GFLOP/s of a square (size x size) @ (size x size) product, 2 * size**3 FLOPs, at the current thread count.

    The median call sets the figure; this is what the BLAS of this torch build reaches, the practical ceiling for
    the network's convolutions (which run as matrix products)."""
    device = torch.device(device)
    generator = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device, dtype)
    b = torch.randn(size, size, generator=generator).to(device, dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    timing = time_call(lambda: torch.mm(a, b, out=out), repeat, warmup, device)
    return 2 * size ** 3 / (timing.median_ms * 1e-3) / 1e9
