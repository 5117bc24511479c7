"""Faithfulness: ordering and AUC maths, curves on a network with a known sensitive patch, ROAD through grad-cam."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from stand_ins import SIZE, PatchAgeNet

from dldl_core.explain.faithfulness import (
    auc,
    cell_order,
    cell_scores,
    evaluate_faithfulness,
    faithfulness_report,
    perturbation_curves,
    random_map,
    rank_map,
    road_scores,
)
from dldl_core.explain.targets import ExpectedAgeTarget


def patch_map() -> np.ndarray:
    cam = np.zeros((SIZE, SIZE), np.float32)
    cam[8:16, 16:24] = 1.0
    return cam


def test_auc_is_the_mean_height():
    f = np.linspace(0, 1, 11)
    assert auc(f, np.ones(11)) == pytest.approx(1.0)
    assert auc(f, f) == pytest.approx(0.5)
    assert auc(f, f**2) == pytest.approx(1 / 3, abs=0.01)


def test_cell_scores_and_order():
    cam = np.zeros((8, 8))
    cam[:4, 4:] = 1.0
    cam[4:, :4] = 0.5
    scores = cell_scores(cam, 2)
    np.testing.assert_allclose(scores, [[0, 1], [0.5, 0]])
    order = cell_order(scores, np.zeros((2, 2)))
    assert order[:2].tolist() == [1, 2] and sorted(order[2:].tolist()) == [0, 3]


def test_ties_follow_the_tie_break_map():
    tie_break = np.array([[0.1, 0.9], [0.5, 0.7]])
    assert cell_order(np.zeros((2, 2)), tie_break).tolist() == [1, 3, 2, 0]
    assert cell_order(np.array([[1.0, 0], [0, 0]]), tie_break).tolist() == [0, 1, 3, 2]


def test_rank_map_assigns_each_pixel_its_cell_rank():
    ranks = rank_map(np.array([3, 0, 2, 1]), 2, 6)
    assert ranks.shape == (6, 6)
    assert ranks[4, 4] == 0.0 and ranks[0, 0] == 0.25 and ranks[5, 0] == 0.5 and ranks[0, 5] == 0.75


def test_random_map_is_smooth_and_random():
    rng = np.random.default_rng(0)
    a, b = random_map(64, 4, rng), random_map(64, 4, rng)
    assert a.shape == (64, 64) and not np.allclose(a, b)
    assert np.abs(np.diff(a, axis=1)).max() < 0.1  # blobs, not speckle


def test_the_right_map_beats_random_and_a_wrong_map_does_not():
    net, x = PatchAgeNet(), torch.ones(1, 3, SIZE, SIZE)
    target = ExpectedAgeTarget(net.support)
    rng = np.random.default_rng(0)
    good = perturbation_curves(net, x, patch_map(), target, steps=16, cells=8, rng=rng)
    bad = perturbation_curves(net, x, 1 - patch_map(), target, steps=16, cells=8, rng=rng)
    assert good.fractions[0] == 0 and good.fractions[-1] == 1 and len(good.deletion) == 17
    assert good.deletion[0] == 0 and good.insertion[0] == 0
    assert good.deletion[-1] == pytest.approx(20, abs=0.5)  # everything filled: age 50 instead of 70
    assert good.insertion[-1] == pytest.approx(20, abs=0.5)
    a, b = good.aucs(), bad.aucs()
    assert a["deletion"] > 17 and a["insertion"] > 17  # the patch goes first (1/16 of the face)
    assert b["deletion"] < 2 and b["insertion"] < 2  # the patch goes last
    assert b["deletion"] < a["deletion_random"] < a["deletion"]


def test_road_scores_reward_the_right_map():
    """The patch differs from its surroundings, so imputing it from them moves the age (about -20 years)."""
    net = PatchAgeNet()
    torch.manual_seed(0)
    x = torch.zeros(2, 3, SIZE, SIZE)
    x[:, :, 8:16, 16:24] = 1.0
    jitter = 0.01 * np.random.default_rng(0).random((SIZE, SIZE)).astype(np.float32)  # no ties in the maps
    cams = np.stack([patch_map() + jitter, 1 - patch_map() + jitter])
    scores = road_scores(net, x, cams, ExpectedAgeTarget(net.support), percentiles=(80,))
    assert set(scores) == {"morf", "lerf", "combined"} and scores["combined"].shape == (2,)
    assert scores["morf"][0] < -10 and abs(scores["lerf"][0]) < 2
    assert scores["combined"][0] > 5 > -5 > scores["combined"][1]


def test_evaluate_faithfulness_on_a_real_network():
    from dldl_core.models.networks import create_model

    torch.manual_seed(0)
    net = create_model("tiny", max_age=116, num_bins=117).eval()
    inputs = [torch.randn(1, 3, 32, 32) for _ in range(2)]
    results = evaluate_faithfulness(net, inputs, ["gradcam", "eigencam"], ExpectedAgeTarget(net.support), steps=4,
                                    road_faces=1)
    report = faithfulness_report(results)
    assert set(report) == {"gradcam", "eigencam"}
    for r in report.values():
        assert r["n"] == 2 and len(r["curves"]["deletion"]) == 5
        assert 0 <= r["deletion_beats_random"] <= 1 and np.isfinite(r["road_combined"])
        assert r["deletion_gain"] == pytest.approx(r["deletion_auc"] - r["deletion_random_auc"], abs=1e-6)
