"""Explanations of the age network: CAM targets and methods, occlusion, face regions, faithfulness, age stages.

The app and the CLI use ``Explainer`` (dldl_core.explain.explainer); each module is also usable on its own.
"""
from dldl_core.explain.cam import CAM_METHODS, compute_cam
from dldl_core.explain.explainer import Explainer, Explanation
from dldl_core.explain.regions import REGION_NAMES, FaceRegions, face_regions
from dldl_core.explain.targets import AgeBinTarget, AgeContrastTarget, ExpectedAgeTarget, parse_target

__all__ = ["CAM_METHODS", "AgeBinTarget", "AgeContrastTarget", "Explainer", "Explanation", "ExpectedAgeTarget",
           "FaceRegions", "REGION_NAMES", "compute_cam", "face_regions", "parse_target"]
