"""Export the network as a standalone graph: normalised input (B, 3, S, S) -> age distribution (B, K) (softmax).

The batch axis is dynamic; the input size is the weights' own. Normalisation, the alignment template and the age
support are not part of the graph: they are written beside it in a JSON sidecar (``age.onnx`` -> ``age.onnx.json``),
as for the weights, so a consumer builds the same input. ONNX graphs come from torch's TorchScript-based exporter
(``dynamo=False``; deprecated in torch 2.14 but working), which needs the ``onnx`` package but not ``onnxscript``
(the dynamo exporter needs both); onnxruntime runs them.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

from dldl_core.models.weights import Weights, load_weights

FORMATS = ("onnx", "torchscript")
SUFFIXES: dict[str, tuple[str, ...]] = {"onnx": (".onnx",), "torchscript": (".pt", ".ts")}
ONNX_OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "distribution"


class DistributionGraph(nn.Module):
    """The exported function: normalised faces -> softmax over the age bins, in float32."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x).float(), dim=1)  # (B, K)


def check_target(fmt: str, out: str | os.PathLike) -> Path:
    """The output path for ``fmt``, or a ValueError in one sentence: an unknown format, a folder, a missing parent
    folder or a suffix that does not name the format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name ending in {' or '.join(SUFFIXES[fmt])}")
    if not out.parent.is_dir():
        raise ValueError(f"--out {out}: the folder {out.parent} does not exist")
    if out.suffix.lower() not in SUFFIXES[fmt]:
        raise ValueError(f"--out {out}: a {fmt} file must end in {' or '.join(SUFFIXES[fmt])}")
    return out


def distribution_graph(weights: Weights) -> DistributionGraph:
    """The weights' network wrapped as the exported function, on the CPU in eval mode."""
    if weights.model.config.head != "distribution":
        raise ValueError(f"{weights.path.name} has a {weights.model.config.head!r} head; only distribution heads "
                         "can be exported as a distribution graph")
    return DistributionGraph(copy.deepcopy(weights.model).float().cpu().eval()).eval()


def example_input(input_size: int, batch: int = 2) -> torch.Tensor:
    return torch.zeros(batch, 3, input_size, input_size)


def export_onnx(graph: nn.Module, out: str | os.PathLike | BinaryIO, input_size: int, opset: int = ONNX_OPSET,
                output_name: str = OUTPUT_NAME) -> str | os.PathLike | BinaryIO:
    """Write ``graph`` as ONNX with a dynamic batch axis to a path or a binary file object; returns ``out``."""
    if importlib.util.find_spec("onnx") is None:
        raise ValueError("ONNX export needs the onnx package (pip install -r requirements.txt)")
    with warnings.catch_warnings():
        # The legacy exporter is deprecated in favour of the dynamo one (which needs onnxscript); the shape check in
        # forward_features traces to a constant, which is right for a fixed input size.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(graph, (example_input(input_size),), out if hasattr(out, "write") else str(out),
                          dynamo=False, opset_version=opset, input_names=[INPUT_NAME], output_names=[output_name],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, output_name: {0: "batch"}})
    return out


def export_torchscript(graph: nn.Module, out: str | os.PathLike, input_size: int) -> Path:
    """Write ``graph`` as a traced TorchScript module (any batch size). torch 2.14 deprecates TorchScript in favour
    of torch.export but still traces, saves and loads it."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(graph, example_input(input_size))
    traced.save(str(out))
    return Path(out)


EXPORTERS = {"onnx": export_onnx, "torchscript": export_torchscript}


def sidecar_path(out: str | os.PathLike) -> Path:
    """``age.onnx`` -> ``age.onnx.json`` (never the weights' own ``age.json``)."""
    return Path(out).with_name(Path(out).name + ".json")


def sidecar(weights: Weights, fmt: str, out: Path) -> dict[str, object]:
    """What a consumer of the graph needs beside it: input and output names, preprocessing, support, provenance."""
    return {"format": fmt, "file": out.name, "input": INPUT_NAME, "output": OUTPUT_NAME,
            "input_shape": ["batch", 3, weights.preprocess.input_size, weights.preprocess.input_size],
            "preprocess": weights.preprocess.to_dict(), "support": weights.support.cpu().tolist(),
            "source_weights": {"file": weights.path.name, "sha256": weights.meta.get("sha256")},
            "license": weights.meta.get("license")}


def export(weights: str | os.PathLike | Weights | None, fmt: str, out: str | os.PathLike) -> Path:
    """Export ``weights`` (a file, loaded weights, or None for the shipped ones) as ``fmt`` to ``out`` and write
    the JSON sidecar beside it; returns the graph's path."""
    out = check_target(fmt, out)
    weights = weights if isinstance(weights, Weights) else load_weights(weights, "cpu")
    EXPORTERS[fmt](distribution_graph(weights), out, weights.preprocess.input_size)
    sidecar_path(out).write_text(json.dumps(sidecar(weights, fmt, out), indent=2) + "\n")
    return out
