"""``dldl predict`` picks the torch-free predictor for a shipped network on the CPU, and torch otherwise."""
from __future__ import annotations

import sys

import pytest

from dldl_core.models.registry import AgeNetWeights
from dldl_core.pipeline.predictors import open_predictor, torch_free_network


@pytest.mark.parametrize("weights, device, backend, expected", [
    (None, "auto", "auto", AgeNetWeights.THIN), ("tiny", "cpu", "onnxruntime", AgeNetWeights.TINY),
    ("thin", "auto", "torch", None), ("thin", "cuda", "auto", None), ("own.safetensors", "auto", "auto", None)])
def test_which_network_runs_without_torch(weights, device, backend, expected, monkeypatch):
    monkeypatch.delenv("DLDL_WEIGHTS", raising=False)
    assert torch_free_network(weights, device, backend) is expected


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend"):
        torch_free_network("thin", "auto", "tensorrt")


def test_without_onnxruntime_torch_runs_it(monkeypatch):
    from dldl_core.pipeline.predictor import Predictor

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with open_predictor("tiny", "cpu", "auto") as predictor:
        assert isinstance(predictor, Predictor) and predictor.network.name == "torch"
    with pytest.raises(ValueError, match="onnxruntime backend cannot be used"):
        open_predictor("tiny", "cpu", "onnxruntime")


def test_a_users_own_weights_run_on_torch(random_weights):
    from dldl_core.pipeline.predictor import Predictor

    with open_predictor(random_weights, "cpu") as predictor:
        assert isinstance(predictor, Predictor)
