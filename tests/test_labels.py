import math

import pytest
import torch

from dldl_core.maths import labels

SUPPORT = labels.age_support(0, 100, 101)


@pytest.mark.parametrize("age,sigma", [(30.0, 2.0), (50.5, 3.0), (70.0, 1.0)])
def test_gaussian_sums_to_one_with_mean_and_symmetry_away_from_the_edges(age, sigma):
    p = labels.gaussian_label_distribution(torch.tensor([age]), SUPPORT, sigma)
    assert p.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert labels.expectation(p, SUPPORT).item() == pytest.approx(age, abs=1e-4)
    assert labels.standard_deviation(p, SUPPORT).item() == pytest.approx(sigma, rel=0.02)
    if age == int(age):
        k = int(age)
        assert torch.allclose(p[0, k - 5:k], p[0, k + 1:k + 6].flip(0))


def test_per_sample_sigma():
    p = labels.gaussian_label_distribution(torch.tensor([40.0, 40.0]), SUPPORT, torch.tensor([1.0, 5.0]))
    sd = labels.standard_deviation(p, SUPPORT)
    assert sd[0] < sd[1]
    assert sd[1].item() == pytest.approx(5.0, rel=0.02)


def test_the_standard_deviation_is_the_root_of_the_variance():
    p = labels.gaussian_label_distribution(torch.tensor([20.0, 60.0]), SUPPORT, torch.tensor([2.0, 7.0]))
    assert torch.allclose(labels.standard_deviation(p, SUPPORT) ** 2, labels.variance(p, SUPPORT), rtol=1e-5)
    assert labels.variance(p, SUPPORT)[1].item() == pytest.approx(49.0, rel=0.03)


def test_one_hot_expectation_and_zero_std():
    p = torch.zeros(1, 101)
    p[0, 37] = 1
    assert labels.expectation(p, SUPPORT).item() == 37
    assert labels.standard_deviation(p, SUPPORT).item() == 0


def test_kl_of_a_distribution_with_itself_is_zero_and_positive_otherwise():
    p = labels.gaussian_label_distribution(torch.tensor([30.0]), SUPPORT, 2.0)
    q = labels.gaussian_label_distribution(torch.tensor([35.0]), SUPPORT, 2.0)
    assert labels.kl_divergence(p, p.log()).item() == pytest.approx(0, abs=1e-6)
    assert labels.kl_divergence(p, q.log()).item() > 1.0


def test_quantiles_of_a_gaussian():
    p = labels.gaussian_label_distribution(torch.tensor([50.0]), SUPPORT, 4.0)
    median = labels.quantile(p, SUPPORT, 0.5).item()
    lo, hi = labels.interval(p, SUPPORT, 0.9)[0].tolist()
    assert median == pytest.approx(50.0, abs=0.01)
    assert lo < 50 < hi
    assert (lo + hi) / 2 == pytest.approx(50.0, abs=0.01)
    assert (hi - lo) == pytest.approx(2 * 1.645 * 4.0, rel=0.12)


@pytest.mark.parametrize("age", [0, 30, 100])
def test_a_point_mass_has_its_age_as_median_and_inside_its_interval(age):
    p = labels.one_hot_distribution(torch.tensor([float(age)]), SUPPORT)
    lo, hi = labels.interval(p, SUPPORT, 0.9)[0].tolist()
    assert labels.quantile(p, SUPPORT, 0.5).item() == pytest.approx(age, abs=1e-6)
    assert lo <= age <= hi and hi - lo == pytest.approx(0.9 if 0 < age < 100 else 0.45, abs=1e-5)
    assert SUPPORT[0] <= lo and hi <= SUPPORT[-1]


def test_the_median_of_two_equal_neighbours_lies_between_them():
    p = torch.zeros(1, 101)
    p[0, 40] = p[0, 41] = 0.5
    assert labels.quantile(p, SUPPORT, 0.5).item() == pytest.approx(40.5, abs=1e-6)
    assert labels.expectation(p, SUPPORT).item() == pytest.approx(40.5, abs=1e-6)


def test_bin_edges_lie_halfway_between_ages():
    assert labels.bin_edges(torch.tensor([0.0, 1.0, 3.0])).tolist() == [-0.5, 0.5, 2.0, 4.0]


def test_ranking_targets_equal_one_minus_cdf_of_a_step_distribution():
    age = torch.tensor([42.0])
    step = torch.zeros(1, 101)
    step[0, 42] = 1
    assert torch.equal(labels.ranking_targets(age, SUPPORT), labels.ranking_from_distribution(step))


def test_gradients_are_finite_even_for_extreme_logits():
    logits = torch.tensor([[1e4] + [-1e4] * 100], requires_grad=True)
    target = labels.gaussian_label_distribution(torch.tensor([80.0]), SUPPORT, 2.0)
    loss = labels.kl_divergence(target, torch.log_softmax(logits, 1)).sum()
    loss.backward()
    assert torch.isfinite(logits.grad).all() and math.isfinite(loss.item())


def test_bad_support_is_refused():
    with pytest.raises(ValueError):
        labels.age_support(10, 5, 3)
