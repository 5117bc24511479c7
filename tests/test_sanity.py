"""Sanity checks of the CAM methods: similarity measures, the cascade, the verdict rule, the report helpers and
``dldl sanity``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dldl_core.cli.main import main
from dldl_core.explain.sanity import (
    SPEARMAN_THRESHOLD,
    bootstrap_mean,
    cam_network,
    cascade_steps,
    empty_maps,
    load_sanity_report,
    method_maps,
    method_verdict,
    randomised_cascade,
    reinitialise,
    sanity_check,
    shows_network,
    spearman,
    ssim,
)
from dldl_core.models.networks import create_model

SHIPPED = Path(__file__).resolve().parent.parent / "weights" / "thin_age_net.safetensors"


def _ramp(size: int = 16) -> np.ndarray:
    return np.add.outer(np.arange(size), np.arange(size) * 0.5) / (1.5 * (size - 1))


def test_identical_maps_score_one():
    cam = _ramp()
    assert spearman(cam, cam) == pytest.approx(1.0)
    assert ssim(cam, cam) == pytest.approx(1.0)


def test_a_map_against_its_reverse_scores_negative():
    cam = _ramp()
    assert spearman(cam, 1 - cam) == pytest.approx(-1.0)
    assert ssim(cam, 1 - cam) < 0


def test_constant_maps_rank_nothing():
    flat = np.zeros((8, 8))
    assert spearman(flat, _ramp(8)) == 0.0 and spearman(flat, flat) == 1.0 and spearman(flat, flat + 0.5) == 0.0


def test_empty_maps_are_counted():
    maps = np.stack([np.zeros((8, 8)), _ramp(8), np.full((8, 8), 0.3)])
    assert empty_maps(maps) == 2


def test_bootstrap_interval_brackets_the_mean():
    values = np.random.default_rng(0).normal(0.3, 0.1, 200)
    s = bootstrap_mean(values)
    assert s["lo"] < s["mean"] < s["hi"] and s["n"] == 200 and s["hi"] - s["lo"] < 0.05
    assert bootstrap_mean(values) == s  # seeded


def test_verdict_rule():
    assert shows_network(0.1, 0.2) and shows_network(0.1, None)
    assert not shows_network(0.8, 0.1) and not shows_network(0.1, 0.8)
    assert not shows_network(SPEARMAN_THRESHOLD, None) and shows_network(0.6, None, threshold=0.7)


def test_cascade_steps_run_from_the_head_to_the_input():
    model = create_model("tiny")
    steps = cascade_steps(model)
    assert [name for name, _ in steps] == ["head", "last_block", "block5", "block4", "block3", "block2", "block1"]
    modules = [m for _, names in steps for m in names]
    conv_blocks = [f"features.{n}" for n, m in model.features.named_children() if isinstance(m, torch.nn.Sequential)]
    assert sorted(modules) == sorted(["head", *conv_blocks]) and len(set(modules)) == len(modules)
    assert model.get_submodule(steps[1][1][0]) is model.features.last_block
    assert len(steps[2][1]) == 2 and len(steps[3][1]) == 3 and len(steps[-1][1]) == 2


def test_reinitialise_resets_batchnorm_statistics_and_is_seeded():
    block = create_model("tiny").features.last_block
    block[1].running_mean.fill_(3.0)
    draws = []
    for _ in range(2):
        torch.manual_seed(5)
        reinitialise(block)
        draws.append(block[0].weight.detach().clone())
    assert torch.equal(draws[0], draws[1]) and float(block[1].running_mean.abs().max()) == 0.0


def test_cascade_leaves_the_model_untouched():
    torch.manual_seed(0)
    model = create_model("tiny").eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    names = [name for name, _ in randomised_cascade(model, seed=0)]
    assert names[0] == "head" and names[-1] == "block1"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.fixture(scope="module")
def hopper_input(grace_hopper_path):
    from dldl_core.data.images import load_rgb
    from dldl_core.explain.explainer import Explainer
    from dldl_core.pipeline.predictor import Predictor

    with Predictor(SHIPPED, device="cpu") as predictor:
        explainer = Explainer(predictor)
        face = predictor.predict_rgb(load_rgb(grace_hopper_path), max_faces=1)[0]
        yield predictor.model, explainer.input(face.chip), explainer.support


def test_randomised_network_gradcam_differs_from_the_trained_one_on_a_real_photo(hopper_input):
    from dldl_core.explain.targets import parse_target

    model, x, support = hopper_input
    target = parse_target("expected", support)
    trained = method_maps(cam_network(model), x, ["gradcam"], target)["gradcam"][0]
    steps = dict(randomised_cascade(model, seed=0))
    randomised = method_maps(steps["last_block"], x, ["gradcam"], target)["gradcam"][0]
    assert trained.max() > 0 and spearman(trained, trained) == pytest.approx(1.0)
    assert spearman(trained, randomised) < SPEARMAN_THRESHOLD
    assert np.abs(trained - randomised).mean() > 0.05


def test_sanity_check_report_and_verdict_sentence(hopper_input, tmp_path):
    from dldl_core.explain.targets import parse_target

    model, x, support = hopper_input
    faces = torch.cat([x, x.flip(-1)])
    report = sanity_check(model, faces, ["gradcam", "eigencam"], parse_target("expected", support),
                          shuffled=create_model("thin", max_age=116, num_bins=117).eval())
    r = report["methods"]["eigencam"]
    assert report["n"] == 2 and report["steps"][:2] == ["head", "last_block"]
    assert r["cascade"]["head"]["spearman"]["mean"] == pytest.approx(1.0)  # EigenCAM never reads the head
    assert set(r) >= {"cascade", "shuffled", "different_faces", "shows_network", "trained_empty_maps"}
    assert 0 <= r["shuffled"]["empty_maps"] <= 2 and set(r["cascade"]["block1"]) == {"spearman", "ssim", "empty_maps"}
    (tmp_path / "sanity.json").write_text(json.dumps({**report, "split": "val"}))
    loaded = load_sanity_report(tmp_path / "sanity.json")
    sentence = method_verdict(loaded, "gradcam")
    assert sentence.startswith("Grad-CAM ") and "sanity check" in sentence and "2 val faces" in sentence
    assert method_verdict(loaded, "scorecam") is None and load_sanity_report(tmp_path / "missing.json") is None


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sanity_command(capsys, tmp_path, photo_folder, random_weights):
    folder, manifest = photo_folder
    code, out, err = run(capsys, "sanity", "--data", folder, "--manifest", manifest, "--split", "all", "--limit", "3",
                         "--methods", "gradcam,eigencam", "--shuffled-weights", random_weights, "--out", tmp_path,
                         "--weights", random_weights, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"weights", "shuffled_weights", "target", "split", "n", "steps", "threshold", "verdict_step", "methods",
            "files", "wall_s"} <= set(data)
    assert set(data["methods"]) == {"gradcam", "eigencam"} and data["n"] == 3
    assert {"cascade", "shuffled", "different_faces", "shows_network", "verdict"} <= set(data["methods"]["gradcam"])
    assert all((tmp_path / f"sanity.{ext}").is_file() for ext in ("json", "md", "png"))


@pytest.mark.parametrize("change", [("--manifest", "missing.csv"), ("--methods", "gradcam,nocam"),
                                    ("--shuffled-weights", "missing.safetensors")])
def test_sanity_command_bad_input_exits_2(capsys, tmp_path, photo_folder, random_weights, change):
    folder, manifest = photo_folder
    argv = {"--data": folder, "--manifest": manifest, "--methods": "gradcam", "--out": tmp_path,
            "--weights": random_weights}
    argv[change[0]] = tmp_path / change[1] if change[1].startswith("missing") else change[1]
    code, out, err = run(capsys, "sanity", *[v for kv in argv.items() for v in kv])
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("dldl: error: ")
