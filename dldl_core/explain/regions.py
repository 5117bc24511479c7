"""Named face regions, built per face from its six detector keypoints in the aligned chip frame.

Geometry works in a face frame: the origin midway between the eyes, the x axis along the eye line (from the
person's right eye to their left eye) and the unit the inter-ocular distance ``d``. Eyes, brows, cheeks and the
forehead hang off the eyes; the nose, mouth/nasolabial and chin regions off the nose-tip and mouth keypoints, so
they follow the face's own proportions. Face regions are clipped to a face oval; everything outside it is the
``hair_background`` control. Where shapes overlap the later one in ``REGION_NAMES`` wins, so the masks are
disjoint. "Right" and "left" are the person's own, as in the detector's keypoint names: the right eye is on the
image's left in a frontal photo.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# In painting order: a later region overrides an earlier one where their shapes overlap.
REGION_NAMES: tuple[str, ...] = ("hair_background", "forehead", "right_cheek", "left_cheek", "chin", "mouth",
                                 "nose", "brows", "right_eye", "left_eye")
# Each region's name for people (the app's charts and captions). Sides are the person's own, said so every time:
# the person's right cheek is on the left of a frontal photo.
REGION_LABELS: dict[str, str] = {
    "hair_background": "hair and background", "forehead": "forehead", "right_cheek": "right cheek (the person's)",
    "left_cheek": "left cheek (the person's)", "chin": "chin", "mouth": "mouth", "nose": "nose", "brows": "brows",
    "right_eye": "right eye (the person's)", "left_eye": "left eye (the person's)",
}
# Keypoint rows of the detector (dldl_core.pipeline.face.KEYPOINT_NAMES).
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH = 0, 1, 2, 3

# Ellipses as (anchor, offset x, offset y, semi-axis x, semi-axis y) in units of d, in the face frame; anchor is
# "eyes" (the eye midpoint), a keypoint row, or "nose_mouth" (the point 60 % of the way from nose tip to mouth).
FACE_OVAL = ("eyes", 0.0, 0.42, 1.02, 1.38)
ELLIPSES: dict[str, tuple[tuple[str | int, float, float, float, float], ...]] = {
    "right_eye": ((RIGHT_EYE, -0.02, 0.02, 0.3, 0.16),),  # with the eye corners and the lids
    "left_eye": ((LEFT_EYE, 0.02, 0.02, 0.3, 0.16),),
    "brows": ((RIGHT_EYE, -0.04, -0.27, 0.32, 0.12), (LEFT_EYE, 0.04, -0.27, 0.32, 0.12)),
    "right_cheek": ((RIGHT_EYE, -0.12, 0.57, 0.38, 0.37),),
    "left_cheek": ((LEFT_EYE, 0.12, 0.57, 0.38, 0.37),),
    "mouth": (("nose_mouth", 0.0, 0.08, 0.56, 0.34),),
    "chin": ((MOUTH, 0.0, 0.45, 0.5, 0.24),),
}
# Forehead: the band above the brows, (x0, y0, x1, y1) in the face frame around the eye midpoint.
FOREHEAD_BOX = (-0.9, -1.6, 0.9, -0.39)
# Nose: a quadrilateral from the bridge to below the tip; bridge points around the eyes, tip points around the nose.
NOSE_BRIDGE = ((-0.13, 0.08), (0.13, 0.08))
NOSE_TIP_WIDTH, NOSE_BELOW_TIP = 0.27, 0.1


@dataclass(frozen=True)
class FaceFrame:
    """The face frame of one face in chip pixels: eye midpoint, unit x axis, unit y axis, inter-ocular distance."""

    origin: np.ndarray  # (2,)
    x_axis: np.ndarray  # (2,) from the right eye to the left eye
    y_axis: np.ndarray  # (2,) x_axis turned 90 degrees towards the mouth
    d: float  # inter-ocular distance in pixels

    def to_pixels(self, point: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """A point plus an offset given in units of d along the face axes -> chip pixels."""
        return point + self.d * (offset[0] * self.x_axis + offset[1] * self.y_axis)

    @property
    def angle(self) -> float:
        """Rotation of the face frame in degrees (OpenCV's convention for ellipses)."""
        return float(np.degrees(np.arctan2(self.x_axis[1], self.x_axis[0])))


def face_frame(keypoints: np.ndarray) -> FaceFrame:
    """The face frame from (>= 4, 2) keypoints in the detector's order."""
    right, left = keypoints[RIGHT_EYE], keypoints[LEFT_EYE]
    d = float(np.linalg.norm(left - right))
    if d < 1e-6:
        raise ValueError("the eye keypoints coincide; no face frame can be built")
    x_axis = (left - right) / d
    y_axis = np.array([-x_axis[1], x_axis[0]])
    if np.dot(keypoints[MOUTH] - (left + right) / 2, y_axis) < 0:  # a mirrored face: keep y towards the mouth
        y_axis = -y_axis
    return FaceFrame((left + right) / 2, x_axis, y_axis, d)


def keypoints_to_chip(keypoints: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(N, 2) image points -> (N, 2) chip points through the (2, 3) image -> chip transform."""
    points = np.asarray(keypoints, np.float64)
    return points @ np.asarray(matrix, np.float64)[:, :2].T + np.asarray(matrix, np.float64)[:, 2]


def region_label(name: str) -> str:
    """A region's name for people: ``"right cheek (the person's)"`` for ``right_cheek``."""
    return REGION_LABELS.get(name, name.replace("_", " "))


def _anchor(name: str | int, keypoints: np.ndarray, frame: FaceFrame) -> np.ndarray:
    if name == "eyes":
        return frame.origin
    if name == "nose_mouth":
        return keypoints[NOSE_TIP] + 0.6 * (keypoints[MOUTH] - keypoints[NOSE_TIP])
    return keypoints[int(name)]


def _ellipse(canvas: np.ndarray, spec: tuple[str | int, float, float, float, float], keypoints: np.ndarray,
             frame: FaceFrame, scale: int) -> None:
    anchor, ox, oy, ax, ay = spec
    centre = frame.to_pixels(_anchor(anchor, keypoints, frame), (ox, oy)) * scale
    axes = (max(int(round(ax * frame.d * scale)), 1), max(int(round(ay * frame.d * scale)), 1))
    cv2.ellipse(canvas, (int(round(centre[0])), int(round(centre[1]))), axes, frame.angle, 0, 360, 1, -1,
                lineType=cv2.LINE_8)


def _polygon(canvas: np.ndarray, points: list[np.ndarray], scale: int) -> None:
    cv2.fillPoly(canvas, [np.round(np.stack(points) * scale).astype(np.int32)], 1)


def region_shapes(keypoints: np.ndarray, size: int, scale: int = 4) -> dict[str, np.ndarray]:
    """Each region's shape before overlaps are resolved, plus ``face_oval``: (size, size) bool masks.

    Shapes are drawn at ``scale`` times the resolution and reduced, so the masks are accurate to a sub-pixel.
    """
    keypoints = np.asarray(keypoints, np.float64)
    frame = face_frame(keypoints)
    shapes: dict[str, np.ndarray] = {}

    def canvas() -> np.ndarray:
        return np.zeros((size * scale, size * scale), np.uint8)

    def reduce(big: np.ndarray) -> np.ndarray:
        return cv2.resize(big.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) >= 0.5

    oval = canvas()
    _ellipse(oval, FACE_OVAL, keypoints, frame, scale)
    shapes["face_oval"] = reduce(oval)
    for name, specs in ELLIPSES.items():
        c = canvas()
        for spec in specs:
            _ellipse(c, spec, keypoints, frame, scale)
        shapes[name] = reduce(c)
    x0, y0, x1, y1 = FOREHEAD_BOX
    c = canvas()
    _polygon(c, [frame.to_pixels(frame.origin, p) for p in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], scale)
    shapes["forehead"] = reduce(c)
    nose, w, below = keypoints[NOSE_TIP], NOSE_TIP_WIDTH, NOSE_BELOW_TIP
    c = canvas()
    _polygon(c, [frame.to_pixels(frame.origin, NOSE_BRIDGE[0]), frame.to_pixels(frame.origin, NOSE_BRIDGE[1]),
                 frame.to_pixels(nose, (w, 0.0)), frame.to_pixels(nose, (w * 0.6, below)),
                 frame.to_pixels(nose, (-w * 0.6, below)), frame.to_pixels(nose, (-w, 0.0))], scale)
    shapes["nose"] = reduce(c)
    return shapes


@dataclass(frozen=True)
class FaceRegions:
    """Disjoint named regions of one aligned face: a label map over the chip (-1 where no region)."""

    labels: np.ndarray  # (C, C) int16, an index into names or -1
    names: tuple[str, ...] = REGION_NAMES

    def mask(self, name: str) -> np.ndarray:
        """(C, C) bool mask of one region."""
        return self.labels == self.names.index(name)

    def masks(self) -> np.ndarray:
        """(R, C, C) float32 masks in the order of ``names``."""
        return np.stack([self.labels == i for i in range(len(self.names))]).astype(np.float32)

    def area_fractions(self) -> dict[str, float]:
        """Share of the chip each region covers."""
        return {name: float((self.labels == i).mean()) for i, name in enumerate(self.names)}

    def resized(self, size: int) -> np.ndarray:
        """(R, size, size) float32 soft masks (area-averaged) at another resolution, e.g. the network input."""
        masks = self.masks()
        return np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_AREA) for m in masks])


def face_regions(keypoints: np.ndarray, chip_size: int) -> FaceRegions:
    """The named regions of a face from its (6, 2) keypoints in chip pixels (see the module docstring)."""
    shapes = region_shapes(keypoints, chip_size)
    oval = shapes.pop("face_oval")
    labels = np.full((chip_size, chip_size), -1, np.int16)
    for i, name in enumerate(REGION_NAMES):
        if name == "hair_background":
            labels[~oval] = i
        else:
            labels[shapes[name] & oval] = i
    return FaceRegions(labels)
