"""The maths of the Learn page: the truncated Gaussian label distribution, the ranking encoding, and the loss terms
of an editable prediction with their gradients.

The formulas live in ``dldl_core.maths.labels``; this module only arranges them for teaching. (The short training
that compares the objectives is dldl_core.ui.head_training.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dldl_core.maths import labels

# The page's equations in LaTeX, in the notation of dldl_core.maths.labels.
FORMULAS: dict[str, str] = {
    "label": (r"p_k = \frac{\exp\left(-\frac{(l_k - y)^2}{2\sigma^2}\right)}"
              r"{\sum_{j=0}^{K-1} \exp\left(-\frac{(l_j - y)^2}{2\sigma^2}\right)}, \qquad k = 0, \dots, K-1"),
    "ranking": (r"P(\text{age} > l_k) = 1 - \mathrm{CDF}_k = \sum_{j > k} p_j, \qquad "
                r"\mathbb{E}[p] = l_0 + \sum_{k=0}^{K-2} \left(1 - \mathrm{CDF}_k\right)\left(l_{k+1} - l_k\right)"),
    "expectation": r"\hat p_k = \mathrm{softmax}(z)_k, \qquad \mathbb{E}[\hat p] = \sum_k \hat p_k\, l_k",
    "kl_l1": (r"\mathrm{KL}(p \,\|\, \hat p) = \sum_k p_k \log \frac{p_k}{\hat p_k}, \qquad "
              r"L_1 = \left|\mathbb{E}[\hat p] - y\right|"),
    "dldl_v2": r"L_{\text{DLDL-v2}} = \mathrm{KL}(p \,\|\, \hat p) + \lambda \left|\mathbb{E}[\hat p] - y\right|",
    "gradients": (r"\frac{\partial\, \mathrm{KL}}{\partial z_k} = \hat p_k - p_k, \qquad "
                  r"\frac{\partial L_1}{\partial z_k} = \operatorname{sign}\left(\mathbb{E}[\hat p] - y\right)\, "
                  r"\hat p_k \left(l_k - \mathbb{E}[\hat p]\right)"),
}
KINK = 1e-6  # years: an |E[p_hat] - y| below this counts as 0, L1's kink (float32 resolves ~4e-6 at age 30)


def editable_distribution(support: torch.Tensor, mean: float, std: float, second_mean: float | None = None,
                          second_weight: float = 0.0) -> torch.Tensor:
    """A predicted distribution a user can shape with four numbers: a Gaussian bump, optionally mixed with a
    second one (``second_weight`` in [0, 1]); bimodal shapes show how KL and the L1 of the expectation disagree.

    Returns:
        (K,) probabilities over ``support``.
    """
    first = labels.gaussian_label_distribution(torch.tensor([mean]), support, std)[0]
    if second_mean is None or second_weight <= 0:
        return first
    second = labels.gaussian_label_distribution(torch.tensor([second_mean]), support, std)[0]
    return (1 - second_weight) * first + second_weight * second


def label_means(support: torch.Tensor, sigma: float) -> np.ndarray:
    """(K,) the mean of the label distribution of every true age y = l_k of the support.

    The Gaussian is cut at both ends of the support and renormalised, so near the ends its mean moves inward:
    at y = l_0 it lies above y, at y = l_K-1 below it.
    """
    support = support.double()
    return labels.expectation(labels.gaussian_label_distribution(support, support, sigma), support).numpy()


@dataclass(frozen=True)
class RankingEncoding:
    """A true age as Ranking-CNN's K-1 binary targets and as 1 - CDF of its Gaussian label distribution."""

    thresholds: np.ndarray  # (K-1,) l_k for k = 0..K-2: "age > l_k"
    steps: np.ndarray  # (K-1,) [y > l_k]
    one_minus_cdf: np.ndarray  # (K-1,) P(age > l_k) under the Gaussian label distribution
    expectation: float  # E[p] = l_0 + sum_k (1 - CDF_k) (l_k+1 - l_k)


def ranking_encoding(age: float, sigma: float, support: torch.Tensor) -> RankingEncoding:
    """The ranking targets of ``age`` next to 1 - CDF of its label distribution."""
    support = support.double()
    target = labels.gaussian_label_distribution(torch.tensor([float(age)]), support, sigma)  # (1, K)
    rank = labels.ranking_from_distribution(target)  # (1, K-1)
    return RankingEncoding(support[:-1].numpy(), labels.ranking_targets(torch.tensor([float(age)]), support)[0].numpy(),
                           rank[0].numpy(), float(labels.ranking_expectation(rank, support)[0]))


@dataclass(frozen=True)
class LossTerms:
    """Values of the loss terms for one prediction, and each term's gradient at every bin."""

    kl: float
    l1: float  # |E[p_hat] - y|
    cross_entropy: float
    total: float  # KL + lambda * L1, the DLDL-v2 objective
    expectation: float
    median: float  # the 50 % quantile of p_hat: apart from the expectation when p_hat is skewed or has two humps
    gradients: dict[str, np.ndarray]  # term -> (K,)
    at_kink: bool  # E[p_hat] = y: L1's gradient is undefined there and is drawn as 0 (a subgradient)


def loss_terms(prediction: torch.Tensor, age: float, sigma: float, support: torch.Tensor, lam: float = 1.0
               ) -> LossTerms:
    """Loss terms of a predicted distribution against the Gaussian label distribution of ``age``, with their
    gradients w.r.t. the logits z (p_hat = softmax(z)): what the network's last layer receives, bounded by
    max |l_k - E| for L1 and by 1 for KL.

    Args:
        prediction: (K,) predicted probabilities p_hat (floored at 1e-12, as a softmax output never reaches 0).
        age: the true age y.
        sigma: std of the label distribution.
        support: (K,) ages l_k.
        lam: weight of the L1 term in the total.
    """
    support = support.double()
    target = labels.gaussian_label_distribution(torch.tensor([float(age)]), support, sigma)  # (1, K)
    logits = prediction.double().clamp_min(1e-12).log().reshape(1, -1).requires_grad_(True)  # (1, K)
    log_p = torch.log_softmax(logits, dim=1)
    error = labels.expectation(log_p.exp(), support)[0] - age
    values = {"KL": labels.kl_divergence(target, log_p)[0], "L1": error.abs(),
              "cross-entropy": labels.cross_entropy(target, log_p)[0]}
    gradients = {name: torch.autograd.grad(v, logits, retain_graph=True)[0][0].numpy() for name, v in values.items()}
    at_kink = abs(float(error.detach())) < KINK
    if at_kink:  # autograd would take the sign of a rounding error
        gradients["L1"] = np.zeros_like(gradients["L1"])
    gradients[f"KL + {lam:g} L1"] = gradients["KL"] + lam * gradients["L1"]
    kl, l1, ce = (float(v.detach()) for v in values.values())
    as_batch = prediction.double().reshape(1, -1)
    expectation = float(labels.expectation(as_batch, support)[0])
    median = float(labels.quantile(as_batch, support, 0.5)[0])
    return LossTerms(kl, l1, ce, kl + lam * l1, expectation, median, gradients, at_kink)


def probability_gradient_peak(prediction: torch.Tensor, age: float, sigma: float, support: torch.Tensor) -> float:
    """The largest |dKL / dp_hat_k| = p_k / p_hat_k: KL's gradient w.r.t. the probabilities themselves, unbounded
    where the prediction leaves a bin of the label nearly empty (the softmax never passes it on to the network)."""
    target = labels.gaussian_label_distribution(torch.tensor([float(age)]), support.double(), sigma)[0]
    return float((target / prediction.double().clamp_min(1e-12)).max())


def l1_note(terms: LossTerms) -> str | None:
    """One sentence where the L1 term's value and gradient seem to disagree (an error that rounds to 0.00)."""
    if terms.at_kink:
        return ("Here E[p_hat] = y (to a millionth of a year): L1 = |E - y| sits at its kink, where it has no gradient "
                "(any value between its two one-sided gradients is a subgradient, and autograd would take the sign of "
                "a rounding error), so the chart draws 0 for L1.")
    if terms.l1 < 0.005:
        return (f"L1 shows 0.00 but its gradient is not small: |E - y| = {terms.l1:.1e} years, and the gradient of "
                "|E - y| keeps its full size however small the error is; only its sign, that of E - y, flips as E "
                "crosses y.")
    return None


def loss_versus_sigma(prediction: torch.Tensor, age: float, support: torch.Tensor, sigmas: np.ndarray,
                      lam: float = 1.0) -> dict[str, np.ndarray]:
    """KL and the DLDL-v2 total of one prediction for every label std in ``sigmas``: a larger sigma asks for a
    wider prediction; L1 does not depend on sigma.

    Returns:
        ``{"KL": (S,), "total": (S,)}``.
    """
    support = support.double()
    ages = torch.full((len(sigmas),), float(age), dtype=torch.float64)
    targets = labels.gaussian_label_distribution(ages, support, torch.as_tensor(sigmas, dtype=torch.float64))
    log_p = prediction.double().clamp_min(1e-12).log().reshape(1, -1).expand_as(targets)  # (S, K)
    kl = labels.kl_divergence(targets, log_p).numpy()
    l1 = abs(float(labels.expectation(prediction.double().reshape(1, -1), support)[0]) - age)
    return {"KL": kl, "total": kl + lam * l1}
