"""The Analyze page's report of one photo: a JSON document that holds everything needed to see again what the page
showed (every face's box, keypoints, scores, estimate and, where computed, its explanation maps as PNGs with their
colour scales), how it was made (settings, weights and their sha256, package version, time), and a ZIP archive of
the report with its images.
"""
from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

import dldl_core
from dldl_core.explain.regions import region_label
from dldl_core.explain.render import with_colorbar
from dldl_core.pipeline.face import KEYPOINT_NAMES, MIN_CONFIRMATION
from dldl_core.pipeline.prediction import FacePrediction
from dldl_core.ui.analysis import PhotoAnalysis

if TYPE_CHECKING:  # the explainer imports torch; a report is written without it
    from dldl_core.explain.explainer import Explanation

REPORT_FORMAT = 2  # the layout of the JSON document; raised when a key changes meaning


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def png_base64(rgb: np.ndarray) -> str:
    """A uint8 RGB image as base64 PNG text (decode with ``base64.b64decode``)."""
    return base64.b64encode(png_bytes(rgb)).decode("ascii")


def photo_report(analysis: PhotoAnalysis, weights_meta: Mapping[str, Any], device: str,
                 explanations: Mapping[int, Explanation] | None = None, settings: Mapping[str, Any] | None = None,
                 created: datetime | None = None) -> dict[str, Any]:
    """A JSON-ready report of one photo.

    Args:
        analysis: the photo's analysis.
        weights_meta: the network's sidecar metadata (``file``, ``sha256``, ``license``).
        device: where the network ran, for display.
        explanations: the explanations computed so far, keyed by the face's position at the threshold.
        settings: the page's settings (``min_confirmation``, the CAM method and target, sliding-window occlusion).
        created: the report's time (default now), written in UTC.
    """
    settings = dict(settings or {})
    threshold = float(settings.get("min_confirmation", MIN_CONFIRMATION))
    explanations = explanations or {}
    faces = [_face_entry(analysis, i, face, explanations.get(i)) for i, face in enumerate(analysis.faces_at(threshold))]
    h, w = analysis.original_size or (None, None)
    return {"report_format": REPORT_FORMAT, "created_utc": (created or datetime.now(UTC)).astimezone(UTC).isoformat(
                timespec="seconds"),
            "package": {"name": "dldl_core", "version": dldl_core.__version__},
            "photo": analysis.name, "photo_sha256": analysis.sha256, "width": w, "height": h, "error": analysis.error,
            "device": device, "weights": _weights(weights_meta), "settings": settings,
            "faces": faces, "set_aside": [_candidate(analysis, f) for f in analysis.set_aside(threshold)]}


def _weights(meta: Mapping[str, Any]) -> dict[str, Any]:
    file = meta.get("file")
    return {"name": Path(file).stem if file else None, "file": file, "sha256": meta.get("sha256"),
            "license": meta.get("license")}


def _candidate(analysis: PhotoAnalysis, face: FacePrediction) -> dict[str, Any]:
    """Where a face is, in the upload's pixels, and its two detection scores."""
    keypoints = None if face.keypoints is None else np.asarray(face.keypoints) / analysis.scale
    return {"box": [round(v / analysis.scale, 1) for v in face.box], "score": round(face.score, 4),
            "confirmation": None if face.confirmation is None else round(face.confirmation, 4),
            "keypoints": None if keypoints is None else dict(zip(KEYPOINT_NAMES, np.round(keypoints, 1).tolist()))}


def _face_entry(analysis: PhotoAnalysis, i: int, face: FacePrediction, explanation: Explanation | None
                ) -> dict[str, Any]:
    entry = {"index": i + 1, **face.to_json(), **_candidate(analysis, face),
             "age_original": round(face.age_original, 2),
             "age_mirrored": None if face.age_mirrored is None else round(face.age_mirrored, 2)}
    entry["explanation"] = None if explanation is None else explanation_entry(explanation)
    return entry


def explanation_entry(explanation: Explanation) -> dict[str, Any]:
    """An explanation's numbers and settings, its region names for people, and each map over the aligned face as a
    base64 PNG with the colour scale it was drawn with."""
    maps = {key: {"png_base64": png_base64(image), "colour_scale": explanation.scales[key].to_json()}
            for key, image in explanation.overlays.items()}
    return {**explanation.to_json(), "region_labels": {k: region_label(k) for k in explanation.regions},
            "chip_keypoints": np.round(explanation.keypoints, 1).tolist(), "maps": maps}


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy numbers and arrays converted, floats rounded to 4 places, NaN and infinities None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    return value


def report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(report), indent=2, allow_nan=False)


def report_images(analysis: PhotoAnalysis, explanations: Mapping[int, Explanation], min_confirmation: float
                  ) -> dict[str, np.ndarray]:
    """The report's pictures by file stem: the annotated photo, and every map of every explained face, over the
    aligned face and over the photo, each with its colour bar."""
    images = {"annotated": analysis.annotated(min_confirmation)}
    for i, explanation in sorted(explanations.items()):
        for key, image in explanation.overlays.items():
            images[f"face{i + 1}_{key}"] = with_colorbar(image, explanation.scales[key])
        for key, image in explanation.overlays_image.items():
            images[f"face{i + 1}_{key}_on_photo"] = with_colorbar(image, explanation.scales[key])
    return images


def report_zip(report: Mapping[str, Any], images: Mapping[str, np.ndarray]) -> bytes:
    """``report.json`` plus one PNG per named image in a zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.json", report_json(report))
        for name, rgb in images.items():
            archive.writestr(f"{name}.png", png_bytes(rgb))
    return buffer.getvalue()
