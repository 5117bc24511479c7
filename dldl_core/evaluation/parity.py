"""Does an exported ONNX graph compute what torch computes? Its largest difference on real faces."""
from __future__ import annotations

import os

import numpy as np
import torch

from dldl_core.models.export import INPUT_NAME, DistributionGraph
from dldl_core.models.weights import Weights
from dldl_core.pipeline.onnx_session import onnxruntime_session

PARITY_TOLERANCE = 1e-4  # largest difference of two distributions accepted between onnxruntime and torch


def real_face_batch(weights: Weights) -> torch.Tensor:
    """(N, 3, S, S) normalised input of the faces in the photos that ship with pip packages (matplotlib's Grace
    Hopper, scikit-image's astronaut where installed) and of their mirrors, as the predictor builds it."""
    from dldl_core.data.images import load_rgb
    from dldl_core.data.sample_photos import photo_files
    from dldl_core.pipeline.predictor import Predictor

    with Predictor(weights, device="cpu") as predictor:
        chips = [f.chip for data in photo_files().values() for f in predictor.detect(load_rgb(data))]
        if not chips:
            raise ValueError("no face was found in the bundled photos")
        x = predictor.preprocess.normalize(predictor.to_input(chips))
    return torch.cat([x, x.flip(-1)]).contiguous()


def onnx_gap(weights: Weights, onnx_file: str | os.PathLike, faces: torch.Tensor) -> float:
    """Largest absolute difference between the distributions of ``onnx_file`` on onnxruntime and of the weights'
    network in torch (fp32) on the normalised ``faces``."""
    graph = DistributionGraph(weights.model.float().cpu().eval()).eval()
    with torch.inference_mode():
        reference = graph(faces).numpy()
    out = onnxruntime_session(onnx_file).run(None, {INPUT_NAME: faces.numpy()})[0]
    return float(np.abs(out - reference).max())
