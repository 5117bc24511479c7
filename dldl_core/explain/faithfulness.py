"""Faithfulness of a map: does removing what it marks move the explained target faster than removing anything else?

Deletion: the face is cut into a grid of ``cells`` x ``cells``; cells are filled with the data's mean colour in the
map's order, most important first, and the curve is T_0 - T_t, the drop of the target (for ``expected``: the
estimated age, in years) after a share t of the face is gone. Insertion starts from the filled face and restores
cells in the map's order; its curve is T_t - T_filled, the rise of the target. For both, the area under the curve
(AUC, the mean over t in [0, 1]) is higher for a faithful map.

The random baseline orders the cells by a random map drawn at the CAM layer's resolution (the input side / 16) and
upsampled like a CAM: random blobs of a CAM's size. Scattering single cells at random instead would leave a
speckled face the network never saw, which moves any estimate more than removing a few compact blobs; that
baseline would measure speckle, not the map.

ROAD (Rong et al. 2022) comes from pytorch-grad-cam: pixels are removed by noisy linear imputation at several
percentiles, most relevant first (MoRF) and least relevant first (LeRF); combined = (LeRF - MoRF) / 2 of the
target's change, higher is better.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from dldl_core.explain.forward import readout
from dldl_core.explain.occlusion import occlude
from dldl_core.explain.targets import Target
from dldl_core.markdown import markdown_table

ROAD_PERCENTILES = (20, 40, 60, 80)


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


def auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Area under a curve over fractions in [0, 1] (trapezoid rule): its mean height."""
    f, v = np.asarray(fractions, np.float64), np.asarray(values, np.float64)
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(f)) / max(f[-1] - f[0], 1e-12))


def random_map(size: int, grid: int, rng: np.random.Generator) -> np.ndarray:
    """(S, S) random map with a CAM's smoothness: uniform noise on a (grid, grid) lattice, bilinearly upsampled."""
    import cv2

    return cv2.resize(rng.random((grid, grid)).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


@dataclass
class Curves:
    """Deletion and insertion curves of one face (or their mean over faces), in units of the target."""

    fractions: np.ndarray  # (T,) share of the face removed (deletion) or restored (insertion)
    deletion: np.ndarray  # (T,) T_0 - T_t, map order
    insertion: np.ndarray  # (T,) T_t - T_filled, map order
    deletion_random: np.ndarray  # (T,) the same in a random blob order
    insertion_random: np.ndarray

    def aucs(self) -> dict[str, float]:
        return {name: auc(self.fractions, getattr(self, name))
                for name in ("deletion", "insertion", "deletion_random", "insertion_random")}


def perturbation_curves(model: nn.Module, x: torch.Tensor, cam: np.ndarray, target: Target, steps: int = 10,
                        cells: int = 16, fill: torch.Tensor | None = None, rng: np.random.Generator | None = None
                        ) -> Curves:
    """Deletion and insertion curves of one face, in the map's order and in a random order, in one batch.

    Args:
        model: the age network.
        x: (1, 3, S, S) normalised input.
        cam: (S, S) map at the input's resolution, higher = more important.
        target: the target the map explains; the curves follow its value.
        steps: points on each curve after the start.
        cells: grid side; cells are removed or restored whole.
        fill: (3,) normalised fill colour; default the data's mean colour.
        rng: random generator of the random map (the random order, and the order of the map's ties).
    """
    rng = rng or np.random.default_rng(0)
    size = x.shape[-1]
    fractions = np.linspace(0, 1, steps + 1)
    baseline = cell_scores(random_map(size, max(size // 16, 2), rng), cells)
    ranks = [rank_map(cell_order(scores, baseline), cells, size) for scores in (cell_scores(cam, cells), baseline)]
    masks = []
    for r in ranks:
        removed = torch.from_numpy(r[None] < fractions[:, None, None] - 1e-9).float()  # (T, S, S) deletion
        masks += [removed, 1 - removed]  # insertion hides what deletion has not removed yet
    _, log_probs = readout(model, occlude(x, torch.cat(masks), fill))
    values = target(log_probs).float().numpy()  # softmax targets do not change when logits shift by a constant
    t = len(fractions)
    d_map, i_map, d_rand, i_rand = (values[k * t:(k + 1) * t] for k in range(4))
    return Curves(fractions, d_map[0] - d_map, i_map - i_map[0], d_rand[0] - d_rand, i_rand - i_rand[0])


def road_scores(model: nn.Module, x: torch.Tensor, cams: np.ndarray, target: Target,
                percentiles: Iterable[int] = ROAD_PERCENTILES) -> dict[str, np.ndarray]:
    """ROAD of each face through pytorch-grad-cam: (B,) ``morf``, ``lerf`` and ``combined`` target changes.

    Args:
        model: the age network.
        x: (B, 3, S, S) normalised inputs.
        cams: (B, S, S) maps at the input's resolution.
        target: the target the maps explain (its change is measured).
        percentiles: removal percentiles averaged over.
    """
    from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirstAverage, ROADMostRelevantFirstAverage

    percentiles = list(percentiles)
    targets = [target] * x.shape[0]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy 2 on the package's np.float32(list of tensors)
        morf = ROADMostRelevantFirstAverage(percentiles)(x, cams, targets, model)
        lerf = ROADLeastRelevantFirstAverage(percentiles)(x, cams, targets, model)
    return {"morf": morf, "lerf": lerf, "combined": (lerf - morf) / 2}


@dataclass
class MethodFaithfulness:
    """Faithfulness of one method over a set of faces."""

    method: str
    n: int = 0
    empty: int = 0  # faces whose map is all zero (nothing found for the target): their order is the random one
    curves: list[Curves] = field(default_factory=list)
    road: dict[str, list[float]] = field(default_factory=lambda: {"morf": [], "lerf": [], "combined": []})

    def mean_curves(self) -> Curves:
        c = self.curves
        return Curves(c[0].fractions, *(np.mean([getattr(k, n) for k in c], 0) for n in
                                        ("deletion", "insertion", "deletion_random", "insertion_random")))

    def summary(self) -> dict[str, float]:
        """Mean AUCs; the paired gain over random order (mean, standard error, share of faces); mean ROAD scores."""
        per_face = [c.aucs() for c in self.curves]
        out: dict[str, float] = {"n": len(per_face), "empty_maps": self.empty}
        for key in ("deletion", "deletion_random", "insertion", "insertion_random"):
            out[f"{key}_auc"] = float(np.mean([a[key] for a in per_face]))
        for key in ("deletion", "insertion"):
            gain = np.array([a[key] - a[f"{key}_random"] for a in per_face])  # paired, per face
            out[f"{key}_gain"] = float(gain.mean())  # mean AUC over random order's
            out[f"{key}_gain_se"] = float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else float("nan")
            out[f"{key}_beats_random"] = float(np.mean(gain > 0))  # share of faces
        for key, values in self.road.items():
            if values:
                out[f"road_{key}"] = float(np.mean(values))
        if self.road["combined"]:
            out["road_faces"] = len(self.road["combined"])
        return out


def evaluate_faithfulness(model: nn.Module, inputs: Iterable[torch.Tensor], methods: Iterable[str],
                          target: Target, steps: int = 10, cells: int = 16, road_faces: int = 0, seed: int = 0,
                          fill: torch.Tensor | None = None) -> dict[str, MethodFaithfulness]:
    """Curves (and ROAD for the first ``road_faces`` faces) of each method over faces.

    Args:
        model: the age network (e.g. an ``Explainer``'s copy).
        inputs: (1, 3, S, S) normalised inputs, one per face.
        methods: CAM method names.
        target: the target every map explains.
        steps, cells: see ``perturbation_curves``.
        road_faces: how many faces also get ROAD scores (ROAD solves a sparse system per image and percentile).
        seed: seeds the random orders and ROAD's imputation noise.
        fill: (3,) normalised fill colour; default the data's mean colour.
    """
    from dldl_core.explain.cam import compute_cam, method_name

    methods = [method_name(m) for m in methods]
    results = {m: MethodFaithfulness(m) for m in methods}
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    for i, x in enumerate(inputs):
        for m in methods:
            cam = compute_cam(model, x, target, m)  # (1, S, S)
            results[m].curves.append(perturbation_curves(model, x, cam[0], target, steps, cells, fill, rng))
            results[m].n += 1
            results[m].empty += int(cam.max() <= 0)
            if i < road_faces:
                for key, value in road_scores(model, x, cam, target).items():
                    results[m].road[key].append(float(value[0]))
    return results


def faithfulness_report(results: dict[str, MethodFaithfulness]) -> dict[str, Any]:
    """Per method: the summary numbers and the mean curves."""
    report: dict[str, Any] = {}
    for method, r in results.items():
        if not r.curves:
            continue
        mean = r.mean_curves()
        report[method] = {**r.summary(), "curves": {
            "fractions": mean.fractions.round(4).tolist(),
            **{name: getattr(mean, name).round(4).tolist()
               for name in ("deletion", "deletion_random", "insertion", "insertion_random")}}}
    return report


def faithfulness_table(data: dict[str, Any]) -> str:
    """A Markdown table of a faithfulness run (``data``: weights, target, split and the per-method report)."""
    from dldl_core.explain.samples import describe_weights

    intro = (f"Weights {describe_weights(data['weights'])}; split {data['split'] or 'all'}, target "
             f"`{data['target']}`. AUCs in the target's units (years for `expected`), higher is better; gain = map "
             "order - random order, paired per face (mean +- 2 standard errors), and the share of faces where the map "
             "wins; ROAD combined (LeRF - MoRF) / 2 over the first n faces.")
    columns = (("_auc", ".2f"), ("_random_auc", ".2f"), ("_gain", "+.2f"), ("_beats_random", ".0%"))
    rows = []
    for m, r in data["methods"].items():
        road = f"{r['road_combined']:+.2f} ({r['road_faces']})" if "road_combined" in r else "-"
        cells = [f"{r[f'{k}{suffix}']:{fmt}}" for k in ("deletion", "insertion") for suffix, fmt in columns]
        cells[2] += f" +- {2 * r['deletion_gain_se']:.2f}"
        cells[6] += f" +- {2 * r['insertion_gain_se']:.2f}"
        rows.append([m, r["n"], r["empty_maps"], *cells, road])
    table = markdown_table(["method", "faces", "empty maps", "deletion AUC", "random", "gain", "wins", "insertion AUC",
                            "random", "gain", "wins", "ROAD (n)"], rows)
    return f"{intro}\n\n{table}\n"


def faithfulness_figure(report: dict[str, Any]):
    """A matplotlib Figure: mean deletion and insertion curves per method, random order dashed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for i, (method, r) in enumerate(report.items()):
        c, colour = r["curves"], f"C{i}"
        axes[0].plot(c["fractions"], c["deletion"], color=colour, label=f"{method} ({r['deletion_auc']:.2f})")
        axes[1].plot(c["fractions"], c["insertion"], color=colour, label=f"{method} ({r['insertion_auc']:.2f})")
    if report:
        first = next(iter(report.values()))
        c = first["curves"]
        axes[0].plot(c["fractions"], c["deletion_random"], "k--",
                     label=f"random ({first['deletion_random_auc']:.2f})")
        axes[1].plot(c["fractions"], c["insertion_random"], "k--",
                     label=f"random ({first['insertion_random_auc']:.2f})")
    for ax, title in zip(axes, ("deletion: drop of the target (higher = faithful)",
                                "insertion: rise of the target (higher = faithful)")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("share of the face removed" if ax is axes[0] else "share of the face restored", fontsize=8)
        ax.set_ylabel("target change (years for expected)", fontsize=8)
        ax.axhline(0, color="k", linewidth=0.5)
        ax.legend(fontsize=7, title="AUC", title_fontsize=7)
    return fig
