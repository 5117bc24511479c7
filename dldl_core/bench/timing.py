"""A wall-clock timer for benchmarks: warm-up calls first, then the median of repeated calls, synchronising CUDA."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class Timing:
    """Wall time of repeated calls after warm-up, in milliseconds."""

    median_ms: float  # the figure reported
    min_ms: float  # the best call: the better guide when other work shares the machine
    cpu_ms: float  # median process CPU time per call (all threads)
    repeat: int  # timed calls

    def to_json(self) -> dict[str, float | int]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def synchronize(device: torch.device | str | None) -> None:
    """Wait for queued CUDA work, so a timer measures the work and not only its launch; a no-op on the CPU."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], repeat: int = 10, warmup: int = 2,
              device: torch.device | str | None = None) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed; CUDA is synchronised around each call."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(max(0, warmup)):
        fn()
    synchronize(device)
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        synchronize(device)
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return Timing(statistics.median(wall), min(wall), statistics.median(cpu), repeat)


def time_interleaved(fns: dict[str, Callable[[], object]], repeat: int = 10, warmup: int = 2,
                     device: torch.device | str | None = None) -> dict[str, Timing]:
    """Like ``time_call`` for several functions, called in turn in each round, so that other work on the machine
    slows them alike and their ratio stays fair."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(max(0, warmup)):
        for fn in fns.values():
            fn()
    synchronize(device)
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            synchronize(device)
            wall[name].append((time.perf_counter() - t0) * 1e3)
            cpu[name].append((time.process_time() - c0) * 1e3)
    return {k: Timing(statistics.median(wall[k]), min(wall[k]), statistics.median(cpu[k]), repeat) for k in fns}
