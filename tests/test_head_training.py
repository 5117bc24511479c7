"""Linear heads trained with DLDL and DLDL-v2 on features with a known linear age relation: they learn, the seeds
differ, the stop flag stops, and the summary says what the numbers say."""
import re

import numpy as np
import pytest
import torch

from dldl_core.ui.feature_cache import FeatureSet
from dldl_core.ui.head_training import ComparisonSummary, HeadComparison, HeadConfig, summarise, summary_sentence

SUPPORT = torch.arange(117, dtype=torch.float32)


def linear_features(n: int = 400, n_val: int = 100, channels: int = 16, seed: int = 0) -> FeatureSet:
    """Features whose first channel is a noisy linear function of the age; the others are noise."""
    rng = np.random.default_rng(seed)
    ages = rng.uniform(1, 90, n).astype(np.float32)
    x = rng.normal(size=(n, channels)).astype(np.float32)
    x[:, 0] = (ages - 45) / 20 + rng.normal(scale=0.05, size=n)
    return FeatureSet(x, ages, np.arange(n) < n_val)


def val_curve(comparison: HeadComparison, objective: str, seed: int) -> list[float]:
    return [r["val_mae"] for r in comparison.history
            if r["objective"] == objective and r["seed"] == seed and "val_mae" in r]


def test_dldl_v2_learns_a_linear_age_relation_better_than_the_median():
    comparison = HeadComparison(linear_features(), SUPPORT, HeadConfig(steps=150, seeds=(0,)))
    assert comparison.train() == 150 and comparison.done
    summary = summarise(comparison)
    median, baseline = comparison.baseline()
    assert summary.median_age == median and 40 < median < 50
    assert summary.baseline_mae == baseline and 20 < baseline < 25  # uniform ages 1..90: about 22 years
    assert summary.mean("dldl_v2") < baseline / 3
    assert val_curve(comparison, "dldl_v2", 0)[-1] < val_curve(comparison, "dldl_v2", 0)[0]
    assert summary.n_train == 300 and summary.n_val == 100 and summary.steps == summary.planned == 150


def test_both_objectives_start_alike_and_the_seeds_differ():
    comparison = HeadComparison(linear_features(), SUPPORT, HeadConfig(steps=10, eval_every=2, seeds=(0, 1)))
    comparison.train()
    first = [r for r in comparison.history if r["step"] == 1]
    for seed in (0, 1):  # same weights and batch for both objectives of a seed: the same KL at step 1
        kl = [r["kl"] for r in first if r["seed"] == seed]
        assert kl[0] == pytest.approx(kl[1], rel=1e-6)
    assert val_curve(comparison, "dldl", 0) != val_curve(comparison, "dldl", 1)
    assert [r["step"] for r in comparison.history if "val_mae" in r][::4] == [2, 4, 6, 8, 10]
    assert len(comparison.history) == 10 * 2 * 2
    dldl = [r for r in comparison.history if r["objective"] == "dldl"]
    assert all(r["loss"] == pytest.approx(r["kl"]) for r in dldl)  # KL only


def test_the_stop_flag_stops_between_steps():
    comparison = HeadComparison(linear_features(), SUPPORT, HeadConfig(steps=100))
    checks = iter([False, False, False, True])
    assert comparison.train(lambda: next(checks)) == 3
    assert comparison.steps_done == 3 and not comparison.done
    sentence = summarise(comparison).sentence()
    assert sentence.startswith("Stopped after 3 of 100 steps.")
    assert comparison.train(lambda: False) == 97 and comparison.done  # it can go on where it stopped


def test_the_comparison_needs_both_kinds_of_faces():
    only_train = FeatureSet(np.zeros((4, 3), np.float32), np.ones(4, np.float32), np.zeros(4, bool))
    with pytest.raises(ValueError, match="validation"):
        HeadComparison(only_train, SUPPORT)


def summary(dldl, dldl_v2, interval, baseline=20.0):
    return ComparisonSummary(50, 50, 300, 100, {"dldl": dldl, "dldl_v2": dldl_v2}, 40.0, baseline,
                             float(np.mean(dldl) - np.mean(dldl_v2)), interval)


@pytest.mark.parametrize("values, interval, verdict", [
    (([6.0, 6.2], [5.0, 5.2]), (0.5, 1.5), "DLDL-v2 (KL + 1 L1) ended lower than DLDL (KL)"),
    (([5.0, 5.2], [6.0, 6.2]), (-1.5, -0.5), "DLDL (KL) ended lower than DLDL-v2 (KL + 1 L1)"),
    (([5.0, 5.2], [5.1, 5.1]), (-0.3, 0.3), "no clear difference"),
])
def test_the_sentence_states_the_numbers(values, interval, verdict):
    s = summary(*values, interval)
    sentence = summary_sentence(s)
    assert verdict in sentence and sentence.startswith("After 50 steps: ")
    numbers = [float(v) for v in re.findall(r"[-+]?\d+\.\d+", sentence)]
    assert numbers[:4] == [round(s.mean("dldl_v2"), 2), round(s.spread("dldl_v2"), 2), round(s.mean("dldl"), 2),
                           round(s.spread("dldl"), 2)]
    assert f"{interval[0]:+.2f} to {interval[1]:+.2f}" in sentence and "100 validation faces" in sentence
    assert "Both beat the baseline" in sentence and "(40)" in sentence and "20.00" in sentence


def test_the_sentence_says_who_misses_the_baseline():
    assert "Only DLDL-v2 (KL + 1 L1) beats" in summary_sentence(summary([9.0], [5.0], (3.0, 5.0), baseline=8.0))
    assert "Neither beats" in summary_sentence(summary([9.0], [9.5], (-1.0, 0.2), baseline=8.0))
