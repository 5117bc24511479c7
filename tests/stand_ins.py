"""Stand-in networks with a known answer, for testing explanation methods against the truth."""
from __future__ import annotations

import torch
from torch import nn

SIZE = 32  # input side the stand-ins are drawn for


class PatchAgeNet(nn.Module):
    """Age logits that depend only on the mean of channel 0 in rows 8-15, columns 16-23 (a known sensitive patch)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("support", torch.arange(0, 101, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x[:, 0, 8:16, 16:24].mean(dim=(1, 2))  # (B,)
        return -((self.support[None] - (50 + 20 * s[:, None])) ** 2) / 50  # (B, K), peak at 50 + 20 s
