"""One uploaded photo: decode it, look at every candidate face twice (its confirmation score), estimate each, keep a
copy of the photo small enough to show, and give the faces that pass a confirmation threshold.

``analyze_photo`` never raises for a user's file: an upload that is too large, not an image, or has no face comes
back with ``error`` set to one sentence. The threshold is applied afterwards (``faces_at``), so that moving it does
not run the detector or the network again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from dldl_core.data.images import ImageError, load_rgb
from dldl_core.pipeline.face import MIN_CONFIRMATION, Face, every_candidate, is_confirmed
from dldl_core.pipeline.prediction import FacePrediction, PhotoPipeline
from dldl_core.ui.annotate import age_label, draw_boxes

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # larger uploads are refused before decoding
MAX_ANALYZED_FACES = 12  # faces per photo shown as cards
MAX_CANDIDATES = 24  # candidates per photo looked at a second time (largest first)
DISPLAY_MAX_SIDE = 1600  # the kept copy of a photo, on which boxes and maps are drawn: at most this many px a side


@dataclass
class PhotoAnalysis:
    """A photo's candidate faces, each with its confirmation score; every position (boxes, keypoints, the matrices
    to the aligned chips) is in the frame of ``rgb``, the kept copy; ``scale`` converts back to the upload's."""

    name: str
    rgb: np.ndarray | None = None  # (H, W, 3) uint8, the photo as kept: at most DISPLAY_MAX_SIDE px a side
    candidates: list[FacePrediction] = field(default_factory=list)  # largest first
    error: str | None = None  # one sentence for the user
    timings_ms: dict[str, float] = field(default_factory=dict)
    scale: float = 1.0  # pixels of the kept copy per pixel of the upload
    original_size: tuple[int, int] | None = None  # (H, W) of the upload
    sha256: str | None = None  # of the uploaded bytes

    def faces_at(self, min_confirmation: float = MIN_CONFIRMATION) -> list[FacePrediction]:
        """The faces confirmed at ``min_confirmation`` (dldl_core.pipeline.face.is_confirmed; 0 keeps every
        candidate), largest first, at most MAX_ANALYZED_FACES."""
        return [f for f in self.candidates if is_confirmed(f.score, f.confirmation, min_confirmation)
                ][:MAX_ANALYZED_FACES]

    @property
    def faces(self) -> list[FacePrediction]:
        """The faces at the library's default threshold (MIN_CONFIRMATION)."""
        return self.faces_at()

    def set_aside(self, min_confirmation: float = MIN_CONFIRMATION) -> list[FacePrediction]:
        """The candidates below the threshold: not taken for faces."""
        return [f for f in self.candidates if not is_confirmed(f.score, f.confirmation, min_confirmation)]

    def candidate_index(self, face: FacePrediction) -> int:
        """The position of a face among the candidates (stable when the threshold moves)."""
        return next(i for i, c in enumerate(self.candidates) if c is face)

    def annotated(self, min_confirmation: float = MIN_CONFIRMATION) -> np.ndarray | None:
        """The kept photo with every face at the threshold boxed, numbered and labelled with its age."""
        if self.rgb is None:
            return None
        faces = self.faces_at(min_confirmation)
        texts = [f"{i + 1}: {age_label(f.age, f.std)}" for i, f in enumerate(faces)]
        return draw_boxes(self.rgb, [f.box for f in faces], texts)

    def notice(self, min_confirmation: float = MIN_CONFIRMATION) -> str | None:
        """One sentence when candidates were found but none passes the threshold, else None."""
        if self.error or not self.candidates or self.faces_at(min_confirmation):
            return None
        best = max(_confirmation(f) for f in self.candidates)
        n = len(self.candidates)
        return (f"No face in {self.name} passed the confirmation threshold {min_confirmation:.2f}: "
                f"{n} candidate{'s' if n > 1 else ''} set aside (best confirmation {best:.2f}).")


def looks_label(face: FacePrediction, min_confirmation: float = MIN_CONFIRMATION) -> str:
    """The two looks' scores of a face as the page shows them, saying when a face just under the threshold was kept
    for a sure first look (dldl_core.pipeline.face.is_confirmed)."""
    label = f"detection {face.score:.2f}, confirmation {_confirmation(face):.2f}"
    if _confirmation(face) < min_confirmation and is_confirmed(face.score, face.confirmation, min_confirmation):
        label += " (just under the threshold, kept for its sure detection)"
    return label


def _confirmation(face: FacePrediction) -> float:
    return 0.0 if face.confirmation is None else float(face.confirmation)


def analyze_photo(predictor: PhotoPipeline, data: bytes, name: str, max_bytes: int = MAX_UPLOAD_BYTES,
                  max_candidates: int = MAX_CANDIDATES, display_side: int = DISPLAY_MAX_SIDE) -> PhotoAnalysis:
    """Decode ``data`` and estimate every candidate face (largest first), each confirmed by a second look."""
    if len(data) > max_bytes:
        return PhotoAnalysis(name, error=f"{name} is too large ({len(data) / 2**20:.1f} MB; the limit is "
                                         f"{max_bytes / 2**20:.0f} MB).")
    try:
        rgb = load_rgb(data, name)
    except ImageError as err:
        return PhotoAnalysis(name, error=_sentence(str(err)))
    t0 = time.perf_counter()
    faces = confirmed_candidates(predictor, rgb, max_candidates)
    t1 = time.perf_counter()
    predictions = predictor.predict_faces(faces) if faces else []
    timings = {"detect_align_ms": (t1 - t0) * 1e3, "model_ms": (time.perf_counter() - t1) * 1e3}
    kept, scale = display_copy(rgb, display_side)
    return PhotoAnalysis(name, kept, [in_frame(f, scale) for f in predictions],
                         None if predictions else f"No face was found in {name}.", timings, scale, rgb.shape[:2],
                         hashlib.sha256(data).hexdigest())


def confirmed_candidates(predictor: PhotoPipeline, rgb: np.ndarray, limit: int = MAX_CANDIDATES) -> list[Face]:
    """Every candidate face of the photo, each looked at a second time (dldl_core.pipeline.face.every_candidate)."""
    return every_candidate(rgb, predictor.detector, predictor.preprocess.template, predictor.preprocess.chip_size,
                           limit)


def display_copy(rgb: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> tuple[np.ndarray, float]:
    """The photo reduced (area-averaged) to at most ``max_side`` px a side, and the scale (1 when not reduced)."""
    k = min(1.0, max_side / max(rgb.shape[:2]))
    if k == 1.0:
        return rgb, 1.0
    h, w = rgb.shape[:2]
    size = (max(1, int(round(w * k))), max(1, int(round(h * k))))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), k


def in_frame(face: FacePrediction, scale: float) -> FacePrediction:
    """A face whose box, keypoints and image -> chip matrix are moved to an image scaled by ``scale`` (the chip
    itself, aligned from the full photo, is kept)."""
    if scale == 1.0:
        return face
    matrix = None if face.matrix is None else np.hstack([face.matrix[:, :2] / scale, face.matrix[:, 2:]])
    return dataclasses.replace(face, box=tuple(float(v) * scale for v in face.box), matrix=matrix,
                               keypoints=None if face.keypoints is None else face.keypoints * scale)


def _sentence(text: str) -> str:
    text = text.strip()
    return text + ("" if text.endswith(".") else ".")
