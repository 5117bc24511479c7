"""MediaPipe's face mesh: 468 points of an aligned face chip, for measuring expressions (benchmarks/smiles.py).

The model is ``face_landmark.tflite`` of the mediapipe 0.10.21 wheel (Apache-2.0, ``weights/face_landmark.LICENSE``).
mediapipe's Tasks API loads a face mesh only from a ``.task`` bundle, which that wheel does not hold, so the bare model
runs on LiteRT (``ai-edge-litert``, a development requirement: the product itself never needs the mesh).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Self

import cv2
import numpy as np

from dldl_core.assets import WEIGHTS_DIR

LANDMARK_MODEL = WEIGHTS_DIR / "face_landmark.tflite"
LANDMARK_SHA256 = "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
MESH_INPUT = 192  # the model's square RGB input, values in [0, 1]
MESH_POINTS = 468


class LandmarkError(RuntimeError):
    """The face mesh cannot run here; the message is one sentence for the user."""


class FaceMesh:
    """The 468-point face mesh on aligned chips (the chip's whole square is the model's face crop); a context
    manager; calls are serialised, since a LiteRT interpreter is not thread-safe."""

    def __init__(self, model_path: str | Path = LANDMARK_MODEL) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise LandmarkError("the face mesh needs ai-edge-litert: pip install -r requirements-dev.txt") from None
        model = Path(model_path)
        if not model.is_file():
            raise LandmarkError(f"the face mesh model {model} is missing")
        self._interpreter = Interpreter(model_path=str(model))
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        points, flag = self._interpreter.get_output_details()
        self._points, self._flag = points["index"], flag["index"]
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._interpreter = None

    def points(self, chip: np.ndarray) -> tuple[np.ndarray, float]:
        """An aligned RGB uint8 chip -> its (468, 3) mesh points (x, y in the chip's pixels; z in the same scale,
        relative) and the model's face presence score in [0, 1]."""
        if chip.ndim != 3 or chip.shape[2] != 3:
            raise ValueError(f"expected an RGB chip (H, W, 3), got shape {chip.shape}")
        scale = np.array([chip.shape[1], chip.shape[0], chip.shape[1]], np.float64) / MESH_INPUT
        x = cv2.resize(chip, (MESH_INPUT, MESH_INPUT), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        with self._lock:
            if self._interpreter is None:
                raise LandmarkError("the face mesh is closed")
            self._interpreter.set_tensor(self._input, x[None])
            self._interpreter.invoke()
            points = self._interpreter.get_tensor(self._points).reshape(MESH_POINTS, 3).astype(np.float64)
            flag = float(self._interpreter.get_tensor(self._flag).ravel()[0])
        return points * scale, float(1 / (1 + np.exp(-flag)))
