"""Prediction without torch: the face pipeline (dldl_core.pipeline.face.find_faces), a shipped network's ONNX graph on
onnxruntime, and the read-outs in numpy (dldl_core.maths.numpy_labels).

This is what ``dldl predict`` runs for a shipped network on the CPU: importing torch takes longer than the whole
prediction of a photo. The graph is the one ``dldl export`` writes (normalised faces -> distribution), shipped beside
the weights and checked against the sha256 pinned for it; the results are the torch predictor's
(dldl_core.pipeline.predictor.Predictor) up to the rounding of the chip's resize (Pillow's antialiased bilinear,
within one grey level of torchvision's).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from dldl_core.maths import numpy_labels
from dldl_core.models.preprocess import Preprocess
from dldl_core.models.registry import AgeNetWeights, verified_detector_model, verify_pinned
from dldl_core.models.sidecar import WeightsError, read_sidecar
from dldl_core.pipeline.face import MIN_CONFIRMATION, Face, FaceDetector
from dldl_core.pipeline.onnx_session import onnxruntime_session
from dldl_core.pipeline.prediction import FacePrediction, PhotoPipeline


def resize_chips(chips: list[np.ndarray], size: int) -> np.ndarray:
    """Aligned (C, C, 3) uint8 chips -> (B, size, size, 3) uint8, antialiased bilinear as in training."""
    return np.stack([np.asarray(Image.fromarray(c).resize((size, size), Image.BILINEAR)) for c in chips])


def normalize(faces: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) float32 network input."""
    x = (faces.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def average_mirrored(distributions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(2B, K) distributions of B faces then their B mirrors -> (mean, originals, mirrors), each (B, K)."""
    b = len(distributions) // 2
    original, mirrored = distributions[:b], distributions[b:]
    return (original + mirrored) / 2, original, mirrored


class OnnxPredictor(PhotoPipeline):
    """A shipped network on onnxruntime and the face detector, loaded once; the torch predictor's ``predict_*``."""

    def __init__(self, weights: AgeNetWeights = AgeNetWeights.DEFAULT, tta: bool = True,
                 min_face_confidence: float = 0.5, min_confirmation: float = MIN_CONFIRMATION,
                 threads: int | None = None) -> None:
        """``threads``: onnxruntime's intra-op threads (None: one per physical core); the other arguments as for
        dldl_core.pipeline.predictor.Predictor."""
        sidecar = read_sidecar(weights.path)
        verify_pinned(weights, weights.onnx_path, sidecar, kind="onnx")
        if sidecar["model"].get("head") != "distribution":
            raise WeightsError(f"{weights.path.name}: only a distribution head runs without torch")
        self.weights = weights
        self.preprocess = Preprocess.from_dict(sidecar["preprocess"])
        self.support = np.asarray(sidecar["support"], np.float32)  # (K,)
        self.tta = tta
        self.min_confirmation = min_confirmation
        self.session = onnxruntime_session(weights.onnx_path, threads)
        self._input = self.session.get_inputs()[0].name
        self.detector = FaceDetector(min_face_confidence, model_path=verified_detector_model())

    def distributions(self, chips: list[np.ndarray], tta: bool) -> np.ndarray:
        """Aligned chips (and, with ``tta``, their mirrors after them) -> (B or 2B, K) distributions."""
        x = normalize(resize_chips(chips, self.preprocess.input_size), self.preprocess.mean, self.preprocess.std)
        if tta:
            x = np.concatenate([x, x[..., ::-1]])  # (2B, 3, S, S): the mirrors flip the width axis
        return self.session.run(None, {self._input: np.ascontiguousarray(x)})[0].astype(np.float32)

    def predict_faces(self, faces: list[Face], tta: bool | None = None) -> list[FacePrediction]:
        if not faces:
            return []
        tta = self.tta if tta is None else tta
        out = self.distributions([f.chip for f in faces], tta)
        dist, original, mirrored = average_mirrored(out) if tta else (out, out, None)
        age = numpy_labels.expectation(dist, self.support)
        std = numpy_labels.standard_deviation(dist, self.support)
        interval = numpy_labels.interval(dist, self.support, 0.9)
        age_original = numpy_labels.expectation(original, self.support)
        age_mirrored = None if mirrored is None else numpy_labels.expectation(mirrored, self.support)
        return [FacePrediction(
            box=f.box, score=f.score, age=float(age[i]), std=float(std[i]), interval90=tuple(interval[i].tolist()),
            support=self.support, distribution=dist[i], age_original=float(age_original[i]),
            age_mirrored=None if age_mirrored is None else float(age_mirrored[i]),
            distribution_original=original[i], distribution_mirrored=None if mirrored is None else mirrored[i],
            chip=f.chip, matrix=f.matrix, keypoints=f.keypoints, confirmation=f.confirmation)
            for i, f in enumerate(faces)]
