"""Drawing on photos and video frames: face boxes with their age, and heat maps blended over faces."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from dldl_core.explain.render import heat_overlay
from dldl_core.pipeline.face import chip_footprint

BOX_COLOR = (255, 196, 0)  # RGB amber: readable on skin and on dark backgrounds
TEXT_COLOR = (0, 0, 0)


def age_label(age: float, std: float | None = None) -> str:
    """Plain-ASCII label (OpenCV's fonts have no +- sign): ``"34.2 +- 4.1"``."""
    if std is None or not np.isfinite(std):
        return f"{age:.1f}"
    return f"{age:.1f} +- {std:.1f}"


def draw_boxes(rgb: np.ndarray, boxes: Sequence[tuple[float, float, float, float]], texts: Sequence[str],
               color: tuple[int, int, int] = BOX_COLOR) -> np.ndarray:
    """A copy of ``rgb`` with each box outlined and its text on a filled tag above it (below at the top edge)."""
    out = np.ascontiguousarray(rgb).copy()
    h, w = out.shape[:2]
    scale = max(0.5, min(w, h) / 640)
    thick = max(1, int(round(2 * scale)))
    for box, text in zip(boxes, texts):
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), color, thick, cv2.LINE_AA)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, thick)
        ty = y0 - 6 if y0 - th - base - 6 >= 0 else min(y1 + th + base + 6, h - base)
        tx = min(max(x0, 0), max(w - tw - 6, 0))
        cv2.rectangle(out, (tx, ty - th - base), (tx + tw + 6, ty + base), color, -1)
        cv2.putText(out, text, (tx + 3, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, TEXT_COLOR, thick, cv2.LINE_AA)
    return out


def blend_chip_heatmap(rgb: np.ndarray, heat: np.ndarray, matrix: np.ndarray, chip_size: int = 200,
                       alpha: float = 0.45) -> np.ndarray:
    """Blend a heat map given in an aligned chip's frame back onto the photo, inside the chip's footprint only (the
    same colouring as every other heat map: dldl_core.explain.render.heat_overlay).

    Args:
        rgb: (H, W, 3) photo.
        heat: (h, w) map in [0, 1] over the chip, at any resolution (it is resized to the chip).
        matrix: (2, 3) photo -> chip similarity of that face.
        chip_size: side of the chip ``matrix`` maps to.
        alpha: opacity of the colour map where the map is highest.
    """
    heat = cv2.resize(heat.astype(np.float32), (chip_size, chip_size), interpolation=cv2.INTER_LINEAR)
    # Only the chip's footprint changes, so warp and blend inside its box, not over the whole frame.
    footprint = chip_footprint(matrix, chip_size, rgb.shape)
    painted = heat_overlay(footprint.crop(rgb), footprint.to_box(heat), alpha, footprint.coverage())
    return footprint.paste(rgb, painted)
