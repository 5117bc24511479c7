"""The real group photo: the scoring of hand-marked faces against detected boxes, the camera effects, and the shipped
default on the photo as `dldl predict` runs it."""
import numpy as np
import pytest

from dldl_core.data.images import load_rgb
from dldl_core.data.sample_photos import GROUP_PHOTO_AGES, GROUP_PHOTO_NOSES
from dldl_core.evaluation.group_photo import PHOTO_EFFECTS, score_group_photo, tilted_camera, webcam_size
from dldl_core.pipeline.face import MIN_CONFIRMATION
from dldl_core.pipeline.grain import grain_level, is_grainy

NOSES = [(50.0, 50.0), (150.0, 50.0)]


def test_a_box_is_a_face_only_when_it_holds_exactly_one_unclaimed_nose():
    boxes = [(30, 30, 70, 70), (35, 35, 75, 75), (0, 0, 200, 100), (300, 300, 340, 340)]
    score = score_group_photo(boxes, [30.0, 31.0, 40.0, 50.0], NOSES, (25, 36))
    assert score.ages == [30.0, None]  # the second box on the same face, the box over both and the empty one: false
    assert score.found == 1 and score.false_boxes == 3


def test_gross_errors_count_the_years_outside_the_range_not_from_its_middle():
    score = score_group_photo([(30, 30, 70, 70), (130, 30, 170, 70)], [9.5, 51.5], NOSES, (25, 36))
    assert score.years_outside == [15.5, 15.5] and score.gross == 2 and score.in_range == 0
    score = score_group_photo([(30, 30, 70, 70), (130, 30, 170, 70)], [10.5, 36.0], NOSES, (25, 36))
    assert score.gross == 0 and score.in_range == 1


def test_camera_effects_move_the_marked_noses_with_the_photo():
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[40:60, 140:160] = 255  # a white square around the second nose
    for effect in (webcam_size, tilted_camera):
        photo, move = effect(rgb)
        x, y = np.rint(move(np.array([[150.0, 50.0]]))[0]).astype(int)
        assert photo[y, x].min() > 200, effect.__name__
    assert set(PHOTO_EFFECTS) >= {"as is", "low light", "webcam size (640 px wide)"}


@pytest.fixture(scope="module")
def default_predictor():
    from dldl_core.pipeline.predictor import Predictor

    with Predictor("thin", backend="auto") as predictor:
        yield predictor


@pytest.mark.parametrize("effect", ["as is", "webcam size (640 px wide)", "low light", "low light without grain",
                                    "hard light from the left", "JPEG quality 12", "camera tilted 20 degrees"])
def test_the_default_finds_all_six_faces_with_no_false_box_and_no_gross_error(group_photo_path, default_predictor,
                                                                              effect):
    photo, move = PHOTO_EFFECTS[effect](load_rgb(group_photo_path))
    faces = default_predictor.predict_rgb(photo)
    score = score_group_photo([f.box for f in faces], [f.age for f in faces],
                              [tuple(p) for p in move(np.asarray(GROUP_PHOTO_NOSES, float))], GROUP_PHOTO_AGES)
    assert score.found == 6 and score.false_boxes == 0, score.ages
    assert score.gross == 0, score.ages


def test_every_face_of_the_dim_grainy_photo_is_flagged_and_none_of_the_clean_one(group_photo_path,
                                                                              default_predictor):
    from dldl_core.pipeline.grain import grain_warning

    rgb = load_rgb(group_photo_path)
    dim, clean = default_predictor.detect(PHOTO_EFFECTS["low light"](rgb)[0]), default_predictor.detect(rgb)
    assert len(dim) >= 4 and all(grain_warning(f.chip) for f in dim)
    assert len(clean) == 6 and not any(grain_warning(f.chip) for f in clean)


def test_the_dim_grainy_photos_last_face_is_found_on_its_smoothed_copy(group_photo_path, default_predictor,
                                                                       monkeypatch):
    from dldl_core.ui.analysis import confirmed_candidates

    dim, _ = PHOTO_EFFECTS["low light"](load_rgb(group_photo_path))
    found = default_predictor.detect(dim)
    candidates = [f for f in confirmed_candidates(default_predictor, dim) if f.confirmation >= MIN_CONFIRMATION]
    monkeypatch.setattr("dldl_core.pipeline.face.is_grainy_photo", lambda rgb: False)
    photo_alone = default_predictor.detect(dim)
    assert len(found) == len(candidates) == 6 and len(photo_alone) == 5
    assert {f.box for f in photo_alone} < {f.box for f in found}  # the photo's own faces are kept as they were
    assert all(is_grainy(grain_level(f.chip)) for f in found)  # every chip is cut from the photo, not the smooth copy


def test_video_frames_skip_the_tile_search_that_finds_a_small_photos_faces(group_photo_path, default_predictor):
    from dldl_core.pipeline.face import find_faces

    photo, _ = webcam_size(load_rgb(group_photo_path))
    template, size = default_predictor.preprocess.template, default_predictor.preprocess.chip_size
    with_tiles = find_faces(photo, default_predictor.detector, template, size)
    frame_only = find_faces(photo, default_predictor.detector, template, size, tiles=False)
    assert len(with_tiles) == 6 and len(frame_only) < 2


def test_only_the_measured_photo_counts_as_installed(tmp_path, monkeypatch, group_photo_path):
    import shutil
    import sys

    from dldl_core.data import sample_photos

    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert sample_photos.group_photo_path() is None  # not fetched
    target = sample_photos.group_photo_target()
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the photo")
    assert sample_photos.group_photo_path() is None
    shutil.copyfile(group_photo_path, target)
    assert sample_photos.group_photo_path() == target
