"""Overlay images (uint8 RGB) of explanation maps: heat maps on a face or a video frame, signed maps and coloured
regions. The one place where values become colours: every overlay of the package (the explainer's, the age-stage
figure's and the Live page's) goes through ``colorize``."""
from __future__ import annotations

from functools import cache

import cv2
import numpy as np

HEAT_COLORMAP = "inferno"  # unsigned maps in [0, 1] (CAMs): sequential, dark to bright
SIGNED_COLORMAP = "RdBu_r"  # signed maps on a symmetric range: red where the estimate rises, blue where it falls
LUT_SIZE = 255  # colours of a colormap's lookup table; odd, so that a diverging map's centre is one of them


@cache
def colormap_lut(name: str) -> np.ndarray:
    """(LUT_SIZE, 3) uint8 RGB colours of a matplotlib colormap, built once per name (a KeyError names the bad one)."""
    from matplotlib import colormaps

    return np.round(colormaps[name](np.linspace(0, 1, LUT_SIZE))[:, :3] * 255).astype(np.uint8)


def colorize(values: np.ndarray, cmap: str = HEAT_COLORMAP, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """(...) values -> (..., 3) uint8 RGB through a matplotlib colormap: ``vmin`` gets its first colour, ``vmax`` its
    last, values between them the colours between (clipped outside; NaN as ``vmin``). A signed map takes a diverging
    colormap on a symmetric range, ``colorize(v, SIGNED_COLORMAP, -s, s)``, so that 0 gets the colormap's centre."""
    if not vmax > vmin:
        raise ValueError(f"the value range needs vmax > vmin, got [{vmin}, {vmax}]")
    unit = (np.nan_to_num(np.asarray(values, np.float32), nan=vmin) - vmin) / (vmax - vmin)
    return colormap_lut(cmap)[(np.clip(unit, 0, 1) * (LUT_SIZE - 1) + 0.5).astype(np.intp)]


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


def heat_overlay(rgb: np.ndarray, cam: np.ndarray, alpha: float = 0.5, coverage: np.ndarray | None = None,
                 cmap: str = HEAT_COLORMAP) -> np.ndarray:
    """A map in [0, 1] as a heat map over ``rgb`` (resized to it), more opaque where the map is high; ``coverage``
    (H, W) in [0, 1] limits where the map is drawn (the chip's footprint on a photo)."""
    cam = np.clip(np.nan_to_num(_resize_to(cam, rgb.shape)), 0, 1)
    weight = alpha * (0.25 + 0.75 * np.sqrt(cam))
    if coverage is not None:
        weight = weight * _resize_to(coverage, rgb.shape)
    return blend(rgb, colorize(cam, cmap), weight)


def symmetric_scale(values: np.ndarray, scale: float | None = None) -> float:
    """The half-range of a signed map's colour scale: ``scale`` or the largest magnitude (at least 1e-6)."""
    return float(scale) if scale else max(float(np.nanmax(np.abs(values))) if values.size else 0.0, 1e-6)


def signed_overlay(rgb: np.ndarray, values: np.ndarray, scale: float | None = None, alpha: float = 0.75,
                   coverage: np.ndarray | None = None) -> np.ndarray:
    """A signed map (e.g. years of change) over ``rgb``: red positive, blue negative, clear where near 0."""
    values = _resize_to(values, rgb.shape)
    s = symmetric_scale(values, scale)
    weight = alpha * np.clip(np.abs(np.nan_to_num(values)) / s, 0, 1)  # near-zero changes leave the face clear
    if coverage is not None:
        weight = weight * _resize_to(coverage, rgb.shape)
    return blend(rgb, colorize(values, SIGNED_COLORMAP, -s, s), weight)


def region_value_map(labels: np.ndarray, names: tuple[str, ...], values: dict[str, float]) -> np.ndarray:
    """(C, C) label map and per-region values -> (C, C) float map (0 outside the regions)."""
    lut = np.array([values.get(n, 0.0) for n in names] + [0.0], np.float32)  # index -1 -> the trailing 0
    return lut[labels]


def region_overlay(rgb: np.ndarray, labels: np.ndarray, names: tuple[str, ...], values: dict[str, float],
                   scale: float | None = None, alpha: float = 0.6) -> np.ndarray:
    """Each region filled by its signed value (red positive, blue negative) and outlined, on the chip ``rgb``."""
    value_map = region_value_map(labels, names, values)
    s = symmetric_scale(np.array(list(values.values()) or [0.0]), scale)
    inside = (labels >= 0).astype(np.float32)
    strength = np.maximum(np.clip(np.abs(value_map) / s, 0, 1), 0.15)  # every region at least tinted
    out = blend(rgb, colorize(value_map, SIGNED_COLORMAP, -s, s), alpha * inside * strength)
    edges = cv2.morphologyEx(labels.astype(np.int16) + 1, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    out[edges] = (255, 255, 255)
    return out
