"""DLDL (KL only) against DLDL-v2 (KL + lambda L1 of the expectation), trained side by side as linear heads on
the cached features of a frozen network (dldl_core.ui.feature_cache).

For every seed the two heads start from the same weights and see the same batches, so the objective is the only
difference; several seeds show how much of a gap is chance. The summary compares them with a 95 % interval over
the validation faces and against the simplest baseline, the training median for every face.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from dldl_core.models.objectives import get_objective
from dldl_core.ui.feature_cache import FeatureSet

OBJECTIVE_NAMES = {"dldl": "DLDL (KL)", "dldl_v2": "DLDL-v2 (KL + λ L1)"}
SMALL_VALIDATION = 50  # fewer validation faces than this make the comparison a matter of chance


@dataclass(frozen=True)
class HeadConfig:
    steps: int = 200  # optimisation steps of every head
    batch_size: int = 64
    lr: float = 0.01  # Adam on standardised features
    lam: float = 1.0  # weight of the L1 term in DLDL-v2
    sigma: float = 2.0  # std of the Gaussian label distribution
    eval_every: int = 5  # steps between validation passes (and the last step)
    seeds: tuple[int, ...] = (0, 1, 2)


@dataclass
class HeadRun:
    """One head: its objective, seed, layer and optimiser."""

    objective: str
    seed: int
    head: torch.nn.Linear
    optimizer: torch.optim.Optimizer


def _standardise(features: FeatureSet) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features scaled by the training rows' mean and std; returns (x, ages, validation mask)."""
    x = torch.from_numpy(np.asarray(features.features, np.float32))
    train = torch.from_numpy(~np.asarray(features.val, bool))
    mean, std = x[train].mean(0), x[train].std(0, unbiased=False).clamp_min(1e-6)
    return (x - mean) / std, torch.from_numpy(np.asarray(features.ages, np.float32)), ~train


class HeadComparison:
    """Linear heads, one per objective and seed, trained a step at a time so a page can draw them and stop them."""

    def __init__(self, features: FeatureSet, support: torch.Tensor, config: HeadConfig = HeadConfig()) -> None:
        self.x, self.ages, val = _standardise(features)
        self.train_idx, self.val_idx = torch.nonzero(~val).flatten(), torch.nonzero(val).flatten()
        if len(self.train_idx) == 0 or len(self.val_idx) == 0:
            raise ValueError("the comparison needs both training and validation faces")
        self.support, self.config = support.float(), config
        self.objectives = {name: get_objective(name, lam=config.lam) for name in OBJECTIVE_NAMES}
        self.generators = {seed: torch.Generator().manual_seed(seed) for seed in config.seeds}
        self.runs: list[HeadRun] = []
        for seed in config.seeds:
            initial = torch.nn.Linear(self.x.shape[1], len(self.support))
            with torch.no_grad():
                initial.weight.normal_(0, 0.01, generator=self.generators[seed])
                initial.bias.zero_()  # the network's own head initialisation
            for name in OBJECTIVE_NAMES:
                head = torch.nn.Linear(self.x.shape[1], len(self.support))
                head.load_state_dict(initial.state_dict())
                self.runs.append(HeadRun(name, seed, head, torch.optim.Adam(head.parameters(), lr=config.lr)))
        self.history: list[dict[str, float | str]] = []
        self.steps_done = 0

    @property
    def done(self) -> bool:
        return self.steps_done >= self.config.steps

    def step(self) -> None:
        """One optimisation step of every head (the heads of a seed on the same batch), recorded in ``history``."""
        self.steps_done += 1
        batches = {seed: self.train_idx[torch.randint(len(self.train_idx), (self.config.batch_size,), generator=g)]
                   for seed, g in self.generators.items()}
        evaluate = self.steps_done % self.config.eval_every == 0 or self.done
        for run in self.runs:
            rows = batches[run.seed]
            sigma = torch.full((len(rows),), self.config.sigma)
            terms = self.objectives[run.objective].loss(run.head(self.x[rows]), self.ages[rows], sigma, self.support)
            run.optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            run.optimizer.step()
            record: dict[str, float | str] = {"objective": run.objective, "seed": run.seed, "step": self.steps_done,
                                              "loss": float(terms["total"].detach()), "kl": float(terms["kl"].detach()),
                                              "l1": float(terms["l1"].detach())}
            if evaluate:
                record["val_mae"] = float(self.val_errors(run).mean())
            self.history.append(record)

    def train(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Steps until done or until ``should_stop()`` (checked between steps) says so; returns the steps taken.

        Runs on one thread: the heads are so small that several threads spend more time waiting for each other
        than computing (measured 6x slower with two threads on a busy 2-core machine).
        """
        start, threads = self.steps_done, torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            while not self.done and not should_stop():
                self.step()
        finally:
            torch.set_num_threads(threads)
        return self.steps_done - start

    @torch.no_grad()
    def val_errors(self, run: HeadRun) -> np.ndarray:
        """(V,) absolute errors of a head's expectation on the validation faces."""
        logits = run.head(self.x[self.val_idx])
        age = self.objectives[run.objective].readout(logits, self.support).age
        return (age - self.ages[self.val_idx]).abs().numpy()

    def baseline(self) -> tuple[float, float]:
        """The median training age, and the validation MAE of predicting it for every face."""
        median = float(self.ages[self.train_idx].median())
        return median, float((self.ages[self.val_idx] - median).abs().mean())


@dataclass(frozen=True)
class ComparisonSummary:
    """The numbers a page reports after (part of) a comparison, and the sentence that states them."""

    steps: int  # steps taken
    planned: int  # steps asked for
    n_train: int
    n_val: int
    final: dict[str, list[float]]  # objective -> validation MAE of each seed's head now
    median_age: float
    baseline_mae: float  # predicting the median training age for every validation face
    difference: float  # mean MAE of DLDL minus that of DLDL-v2 (> 0: DLDL-v2 is lower)
    interval: tuple[float, float]  # 95 % interval of the difference over the validation faces
    lam: float = 1.0  # weight of the L1 term in DLDL-v2

    def mean(self, objective: str) -> float:
        return float(np.mean(self.final[objective]))

    def spread(self, objective: str) -> float:
        """The std over seeds (0 for one seed)."""
        values = self.final[objective]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    def sentence(self) -> str:
        return summary_sentence(self)


def summarise(comparison: HeadComparison) -> ComparisonSummary:
    """The comparison's numbers as they stand: per seed the validation MAE of each head, the baseline, and the paired
    per-face difference between the objectives (averaged over seeds) with its 95 % interval."""
    errors = {name: [comparison.val_errors(r) for r in comparison.runs if r.objective == name]
              for name in OBJECTIVE_NAMES}
    per_face = np.mean(errors["dldl"], axis=0) - np.mean(errors["dldl_v2"], axis=0)  # (V,)
    half = 1.96 * per_face.std(ddof=1) / np.sqrt(len(per_face)) if len(per_face) > 1 else float("inf")
    median, baseline = comparison.baseline()
    return ComparisonSummary(comparison.steps_done, comparison.config.steps, len(comparison.train_idx),
                             len(comparison.val_idx), {k: [float(e.mean()) for e in v] for k, v in errors.items()},
                             median, baseline, float(per_face.mean()),
                             (float(per_face.mean() - half), float(per_face.mean() + half)), comparison.config.lam)


def summary_sentence(s: ComparisonSummary) -> str:
    """What the numbers say, in the order a reader checks them: which objective is lower and whether that is more
    than chance, then both against the baseline."""
    names = {"dldl": OBJECTIVE_NAMES["dldl"], "dldl_v2": OBJECTIVE_NAMES["dldl_v2"].replace("λ", f"{s.lam:g}")}
    lo, hi = s.interval
    numbers = (f"{names['dldl_v2']} {s.mean('dldl_v2'):.2f} ± {s.spread('dldl_v2'):.2f}, {names['dldl']} "
               f"{s.mean('dldl'):.2f} ± {s.spread('dldl'):.2f} years of validation MAE (mean ± std over "
               f"{len(s.final['dldl'])} seeds)")
    interval = f"the 95 % interval of the difference over the {s.n_val} validation faces is {lo:+.2f} to {hi:+.2f}"
    if lo > 0 or hi < 0:
        lower, higher = ("dldl_v2", "dldl") if lo > 0 else ("dldl", "dldl_v2")
        verdict = f"{names[lower]} ended lower than {names[higher]}: {numbers}; {interval}."
    else:
        verdict = f"no clear difference: {numbers}; {interval}, which includes 0."
    beaten = [names[k] for k in ("dldl_v2", "dldl") if s.mean(k) < s.baseline_mae]
    subject = {0: "Neither beats", 1: f"Only {beaten[0]} beats" if beaten else "", 2: "Both beat"}[len(beaten)]
    baseline = (f"{subject} the baseline that predicts the median training age ({s.median_age:.0f}) for every face: "
                f"{s.baseline_mae:.2f}.")
    stopped = f"Stopped after {s.steps} of {s.planned} steps. " if s.steps < s.planned else f"After {s.steps} steps: "
    return f"{stopped}{verdict} {baseline}"
