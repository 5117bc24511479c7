"""ThinAgeNet and TinyAgeNet from DLDL-v2.

Gao et al., "Age Estimation Using Expectation of Label Distribution Learning", IJCAI 2018, and
"Learning Expectation of Label Distribution for Facial Age and Attractiveness Estimation", arXiv 2007.01771.

A VGG-16 "D" convolution stack at width x0.5 (Thin) or x0.25 (Tiny); every conv is 3x3 + BatchNorm + ReLU;
hybrid pooling (the last max-pool followed by a global average pool); one linear head over K age bins; a
parameter-free expectation layer that holds the age support as a buffer.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dldl_core.maths import labels

if TYPE_CHECKING:
    import os

    from dldl_core.models.registry import AgeNetWeights

# VGG-16 "D" at full width; "M" is a 2x2 max-pool.
VGG16_D: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                                  512, 512, 512, "M")

ARCH_WIDTHS: dict[str, float] = {"thin_age_net": 0.5, "tiny_age_net": 0.25}
ARCH_ALIASES: dict[str, str] = {"thin": "thin_age_net", "tiny": "tiny_age_net"}

# Name of the module the CAM methods hook: the last conv block (conv + BN + ReLU) before hybrid pooling.
CAM_TARGET_LAYER = "features.last_block"


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a network; stored in the weights' sidecar."""

    arch: str = "tiny_age_net"  # "thin_age_net" or "tiny_age_net"
    min_age: float = 0.0  # first bin of the age support
    max_age: float = 100.0  # last bin of the age support
    num_bins: int = 101  # K; the support is linspace(min_age, max_age, K)
    head: str = "distribution"  # output head kind, chosen by the objective ("distribution", "scalar", "ranking")
    dropout: float = 0.0  # dropout before the head

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv, stride 1, pad 1 + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Features(nn.Sequential):
    """The scaled VGG-16 D stack; its last conv block is also reachable as ``last_block`` (the CAM target)."""

    @property
    def last_block(self) -> nn.Module:
        return [m for m in self if isinstance(m, nn.Sequential)][-1]


def make_features(width: float) -> Features:
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_D:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out = int(item * width)
            layers.append(conv_block(channels, out))
            channels = out
    return Features(*layers)


class Expectation(nn.Module):
    """Parameter-free layer: (B, K) probabilities -> (B,) expected age over the support buffer."""

    def __init__(self, support: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("support", support.clone().float())

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        return probs @ self.support.to(probs.dtype)


class AgeNet(nn.Module):
    """VGG-style age network with hybrid pooling and a K-bin head.

    ``forward`` returns the raw head output (logits); ``predict`` turns it into a distribution and an age.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.arch not in ARCH_WIDTHS:
            raise ValueError(f"unknown architecture {config.arch!r}; choose one of {sorted(ARCH_WIDTHS)}")
        self.config = config
        self.features = make_features(ARCH_WIDTHS[config.arch])
        self.pool = nn.AdaptiveAvgPool2d(1)  # hybrid pooling: the last max-pool sits inside features
        self.num_features = int(VGG16_D[-2] * ARCH_WIDTHS[config.arch])
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.num_features, head_outputs(config))
        self.expectation = Expectation(labels.age_support(config.min_age, config.max_age, config.num_bins))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

    @property
    def support(self) -> torch.Tensor:
        return self.expectation.support

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, C) pooled features; H and W must be multiples of 32."""
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"input size must be a multiple of 32, got {tuple(x.shape[-2:])}")
        return torch.flatten(self.pool(self.features(x)), 1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


HEAD_OUTPUTS: dict[str, Callable[[ModelConfig], int]] = {
    "distribution": lambda c: c.num_bins,
    "scalar": lambda c: 1,
    "ranking": lambda c: c.num_bins - 1,
}


def head_outputs(config: ModelConfig) -> int:
    """Number of outputs of the head kind named in the config."""
    try:
        return HEAD_OUTPUTS[config.head](config)
    except KeyError:
        raise ValueError(f"unknown head {config.head!r}; choose one of {sorted(HEAD_OUTPUTS)}") from None


def create_model(arch: str = "tiny_age_net", **kwargs: Any) -> AgeNet:
    """Build a network by name (``thin_age_net``, ``tiny_age_net`` or the short ``thin`` / ``tiny``)."""
    arch = ARCH_ALIASES.get(arch, arch)
    return AgeNet(ModelConfig(arch=arch, **kwargs))


def pretrained(arch: str, weights: AgeNetWeights | str | os.PathLike, **kwargs: Any) -> AgeNet:
    """The network of ``weights`` (``Weights.THIN``, ``"thin"`` or a file), checked to be an ``arch``, in eval mode."""
    from dldl_core.models.weights import load_weights

    if kwargs:
        raise ValueError(f"the sidecar of the weights gives the config; {', '.join(kwargs)} cannot be set with them")
    model = load_weights(weights).model
    if model.config.arch != arch:
        raise ValueError(f"{weights} holds a {model.config.arch}, not a {arch}")
    return model


def thin_age_net(weights: AgeNetWeights | str | os.PathLike | None = None, **kwargs: Any) -> AgeNet:
    """ThinAgeNet: untrained from ``kwargs``, or loaded from ``weights`` (e.g. ``Weights.THIN``), whose sidecar then
    gives the config."""
    return create_model("thin_age_net", **kwargs) if weights is None else pretrained("thin_age_net", weights, **kwargs)


def tiny_age_net(weights: AgeNetWeights | str | os.PathLike | None = None, **kwargs: Any) -> AgeNet:
    """TinyAgeNet: untrained from ``kwargs``, or loaded from ``weights`` (e.g. ``Weights.TINY``)."""
    return create_model("tiny_age_net", **kwargs) if weights is None else pretrained("tiny_age_net", weights, **kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
