"""CAM targets: the maths of each target, the parser, and gradients flowing through them."""
from __future__ import annotations

import pytest
import torch

from dldl_core.explain.targets import AgeBinTarget, AgeContrastTarget, ExpectedAgeTarget, nearest_bin, parse_target
from dldl_core.maths import labels

SUPPORT = torch.arange(0, 117, dtype=torch.float32)


@pytest.fixture
def logits() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(4, len(SUPPORT)) * 3


def test_expected_age_is_the_expectation_of_the_softmax(logits):
    expected = labels.expectation(torch.softmax(logits, 1), SUPPORT)
    torch.testing.assert_close(ExpectedAgeTarget(SUPPORT)(logits), expected)
    torch.testing.assert_close(ExpectedAgeTarget(SUPPORT, -1.0)(logits), -expected)


def test_single_row_gives_a_scalar_equal_to_the_batch_entry(logits):
    for target in (ExpectedAgeTarget(SUPPORT), AgeBinTarget(30), AgeContrastTarget(35, 55)):
        single = target(logits[2])
        assert single.dim() == 0
        torch.testing.assert_close(single, target(logits)[2])


def test_bin_target_is_the_log_probability(logits):
    torch.testing.assert_close(AgeBinTarget(40)(logits), torch.log_softmax(logits, 1)[:, 40])


def test_contrast_is_the_logit_difference_and_antisymmetric(logits):
    value = AgeContrastTarget(35, 55)(logits)
    torch.testing.assert_close(value, logits[:, 35] - logits[:, 55])
    torch.testing.assert_close(AgeContrastTarget(55, 35)(logits), -value)


def test_expected_target_gradient_points_older():
    """Raising the logit of an old bin raises the expected age: the gradient there is positive, negative for
    'younger'."""
    z = torch.zeros(len(SUPPORT), requires_grad=True)
    ExpectedAgeTarget(SUPPORT)(z).backward()
    assert z.grad[100] > 0 > z.grad[5]
    z.grad = None
    ExpectedAgeTarget(SUPPORT, -1.0)(z).backward()
    assert z.grad[100] < 0 < z.grad[5]


@pytest.mark.parametrize("spec, kind, attrs", [
    ("expected", ExpectedAgeTarget, {"sign": 1.0}),
    ("older", ExpectedAgeTarget, {"sign": 1.0}),
    (" Younger ", ExpectedAgeTarget, {"sign": -1.0}),
    ("-expected", ExpectedAgeTarget, {"sign": -1.0}),
    ("bin:42", AgeBinTarget, {"k": 42}),
    ("contrast:35,55", AgeContrastTarget, {"a": 35, "b": 55}),
    ("contrast: 35.4 , 54.6", AgeContrastTarget, {"a": 35, "b": 55}),
])
def test_parse_target(spec, kind, attrs):
    target = parse_target(spec, SUPPORT)
    assert isinstance(target, kind)
    for name, value in attrs.items():
        assert getattr(target, name) == value


def test_contrast_maps_ages_to_the_nearest_bin_of_a_coarse_support():
    support = torch.linspace(0, 100, 21)  # 5-year bins
    target = parse_target("contrast:36,54", support)
    assert (target.a, target.b) == (7, 11)
    assert nearest_bin(100, support) == 20


def test_predicted_is_the_bin_of_the_estimate():
    target = parse_target("predicted", SUPPORT, age=41.6)
    assert isinstance(target, AgeBinTarget) and target.k == 42
    assert parse_target("predicted", SUPPORT, age=130.0).k == 116  # clipped to the support
    with pytest.raises(ValueError, match="estimate"):
        parse_target("predicted", SUPPORT)


def test_a_callable_is_passed_through():
    fn = AgeBinTarget(3)
    assert parse_target(fn, SUPPORT) is fn


@pytest.mark.parametrize("spec", ["oldest", "bin:", "bin:117", "bin:-1", "bin:2.5", "bin:x", "contrast:35",
                                  "contrast:35,35", "contrast:35,200", "contrast:a,b", ""])
def test_bad_specs_are_value_errors(spec):
    with pytest.raises(ValueError):
        parse_target(spec, SUPPORT)


def test_sign_must_be_plus_or_minus_one():
    with pytest.raises(ValueError):
        ExpectedAgeTarget(SUPPORT, 2.0)
