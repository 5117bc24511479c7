"""Resuming a run: changed options are refused (unless allowed), every random generator is restored so that a
resumed run ends with the weights of an uninterrupted one, and the log holds exactly the checkpoint's epochs."""
import dataclasses
import json
import random

import numpy as np
import pytest
import torch
from train_configs import small_config

from dldl_core.cli.main import main
from dldl_core.training.checkpoint import load_checkpoint
from dldl_core.training.config import TrainConfig
from dldl_core.training.trainer import Trainer, out_paths, train

TIMINGS = ("train_img_per_s", "epoch_s")


@pytest.fixture
def config(photo_folder, tmp_path) -> TrainConfig:
    """Two epochs of three steps on six 32x32 chips, validated on two."""
    return small_config(photo_folder, tmp_path, epochs=2)


def interrupted_after_the_first_epoch(config: TrainConfig) -> None:
    """A run of ``config.epochs`` that stops after its first epoch, as a crash would."""
    Trainer(config).run_epoch(0)


def log_records(config: TrainConfig) -> list[dict]:
    return [json.loads(line) for line in out_paths(config.out)["log"].read_text().splitlines()]


def draws() -> tuple[list[float], list[float], list[float]]:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def test_resuming_with_a_changed_option_is_refused_naming_it_unless_allowed(config):
    interrupted_after_the_first_epoch(config)
    changed = dataclasses.replace(config, lr=1e-2)
    with pytest.raises(ValueError, match=r"\blr 0\.001 -> 0\.01\b") as refused:
        train(changed, resume=True)
    assert "allow-config-change" in str(refused.value) and "seed" not in str(refused.value)
    assert [r["epoch"] for r in log_records(config)] == [1]  # nothing was trained
    # Options that cannot change the result, and more epochs, need no leave.
    Trainer(dataclasses.replace(config, epochs=3, workers=1, progress=True, device="cpu", cache=False,
                                cache_dir=None), resume=True)
    train(changed, resume=True, allow_config_change=True)
    assert [r["epoch"] for r in log_records(config)] == [1, 2] and log_records(config)[1]["lr"] > 1e-3


def test_the_command_line_refuses_a_changed_option_and_allows_it_with_the_flag(photo_folder, tmp_path, capsys):
    folder, manifest = photo_folder
    argv = ["train", "--data", str(folder), "--manifest", str(manifest), "--out", str(tmp_path / "cli.safetensors"),
            "--input-size", "32", "--batch-size", "2", "--no-amp", "--no-progress", "--epochs"]
    assert main([*argv, "1"]) == 0
    capsys.readouterr()
    assert main([*argv, "2", "--resume", "--augment", "light"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dldl: error:") and "(augment)" in err and len(err.strip().splitlines()) == 1
    assert main([*argv, "2", "--resume", "--augment", "light", "--allow-config-change"]) == 0


def test_the_checkpoint_restores_every_random_generator(config):
    trainer = Trainer(config)
    np.random.rand(5), random.random()  # stand-ins for training code that draws from numpy and from random
    trainer.run_epoch(0)
    uninterrupted = draws()
    state = load_checkpoint(out_paths(config.out)["checkpoint"])
    assert set(state.rng[0]) == {"torch", "cuda", "numpy", "python"}
    Trainer(config, resume=True)  # seeds every generator, builds the network, then restores the checkpoint's
    assert draws() == uninterrupted


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(config, tmp_path):
    whole = dataclasses.replace(config, out=str(tmp_path / "whole.safetensors"))
    parts = dataclasses.replace(config, out=str(tmp_path / "parts.safetensors"))
    train(whole)
    interrupted_after_the_first_epoch(parts)
    train(parts, resume=True)
    a, b = (load_checkpoint(out_paths(c.out)["checkpoint"]) for c in (whole, parts))
    assert a.model.keys() == b.model.keys() and all(torch.equal(a.model[k], b.model[k]) for k in a.model)
    assert a.scheduler["last_epoch"] == b.scheduler["last_epoch"] == 2 * 3  # 2 epochs of 3 steps
    assert b.config == parts.to_dict() and b.epoch == 2
    strip = lambda records: [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]  # noqa: E731
    assert strip(log_records(whole)) == strip(log_records(parts))


def test_a_resume_rewrites_the_log_with_exactly_the_checkpoints_epochs(config):
    interrupted_after_the_first_epoch(config)
    log_path = out_paths(config.out)["log"]
    with open(log_path, "a") as f:  # an epoch logged past the checkpoint, as a crash between the two would leave
        f.write(json.dumps({"epoch": 2, "total": -1.0}) + "\n")
    train(config, resume=True)
    records = log_records(config)
    assert [r["epoch"] for r in records] == [1, 2] and records[1]["total"] > 0
    assert not log_path.with_name(log_path.name + ".tmp").exists()


def test_a_checkpoint_without_a_config_still_resumes(config):
    """Checkpoints written before the config and every generator were stored (format 1) resume unchecked."""
    interrupted_after_the_first_epoch(config)
    path = out_paths(config.out)["checkpoint"]
    state = load_checkpoint(path)
    torch.save({"model": state.model, "optimizer": state.optimizer, "epoch": 1, "best_mae": state.best_score,
                "rng": state.rng[0]["torch"]}, path)
    train(dataclasses.replace(config, lr=1e-2), resume=True)
    assert [r["epoch"] for r in log_records(config)] == [1, 2]
