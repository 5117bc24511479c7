"""What a prediction is: one face (box, age, std, 90 % interval, distribution) and one image's faces or error.

Plain dataclasses over numpy arrays, shared by the torch predictor (dldl_core.predictor) and the torch-free one
(dldl_core.onnx_predictor).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FacePrediction:
    """One face: where it is, its aligned crop and the predicted distribution over the support."""

    box: tuple[float, float, float, float]
    score: float
    age: float
    std: float
    interval90: tuple[float, float]
    support: np.ndarray  # (K,)
    distribution: np.ndarray | None  # (K,)
    age_original: float  # the image alone
    age_mirrored: float | None  # its mirror (flip-TTA)
    distribution_original: np.ndarray | None = None
    distribution_mirrored: np.ndarray | None = None
    chip: np.ndarray | None = None  # (C, C, 3) uint8 aligned crop
    matrix: np.ndarray | None = None  # (2, 3) image -> chip
    keypoints: np.ndarray | None = None  # (6, 2) in the image
    confirmation: float | None = None  # the detector's score on the second, upright look at the face

    def to_json(self) -> dict[str, Any]:
        return {"box": [round(float(v), 1) for v in self.box], "score": round(self.score, 4),
                "confirmation": None if self.confirmation is None else round(self.confirmation, 4),
                "age": round(self.age, 2), "std": round(self.std, 2),
                "interval90": [round(float(v), 2) for v in self.interval90],
                "support": [float(v) for v in self.support],
                "distribution": None if self.distribution is None else [round(float(v), 6) for v in self.distribution]}


@dataclass
class ImagePrediction:
    """One image: its faces, largest first, or the error that kept it from being read."""

    path: str
    faces: list[FacePrediction] = field(default_factory=list)
    error: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "error": self.error, "faces": [f.to_json() for f in self.faces]}
