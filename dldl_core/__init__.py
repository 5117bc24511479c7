"""dldl_core: DLDL-v2 age estimation with label distributions, a face pipeline and explanations.

The names below are imported on first use, so that importing a submodule (the torch-free ``dldl predict`` path)
does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"AgeNet": "model", "ModelConfig": "model", "create_model": "model", "thin_age_net": "model",
          "tiny_age_net": "model", "AgeNetWeights": "registry"}

__all__ = sorted(_WHERE)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
