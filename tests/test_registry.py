"""The shipped networks by name (``--weights thin``, ``Weights.THIN``) and their pins: a shipped file altered
together with its sidecar is refused."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from dldl_core import assets
from dldl_core.cli.main import main
from dldl_core.models.registry import (
    AgeNetWeights,
    lookup,
    resolve,
    verified_detector_model,
    weights_from_environment,
)
from dldl_core.models.sidecar import WeightsError, sha256_of, sidecar_path
from dldl_core.models.weights import DEFAULT_WEIGHTS, Weights, load_weights


@pytest.mark.parametrize("name, entry", [("thin", AgeNetWeights.THIN), ("TINY", AgeNetWeights.TINY),
                                         ("thin_age_net", AgeNetWeights.THIN), ("default", AgeNetWeights.THIN)])
def test_names_select_the_shipped_networks(name, entry):
    assert lookup(name) is entry
    assert resolve(name) == (entry.path, entry)


def test_entries_are_typed_like_torchvisions():
    assert Weights.THIN is AgeNetWeights.THIN and Weights.DEFAULT is AgeNetWeights.THIN
    assert AgeNetWeights.DEFAULT.path == DEFAULT_WEIGHTS and list(AgeNetWeights) == [Weights.THIN, Weights.TINY]
    entry = AgeNetWeights.TINY
    assert entry.path.name == "tiny_age_net.safetensors" and entry.onnx_path.name == "tiny_age_net.onnx"
    assert entry.input_size == entry.preprocess["input_size"] and entry.objective == "dldl_v2"
    assert entry.metrics["val_mae_chip_tta"] < 8 and "non-commercial" in entry.license


def test_default_is_dldl_weights_then_thin(monkeypatch, tmp_path):
    monkeypatch.delenv("DLDL_WEIGHTS", raising=False)
    assert resolve(None) == (AgeNetWeights.THIN.path, AgeNetWeights.THIN)
    monkeypatch.setenv("DLDL_WEIGHTS", "tiny")
    assert resolve(None)[1] is AgeNetWeights.TINY
    own = tmp_path / "own.safetensors"
    monkeypatch.setenv("DLDL_WEIGHTS", str(own))
    assert resolve(None) == (own, None)
    assert resolve(str(AgeNetWeights.TINY.path))[1] is AgeNetWeights.TINY  # the shipped file by its path


@pytest.mark.parametrize("value, chosen", [(None, None), ("", None), ("  ", None), ("tiny", "tiny"),
                                           (" own.safetensors ", "own.safetensors")])
def test_the_environment_names_the_default_weights_in_one_place(monkeypatch, value, chosen):
    if value is None:
        monkeypatch.delenv("DLDL_WEIGHTS", raising=False)
    else:
        monkeypatch.setenv("DLDL_WEIGHTS", value)
    assert weights_from_environment() == chosen


def test_builders_and_loader_take_entries_and_names():
    from dldl_core import tiny_age_net

    model = tiny_age_net(weights=Weights.TINY)
    assert model.config.arch == "tiny_age_net" and not model.training
    same = load_weights("tiny").model
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), same.state_dict().values()))
    with pytest.raises(ValueError, match="not a thin_age_net"):
        from dldl_core import thin_age_net

        thin_age_net(weights="tiny")
    with pytest.raises(ValueError, match="cannot be set"):
        tiny_age_net(weights="tiny", num_bins=10)


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """The shipped TinyAgeNet, its sidecar, ONNX graph and the detector copied to a folder that stands in for the
    shipped one, so they can be altered."""
    entry = AgeNetWeights.TINY
    for path in (entry.path, sidecar_path(entry.path), entry.onnx_path, assets.DETECTOR_MODEL):
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(assets, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(assets, "DETECTOR_MODEL", tmp_path / assets.DETECTOR_MODEL.name)
    assert entry.path.parent == tmp_path
    return entry


def tamper_with_sidecar_too(path):
    """Alter a tensor file and write its new sha256 into its sidecar: invisible to the sidecar's own check."""
    data = bytearray(path.read_bytes())
    data[-7] ^= 0x10
    path.write_bytes(bytes(data))
    side = json.loads(sidecar_path(path).read_text())
    side["sha256"] = sha256_of(path)
    sidecar_path(path).write_text(json.dumps(side))


def test_the_shipped_files_folder_is_the_assets_one_when_it_is_read(shipped_copy):
    from dldl_core.models.weights import shipped_weights

    assert shipped_weights() == [shipped_copy.path]  # the folder the fixture put in place, not the one at import


def test_a_shipped_file_altered_with_its_sidecar_is_refused(shipped_copy, capsys, grace_hopper_path):
    load_weights("tiny")  # the copy itself is fine
    tamper_with_sidecar_too(shipped_copy.path)
    with pytest.raises(WeightsError, match="pinned"):
        load_weights("tiny")
    assert main(["predict", str(grace_hopper_path), "--weights", "tiny", "--backend", "torch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dldl: error:") and "pinned" in err and len(err.splitlines()) == 1


def test_a_shipped_sidecar_with_another_preprocessing_is_refused(shipped_copy):
    side = json.loads(sidecar_path(shipped_copy.path).read_text())
    side["preprocess"]["mean"] = [0.5, 0.5, 0.5]
    sidecar_path(shipped_copy.path).write_text(json.dumps(side))
    with pytest.raises(WeightsError, match="configuration pinned"):
        load_weights("tiny")


def test_an_altered_onnx_graph_or_detector_is_refused(shipped_copy, capsys, grace_hopper_path):
    from dldl_core.pipeline.onnx_predictor import OnnxPredictor

    data = bytearray(shipped_copy.onnx_path.read_bytes())
    data[-5] ^= 0x01
    shipped_copy.onnx_path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="pinned"):
        OnnxPredictor(shipped_copy)
    assert main(["predict", str(grace_hopper_path), "--weights", "tiny"]) == 2
    assert "pinned" in capsys.readouterr().err
    assets.DETECTOR_MODEL.write_bytes(assets.DETECTOR_MODEL.read_bytes()[:-1])
    with pytest.raises(WeightsError, match="face detector"):
        verified_detector_model()


def test_a_users_own_weights_still_load_by_path(random_weights):
    assert resolve(random_weights)[1] is None
    assert load_weights(random_weights).model.config.arch == "tiny_age_net"
