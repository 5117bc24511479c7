"""Face regions from the six detector keypoints: geometry on a real face, invariance to rotation, pure maths."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from dldl_core.data.images import load_rgb
from dldl_core.explain.regions import REGION_NAMES, face_frame, face_regions, keypoints_to_chip
from dldl_core.models.preprocess import DEFAULT_TEMPLATE, template_points
from dldl_core.pipeline.face import FaceDetector, align_face

CHIP = 200


@pytest.fixture(scope="module")
def detector():
    with FaceDetector() as d:
        yield d


def aligned_regions(rgb: np.ndarray, detector: FaceDetector):
    faces = detector.detect(rgb)
    assert faces, "the detector must find the face"
    face = align_face(rgb, faces[0], DEFAULT_TEMPLATE, CHIP)
    keypoints = keypoints_to_chip(face.keypoints, face.matrix)
    return face, keypoints, face_regions(keypoints, CHIP)


def centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def test_regions_on_grace_hopper(grace_hopper_path, detector):
    face, kp, regions = aligned_regions(load_rgb(grace_hopper_path), detector)
    assert regions.labels.shape == (CHIP, CHIP)
    assert regions.names == REGION_NAMES and len(REGION_NAMES) >= 10
    masks = regions.masks()
    assert masks.sum(0).max() == 1  # disjoint
    areas = regions.area_fractions()
    assert all(a > 0.004 for a in areas.values()), areas
    assert 0.1 < areas["hair_background"] < 0.6
    # Each keypoint lies in its own region.
    for name, point in (("right_eye", kp[0]), ("left_eye", kp[1]), ("nose", kp[2]), ("mouth", kp[3])):
        x, y = np.round(point).astype(int)
        assert regions.names[regions.labels[y, x]] == name
    # Top to bottom and right to left (the person's right is on the image's left).
    c = {name: centroid(regions.mask(name)) for name in REGION_NAMES if name != "hair_background"}
    ys = [c[n][1] for n in ("forehead", "brows", "right_eye", "nose", "mouth", "chin")]
    assert ys == sorted(ys)
    assert c["right_eye"][0] < c["nose"][0] < c["left_eye"][0]
    assert c["right_cheek"][0] < c["nose"][0] < c["left_cheek"][0]
    assert c["right_cheek"][1] > c["right_eye"][1] and c["left_cheek"][1] > c["left_eye"][1]
    # The chip's corners are hair or background; the eye regions are darker than the cheeks (pupils, lashes, frames).
    for y, x in ((0, 0), (0, CHIP - 1), (CHIP - 1, 0), (CHIP - 1, CHIP - 1)):
        assert regions.names[regions.labels[y, x]] == "hair_background"
    gray = cv2.cvtColor(face.chip, cv2.COLOR_RGB2GRAY).astype(float)
    eyes = gray[regions.mask("right_eye") | regions.mask("left_eye")].mean()
    cheeks = gray[regions.mask("right_cheek") | regions.mask("left_cheek")].mean()
    assert eyes < cheeks


def test_regions_follow_the_face_when_the_photo_is_rotated(grace_hopper_path, detector):
    rgb = load_rgb(grace_hopper_path)
    h, w = rgb.shape[:2]
    rotated = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h),
                             borderMode=cv2.BORDER_REFLECT)
    _, _, upright = aligned_regions(rgb, detector)
    _, _, turned = aligned_regions(rotated, detector)
    a, b = upright.area_fractions(), turned.area_fractions()
    assert all(abs(a[n] - b[n]) < 0.02 for n in REGION_NAMES), (a, b)
    assert (upright.labels == turned.labels).mean() > 0.85


def test_rotating_the_keypoints_rotates_the_regions():
    kp = template_points(None, CHIP)
    centre = np.array([CHIP / 2, CHIP / 2])
    turn = cv2.getRotationMatrix2D(tuple(centre), 15, 1.0)  # (2, 3)
    rotated_kp = keypoints_to_chip(kp, turn)
    labels = face_regions(kp, CHIP).labels
    expected = cv2.warpAffine(labels.astype(np.float32), turn, (CHIP, CHIP), flags=cv2.INTER_NEAREST,
                              borderValue=-2)
    got = face_regions(rotated_kp, CHIP).labels
    inside = expected != -2  # pixels that came from inside the original chip
    assert (got[inside] == expected[inside]).mean() > 0.95


def test_regions_scale_with_the_face():
    kp = template_points(None, CHIP)
    small = face_regions((kp - CHIP / 2) * 0.5 + CHIP / 2, CHIP).area_fractions()
    large = face_regions(kp, CHIP).area_fractions()
    for name in ("right_eye", "nose", "mouth", "chin"):
        assert small[name] == pytest.approx(large[name] / 4, rel=0.15)


def test_keypoints_to_chip_matches_opencv():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 500, size=(6, 2))
    matrix = np.array([[0.8, -0.2, 12.0], [0.2, 0.8, -7.0]])
    expected = cv2.transform(points[None].astype(np.float64), matrix)[0]
    np.testing.assert_allclose(keypoints_to_chip(points, matrix), expected, atol=1e-9)


def test_face_frame_axes():
    kp = template_points(None, CHIP)
    frame = face_frame(kp)
    assert frame.d == pytest.approx(np.linalg.norm(kp[1] - kp[0]))
    assert np.dot(frame.x_axis, frame.y_axis) == pytest.approx(0, abs=1e-12)
    assert frame.y_axis[1] > 0.9  # towards the mouth, down the image
    with pytest.raises(ValueError):
        face_frame(np.zeros((6, 2)))


def test_resized_masks_keep_the_area():
    regions = face_regions(template_points(None, CHIP), CHIP)
    small = regions.resized(64)
    assert small.shape == (len(REGION_NAMES), 64, 64)
    np.testing.assert_allclose(small.mean(axis=(1, 2)), regions.masks().mean(axis=(1, 2)), atol=0.01)
