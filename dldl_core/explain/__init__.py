"""Explanations of the age network: CAM targets and methods, occlusion, face regions, faithfulness, age stages.

The app and the CLI use ``Explainer`` (dldl_core.explain.explainer); each module is also usable on its own. The
names below are imported on first use, so that importing one submodule (the CLI's commands) does not import
grad-cam.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"CAM_METHODS": "cam", "compute_cam": "cam", "Explainer": "explainer", "Explanation": "explainer",
          "REGION_NAMES": "regions", "FaceRegions": "regions", "face_regions": "regions",
          "AgeBinTarget": "targets", "AgeContrastTarget": "targets", "ExpectedAgeTarget": "targets",
          "parse_target": "targets"}

__all__ = sorted(_WHERE)  # noqa: PLE0605 - the names imported on first use


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
