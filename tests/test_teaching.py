"""The Learn page's maths: loss terms with autograd gradients checked against their closed forms, the L1 kink, the
truncated label distribution's mean, the ranking encoding and the loss against sigma."""
import numpy as np
import pytest
import torch

from dldl_core.maths import labels
from dldl_core.ui import teaching

SUPPORT = torch.arange(117, dtype=torch.float64)  # the shipped network's ages, 0..116


def test_editable_distribution():
    p = teaching.editable_distribution(SUPPORT, 30, 4)
    assert float(p.sum()) == pytest.approx(1.0)
    assert float(labels.expectation(p[None], SUPPORT)[0]) == pytest.approx(30, abs=1e-3)
    two = teaching.editable_distribution(SUPPORT, 20, 3, 60, 0.5)
    assert float(labels.expectation(two[None], SUPPORT)[0]) == pytest.approx(40, abs=1e-3)
    assert two[20] > two[40] < two[60]  # bimodal


def test_a_perfect_prediction_has_zero_loss_and_gradient():
    target = labels.gaussian_label_distribution(torch.tensor([30.0]), SUPPORT, 2.0)[0]
    t = teaching.loss_terms(target, 30, 2.0, SUPPORT)
    assert t.kl == pytest.approx(0, abs=1e-9) and t.l1 == pytest.approx(0, abs=1e-6)
    assert t.cross_entropy > 0  # the entropy of the target
    assert t.at_kink
    for name in ("KL", "cross-entropy", "L1", "KL + 1 L1"):
        assert np.abs(t.gradients[name]).max() < 1e-6


def test_logit_gradients_match_the_closed_forms():
    p_hat = teaching.editable_distribution(SUPPORT, 40, 5, 70, 0.3)
    t = teaching.loss_terms(p_hat, 30, 2.0, SUPPORT, lam=2.0)
    target = labels.gaussian_label_distribution(torch.tensor([30.0]), SUPPORT, 2.0)[0]
    e = float(p_hat @ SUPPORT)
    assert t.expectation == pytest.approx(e) and not t.at_kink
    np.testing.assert_allclose(t.gradients["KL"], (p_hat - target).numpy(), atol=1e-9)
    np.testing.assert_allclose(t.gradients["cross-entropy"], t.gradients["KL"], atol=1e-9)
    np.testing.assert_allclose(t.gradients["L1"], (np.sign(e - 30) * p_hat * (SUPPORT - e)).numpy(),
                               atol=1e-6)  # bins below 1e-12 are clamped before the log
    np.testing.assert_allclose(t.gradients["KL + 2 L1"], t.gradients["KL"] + 2 * t.gradients["L1"], atol=1e-9)
    assert t.total == pytest.approx(t.kl + 2 * t.l1)
    assert t.l1 == pytest.approx(abs(e - 30))


def test_logit_gradients_are_bounded_where_probability_gradients_explode():
    """All the mass at 0 and the true age at the top: w.r.t. the logits every gradient stays below
    max |l_k - E| * (1 + lambda); w.r.t. the probabilities KL's -p_k / p_hat_k explodes."""
    p_hat = teaching.editable_distribution(SUPPORT, 0, 1.0)
    logits = teaching.loss_terms(p_hat, 116, 2.0, SUPPORT, lam=5.0)
    assert max(np.abs(g).max() for g in logits.gradients.values()) < 116 * 6
    assert teaching.probability_gradient_peak(p_hat, 116, 2.0, SUPPORT) > 1e9
    near = teaching.editable_distribution(SUPPORT, 30, 4.0)
    target = labels.gaussian_label_distribution(torch.tensor([32.0]), SUPPORT, 2.0)[0]
    assert teaching.probability_gradient_peak(near, 32, 2.0, SUPPORT) == pytest.approx(float((target / near).max()))


def test_the_l1_kink_is_drawn_as_zero_and_explained():
    symmetric = teaching.editable_distribution(SUPPORT, 20, 2, 40, 0.5)  # E = 30 (the cut at 0 moves it by 1e-15)
    t = teaching.loss_terms(symmetric, 30, 2.0, SUPPORT)
    assert t.at_kink and not np.any(t.gradients["L1"]) and "kink" in teaching.l1_note(t)
    np.testing.assert_allclose(t.gradients["KL + 1 L1"], t.gradients["KL"])
    near = teaching.loss_terms(teaching.editable_distribution(SUPPORT, 20.002, 4, 40, 0.5), 30, 2.0, SUPPORT)
    assert not near.at_kink and near.l1 < 0.005 and np.abs(near.gradients["L1"]).max() > 0.3
    assert "shows 0.00" in teaching.l1_note(near)
    assert teaching.l1_note(teaching.loss_terms(teaching.editable_distribution(SUPPORT, 36, 4), 30, 2.0,
                                                SUPPORT)) is None


def test_label_means_move_inward_at_both_ends():
    means = teaching.label_means(SUPPORT, 2.0)
    assert means[0] > 1.0 and means[-1] < 115.0  # cut and renormalised: the mean moves inward
    assert means[0] - 0 == pytest.approx(116 - means[-1])  # symmetric ends
    np.testing.assert_allclose(means[10:107], SUPPORT.numpy()[10:107], atol=1e-9)  # unaffected in the middle
    assert teaching.label_means(SUPPORT, 8.0)[0] > means[0]  # a wider label moves more


def test_ranking_encoding_sums_to_the_expectation():
    encoding = teaching.ranking_encoding(45, 4.0, SUPPORT)
    assert len(encoding.steps) == len(encoding.one_minus_cdf) == len(encoding.thresholds) == 116
    assert encoding.steps.sum() == 45  # [45 > l_k] for l_k = 0..44
    assert np.all(np.diff(encoding.one_minus_cdf) <= 1e-12)  # non-increasing
    assert encoding.one_minus_cdf.sum() == pytest.approx(encoding.expectation)
    assert encoding.expectation == pytest.approx(45, abs=1e-6)


def test_loss_versus_sigma_is_smallest_near_the_predictions_width():
    prediction = teaching.editable_distribution(SUPPORT, 30, 4.0)
    sigmas = np.linspace(0.5, 10, 96)
    curves = teaching.loss_versus_sigma(prediction, 30, SUPPORT, sigmas, lam=2.0)
    assert sigmas[np.argmin(curves["KL"])] == pytest.approx(4.0, abs=0.2)
    np.testing.assert_allclose(curves["total"] - curves["KL"], 2.0 * abs(float(prediction @ SUPPORT) - 30))
    at_two = teaching.loss_terms(prediction, 30, 2.0, SUPPORT)
    assert np.interp(2.0, sigmas, curves["KL"]) == pytest.approx(at_two.kl, rel=1e-6)


def test_formulas_are_latex():
    assert set(teaching.FORMULAS) == {"label", "ranking", "expectation", "kl_l1", "dldl_v2", "gradients"}
    assert all(f.count("{") == f.count("}") for f in teaching.FORMULAS.values())


def test_the_median_parts_from_the_expectation_only_when_the_prediction_is_skewed():
    symmetric = teaching.loss_terms(teaching.editable_distribution(SUPPORT, 50, 4.0), 50, 2.0, SUPPORT)
    assert symmetric.median == pytest.approx(symmetric.expectation, abs=0.01)
    against_zero = teaching.loss_terms(teaching.editable_distribution(SUPPORT, 1, 6.0), 1, 2.0, SUPPORT)
    assert against_zero.median < against_zero.expectation - 0.5  # leans right: the mean is pulled up
