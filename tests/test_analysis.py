"""Photo analysis for the Analyze page: user errors as one sentence, the report and its archive."""
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.analysis import analyze_photo, photo_report, report_json, report_zip


@pytest.fixture(scope="module")
def predictor(random_weights):
    with Predictor(random_weights, device="cpu") as p:
        yield p


def test_a_portrait(predictor, grace_hopper_path):
    result = analyze_photo(predictor, grace_hopper_path.read_bytes(), "grace.jpg")
    assert result.error is None and len(result.faces) == 1
    assert result.rgb.shape == (600, 512, 3)
    annotated = result.annotated()
    assert annotated.shape == result.rgb.shape and (annotated != result.rgb).any()
    report = photo_report(result, predictor.weights.meta, "CPU", {0: {"regions": {"nose": np.float32(1.5)}}})
    assert report["faces"][0]["index"] == 1 and report["device"] == "CPU"
    assert report["faces"][0]["explanation"] == {"regions": {"nose": 1.5}}
    assert report["weights"]["sha256"] == predictor.weights.meta["sha256"]
    assert json.loads(report_json(report))["photo"] == "grace.jpg"
    archive = zipfile.ZipFile(io.BytesIO(report_zip(report, {"annotated": annotated})))
    assert sorted(archive.namelist()) == ["annotated.png", "report.json"]
    assert Image.open(archive.open("annotated.png")).size == (512, 600)


@pytest.mark.parametrize("data, message", [
    (b"this is text", "not an image"),
    (b"x" * 2048, "too large"),
])
def test_user_errors_are_one_sentence(predictor, data, message):
    result = analyze_photo(predictor, data, "upload.jpg", max_bytes=1024 if len(data) > 1024 else 10**6)
    assert message in result.error and result.error.endswith(".") and "\n" not in result.error
    assert result.faces == [] and result.annotated() is None


def test_no_face(predictor):
    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(buffer, format="PNG")
    result = analyze_photo(predictor, buffer.getvalue(), "wall.png")
    assert result.error == "No face was found in wall.png."
    assert photo_report(result, {}, "CPU")["faces"] == []


def test_nan_in_a_report_becomes_null():
    assert json.loads(report_json({"x": float("nan"), "y": [np.float64(1.23456)]})) == {"x": None, "y": [1.2346]}
