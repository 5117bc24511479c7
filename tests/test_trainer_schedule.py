"""The learning rate at every optimizer step, against the schedules' formulas written out here."""
import math

import pytest
import torch

from dldl_core.training.config import TrainConfig
from dldl_core.training.schedule import build_scheduler

LR, STEPS_PER_EPOCH = 0.1, 3


def config(**kw) -> TrainConfig:
    return TrainConfig(data="", manifest="", out="", lr=LR, **kw)


def learning_rates(cfg: TrainConfig, steps: int, done_steps: int = 0) -> list[float]:
    """The learning rate each of ``steps`` optimizer steps uses, from a run ``done_steps`` into its schedule."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    scheduler = build_scheduler(optimizer, cfg, STEPS_PER_EPOCH, done_steps)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_cosine_warms_up_linearly_per_step_then_decays_to_zero_at_the_last_step():
    epochs, warmup = 5, 2
    total, warm = epochs * STEPS_PER_EPOCH, warmup * STEPS_PER_EPOCH

    def expected(step: int) -> float:
        if step < warm:
            return LR * max(step / warm, 0.01)
        return LR * 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))

    cfg = config(epochs=epochs, warmup_epochs=warmup)
    assert learning_rates(cfg, total + 1) == pytest.approx([expected(s) for s in range(total + 1)], abs=1e-12)
    assert learning_rates(cfg, 4, done_steps=7) == pytest.approx([expected(s) for s in range(7, 11)], abs=1e-12)
    assert learning_rates(config(epochs=3, warmup_epochs=0), 1) == [LR]  # no warm-up: the peak at once


def test_step_divides_by_ten_every_thirty_epochs():
    rates = learning_rates(config(epochs=70, schedule="step"), 70 * STEPS_PER_EPOCH)
    assert rates == pytest.approx([LR * 0.1 ** (s // (30 * STEPS_PER_EPOCH)) for s in range(len(rates))])
    assert rates[30 * STEPS_PER_EPOCH - 1] == LR and rates[60 * STEPS_PER_EPOCH] == pytest.approx(LR / 100)


def test_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="cosine or step"):
        learning_rates(config(schedule="linear"), 1)
