"""The state a training run resumes from: model, optimizer, scheduler, EMA, epoch, best score, the config, the
log's records and every process's RNG states.

Rank 0 writes it after every epoch, atomically (a temporary file renamed over the last one); it loads with
``weights_only=True``. A run resumed with other options than the checkpoint's is refused unless allowed.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dldl_core.models.networks import ARCH_ALIASES
from dldl_core.training.config import TrainConfig

log = logging.getLogger(__name__)

FORMAT = 2  # 1: model, optimizer, EMA, epoch, best_mae and the CPU RNG only (no "format" key)
UNCHECKED_FIELDS = frozenset({"progress", "workers", "device", "cache", "cache_dir"})  # cannot change the result
GROWABLE_FIELDS = frozenset({"epochs"})  # may grow, to extend a run


@dataclass
class Checkpoint:
    """One epoch's end, as saved."""

    epoch: int  # epochs done
    best_score: float  # best val MAE so far (the training loss where there is no val split)
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None  # None in format 1
    ema: dict[str, torch.Tensor] | None  # None: no moving average
    config: dict[str, Any] | None  # TrainConfig.to_dict(); None in format 1
    history: list[dict[str, Any]] | None  # the log's records of epochs 1..epoch; None in format 1
    rng: list[dict[str, Any]]  # per rank: rng.rng_states()


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    """Write ``path`` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **vars(checkpoint)}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read ``path`` onto the CPU (format 1 too, with what it holds)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.pop("format", 1) == 1:
        return Checkpoint(epoch=state["epoch"], best_score=state["best_mae"], model=state["model"],
                          optimizer=state["optimizer"], scheduler=None, ema=state.get("ema"), config=None,
                          history=None, rng=[{"torch": state["rng"]}])
    return Checkpoint(**state)


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """JSON's view of a config (tuples as lists), with the network under its full name."""
    plain = json.loads(json.dumps(config))
    plain["arch"] = ARCH_ALIASES.get(plain.get("arch"), plain.get("arch"))
    return plain


def config_changes(saved: dict[str, Any], config: TrainConfig) -> dict[str, tuple[Any, Any]]:
    """The fields that differ and could change the result, as {name: (checkpoint's value, config's value)}."""
    old, new = _comparable(saved), _comparable(config.to_dict())
    changes = {}
    for name in new.keys() & old.keys() - UNCHECKED_FIELDS:
        if old[name] != new[name] and not (name in GROWABLE_FIELDS and new[name] > old[name]):
            changes[name] = (old[name], new[name])
    return dict(sorted(changes.items()))


def check_config(checkpoint: Checkpoint, config: TrainConfig, path: Path, allow_change: bool = False) -> None:
    """Raise ValueError when ``config`` differs from the checkpoint's, unless ``allow_change``."""
    if checkpoint.config is None:
        log.warning("%s stores no configuration: resumed without checking the options", path)
        return
    changes = config_changes(checkpoint.config, config)
    if not changes:
        return
    said = ", ".join(name if isinstance(old, dict | list) else f"{name} {old} -> {new}"
                     for name, (old, new) in changes.items())
    if not allow_change:
        raise ValueError(f"{path} was written with other options ({said}): resume with the checkpoint's options, "
                         "or pass --allow-config-change (allow_config_change=True) to continue with the new ones")
    log.warning("resuming %s with changed options: %s", path, said)
