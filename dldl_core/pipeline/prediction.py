"""What a prediction is: one face (box, age, std, 90 % interval, distribution) and one image's faces or error.

Plain dataclasses over numpy arrays, shared by the torch predictor (dldl_core.pipeline.predictor) and the torch-free one
(dldl_core.pipeline.onnx_predictor).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Self

import numpy as np

from dldl_core.pipeline.grain import grain_level, is_grainy


def finite(value: float | None, digits: int) -> float | None:
    """``value`` rounded to ``digits`` places, or None (JSON null, an empty CSV cell) when missing, NaN or infinite."""
    return round(float(value), digits) if value is not None and math.isfinite(value) else None


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

    @cached_property
    def grain(self) -> float | None:
        """The aligned crop's grain level (dldl_core.pipeline.grain); None without a crop."""
        return None if self.chip is None else grain_level(self.chip)

    @property
    def grainy(self) -> bool:
        """Grainier than the training faces, as in a dim photo: the estimate is less reliable and may be too old."""
        return is_grainy(self.grain)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values; what a network cannot give (std and interval without a distribution) is None."""
        return {"box": [finite(v, 1) for v in self.box], "score": finite(self.score, 4),
                "confirmation": finite(self.confirmation, 4), "age": finite(self.age, 2), "std": finite(self.std, 2),
                "interval90": [finite(v, 2) for v in self.interval90], "grain": finite(self.grain, 4),
                "support": [float(v) for v in self.support],
                "distribution": None if self.distribution is None else [finite(v, 6) for v in self.distribution]}


@dataclass
class ImagePrediction:
    """One image: its faces, largest first, or the error that kept it from being read."""

    path: str
    faces: list[FacePrediction] = field(default_factory=list)
    error: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "error": self.error, "faces": [f.to_json() for f in self.faces]}


class PhotoPipeline:
    """Photos and frames -> predictions, for a predictor that has a ``detector``, a ``preprocess`` (its template and
    chip size), a ``min_confirmation`` and ``predict_faces(faces, tta)`` (its network); shared by the torch and the
    torch-free predictor. A context manager that closes the detector."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.detector.close()

    def detect(self, rgb: np.ndarray, max_faces: int | None = None) -> list:
        """The faces of an image (dldl_core.pipeline.face.Face), largest first, aligned and confirmed."""
        from dldl_core.pipeline.face import find_faces

        return find_faces(rgb, self.detector, self.preprocess.template, self.preprocess.chip_size, max_faces,
                          self.min_confirmation)

    def predict_rgb(self, rgb: np.ndarray, tta: bool | None = None, max_faces: int | None = None,
                    timings: dict[str, float] | None = None) -> list[FacePrediction]:
        """(H, W, 3) uint8 RGB -> one prediction per detected face, largest first."""
        t0 = time.perf_counter()
        faces = self.detect(rgb, max_faces)
        t1 = time.perf_counter()
        predictions = self.predict_faces(faces, tta)
        if timings is not None:
            timings.update(detect_align_ms=(t1 - t0) * 1e3, model_ms=(time.perf_counter() - t1) * 1e3)
        return predictions

    def predict_path(self, path: str | os.PathLike, tta: bool | None = None) -> ImagePrediction:
        """Never raises for a bad image: the error is in the result."""
        from dldl_core.data.images import ImageError, load_rgb

        try:
            rgb = load_rgb(path)
        except ImageError as err:
            return ImagePrediction(str(path), error=str(err))
        timings: dict[str, float] = {}
        faces = self.predict_rgb(rgb, tta, timings=timings)
        return ImagePrediction(str(path), faces, timings_ms=timings)
