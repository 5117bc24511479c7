"""Drawing on photos and video frames: face boxes with their age, and heat maps blended over faces."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from dldl_core.pipeline.face import chip_to_image

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


def colorize(heat: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8 RGB with the jet colour map."""
    gray = np.clip(np.nan_to_num(heat) * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)


def blend_heatmap(rgb: np.ndarray, heat: np.ndarray, alpha: float = 0.45, mask: np.ndarray | None = None
                  ) -> np.ndarray:
    """Blend a (H, W) heat map in [0, 1] over an (H, W, 3) image; ``mask`` (H, W) in [0, 1] limits where."""
    if heat.shape[:2] != rgb.shape[:2]:
        heat = cv2.resize(heat.astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    weight = alpha * (np.ones(heat.shape, np.float32) if mask is None else np.clip(mask, 0, 1).astype(np.float32))
    mixed = rgb.astype(np.float32) * (1 - weight[..., None]) + colorize(heat).astype(np.float32) * weight[..., None]
    return np.clip(mixed, 0, 255).astype(np.uint8)


def blend_chip_heatmap(rgb: np.ndarray, heat: np.ndarray, matrix: np.ndarray, chip_size: int = 200,
                       alpha: float = 0.45) -> np.ndarray:
    """Blend a heat map given in an aligned chip's frame back onto the photo, inside the chip's footprint only.

    Args:
        rgb: (H, W, 3) photo.
        heat: (h, w) map in [0, 1] over the chip, at any resolution (it is resized to the chip).
        matrix: (2, 3) photo -> chip similarity of that face.
        chip_size: side of the chip ``matrix`` maps to.
        alpha: opacity of the colour map.
    """
    size = chip_size
    heat = cv2.resize(heat.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    # Only the chip's footprint changes, so warp and blend inside its bounding box, not over the whole frame.
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float32)
    inverse = cv2.invertAffineTransform(matrix.astype(np.float64))
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]  # (4, 2) chip corners in the photo
    h, w = rgb.shape[:2]
    x0, y0 = np.clip(np.floor(mapped.min(0)).astype(int) - 1, 0, [w, h])
    x1, y1 = np.clip(np.ceil(mapped.max(0)).astype(int) + 2, 0, [w, h])
    out = rgb.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    shifted = matrix.astype(np.float64) @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)  # ROI -> chip
    roi_shape = (y1 - y0, x1 - x0)
    back = chip_to_image(heat, shifted, roi_shape)
    footprint = chip_to_image(np.ones((size, size), np.float32), shifted, roi_shape)
    out[y0:y1, x0:x1] = blend_heatmap(rgb[y0:y1, x0:x1], back, alpha, footprint)
    return out
