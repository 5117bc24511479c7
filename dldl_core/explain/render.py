"""Overlay images (uint8 RGB) of explanation maps: heat maps on a face, signed maps and coloured regions."""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

HEAT_COLORMAP = "jet"  # maps in [0, 1] (CAMs)
SIGNED_COLORMAP = "RdBu_r"  # signed maps: red where the estimate rises, blue where it falls


@lru_cache(maxsize=None)
def _lut(name: str) -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)  # (256, 3)


def _colormap(name: str, values: np.ndarray) -> np.ndarray:
    """(...) values in [0, 1] -> (..., 3) uint8 RGB through a matplotlib colormap."""
    return _lut(name)[(np.clip(values, 0, 1) * 255 + 0.5).astype(np.uint8)]


def _resize_to(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    if values.shape[:2] == (h, w):
        return values.astype(np.float32, copy=False)
    return cv2.resize(values.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def blend(rgb: np.ndarray, colour: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image and colours -> uint8 mix; ``alpha`` is a scalar or an (H, W) weight of the colour."""
    a = np.asarray(alpha, np.float32)
    a = a[..., None] if a.ndim == 2 else a
    return np.clip(rgb.astype(np.float32) * (1 - a) + colour.astype(np.float32) * a, 0, 255).astype(np.uint8)


def heat_overlay(rgb: np.ndarray, cam: np.ndarray, alpha: float = 0.5, coverage: np.ndarray | None = None
                 ) -> np.ndarray:
    """A map in [0, 1] as a heat map over ``rgb`` (resized to it), more opaque where the map is high; ``coverage``
    (H, W) in [0, 1] limits where the map is drawn (the chip's footprint on a photo)."""
    cam = np.clip(_resize_to(cam, rgb.shape), 0, 1)
    weight = alpha * (0.25 + 0.75 * np.sqrt(cam))
    if coverage is not None:
        weight = weight * _resize_to(coverage, rgb.shape)
    return blend(rgb, _colormap(HEAT_COLORMAP, cam), weight)


def symmetric_scale(values: np.ndarray, scale: float | None = None) -> float:
    """The half-range of a signed map's colour scale: ``scale`` or the largest magnitude (at least 1e-6)."""
    return float(scale) if scale else max(float(np.nanmax(np.abs(values))) if values.size else 0.0, 1e-6)


def signed_overlay(rgb: np.ndarray, values: np.ndarray, scale: float | None = None, alpha: float = 0.75,
                   coverage: np.ndarray | None = None) -> np.ndarray:
    """A signed map (e.g. years of change) over ``rgb``: red positive, blue negative, clear where near 0."""
    values = _resize_to(values, rgb.shape)
    s = symmetric_scale(values, scale)
    unit = np.clip(values / s, -1, 1)
    weight = alpha * np.abs(unit)  # near-zero changes leave the face clear
    if coverage is not None:
        weight = weight * _resize_to(coverage, rgb.shape)
    return blend(rgb, _colormap(SIGNED_COLORMAP, (unit + 1) / 2), weight)


def region_value_map(labels: np.ndarray, names: tuple[str, ...], values: dict[str, float]) -> np.ndarray:
    """(C, C) label map and per-region values -> (C, C) float map (0 outside the regions)."""
    lut = np.array([values.get(n, 0.0) for n in names] + [0.0], np.float32)  # index -1 -> the trailing 0
    return lut[labels]


def region_overlay(rgb: np.ndarray, labels: np.ndarray, names: tuple[str, ...], values: dict[str, float],
                   scale: float | None = None, alpha: float = 0.6) -> np.ndarray:
    """Each region filled by its signed value (red positive, blue negative) and outlined, on the chip ``rgb``."""
    value_map = region_value_map(labels, names, values)
    s = symmetric_scale(np.array(list(values.values()) or [0.0]), scale)
    unit = np.clip(value_map / s, -1, 1)
    inside = (labels >= 0).astype(np.float32)
    out = blend(rgb, _colormap(SIGNED_COLORMAP, (unit + 1) / 2), alpha * inside * np.maximum(np.abs(unit), 0.15))
    edges = cv2.morphologyEx(labels.astype(np.int16) + 1, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    out[edges] = (255, 255, 255)
    return out
