"""dldl_core: DLDL-v2 age estimation with label distributions, a face pipeline and explanations.

The names below are imported on first use, so that importing a submodule (the torch-free ``dldl predict`` path)
does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"AgeNet": "models.networks", "ModelConfig": "models.networks", "create_model": "models.networks",
          "thin_age_net": "models.networks", "tiny_age_net": "models.networks", "AgeNetWeights": "models.registry",
          "Weights": "models.weights", "load_weights": "models.weights", "Predictor": "pipeline.predictor",
          "FacePrediction": "pipeline.prediction", "ImagePrediction": "pipeline.prediction",
          "TrainConfig": "training.config", "train": "training.trainer", "Explainer": "explain.explainer",
          "evaluate": "evaluation.evaluate"}

__all__ = sorted(_WHERE)  # noqa: PLE0605 - the names imported on first use
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
