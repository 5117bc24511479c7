"""CAM methods through pytorch-grad-cam and the Explainer: map shapes, hook release, flat memory."""
from __future__ import annotations

import gc
import os
import warnings

import numpy as np
import pytest
import torch

from dldl_core.data.images import load_rgb
from dldl_core.explain.cam import CAM_METHODS, compute_cam, method_name, target_layer
from dldl_core.explain.targets import AgeBinTarget, ExpectedAgeTarget, parse_target
from dldl_core.models.networks import create_model
from dldl_core.pipeline.face import chip_to_image

HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def hook_count(model: torch.nn.Module) -> int:
    """Hooks on any module of ``model`` plus torch's global module hooks."""
    from torch.nn.modules import module

    global_hooks = sum(len(getattr(module, f"_global{name}", {})) for name in HOOKS)
    return sum(len(getattr(m, name)) for m in model.modules() for name in HOOKS) + global_hooks


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("tiny", max_age=116, num_bins=117).eval()


@pytest.fixture(scope="module")
def predictor(random_weights):
    from dldl_core.pipeline.predictor import Predictor

    with Predictor(random_weights, device="cpu") as p:
        yield p


@pytest.fixture(scope="module")
def explainer(predictor):
    from dldl_core.explain.explainer import Explainer

    return Explainer(predictor)


@pytest.fixture(scope="module")
def hopper(grace_hopper_path, predictor):
    rgb = load_rgb(grace_hopper_path)
    faces = predictor.predict_rgb(rgb)
    assert faces, "the detector must find Grace Hopper's face"
    return rgb, faces[0]


@pytest.mark.parametrize("method", list(CAM_METHODS))
@pytest.mark.parametrize("size, batch", [(32, 1), (64, 2), (96, 1)])
def test_maps_have_the_input_size_and_leave_no_hooks(net, method, size, batch):
    torch.manual_seed(size)
    x = torch.randn(batch, 3, size, size)
    maps = compute_cam(net, x, AgeBinTarget(30), method)
    assert maps.shape == (batch, size, size) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1 + 1e-6
    assert hook_count(net) == 0


def test_maps_are_not_trivial_for_a_contrast_target(net):
    """A contrast target with a random network gives a map with structure (not all zeros, not constant)."""
    torch.manual_seed(1)
    maps = compute_cam(net, torch.randn(1, 3, 64, 64), parse_target("contrast:20,80", net.support), "gradcam")
    assert maps.max() > 0.99 and maps.std() > 0.05


def test_older_and_younger_maps_differ(net):
    torch.manual_seed(2)
    x = torch.randn(1, 3, 64, 64)
    older = compute_cam(net, x, ExpectedAgeTarget(net.support, 1.0), "hirescam")
    younger = compute_cam(net, x, ExpectedAgeTarget(net.support, -1.0), "hirescam")
    assert np.abs(older - younger).mean() > 0.05


def test_hooks_are_released_when_the_target_fails(net):
    def broken(_logits):
        raise RuntimeError("target failed")

    with pytest.raises(RuntimeError, match="target failed"):
        compute_cam(net, torch.randn(1, 3, 64, 64), broken, "gradcam")
    assert hook_count(net) == 0


@pytest.mark.parametrize("spelling, key", [("GradCAM++", "gradcam++"), ("grad-cam-pp", "gradcam++"),
                                           ("Score-CAM", "scorecam"), ("LayerCAM", "layercam")])
def test_method_names(spelling, key):
    assert method_name(spelling) == key


def test_unknown_method_is_a_value_error(net):
    with pytest.raises(ValueError, match="unknown CAM method"):
        compute_cam(net, torch.randn(1, 3, 32, 32), AgeBinTarget(3), "occlusioncam")


def test_target_layer_is_the_last_conv_block(net):
    assert target_layer(net) is net.features.last_block


def test_explanation_in_chip_and_photo_frames(explainer, predictor, hopper):
    rgb, face = hopper
    result = explainer.explain(face, "gradcam", "contrast:35,55", image=rgb)
    c = face.chip.shape[0]
    assert result.cam.shape == (c, c) and result.occlusion_age.shape == (c, c) and result.occlusion_kl.shape == (c, c)
    assert result.cam_image.shape == rgb.shape[:2]
    for key in ("cam", "occlusion", "regions"):
        assert result.overlays[key].shape == (c, c, 3) and result.overlays[key].dtype == np.uint8
        assert result.overlays_image[key].shape == rgb.shape and result.overlays_image[key].dtype == np.uint8
    assert (result.occlusion_kl >= -1e-6).all()
    assert set(result.regions) == set(result.region_names)
    # The CAM on the photo is zero far from the face and carries the chip's map inside the face box.
    x0, y0, x1, y1 = (int(v) for v in face.box)
    assert result.cam_image[:20, :20].max() == 0
    assert result.cam_image[y0:y1, x0:x1].max() > 0.5 * result.cam.max()
    # Maps on the photo are the chip maps warped back; pixels off the chip are the photo's own.
    np.testing.assert_allclose(result.cam_image, chip_to_image(result.cam, face.matrix, rgb.shape[:2]), atol=1e-4)
    footprint = chip_to_image(np.ones((c, c), np.float32), face.matrix, rgb.shape[:2]) > 0
    for key in ("cam", "occlusion", "regions"):
        assert np.array_equal(result.overlays_image[key][~footprint], rgb[~footprint])
        assert not np.array_equal(result.overlays_image[key][footprint], rgb[footprint])
    # The explained age is the network's estimate of the chip alone.
    assert result.age == pytest.approx(face.age_original, abs=1e-3)
    assert hook_count(explainer.model) == 0 and hook_count(predictor.model) == 0
    assert all(p.grad is None for p in predictor.model.parameters())


def test_a_bare_chip_can_be_explained(explainer, hopper):
    _, face = hopper
    result = explainer.explain(face.chip, "eigencam", "younger", sliding=False)
    assert result.cam_image is None and result.overlays_image == {} and result.occlusion_age is None
    assert result.cam.shape == face.chip.shape[:2]


def test_every_overlay_says_how_its_colours_were_chosen(explainer, hopper):
    rgb, face = hopper
    result = explainer.explain(face, "gradcam", "expected", image=rgb)
    scales = result.scales
    assert set(scales) == {"cam", "occlusion", "regions"}
    assert (scales["cam"].cmap, scales["cam"].vmin, scales["cam"].vmax) == ("viridis", 0.0, 1.0)
    occlusion = scales["occlusion"]
    assert occlusion.cmap == "RdBu_r" and occlusion.vmin == -occlusion.vmax  # diverging and symmetric
    assert occlusion.vmax == pytest.approx(float(np.abs(result.occlusion_age).max()), rel=1e-5)  # its own range
    assert scales["regions"].vmax == pytest.approx(max(abs(v) for v in result.regions.values()), rel=1e-5)
    assert "years" in occlusion.label and "target" in scales["cam"].label
    settings = result.occlusion_settings
    assert settings["patch_px"] == explainer.input_size // 6  # a sixth of the face, windows overlapping by 2/5
    assert settings["stride_px"] == round(settings["patch_px"] * 3 / 5)
    assert settings["fill"] == "blur" and "blur" in settings["fill_description"]
    assert result.to_json()["colour_scales"]["occlusion"]["vmin"] == round(occlusion.vmin, 4)
    assert not result.ignores_target and not result.to_json()["cam_ignores_target"]


def test_each_explanation_says_how_faithful_its_map_is_for_this_face(explainer, hopper):
    _, face = hopper
    result = explainer.explain(face.chip, "gradcam", "expected", sliding=False)
    check = result.faithfulness
    assert check["fill"] == "blur" and check["random_spread"] >= 0
    assert check["gain"] == pytest.approx(check["map_auc"] - check["random_auc"])
    assert result.to_json()["faithfulness"] == check and "faithfulness" in result.timings_ms
    assert check["gain"] > 0  # on this face, Grad-CAM's order moves the estimate faster than random orders
    # EigenCAM draws one map whatever the target, so negating the target negates every curve and the gain.
    older = explainer.explain(face.chip, "eigencam", "expected", sliding=False).faithfulness
    younger = explainer.explain(face.chip, "eigencam", "younger", sliding=False).faithfulness
    assert older["gain"] == pytest.approx(-younger["gain"], abs=1e-3) and older["gain"] != 0
    assert explainer.explain(face.chip, "gradcam", sliding=False, faithfulness=False).faithfulness is None


def test_eigencam_is_marked_as_ignoring_the_target(explainer, hopper):
    _, face = hopper
    older = explainer.explain(face.chip, "eigencam", "expected", sliding=False)
    younger = explainer.explain(face.chip, "eigencam", "younger", sliding=False)
    assert older.ignores_target and older.to_json()["cam_ignores_target"]
    np.testing.assert_allclose(older.cam, younger.cam, atol=1e-6)  # the same map whatever the target
    assert older.occlusion_settings["patch_px"] is None  # no sliding window computed


def test_explainer_rejects_bad_requests(explainer, hopper):
    _, face = hopper
    with pytest.raises(ValueError):
        explainer.explain(face, "nocam")
    with pytest.raises(ValueError):
        explainer.explain(face, "gradcam", "bin:999")
    with pytest.raises(ValueError):
        explainer.explain(np.zeros((10, 20, 3), np.uint8))


def _live_tensors() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isinstance on torch's deprecated lazy attributes warns
        return sum(isinstance(o, torch.Tensor) for o in gc.get_objects())


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
def test_memory_is_flat_over_100_explain_calls(explainer, predictor, hopper):
    """No hooks, graphs or tensors pile up across requests on a shared explainer, and every call gives the same
    answer."""
    rgb, face = hopper
    methods = ["gradcam", "hirescam", "layercam", "gradcam++"]
    assert hook_count(explainer.model) + hook_count(predictor.model) == 0
    ages = []

    def calls(n: int) -> None:
        for i in range(n):
            result = explainer.explain(face, methods[i % 4], "expected", image=rgb, sliding=False)
            ages.append(result.age)
            assert hook_count(explainer.model) + hook_count(predictor.model) == 0, f"hooks left after {len(ages)}"
            del result
        gc.collect()

    calls(20)  # warm-up: allocator pools, lazy imports
    tensors = _live_tensors()
    calls(40)  # the heap settles (a long test run leaves it fragmented)
    rss = _rss_mb()
    calls(100)  # a leak grows with the calls; the allocator's own settling does not
    assert _live_tensors() <= tensors
    assert _rss_mb() - rss < 20
    assert max(ages) - min(ages) < 1e-4  # the network's estimate of the same chip, whatever the CAM method
