"""Faithfulness of the CAM methods over a set of faces: the run, its report, its table and its figure."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from dldl_core.explain.faithfulness import MethodFaithfulness, perturbation_curves, road_scores
from dldl_core.explain.fills import DEFAULT_FILL, FILLS, Fill, fill_name
from dldl_core.explain.targets import Target
from dldl_core.markdown import markdown_table
from dldl_core.maths.age_groups import age_stage


def evaluate_faithfulness(model: nn.Module, faces: Iterable[tuple[torch.Tensor, float]], methods: Iterable[str],
                          target: Target, steps: int = 10, cells: int = 16, road_faces: int = 0, seed: int = 0,
                          fill: Fill = DEFAULT_FILL, progress: bool = False) -> dict[str, MethodFaithfulness]:
    """Curves of each method over faces (and ROAD for the first ``road_faces``), in two passes: the maps of every
    face first (each method's mean map is its prior), then the curves.

    Args:
        model: the age network (e.g. an ``Explainer``'s copy).
        faces: (normalised (1, 3, S, S) input, true age) per face.
        methods: CAM method names.
        target: the target every map explains.
        steps, cells: see ``perturbation_curves``.
        road_faces: how many faces also get ROAD scores (one sparse solve per percentile and order).
        seed: seeds the random orders, the tie breaks and the imputation noise.
        fill: what replaces a hidden cell in the deletion and insertion curves (ROAD always imputes).
        progress: show a progress bar per pass (maps, then curves).
    """
    from tqdm import tqdm

    from dldl_core.explain.cam import compute_cam, method_name

    methods = [method_name(m) for m in methods]
    faces = list(faces)
    cams = {m: [compute_cam(model, x, target, m)[0] for x, _ in faces]  # (S, S) each
            for m in tqdm(methods, desc="maps per method", disable=not progress)}
    results = {m: MethodFaithfulness(m, fill_name(fill)) for m in methods}
    torch.manual_seed(seed)
    for m in tqdm(methods, desc="curves per method", disable=not progress):
        prior = np.mean(cams[m], axis=0) if cams[m] else None
        for i, ((x, age), cam) in enumerate(zip(faces, cams[m])):
            rng = np.random.default_rng([seed, i])  # the same random order for every method of a face
            curves = perturbation_curves(model, x, cam, target, prior, steps, cells, fill, rng, seed)
            road = road_scores(model, x, cam, target, np.random.default_rng([seed, i, 1]), seed=seed) \
                if i < road_faces else None
            results[m].add(curves, age_stage(age), bool(cam.max() <= 0), road)
    return results


def faithfulness_report(results: dict[str, MethodFaithfulness], seed: int = 0) -> dict[str, Any]:
    """Per method: the summary numbers and the mean curves."""
    return {m: {**r.summary(seed), "curves": r.mean_curves()} for m, r in results.items() if r.n}


def sanity_rank_corr(model: nn.Module, x: torch.Tensor, methods: list[str], target: Target, seed: int = 0
                     ) -> dict[str, float]:
    """Per method: the mean Spearman correlation over the faces ``x`` (N, 3, S, S) between the trained network's maps
    and the maps once its head and the CAM's own block are re-initialised (the sanity check's verdict step,
    ``dldl_core.explain.sanity``); near 1, the map does not show what the network learned."""
    from dldl_core.explain.sanity import VERDICT_STEP, cam_network, map_similarities, method_maps, randomised_cascade

    trained = method_maps(cam_network(model), x, methods, target)
    for step, network in randomised_cascade(model, seed):
        if step == VERDICT_STEP:
            randomised = method_maps(network, x, methods, target)
            return {m: float(map_similarities(trained[m], randomised[m])["spearman"].mean()) for m in methods}
    raise ValueError(f"the network has no {VERDICT_STEP} step to randomise")


def _ci(value: float | None, ci: list[float | None], fmt: str = "+.2f") -> str:
    if value is None:
        return "-"
    return f"{value:{fmt}}" + ("" if ci[0] is None else f" [{ci[0]:{fmt}}, {ci[1]:{fmt}}]")


def faithfulness_table(data: dict[str, Any]) -> str:
    """Markdown tables of a faithfulness run (``data``: weights, target, split, fill and the per-method report)."""
    from dldl_core.explain.samples import describe_weights

    fill = data.get("fill", DEFAULT_FILL)
    intro = (f"Weights {describe_weights(data['weights'])}; split {data['split'] or 'all'}, target "
             f"`{data['target']}`, hidden cells filled with {FILLS.get(fill, fill)} (`{fill}`). Gains are the map's "
             "AUC minus a baseline order's, paired per face, mean and 95 % bootstrap interval over faces (target's "
             "units: years for `expected`); higher is more faithful. ROAD: (LeRF - MoRF) / 2 minus the same for a "
             "random map, noisy linear imputation, ties broken at random.")
    rows = []
    for m, r in data["methods"].items():
        road = _ci(r["road_gain"], r["road_gain_ci95"]) + f" ({r['road_faces']})" if "road_gain" in r else "-"
        rows.append([m, r["n"], r["empty_maps"], _ci(r["deletion_gain"], r["deletion_gain_ci95"]),
                     _ci(r["deletion_gain_vs_prior"], r["deletion_gain_vs_prior_ci95"]),
                     _ci(r["insertion_gain"], r["insertion_gain_ci95"]),
                     _ci(r["deletion_kl_gain"], r["deletion_kl_gain_ci95"], "+.3f"),
                     f"{r['deletion_beats_random']:.0%}", road, _sanity_cell(r)])
    table = markdown_table(["method", "faces", "empty maps", "deletion gain vs random", "vs prior", "insertion gain",
                            "KL deletion gain", "faces won", "ROAD gain (n)", "sanity: rank corr."], rows)
    return f"{intro}\n\n{table}\n\n{stage_table(data['methods'])}\n"


def _sanity_cell(r: dict[str, Any]) -> str:
    value = r.get("sanity_rank_corr")
    return "-" if value is None else f"{value:.2f}"


def stage_table(methods: dict[str, Any], measure: str = "deletion_gain") -> str:
    """Markdown: the deletion gain over random order per method and age stage, with its 95 % interval."""
    stages = sorted({s for r in methods.values() for s in r.get("by_stage", {})},
                    key=lambda s: int(s.split("-")[0].rstrip("+")))
    rows = [[m, *(_ci(r["by_stage"][s][measure], r["by_stage"][s][f"{measure}_ci95"])
                  + f" ({r['by_stage'][s]['n']})" if s in r.get("by_stage", {}) else "-" for s in stages)]
            for m, r in methods.items()]
    return ("Deletion gain over random order per age stage (mean [95 % interval] (faces)):\n\n"
            + markdown_table(["method", *stages], rows))


def faithfulness_figure(report: dict[str, Any], fill: str = DEFAULT_FILL):
    """A matplotlib Figure: mean deletion and insertion curves per method (random order dashed, the same faces and
    random orders for every method) and each method's gains with their 95 % intervals."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for i, (method, r) in enumerate(report.items()):
        c = r["curves"]
        for ax, m in zip(axes[:2], ("deletion", "insertion")):
            ax.plot(c["fractions"], c[f"{m}_map"], color=f"C{i}", label=method)
    if report:
        c = next(iter(report.values()))["curves"]
        for ax, m in zip(axes[:2], ("deletion", "insertion")):
            ax.plot(c["fractions"], c[f"{m}_random"], "k--", label="random order")
    for ax, m, what in zip(axes[:2], ("deletion", "insertion"), ("hidden", "restored")):
        ax.set_title(f"{m}: change of the target, fill: {fill}", fontsize=9)
        ax.set_xlabel(f"share of the face {what}", fontsize=8)
        ax.set_ylabel("target change (years for expected)", fontsize=8)
        ax.axhline(0, color="k", linewidth=0.5)
        ax.legend(fontsize=7)
    _gain_panel(axes[2], report)
    return fig


def _gain_panel(ax: Any, report: dict[str, Any]) -> None:
    """Per method: deletion gain over random order and over the prior, and insertion gain, with 95 % intervals."""
    names = list(report)
    rows = (("deletion_gain", "deletion vs random", "o"), ("deletion_gain_vs_prior", "deletion vs prior", "s"),
            ("insertion_gain", "insertion vs random", "^"))
    for k, (key, label, marker) in enumerate(rows):
        y = np.arange(len(names)) + (k - 1) * 0.22
        values = np.array([report[m][key] for m in names])
        ci = np.array([[v if b is None else b for b in report[m][f"{key}_ci95"]]
                       for m, v in zip(names, values)]).T  # no interval for a single face
        ax.errorbar(values, y, xerr=np.abs(ci - values), fmt=marker, capsize=3, label=label)
    ax.set_yticks(np.arange(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="k", linewidth=0.5)
    ax.set_title("gain of the map's order, 95 % intervals over faces", fontsize=9)
    ax.set_xlabel("AUC gain (target's units; > 0: faithful)", fontsize=8)
    ax.legend(fontsize=7)
