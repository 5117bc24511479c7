"""A run given a time budget trains the epochs that fit after timing its first one; a fine-tuning run keeps the
alignment template of the weights it starts from."""
import dataclasses
import json

import pytest
from train_configs import TEMPLATE, small_config

from dldl_core.models.weights import load_weights
from dldl_core.training.config import TrainConfig
from dldl_core.training.trainer import Trainer, epochs_within_budget, out_paths, train


@pytest.fixture
def config(photo_folder, tmp_path) -> TrainConfig:
    """Four epochs of three steps on six 32x32 chips, validated on two."""
    return small_config(photo_folder, tmp_path, epochs=4)


def logged_epochs(config: TrainConfig) -> list[int]:
    return [json.loads(line)["epoch"] for line in out_paths(config.out)["log"].read_text().splitlines()]


@pytest.mark.parametrize(("budget", "epoch_seconds", "expected"),
                         [(100.0, 9.0, 11), (100.0, 10.0, 10), (5.0, 9.0, 1), (1e6, 9.0, 40), (100.0, 0.0, 40)])
def test_the_epochs_that_fit_are_whole_at_least_one_and_at_most_asked(budget, epoch_seconds, expected):
    assert epochs_within_budget(40, budget, epoch_seconds) == expected


def test_a_budget_shorter_than_an_epoch_stops_after_the_first_and_the_sidecar_says_so(config):
    budgeted = dataclasses.replace(config, time_budget=1e-6)
    train(budgeted)
    assert logged_epochs(budgeted) == [1]
    recipe = json.loads(out_paths(budgeted.out)["weights"].with_suffix(".json").read_text())["recipe"]
    assert recipe["time_budget"] == 1e-6 and recipe["best_epoch"] == 1


def test_a_generous_budget_trains_every_epoch_and_its_schedule_reaches_zero(config):
    trainer = Trainer(dataclasses.replace(config, time_budget=1e6))
    trainer.fit()
    assert trainer.config.epochs == 4 and logged_epochs(config) == [1, 2, 3, 4]
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_a_lowered_epoch_count_decays_the_learning_rate_to_zero_by_its_last_step(config, monkeypatch):
    trainer = Trainer(dataclasses.replace(config, time_budget=100.0))
    monkeypatch.setattr("dldl_core.training.trainer.budget_clock", iter(range(0, 10_000, 50)).__next__)
    trainer.fit()  # each epoch appears to take 50 s: two fit in 100 s
    assert trainer.config.epochs == 2 and logged_epochs(config) == [1, 2]
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_fine_tuning_keeps_the_template_of_the_weights_it_starts_from(config, tmp_path):
    train(dataclasses.replace(config, epochs=1))
    tuned = dataclasses.replace(config, epochs=1, template=None, input_size=64, init=config.out,
                                out=str(tmp_path / "tuned.safetensors"))
    train(tuned)
    preprocess = load_weights(tuned.out).preprocess
    assert preprocess.template == TEMPLATE and preprocess.input_size == 64
