"""Age-stage analysis on a small labelled folder: grouping, aggregates only, and the written report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dldl_core.explain import stages
from dldl_core.explain.regions import face_regions
from dldl_core.explain.samples import select_rows
from dldl_core.explain.stages import analyse_stages, cam_mass, write_stage_report
from dldl_core.maths.age_groups import AGE_STAGES, age_stage
from dldl_core.models.preprocess import template_points


@pytest.fixture(scope="module")
def explainer(random_weights):
    from dldl_core.explain.explainer import Explainer
    from dldl_core.pipeline.predictor import Predictor

    with Predictor(random_weights, device="cpu") as predictor:
        yield Explainer(predictor)


def test_select_rows_limits_each_stage(photo_folder):
    folder, manifest = photo_folder
    rows = select_rows(manifest, folder, None, 2, age_stage, seed=0)
    assert sorted(age_stage(r.age) for r in rows) == ["20-39", "20-39", "60+", "60+"]
    assert rows == select_rows(manifest, folder, None, 2, age_stage, seed=0)
    assert len(select_rows(manifest, folder, "val", None, age_stage)) == 2
    with pytest.raises(ValueError):
        select_rows(manifest, folder, "test", None, age_stage)
    with pytest.raises(ValueError):
        select_rows(manifest, folder, None, 0, age_stage)


def test_bad_targets_fail_before_any_work(explainer, photo_folder):
    folder, manifest = photo_folder
    with pytest.raises(ValueError):
        analyse_stages(explainer, folder, manifest, split=None, targets=["expected", "bin:999"])
    with pytest.raises(ValueError):
        analyse_stages(explainer, folder, manifest, split=None, targets=[])
    with pytest.raises(ValueError, match="unknown fill"):
        analyse_stages(explainer, folder, manifest, split=None, fill="black")


def test_cam_mass_shares():
    regions = face_regions(template_points(None, 100), 100)
    shares = cam_mass(np.ones((100, 100)), regions)
    assert sum(shares.values()) == pytest.approx((regions.labels >= 0).mean())
    assert shares == pytest.approx(regions.area_fractions())
    assert set(cam_mass(np.zeros((100, 100)), regions).values()) == {0.0}


@pytest.mark.parametrize("pipeline", ["full", "chip"])
def test_stage_analysis_on_a_small_manifest(explainer, photo_folder, tmp_path, pipeline):
    folder, manifest = photo_folder
    analysis = analyse_stages(explainer, folder, manifest, split=None, limit=2, pipeline=pipeline)
    summary = analysis.to_json()
    counts = {name: s["n"] for name, s in summary["stages"].items()}
    assert counts == {"0-3": 0, "4-12": 0, "13-19": 0, "20-39": 2, "40-59": 0, "60+": 2}
    assert summary["faces"] == 4 and summary["skipped"] == 0
    senior = summary["stages"]["60+"]
    assert senior["true_age_mean"] == pytest.approx(77)
    assert set(senior["regions"]) >= {"forehead", "brows", "left_eye", "right_eye", "nose", "left_cheek",
                                      "right_cheek", "mouth", "chin", "hair_background"}
    assert 0.6 < sum(r["area"] for r in senior["regions"].values()) <= 1.0  # the rest: face skin between regions
    for row in senior["regions"].values():  # hiding a region moves the error by at most the move of the estimate
        assert abs(row["delta_mae"]) <= row["abs_delta_age"] + 1e-9
    assert set(senior["cam_mass"]) == {"expected", "younger", "predicted"}
    for shares in senior["cam_mass"].values():
        assert all(v >= 0 for v in shares.values()) and sum(shares.values()) <= 1 + 1e-6
    assert len(senior["strips"]["delta_mae"]) == 7 and np.isfinite(senior["strips"]["delta_age"]).all()
    assert len(senior["strips"]["delta_mae_se"]) == 7
    assert all(r["delta_mae_se"] >= 0 for r in senior["regions"].values())
    _check_statistics(summary, faces_per_stage=2)
    assert analysis.mean_cam("60+", "predicted").shape == (stages.MAP_SIZE, stages.MAP_SIZE)
    assert analysis.mean_cam("60+", "predicted").max() == pytest.approx(1.0)
    assert analysis.mean_cam("0-3").max() == 0
    # Four faces are too few for a mean face: none is kept, so the figure shows no individual.
    assert analysis.mean_face("60+") is None and analysis.mean_face() is None

    files = write_stage_report(analysis, tmp_path / "out")
    assert Image.open(files["figure"]).size[0] > 400
    written = json.loads(Path(files["json"]).read_text())
    assert written["stages"]["60+"]["n"] == 2
    assert written["weights"]["file"] == "random_tiny.safetensors" and written["weights"]["input_size"] == 64
    assert "/" not in json.dumps(written["weights"])  # the weights are named, not located on this machine
    tables = Path(files["markdown"]).read_text()
    assert "random_tiny.safetensors" in tables and "| mouth |" in tables and "| 1: 0-14 % |" in tables
    assert "| 3: 29-43 % eyes*, ears |" in tables and "p_H" in tables and "Spearman" in tables
    assert "a strong blur of the same face" in tables and "NaN" not in tables
    rows = Path(files["csv"]).read_text().splitlines()
    assert rows[0].split(",") == ["stage", "n", "region", "delta_age", "abs_delta_age", "delta_mae", "delta_mae_ci95",
                                  "area", "delta_mae_per_area", "p", "p_holm", "replicated", "cam_mass_expected",
                                  "cam_mass_younger", "cam_mass_predicted"]
    assert len(rows) == 1 + len(AGE_STAGES) * 10


def test_mean_face_needs_enough_faces(explainer, photo_folder, monkeypatch):
    folder, manifest = photo_folder
    monkeypatch.setattr(stages, "MIN_FACES_FOR_MEAN_FACE", 2)
    analysis = analyse_stages(explainer, folder, manifest, split=None, limit=2, pipeline="full", targets=["younger"])
    assert analysis.targets == ("younger",) and set(analysis.stages["60+"].cams) == {"younger"}
    face = analysis.mean_face("60+")
    assert face is not None and face.shape == (stages.MAP_SIZE, stages.MAP_SIZE, 3) and face.dtype == np.uint8
    assert analysis.mean_face("4-12") is None


def _check_statistics(report: dict, faces_per_stage: int) -> None:
    """What every report carries for its statistics: the fill, honest strip names, per-cell tests with Holm-adjusted
    p-values over each family, area-normalised effects and the rank agreement per stage and target."""
    assert report["fill"] == "blur" and report["statistics"]["alpha"] == 0.05
    assert report["strip_bands"]["names"][2] == "29-43 % eyes*, ears"
    families = report["statistics"]["families"]
    full = [s for s in report["stages"].values() if s["n"]]
    assert families["regions"] == 10 * len(full) and families["strips"] == 7 * len(full)
    for s in full:
        assert s["strips"]["names"] == report["strip_bands"]["names"]
        for row in s["regions"].values():
            test = row["test"]
            assert 0 <= test["p"] <= test["p_holm"] <= 1 and row["delta_mae_ci95"] >= 0
            # an interval of width 0 only where the faces moved by exactly the same amount (an untrained network's
            # changes are thousandths of a year, near the output's resolution, so two faces can tie)
            assert (row["delta_mae_ci95"] > 0) == (row["delta_mae_se"] > 0)
            assert test["mean"] == pytest.approx(row["delta_mae"])
            assert row["delta_mae_per_area"] == pytest.approx(row["delta_mae"] * 0.1 / row["area"])
            assert set(row["cam_per_area"]) == set(report["targets"])
            assert len(test["halves"]) == 2 and test["replicated"] in (None, True, False)
            if faces_per_stage < 4:  # one face per half: no test in the halves, so nothing can replicate
                assert test["replicated"] in (None, False)
        assert set(s["agreement"]) == set(report["targets"])
        for cell in s["agreement"].values():
            assert cell["rho"] is None or -1 <= cell["rho"] <= 1
            assert isinstance(cell["disagreements"], list)
    json.dumps(report, allow_nan=False)  # no NaN anywhere


def test_the_fill_is_used_and_recorded(explainer, photo_folder):
    folder, manifest = photo_folder
    runs = {fill: analyse_stages(explainer, folder, manifest, split=None, limit=1, pipeline="chip",
                                 targets=["expected"], fill=fill).to_json() for fill in ("blur", "mean")}
    assert runs["mean"]["fill"] == "mean" and runs["mean"]["fill_description"] == "the training data's mean colour"
    blur, mean = (runs[f]["stages"]["60+"]["strips"]["delta_age"] for f in ("blur", "mean"))
    assert not np.allclose(blur, mean)  # the strips are hidden differently


@pytest.fixture(scope="module")
def utkface_report(utkface):
    """The shipped default network on 8 val faces per stage of the shared UTKFace chips."""
    from dldl_core.explain.explainer import Explainer
    from dldl_core.pipeline.predictor import Predictor

    with Predictor(None, device="cpu") as predictor:
        analysis = analyse_stages(Explainer(predictor), utkface / "images", utkface / "manifest.csv", split="val",
                                  limit=8, targets=["expected", "predicted"])
    return analysis.to_json()


def test_statistics_on_real_faces(utkface_report):
    _check_statistics(utkface_report, faces_per_stage=8)
    assert {s["n"] for s in utkface_report["stages"].values()} == {8}
    teens = utkface_report["stages"]["13-19"]
    ps = [row["test"]["p"] for row in teens["regions"].values()]
    assert len(set(ps)) > 5  # real per-face variation, not a constant
    assert any(cell["rho"] is not None for s in utkface_report["stages"].values() for cell in s["agreement"].values())
