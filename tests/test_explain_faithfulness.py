"""Faithfulness: ordering and AUC maths, curves and ROAD on a network with a known sensitive patch, baselines,
intervals, per-face checks and a run on a real network."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from stand_ins import SIZE, PatchAgeNet

from dldl_core.explain.faithfulness import (
    auc,
    cell_order,
    cell_scores,
    face_faithfulness,
    perturbation_curves,
    pixel_rank,
    random_map,
    rank_map,
    road_scores,
)
from dldl_core.explain.faithfulness_run import (
    evaluate_faithfulness,
    faithfulness_figure,
    faithfulness_report,
    faithfulness_table,
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


def test_pixel_rank_breaks_ties_at_random_so_every_share_is_exact():
    cam = np.zeros((10, 10))
    cam[:2] = 1.0  # a sparse map: 80 % of it is tied at zero
    rank = pixel_rank(cam, np.random.default_rng(0))
    assert (rank[:2] < 0.2).all()  # the marked pixels go first
    for share in (0.2, 0.6, 0.8):
        assert (rank < share).sum() == round(share * 100)  # a percentile threshold would take every tied zero at once
    assert not np.array_equal(rank, pixel_rank(cam, np.random.default_rng(1)))


def test_the_right_map_beats_random_and_prior_and_a_wrong_map_does_not():
    net, x = PatchAgeNet(), torch.ones(1, 3, SIZE, SIZE)
    target = ExpectedAgeTarget(net.support)
    rng = np.random.default_rng(0)
    prior = np.full((SIZE, SIZE), 0.5, np.float32)
    good = perturbation_curves(net, x, patch_map(), target, prior, steps=16, cells=8, fill="mean", rng=rng)
    bad = perturbation_curves(net, x, 1 - patch_map(), target, prior, steps=16, cells=8, fill="mean", rng=rng)
    d = good.values
    assert good.fractions[0] == 0 and good.fractions[-1] == 1 and len(d["deletion_map"]) == 17
    assert d["deletion_map"][0] == 0 and d["insertion_map"][0] == 0 and d["deletion_kl_map"][0] == pytest.approx(0)
    assert d["deletion_map"][-1] == pytest.approx(20, abs=0.5)  # everything hidden: age 50 instead of 70
    assert d["insertion_map"][-1] == pytest.approx(20, abs=0.5)
    assert d["deletion_shift_map"][-1] == pytest.approx(20, abs=0.5) and d["deletion_kl_map"][-1] > 1
    a, b = good.aucs(), bad.aucs()
    assert a["deletion_map"] > 17 and a["insertion_map"] > 17  # the patch goes first (1/16 of the face)
    assert b["deletion_map"] < 2 and b["insertion_map"] < 2  # the patch goes last
    assert b["deletion_map"] < a["deletion_random"] < a["deletion_map"]
    assert a["deletion_prior"] < a["deletion_map"] and a["deletion_kl_map"] > a["deletion_kl_random"]


def test_a_flat_colour_patch_is_invisible_to_the_blur_fill():
    """The fill decides what is measured: on a flat image a blur changes nothing, so no order moves the age."""
    net, x = PatchAgeNet(), torch.ones(1, 3, SIZE, SIZE)
    curves = perturbation_curves(net, x, patch_map(), ExpectedAgeTarget(net.support), steps=4, cells=8, fill="blur")
    assert np.abs(curves.values["deletion_map"]).max() < 1e-3


def test_road_rewards_the_right_map_over_a_random_one():
    """The patch differs from its surroundings, so imputing it from them moves the age (about -20 years)."""
    net = PatchAgeNet()
    x = torch.zeros(1, 3, SIZE, SIZE)
    x[:, :, 8:16, 16:24] = 1.0
    target = ExpectedAgeTarget(net.support)
    good = road_scores(net, x, patch_map(), target, np.random.default_rng(0), percentiles=(20, 80))
    bad = road_scores(net, x, 1 - patch_map(), target, np.random.default_rng(0), percentiles=(20, 80))
    assert good["morf"] < -15 and abs(good["lerf"]) < 2
    assert good["combined"] > good["random_combined"] and good["combined"] > 5
    assert bad["combined"] < -5


def test_face_faithfulness_gives_the_right_map_a_positive_gain():
    net, x = PatchAgeNet(), torch.ones(1, 3, SIZE, SIZE)
    target = ExpectedAgeTarget(net.support)
    good = face_faithfulness(net, x, patch_map(), target, fill="mean", cells=8)
    bad = face_faithfulness(net, x, 1 - patch_map(), target, fill="mean", cells=8)
    assert good.gain > 5 > -5 > bad.gain and good.fill == "mean" and good.random_spread >= 0


def test_evaluate_faithfulness_on_a_real_network(tmp_path):
    from dldl_core.models.networks import create_model

    torch.manual_seed(0)
    net = create_model("tiny", max_age=116, num_bins=117).eval()
    faces = [(torch.randn(1, 3, 32, 32), age) for age in (2.0, 30.0, 35.0)]
    results = evaluate_faithfulness(net, faces, ["gradcam", "eigencam"], ExpectedAgeTarget(net.support), steps=4,
                                    road_faces=1)
    report = faithfulness_report(results)
    assert set(report) == {"gradcam", "eigencam"}
    for r in report.values():
        assert r["n"] == 3 and len(r["curves"]["deletion_map"]) == 5 and r["fill"] == "blur"
        assert 0 <= r["deletion_beats_random"] <= 1 and np.isfinite(r["road_gain"]) and r["road_faces"] == 1
        assert r["deletion_gain"] == pytest.approx(r["deletion_auc"] - r["deletion_random_auc"], abs=1e-6)
        lo, hi = r["deletion_gain_ci95"]
        assert lo <= r["deletion_gain"] <= hi
        assert set(r["by_stage"]) == {"0-3", "20-39"} and r["by_stage"]["20-39"]["n"] == 2
    # the same faces and random orders for every method: the random baselines coincide
    assert report["gradcam"]["deletion_random_auc"] == pytest.approx(report["eigencam"]["deletion_random_auc"])
    data = {"weights": {"file": "net.safetensors", "input_size": 32}, "split": "val", "target": "expected",
            "fill": "blur", "methods": report}
    table = faithfulness_table(data)
    assert "deletion gain vs random" in table and "20-39" in table and "a strong blur" in table
    faithfulness_figure(report).savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
