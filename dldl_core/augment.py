"""Training augmentation of DLDL-v2, batched with a separate random draw per image.

The paper's recipe: horizontal flip (p .5), grayscale (p .5), random rescale, rotation +-15 degrees, crop (a shift),
colour jitter (brightness, contrast, saturation 0.4). torchvision.transforms.v2 draws one set of parameters per
call, so applying it per image costs a Python round trip per image, which on a small CPU is slower than the
TinyAgeNet step itself. Here the same operations run once per batch, with per-image parameters: one affine grid
for rotation + rescale + shift, and broadcast arithmetic for flip, grayscale and jitter (grayscale weights from
torchvision's ``rgb_to_grayscale``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF


@dataclass(frozen=True)
class AugmentConfig:
    flip: float = 0.5  # probability of a horizontal flip
    grayscale: float = 0.5  # probability of grayscale
    rotation: float = 15.0  # max |rotation| in degrees
    scale: tuple[float, float] = (0.9, 1.1)  # random rescale range
    shift: float = 0.06  # max |shift| as a fraction of the size (the random crop)
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4

    def to_dict(self) -> dict:
        return asdict(self)


def augment_preset(name: str) -> AugmentConfig:
    """``paper``: the DLDL-v2 recipe; ``light``: half its rotation, shift, rescale, jitter and grayscale rate, for
    small networks that underfit under the full recipe."""
    if name == "paper":
        return AugmentConfig()
    if name == "light":
        return AugmentConfig(grayscale=0.25, rotation=7.5, scale=(0.95, 1.05), shift=0.03,
                             brightness=0.2, contrast=0.2, saturation=0.2)
    raise ValueError(f"unknown augmentation preset {name!r}: choose paper or light")


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device) * (hi - lo) + lo


def augment_batch(images: torch.Tensor, config: AugmentConfig = AugmentConfig(),
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 3, H, W) float in [0, 1] -> augmented (B, 3, H, W) float in [0, 1]."""
    b, dev = images.shape[0], images.device
    angle = _uniform(b, -config.rotation, config.rotation, generator, dev) * math.pi / 180
    scale = _uniform(b, *config.scale, generator, dev)
    shift = _uniform(2 * b, -config.shift, config.shift, generator, dev).reshape(b, 2) * 2  # in [-1, 1] units
    flip = torch.rand(b, generator=generator, device=dev) < config.flip
    sign = torch.where(flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * sign, -sin, shift[:, 0]], 1),
                         torch.stack([sin * sign, cos, shift[:, 1]], 1)], 1)  # (B, 2, 3) output -> input
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    x = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def jitter(strength: float) -> torch.Tensor:
        return _uniform(b, 1 - strength, 1 + strength, generator, dev).reshape(b, 1, 1, 1)

    x = x * jitter(config.brightness)
    gray = TF.rgb_to_grayscale(x.clamp(0, 1))  # (B, 1, H, W)
    x = (x - gray.mean((2, 3), keepdim=True)) * jitter(config.contrast) + gray.mean((2, 3), keepdim=True)
    gray = TF.rgb_to_grayscale(x.clamp(0, 1))
    x = gray + (x - gray) * jitter(config.saturation)
    to_gray = (torch.rand(b, generator=generator, device=dev) < config.grayscale).reshape(b, 1, 1, 1)
    x = torch.where(to_gray, TF.rgb_to_grayscale(x.clamp(0, 1)).expand_as(x), x)
    return x.clamp(0, 1)
