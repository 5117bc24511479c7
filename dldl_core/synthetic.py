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


def paste_into_photo(chip: np.ndarray, rng: np.random.Generator, photo_size: tuple[int, int] = (480, 640),
                     width_fraction: tuple[float, float] = (0.3, 0.8), max_rotation: float = 20.0) -> np.ndarray:
    """Paste a square (C, C, 3) chip, rotated and scaled, into a random (H, W, 3) photo."""
    h, w = photo_size
    side = int(rng.uniform(*width_fraction) * w)
    side = min(side, h)  # keep the face inside the photo
    face = cv2.resize(chip, (side, side), interpolation=cv2.INTER_AREA if side < chip.shape[0] else cv2.INTER_CUBIC)
    angle = rng.uniform(-max_rotation, max_rotation)
    rot = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    rotated = cv2.warpAffine(face, rot, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpAffine(np.full((side, side), 255, np.uint8), rot, (side, side), flags=cv2.INTER_NEAREST)
    photo = random_background(h, w, rng)
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    region = photo[y:y + side, x:x + side]
    region[mask > 0] = rotated[mask > 0]
    return photo
