"""Where the network runs for prediction: torch, or onnxruntime on the CPU.

A backend is a callable (B, 3, S, S) normalised faces -> (B, K) raw head output, so the objective's read-out is the
same for both. onnxruntime runs the network exported in memory at start-up; it is used only after its output
matched torch's on a test batch to ``PARITY_TOLERANCE`` (which bounds the difference of the distributions too).
``auto`` picks onnxruntime on the CPU where it is installed (measured faster there at the Live page's batch sizes,
docs/performance.md) and torch otherwise, including on CUDA.
"""
from __future__ import annotations

import io
import logging
from typing import Protocol

import numpy as np
import torch
from torch import nn

from dldl_core.pipeline.predictors import BACKENDS  # the names, kept where the torch-free CLI can read them

PARITY_TOLERANCE = 1e-4  # largest difference of the head outputs accepted between onnxruntime and torch

log = logging.getLogger(__name__)


class Network(Protocol):
    """The network as a backend runs it."""

    name: str

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


class TorchNetwork:
    """The torch module itself."""

    name = "torch"

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def onnxruntime_session(model: str | bytes, threads: int | None = None):
    """A CPU onnxruntime session of an ONNX file or its bytes (dldl_core.pipeline.onnx_session) with ``threads``
    intra-op threads, default: torch's thread count."""
    from dldl_core.pipeline.onnx_session import onnxruntime_session as session

    return session(model, threads or torch.get_num_threads())


class OnnxRuntimeNetwork:
    """The module exported to ONNX in memory and run by onnxruntime on the CPU; thread-safe like the session."""

    name = "onnxruntime"

    def __init__(self, model: nn.Module, input_size: int, threads: int | None = None) -> None:
        import copy

        from dldl_core.models.export import INPUT_NAME, export_onnx

        buffer = io.BytesIO()
        graph = copy.deepcopy(model).float().cpu().eval()
        export_onnx(graph, buffer, input_size, output_name="output")
        self.session = onnxruntime_session(buffer.getvalue(), threads)
        self._input = INPUT_NAME

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())  # channels_last -> the NCHW the graph takes
        return torch.from_numpy(self.session.run(None, {self._input: array})[0]).to(x.device)


def parity_gap(a: Network, b: Network, input_size: int) -> float:
    """Largest absolute difference of two backends' outputs on a fixed random batch of two."""
    x = torch.randn(2, 3, input_size, input_size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        return float((a(x).float() - b(x).float()).abs().max())


def create_network(model: nn.Module, input_size: int, backend: str = "torch",
                   device: torch.device | str = "cpu") -> Network:
    """The network for ``backend``; ``auto`` falls back to torch (and logs why) when onnxruntime cannot be used."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    torch_network = TorchNetwork(model)
    if backend == "torch":
        return torch_network
    try:
        if torch.device(device).type != "cpu":
            raise RuntimeError("onnxruntime is used on the CPU only")
        network = OnnxRuntimeNetwork(model, input_size)
        gap = parity_gap(network, torch_network, input_size)
        if gap > PARITY_TOLERANCE:
            raise RuntimeError(f"its output differs from torch's by {gap:.2g}")
    except Exception as err:  # noqa: BLE001 - ImportError, an export failure, a parity failure: torch still works
        if backend == "onnxruntime":
            raise ValueError(f"the onnxruntime backend cannot be used: {err}") from None
        log.info("prediction runs on torch: onnxruntime cannot be used (%s)", err)
        return torch_network
    return network
