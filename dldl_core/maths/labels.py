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


def variance(probs: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B,) sum_k p_k (l_k - mean)^2, smooth everywhere (the Mean-Variance loss penalises it)."""
    mean = expectation(probs, support).unsqueeze(1)  # (B, 1)
    return (probs * (support.to(probs.dtype) - mean) ** 2).sum(1)


def standard_deviation(probs: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B,) sqrt(variance)."""
    return variance(probs, support).clamp_min(0).sqrt()


def cdf(probs: torch.Tensor) -> torch.Tensor:
    """(B, K) -> (B, K) P(age <= l_k)."""
    return probs.cumsum(dim=1).clamp(0, 1)


def bin_edges(support: torch.Tensor) -> torch.Tensor:
    """(K,) ages -> (K+1,) the edges of their bins: halfway between neighbours, the outer ones half a step out."""
    if len(support) < 2:
        return torch.cat([support, support])
    inner = (support[1:] + support[:-1]) / 2
    return torch.cat([support[:1] - (inner[0] - support[0]), inner, support[-1:] + (support[-1] - inner[-1])])


def quantile(probs: torch.Tensor, support: torch.Tensor, q: float) -> torch.Tensor:
    """(B, K) -> (B,) the q-quantile, each p_k spread evenly over the bin around l_k (``bin_edges``), so the
    quantiles agree with the expectation (a point mass at 30 has median 30); kept inside the support."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    c = torch.nn.functional.pad(cdf(probs.double()), (1, 0))  # (B, K+1): the CDF at each bin edge, a leading 0
    s = bin_edges(support.double())  # (K+1,)
    target = torch.full((c.shape[0], 1), q, dtype=c.dtype)
    hi = torch.searchsorted(c.contiguous(), target).clamp(1, len(s) - 1)  # (B, 1)
    lo = hi - 1
    c_lo, c_hi = c.gather(1, lo), c.gather(1, hi)
    frac = ((target - c_lo) / (c_hi - c_lo).clamp_min(1e-12)).clamp(0, 1)
    value = (s[lo] + frac * (s[hi] - s[lo])).squeeze(1)
    return value.clamp(float(support.min()), float(support.max())).to(probs.dtype)


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
    """(B, K), (B, K) -> (B,) KL(target || pred); bins where the target is 0 contribute 0 (0 log 0 = 0)."""
    terms = target * (target.clamp_min(1e-30).log() - log_pred)
    return torch.where(target > 0, terms, torch.zeros_like(terms)).sum(1)


def cross_entropy(target: torch.Tensor, log_pred: torch.Tensor) -> torch.Tensor:
    """(B, K), (B, K) -> (B,) -sum_k target_k log pred_k over the bins where the target is positive."""
    terms = -target * log_pred
    return torch.where(target > 0, terms, torch.zeros_like(terms)).sum(1)


# --- Targets and read-outs of the related objectives (MR, DEX, ranking, Mean-Variance, SADAL) ---


def one_hot_distribution(age: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, K) all the mass on the bin nearest to each age (the DEX classification target)."""
    age = torch.as_tensor(age, dtype=support.dtype).reshape(-1, 1)  # (B, 1)
    index = (support.reshape(1, -1) - age).abs().argmin(dim=1)  # (B,)
    return torch.nn.functional.one_hot(index, support.numel()).to(support.dtype)


def ranking_expectation(rank_probs: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """(B, K-1) P(age > l_k) -> (B,) the ranking read-out l_0 + sum_k P(age > l_k) (l_{k+1} - l_k).

    On an evenly spaced support this is the OR-CNN / Ranking-CNN rule "minimum age + bin width x the sum of the
    K-1 probabilities", and it equals the expectation of any distribution whose 1 - CDF is ``rank_probs``.
    """
    steps = (support[1:] - support[:-1]).to(rank_probs.dtype)  # (K-1,)
    return support[0].to(rank_probs.dtype) + rank_probs @ steps


def monotone_ranking(rank_probs: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """(B, K-1) -> (B, K-1) the closest non-increasing sequence in the least-squares sense (isotonic regression).

    K-1 independent binary outputs need not be ordered, so P(age > l_k) can rise with k, which no distribution
    allows. The least-squares projection onto non-increasing sequences keeps each sequence's sum (every pooled block
    takes its mean), so :func:`ranking_expectation` is unchanged on an evenly spaced support, and it stays in [0, 1].
    Computed with the min-max formula f_i = min_{j <= i} max_{k >= i} mean(r_j..r_k), batched, in float64.
    """
    if rank_probs.ndim != 2:
        raise ValueError(f"expected (B, K-1) ranking probabilities, got shape {tuple(rank_probs.shape)}")
    n = rank_probs.shape[1]
    idx = torch.arange(n, device=rank_probs.device)
    length = (idx.reshape(1, -1) - idx.reshape(-1, 1) + 1).double()  # (j, k) -> k - j + 1
    upper = idx.reshape(1, -1) >= idx.reshape(-1, 1)  # (j, k): k >= j
    out = []
    for part in rank_probs.double().split(chunk):
        prefix = torch.nn.functional.pad(part.cumsum(1), (1, 0))  # (b, n+1)
        means = (prefix[:, None, 1:] - prefix[:, :-1, None]) / length.clamp_min(1)  # (b, j, k) mean of r_j..r_k
        means = means.masked_fill(~upper, -torch.inf)
        tail_max = means.flip(2).cummax(2).values.flip(2)  # (b, j, i) max over k >= i
        tail_max = tail_max.masked_fill(~upper, torch.inf)  # keep j <= i only
        out.append(tail_max.min(1).values)  # (b, i)
    return torch.cat(out).clamp(0, 1).to(rank_probs.dtype)


def distribution_from_ranking(rank_probs: torch.Tensor) -> torch.Tensor:
    """(B, K-1) P(age > l_k) -> (B, K) the distribution whose 1 - CDF they are, after :func:`monotone_ranking`.

    p_0 = 1 - r_0, p_k = r_{k-1} - r_k, p_{K-1} = r_{K-2}: the inverse of :func:`ranking_from_distribution`, so a
    ranking head exports a distribution derived from its probabilities rather than one it was trained to predict.
    """
    r = monotone_ranking(rank_probs)
    ones = torch.ones_like(r[:, :1])
    surv = torch.cat([ones, r, torch.zeros_like(ones)], dim=1)  # (B, K+1): P(age > l_{k-1}), with l_{-1} = -inf
    return (surv[:, :-1] - surv[:, 1:]).clamp_min(0)


def similarity_aware_weight(age_m: torch.Tensor, age_n: torch.Tensor, interval: float = 10.0, eps: float = 1.0,
                            offset: float | None = None) -> torch.Tensor:
    """SADAL's similarity-aware pair weight Q(y_m, y_n), elementwise (broadcasting).

    Q = (1 / L) ln(1 + |y_n - y_m| / eps) where |y_m - y_n| <= L, else |y_n - y_m| / L - C: a slowly growing weight
    for small age gaps and a linear one beyond the interval L. The seed gives the form but not the constants;
    ``offset`` C defaults to the value that makes Q continuous at the gap L, C = 1 - ln(1 + L / eps) / L.

    Args:
        age_m: ages y_m.
        age_n: ages y_n.
        interval: L, in years.
        eps: epsilon, in years.
        offset: C; None for the continuous choice.
    """
    if interval <= 0 or eps <= 0:
        raise ValueError("the interval L and eps must be positive")
    c = 1.0 - torch.tensor(interval / eps, dtype=torch.float64).log1p().item() / interval if offset is None else offset
    gap = (torch.as_tensor(age_n) - torch.as_tensor(age_m)).abs()
    return torch.where(gap <= interval, torch.log1p(gap / eps) / interval, gap / interval - c)
