"""Every random number generator a training run draws from: seeding, capturing and restoring their states.

The states hold tensors, ints and tuples only, so a checkpoint that holds them loads with ``weights_only=True``.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
import torch.distributed as dist


def seed_all(seed: int) -> None:
    """Seed torch (CPU and every CUDA device), numpy's global generator and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def rng_states() -> dict[str, Any]:
    """This process's generator states: torch's CPU one, every CUDA device's, numpy's global one, Python's."""
    kind, keys, position, has_gauss, cached_gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": position,
                      "has_gauss": has_gauss, "cached_gauss": cached_gauss},
            "python": random.getstate()}


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the generators to ``states`` (from :func:`rng_states`); CUDA's where as many devices are present."""
    torch.set_rng_state(states["torch"].cpu())
    cuda = states.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
    if "numpy" in states:
        n = states["numpy"]
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["position"], n["has_gauss"],
                             n["cached_gauss"]))
    if "python" in states:
        version, internal, gauss_next = states["python"]
        random.setstate((version, tuple(internal), gauss_next))


def gather_rng_states(world: int) -> list[dict[str, Any]]:
    """Every process's states, by rank (a collective call under torchrun: every rank must make it)."""
    if world == 1:
        return [rng_states()]
    gathered: list[Any] = [None] * world
    dist.all_gather_object(gathered, rng_states())
    return gathered
