"""Sanity checks for saliency maps (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018) for the CAM
methods.

A map that explains the network has to change when what the network learned is destroyed. Two tests:

- cascading model-parameter randomisation: from the output head down towards the input, the parameters of one
  block after another are re-initialised (``cascade_steps``), and after each step every method's maps of the same
  faces are compared with the trained network's;
- data randomisation: the maps of a network of the same architecture trained on shuffled ages
  (``scripts/train_shuffled_labels.py``) are compared with the trained network's.

Two maps are compared by their Spearman rank correlation and their SSIM (both maps lie in [0, 1] and are
non-negative, so no absolute values are taken); each is averaged over the faces with a bootstrap 95 % interval.
An empty map (constant: the method's ReLU cut everything) ranks nothing and scores Spearman 0 against a map that
ranks something; the report counts the empty maps of every comparison.
``shows_network`` is the verdict rule; ``method_verdict`` words it for one method of a stored report.
"""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dldl_core.explain.cam import compute_cam, target_layer
from dldl_core.explain.forward import inference_copy
from dldl_core.explain.methods import METHOD_LABELS
from dldl_core.explain.targets import Target
from dldl_core.maths.intervals import paired_bootstrap

# Mean Spearman below which a method's maps count as changed. Two maps at rho 0.5 share a quarter of their rank
# variance (rho^2): most of what the map ranks high is then no longer what the trained network's map ranked high.
# Above it, the map keeps most of its ordering after the weights it claims to explain are gone, so that ordering
# comes from the input and the untouched layers, not from what the network learned. The figure also shows the
# similarity of two different faces' trained maps: the level that a map's generic shape alone reaches.
SPEARMAN_THRESHOLD = 0.5
VERDICT_STEP = "last_block"  # the verdict reads the cascade once the head and the CAM's own layer are random
SIMILARITIES = ("spearman", "ssim")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (flattened). A constant map ranks nothing: against a non-constant map
    it scores 0, against an identical constant map 1, against another constant 0."""
    from scipy.stats import spearmanr

    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"maps of {a.size} and {b.size} values")
    flat_a, flat_b = np.ptp(a) == 0, np.ptp(b) == 0
    if flat_a or flat_b:
        return float(flat_a and flat_b and a[0] == b[0])
    return float(spearmanr(a, b).statistic)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two (H, W) maps with values in [0, 1] (data range 1; H and W at least 7)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(np.asarray(a, np.float64), np.asarray(b, np.float64), data_range=1.0))


def bootstrap_mean(values: Sequence[float] | np.ndarray, resamples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean of per-face values with a percentile bootstrap 95 % interval over the faces (seeded;
    ``dldl_core.maths.intervals.paired_bootstrap`` against zero)."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        raise ValueError("no values to average")
    mean, lo, hi = paired_bootstrap(v, np.zeros_like(v), n_boot=resamples, seed=seed)
    return {"mean": mean, "lo": lo, "hi": hi, "n": int(v.size)}


def map_similarities(reference: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
    """(N, H, W) maps and (N, H, W) maps of the same faces -> per face (N,) Spearman and SSIM."""
    if reference.shape != other.shape:
        raise ValueError(f"maps of shapes {reference.shape} and {other.shape}")
    return {"spearman": np.array([spearman(a, b) for a, b in zip(reference, other)]),
            "ssim": np.array([ssim(a, b) for a, b in zip(reference, other)])}


def summarise(per_face: dict[str, np.ndarray], seed: int = 0) -> dict[str, dict[str, float]]:
    """Each similarity's mean over the faces with its bootstrap interval."""
    return {name: bootstrap_mean(values, seed=seed) for name, values in per_face.items()}


def shows_network(top_spearman: float, shuffled_spearman: float | None,
                  threshold: float = SPEARMAN_THRESHOLD) -> bool:
    """The verdict rule: a method shows the network when its maps, once the top blocks are randomised (mean Spearman
    ``top_spearman`` with the trained maps) and, where that network was measured, for the label-shuffled network
    (``shuffled_spearman``), correlate below ``threshold`` with the trained network's maps."""
    return top_spearman < threshold and (shuffled_spearman is None or shuffled_spearman < threshold)


def cascade_steps(model: nn.Module) -> list[tuple[str, list[str]]]:
    """The cascade's steps, output first, each with the modules it re-initialises: ``head``, ``last_block`` (the
    CAM's layer, ``features.last_block``), then the VGG stages between max-pools from ``block5`` (its other conv
    blocks) down to ``block1``."""
    stages: list[list[str]] = [[]]
    for name, module in model.features.named_children():
        if isinstance(module, nn.Sequential):
            stages[-1].append(f"features.{name}")
        elif isinstance(module, nn.MaxPool2d) and stages[-1]:
            stages.append([])
    stages = [s for s in stages if s]
    last = stages[-1].pop()
    if model.get_submodule(last) is not model.features.last_block:
        raise ValueError("the last conv block is not features.last_block")
    steps = [("head", ["head"]), (VERDICT_STEP, [last])]
    return steps + [(f"block{i}", names) for i, names in reversed(list(enumerate(stages, start=1))) if names]


def reinitialise(module: nn.Module) -> None:
    """Draw ``module``'s parameters afresh from the distributions an untrained AgeNet starts from: Kaiming-normal
    conv weights (fan out) with PyTorch's default conv bias, linear weights N(0, 0.01^2) with bias 0, BatchNorm at
    weight 1 and bias 0.

    BatchNorm's running statistics are reset too (mean 0, variance 1). Statistics measured on the trained conv's
    outputs would rescale the random conv's channels by numbers learned from the data, so part of the trained
    network would survive the randomisation; reset, a randomised block is exactly an untrained block in eval mode.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.reset_parameters()
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()  # weight 1, bias 0 and reset_running_stats()
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)


def cam_network(model: nn.Module) -> nn.Module:
    """A copy of ``model`` ready for ``compute_cam``: eval mode, BatchNorm folded, gradients from the CAM's layer."""
    network = inference_copy(model)
    target_layer(network).requires_grad_(True)
    return network


def randomised_cascade(model: nn.Module, seed: int = 0) -> Iterator[tuple[str, nn.Module]]:
    """(step, network) for each cascade step, output first: a network whose modules of that step and of every step
    above it are re-initialised (step i draws with seed ``seed + i``). ``model`` itself is left untouched."""
    work = copy.deepcopy(model).cpu().eval()
    device = next(model.parameters()).device
    for i, (name, modules) in enumerate(cascade_steps(work)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + i)
            for module in modules:
                reinitialise(work.get_submodule(module))
        yield name, cam_network(work).to(device)


def method_maps(network: nn.Module, x: torch.Tensor, methods: Sequence[str], target: Target,
                limits: dict[str, int] | None = None, batch_size: int = 32) -> dict[str, np.ndarray]:
    """(N, 3, S, S) normalised faces -> per method (N, S, S) maps in [0, 1], computed ``batch_size`` faces at a time;
    a method of ``limits`` maps only the first that many faces (Score-CAM costs a forward pass per channel)."""
    maps = {}
    for m in methods:
        n = min(len(x), (limits or {}).get(m, len(x)))
        maps[m] = np.concatenate([compute_cam(network, x[i:min(i + batch_size, n)], target, m)
                                  for i in range(0, n, batch_size)])
    return maps


def empty_maps(maps: np.ndarray) -> int:
    """How many of (N, H, W) maps are constant (empty where a method's ReLU cut everything: nothing to rank)."""
    return int((np.ptp(maps.reshape(len(maps), -1), axis=1) == 0).sum())


def _compare(trained: dict[str, np.ndarray], other: dict[str, np.ndarray], seed: int) -> dict[str, dict]:
    """Per method: each similarity's summary and how many of ``other``'s maps are empty."""
    return {m: {**summarise(map_similarities(trained[m], other[m]), seed), "empty_maps": empty_maps(other[m])}
            for m in trained}


def sanity_check(model: nn.Module, x: torch.Tensor, methods: Sequence[str], target: Target,
                 shuffled: nn.Module | None = None, seed: int = 0, limits: dict[str, int] | None = None
                 ) -> dict[str, Any]:
    """Both tests on the faces ``x`` (N, 3, S, S; at least 2): per method the similarity of the trained network's
    maps with those after each cascade step, with the label-shuffled network's (None without one) and, as a
    reference level, with the trained maps of another face (face i against face i + 1), plus the verdict.

    Args:
        model: the trained network (with its BatchNorm layers; it is copied, never changed).
        x: the normalised faces.
        methods: keys of ``CAM_METHODS``.
        target: the CAM target of every map.
        shuffled: the network trained on shuffled ages, same architecture and input.
        seed: seeds the re-initialisation and the bootstrap.
        limits: methods measured on only the first that many faces (at least 2).
    """
    if min([x.shape[0], *(limits or {}).values()]) < 2:
        raise ValueError("the sanity check needs at least 2 faces")
    trained = method_maps(cam_network(model), x, methods, target, limits)
    steps, cascade = [], {m: {} for m in methods}
    for step, network in randomised_cascade(model, seed):
        steps.append(step)
        for m, summary in _compare(trained, method_maps(network, x, methods, target, limits), seed).items():
            cascade[m][step] = summary
    other = (_compare(trained, method_maps(cam_network(shuffled), x, methods, target, limits), seed)
             if shuffled is not None else {})
    faces = _compare(trained, {m: np.roll(v, 1, axis=0) for m, v in trained.items()}, seed)
    report = {"n": int(x.shape[0]), "steps": steps, "threshold": SPEARMAN_THRESHOLD, "verdict_step": VERDICT_STEP,
              "methods": {}}
    for m in methods:
        top = cascade[m][VERDICT_STEP]["spearman"]["mean"]
        report["methods"][m] = {"cascade": cascade[m], "shuffled": other.get(m), "different_faces": faces[m],
                                "trained_empty_maps": empty_maps(trained[m]),
                                "shows_network": shows_network(top, other[m]["spearman"]["mean"] if other else None)}
    return report


def map_strip(model: nn.Module, x: torch.Tensor, methods: Sequence[str], target: Target,
              shuffled: nn.Module | None = None, seed: int = 0) -> dict[str, list[tuple[str, np.ndarray]]]:
    """One face's maps (``x``: (1, 3, S, S)) per method: trained, after each cascade step, label-shuffled."""
    strips = {m: [("trained", maps[0])] for m, maps in method_maps(cam_network(model), x, methods, target).items()}
    networks = list(randomised_cascade(model, seed))
    networks += [("shuffled labels", cam_network(shuffled))] if shuffled is not None else []
    for name, network in networks:
        for m, maps in method_maps(network, x, methods, target).items():
            strips[m].append((name, maps[0]))
    return strips


def load_sanity_report(path: str | os.PathLike) -> dict | None:
    """A ``sanity.json`` written by ``dldl sanity``; None where the file is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("methods"), dict) else None


def _interval(s: dict[str, float]) -> str:
    return f"{s['mean']:.2f} [{s['lo']:.2f}, {s['hi']:.2f}]"


def _empty_note(summary: dict[str, Any]) -> str:
    empty, n = summary.get("empty_maps", 0), summary["spearman"]["n"]
    return f" ({empty} of its {n} maps empty)" if empty else ""


def method_verdict(report: dict | None, method: str) -> str | None:
    """One sentence on ``method``'s result in a sanity report; None where the report does not hold the method."""
    r = (report or {}).get("methods", {}).get(method)
    if not r:
        return None
    name, step = METHOD_LABELS.get(method, method), report.get("verdict_step", VERDICT_STEP)
    top = r["cascade"][step]["spearman"]
    faces = f"Spearman, {top['n']} {report.get('split') or ''} faces".replace("  ", " ")
    shuffled = (f", and those of a network trained on shuffled ages {_interval(r['shuffled']['spearman'])}"
                + _empty_note(r["shuffled"]) if r.get("shuffled") else " (no label-shuffled network was measured)")
    what = "after randomising the head and the top conv block"
    if r["shows_network"]:
        return (f"{name} passed the sanity check: {what} its maps correlate {_interval(top)} ({faces}) with the "
                f"trained network's{shuffled}.")
    return (f"{name} failed the sanity check (its maps do not show the network): {what} its maps still correlate "
            f"{_interval(top)} ({faces}) with the trained network's{shuffled}; the threshold is "
            f"{report.get('threshold', SPEARMAN_THRESHOLD):g}.")
