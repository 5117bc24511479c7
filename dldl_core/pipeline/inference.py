"""From aligned face crops to ages and distributions: the one forward path shared by training, evaluation,
prediction and the app."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from dldl_core.maths import labels
from dldl_core.models.networks import AgeNet
from dldl_core.models.objectives import Objective, get_objective
from dldl_core.models.preprocess import Preprocess


@dataclass
class AgeEstimate:
    """Batched estimates; the TTA parts are kept so the app can show the image and its mirror separately."""

    age: torch.Tensor  # (B,)
    distribution: torch.Tensor | None  # (B, K)
    age_original: torch.Tensor  # (B,) prediction of the image alone
    age_mirrored: torch.Tensor | None  # (B,) prediction of its mirror (None without TTA)
    distribution_original: torch.Tensor | None = None
    distribution_mirrored: torch.Tensor | None = None


@cache
def bf16_is_fast(device: torch.device) -> bool:
    """bf16 pays on CUDA and on CPUs with native bf16 (AVX512-BF16 or AMX); on an AVX2-only CPU it is emulated
    and measured about 10x slower than fp32 for these networks."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_for(device: torch.device, enabled: bool | None = None):
    """bf16 autocast where it is fast (``enabled=None``: decide by the hardware), else a no-op context."""
    if enabled is None:
        enabled = bf16_is_fast(device)
    if not enabled:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@torch.inference_mode()
def estimate(model: AgeNet, faces: torch.Tensor, preprocess: Preprocess, objective: Objective | str = "dldl_v2",
             tta: bool = True, amp: bool | None = None,
             network: Callable[[torch.Tensor], torch.Tensor] | None = None) -> AgeEstimate:
    """(B, 3, S, S) uint8 aligned faces -> estimates; with ``tta`` the mean of the image and its mirror.

    ``network`` runs the forward pass in place of ``model`` (a backend from dldl_core.pipeline.backends)."""
    objective = get_objective(objective) if isinstance(objective, str) else objective
    device = next(model.parameters()).device
    x = preprocess.normalize(faces.to(device))
    if tta:
        x = torch.cat([x, x.flip(-1)])
    with autocast_for(device, amp):
        out = (network or model)(x).float()
    read = objective.readout(out, model.support)
    b = faces.shape[0]
    if not tta:
        return AgeEstimate(read.age, read.distribution, read.age, None, read.distribution, None)
    if read.distribution is not None:
        dist = (read.distribution[:b] + read.distribution[b:]) / 2
        age = labels.expectation(dist, model.support)
        return AgeEstimate(age, dist, read.age[:b], read.age[b:], read.distribution[:b], read.distribution[b:])
    return AgeEstimate((read.age[:b] + read.age[b:]) / 2, None, read.age[:b], read.age[b:])


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available")
    return torch.device(name)
