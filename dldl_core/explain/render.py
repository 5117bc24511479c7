"""Overlay images (uint8 RGB) of explanation maps: heat maps on a face or a video frame, signed maps and coloured
regions, and the colour bars that say what their colours mean. The one place where values become colours: every
overlay of the package (the explainer's, the age-stage figure's and the Live page's) goes through ``colorize``.

One convention for every map: an unsigned map in [0, 1] (a CAM's evidence for its target) takes the sequential
``HEAT_COLORMAP``, which has neither red nor blue; a signed map (a change of the expected age) takes the diverging
``SIGNED_COLORMAP`` on a symmetric range, blue below 0 and red above it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

HEAT_COLORMAP = "viridis"  # unsigned maps in [0, 1] (CAMs): sequential, dark blue-violet to yellow, no red
SIGNED_COLORMAP = "RdBu_r"  # signed maps on a symmetric range: red where the estimate rises, blue where it falls
LUT_SIZE = 255  # colours of a colormap's lookup table; odd, so that a diverging map's centre is one of them
COLORBAR_INCHES = (2.6, 0.56)  # a colour bar's figure; scaled to the image's width, so its text scales with it


@dataclass(frozen=True)
class ColourScale:
    """How a map's values became colours: the colormap, the values of its two ends and what the values mean."""

    cmap: str
    vmin: float
    vmax: float
    label: str  # what the values are, with their unit: the colour bar's caption

    def to_json(self) -> dict[str, Any]:
        return {"cmap": self.cmap, "vmin": round(self.vmin, 4), "vmax": round(self.vmax, 4), "label": self.label}


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


def heat_overlay(rgb: np.ndarray, cam: np.ndarray, alpha: float = 0.6, coverage: np.ndarray | None = None,
                 cmap: str = HEAT_COLORMAP) -> np.ndarray:
    """A map in [0, 1] as a heat map over ``rgb`` (resized to it): clear where the map is 0, more opaque where it is
    high; ``coverage`` (H, W) in [0, 1] limits where the map is drawn (the chip's footprint on a photo)."""
    cam = np.clip(np.nan_to_num(_resize_to(cam, rgb.shape)), 0, 1)
    weight = alpha * np.sqrt(cam)
    if coverage is not None:
        weight = weight * _resize_to(coverage, rgb.shape)
    return blend(rgb, colorize(cam, cmap), weight)


def symmetric_scale(values: np.ndarray, scale: float | None = None) -> float:
    """The half-range of a signed map's colour scale: ``scale`` or the largest magnitude (at least 1e-6)."""
    return float(scale) if scale else max(float(np.nanmax(np.abs(values))) if values.size else 0.0, 1e-6)


def signed_overlay(rgb: np.ndarray, values: np.ndarray, scale: float | None = None, alpha: float = 0.75,
                   coverage: np.ndarray | None = None) -> np.ndarray:
    """A signed map (e.g. years of change) over ``rgb`` on the colour range [-scale, scale] (default: its own
    largest magnitude): red positive, blue negative, clear at 0; the square root of the opacity keeps changes of a
    fraction of the largest one visible."""
    values = _resize_to(values, rgb.shape)
    s = symmetric_scale(values, scale)
    weight = alpha * np.sqrt(np.clip(np.abs(np.nan_to_num(values)) / s, 0, 1))
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


def colorbar(scale: ColourScale, width: int) -> np.ndarray:
    """(h, width, 3) uint8 image of a horizontal colour bar: the colormap from ``vmin`` to ``vmax``, its ticks and
    its label, drawn with matplotlib; text and height scale with ``width``."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=COLORBAR_INCHES, dpi=width / COLORBAR_INCHES[0], facecolor="white")
    bar = fig.add_axes((0.04, 0.6, 0.92, 0.28))
    mappable = ScalarMappable(Normalize(scale.vmin, scale.vmax), colormaps[scale.cmap])
    cb = fig.colorbar(mappable, cax=bar, orientation="horizontal")
    cb.locator = MaxNLocator(nbins=5, symmetric=scale.vmin == -scale.vmax)
    cb.formatter.set_useOffset(False)
    cb.update_ticks()
    bar.tick_params(labelsize=7.5, length=2, pad=1.5)
    cb.set_label(scale.label, fontsize=8, labelpad=2)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3]
    return cv2.resize(image, (width, image.shape[0]), interpolation=cv2.INTER_AREA) if image.shape[1] != width \
        else image.copy()


def with_colorbar(rgb: np.ndarray, scale: ColourScale, min_width: int = 480) -> np.ndarray:
    """``rgb`` with its colour bar below it, as one image; an image narrower than ``min_width`` is first enlarged
    (bilinear) so that the bar's text stays legible wherever the image is shown."""
    if rgb.shape[1] < min_width:
        k = min_width / rgb.shape[1]
        rgb = cv2.resize(rgb, (min_width, int(round(rgb.shape[0] * k))), interpolation=cv2.INTER_LINEAR)
    return np.vstack([rgb, colorbar(scale, rgb.shape[1])])
