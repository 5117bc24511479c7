"""The machine's matrix-multiply peak, measured in the same run as the model timings it is compared with."""
from __future__ import annotations

from collections.abc import Callable

import torch

from dldl_core.bench.timing import time_call


def matmul_call(device: torch.device | str = "cpu", n: int = 1024, dtype: torch.dtype = torch.float32
                ) -> tuple[Callable[[], object], int]:
    """A square (n x n) @ (n x n) product to time, and its FLOPs (2 n^3)."""
    device = torch.device(device)
    generator = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device, dtype)
    b = torch.randn(n, n, generator=generator).to(device, dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    return (lambda: torch.mm(a, b, out=out)), 2 * n ** 3


def matmul_peak_gflops(device: torch.device | str = "cpu", sizes: tuple[int, ...] = (1024, 2048),
                       dtype: torch.dtype = torch.float32, repeat: int = 10, warmup: int = 2) -> float:
    """GFLOP/s of the best square product over ``sizes`` and calls, at the current thread count: what the BLAS of
    this torch build reaches, the practical ceiling for the network's convolutions (which run as matrix products).
    The best call, not the median, because a peak is a ceiling and other work on the machine only ever lowers it."""
    best = 0.0
    for n in sizes:
        fn, flops = matmul_call(device, n, dtype)
        best = max(best, flops / (time_call(fn, repeat, warmup, device).min_ms * 1e-3) / 1e9)
    return best
