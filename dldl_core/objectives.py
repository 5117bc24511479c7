"""Training objectives behind a small registry.

Each objective owns its head kind (how many outputs the network needs), its loss, and its read-out
(how an age and, where it has one, a distribution over the support come out of the head).
A new objective registers itself with ``@register("name")`` and the trainer never changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from dldl_core import labels


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
