"""Measurable causes of a bad estimate on an aligned chip (grayscale, dark, low contrast, blurry, rolled), and a
table that shows which causes are over-represented among the worst errors. Pure functions over images and labels.

Thresholds were set against the UTKFace val chips (200x200): about 3 % are grayscale, 1 % dark, 4 % of low
contrast and 6 % blurry by these measures.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from dldl_core.markdown import markdown_table

GRAYSCALE_SPREAD = 4.0  # mean of max - min over the RGB channels below this: a grayscale photo (JPEG adds a little)
DARK_LUMA = 60.0  # mean luma (0-255) below this: dark
LOW_CONTRAST_STD = 30.0  # std of luma below this: low contrast
BLURRY_LAPLACIAN = 10.0  # variance of the Laplacian of luma below this: blurry (a chip upscaled from a small face)
STRONG_ROLL_DEGREES = 12.0  # the eye line further than this from horizontal: strongly rolled
NO_FACE = "no face detected on the chip"
STRONG_ROLL = f"roll > {STRONG_ROLL_DEGREES:g} degrees"
IMAGE_CAUSES = ("grayscale", "dark", "low contrast", "blurry", STRONG_ROLL, NO_FACE)  # what image_causes reports


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 luma of an (H, W, 3) uint8 RGB image."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def colour_spread(rgb: np.ndarray) -> float:
    """Mean over pixels of the largest minus the smallest channel: 0 for a grayscale image."""
    channels = rgb.astype(np.int16)
    return float(np.mean(channels.max(axis=2) - channels.min(axis=2)))


def laplacian_variance(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of luma: low for a blurry image."""
    return float(cv2.Laplacian(luma(rgb), cv2.CV_32F).var())


def eye_line_degrees(keypoints: np.ndarray) -> float:
    """Angle of the line from the right eye to the left eye (the detector's first two keypoints), in degrees from
    horizontal; positive when the left eye (on the image's right) is lower."""
    (xr, yr), (xl, yl) = np.asarray(keypoints, float)[:2]
    return float(np.degrees(np.arctan2(yl - yr, xl - xr)))


def image_causes(rgb: np.ndarray, eye_line: float | None) -> list[str]:
    """The measurable causes that apply to one chip; ``eye_line`` is None when no face was detected on it."""
    y = luma(rgb)
    tests = {"grayscale": colour_spread(rgb) < GRAYSCALE_SPREAD, "dark": float(y.mean()) < DARK_LUMA,
             "low contrast": float(y.std()) < LOW_CONTRAST_STD, "blurry": laplacian_variance(rgb) < BLURRY_LAPLACIAN,
             STRONG_ROLL: eye_line is not None and abs(eye_line) > STRONG_ROLL_DEGREES, NO_FACE: eye_line is None}
    return [name for name, applies in tests.items() if applies]


def cause_table(causes: Sequence[Sequence[str]], worst: Sequence[int],
                names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per cause, how many of the ``worst`` faces (indices into ``causes``) and of all faces have it, their shares
    and the over-representation (share among the worst / share among all). Rows: ``names`` in their order, then
    any other cause found, in order of first appearance."""
    names = list(dict.fromkeys([*names, *(c for face in causes for c in face)]))
    worst_set, n_all, n_worst = set(worst), len(causes), len(worst)
    rows = []
    for name in names:
        in_all = sum(name in face for face in causes)
        in_worst = sum(name in causes[i] for i in worst_set)
        share_all, share_worst = in_all / max(n_all, 1), in_worst / max(n_worst, 1)
        rows.append({"cause": name, "worst": in_worst, "worst_share": share_worst, "all": in_all,
                     "all_share": share_all, "ratio": share_worst / share_all if share_all else None})
    return rows


def cause_markdown(rows: Sequence[dict[str, Any]], n_worst: int, n_all: int) -> str:
    """The rows of ``cause_table`` as a Markdown table."""
    cells = [[r["cause"], f"{r['worst']} ({r['worst_share']:.0%})", f"{r['all']} ({r['all_share']:.1%})",
              "-" if r["ratio"] is None else f"x{r['ratio']:.1f}"] for r in rows]
    return markdown_table(["cause", f"among the {n_worst} worst", f"among all {n_all}", "over-representation"], cells,
                          align="lrrr")
