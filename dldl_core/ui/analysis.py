"""One uploaded photo: decode, find and estimate every face, draw them, and write the report for download.

``analyze_photo`` never raises for a user's file: an upload that is too large, not an image, or has no face comes
back with ``error`` set to one sentence.
"""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from dldl_core.data.images import ImageError, load_rgb
from dldl_core.pipeline.predictor import FacePrediction, Predictor
from dldl_core.ui.annotate import age_label, draw_boxes

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # larger uploads are refused before decoding
MAX_ANALYZED_FACES = 12  # faces per photo shown as cards


@dataclass
class PhotoAnalysis:
    name: str
    rgb: np.ndarray | None = None  # (H, W, 3) uint8
    faces: list[FacePrediction] = field(default_factory=list)
    error: str | None = None  # one sentence for the user
    timings_ms: dict[str, float] = field(default_factory=dict)

    def annotated(self) -> np.ndarray | None:
        """The photo with every face boxed, numbered and labelled with its age."""
        if self.rgb is None:
            return None
        texts = [f"{i + 1}: {age_label(f.age, f.std)}" for i, f in enumerate(self.faces)]
        return draw_boxes(self.rgb, [f.box for f in self.faces], texts)


def analyze_photo(predictor: Predictor, data: bytes, name: str, max_bytes: int = MAX_UPLOAD_BYTES,
                  max_faces: int = MAX_ANALYZED_FACES) -> PhotoAnalysis:
    """Decode ``data`` and predict every face (largest first)."""
    if len(data) > max_bytes:
        return PhotoAnalysis(name, error=f"{name} is too large ({len(data) / 2**20:.1f} MB; the limit is "
                                         f"{max_bytes / 2**20:.0f} MB).")
    try:
        rgb = load_rgb(data, name)
    except ImageError as err:
        return PhotoAnalysis(name, error=_sentence(str(err)))
    timings: dict[str, float] = {}
    faces = predictor.predict_rgb(rgb, max_faces=max_faces, timings=timings)
    error = None if faces else f"No face was found in {name}."
    return PhotoAnalysis(name, rgb, faces, error, timings)


def _sentence(text: str) -> str:
    text = text.strip()
    return text + ("" if text.endswith(".") else ".")


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def photo_report(analysis: PhotoAnalysis, weights_meta: Mapping[str, Any], device: str,
                 explanations: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """A JSON-ready report of one photo: every face's prediction, the weights and device used, and the
    explanation results computed so far (keyed by face index)."""
    faces = []
    for i, face in enumerate(analysis.faces):
        entry = {"index": i + 1, **face.to_json(), "age_original": round(face.age_original, 2),
                 "age_mirrored": None if face.age_mirrored is None else round(face.age_mirrored, 2)}
        if explanations and i in explanations:
            entry["explanation"] = _jsonable(explanations[i])
        faces.append(entry)
    h, w = analysis.rgb.shape[:2] if analysis.rgb is not None else (None, None)
    return {"photo": analysis.name, "width": w, "height": h, "error": analysis.error, "device": device,
            "weights": {"file": weights_meta.get("file"), "sha256": weights_meta.get("sha256"),
                        "license": weights_meta.get("license")},
            "faces": faces}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    return value


def report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(_jsonable(report), indent=2, allow_nan=False)


def report_zip(report: Mapping[str, Any], images: Mapping[str, np.ndarray]) -> bytes:
    """``report.json`` plus one PNG per named image (the annotated photo, the overlays) in a zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.json", report_json(report))
        for name, rgb in images.items():
            archive.writestr(f"{name}.png", png_bytes(rgb))
    return buffer.getvalue()
