"""Which predictor runs ``dldl predict``: the torch-free one (dldl_core.pipeline.onnx_predictor) for a shipped
network on the CPU, where onnxruntime is installed; torch (dldl_core.pipeline.predictor) for a user's own weights,
``--device cuda``, ``--backend torch``, or when onnxruntime is missing."""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from dldl_core.models.registry import AgeNetWeights, resolve

if TYPE_CHECKING:
    from dldl_core.pipeline.onnx_predictor import OnnxPredictor
    from dldl_core.pipeline.predictor import Predictor

BACKENDS = ("auto", "onnxruntime", "torch")  # where the network runs (dldl_core.pipeline.backends)

log = logging.getLogger(__name__)


def torch_free_network(weights: str | os.PathLike | AgeNetWeights | None, device: str = "auto",
                       backend: str = "auto") -> AgeNetWeights | None:
    """The shipped network to run on onnxruntime without torch, or None when torch runs the prediction."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "torch" or device == "cuda":
        return None
    return resolve(weights)[1]


def open_predictor(weights: str | os.PathLike | AgeNetWeights | None = None, device: str = "auto",
                   backend: str = "auto", **options: Any) -> OnnxPredictor | Predictor:
    """A predictor with ``predict_rgb`` / ``predict_path`` and ``close``: the torch-free one where it can run,
    else dldl_core.pipeline.predictor.Predictor. ``options``: ``tta``, ``min_face_confidence``, ``min_confirmation``."""
    entry = torch_free_network(weights, device, backend)
    if entry is not None:
        try:
            from dldl_core.pipeline.onnx_predictor import OnnxPredictor

            return OnnxPredictor(entry, **options)
        except ImportError as err:  # onnxruntime is not installed (or cannot load): torch still works
            if backend == "onnxruntime":
                raise ValueError(f"the onnxruntime backend cannot be used: {err}") from None
            log.info("prediction runs on torch: onnxruntime cannot be used (%s)", err)
    from dldl_core.pipeline.predictor import Predictor

    return Predictor(weights, device=device, backend="torch" if backend == "auto" else backend, **options)
