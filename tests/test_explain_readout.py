"""The explainer's forward-only read-outs: bf16 only where it is native, only the network's layers in bf16, close to
float32 on a real face; in float32, the predictor's onnxruntime session where it has one."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dldl_core.data.images import load_rgb
from dldl_core.explain.forward import BackendForward, Bf16Forward, readout, readout_network
from dldl_core.explain.occlusion import region_occlusion
from dldl_core.pipeline.inference import bf16_is_fast


@pytest.fixture(scope="module")
def shipped(grace_hopper_path):
    """The shipped predictor, its explainer in float32, and Grace Hopper's face."""
    from dldl_core.explain.explainer import Explainer
    from dldl_core.pipeline.predictor import Predictor

    with Predictor(device="cpu") as predictor:
        face = predictor.predict_rgb(load_rgb(grace_hopper_path))[0]
        yield predictor, Explainer(predictor, bf16=False), face


def test_bf16_is_used_only_where_asked_or_native(shipped):
    _, explainer, _ = shipped
    model = explainer.model
    assert readout_network(model, bf16=False) is model
    wrapped = readout_network(model, bf16=True)
    assert isinstance(wrapped, Bf16Forward) and wrapped.support is model.support
    automatic = readout_network(model)
    assert isinstance(automatic, Bf16Forward) == bf16_is_fast(torch.device("cpu"))
    assert readout_network(model, bf16=False, backend=shipped[0].network) is model  # a torch predictor: torch


def test_bf16_read_out_keeps_the_expectation_in_float32_and_the_ages_close(shipped):
    _, explainer, face = shipped
    x = explainer.input(face.chip)
    batch = torch.cat([x, x.flip(-1)])
    exact, _ = readout(explainer.model, batch)
    fast, log_probs = readout(Bf16Forward(explainer.model), batch)
    assert fast.dtype == torch.float32 and log_probs.dtype == torch.float32
    # A bf16 expectation would round ages of 64-128 years to steps of 0.5; hers (about 85) is not so rounded
    assert exact.min() > 64 and not torch.all((fast * 2) == (fast * 2).round())
    assert (fast - exact).abs().max() < 0.3


def test_bf16_region_occlusion_stays_within_a_third_of_a_year_of_float32(shipped):
    _, explainer, face = shipped
    regions = explainer.regions(face)
    x, masks = explainer.input(face.chip), regions.resized(explainer.input_size)
    exact = region_occlusion(explainer.model, x, masks, regions.names, explainer.fill)
    fast = region_occlusion(Bf16Forward(explainer.model), x, masks, regions.names, explainer.fill)
    gaps = np.abs(np.array(list(exact.values())) - np.array(list(fast.values())))
    assert max(abs(v) for v in exact.values()) > 1  # some region matters, so the comparison means something
    assert gaps.max() < 0.3


def test_the_explanation_says_which_precision_occluded(shipped):
    from dldl_core.explain.explainer import Explainer

    predictor, explainer, face = shipped
    assert explainer.explain(face, sliding=False, faithfulness=False).occlusion_settings["precision"] == "float32"
    fast = Explainer(predictor, bf16=True).explain(face, sliding=False, faithfulness=False)
    assert fast.occlusion_settings["precision"] == "bf16"
    assert Explainer(predictor).readout_precision == ("bf16" if bf16_is_fast(torch.device("cpu")) else "float32")


def test_scorecam_scored_in_bf16_draws_the_float32_map(grace_hopper_path):
    from dldl_core.explain.cam import compute_cam
    from dldl_core.explain.explainer import Explainer
    from dldl_core.explain.targets import parse_target
    from dldl_core.models.registry import resolve
    from dldl_core.pipeline.predictor import Predictor

    # The fast network keeps this quick where bf16 is emulated (about ten times slower than float32)
    with Predictor(resolve("tiny")[0], device="cpu") as predictor:
        explainer = Explainer(predictor, bf16=False)
        x = explainer.input(predictor.predict_rgb(load_rgb(grace_hopper_path))[0].chip)
        target = parse_target("contrast:30,60", explainer.support)
        exact = compute_cam(explainer.model, x, target, "scorecam")[0]
        fast = compute_cam(explainer.model, x, target, "scorecam", bf16=True)[0]
    assert exact.std() > 0.05  # a map with structure, so the comparison means something
    assert not np.array_equal(exact, fast)  # the copies were scored in bf16 ...
    assert np.corrcoef(exact.ravel(), fast.ravel())[0, 1] > 0.99  # ... and the map is still the float32 one
    assert np.abs(exact - fast).max() < 0.05


def test_float32_read_outs_run_on_the_predictors_onnxruntime_session(shipped):
    from dldl_core.explain.explainer import Explainer
    from dldl_core.pipeline.predictor import Predictor

    _, exact, face = shipped
    with Predictor(device="cpu", backend="onnxruntime") as predictor:
        explainer = Explainer(predictor, bf16=False)
        assert isinstance(explainer.readout_model, BackendForward)
        assert (explainer.readout_precision, explainer.readout_backend) == ("float32", "onnxruntime")
        assert Explainer(predictor, bf16=True).readout_backend == "torch"  # bf16 runs on torch
        ort = explainer.region_deltas(face)
        result = explainer.explain(face, sliding=False, faithfulness=False)
    torch_deltas = exact.region_deltas(face)
    assert exact.readout_backend == "torch"
    assert max(abs(ort[k] - torch_deltas[k]) for k in ort) < 1e-3  # the same function, as the parity check says
    assert result.occlusion_settings["backend"] == "onnxruntime"
