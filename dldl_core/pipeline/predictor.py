"""The prediction pipeline: detect -> align -> network -> distribution, for photos, chips and video frames."""
from __future__ import annotations

import os

import numpy as np
import torch

from dldl_core.maths import labels
from dldl_core.models.objectives import get_objective
from dldl_core.models.preprocess import resize_transform
from dldl_core.models.registry import AgeNetWeights, verified_detector_model
from dldl_core.models.weights import Weights, load_weights
from dldl_core.pipeline.backends import create_network
from dldl_core.pipeline.face import MIN_CONFIRMATION, Face, FaceDetector
from dldl_core.pipeline.inference import AgeEstimate, estimate, pick_device
from dldl_core.pipeline.prediction import FacePrediction, ImagePrediction, PhotoPipeline  # noqa: F401  (re-exported)


class Predictor(PhotoPipeline):
    """Loads weights and the face detector once; thread-safe for concurrent ``predict_*`` calls."""

    def __init__(self, weights: str | os.PathLike | AgeNetWeights | Weights | None = None, device: str = "auto",
                 tta: bool = True, min_face_confidence: float = 0.5, backend: str = "torch",
                 min_confirmation: float = MIN_CONFIRMATION) -> None:
        """``weights``: a file, a shipped network's name (``thin``) or entry (``Weights.THIN``), loaded weights, or
        None for the shipped default. ``backend``: where the network runs, ``torch``, ``onnxruntime`` (CPU) or
        ``auto`` (dldl_core.pipeline.backends).
        ``min_face_confidence``: the detector's score a candidate needs on the whole image; ``min_confirmation``: the
        score it needs on the second, upright look that also re-aligns it (dldl_core.pipeline.face.confirm_face); 0
        skips that look."""
        self.device = pick_device(device)
        self.weights = weights if isinstance(weights, Weights) else load_weights(weights, self.device)
        self.model = self.weights.model.to(self.device).to(memory_format=torch.channels_last).eval()
        self.preprocess = self.weights.preprocess
        self.objective = get_objective(self.weights.objective)
        self.tta = tta
        self.min_confirmation = min_confirmation
        self.network = create_network(self.model, self.preprocess.input_size, backend, self.device)
        self.detector = FaceDetector(min_face_confidence, model_path=verified_detector_model())
        self._resize = resize_transform(self.preprocess.input_size)

    @property
    def support(self) -> torch.Tensor:
        return self.model.support

    def to_input(self, chips: list[np.ndarray]) -> torch.Tensor:
        """Aligned chips of any size -> (B, 3, S, S) uint8 network input (the same resize as in training)."""
        return torch.stack([self._resize(c) for c in chips])

    def estimate_chips(self, chips: list[np.ndarray], tta: bool | None = None) -> AgeEstimate:
        return estimate(self.model, self.to_input(chips), self.preprocess, self.objective,
                        tta=self.tta if tta is None else tta, network=self.network)

    def predict_faces(self, faces: list[Face], tta: bool | None = None) -> list[FacePrediction]:
        if not faces:
            return []
        est = self.estimate_chips([f.chip for f in faces], tta)
        return [self._face_prediction(f, est, i) for i, f in enumerate(faces)]

    def _face_prediction(self, face: Face, est: AgeEstimate, i: int) -> FacePrediction:
        support = self.support.cpu()
        dist = est.distribution[i:i + 1].cpu() if est.distribution is not None else None
        std = float(labels.standard_deviation(dist, support)) if dist is not None else float("nan")
        interval = (labels.interval(dist, support, 0.9)[0].tolist() if dist is not None else [float("nan")] * 2)
        as_np = lambda t: None if t is None else t[i].cpu().numpy()  # noqa: E731
        return FacePrediction(
            box=face.box, score=face.score, age=float(est.age[i]), std=std, interval90=tuple(interval),
            support=support.numpy(), distribution=None if dist is None else dist[0].numpy(),
            age_original=float(est.age_original[i]),
            age_mirrored=None if est.age_mirrored is None else float(est.age_mirrored[i]),
            distribution_original=as_np(est.distribution_original),
            distribution_mirrored=as_np(est.distribution_mirrored),
            chip=face.chip, matrix=face.matrix, keypoints=face.keypoints, confirmation=face.confirmation)
