"""Prediction backends: onnxruntime on the CPU gives torch's estimates; torch stays the fallback."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from dldl_core.data.images import load_rgb
from dldl_core.models.weights import DEFAULT_WEIGHTS
from dldl_core.pipeline import inference
from dldl_core.pipeline.backends import create_network
from dldl_core.pipeline.predictor import Predictor


@pytest.fixture(scope="module")
def weights_path(random_weights):
    return DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.is_file() else random_weights


def test_onnxruntime_predictions_match_torch(weights_path, grace_hopper_path, astronaut_path, monkeypatch):
    monkeypatch.setattr(inference, "bf16_is_fast", lambda device: False)  # torch in fp32 too on a bf16-native CPU
    with Predictor(weights_path, device="cpu") as ref, Predictor(weights_path, device="cpu",
                                                                 backend="onnxruntime") as ort:
        assert (ref.network.name, ort.network.name) == ("torch", "onnxruntime")
        for path in (grace_hopper_path, astronaut_path):
            rgb = load_rgb(path)
            a, b = ref.predict_rgb(rgb), ort.predict_rgb(rgb)
            assert len(a) == len(b) >= 1
            for fa, fb in zip(a, b):
                assert np.abs(fa.distribution - fb.distribution).max() <= 1e-4
                assert np.abs(fa.distribution_mirrored - fb.distribution_mirrored).max() <= 1e-4
                assert abs(fa.age - fb.age) <= 1e-3


def test_auto_picks_onnxruntime_on_the_cpu(random_weights):
    with Predictor(random_weights, device="cpu", backend="auto") as predictor:
        assert predictor.network.name == "onnxruntime"


def test_auto_falls_back_to_torch_without_onnxruntime(random_weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with Predictor(random_weights, device="cpu", backend="auto") as predictor:
        assert predictor.network.name == "torch"
        assert torch.isfinite(predictor.estimate_chips([np.zeros((200, 200, 3), np.uint8)]).age).all()
    with pytest.raises(ValueError, match="onnxruntime"):
        Predictor(random_weights, device="cpu", backend="onnxruntime")


def test_unknown_backend_is_refused():
    from dldl_core.models.networks import create_model

    with pytest.raises(ValueError, match="unknown backend"):
        create_network(create_model("tiny"), 64, "tensorrt")


def test_onnxruntime_is_never_used_on_cuda_by_auto():
    from dldl_core.models.networks import create_model

    model = create_model("tiny").eval()
    assert create_network(model, 64, "auto", torch.device("cuda")).name == "torch"
