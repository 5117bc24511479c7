"""A weight soup: the element-wise mean of networks fine-tuned from one starting point.

Fine-tunes of one network that differ only in seed and learning rate stay in one basin of the loss, and the mean of
their weights is often better than each of them ("model soups", Wortsman et al., ICML 2022), at no cost at inference:
the soup is one network of the same size. BatchNorm's running statistics are averaged like the weights (with
fine-tunes from one start they are close; the val split judges the result, as it judges any network). torch has no
such function for files with sidecars (``torch.optim.swa_utils`` averages one run over time), hence this module.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from dldl_core.models.sidecar import PREDICTION_KEYS, WeightsError, read_sidecar
from dldl_core.models.weights import load_weights, save_weights

# Recipe keys that say where a run read and wrote its files on the machine that trained it: not in a soup's recipe
RUN_KEYS = ("out", "data", "manifest")


def average_state_dicts(states: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors of several state dicts with the same keys and shapes; an
    integer buffer (BatchNorm's batch counter) is taken from the first."""
    if not states:
        raise ValueError("a soup needs at least one network")
    keys = list(states[0])
    for i, state in enumerate(states[1:], start=2):
        if list(state) != keys or any(state[k].shape != states[0][k].shape for k in keys):
            raise ValueError(f"network {i} does not have the first network's layers: they are not one architecture")
    return {k: (torch.stack([s[k].double() for s in states]).mean(0).to(states[0][k].dtype)
                if states[0][k].is_floating_point() else states[0][k].clone()) for k in keys}


def soup_recipe(recipes: Sequence[Mapping[str, Any]], files: Sequence[str], digests: Sequence[str]) -> dict[str, Any]:
    """The soup's recipe: every option its ingredients share, and under ``soup`` each ingredient's file, sha256 and
    the options in which it differs from the others (``init`` by file name; where each run read and wrote its files
    is left out)."""
    recipes = [{k: (Path(v).name if k == "init" and v else v) for k, v in r.items() if k not in RUN_KEYS}
               for r in recipes]
    shared = {k: v for k, v in recipes[0].items() if all(k in r and r[k] == v for r in recipes)}
    ingredients = [{"file": name, "sha256": digest, **{k: v for k, v in r.items() if k not in shared}}
                   for r, name, digest in zip(recipes, files, digests)]
    return {**shared, "soup": ingredients}


def make_soup(paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Average the networks in ``paths`` (each with its sidecar) into ``out`` and its sidecar.

    Every ingredient must predict the same way (architecture, age support, preprocessing, objective), else a
    ``WeightsError`` names the first that differs. The soup's metrics are left for its evaluation to add."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise WeightsError("a soup needs at least two weights files")
    if Path(out).resolve() in {p.resolve() for p in paths}:
        raise WeightsError(f"{out} is one of the ingredients: write the soup to a new file")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise WeightsError(f"weights file {missing[0]} not found")
    sidecars = [read_sidecar(p) for p in paths]
    for path, sidecar in zip(paths[1:], sidecars[1:]):
        differ = [k for k in PREDICTION_KEYS if sidecar.get(k) != sidecars[0].get(k)]
        if differ:
            raise WeightsError(f"{path} differs from {paths[0]} in {', '.join(differ)}: only fine-tunes of one "
                               f"network can be averaged")
    loaded = [load_weights(p, pinned=False) for p in paths]
    model = loaded[0].model
    model.load_state_dict(average_state_dicts([w.model.state_dict() for w in loaded]))
    recipe = soup_recipe([s.get("recipe", {}) for s in sidecars], [p.name for p in paths],
                         [w.meta["sha256"] for w in loaded])  # each verified against its file by load_weights
    licence = {"license": sidecars[0]["license"]} if sidecars[0].get("license") else {}
    return save_weights(model, out, loaded[0].preprocess, loaded[0].objective, {"recipe": recipe, **licence})
