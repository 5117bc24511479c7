"""Photo analysis for the Analyze page: every candidate with its confirmation score, the threshold applied afterwards,
the kept copy of a large photo and the positions moved with it, and user errors as one sentence."""
import dataclasses
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from dldl_core.explain.regions import keypoints_to_chip
from dldl_core.pipeline.face import MIN_CONFIRMATION
from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.analysis import analyze_photo, display_copy, in_frame, looks_label


@pytest.fixture(scope="module")
def predictor(random_weights):
    with Predictor(random_weights, device="cpu") as p:
        yield p


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_portrait(predictor, grace_hopper_path):
    result = analyze_photo(predictor, grace_hopper_path.read_bytes(), "grace.jpg")
    assert result.error is None and len(result.faces) == 1 and result.notice() is None
    assert result.rgb.shape == (600, 512, 3) and result.scale == 1.0 and result.original_size == (600, 512)
    assert result.faces[0].confirmation >= MIN_CONFIRMATION
    assert len(result.sha256) == 64
    annotated = result.annotated()
    assert annotated.shape == result.rgb.shape and (annotated != result.rgb).any()
    assert result.candidate_index(result.faces[0]) == 0


def test_the_coffee_cup_is_a_candidate_but_no_face_at_the_default_threshold(predictor):
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the coffee photo")
    result = analyze_photo(predictor, png(skimage_data.coffee()), "coffee.png")
    assert result.error is None and result.candidates  # the detector's first look takes it for a face
    assert result.faces == [] and len(result.set_aside()) == len(result.candidates)
    assert result.notice().startswith("No face in coffee.png passed the confirmation threshold 0.70")
    assert (result.annotated() == result.rgb).all()  # nothing boxed
    low = min(f.confirmation for f in result.candidates)
    assert len(result.faces_at(low)) == len(result.candidates)  # a threshold at its score takes it
    assert result.notice(0.0) is None


def test_a_face_just_under_the_threshold_counts_when_the_first_look_was_sure(predictor, grace_hopper_path):
    """The page sorts candidates with the library's rule (dldl_core.pipeline.face.is_confirmed), as find_faces does."""
    result = analyze_photo(predictor, grace_hopper_path.read_bytes(), "grace.jpg")
    (face,) = result.candidates
    sure = dataclasses.replace(face, score=0.9, confirmation=0.65)
    result.candidates = [sure]
    assert [f is sure for f in result.faces_at(0.7)] == [True] and result.set_aside(0.7) == []
    assert looks_label(sure, 0.7) == ("detection 0.90, confirmation 0.65 (just under the threshold, kept for its "
                                      "sure detection)")
    assert looks_label(face, 0.7) == f"detection {face.score:.2f}, confirmation {face.confirmation:.2f}"
    assert "kept" not in looks_label(sure, 0.75)  # set aside at a stricter threshold
    unsure = dataclasses.replace(face, score=0.6, confirmation=0.65)
    result.candidates = [unsure]
    assert result.faces_at(0.7) == [] and [f is unsure for f in result.set_aside(0.7)] == [True]


def test_a_large_photo_is_kept_small_and_its_faces_move_with_it(predictor, grace_hopper_path):
    big = cv2.resize(np.asarray(Image.open(grace_hopper_path).convert("RGB")), (2048, 2400),
                     interpolation=cv2.INTER_CUBIC)
    result = analyze_photo(predictor, png(big), "big.png", display_side=800)
    assert result.original_size == (2400, 2048) and max(result.rgb.shape[:2]) == 800
    assert result.scale == pytest.approx(800 / 2400)
    face = result.faces[0]
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= result.rgb.shape[1] and 0 <= y0 < y1 <= result.rgb.shape[0]
    assert result.annotated().shape == result.rgb.shape


def test_moving_a_face_to_a_scaled_photo_keeps_its_chip_frame(predictor, grace_hopper_path):
    face = analyze_photo(predictor, grace_hopper_path.read_bytes(), "grace.jpg").faces[0]
    half = in_frame(face, 0.5)
    assert half.chip is face.chip and in_frame(face, 1.0) is face
    np.testing.assert_allclose(half.box, np.array(face.box) * 0.5)
    np.testing.assert_allclose(keypoints_to_chip(half.keypoints, half.matrix),
                               keypoints_to_chip(face.keypoints, face.matrix), atol=1e-6)
    rgb = np.zeros((1000, 3000, 3), np.uint8)
    small, k = display_copy(rgb, 600)
    assert small.shape == (200, 600, 3) and k == pytest.approx(0.2)
    assert display_copy(rgb, 4000)[0] is rgb


@pytest.mark.parametrize("data, message", [
    (b"this is text", "not an image"),
    (b"x" * 2048, "too large"),
])
def test_user_errors_are_one_sentence(predictor, data, message):
    result = analyze_photo(predictor, data, "upload.jpg", max_bytes=1024 if len(data) > 1024 else 10**6)
    assert message in result.error and result.error.endswith(".") and "\n" not in result.error
    assert result.faces == [] and result.annotated() is None and result.notice() is None


def test_no_face(predictor):
    result = analyze_photo(predictor, png(np.full((120, 160, 3), 200, np.uint8)), "wall.png")
    assert result.error == "No face was found in wall.png."
    assert result.candidates == [] and result.notice() is None
