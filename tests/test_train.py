import dataclasses
import json
import os
import subprocess
import sys

import pytest

from dldl_core.models.weights import load_weights
from dldl_core.training.trainer import TrainConfig, out_paths, train


def test_one_epoch_on_real_faces_writes_loadable_weights_and_resumes(tmp_path, photo_folder):
    folder, manifest = photo_folder
    out = tmp_path / "w.safetensors"
    config = TrainConfig(data=str(folder), manifest=str(manifest), out=str(out), input_size=64, epochs=1,
                         batch_size=4, cache_dir=str(tmp_path / "cache"), progress=False)
    train(config)
    w = load_weights(out)
    assert w.preprocess.input_size == 64 and w.support.max().item() == 116
    log = [json.loads(line) for line in out_paths(out)["log"].read_text().splitlines()]
    assert len(log) == 1 and {"kl", "l1", "total", "val_mae", "train_img_per_s"} <= set(log[0])
    train(dataclasses.replace(config, epochs=2), resume=True)
    log = [json.loads(line) for line in out_paths(out)["log"].read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]


@pytest.mark.slow
def test_one_epoch_on_a_few_hundred_shared_images(tmp_path, utkface):
    out = tmp_path / "u.safetensors"
    train(TrainConfig(data=str(utkface / "images"), manifest=str(utkface / "manifest.csv"), out=str(out),
                      input_size=64, epochs=1, limit=300, cache_dir=str(tmp_path / "cache"), progress=False))
    record = json.loads(out_paths(out)["log"].read_text())
    assert load_weights(out).model.config.arch == "tiny_age_net"
    assert 0 < record["val_mae"] < 60


@pytest.mark.slow
def test_two_process_ddp_on_gloo(tmp_path, photo_folder, free_port):
    folder, manifest = photo_folder
    out = tmp_path / "ddp.safetensors"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
           "-m", "dldl_core", "train", "--data", str(folder), "--manifest", str(manifest), "--out", str(out),
           "--input-size", "64", "--epochs", "1", "--batch-size", "2", "--device", "cpu", "--no-progress"]
    env = {**os.environ, "DLDL_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert load_weights(out).preprocess.input_size == 64


def test_train_refuses_sizes_that_are_not_multiples_of_32(capsys, photo_folder, tmp_path):
    from dldl_core.cli.main import main

    folder, manifest = photo_folder
    code = main(["train", "--data", str(folder), "--manifest", str(manifest), "--input-size", "100",
                 "--out", str(tmp_path / "x.safetensors")])
    assert code == 2 and "multiple of 32" in capsys.readouterr().err


@pytest.mark.slow
def test_the_alignment_template_is_measured_on_the_training_chips(tmp_path, utkface):
    out = tmp_path / "t.safetensors"
    train(TrainConfig(data=str(utkface / "images"), manifest=str(utkface / "manifest.csv"), out=str(out),
                      input_size=32, epochs=1, limit=64, cache_dir=str(tmp_path / "cache"), progress=False))
    pre = load_weights(out).preprocess
    assert pre.chip_size == 200 and pre.template is not None and len(pre.template) == 6
    (rx, ry), (lx, ly), (nx, ny), (_mx, my) = pre.template[:4]
    assert rx < nx < lx and max(ry, ly) < ny < my  # eyes, then nose, then mouth, from top to bottom


def test_ema_weights_are_the_ones_validated_saved_and_resumed(tmp_path, photo_folder):
    import torch

    folder, manifest = photo_folder
    out = tmp_path / "ema.safetensors"
    config = TrainConfig(data=str(folder), manifest=str(manifest), out=str(out), input_size=64, epochs=1,
                         batch_size=2, lr=1e-2, ema=0.5, cache_dir=str(tmp_path / "cache"), progress=False)
    train(config)
    state = torch.load(out_paths(out)["checkpoint"], weights_only=True)
    saved = load_weights(out).model.state_dict()
    averaged = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
    raw = state["model"]
    name = next(k for k in saved if k.endswith("weight") and saved[k].dim() == 4)
    assert torch.equal(saved[name], averaged[name])  # the averaged network is the one kept
    assert not torch.equal(raw[name], averaged[name])  # and it differs from the last step's weights
    train(dataclasses.replace(config, epochs=2), resume=True)
    assert [json.loads(line)["epoch"] for line in out_paths(out)["log"].read_text().splitlines()] == [1, 2]


@pytest.mark.slow
def test_keep_last_saves_the_last_epoch_even_when_it_is_not_the_best(tmp_path, photo_folder, monkeypatch):
    """When val gets worse every epoch, --keep last still writes the last epoch's network (its sidecar names that
    epoch) and --keep best the first's. Val is scored as the epoch's number so that the premise holds whatever the
    hardware's arithmetic does to a real validation of so tiny a run."""
    import torch

    from dldl_core.training import trainer

    monkeypatch.setattr(trainer.Trainer, "_validate",
                        lambda self, record: record.update(val_mae=float(record["epoch"]), val_cs5=0.0))
    folder, manifest = photo_folder
    saved, last_state = {}, {}
    for keep in ("best", "last"):
        out = tmp_path / f"{keep}.safetensors"
        train(TrainConfig(data=str(folder), manifest=str(manifest), out=str(out), input_size=64, epochs=3,
                          batch_size=2, lr=1e-2, warmup_epochs=0, keep=keep, cache_dir=str(tmp_path / "cache"),
                          progress=False))
        log = [json.loads(line) for line in out_paths(out)["log"].read_text().splitlines()]
        assert [r["best"] for r in log] == [True, False, False]
        weights = load_weights(out)
        saved[keep] = (weights.meta["recipe"]["best_epoch"], weights.meta["metrics"]["val_mae_chip_tta"])
        state = weights.model.state_dict()
        name = next(k for k, v in state.items() if k.endswith("weight") and v.dim() == 4)
        checkpoint = torch.load(out_paths(out)["checkpoint"], weights_only=True)["model"]
        last_state[keep] = torch.equal(state[name], checkpoint[name])
    assert saved == {"best": (1, 1.0), "last": (3, 3.0)}
    assert last_state == {"best": False, "last": True}  # the file holds the last epoch's network only with "last"
