"""Sensor grain on an aligned face, which networks trained on clean faces read as aged skin.

A dim photo's faces carry the camera's noise. Trained on clean faces, the networks took that grain for the fine texture
of old skin (a real group photo in low light: TinyAgeNet four of five faces at 57-80 for people of 25-36, ThinAgeNet's
stage 6 two at 64; the same darkness without grain: none). The default, trained on dim, grainy exposures too, reads
them 28-47 and UTKFace val faces in low light without a bias, but twice as often more than 15 years off as in good
light (benchmarks/grain_flag.py). Grain is measured as the noise level of the chip's luminance (Immerkaer, "Fast Noise
Variance Estimation", 1996: the mean absolute response to a Laplacian-difference kernel, which cancels image
structure up to second order) over its mean luminance, in the central three quarters of the chip (the face).
"""
from __future__ import annotations

import cv2
import numpy as np

# Above the training chips' 99th percentile (0.0104 of 1,500 train chips; 99.9th 0.030) and below every face of the
# real group photo in low light (0.016-0.034; its other versions 0.0011-0.0064); of UTKFace val faces through the full
# pipeline, all those under the wild proxy's low light and none of those pasted, blurred, JPEG-compressed or under
# strong light exceed it (benchmarks/grain_flag.py). Matplotlib's Grace Hopper, a scanned print with film grain,
# sits just under it (0.0147 on its aligned chip).
GRAINY = 0.015
# A whole photo's level, texture and edges included: UTKFace val faces pasted into photos under the wild proxy's
# conditions (dldl_core.data.wild) reach 0.078 at most (a 160 x 120 photo), in its low light 0.108 at least; the real
# group photo 0.006 as it is, 0.015 at webcam size and 0.205 in low light; Grace Hopper 0.028, the astronaut 0.021.
GRAINY_PHOTO = 0.09
MEASURED_PIXELS = 2_000_000  # a larger photo's level is measured on stripes holding about this many pixels
STRIPE_ROWS = 64
_LAPLACIAN_DIFFERENCE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def grain_level(chip: np.ndarray) -> float:
    """(C, C, 3) uint8 RGB aligned face -> its luminance noise sigma over its mean luminance (0 for a flat chip)."""
    luma = chip.astype(np.float32) @ _LUMA
    c = luma.shape[0]
    return _relative_noise(luma[c // 8: c - c // 8, c // 8: c - c // 8])


def photo_grain_level(rgb: np.ndarray) -> float:
    """(H, W, 3) uint8 RGB photo -> ``grain_level`` over the whole photo (its texture counts too, so the scale
    differs from a chip's: see GRAINY_PHOTO). A photo of more than MEASURED_PIXELS is measured on evenly spaced
    stripes of STRIPE_ROWS rows that hold about that many pixels (an 11 MP photo took 53 ms in full, 5 ms so)."""
    h, w = rgb.shape[:2]
    every = int(np.ceil(h * w / MEASURED_PIXELS))
    if every <= 1:
        return _relative_noise(rgb.astype(np.float32) @ _LUMA)
    stripes = [rgb[y:y + STRIPE_ROWS].astype(np.float32) @ _LUMA for y in range(0, h, STRIPE_ROWS * every)]
    sums = np.array([_noise_sums(s) for s in stripes if min(s.shape) >= 3])
    response, count, luma = sums.sum(0)
    return _level(response / max(count, 1.0), luma / max(count, 1.0))


def is_grainy_photo(rgb: np.ndarray) -> bool:
    """Whether a photo is as grainy as a dim exposure (its faces are then also searched on a smoothed copy)."""
    return photo_grain_level(rgb) > GRAINY_PHOTO


def _relative_noise(luma: np.ndarray) -> float:
    if min(luma.shape) < 3:  # no pixel with a full 3 x 3 neighbourhood: nothing to measure
        return 0.0
    response, count, _ = _noise_sums(luma)
    return _level(response / count, float(luma.mean()))


def _noise_sums(luma: np.ndarray) -> tuple[float, float, float]:
    """Sum of |Laplacian difference| over the inner pixels, their count, and the sum of their luminance."""
    inner = luma[1:-1, 1:-1]
    response = cv2.filter2D(luma, -1, _LAPLACIAN_DIFFERENCE)[1:-1, 1:-1]
    return float(np.abs(response).sum()), float(inner.size), float(inner.sum())


def _level(mean_response: float, mean_luma: float) -> float:
    """Immerkaer's noise sigma from the mean |Laplacian difference|, over the mean luminance."""
    return float(np.sqrt(np.pi / 2)) * mean_response / 6 / max(mean_luma, 1.0)


def is_grainy(level: float | None) -> bool:
    """A grain level (None: no crop to measure) above GRAINY: grainier than the faces the networks learned from."""
    return level is not None and level > GRAINY


def grain_warning(chip: np.ndarray) -> str | None:
    """One sentence for a face grainier than any the networks learned from, else None."""
    return level_warning(grain_level(chip))


def level_warning(level: float | None) -> str | None:
    """``grain_warning`` for a grain level already measured (``FacePrediction.grain``)."""
    if not is_grainy(level):
        return None
    return (f"This face is grainy, as in a dim photo (noise {level:.3f} of its brightness; 99 % of the training faces "
            "stay under 0.011): its estimate is less reliable and may be too old, as grain can read as aged skin.")
