"""Scenes without a face, to measure how often the face pipeline puts a box where there is none.

Two kinds: the non-face photos that ship with scikit-image (a coffee cup, a cat, a rocket, bricks, coins, ...;
``camera`` and ``astronaut`` hold faces and are left out) and textures drawn here that look like what real photos
put next to faces: fabric patterns (stripes, checks, dots, paisley-like blobs), skin-coloured shapes (a hand held up,
an arm) and round badges with a printed ring.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np

BUNDLED_NON_FACES = ("coffee", "chelsea", "cat", "rocket", "hubble_deep_field", "brick", "grass", "gravel", "text",
                     "immunohistochemistry", "retina", "colorwheel", "logo", "horse", "page", "moon", "coins",
                     "clock", "checkerboard")
SCENE_SIZE = (480, 640)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        image = (255 * (image.astype(np.float64) / max(float(image.max()), 1e-9))).astype(np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, -1)
    return np.ascontiguousarray(image[..., :3])


def bundled_non_faces() -> Iterator[tuple[str, np.ndarray]]:
    """(name, RGB uint8) for scikit-image's bundled photos that hold no face."""
    from skimage import data

    for name in BUNDLED_NON_FACES:
        yield name, _as_rgb(getattr(data, name)())


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _skin(rng: np.random.Generator) -> tuple[int, int, int]:
    tone = rng.uniform(0.35, 1.0)
    return int(235 * tone), int(180 * tone), int(150 * tone)


def stripes(rng: np.random.Generator) -> np.ndarray:
    h, w = SCENE_SIZE
    period, angle = rng.uniform(8, 40), rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:h, 0:w]
    phase = (np.cos(angle) * xs + np.sin(angle) * ys) / period
    on = (phase % 1 < 0.5)[..., None]
    return np.where(on, _colour(rng), _colour(rng)).astype(np.uint8)


def checks(rng: np.random.Generator) -> np.ndarray:
    h, w = SCENE_SIZE
    cell = int(rng.integers(10, 60))
    ys, xs = np.mgrid[0:h, 0:w]
    on = ((xs // cell + ys // cell) % 2 == 0)[..., None]
    plaid = np.where(on, _colour(rng), _colour(rng)).astype(np.float64)
    lines = (((xs % cell) < 3) | ((ys % cell) < 3))[..., None]
    return np.where(lines, _colour(rng), plaid).astype(np.uint8)


def dots_and_blobs(rng: np.random.Generator) -> np.ndarray:
    """A printed fabric: many ellipses (some in pairs, like eyes) on a plain ground."""
    h, w = SCENE_SIZE
    scene = np.full((h, w, 3), _colour(rng), np.uint8)
    for _ in range(int(rng.integers(20, 60))):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(5, 40)), int(rng.integers(5, 40)))
        cv2.ellipse(scene, centre, axes, float(rng.uniform(0, 180)), 0, 360, _colour(rng), -1)
    return scene


def hand(rng: np.random.Generator) -> np.ndarray:
    """A skin-coloured palm with four fingers and a thumb, shaded, on a random ground."""
    h, w = SCENE_SIZE
    scene = np.full((h, w, 3), _colour(rng), np.uint8)
    cx, cy, size = int(rng.integers(200, 440)), int(rng.integers(200, 330)), int(rng.integers(60, 110))
    skin = _skin(rng)
    cv2.ellipse(scene, (cx, cy), (size, int(size * 1.1)), 0, 0, 360, skin, -1)
    for k in range(4):
        x = cx - size + int((k + 0.5) * size / 2)
        cv2.ellipse(scene, (x, cy - int(size * 1.6)), (int(size * 0.2), int(size * 0.7)), 0, 0, 360, skin, -1)
    cv2.ellipse(scene, (cx + int(size * 1.2), cy - size // 3), (int(size * 0.6), int(size * 0.22)), -30, 0, 360,
                skin, -1)
    shade = np.linspace(0.75, 1.15, w)[None, :, None]
    return np.clip(scene * shade, 0, 255).astype(np.uint8)


def badge(rng: np.random.Generator) -> np.ndarray:
    """A round badge: concentric rings, two dots and a printed arc, on a textured ground."""
    scene = stripes(rng)
    h, w = SCENE_SIZE
    cx, cy, r = int(rng.integers(150, w - 150)), int(rng.integers(150, h - 150)), int(rng.integers(50, 130))
    cv2.circle(scene, (cx, cy), r, _colour(rng), -1)
    cv2.circle(scene, (cx, cy), int(r * 0.8), _colour(rng), max(2, r // 10))
    for dx in (-r // 3, r // 3):
        cv2.circle(scene, (cx + dx, cy - r // 4), max(3, r // 8), _colour(rng), -1)
    cv2.ellipse(scene, (cx, cy + r // 6), (r // 2, r // 4), 0, 20, 160, _colour(rng), max(2, r // 12))
    return scene


DRAWN_NON_FACES: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "stripes": stripes, "checks": checks, "dots_and_blobs": dots_and_blobs, "hand": hand, "badge": badge}


def non_face_scenes(per_kind: int = 4, seed: int = 0) -> Iterator[tuple[str, np.ndarray]]:
    """(name, RGB uint8) scenes without a face: each bundled photo whole and as ``per_kind`` random crops, and
    ``per_kind`` drawn scenes of each kind."""
    rng = np.random.default_rng(seed)
    for name, image in bundled_non_faces():
        yield name, image
        h, w = image.shape[:2]
        for k in range(per_kind):
            side = int(min(h, w) * rng.uniform(0.3, 0.7))
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            yield f"{name}_crop{k}", np.ascontiguousarray(image[y:y + side, x:x + side])
    for name, draw in DRAWN_NON_FACES.items():
        for k in range(per_kind):
            yield f"{name}{k}", draw(rng)
