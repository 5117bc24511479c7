import pytest
import torch

from dldl_core import create_model
from dldl_core.models.networks import CAM_TARGET_LAYER, count_parameters


@pytest.mark.parametrize("arch,expected", [("thin_age_net", 3.71e6), ("tiny_age_net", 0.94e6)])
def test_parameter_counts_match_the_paper(arch, expected):
    assert abs(count_parameters(create_model(arch)) - expected) / expected <= 0.005


@pytest.mark.parametrize("size", [32, 64, 96, 224])
def test_any_multiple_of_32_works(size):
    model = create_model("tiny").eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 101)


def test_non_multiple_of_32_is_refused():
    with pytest.raises(ValueError, match="multiple of 32"):
        create_model("tiny")(torch.randn(1, 3, 100, 100))


def test_cam_target_layer_is_the_last_conv_block():
    model = create_model("thin")
    layer = model.get_submodule(CAM_TARGET_LAYER)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert layer[0] is convs[-1] and isinstance(layer[2], torch.nn.ReLU)


def test_expectation_layer_is_parameter_free_and_holds_the_support():
    model = create_model("tiny", max_age=116, num_bins=117)
    assert list(model.expectation.parameters()) == []
    assert torch.equal(model.support, torch.arange(117, dtype=torch.float32))
    probs = torch.zeros(1, 117)
    probs[0, 40] = 1
    assert model.expectation(probs).item() == 40


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture"):
        create_model("resnet")
