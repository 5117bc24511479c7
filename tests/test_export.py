"""dldl export: ONNX and TorchScript graphs give torch's distribution on real face chips, any batch size."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dldl_core.cli.main import main
from dldl_core.data.images import load_rgb
from dldl_core.models.export import DistributionGraph, export, sidecar_path
from dldl_core.models.weights import DEFAULT_WEIGHTS, load_weights
from dldl_core.pipeline.predictor import Predictor

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def weights_path(random_weights):
    """The shipped weights (a trained, peaked distribution is the harder parity case), else untrained ones."""
    return DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.is_file() else random_weights


@pytest.fixture(scope="module")
def chips_input(weights_path, grace_hopper_path, astronaut_path) -> torch.Tensor:
    """(N, 3, S, S) normalised input of the real faces in the bundled photos and their mirrors."""
    with Predictor(weights_path, device="cpu") as predictor:
        chips = [f.chip for p in (grace_hopper_path, astronaut_path) for f in predictor.detect(load_rgb(p))]
        x = predictor.preprocess.normalize(predictor.to_input(chips))
    assert len(chips) >= 2
    return torch.cat([x, x.flip(-1)]).contiguous()


@pytest.fixture(scope="module")
def reference(weights_path, chips_input) -> np.ndarray:
    with torch.inference_mode():
        return DistributionGraph(load_weights(weights_path).model.eval())(chips_input).numpy()


@pytest.fixture(scope="module")
def onnx_file(weights_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "age.onnx"
    assert main(["export", "--weights", str(weights_path), "--format", "onnx", "--out", str(out)]) == 0
    return out


def test_onnxruntime_gives_torchs_distribution(onnx_file, chips_input, reference):
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": chips_input.numpy()})[0]
    assert out.shape == reference.shape
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-5)
    assert np.abs(out - reference).max() <= TOLERANCE
    assert (out.argmax(1) == reference.argmax(1)).all()


def test_onnx_batch_axis_is_dynamic(onnx_file, chips_input, reference):
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    assert isinstance(session.get_inputs()[0].shape[0], str)  # a named, symbolic batch axis
    for n in (1, 3, len(chips_input)):
        out = session.run(None, {"input": chips_input[:n].numpy()})[0]
        assert out.shape == (n, reference.shape[1])
        assert np.abs(out - reference[:n]).max() <= TOLERANCE


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_gives_torchs_distribution(weights_path, chips_input, reference, tmp_path):
    out = export(weights_path, "torchscript", tmp_path / "age.pt")
    scripted = torch.jit.load(str(out))
    with torch.inference_mode():
        for n in (1, len(chips_input)):
            got = scripted(chips_input[:n]).numpy()
            assert got.shape == (n, reference.shape[1])
            assert np.abs(got - reference[:n]).max() <= TOLERANCE


def test_sidecar_carries_what_a_consumer_needs(onnx_file, weights_path):
    side = json.loads(sidecar_path(onnx_file).read_text())
    weights = load_weights(weights_path)
    assert sidecar_path(onnx_file).name == "age.onnx.json"
    assert side["preprocess"]["input_size"] == weights.preprocess.input_size
    assert side["support"] == weights.support.tolist()
    assert side["source_weights"]["sha256"] == weights.meta["sha256"]


@pytest.mark.parametrize("fmt, name", [("tflite", "age.tflite"), ("onnx", "age.pt"), ("torchscript", "age.onnx"),
                                       ("onnx", "missing/age.onnx"), ("onnx", ".")])
def test_bad_format_or_path_exits_2_with_one_line(fmt, name, tmp_path, capsys, random_weights):
    out = tmp_path / name
    assert main(["export", "--weights", str(random_weights), "--format", fmt, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dldl: error:") and len(err.splitlines()) == 1
    assert not out.is_file() and not sidecar_path(out).is_file()
