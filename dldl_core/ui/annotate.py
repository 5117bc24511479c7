"""Drawing on photos and video frames: face boxes with their age, and heat maps blended over faces.

Ages are written one way everywhere (``format_age``: years with one decimal); labels are drawn with a TrueType font
(matplotlib's DejaVu Sans Bold, which has the ± sign that OpenCV's own fonts lack) on a filled, high-contrast tag.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dldl_core.explain.render import heat_overlay
from dldl_core.pipeline.face import chip_footprint

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
BOX_COLOR = (255, 196, 0)  # RGB amber: readable on skin and on dark backgrounds
TEXT_COLOR = (0, 0, 0)  # black on amber: the highest contrast the amber allows


def format_age(years: float) -> str:
    """An age (or a spread of ages) in years as the app writes it everywhere: one decimal, ``"34.2"``."""
    return f"{years:.1f}"


def age_label(age: float, std: float | None = None) -> str:
    """``"34.2 ± 4.1"``: the age and one standard deviation; just the age when the std is missing."""
    if std is None or not np.isfinite(std):
        return format_age(age)
    return f"{format_age(age)} ± {format_age(std)}"


def interval_label(low: float, high: float) -> str:
    """``"27.0–42.1"``: an interval of ages in the same format."""
    return f"{format_age(low)}–{format_age(high)}"


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
    return ImageFont.truetype(str(path), size) if path.is_file() else ImageFont.load_default(size)


def label_tag(text: str, height: int, color: tuple[int, int, int] = BOX_COLOR) -> np.ndarray:
    """(h, w, 3) uint8 image of ``text`` in black, ``height`` px tall letters, on a filled ``color`` tag."""
    font = _font(max(6, int(height)))
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, int(height) // 5)
    tag = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), color)
    ImageDraw.Draw(tag).text((pad - left, pad - top), text, font=font, fill=TEXT_COLOR)
    return np.asarray(tag)


def _paste(out: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """Copy ``patch`` into ``out`` with its top-left corner at (x, y), cut at the edges of ``out``."""
    h, w = out.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + patch.shape[1], w), min(y + patch.shape[0], h)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]


def tag_position(box: tuple[int, int, int, int], tag_shape: tuple[int, ...], frame_shape: tuple[int, ...],
                 gap: int) -> tuple[int, int]:
    """Top-left corner of a label tag: above the box, or below it when there is no room above, inside the frame."""
    x0, y0, _, y1 = box
    th, tw = tag_shape[:2]
    h, w = frame_shape[:2]
    y = y0 - gap - th if y0 - gap - th >= 0 else min(y1 + gap, h - th)
    return min(max(x0, 0), max(w - tw, 0)), max(y, 0)


def draw_boxes(rgb: np.ndarray, boxes: Sequence[Box], texts: Sequence[str], color: tuple[int, int, int] = BOX_COLOR,
               text_height: int | None = None) -> np.ndarray:
    """A copy of ``rgb`` with each box outlined and its text on a filled tag above it (below at the top edge).

    Args:
        text_height: letter height in pixels; None: in proportion to the image (about 15 px at 640x480).
    """
    out = np.ascontiguousarray(rgb).copy()
    scale = max(0.5, min(out.shape[:2]) / 640)
    thick = max(2, int(round(3 * scale))) if text_height else max(1, int(round(2 * scale)))
    height = text_height or int(round(20 * scale))
    for box, text in zip(boxes, texts):
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), color, thick, cv2.LINE_AA)
        tag = label_tag(text, height, color)
        _paste(out, tag, *tag_position((x0, y0, x1, y1), tag.shape, out.shape, thick))
    return out


def keep_inside_box(original: np.ndarray, changed: np.ndarray, box: Box) -> np.ndarray:
    """``changed`` inside ``box`` (pixels whose centre lies in it) and ``original`` everywhere else."""
    h, w = original.shape[:2]
    x0, y0 = (int(np.clip(np.ceil(v - 0.5), 0, m)) for v, m in zip(box[:2], (w, h)))
    x1, y1 = (int(np.clip(np.ceil(v - 0.5), 0, m)) for v, m in zip(box[2:], (w, h)))
    out = original.copy()
    out[y0:y1, x0:x1] = changed[y0:y1, x0:x1]
    return out


def blend_chip_heatmap(rgb: np.ndarray, heat: np.ndarray, matrix: np.ndarray, chip_size: int = 200,
                       alpha: float = 0.45, within: Box | None = None) -> np.ndarray:
    """Blend a heat map given in an aligned chip's frame back onto the photo, inside the chip's footprint only (the
    same colouring as every other heat map: dldl_core.explain.render.heat_overlay).

    Args:
        rgb: (H, W, 3) photo.
        heat: (h, w) map in [0, 1] over the chip, at any resolution (it is resized to the chip).
        matrix: (2, 3) photo -> chip similarity of that face.
        chip_size: side of the chip ``matrix`` maps to.
        alpha: opacity of the colour map where the map is highest.
        within: a box (the face's) outside which the photo stays unchanged; None: the whole footprint.
    """
    heat = cv2.resize(heat.astype(np.float32), (chip_size, chip_size), interpolation=cv2.INTER_LINEAR)
    # Only the chip's footprint changes, so warp and blend inside its box, not over the whole frame.
    footprint = chip_footprint(matrix, chip_size, rgb.shape)
    painted = footprint.paste(rgb, heat_overlay(footprint.crop(rgb), footprint.to_box(heat), alpha,
                                                footprint.coverage()))
    return painted if within is None else keep_inside_box(rgb, painted, within)
