"""The grain level of an aligned face and the warning the Analyze page shows for a grainy one."""
import cv2
import numpy as np
import pytest

from dldl_core.data.images import load_rgb
from dldl_core.pipeline.grain import (
    GRAINY,
    MEASURED_PIXELS,
    grain_level,
    grain_warning,
    is_grainy_photo,
    photo_grain_level,
)


@pytest.fixture(scope="module")
def face_chip(astronaut_path) -> np.ndarray:
    """scikit-image's astronaut, her face cropped and scaled to a 200 px chip (a clean studio portrait; Grace Hopper's
    scanned print is itself grainy, 0.015 on its aligned chip)."""
    return cv2.resize(load_rgb(astronaut_path)[70:190, 165:285], (200, 200), interpolation=cv2.INTER_CUBIC)


def dimmed(chip: np.ndarray, noise: float) -> np.ndarray:
    """A third of the light and Gaussian grain of std ``noise`` (grey levels), as in a dim photo."""
    dark = chip.astype(np.float32) * 0.3 + np.random.default_rng(0).normal(0, noise, chip.shape[:2])[..., None]
    return np.clip(np.rint(dark), 0, 255).astype(np.uint8)


def test_a_clean_face_and_the_same_face_in_the_dark_are_not_grainy(face_chip):
    assert grain_level(face_chip) < GRAINY and grain_warning(face_chip) is None
    assert grain_level(dimmed(face_chip, 0)) < GRAINY  # darkness alone is not grain
    assert grain_level(np.full((200, 200, 3), 90, np.uint8)) == 0


def test_grain_in_the_dark_is_flagged_with_one_sentence(face_chip):
    grainy = dimmed(face_chip, 6)
    assert grain_level(grainy) > GRAINY
    warning = grain_warning(grainy)
    assert warning.startswith("This face is grainy") and "too old" in warning and "\n" not in warning
    assert grain_level(dimmed(face_chip, 3)) < grain_level(grainy)  # more grain, a higher level


def test_a_photo_as_grainy_as_a_dim_exposure_is_told_from_clean_and_film_grain_ones(astronaut_path, grace_hopper_path):
    photo = load_rgb(astronaut_path)
    assert not is_grainy_photo(photo) and not is_grainy_photo(load_rgb(grace_hopper_path))  # a scanned print
    assert not is_grainy_photo(dimmed(photo, 0))  # darkness alone
    assert is_grainy_photo(dimmed(photo, 6))
    assert not is_grainy_photo(photo[:2, :5])  # too small to measure: no warning, no grain


def whole_photo_level(rgb: np.ndarray) -> float:
    """Immerkaer's noise sigma over the mean luminance, over every inner pixel of the photo."""
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    response = cv2.filter2D(luma, -1, np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64))[1:-1, 1:-1]
    return np.sqrt(np.pi / 2) * np.abs(response).mean() / 6 / luma[1:-1, 1:-1].mean()


def test_a_large_photo_is_measured_on_stripes_that_agree_with_the_whole(astronaut_path):
    photo = cv2.resize(load_rgb(astronaut_path), (2600, 2600), interpolation=cv2.INTER_CUBIC)  # 6.8 MP
    assert photo.shape[0] * photo.shape[1] > MEASURED_PIXELS
    for large in (photo, dimmed(photo, 6)):
        assert photo_grain_level(large) == pytest.approx(whole_photo_level(large), rel=0.05)
    assert not is_grainy_photo(photo) and is_grainy_photo(dimmed(photo, 6))
