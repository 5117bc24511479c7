"""Sidecars are read strictly: their format_version is checked and a key this version does not know is refused,
when reading and when writing, in one clear sentence."""
from __future__ import annotations

import json

import pytest

from dldl_core.cli.main import main
from dldl_core.models.networks import create_model
from dldl_core.models.preprocess import Preprocess
from dldl_core.models.sidecar import (
    FORMAT_VERSION,
    WeightsError,
    prediction_sha256,
    read_sidecar,
    sidecar_path,
    update_sidecar,
)
from dldl_core.models.weights import load_weights, save_weights


@pytest.fixture
def saved(tmp_path):
    model = create_model("tiny", max_age=116, num_bins=117)
    return save_weights(model, tmp_path / "w.safetensors", Preprocess(input_size=64), "dldl_v2", {"metrics": {}})


def edit(path, **changes):
    side = json.loads(sidecar_path(path).read_text())
    side.update(changes)
    sidecar_path(path).write_text(json.dumps({k: v for k, v in side.items() if v is not None}))


def test_a_saved_sidecar_carries_the_format_version(saved):
    assert read_sidecar(saved)["format_version"] == FORMAT_VERSION


@pytest.mark.parametrize("changes, message", [
    ({"format_version": 2}, "format_version 2 is not the one"),
    ({"format_version": None}, "no format_version"),
    ({"temperature": 0.5}, "unknown sidecar key(s) 'temperature'"),
])
def test_another_format_or_an_unknown_key_is_refused(saved, changes, message, capsys, grace_hopper_path):
    edit(saved, **changes)
    with pytest.raises(WeightsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_weights(saved)
    assert main(["predict", str(grace_hopper_path), "--weights", str(saved)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dldl: error:") and len(err.splitlines()) == 1 and "Traceback" not in err


def test_unknown_keys_are_refused_when_writing_too(saved, tmp_path):
    with pytest.raises(WeightsError, match="'metrix'"):
        update_sidecar(saved, metrix={"mae": 5})
    assert "metrix" not in read_sidecar(saved)
    with pytest.raises(WeightsError, match="'notes'"):
        save_weights(create_model("tiny"), tmp_path / "x.safetensors", Preprocess(), "dldl_v2", {"notes": "hi"})
    assert not (tmp_path / "x.safetensors").exists()


def test_the_prediction_hash_ignores_metrics_but_not_preprocessing(saved):
    side = read_sidecar(saved)
    assert prediction_sha256(side) == prediction_sha256(side | {"metrics": {"val_mae": 1.0}})
    resized = side | {"preprocess": {**side["preprocess"], "input_size": 128}}
    assert prediction_sha256(side) != prediction_sha256(resized)
