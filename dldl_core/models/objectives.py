"""Training objectives behind a small registry.

Each objective owns its head kind (how many outputs the network needs), its loss, and its read-out
(how an age and, where it has one, a distribution over the support come out of the head).
A new objective registers itself with ``@register("name")`` and the trainer never changes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dldl_core.maths import labels


@dataclass(frozen=True)
class Readout:
    """What an objective reads out of the head output."""

    age: torch.Tensor  # (B,) estimated ages
    distribution: torch.Tensor | None  # (B, K) probabilities over the support, or None for objectives without one


class Objective:
    """Base class: a loss on the head output and a read-out of age and distribution."""

    name: str = ""
    head: str = "distribution"  # head kind the model must have
    has_distribution: bool = True

    def __init__(self, lam: float = 1.0, **_: object) -> None:
        self.lam = lam  # weight of the expectation L1 term where the objective has one

    def loss(self, output: torch.Tensor, age: torch.Tensor, sigma: torch.Tensor, support: torch.Tensor,
             features: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Return the named loss terms (means over the batch); ``total`` is optimised."""
        raise NotImplementedError

    def readout(self, output: torch.Tensor, support: torch.Tensor) -> Readout:
        probs = torch.softmax(output.float(), dim=1)
        return Readout(labels.expectation(probs, support), probs)


OBJECTIVES: dict[str, Callable[..., Objective]] = {}


def register(name: str) -> Callable[[type[Objective]], type[Objective]]:
    def wrap(cls: type[Objective]) -> type[Objective]:
        cls.name = name
        OBJECTIVES[name] = cls
        return cls
    return wrap


def get_objective(name: str, **kwargs: object) -> Objective:
    """Build a registered objective by name."""
    try:
        return OBJECTIVES[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; choose one of {sorted(OBJECTIVES)}") from None


def _kl_and_expectation(output: torch.Tensor, age: torch.Tensor, sigma: torch.Tensor, support: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    log_p = F.log_softmax(output.float(), dim=1)  # (B, K)
    target = labels.gaussian_label_distribution(age, support, sigma)  # (B, K)
    kl = labels.kl_divergence(target, log_p).mean()
    l1 = (labels.expectation(log_p.exp(), support) - age).abs().mean()
    return kl, l1


@register("dldl")
class DLDL(Objective):
    """KL(p || p_hat) to a Gaussian label distribution only (Gao et al., TIP 2017)."""

    def loss(self, output, age, sigma, support, features=None):
        kl, l1 = _kl_and_expectation(output, age, sigma, support)
        return {"total": kl, "kl": kl, "l1": l1.detach()}


@register("dldl_v2")
class DLDLv2(Objective):
    """KL(p || p_hat) + lambda * |E[p_hat] - y| (DLDL-v2, lambda = 1)."""

    def loss(self, output, age, sigma, support, features=None):
        kl, l1 = _kl_and_expectation(output, age, sigma, support)
        return {"total": kl + self.lam * l1, "kl": kl, "l1": l1}


# --- The related objectives of the seeds, side by side with DLDL and DLDL-v2 ---
#
# Every objective states where its distribution comes from in ``distribution_note`` (one line for a user interface);
# :func:`distribution_note` also answers for the objectives above, whose distribution is the predicted softmax.

PREDICTED_NOTE = "Predicted: the softmax over the K age bins, which the loss trains directly."


def distribution_note(objective: Objective | str) -> str:
    """One line saying where an objective's distribution comes from, or that it has none."""
    objective = get_objective(objective) if isinstance(objective, str) else objective
    return getattr(objective, "distribution_note", PREDICTED_NOTE)


def _support_centre_and_half_range(support: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lo, hi = support[0], support[-1]
    return (lo + hi) / 2, (hi - lo) / 2


@register("mr")
class MetricRegression(Objective):
    """Metric regression (MR, Ranjan et al., FG 2017): one output, L1 to the age.

    The scalar head predicts the age normalised to [-1, 1] over the support (age = centre + half range x output),
    so a freshly initialised head starts mid-range instead of at 0 years; the loss is |age_hat - y| in years.
    The read-out clips to the support. MR has no distribution: it predicts a single value.
    """

    head = "scalar"
    has_distribution = False
    distribution_note = "None: metric regression predicts a single age, so there is no distribution to show."

    def _age(self, output: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        centre, half = _support_centre_and_half_range(support.to(output.dtype))
        return centre + half * output.reshape(output.shape[0], -1)[:, 0]  # (B, 1) -> (B,)

    def loss(self, output, age, sigma, support, features=None):
        l1 = (self._age(output.float(), support) - age).abs().mean()
        return {"total": l1, "l1": l1}

    def readout(self, output, support):
        age = self._age(output.float(), support).clamp(float(support[0]), float(support[-1]))
        return Readout(age, None)


@register("dex")
class DEX(Objective):
    """DEX (Rothe et al., IJCV 2016): cross-entropy to a one-hot label on the nearest bin; the expectation at test.

    ``lam`` is not used.
    """

    distribution_note = "Predicted: the softmax over the K age bins, trained as a one-hot classification."

    def loss(self, output, age, sigma, support, features=None):
        log_p = F.log_softmax(output.float(), dim=1)  # (B, K)
        ce = labels.cross_entropy(labels.one_hot_distribution(age, support), log_p).mean()
        l1 = (labels.expectation(log_p.exp(), support) - age).abs().mean()
        return {"total": ce, "ce": ce, "l1": l1.detach()}


@register("ranking")
class Ranking(Objective):
    """Ranking (OR-CNN, Niu et al. 2016; Ranking-CNN, Chen et al. 2017): K-1 binary outputs "age > l_k".

    Loss: binary cross-entropy to the targets [y > l_k], summed over the K-1 tasks and averaged over the batch.
    Read-out: age = l_0 + bin width x sum_k sigmoid(output_k), the ranking rule. The exported distribution is derived,
    not predicted: the K-1 probabilities are made non-increasing by isotonic regression (which keeps their sum) and
    differenced into p_k = P(age > l_{k-1}) - P(age > l_k); its expectation equals the read-out age, so the
    flip-averaged age of test-time augmentation agrees with the averaged distribution.
    """

    head = "ranking"
    distribution_note = ("Derived: differences of the K-1 ranking probabilities P(age > l_k), made monotone "
                         "(1 - CDF); the network predicts no distribution itself.")

    def loss(self, output, age, sigma, support, features=None):
        output = output.float()
        target = labels.ranking_targets(age, support)  # (B, K-1)
        bce = F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(1).mean()
        l1 = (labels.ranking_expectation(torch.sigmoid(output), support) - age).abs().mean()
        return {"total": bce, "bce": bce, "l1": l1.detach()}

    def readout(self, output, support):
        probs = torch.sigmoid(output.float())  # (B, K-1)
        return Readout(labels.ranking_expectation(probs, support), labels.distribution_from_ranking(probs))


@register("mean_variance")
class MeanVariance(Objective):
    """Mean-Variance loss (Pan et al., CVPR 2018): CE + lambda_1 (m - y)^2 / 2 + lambda_2 variance.

    The softmax cross-entropy is to a one-hot label; m and the variance are the mean and variance of the predicted
    distribution; lambda_1 = 0.2 and lambda_2 = 0.05 as in the paper. The read-out is the expectation.
    ``lam`` is not used.
    """

    distribution_note = ("Predicted: the softmax over the K age bins, trained by one-hot cross-entropy with "
                         "penalties on its mean error and its variance.")

    def __init__(self, lam: float = 1.0, mean_weight: float = 0.2, variance_weight: float = 0.05, **_: object
                 ) -> None:
        super().__init__(lam)
        self.mean_weight = mean_weight  # lambda_1 of Pan et al.
        self.variance_weight = variance_weight  # lambda_2 of Pan et al.

    def loss(self, output, age, sigma, support, features=None):
        log_p = F.log_softmax(output.float(), dim=1)  # (B, K)
        probs = log_p.exp()
        ce = labels.cross_entropy(labels.one_hot_distribution(age, support), log_p).mean()
        mean_error = labels.expectation(probs, support) - age
        mean = (mean_error**2).mean() / 2
        var = labels.variance(probs, support).mean()
        total = ce + self.mean_weight * mean + self.variance_weight * var
        return {"total": total, "ce": ce, "mean": mean, "variance": var, "l1": mean_error.abs().mean().detach()}


@register("sadal")
class SADAL(DLDLv2):
    """DLDL-v2 plus a similarity-aware metric-learning term on the pooled features (after SADAL, seed 002).

    Built here: the discriminator side of SADAL on the real pairs of each batch. Features are L2-normalised and
    d_mn is the Euclidean distance between them. Same-age pairs are pulled together (d^2); pairs of different ages
    are pushed apart with a squared hinge max(0, tau Q(y_m, y_n) - d_mn)^2, where Q is the seed's
    similarity-aware weight (:func:`dldl_core.maths.labels.similarity_aware_weight`). Q scales the margin, so the
    separation a pair must keep grows with its age gap, slowly within L years and linearly beyond: the seed's stated
    intent (a larger gap weighs more). The product d Q inside the hinge, as the seed's formula is transcribed,
    would ask the most separation of the smallest gaps, so it is not used literally.
    Not built: the hard-negative generator and its adversarial game; negatives are the batch's real samples only.

    The term needs the pooled features, which the trainer passes in single-process training only.
    Loss: KL + lam x L1 (as DLDL-v2) + metric_weight x (positive term + negative term).
    """

    distribution_note = ("Predicted: the softmax over the K age bins, trained as DLDL-v2 with a similarity-aware "
                         "metric term on the features.")

    def __init__(self, lam: float = 1.0, metric_weight: float = 1.0, tau: float = 0.25, interval: float = 10.0,
                 eps: float = 1.0, offset: float | None = None, **_: object) -> None:
        super().__init__(lam)
        self.metric_weight = metric_weight  # weight of the metric-learning term
        self.tau = tau  # margin per unit of Q, on unit-norm features (distances in [0, 2])
        self.interval, self.eps, self.offset = interval, eps, offset  # L, epsilon and C of Q

    def metric_terms(self, features: torch.Tensor, age: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C) features, (B,) ages -> (positive term, negative term), each a mean over its pairs (0 if none)."""
        z = F.normalize(features.float().flatten(1), dim=1)  # (B, C)
        d2 = (2 - 2 * z @ z.T).clamp_min(0)  # (B, B) squared distances on the unit sphere
        gap = (age.reshape(-1, 1) - age.reshape(1, -1)).abs()  # (B, B)
        off_diagonal = ~torch.eye(len(age), dtype=torch.bool, device=age.device)
        positive = (gap < 0.5) & off_diagonal
        negative = gap >= 0.5
        zero = d2.new_zeros(())
        pos = d2[positive].mean() if positive.any() else zero
        if not negative.any():
            return pos, zero
        q = labels.similarity_aware_weight(age.reshape(-1, 1), age.reshape(1, -1), self.interval, self.eps,
                                           self.offset)  # (B, B)
        d = d2[negative].clamp_min(1e-12).sqrt()
        neg = (self.tau * q[negative].to(d.dtype) - d).clamp_min(0).pow(2).mean()
        return pos, neg

    def loss(self, output, age, sigma, support, features=None):
        if features is None:
            raise ValueError("sadal needs the pooled features; the trainer passes them in single-process training "
                             "only, so train sadal without torchrun")
        terms = super().loss(output, age, sigma, support)
        pos, neg = self.metric_terms(features, age)
        metric = pos + neg
        terms.update(total=terms["total"] + self.metric_weight * metric, metric=metric, metric_pos=pos,
                     metric_neg=neg)
        return terms
