"""FLOPs of one forward pass per image, counted by ``torch.utils.flop_counter.FlopCounterMode``.

One multiply-add counts as 2 FLOPs (the counter's convention for convolutions and matrix products). Only those
operators are counted; BatchNorm, ReLU, pooling and softmax are element-wise and add well under 1 % here.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@torch.no_grad()
def flops_per_image(model: nn.Module, input_size: int, batch: int = 2) -> int:
    """FLOPs (2 per multiply-add) of ``model`` on one (3, S, S) image, counted on a batch of ``batch`` on the CPU."""
    device = next(model.parameters()).device
    x = torch.zeros(batch, 3, input_size, input_size, device=device)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // batch
