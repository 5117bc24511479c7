"""Preprocessing that travels with the weights: input size, normalisation, the face alignment template, and the
resize every pipeline (training, evaluation, prediction) applies to a chip.

Importing it does not import torch (the torch-free prediction path reads it); only ``normalize`` and
``resize_transform`` need torch.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torchvision.transforms import v2

# The DLDL-v2 authors' normalisation.
DLDL_MEAN = (0.5958, 0.4637, 0.4065)
DLDL_STD = (0.2693, 0.2409, 0.2352)



# Median keypoints of UTKFace training chips (200x200), as fractions of the chip: right eye, left eye, nose tip,
# mouth, right ear, left ear. The weights' sidecar carries the template measured for them; this is only the
# fall-back for weights that have none.
DEFAULT_TEMPLATE: tuple[tuple[float, float], ...] = (
    (0.2858, 0.2996), (0.6958, 0.2897), (0.486, 0.5193), (0.4924, 0.7235), (0.0833, 0.3862), (0.909, 0.3703))


def template_points(template: Sequence[Sequence[float]] | None, chip_size: float) -> np.ndarray:
    """The alignment template as (6, 2) points of a chip of ``chip_size`` pixels (the default when None)."""
    return np.asarray(template or DEFAULT_TEMPLATE, np.float64) * chip_size


@dataclass(frozen=True)
class Preprocess:
    input_size: int = 128  # the network's square input, a multiple of 32
    mean: tuple[float, float, float] = DLDL_MEAN
    std: tuple[float, float, float] = DLDL_STD
    # Alignment template: keypoints of the training chips, normalised to [0, 1] of the chip, in the detector's
    # order (right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion), plus the chip size.
    template: tuple[tuple[float, float], ...] | None = None
    chip_size: int = 200

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Preprocess:
        data = dict(data)
        for key in ("mean", "std"):
            if key in data:
                data[key] = tuple(data[key])
        if data.get("template") is not None:
            data["template"] = tuple(tuple(p) for p in data["template"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) uint8 or float in [0, 1] -> normalised float, channels_last."""
        import torch

        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        mean = torch.tensor(self.mean, device=x.device).reshape(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).reshape(1, 3, 1, 1)
        return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def resize_transform(size: int) -> v2.Compose:
    """Decoded (H, W, 3) uint8 RGB image -> (3, size, size) uint8 tensor, antialiased: the one geometric step that
    training, evaluation and prediction share."""
    import torch
    from torchvision.transforms import v2

    return v2.Compose([v2.ToImage(), v2.Resize((size, size), antialias=True), v2.ToDtype(torch.uint8)])
