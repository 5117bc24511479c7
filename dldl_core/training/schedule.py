"""Learning-rate schedules, stepped once per optimizer step (torch's ``LambdaLR``).

``cosine``: linear warm-up from 1 % over ``warmup_epochs``, then cosine decay to 0 at the last step.
``step``: x0.1 every 30 epochs, the official DLDL-v2 recipe.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.optim.lr_scheduler import LambdaLR

from dldl_core.training.config import TrainConfig

STEP_EPOCHS = 30  # the step schedule divides the learning rate by 10 every this many epochs
WARMUP_START = 0.01  # the warm-up's first factor


def warmup_cosine(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Factor of the peak learning rate at optimizer step ``step`` (0-based)."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return max(step / warmup_steps, WARMUP_START)
        t = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
        return 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
    return factor


def step_decay(steps_per_epoch: int) -> Callable[[int], float]:
    """x0.1 every ``STEP_EPOCHS`` epochs."""
    def factor(step: int) -> float:
        return 0.1 ** (step // (STEP_EPOCHS * steps_per_epoch))
    return factor


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int,
                    done_steps: int = 0) -> LambdaLR:
    """The schedule of ``config`` at ``done_steps`` optimizer steps (a resumed run's position).

    The scheduler is rebuilt from the config, not loaded: a resumed run that was allowed a change (more epochs,
    another learning rate) follows the changed schedule from its next step.
    """
    if config.schedule == "cosine":
        factor = warmup_cosine(config.warmup_epochs * steps_per_epoch, config.epochs * steps_per_epoch)
    elif config.schedule == "step":
        factor = step_decay(steps_per_epoch)
    else:
        raise ValueError(f"unknown schedule {config.schedule!r}: choose cosine or step")
    for group in optimizer.param_groups:
        group["initial_lr"] = config.lr
    return LambdaLR(optimizer, factor, last_epoch=done_steps - 1)
