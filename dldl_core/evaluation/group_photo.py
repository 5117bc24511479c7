"""Scoring a real group photo whose faces are marked by hand and whose ages are known only as a range, and the camera
effects it is measured under.

A detected box is a face when it holds exactly one marked nose tip and no other box claims that nose first (boxes
in the detector's order); every other box is a false box. An estimate is a gross error when it lies more than
``gross_years`` outside the age range: with a range instead of an age, that is the issue's |error| > 15 years
counted against the nearest age the person could have had.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

GROSS_YEARS = 15.0
Point = tuple[float, float]
Box = tuple[float, float, float, float]


@dataclass
class GroupPhotoScore:
    """One photo through the pipeline: which marked faces were found, with what estimate, and the false boxes."""

    faces: int  # marked faces
    ages: list[float | None] = field(default_factory=list)  # per marked face: its estimate, None when missed
    false_boxes: int = 0
    age_range: tuple[float, float] = (0.0, 0.0)
    gross_years: float = GROSS_YEARS

    @property
    def found(self) -> int:
        return sum(a is not None for a in self.ages)

    @property
    def years_outside(self) -> list[float]:
        """Per found face: how far its estimate lies outside the age range (0 inside it)."""
        lo, hi = self.age_range
        return [max(lo - a, a - hi, 0.0) for a in self.ages if a is not None]

    @property
    def gross(self) -> int:
        return sum(d > self.gross_years for d in self.years_outside)

    @property
    def in_range(self) -> int:
        return sum(d == 0.0 for d in self.years_outside)


def contains(box: Box, point: Point) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


def score_group_photo(boxes: Sequence[Box], ages: Sequence[float], noses: Sequence[Point],
                      age_range: tuple[float, float], gross_years: float = GROSS_YEARS) -> GroupPhotoScore:
    """Matches the detector's boxes (with their estimates) to the marked noses; see the module docstring."""
    matched: list[float | None] = [None] * len(noses)
    false_boxes = 0
    for box, age in zip(boxes, ages, strict=True):
        inside = [i for i, nose in enumerate(noses) if contains(box, nose)]
        if len(inside) == 1 and matched[inside[0]] is None:
            matched[inside[0]] = float(age)
        else:
            false_boxes += 1
    return GroupPhotoScore(len(noses), matched, false_boxes, age_range, gross_years)


# --- camera effects on a whole photo: each returns the new photo and its map of points ------------------------------

PointMap = Callable[[np.ndarray], np.ndarray]  # (N, 2) points of the photo -> (N, 2) points of the changed photo
PhotoEffect = Callable[[np.ndarray], tuple[np.ndarray, PointMap]]


def _same(points: np.ndarray) -> np.ndarray:
    return points


def as_is(rgb: np.ndarray) -> tuple[np.ndarray, PointMap]:
    return rgb, _same


def webcam_size(rgb: np.ndarray, width: int = 640) -> tuple[np.ndarray, PointMap]:
    """The photo scaled to a webcam frame's width (area interpolation)."""
    scale = width / rgb.shape[1]
    small = cv2.resize(rgb, (width, round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return small, lambda points: points * scale


def low_light(rgb: np.ndarray, seed: int = 0, grain: bool = True) -> tuple[np.ndarray, PointMap]:
    """A third of the light, a darker gamma and (with ``grain``) sensor grain, as `dldl_core.data.wild.low_light`
    at fixed values."""
    dark = (rgb.astype(np.float32) / 255 * 0.3) ** 1.15 * 255
    if grain:
        noise = np.random.default_rng(seed)
        dark += noise.normal(0, 6, dark.shape[:2])[..., None] + noise.normal(0, 3, dark.shape)
    return np.clip(np.rint(dark), 0, 255).astype(np.uint8), _same


def dim_light(rgb: np.ndarray) -> tuple[np.ndarray, PointMap]:
    """``low_light`` without its grain: what the darkness alone does."""
    return low_light(rgb, grain=False)


def heavy_jpeg(rgb: np.ndarray, quality: int = 12) -> tuple[np.ndarray, PointMap]:
    _, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), _same


def tilted_camera(rgb: np.ndarray, degrees: float = 20.0) -> tuple[np.ndarray, PointMap]:
    """The photo rotated about its centre (a camera held askew), on a canvas large enough to keep every corner."""
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    out_w, out_h = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    matrix[:, 2] += (out_w - w) / 2, (out_h - h) / 2
    rotated = cv2.warpAffine(rgb, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return rotated, lambda points: points @ matrix[:, :2].T + matrix[:, 2]


def side_light(rgb: np.ndarray, lit: float = 1.7, shade: float = 0.35,
               tint: tuple[float, float, float] = (1.12, 1.0, 0.82)) -> tuple[np.ndarray, PointMap]:
    """Hard warm light from the left: the gain falls from ``lit`` at the left edge to ``shade`` at the right, so the
    left faces are washed out (clipped) and the right ones in shade, as the wild proxy's strong_light at its extremes
    (dldl_core.data.wild.WARM_TINT)."""
    gain = np.linspace(lit, shade, rgb.shape[1], dtype=np.float32)[None, :, None] * np.asarray(tint, np.float32)
    return np.clip(np.rint(rgb.astype(np.float32) * gain), 0, 255).astype(np.uint8), _same


PHOTO_EFFECTS: dict[str, PhotoEffect] = {"as is": as_is, "webcam size (640 px wide)": webcam_size,
                                         "low light": low_light, "low light without grain": dim_light,
                                         "hard light from the left": side_light, "JPEG quality 12": heavy_jpeg,
                                         "camera tilted 20 degrees": tilted_camera}


def measure_group_photo(rgb: np.ndarray, weights: Sequence[str]) -> list[dict]:
    """The group photo of ``dldl_core.data.sample_photos`` through each network (a shipped name or a weights file,
    run as `dldl predict` runs it) under every effect of PHOTO_EFFECTS: one row each."""
    from dldl_core.data.sample_photos import GROUP_PHOTO_AGES, GROUP_PHOTO_NOSES
    from dldl_core.pipeline.predictor import Predictor

    rows = []
    noses = np.asarray(GROUP_PHOTO_NOSES, np.float64)
    for name in weights:
        with Predictor(name, backend="auto") as predictor:
            for effect_name, effect in PHOTO_EFFECTS.items():
                photo, move = effect(rgb)
                started = time.perf_counter()
                faces = predictor.predict_rgb(photo)
                seconds = time.perf_counter() - started
                score = score_group_photo([f.box for f in faces], [f.age for f in faces],
                                          [tuple(p) for p in move(noses)], GROUP_PHOTO_AGES)
                rows.append({"weights": str(name), "effect": effect_name, "found": score.found, "faces": score.faces,
                             "false_boxes": score.false_boxes, "gross": score.gross, "in_range": score.in_range,
                             "ages": [None if a is None else round(a, 1) for a in score.ages],
                             "seconds": round(seconds, 2)})
    return rows


def group_photo_table(rows: Sequence[dict], with_network: bool = True) -> str:
    """The Markdown table of ``measure_group_photo``'s rows."""
    from dldl_core.data.sample_photos import GROUP_PHOTO_AGES
    from dldl_core.markdown import markdown_table

    lo, hi = GROUP_PHOTO_AGES
    header = ["network"] * with_network + ["photo", "faces found", "false boxes", f"in {lo:g}-{hi:g}",
                                           f"gross (> {GROSS_YEARS:g} y outside)",
                                           "estimates, left to right (- missed)", "s"]
    return markdown_table(header, [[r["weights"]] * with_network + [
        r["effect"], f"{r['found']} of {r['faces']}", r["false_boxes"], r["in_range"], r["gross"],
        ", ".join("-" if a is None else f"{a:.1f}" for a in r["ages"]), r["seconds"]] for r in rows],
        align="l" * with_network + "lrrrrlr")
