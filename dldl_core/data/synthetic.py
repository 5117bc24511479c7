"""Synthetic photos for robustness checks: an aligned face chip pasted into a larger scene.

The face is rotated (up to +-20 degrees), scaled to 30-80 % of the photo's width and pasted on a random
background (smooth colour gradients plus noise), the way a face sits in an ordinary photo.
"""
from __future__ import annotations

import cv2
import numpy as np


def random_background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8: a smooth random colour field with fine noise."""
    coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    noise = rng.normal(0, 12, size=(height, width, 3))
    return np.clip(field + noise, 0, 255).astype(np.uint8)


def scale_and_rotate(chip: np.ndarray, side: int, angle: float,
                     mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The chip resized to (side, side) and rotated by ``angle`` degrees (counter-clockwise) about its centre, and
    the (side, side) uint8 mask of the pixels that came from the chip (``mask``: which chip pixels count, all by
    default)."""
    face = cv2.resize(chip, (side, side), interpolation=cv2.INTER_AREA if side < chip.shape[0] else cv2.INTER_CUBIC)
    rot = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    rotated = cv2.warpAffine(face, rot, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    inside = np.full((side, side), 255, np.uint8) if mask is None else \
        cv2.resize(mask, (side, side), interpolation=cv2.INTER_NEAREST)
    return rotated, cv2.warpAffine(inside, rot, (side, side), flags=cv2.INTER_NEAREST)


def paste_face(chip: np.ndarray, rng: np.random.Generator, photo_size: tuple[int, int] = (480, 640),
               width_fraction: tuple[float, float] = (0.3, 0.8), max_rotation: float = 20.0,
               rotation: float | None = None,
               mask: np.ndarray | None = None) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``paste_into_photo`` that also returns where the chip's square went, (x0, y0, x1, y1) before rotation.

    ``rotation`` fixes the angle (degrees) instead of drawing it; the same random numbers are drawn either way, so a
    seed gives the same background, size and place whatever the angle. ``mask`` ((C, C) uint8, 0 outside): chip
    pixels left out of the paste, where the background shows instead.
    """
    h, w = photo_size
    side = int(rng.uniform(*width_fraction) * w)
    side = min(side, h)  # keep the face inside the photo
    angle = rng.uniform(-max_rotation, max_rotation)
    rotated, inside = scale_and_rotate(chip, side, angle if rotation is None else rotation, mask)
    photo = random_background(h, w, rng)
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    region = photo[y:y + side, x:x + side]
    region[inside > 0] = rotated[inside > 0]
    return photo, (x, y, x + side, y + side)


def paste_into_photo(chip: np.ndarray, rng: np.random.Generator, photo_size: tuple[int, int] = (480, 640),
                     width_fraction: tuple[float, float] = (0.3, 0.8), max_rotation: float = 20.0) -> np.ndarray:
    """Paste a square (C, C, 3) chip, rotated and scaled, into a random (H, W, 3) photo."""
    return paste_face(chip, rng, photo_size, width_fraction, max_rotation)[0]
