"""The network's read-out for explanations: batched, without gradients, on normalised inputs."""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from dldl_core.maths import labels
from dldl_core.models.preprocess import Preprocess
from dldl_core.pipeline.inference import autocast_for, bf16_is_fast


def inference_copy(model: nn.Module) -> nn.Module:
    """A copy of the network in eval mode with every BatchNorm folded into the conv before it (the same function,
    about a fifth less work per forward); no parameter needs gradients."""
    model = copy.deepcopy(model).eval()
    for block in model.modules():
        if isinstance(block, nn.Sequential):
            for i in range(len(block) - 1):
                if isinstance(block[i], nn.Conv2d) and isinstance(block[i + 1], nn.BatchNorm2d):
                    block[i] = fuse_conv_bn_eval(block[i], block[i + 1])
                    block[i + 1] = nn.Identity()
    return model.requires_grad_(False)


class Bf16Forward(nn.Module):
    """A network run under bf16 autocast, its output returned in float32, with the network's ``support``.

    Only the network's own layers run in bf16: ``readout``'s softmax, expectation and KL stay in float32 (a bf16
    expectation alone would round an age of 40 to a step of 0.25 years). For the read-outs of occlusion and
    faithfulness, which run one forward per hidden part, never for gradients. The input is laid out channels-last
    (NHWC), the layout oneDNN's bf16 convolutions run fastest in (benchmarks/bench_explain.py); the function is the
    same."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @property
    def support(self) -> torch.Tensor:
        return self.model.support

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)  # oneDNN's fast layout: 1.6x on the 160 px batches
        with autocast_for(x.device, enabled=True):
            return self.model(x).float()


class BackendForward(nn.Module):
    """A prediction backend (``dldl_core.pipeline.backends``, e.g. onnxruntime on the CPU) as a read-out network,
    with the age ``support`` of the network it runs."""

    def __init__(self, network: Callable[[torch.Tensor], torch.Tensor], support: torch.Tensor) -> None:
        super().__init__()
        self.network = network
        self.support = support

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x).float()


def readout_network(model: nn.Module, bf16: bool | None = None, backend: object | None = None) -> nn.Module:
    """The network the read-outs run: ``Bf16Forward(model)`` where bf16 is native (``bf16=None``: CUDA, or a CPU
    with AVX512-BF16 or AMX; on others it is emulated and slower than float32); else, in float32, the predictor's
    onnxruntime ``backend`` when it has one (faster than torch float32 for these batches on the CPU,
    docs/explain.md), else ``model`` itself."""
    if bf16 is None:
        bf16 = bf16_is_fast(next(model.parameters()).device)
    if bf16:
        return Bf16Forward(model)
    if getattr(backend, "name", None) == "onnxruntime":
        return BackendForward(backend, model.support)
    return model


@torch.inference_mode()
def readout(model: nn.Module, x: torch.Tensor, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, S, S) normalised input -> (B,) expected ages and (B, K) log-probabilities, on the CPU in float32."""
    ages, log_probs = [], []
    support = model.support.float().cpu()
    for i in range(0, x.shape[0], batch_size):
        lp = torch.log_softmax(model(x[i:i + batch_size]).float(), dim=1).cpu()  # (b, K)
        log_probs.append(lp)
        ages.append(labels.expectation(lp.exp(), support))
    return torch.cat(ages), torch.cat(log_probs)


def normalized_input(chips: list[np.ndarray], preprocess: Preprocess, to_input, device: torch.device | str = "cpu"
                     ) -> torch.Tensor:
    """Aligned uint8 chips -> (B, 3, S, S) normalised network input (``to_input`` resizes, e.g. Predictor's)."""
    return preprocess.normalize(to_input(chips).to(device))


def fill_colour(preprocess: Preprocess, rgb: tuple[float, float, float] | None = None) -> torch.Tensor:
    """(3,) normalised value of a fill colour in [0, 1]; None is the normalisation mean (the data's mean colour),
    which is 0 after normalisation."""
    if rgb is None:
        return torch.zeros(3)
    return (torch.tensor(rgb, dtype=torch.float32) - torch.tensor(preprocess.mean)) / torch.tensor(preprocess.std)
