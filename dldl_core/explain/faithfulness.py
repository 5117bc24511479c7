"""Faithfulness of a map: does removing what it marks move the network faster than removing anything else?

Deletion: the face is cut into a grid of ``cells`` x ``cells``; cells are hidden in the map's order, most important
first, and the curve is T_0 - T_t, the drop of the explained target (for ``expected``: the estimated age, in years)
after a share t of the face is hidden. Insertion starts from the hidden face and restores cells in the map's order;
its curve is T_t - T_hidden. For both, the area under the curve (AUC, the mean over t in [0, 1]) is higher for a
faithful map. What replaces a hidden cell is the ``fill`` (``dldl_core.explain.fills``: a blur of the face by
default; the mean colour is the classic choice and mostly measures the network's reaction to patchwork).

A map's AUC alone says little: every order moves the estimate once enough is hidden. Each face is therefore also
run in two baseline orders, and the score of a map is its paired gain over them, per face:
- ``random``: a random map drawn at the CAM layer's resolution and upsampled like a CAM (random blobs of a CAM's
  size; scattering single cells would leave a speckled face that moves any estimate, measuring speckle);
- ``prior``: the method's mean map over the faces evaluated (where it looks on average, a centre prior): a map that
  beats it says something about this face, not only about faces.
Tied cells (the exact zeros of a ReLU'd CAM) are ordered by the random map, so at random and in blobs.

Beside the signed target, two target-agnostic curves say how much the output moves whatever the direction:
``deletion_shift`` |E_0 - E_t| (years) and ``deletion_kl`` KL(p_0 || p_t); ``insertion_kl`` is how much of the
divergence of the hidden face is recovered, KL(p_0 || p_hidden) - KL(p_0 || p_t).

ROAD (Rong et al. 2022) removes pixels by noisy linear imputation at several percentiles, most relevant first (MoRF)
and least relevant first (LeRF); combined = (LeRF - MoRF) / 2 of the target's change, higher is better. Pixels are
ranked with ties broken at random, so that nominal 60 % removes 60 % even of a sparse map (a percentile threshold
would remove every tied pixel at once), and the same is run on the random map: ``road_gain`` is the paired gain.

Intervals are percentile bootstraps over faces (95 %); every summary is also given per age stage.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from dldl_core.explain.fills import DEFAULT_FILL, Fill, fill_name, hide
from dldl_core.explain.forward import readout
from dldl_core.explain.targets import Target
from dldl_core.maths.intervals import paired_bootstrap

ROAD_PERCENTILES = (20, 40, 60, 80)
ORDERS = ("map", "random", "prior")  # the map's order and its two baselines
MEASURES = ("deletion", "insertion", "deletion_shift", "deletion_kl", "insertion_kl")  # curves, higher = faithful


def cell_scores(cam: np.ndarray, cells: int) -> np.ndarray:
    """(S, S) map -> (cells, cells) mean of the map in each cell of a regular grid."""
    size = cam.shape[0]
    edges = np.round(np.linspace(0, size, cells + 1)).astype(int)
    return np.array([[cam[edges[i]:edges[i + 1], edges[j]:edges[j + 1]].mean() for j in range(cells)]
                     for i in range(cells)], dtype=np.float64)


def cell_order(scores: np.ndarray, tie_break: np.ndarray) -> np.ndarray:
    """Flat cell indices, highest score first; ties (e.g. the zeros of a ReLU'd CAM) by ``tie_break``, highest
    first (a random map, so that tied cells go in random blobs rather than speckle)."""
    return np.lexsort((-tie_break.ravel(), -scores.ravel()))


def rank_map(order: np.ndarray, cells: int, size: int) -> np.ndarray:
    """(S, S) float map of each pixel's cell rank as a fraction in [0, 1): the cell removed first has rank 0."""
    ranks = np.empty(order.size, np.float64)
    ranks[order] = np.arange(order.size) / order.size
    edges = np.round(np.linspace(0, size, cells + 1)).astype(int)
    index = np.searchsorted(edges, np.arange(size), side="right") - 1  # (S,) cell index of each row / column
    return ranks.reshape(cells, cells)[index[:, None], index[None, :]]


def pixel_rank(cam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(S, S) rank of every pixel as a fraction in [0, 1), most relevant first, ties broken at random."""
    order = np.lexsort((rng.random(cam.size), -cam.ravel()))
    ranks = np.empty(cam.size, np.float64)
    ranks[order] = np.arange(cam.size) / cam.size
    return ranks.reshape(cam.shape)


def auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Area under a curve over fractions in [0, 1] (trapezoid rule): its mean height."""
    f, v = np.asarray(fractions, np.float64), np.asarray(values, np.float64)
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(f)) / max(f[-1] - f[0], 1e-12))


def random_map(size: int, grid: int, rng: np.random.Generator) -> np.ndarray:
    """(S, S) random map with a CAM's smoothness: uniform noise on a (grid, grid) lattice, bilinearly upsampled."""
    import cv2

    return cv2.resize(rng.random((grid, grid)).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def kl_from(log_p0: torch.Tensor, log_probs: torch.Tensor) -> np.ndarray:
    """(K,) reference and (N, K) log-probabilities -> (N,) KL(p_0 || p_n)."""
    return (log_p0.exp() * (log_p0 - log_probs)).sum(-1).numpy()


@dataclass
class Curves:
    """Every curve of one face (or their mean over faces): ``values[f"{measure}_{order}"]`` is a (T,) array."""

    fractions: np.ndarray  # (T,) share of the face hidden (deletion) or restored (insertion)
    values: dict[str, np.ndarray]

    def aucs(self) -> dict[str, float]:
        return {name: auc(self.fractions, v) for name, v in self.values.items()}


def _order_masks(rank: np.ndarray, fractions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(S, S) cell ranks -> (T, S, S) deletion masks and the insertion masks (hide what is not restored yet)."""
    removed = torch.from_numpy(rank[None] < fractions[:, None, None] - 1e-9).float()
    return removed, 1 - removed


def _curves_from(fractions: np.ndarray, ages: torch.Tensor, log_probs: torch.Tensor, values: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """The batch's read-outs (orders x [deletion T, insertion T]) -> every curve by ``{measure}_{order}``."""
    t, out = len(fractions), {}
    log_p0 = log_probs[0]  # deletion at t = 0 hides nothing: the face itself
    for k, order in enumerate(ORDERS):
        d, i = slice(2 * k * t, (2 * k + 1) * t), slice((2 * k + 1) * t, (2 * k + 2) * t)
        out[f"deletion_{order}"] = values[d][0] - values[d]
        out[f"insertion_{order}"] = values[i] - values[i][0]
        out[f"deletion_shift_{order}"] = np.abs(ages[d].numpy() - float(ages[0]))
        out[f"deletion_kl_{order}"] = kl_from(log_p0, log_probs[d])
        kl_in = kl_from(log_p0, log_probs[i])
        out[f"insertion_kl_{order}"] = kl_in[0] - kl_in
    return out


def perturbation_curves(model: nn.Module, x: torch.Tensor, cam: np.ndarray, target: Target,
                        prior: np.ndarray | None = None, steps: int = 10, cells: int = 16, fill: Fill = DEFAULT_FILL,
                        rng: np.random.Generator | None = None, seed: int = 0) -> Curves:
    """Deletion and insertion curves of one face in the map's order, a random order and the prior's, one batch.

    Args:
        model: the age network.
        x: (1, 3, S, S) normalised input.
        cam: (S, S) map at the input's resolution, higher = more important.
        target: the target the map explains; the signed curves follow its value.
        prior: (S, S) the method's mean map (default: a flat map, i.e. the random order).
        steps: points on each curve after the start.
        cells: grid side; cells are hidden or restored whole.
        fill: what replaces a hidden cell (``dldl_core.explain.fills``).
        rng: random generator of the random map (the random order, and the order of tied cells).
        seed: seeds the ``road`` fill's noise.
    """
    rng = rng or np.random.default_rng(0)
    size = x.shape[-1]
    fractions = np.linspace(0, 1, steps + 1)
    noise = cell_scores(random_map(size, max(size // 16, 2), rng), cells)
    prior = np.zeros_like(cam) if prior is None else prior
    masks = []
    for scores in (cell_scores(cam, cells), noise, cell_scores(prior, cells)):
        masks += _order_masks(rank_map(cell_order(scores, noise), cells, size), fractions)
    ages, log_probs = readout(model, hide(x, torch.cat(masks), fill, seed))
    values = target(log_probs).float().numpy()  # softmax targets do not change when logits shift by a constant
    return Curves(fractions, _curves_from(fractions, ages, log_probs, values))


def road_scores(model: nn.Module, x: torch.Tensor, cam: np.ndarray, target: Target, rng: np.random.Generator,
                percentiles: Iterable[int] = ROAD_PERCENTILES, fill: Fill = "road", seed: int = 0
                ) -> dict[str, float]:
    """ROAD of one face for its map and for a random map of a CAM's smoothness: ``morf``, ``lerf``, ``combined``
    target changes (mean over ``percentiles``) and ``random_combined``; pixels ranked with ties broken at random.

    Args:
        model: the age network.
        x: (1, 3, S, S) normalised input.
        cam: (S, S) map at the input's resolution.
        target: the target the map explains (its change is measured).
        rng: draws the random map and breaks ties.
        percentiles: shares of the pixels removed, in per cent.
        fill: ROAD's noisy linear imputation by default.
        seed: seeds the imputation noise.
    """
    size, shares = x.shape[-1], np.asarray(list(percentiles), np.float64) / 100
    masks = []
    for m in (cam, random_map(size, max(size // 16, 2), rng)):
        rank = torch.from_numpy(pixel_rank(m, rng))
        masks += [(rank < s).float() for s in shares] + [(rank >= 1 - s).float() for s in shares]
    _, log_probs = readout(model, torch.cat([x, hide(x, torch.stack(masks), fill, seed)]))
    change = target(log_probs).float().numpy()[1:] - float(target(log_probs[:1]).float()[0])  # (4P,)
    p = len(shares)
    morf, lerf, random_morf, random_lerf = (float(change[k * p:(k + 1) * p].mean()) for k in range(4))
    return {"morf": morf, "lerf": lerf, "combined": (lerf - morf) / 2,
            "random_combined": (random_lerf - random_morf) / 2}


def _interval(values: np.ndarray, seed: int = 0) -> tuple[float | None, list[float | None]]:
    """Mean over faces and its 95 % bootstrap interval (None bounds below two faces; None for no face)."""
    values = np.asarray(values, np.float64)
    if values.size < 2:
        return float(values.mean()) if values.size else None, [None, None]
    mean, lo, hi = paired_bootstrap(values, np.zeros_like(values), seed=seed)
    return mean, [lo, hi]


@dataclass
class MethodFaithfulness:
    """Faithfulness of one method over a set of faces: per face, the AUCs of every curve and the ROAD scores."""

    method: str
    fill: str = DEFAULT_FILL
    empty: int = 0  # faces whose map is all zero (nothing found for the target): their order is the random one
    aucs: list[dict[str, float]] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)  # the age stage of each face (its true age)
    road: list[dict[str, float]] = field(default_factory=list)
    curve_sums: dict[str, np.ndarray] = field(default_factory=dict)
    fractions: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.aucs)

    def add(self, curves: Curves, stage: str, empty: bool, road: dict[str, float] | None = None) -> None:
        self.aucs.append(curves.aucs())
        self.stages.append(stage)
        self.empty += int(empty)
        self.fractions = curves.fractions
        for name, v in curves.values.items():
            self.curve_sums[name] = self.curve_sums.get(name, 0) + v
        if road is not None:
            self.road.append(road)

    def gains(self, measure: str, baseline: str = "random", mask: np.ndarray | None = None) -> np.ndarray:
        """(faces,) paired gain of the map's AUC over a baseline order's, for one measure."""
        gain = np.array([a[f"{measure}_map"] - a[f"{measure}_{baseline}"] for a in self.aucs])
        return gain if mask is None else gain[mask]

    def summary(self, seed: int = 0) -> dict[str, Any]:
        """Mean AUCs; per measure, the gain over random and over the prior with 95 % intervals and the share of faces
        the map wins; ROAD with its gain over a random map; the deletion and insertion gains per age stage."""
        out: dict[str, Any] = {"n": self.n, "empty_maps": self.empty, "fill": self.fill}
        for m in MEASURES:
            for order in ORDERS:
                suffix = "" if order == "map" else f"_{order}"
                out[f"{m}{suffix}_auc"] = float(np.mean([a[f"{m}_{order}"] for a in self.aucs]))
            out[f"{m}_gain"], out[f"{m}_gain_ci95"] = _interval(self.gains(m), seed)
            out[f"{m}_gain_vs_prior"], out[f"{m}_gain_vs_prior_ci95"] = _interval(self.gains(m, "prior"), seed)
            out[f"{m}_beats_random"] = float(np.mean(self.gains(m) > 0))
        out.update(self._road_summary(seed))
        out["by_stage"] = self._stage_summary(seed)
        return out

    def _road_summary(self, seed: int) -> dict[str, Any]:
        if not self.road:
            return {}
        r = {k: np.array([d[k] for d in self.road]) for k in self.road[0]}
        gain, ci = _interval(r["combined"] - r["random_combined"], seed)
        return {"road_faces": len(self.road), "road_morf": float(r["morf"].mean()),
                "road_lerf": float(r["lerf"].mean()), "road_combined": float(r["combined"].mean()),
                "road_random_combined": float(r["random_combined"].mean()), "road_gain": gain, "road_gain_ci95": ci}

    def _stage_summary(self, seed: int) -> dict[str, dict[str, Any]]:
        stages = np.array(self.stages)
        out = {}
        for stage in dict.fromkeys(self.stages):
            mask = stages == stage
            row: dict[str, Any] = {"n": int(mask.sum())}
            for m in ("deletion", "insertion", "deletion_kl"):
                row[f"{m}_gain"], row[f"{m}_gain_ci95"] = _interval(self.gains(m, mask=mask), seed)
            out[stage] = row
        return out

    def mean_curves(self) -> dict[str, list[float]]:
        return {"fractions": np.round(self.fractions, 4).tolist(),
                **{name: np.round(v / self.n, 4).tolist() for name, v in self.curve_sums.items()}}


@dataclass(frozen=True)
class FaceFaithfulness:
    """How faithful one map is for one face: deletion AUCs of the map's order and of random orders (mean)."""

    map_auc: float  # mean drop of the target over the deletion curve, map order
    random_auc: float  # the same, mean over ``repeats`` random orders
    random_spread: float  # standard deviation of the random orders' AUCs
    fill: str

    @property
    def gain(self) -> float:
        return self.map_auc - self.random_auc


def face_faithfulness(model: nn.Module, x: torch.Tensor, cam: np.ndarray, target: Target, fill: Fill = DEFAULT_FILL,
                      repeats: int = 4, steps: int = 10, cells: int = 16, seed: int = 0) -> FaceFaithfulness:
    """The deletion gain of one face's map over ``repeats`` random orders, in one batch (the app's per-face check).

    Args:
        model: the age network.
        x: (1, 3, S, S) normalised input.
        cam: (S, S) map at the input's resolution.
        target: the target the map explains.
        fill, steps, cells: see ``perturbation_curves``.
        repeats: random orders averaged over.
        seed: seeds the random orders.
    """
    rng = np.random.default_rng(seed)
    size = x.shape[-1]
    fractions = np.linspace(0, 1, steps + 1)
    noises = [cell_scores(random_map(size, max(size // 16, 2), rng), cells) for _ in range(repeats)]
    orders = [cell_order(cell_scores(cam, cells), noises[0])] + [cell_order(n, n) for n in noises]
    masks = [_order_masks(rank_map(o, cells, size), fractions)[0] for o in orders]
    _, log_probs = readout(model, hide(x, torch.cat(masks), fill, seed))
    values = target(log_probs).float().numpy().reshape(len(orders), len(fractions))
    aucs = np.array([auc(fractions, v[0] - v) for v in values])
    return FaceFaithfulness(float(aucs[0]), float(aucs[1:].mean()), float(aucs[1:].std()), fill_name(fill))
