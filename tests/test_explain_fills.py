"""The fills of occlusion and perturbation measures: what a hidden pixel becomes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.road import NoisyLinearImputer

from dldl_core.explain.fills import FILLS, blurred, fill_name, hide, impute_linear


def test_linear_imputation_solves_the_same_system_as_the_packages():
    rng = np.random.default_rng(1)
    image = rng.standard_normal((3, 32, 32)).astype(np.float32)
    hidden = rng.random((32, 32)) < 0.5
    ours = impute_linear(image, hidden, noise=0.0)
    theirs = NoisyLinearImputer(noise=0.0)(torch.from_numpy(image), torch.from_numpy((~hidden).astype(np.float32)))
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5)
    np.testing.assert_array_equal(ours[:, ~hidden], image[:, ~hidden])  # visible pixels are never touched


def test_imputation_of_a_smooth_ramp_is_the_ramp():
    ramp = np.tile(np.linspace(0, 1, 24, dtype=np.float32), (3, 24, 1))  # (3, 24, 24), linear along x
    hidden = np.zeros((24, 24), bool)
    hidden[8:16, 8:16] = True
    np.testing.assert_allclose(impute_linear(ramp, hidden, noise=0.0), ramp, atol=1e-4)


@pytest.mark.parametrize("fill", [*FILLS, torch.tensor([1.0, -1.0, 0.5])])
def test_every_fill_changes_only_the_masked_pixels(fill):
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(2, 32, 32)
    masks[0, 4:12, 4:20] = 1
    masks[1, 20:, :] = 1
    out = hide(x, masks, fill)
    assert out.shape == (2, 3, 32, 32)
    for copy, mask in zip(out, masks.bool()):
        assert torch.equal(copy[:, ~mask], x[0][:, ~mask])
        assert not torch.allclose(copy[:, mask], x[0][:, mask])


def test_blur_keeps_the_mean_colour_and_removes_detail():
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    b = blurred(x)
    assert abs(float(b.mean() - x.mean())) < 0.05
    assert float(b.std()) < 0.5 * float(x.std())


def test_road_fill_is_seeded_and_unknown_fills_are_refused():
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(1, 16, 16)
    masks[0, 4:10, 4:10] = 1
    assert torch.equal(hide(x, masks, "road", seed=3), hide(x, masks, "road", seed=3))
    assert not torch.equal(hide(x, masks, "road", seed=3), hide(x, masks, "road", seed=4))
    assert fill_name(None) == "mean"
    with pytest.raises(ValueError, match="unknown fill"):
        hide(x, masks, "noise")
