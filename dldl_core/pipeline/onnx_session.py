"""An onnxruntime CPU session as the project runs every ONNX graph, without importing torch."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime


def onnxruntime_session(model: str | os.PathLike | bytes, threads: int | None = None) -> onnxruntime.InferenceSession:
    """A CPU onnxruntime session of an ONNX file or its bytes with all graph optimisations and ``threads`` intra-op
    threads (None: onnxruntime's default, one per physical core) that sleep instead of spinning while they wait, like
    the app's OpenMP threads (OMP_WAIT_POLICY=PASSIVE): on a small CPU shared with the video and server threads
    spinning only takes CPU away."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
