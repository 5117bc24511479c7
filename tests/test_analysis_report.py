"""The Analyze page's report: every face's position, scores, estimate and maps, the settings, the weights and their
sha256, the package version and the time; the ZIP archive with the pictures."""
import base64
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import Image

import dldl_core
from dldl_core.explain.explainer import Explainer
from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.analysis import analyze_photo
from dldl_core.ui.report import photo_report, report_images, report_json, report_zip

SETTINGS = {"min_confirmation": 0.7, "cam_method": "gradcam", "target": "expected", "sliding_window": True}


@pytest.fixture(scope="module")
def predictor(random_weights):
    with Predictor(random_weights, device="cpu") as p:
        yield p


@pytest.fixture(scope="module")
def grace(predictor, grace_hopper_path):
    analysis = analyze_photo(predictor, grace_hopper_path.read_bytes(), "grace.jpg")
    explanation = Explainer(predictor).explain(analysis.faces[0], "gradcam", "expected", image=analysis.rgb)
    return analysis, explanation


def test_the_report_holds_provenance_settings_faces_and_maps(predictor, grace):
    analysis, explanation = grace
    when = datetime(2025, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    report = json.loads(report_json(photo_report(analysis, predictor.weights.meta, "CPU", {0: explanation},
                                                 SETTINGS, created=when)))
    assert report["created_utc"] == "2025-03-01T10:30:00+00:00"
    assert report["package"] == {"name": "dldl_core", "version": dldl_core.__version__}
    assert report["weights"]["sha256"] == predictor.weights.meta["sha256"]
    assert report["weights"]["name"] == predictor.weights.meta["file"].rsplit(".", 1)[0]
    assert report["settings"] == SETTINGS and report["device"] == "CPU"
    assert (report["photo"], report["width"], report["height"]) == ("grace.jpg", 512, 600)
    assert report["photo_sha256"] == analysis.sha256 and report["set_aside"] == []
    (face,) = report["faces"]
    assert face["index"] == 1 and face["confirmation"] >= 0.7 and len(face["box"]) == 4
    assert set(face["keypoints"]) == {"right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear"}
    entry = face["explanation"]
    assert (entry["method"], entry["target"], entry["cam_ignores_target"]) == ("gradcam", "expected", False)
    assert entry["occlusion"]["patch_px"] > 0 and entry["occlusion"]["fill"]
    assert entry["region_labels"]["right_cheek"] == "right cheek (the person's)"
    for key in ("cam", "occlusion", "regions"):
        png = Image.open(io.BytesIO(base64.b64decode(entry["maps"][key]["png_base64"])))
        assert png.size == explanation.chip.shape[1::-1]
        assert entry["maps"][key]["colour_scale"]["label"]


def test_positions_are_in_the_uploaded_photo_s_pixels(predictor, grace):
    analysis, _ = grace
    half = analyze_photo(predictor, _png(np.asarray(analysis.rgb)), "grace.png", display_side=300)
    report = photo_report(half, predictor.weights.meta, "CPU")
    assert report["width"] == 512 and report["height"] == 600
    np.testing.assert_allclose(report["faces"][0]["box"], analysis.faces[0].box, atol=0.2)
    assert report["faces"][0]["explanation"] is None  # not explained yet


def test_a_rejected_candidate_is_listed_as_set_aside(predictor):
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the coffee photo")
    coffee = analyze_photo(predictor, _png(skimage_data.coffee()), "coffee.png")
    report = photo_report(coffee, {}, "CPU", settings={"min_confirmation": 0.7})
    assert report["faces"] == [] and len(report["set_aside"]) == len(coffee.candidates)
    assert report["set_aside"][0]["confirmation"] < 0.7
    assert photo_report(coffee, {}, "CPU", settings={"min_confirmation": 0.0})["set_aside"] == []


def test_the_zip_holds_the_report_and_every_picture_with_its_colour_bar(predictor, grace):
    analysis, explanation = grace
    report = photo_report(analysis, predictor.weights.meta, "CPU", {0: explanation}, SETTINGS)
    images = report_images(analysis, {0: explanation}, 0.7)
    archive = zipfile.ZipFile(io.BytesIO(report_zip(report, images)))
    assert sorted(archive.namelist()) == sorted(
        ["report.json", "annotated.png"] + [f"face1_{k}{where}.png" for k in ("cam", "occlusion", "regions")
                                            for where in ("", "_on_photo")])
    assert json.loads(archive.read("report.json"))["faces"][0]["explanation"]["maps"]
    cam = Image.open(archive.open("face1_cam_on_photo.png"))
    assert cam.size[0] == 512 and cam.size[1] > 600  # the photo with its colour bar below it
    assert datetime.fromisoformat(report["created_utc"]) <= datetime.now(UTC)


def test_nan_in_a_report_becomes_null():
    assert json.loads(report_json({"x": float("nan"), "y": [np.float64(1.23456)]})) == {"x": None, "y": [1.2346]}


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()
