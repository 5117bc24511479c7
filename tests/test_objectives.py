import pytest
import torch

from dldl_core.maths import labels
from dldl_core.models.objectives import OBJECTIVES, get_objective

SUPPORT = labels.age_support(0, 100, 101)


def test_registry_has_the_dldl_objectives_and_rejects_unknown_names():
    assert {"dldl", "dldl_v2"} <= set(OBJECTIVES)
    with pytest.raises(ValueError, match="unknown objective"):
        get_objective("nope")


def test_dldl_v2_is_kl_plus_lambda_l1():
    torch.manual_seed(0)
    out = torch.randn(4, 101)
    age, sigma = torch.tensor([10.0, 30, 50, 70]), torch.full((4,), 2.0)
    v2 = get_objective("dldl_v2", lam=0.5).loss(out, age, sigma, SUPPORT)
    v1 = get_objective("dldl").loss(out, age, sigma, SUPPORT)
    assert v2["total"].item() == pytest.approx(v1["kl"].item() + 0.5 * v2["l1"].item(), rel=1e-5)
    assert v1["total"].item() == pytest.approx(v1["kl"].item())


@pytest.mark.parametrize("name", ["dldl", "dldl_v2"])
def test_loss_is_zero_kl_on_the_target_and_gradients_are_finite(name):
    age = torch.tensor([25.0, 60.0])
    target = labels.gaussian_label_distribution(age, SUPPORT, 2.0)
    out = target.log().clone().requires_grad_(True)
    terms = get_objective(name).loss(out, age, torch.full((2,), 2.0), SUPPORT)
    assert terms["kl"].item() == pytest.approx(0, abs=1e-5)
    terms["total"].backward()
    assert torch.isfinite(out.grad).all()
    read = get_objective(name).readout(out.detach(), SUPPORT)
    assert torch.allclose(read.age, age, atol=1e-3)
