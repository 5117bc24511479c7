"""Label distributions and their statistics: pure tensor functions, no state.

Notation follows DLDL-v2: a support of K ages l_k, a label distribution p_k over it, and a predicted distribution
p_hat_k whose expectation sum_k p_hat_k l_k is the estimated age.
"""
from __future__ import annotations

import torch


def age_support(min_age: float = 0.0, max_age: float = 100.0, num_bins: int = 101) -> torch.Tensor:
    """The K ages l_k the distributions live on, evenly spaced from ``min_age`` to ``max_age``."""
    if num_bins < 2 or max_age <= min_age:
        raise ValueError("the age support needs at least 2 bins and max_age > min_age")
    return torch.linspace(min_age, max_age, num_bins)


def gaussian_label_distribution(age: torch.Tensor, support: torch.Tensor, sigma: torch.Tensor | float = 2.0
                                ) -> torch.Tensor:
    """p_k = exp(-(l_k - y)^2 / 2 sigma^2), normalised over the support.

    Args:
        age: (B,) true ages y.
        support: (K,) ages l_k.
        sigma: scalar or (B,) per-sample standard deviation.

    Returns:
        (B, K) distributions that sum to 1.
    """
    age = torch.as_tensor(age, dtype=support.dtype).reshape(-1, 1)  # (B, 1)
    sigma = torch.as_tensor(sigma, dtype=support.dtype).reshape(-1, 1).clamp_min(1e-3)  # (B or 1, 1)
    log_p = -((support.reshape(1, -1) - age) ** 2) / (2 * sigma**2)  # (B, K)
    return torch.softmax(log_p, dim=1)


def expectation(probs: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B,) the mean sum_k p_k l_k."""
    return probs @ support.to(probs.dtype)


def standard_deviation(probs: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B,) sqrt(sum_k p_k (l_k - mean)^2)."""
    mean = expectation(probs, support).unsqueeze(1)
    return (probs * (support.to(probs.dtype) - mean) ** 2).sum(1).clamp_min(0).sqrt()


def cdf(probs: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B, K) P(age <= l_k)."""
    return probs.cumsum(dim=1).clamp(0, 1)


def quantile(probs: torch.Tensor, support: torch.Tensor, q: float) -> torch.Tensor:
    """(B, K) -> (B,) the q-quantile, linear between the points (l_k, CDF_k) and starting at (l_0, 0)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    c = torch.nn.functional.pad(cdf(probs.double()), (1, 0))  # (B, K+1), a leading 0
    s = torch.cat([support[:1], support]).double()  # (K+1,)
    target = torch.full((c.shape[0], 1), q, dtype=c.dtype)
    hi = torch.searchsorted(c.contiguous(), target).clamp(1, len(s) - 1)  # (B, 1)
    lo = hi - 1
    c_lo, c_hi = c.gather(1, lo), c.gather(1, hi)
    frac = ((target - c_lo) / (c_hi - c_lo).clamp_min(1e-12)).clamp(0, 1)
    return (s[lo] + frac * (s[hi] - s[lo])).squeeze(1).to(probs.dtype)


def interval(probs: torch.Tensor, support: torch.Tensor, mass: float = 0.9) -> torch.Tensor:
    """(B, K) -> (B, 2) the central interval holding ``mass`` of the distribution."""
    tail = (1.0 - mass) / 2
    return torch.stack([quantile(probs, support, tail), quantile(probs, support, 1 - tail)], dim=1)


def ranking_targets(age: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, K-1) the K-1 binary ranking targets [y > l_k] for k = 1..K-1 (OR-CNN / Ranking-CNN)."""
    return (age.reshape(-1, 1).to(support.dtype) > support[:-1].reshape(1, -1)).to(support.dtype)


def ranking_from_distribution(probs: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B, K-1) P(age > l_k) = 1 - CDF_k for k = 1..K-1: the ranking encoding of a distribution."""
    return (1.0 - cdf(probs))[:, :-1]


def kl_divergence(target: torch.Tensor, log_pred: torch.Tensor) -> torch.Tensor:
    """(B, K), (B, K) -> (B,) KL(target || pred) with the 0 log 0 = 0 convention."""
    t_log_t = torch.where(target > 0, target * target.clamp_min(1e-30).log(), torch.zeros_like(target))
    return (t_log_t - target * log_pred).sum(1)


def cross_entropy(target: torch.Tensor, log_pred: torch.Tensor) -> torch.Tensor:
    """(B, K), (B, K) -> (B,) -sum_k target_k log pred_k."""
    return -(target * log_pred).sum(1)
