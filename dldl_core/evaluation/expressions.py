"""The mouth's shape from MediaPipe's 468-point face mesh, and the expression it shows: pure functions.

Every measure is a length divided by the distance between the outer eye corners, so it does not depend on the face's
size. Thresholds were set by looking at UTKFace val chips sorted by each measure (benchmarks/smiles.py writes the
sheets): a corner lift of 0.045 or more is a clear smile (about a fifth of val faces); a lift under 0.015 with lips
closed to within 0.02 is a neutral mouth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EYE_OUTER_CORNERS = (33, 263)  # the face mesh's indices
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)  # the middle of the upper and of the lower lip, inside the mouth
SMILE_LIFT = 0.045
NEUTRAL_LIFT = 0.015
NEUTRAL_OPENING = 0.02
EXPRESSIONS = ("smile", "neutral", "other")


@dataclass(frozen=True)
class MouthShape:
    """Lengths in eye-corner distances: ``width`` corner to corner, ``opening`` between the inner lips,
    ``corner_lift`` how far the corners sit above the middle of the lips (positive: raised, as in a smile)."""

    width: float
    opening: float
    corner_lift: float


def mouth_shape(points: np.ndarray) -> MouthShape:
    """(468, 2 or 3) face mesh points (image coordinates, y down) -> the mouth's shape."""
    xy = np.asarray(points, np.float64)[:, :2]
    eyes = float(np.linalg.norm(xy[EYE_OUTER_CORNERS[0]] - xy[EYE_OUTER_CORNERS[1]]))
    if eyes <= 0:
        raise ValueError("the eye corners coincide")
    left, right = xy[MOUTH_CORNERS[0]], xy[MOUTH_CORNERS[1]]
    upper, lower = xy[INNER_LIPS[0]], xy[INNER_LIPS[1]]
    lips_middle = (upper[1] + lower[1]) / 2
    return MouthShape(width=float(np.linalg.norm(left - right)) / eyes,
                      opening=float(np.linalg.norm(upper - lower)) / eyes,
                      corner_lift=float(lips_middle - (left[1] + right[1]) / 2) / eyes)


def expression(shape: MouthShape) -> str:
    """``smile``, ``neutral`` or ``other`` (a slight smile, an open mouth without raised corners, a grimace)."""
    if shape.corner_lift >= SMILE_LIFT:
        return "smile"
    if shape.corner_lift < NEUTRAL_LIFT and shape.opening < NEUTRAL_OPENING:
        return "neutral"
    return "other"
