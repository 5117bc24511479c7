"""CAM targets: small callables from the network's logits to the scalar an explanation is about.

Each target takes logits of shape (K,) or (B, K) and returns a scalar or (B,), the way pytorch-grad-cam calls
its targets. ``parse_target`` turns a user's spec into one:

- ``expected`` / ``older``: the expected age sum_k p_k l_k (what pushes the estimate older);
- ``younger``: minus the expected age (what pushes it younger);
- ``bin:K``: log p_K, the log-probability of bin K (bin K is age K on a 0..K-1 year support);
- ``contrast:A,B``: log p(A) - log p(B), "why A and not B" for ages A and B (nearest bins);
- ``predicted``: log p of the bin nearest the face's own estimate (needs that estimate): what supports it.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

Target = Callable[[torch.Tensor], torch.Tensor]


def _as_batch(logits: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """(K,) or (B, K) -> (B, K) and whether the input was a single row."""
    single = logits.dim() == 1
    return (logits.unsqueeze(0) if single else logits).float(), single


class ExpectedAgeTarget:
    """``sign`` * sum_k softmax(z)_k l_k: +1 explains what makes the face look older, -1 younger."""

    def __init__(self, support: torch.Tensor, sign: float = 1.0) -> None:
        if sign not in (1.0, -1.0):
            raise ValueError(f"the sign of an expected-age target is +1 or -1, got {sign}")
        self.support = support.detach().float()
        self.sign = float(sign)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        z, single = _as_batch(logits)
        age = torch.softmax(z, dim=1) @ self.support.to(z.device)  # (B,)
        out = self.sign * age
        return out[0] if single else out

    def __repr__(self) -> str:
        return "expected" if self.sign > 0 else "younger"


class AgeBinTarget:
    """log p_k of one bin k of the support."""

    def __init__(self, k: int) -> None:
        self.k = int(k)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        z, single = _as_batch(logits)
        out = torch.log_softmax(z, dim=1)[:, self.k]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"bin:{self.k}"


class AgeContrastTarget:
    """log p_a - log p_b for bins a and b: the evidence for age a rather than age b."""

    def __init__(self, a: int, b: int) -> None:
        if a == b:
            raise ValueError("a contrast needs two different ages")
        self.a, self.b = int(a), int(b)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        z, single = _as_batch(logits)
        log_p = torch.log_softmax(z, dim=1)
        out = log_p[:, self.a] - log_p[:, self.b]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"contrast:{self.a},{self.b}"


def nearest_bin(age: float, support: torch.Tensor) -> int:
    """Index of the support point closest to ``age``; ages outside the support are an error."""
    lo, hi = float(support[0]), float(support[-1])
    if not lo <= age <= hi:
        raise ValueError(f"age {age:g} is outside the support {lo:g}..{hi:g}")
    return int(torch.argmin((support.float() - age).abs()))


def _number(text: str, spec: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"target {spec!r}: {text!r} is not a number") from None


def parse_target(spec: str | Target, support: torch.Tensor, age: float | None = None) -> Target:
    """A target from its spec (see the module docstring); a callable is returned unchanged.

    Args:
        spec: the spec or a target callable.
        support: the network's (K,) age support.
        age: the face's estimate, which ``predicted`` needs.
    """
    if callable(spec):
        return spec
    text = spec.strip().lower().replace(" ", "")
    if text == "predicted":
        if age is None:
            raise ValueError("target 'predicted' needs the face's estimate")
        return AgeBinTarget(nearest_bin(min(max(age, float(support[0])), float(support[-1])), support))
    if text in ("expected", "+expected", "older"):
        return ExpectedAgeTarget(support, +1.0)
    if text in ("-expected", "younger"):
        return ExpectedAgeTarget(support, -1.0)
    kind, _, rest = text.partition(":")
    if kind == "bin" and rest:
        value = _number(rest, spec)
        if value != int(value) or not 0 <= value < len(support):
            raise ValueError(f"target {spec!r}: the bin must be an integer in 0..{len(support) - 1}")
        return AgeBinTarget(int(value))
    if kind == "contrast" and rest.count(",") == 1:
        a, b = (_number(t, spec) for t in rest.split(","))
        return AgeContrastTarget(nearest_bin(a, support), nearest_bin(b, support))
    raise ValueError(f"unknown target {spec!r}; use expected, older, younger, predicted, bin:K or contrast:A,B")
