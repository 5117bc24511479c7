"""Expressions: the mouth's shape from MediaPipe's face mesh (dldl_core.pipeline.landmarks,
dldl_core.evaluation.expressions), its summary (dldl_core.evaluation.smile_report) and benchmarks/smiles.py, on the
two real bundled faces: the astronaut smiles broadly, Grace Hopper does not."""
from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from script_modules import script_module

from dldl_core.data.images import load_rgb
from dldl_core.evaluation.expressions import (
    EYE_OUTER_CORNERS,
    INNER_LIPS,
    MOUTH_CORNERS,
    SMILE_LIFT,
    MouthShape,
    expression,
    mouth_shape,
)
from dldl_core.evaluation.smile_report import errors_summary, smiles_table
from dldl_core.models.preprocess import template_points
from dldl_core.pipeline.landmarks import LANDMARK_MODEL, LANDMARK_SHA256, FaceMesh, LandmarkError
from dldl_core.pipeline.predictor import Predictor

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "smiles.py"
needs_litert = pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None,
                                  reason="the face mesh runs on ai-edge-litert (requirements-dev.txt)")


def mesh_points(corner_y: float, upper_lip_y: float, lower_lip_y: float) -> np.ndarray:
    """468 points, the eye corners 100 px apart and the mouth's six points where asked (the rest at the origin)."""
    points = np.zeros((468, 2))
    points[list(EYE_OUTER_CORNERS)] = [(50, 100), (150, 100)]
    points[list(MOUTH_CORNERS)] = [(70, corner_y), (130, corner_y)]
    points[list(INNER_LIPS)] = [(100, upper_lip_y), (100, lower_lip_y)]
    return points


def test_mouth_shape_in_eye_corner_distances():
    shape = mouth_shape(mesh_points(corner_y=180, upper_lip_y=185, lower_lip_y=195))
    assert shape == MouthShape(width=pytest.approx(0.6), opening=pytest.approx(0.1), corner_lift=pytest.approx(0.1))
    assert mouth_shape(mesh_points(180, 185, 195) * 3) == shape  # the face's size does not matter


@pytest.mark.parametrize("corner_y, upper, lower, expected", [
    (180, 185, 195, "smile"),  # corners 0.1 above the lips' middle
    (190, 189.5, 190.5, "neutral"),  # level corners, lips closed
    (193, 189.5, 190.5, "neutral"),  # corners drawn down
    (190, 185, 195, "other"),  # an open mouth without raised corners
    (188.5, 189.5, 190.5, "other"),  # a slight smile
])
def test_expression_of_a_mouth(corner_y, upper, lower, expected):
    assert expression(mouth_shape(mesh_points(corner_y, upper, lower))) == expected


def test_coincident_eye_corners_are_refused():
    with pytest.raises(ValueError, match="eye corners"):
        mouth_shape(np.zeros((468, 3)))


def test_the_shipped_mesh_model_is_the_pinned_file():
    assert hashlib.sha256(LANDMARK_MODEL.read_bytes()).hexdigest() == LANDMARK_SHA256
    assert (LANDMARK_MODEL.parent / "face_landmark.LICENSE").read_text().lstrip().startswith("Apache License")


@pytest.fixture(scope="module")
def chips(grace_hopper_path, astronaut_path) -> dict[str, np.ndarray]:
    """Aligned chips of the two real faces, made by the project's own detector and alignment."""
    with Predictor(device="cpu") as predictor:
        return {name: predictor.detect(load_rgb(path), max_faces=1)[0].chip
                for name, path in (("grace", grace_hopper_path), ("astronaut", astronaut_path))}


@needs_litert
def test_the_mesh_finds_the_smile_on_real_faces(chips):
    with FaceMesh() as mesh:
        grace, grace_score = mesh.points(chips["grace"])
        astronaut, astronaut_score = mesh.points(chips["astronaut"])
    assert grace.shape == (468, 3) and grace_score > 0.9 and astronaut_score > 0.9
    smiling, plain = mouth_shape(astronaut), mouth_shape(grace)
    assert expression(smiling) == "smile" and expression(plain) != "smile"
    assert smiling.corner_lift > SMILE_LIFT > plain.corner_lift
    assert smiling.opening > 3 * plain.opening  # her teeth show, Grace Hopper's lips are closed


@needs_litert
def test_the_mesh_lands_on_the_aligned_eyes(chips):
    """The chip's whole square is the mesh's face crop: its eye corners fall about where the alignment template puts
    the eyes (the template's points are the eye centres, the mesh's the outer corners, so within a fifth of the
    chip's width, and on the same side)."""
    chip = chips["astronaut"]
    template = template_points(None, chip.shape[0])
    with FaceMesh() as mesh:
        points, _ = mesh.points(chip)
    mesh_eyes = points[list(EYE_OUTER_CORNERS), :2]
    template_eyes = template[:2]
    assert np.all(np.abs(np.sort(mesh_eyes[:, 0]) - np.sort(template_eyes[:, 0])) < chip.shape[0] / 5)
    assert np.all(np.abs(mesh_eyes[:, 1] - template_eyes[:, 1].mean()) < chip.shape[0] / 10)


@needs_litert
def test_the_mesh_refuses_what_it_cannot_read(tmp_path, chips):
    with pytest.raises(LandmarkError, match="missing"):
        FaceMesh(tmp_path / "none.tflite")
    mesh = FaceMesh()
    with pytest.raises(ValueError, match="RGB chip"):
        mesh.points(chips["grace"][..., 0])
    mesh.close()
    with pytest.raises(LandmarkError, match="closed"):
        mesh.points(chips["grace"])


def test_errors_summary_and_table():
    summary = errors_summary(np.array([30.0, 40.0, 50.0]), np.array([35.0, np.nan, 30.0]))
    assert summary["n"] == 3 and summary["missed"] == 1
    assert summary["mae"] == pytest.approx(12.5) and summary["bias"] == pytest.approx(-7.5)
    assert summary["gross"] == pytest.approx(0.5) and summary["mae_low"] < 12.5 < summary["mae_high"]
    assert errors_summary(np.array([30.0]), np.array([np.nan])) == {"n": 1, "missed": 1}
    groups = {"smile": {"n": 3, "mean_age": 40.0, "chips": summary, "pasted": summary},
              "neutral": {"n": 0, "mean_age": None, "chips": {"n": 0, "missed": 0}}}
    lines = smiles_table(groups, ["pasted"]).splitlines()
    assert lines[0].startswith("| expression | faces | mean age | chips MAE [95 %] |")
    assert lines[2].startswith("| smile | 3 | 40.0 | 12.50 [")
    assert lines[2].endswith("| 12.50 / 50.0% (n 3, 1 missed) |")
    assert lines[3] == "| neutral | 0 | - | - | - | - | - |"


@pytest.fixture(scope="module")
def smiles():
    with script_module(SCRIPT, "benchmarks_smiles") as module:
        yield module


@needs_litert
@pytest.mark.slow
def test_benchmark_on_two_real_faces(smiles, chips, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    for name, chip in chips.items():
        Image.fromarray(chip).save(data / "images" / f"{name}.png")
    (data / "manifest.csv").write_text("file,age,gender,race,split\ngrace.png,79,1,0,val\nastronaut.png,42,1,0,val\n")
    out, sheet = tmp_path / "smiles.json", tmp_path / "sheet.png"
    argv = ["--data", str(data), "--ages", "18", "90", "--conditions", "pasted,roll_30", "--out", str(out),
            "--sheet", str(sheet)]
    assert smiles.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["faces"] == 2 and result["conditions"] == ["pasted", "roll_30"]
    assert result["weights"] == "thin_age_net.safetensors" and len(result["sha256"]) == 64
    groups = result["groups"]
    assert groups["smile"]["n"] == 1 and groups["smile"]["mean_age"] == 42
    assert groups["neutral"]["n"] + groups["other"]["n"] == 1
    assert groups["smile"]["chips"]["mae"] < 25 and groups["smile"]["pasted"]["n"] == 1
    assert "| smile | 1 | 42.0 |" in capsys.readouterr().out
    assert load_rgb(sheet).shape == (3 * 96, 10 * 96, 3)


@pytest.mark.parametrize("extra, words", [
    (["--ages", "60", "18"], "lower age first"),
    (["--conditions", "pasted,group_photo"], "unknown or group conditions group_photo"),
    (["--limit", "0"], "at least 1"),
    (["--out", "/no/such/folder/smiles.json"], "does not exist"),
])
def test_bad_arguments_get_one_sentence(smiles, chips, tmp_path, capsys, extra, words):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    Image.fromarray(chips["grace"]).save(data / "images" / "grace.png")
    (data / "manifest.csv").write_text("file,age,gender,race,split\ngrace.png,79,1,0,val\n")
    assert smiles.main(["--data", str(data), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("smiles: ") and words in err and "\n" not in err


def test_a_missing_data_folder_gets_one_sentence(smiles, tmp_path, capsys):
    assert smiles.main(["--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("smiles: ") and "\n" not in err


@pytest.mark.parametrize("stem", ["thin_age_net", "tiny_age_net"])
def test_the_shipped_smiles_tables_describe_the_shipped_weights(stem):
    """Shipping new weights means measuring again: benchmarks/smiles.py --weights <file> --out <stem>.smiles.json."""
    weights_dir = LANDMARK_MODEL.parent
    result = json.loads((weights_dir / f"{stem}.smiles.json").read_text())
    assert result["sha256"] == json.loads((weights_dir / f"{stem}.json").read_text())["sha256"]
    assert result["weights"] == f"{stem}.safetensors"
    assert set(result["groups"]) == {"smile", "neutral", "other"}
