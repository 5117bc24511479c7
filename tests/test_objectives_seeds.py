"""Every registered objective (DLDL, DLDL-v2 and the seeds' MR, DEX, ranking, Mean-Variance, SADAL): heads, losses,
gradients and read-outs; the ranking = 1 - CDF result of DLDL-v2; SADAL's similarity-aware weight Q."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dldl_core.maths import labels
from dldl_core.models.networks import ModelConfig, create_model, head_outputs
from dldl_core.models.objectives import OBJECTIVES, Objective, distribution_note, get_objective
from dldl_core.models.preprocess import Preprocess
from dldl_core.pipeline.inference import estimate

SUPPORT = labels.age_support(0, 116, 117)
K = SUPPORT.numel()
NAMES = sorted(OBJECTIVES)
SEED_OBJECTIVES = {"mr", "dex", "ranking", "dldl", "dldl_v2", "mean_variance", "sadal"}


def perfect_output(objective: Objective, age: torch.Tensor) -> torch.Tensor:
    """The head output of a network that is certain of the true age, for the objective's head kind."""
    builders: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "distribution": lambda y: 40.0 * labels.one_hot_distribution(y, SUPPORT),  # (B, K) peaked logits
        "scalar": lambda y: ((y - (SUPPORT[0] + SUPPORT[-1]) / 2) / ((SUPPORT[-1] - SUPPORT[0]) / 2)).reshape(-1, 1),
        "ranking": lambda y: 40.0 * (2 * labels.ranking_targets(y, SUPPORT) - 1),  # (B, K-1) certain answers
    }
    return builders[objective.head](age)


def batch(b: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    age = torch.tensor([1.0, 1.0, 23.0, 23.0, 58.0, 90.0])[:b]
    sigma = 1.0 + 3.0 * torch.rand(b, generator=g)
    return age, sigma


def test_the_registry_holds_every_seed_objective_and_builds_them_with_lam():
    assert set(OBJECTIVES) >= SEED_OBJECTIVES
    for name in NAMES:
        objective = get_objective(name, lam=0.5)  # the trainer's call
        assert objective.name == name and objective.lam == 0.5
        assert objective.head in {"distribution", "scalar", "ranking"}


@pytest.mark.parametrize("name", NAMES)
def test_network_head_loss_and_readout_shapes_with_finite_gradients(name):
    torch.manual_seed(0)
    objective = get_objective(name)
    model = create_model("tiny", max_age=116, num_bins=K, head=objective.head)
    images = torch.randn(6, 3, 32, 32)
    age, sigma = batch()
    features = model.forward_features(images)  # (B, C)
    output = model.forward_head(features)
    assert output.shape == (6, head_outputs(ModelConfig(num_bins=K, head=objective.head)))
    terms = objective.loss(output, age, sigma, model.support, features)
    assert "total" in terms and all(t.ndim == 0 and torch.isfinite(t) for t in terms.values())
    terms["total"].backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    read = objective.readout(output.detach(), model.support)
    assert read.age.shape == (6,) and torch.isfinite(read.age).all()
    if objective.has_distribution:
        assert read.distribution is not None and read.distribution.shape == (6, K)
        assert (read.distribution >= 0).all()
        assert torch.allclose(read.distribution.sum(1), torch.ones(6), atol=1e-5)
        assert torch.allclose(labels.expectation(read.distribution, model.support), read.age, atol=1e-3)
    else:
        assert read.distribution is None


@pytest.mark.parametrize("name", NAMES)
def test_readout_of_a_perfect_prediction_is_the_true_age(name):
    objective = get_objective(name)
    age = torch.tensor([0.0, 1.0, 23.0, 57.0, 99.0, 116.0])
    read = objective.readout(perfect_output(objective, age), SUPPORT)
    assert torch.allclose(read.age, age, atol=1e-3)
    if read.distribution is not None:
        assert torch.equal(read.distribution.argmax(1), age.long())


@pytest.mark.parametrize("name", NAMES)
def test_flip_averaged_estimate_is_the_mean_of_the_two_ages(name):
    """With test-time augmentation ``estimate`` averages distributions where there are some; the age must agree."""
    torch.manual_seed(1)
    objective = get_objective(name)
    model = create_model("tiny", max_age=116, num_bins=K, head=objective.head).eval()
    faces = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    est = estimate(model, faces, Preprocess(input_size=32), objective, tta=True, amp=False)
    assert torch.allclose(est.age, (est.age_original + est.age_mirrored) / 2, atol=1e-3)
    assert (est.distribution is None) == (not objective.has_distribution)


def test_every_objective_says_where_its_distribution_comes_from():
    for name in NAMES:
        note = distribution_note(name)
        assert note and note.split(":")[0] in {"Predicted", "Derived", "None"}
    assert not get_objective("mr").has_distribution and distribution_note("mr").startswith("None")
    assert distribution_note("ranking").startswith("Derived")


def test_mr_is_l1_in_years_and_reads_out_clipped():
    mr = get_objective("mr")
    age = torch.tensor([20.0, 40.0])
    out = perfect_output(mr, age) + 0.1  # 0.1 x half range = 5.8 years too old
    assert mr.loss(out, age, torch.ones(2), SUPPORT)["total"].item() == pytest.approx(5.8, abs=1e-4)
    assert mr.readout(torch.tensor([[3.0], [-3.0]]), SUPPORT).age.tolist() == [116.0, 0.0]


def test_dex_and_mean_variance_losses():
    torch.manual_seed(0)
    out = torch.randn(4, K)
    age = torch.tensor([5.0, 30.0, 31.0, 80.0])
    log_p = F.log_softmax(out, 1)
    ce = F.cross_entropy(out, age.long())
    assert get_objective("dex").loss(out, age, torch.ones(4), SUPPORT)["total"].item() == pytest.approx(ce.item(),
                                                                                                          rel=1e-5)
    p = log_p.exp()
    mean = labels.expectation(p, SUPPORT)
    var = (p * (SUPPORT - mean[:, None]) ** 2).sum(1)
    want = ce + 0.2 * ((mean - age) ** 2).mean() / 2 + 0.05 * var.mean()
    terms = get_objective("mean_variance").loss(out, age, torch.ones(4), SUPPORT)
    assert terms["total"].item() == pytest.approx(want.item(), rel=1e-5)


def test_ranking_loss_is_summed_bce_to_the_binary_targets_and_small_when_perfect():
    ranking = get_objective("ranking")
    age = torch.tensor([10.0, 64.0])
    out = torch.zeros(2, K - 1)
    assert ranking.loss(out, age, torch.ones(2), SUPPORT)["total"].item() == pytest.approx((K - 1) * np.log(2),
                                                                                            rel=1e-5)
    assert ranking.loss(perfect_output(ranking, age), age, torch.ones(2), SUPPORT)["total"].item() < 1e-12


def _pava_non_increasing(y: np.ndarray) -> np.ndarray:
    blocks: list[list[float]] = []
    for v in y:
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            v2, n2 = blocks.pop()
            v1, n1 = blocks.pop()
            blocks.append([(v1 * n1 + v2 * n2) / (n1 + n2), n1 + n2])
    return np.concatenate([[v] * int(n) for v, n in blocks])


def test_monotone_ranking_is_the_isotonic_fit_and_keeps_the_ranking_age():
    torch.manual_seed(0)
    r = torch.rand(20, K - 1)
    m = labels.monotone_ranking(r)
    want = np.stack([_pava_non_increasing(row) for row in r.double().numpy()])
    assert np.allclose(m.double().numpy(), want, atol=1e-6)
    assert (m[:, 1:] <= m[:, :-1]).all() and (m >= 0).all() and (m <= 1).all()
    p = labels.distribution_from_ranking(r)
    assert (p >= 0).all() and torch.allclose(p.sum(1), torch.ones(20), atol=1e-5)
    assert torch.allclose(labels.expectation(p, SUPPORT), labels.ranking_expectation(r, SUPPORT), atol=1e-3)


# --- DLDL-v2's analysis: ranking is learning a label distribution ---------------------------------------------


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0, 4.0])
@pytest.mark.parametrize("y", [8.0, 30.0, 55.5, 90.0])
def test_ranking_targets_of_a_gaussian_label_distribution_are_one_minus_its_cdf(y, sigma):
    support = SUPPORT.double()
    p = labels.gaussian_label_distribution(torch.tensor([y], dtype=torch.float64), support, sigma)  # (1, K)
    one_minus_cdf = 1 - p.cumsum(1)[:, :-1]  # (1, K-1)
    # The ranking targets [age > l_k] averaged over ages drawn from p: exactly 1 - CDF of p.
    hard = labels.ranking_targets(support, support)  # (K, K-1): row j is [l_j > l_k]
    assert torch.allclose(p @ hard, one_minus_cdf, atol=1e-12)
    assert torch.allclose(labels.ranking_from_distribution(p), one_minus_cdf, atol=1e-12)
    # A ranker minimising the expected binary cross-entropy under p lands on 1 - CDF (zero gradient there).
    logits = torch.logit(one_minus_cdf.clamp(1e-12, 1 - 1e-12)).requires_grad_(True)
    bce = F.binary_cross_entropy_with_logits(logits.expand(K, -1), hard, reduction="none")  # (K ages, K-1 tasks)
    (p[0] @ bce).sum().backward()  # expected over the age y ~ p
    assert logits.grad.abs().max().item() < 1e-9
    # The relationship is linear and invertible: the distribution comes back from the ranking encoding, and the
    # ranking read-out is the distribution's mean.
    assert torch.allclose(labels.distribution_from_ranking(one_minus_cdf), p, atol=1e-9)
    assert labels.ranking_expectation(one_minus_cdf, support).item() == pytest.approx(
        labels.expectation(p, support).item(), abs=1e-9)
    # Away from the edges 1 - CDF is the normal survival function at the bin's upper edge, up to discretisation
    # (about 0.01 at sigma = 1, less for wider distributions).
    if 4 * sigma < y < 116 - 4 * sigma:
        normal = torch.distributions.Normal(torch.tensor(y, dtype=torch.float64), sigma)
        survival = 1 - normal.cdf(support[:-1] + 0.5)
        assert torch.allclose(one_minus_cdf[0], survival, atol=0.015)


def test_a_narrow_gaussian_gives_the_hard_ranking_targets():
    age = torch.tensor([42.0])
    p = labels.gaussian_label_distribution(age, SUPPORT, 0.05)
    assert torch.allclose(labels.ranking_from_distribution(p), labels.ranking_targets(age, SUPPORT), atol=1e-6)


# --- SADAL --------------------------------------------------------------------------------------------------


def test_similarity_aware_weight_q():
    gaps = torch.arange(0.0, 60.0, 0.5)
    q = labels.similarity_aware_weight(torch.zeros_like(gaps), gaps, interval=10.0, eps=1.0)
    assert q[0].item() == 0
    assert (q[1:] > q[:-1]).all()  # a larger gap weighs more
    assert q[gaps == 5].item() == pytest.approx(np.log(1 + 5) / 10)
    c = 1 - np.log(11) / 10
    assert q[gaps == 30].item() == pytest.approx(30 / 10 - c)
    at_l = labels.similarity_aware_weight(torch.tensor(0.0), torch.tensor([10.0, 10.0 + 1e-4]), 10.0, 1.0)
    assert (at_l[1] - at_l[0]).abs().item() < 1e-3  # continuous at L with the default C
    assert torch.equal(labels.similarity_aware_weight(torch.tensor(40.0), torch.tensor(20.0)),
                       labels.similarity_aware_weight(torch.tensor(20.0), torch.tensor(40.0)))
    explicit = labels.similarity_aware_weight(torch.tensor(0.0), torch.tensor(30.0), offset=0.5)
    assert explicit.item() == pytest.approx(2.5)


def test_sadal_metric_term_pulls_same_ages_together_and_spreads_by_age_gap():
    sadal = get_objective("sadal")
    age = torch.tensor([20.0, 20.0, 70.0, 70.0])
    e0, e1 = torch.eye(8)[0], torch.eye(8)[1]
    arranged = torch.stack([e0, e0, e1, e1])  # same ages coincide, 50 years apart are orthogonal
    collapsed = torch.stack([e0, e0, e0, e0])
    pos, neg = sadal.metric_terms(arranged, age)
    assert pos.item() == pytest.approx(0, abs=1e-6)
    assert neg.item() < sadal.metric_terms(collapsed, age)[1].item()
    features = torch.randn(4, 8, requires_grad=True)
    terms = sadal.loss(torch.randn(4, K), age, torch.full((4,), 2.0), SUPPORT, features)
    dldl_v2 = get_objective("dldl_v2").loss(torch.randn(4, K), age, torch.full((4,), 2.0), SUPPORT)
    assert {"kl", "l1", "metric"} <= set(terms) and set(dldl_v2) <= set(terms)
    terms["total"].backward()
    assert torch.isfinite(features.grad).all() and features.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="pooled features"):
        sadal.loss(torch.randn(4, K), age, torch.full((4,), 2.0), SUPPORT, None)


# --- The trainer needs no change per objective ---------------------------------------------------------------


def test_every_objective_trains_saves_and_reloads_through_the_project_trainer(photo_folder, tmp_path):
    from dldl_core.models.weights import load_weights
    from dldl_core.training.trainer import TrainConfig, train

    folder, manifest = photo_folder
    faces = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    for name in NAMES:
        config = TrainConfig(data=str(folder), manifest=str(manifest), out=str(tmp_path / f"{name}.safetensors"),
                             objective=name, input_size=32, epochs=1, batch_size=3, warmup_epochs=0,
                             cache_dir=str(tmp_path / "cache"), progress=False, amp=False)
        weights = load_weights(train(config))
        assert weights.objective == name and weights.model.config.head == get_objective(name).head
        est = estimate(weights.model, faces, weights.preprocess, weights.objective, amp=False)
        assert est.age.shape == (2,) and (est.distribution is None) == (name == "mr")
