"""Preprocessing that travels with the weights: input size, normalisation and the face alignment template.

Importing it does not import torch (the torch-free prediction path reads it); only ``normalize`` needs torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# The DLDL-v2 authors' normalisation.
DLDL_MEAN = (0.5958, 0.4637, 0.4065)
DLDL_STD = (0.2693, 0.2409, 0.2352)


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
    def from_dict(cls, data: dict) -> "Preprocess":
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
