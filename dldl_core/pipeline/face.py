"""Face detection (MediaPipe Tasks FaceDetector) and alignment to the geometry of the training chips.

The detector gives six keypoints per face (right eye, left eye, nose tip, mouth centre, right and left ear
tragion, from the person's point of view). A least-squares similarity transform maps the first four onto a
template, the median keypoints of the training chips themselves, so that a face uploaded as a raw photo is cropped
the way the network saw faces in training.
"""
from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import cv2
import numpy as np

from dldl_core.assets import DETECTOR_MODEL
from dldl_core.models.preprocess import template_points
from dldl_core.pipeline.grain import is_grainy_photo

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging: warnings and errors only
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")
ALIGN_POINTS = 4  # eyes, nose, mouth: the ears are often hidden
DETECTION_PAD = 0.25  # second try on an image padded by this fraction of its size, for faces that fill the frame
# The detector sees the whole image at 128x128, where the faces of a group photo are a few pixels wide: an image
# is also searched in TILE_GRID x TILE_GRID overlapping tiles, each half the image's width and height (so every face
# smaller than a quarter of the image lies whole in one tile), when its longer side is at least TILE_ALWAYS_SIDE, or
# at least TILE_MIN_SIDE and the whole image showed no face as wide as PORTRAIT_FACE of that side (a portrait, such
# as scikit-image's 512 px astronaut with her 95 px face, is not searched again: the nine extra detector calls cost
# about 20 ms). The six faces of a real group photo scaled to 640 px wide (55 px each) are found only in tiles:
# benchmarks/real_group_photo.py.
TILE_MIN_SIDE = 480
TILE_ALWAYS_SIDE = 1000
PORTRAIT_FACE = 0.15
TILE_GRID = 3
# Each candidate is looked at a second time, upright and centred: the image warped by its alignment so that the
# chip fills the central CONFIRM_FACE pixels of a CONFIRM_VIEW-pixel view, and the detector run on that view. A
# face is found again there, near the centre, with a high score; a patterned top, a hand or a coffee cup that
# passed the first look at the whole image is not. The face found there also gives keypoints measured on an
# upright, larger view, from which the face is aligned again (a tilted head's first keypoints can be far off).
CONFIRM_VIEW = 192
CONFIRM_FACE = 112
MIN_CONFIRMATION = 0.7  # the second look's score a face needs (benchmarks/face_confirmation.py, docs/faces.md)
# ... or nearly needs: a face the detector was sure of on the photo may score up to NEAR_CONFIRMATION less on the
# second look when both looks add up to the threshold + BOTH_LOOKS_MARGIN (1.35 at the default; thresholds above the
# default count the second look alone: is_confirmed). Turned, nodded and
# small faces often score 0.6-0.7 upright; what is not a face seldom scores high on both looks. Held out from where it
# was set: of 4,200 wild-proxy photos (seed 1, 700 val faces, its six hardest single-face conditions) 43 -> 21 faces
# missed, no false box with or without it; on 633 other scenes without a face, no added false box (docs/faces.md).
NEAR_CONFIRMATION = 0.1
BOTH_LOOKS_MARGIN = 0.65
# Sensor grain at full strength in the upright second look hides faces: the faces of a photo as grainy as a dim
# exposure (grain.is_grainy_photo) are also searched on a copy smoothed by a Gaussian of GRAIN_SMOOTHING px, and those
# found only there are added, their chips cut from the photo itself. Of 200 UTKFace val faces under the wild proxy's
# low light, 5 were missed without it and none with it; the real group photo in low light: 5 of 6 faces, with it 6.
GRAIN_SMOOTHING = 1.5


_silence_lock = threading.Lock()
_silence_depth = 0
_saved_stderr_fd: int | None = None


@contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at /dev/null while MediaPipe's native runtime runs: it prints INFO lines on creating
    and closing a detector and, now and then, a LiteRT warning on a detection (when an internal buffer happens to be
    misaligned), which no logging setting reaches, and a CLI error must stay one clear line. Re-entrant and shared
    by threads: the first to enter redirects, the last to leave restores, so concurrent detections cannot leave
    stderr silenced. Python's own stderr writes in that window (a few milliseconds) are lost too."""
    global _silence_depth, _saved_stderr_fd  # noqa: PLW0603 - one process-wide file descriptor 2, one state
    with _silence_lock:
        if _silence_depth == 0:
            try:
                saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
            except OSError:
                saved = None
            if saved is not None:
                sys.stderr.flush()
                os.dup2(devnull, 2)
                os.close(devnull)
            _saved_stderr_fd = saved
        _silence_depth += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silence_depth -= 1
            if _silence_depth == 0 and _saved_stderr_fd is not None:
                os.dup2(_saved_stderr_fd, 2)
                os.close(_saved_stderr_fd)
                _saved_stderr_fd = None


@dataclass
class Face:
    """One detected face, its keypoints and its crop aligned to the template."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the original image
    score: float
    keypoints: np.ndarray  # (6, 2) pixels in the original image
    chip: np.ndarray | None = None  # (C, C, 3) uint8 aligned crop, C = chip size
    matrix: np.ndarray | None = None  # (2, 3) image -> chip similarity transform
    confirmation: float | None = None  # the detector's score on a second, upright look (None: not looked at)


class FaceDetector:
    """MediaPipe Tasks face detector; a context manager that closes the detector, safe to share across threads."""

    def __init__(self, min_confidence: float = 0.5, model_path: str | Path = DETECTOR_MODEL) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=Path(model_path).read_bytes()),
            running_mode=vision.RunningMode.IMAGE, min_detection_confidence=min_confidence)
        self._lock = threading.Lock()
        with native_stderr_silenced():
            self._detector = vision.FaceDetector.create_from_options(options)
        # MediaPipe's detector must be closed explicitly: left to the garbage collector, its own __del__ waits on
        # its dispatcher's thread pool, which the same collection has already stopped, and the process hangs
        # (measured: an unclosed detector in a reference cycle, e.g. a predictor dropped by st.cache_resource.clear).
        # The finalizer holds the detector (and so its pool) alive until it has closed it, whenever this object goes
        # away unclosed, and at exit.
        self._finalizer = weakref.finalize(self, _close_detector, self._detector)
        self._detect_once(np.zeros((64, 64, 3), np.uint8))  # the first call loads the runtime: not on a request

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:  # not while a detection runs
            self._detector = None
            self._finalizer()  # closes MediaPipe's detector the first time, does nothing after

    def _detect_once(self, rgb: np.ndarray) -> list[Face]:
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with self._lock:
            if self._detector is None:
                raise RuntimeError("the face detector is closed")
            with native_stderr_silenced():
                result = self._detector.detect(image)
        h, w = rgb.shape[:2]
        faces = []
        for det in result.detections:
            b = det.bounding_box
            points = np.array([[k.x * w, k.y * h] for k in det.keypoints], dtype=np.float64)
            faces.append(Face((b.origin_x, b.origin_y, b.origin_x + b.width, b.origin_y + b.height),
                              float(det.categories[0].score), points))
        return faces

    def detect(self, rgb: np.ndarray, tiles: bool = True) -> list[Face]:
        """(H, W, 3) uint8 RGB -> faces, largest first. With ``tiles``, an image that may hold small faces is also
        searched tile by tile (``searches_tiles``), which finds the faces of a group photo; when nothing is found, a
        padded copy is tried, which finds faces that fill the whole frame (a tight crop, a passport photo)."""
        faces = self._detect_once(rgb)
        if tiles and searches_tiles(rgb.shape[:2], [f.box for f in faces]):
            faces = self._add_tile_faces(rgb, faces)
        if not faces:
            h, w = rgb.shape[:2]
            py, px = int(h * DETECTION_PAD), int(w * DETECTION_PAD)
            padded = cv2.copyMakeBorder(rgb, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            faces = self._detect_once(padded)
            for f in faces:
                x0, y0, x1, y1 = f.box
                f.box = (x0 - px, y0 - py, x1 - px, y1 - py)
                f.keypoints = f.keypoints - np.array([px, py])
        return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))

    def _add_tile_faces(self, rgb: np.ndarray, faces: list[Face]) -> list[Face]:
        """``faces`` plus the faces found in overlapping tiles that no kept face already covers. A face cut by a
        tile's inner edge is left to the tile that holds it whole."""
        h, w = rgb.shape[:2]
        th, tw = h // 2, w // 2
        step_y, step_x = (h - th) / (TILE_GRID - 1), (w - tw) / (TILE_GRID - 1)
        kept = list(faces)
        for ty in (round(i * step_y) for i in range(TILE_GRID)):
            for tx in (round(i * step_x) for i in range(TILE_GRID)):
                for f in self._detect_once(rgb[ty:ty + th, tx:tx + tw]):
                    x0, y0, x1, y1 = f.box
                    cut = (x0 <= 1 < tx or y0 <= 1 < ty or (x1 >= tw - 1 and tx + tw < w) or
                           (y1 >= th - 1 and ty + th < h))
                    box = (x0 + tx, y0 + ty, x1 + tx, y1 + ty)
                    if cut or any(_overlap(box, k.box) > 0.3 for k in kept):
                        continue
                    f.box, f.keypoints = box, f.keypoints + np.array([tx, ty])
                    kept.append(f)
        return kept


def searches_tiles(shape: tuple[int, int], boxes: Sequence[tuple[float, float, float, float]]) -> bool:
    """Whether an image of ``shape`` (H, W) whose whole-image pass found ``boxes`` is also searched in tiles."""
    longer = max(shape)
    if longer >= TILE_ALWAYS_SIDE:
        return True
    return longer >= TILE_MIN_SIDE and not any(x1 - x0 >= PORTRAIT_FACE * longer for x0, _, x1, _ in boxes)


def _close_detector(detector) -> None:
    with native_stderr_silenced():
        detector.close()


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection of two boxes over the smaller one's area (1 when one holds the other)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / max(smaller, 1e-9)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) mapping src points onto dst (Umeyama 1991).

    OpenCV's ``estimateAffinePartial2D`` is a robust estimator that may drop points; with four keypoints every
    point should count, so this is the closed form. Returns a (2, 3) matrix.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sv, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(sv) @ sign) / max(s.var(0).sum(), 1e-12)
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_d - scale * rotation @ mu_s
    return matrix


def alignment_matrix(keypoints: np.ndarray, template: Sequence[Sequence[float]] | None = None,
                     chip_size: int = 200) -> np.ndarray:
    """(2, 3) image -> chip similarity that puts the eyes, nose and mouth of (6, 2) ``keypoints`` on the template."""
    template = template_points(template, chip_size)
    return similarity_transform(keypoints[:ALIGN_POINTS], template[:ALIGN_POINTS])


def align_face(rgb: np.ndarray, face: Face, template: Sequence[Sequence[float]] | None = None,
               chip_size: int = 200) -> Face:
    """Fill ``face.chip`` and ``face.matrix``: the image warped so the keypoints land on the template."""
    matrix = alignment_matrix(face.keypoints, template, chip_size)
    scale = float(np.hypot(*matrix[:, 0]))
    source, warp = rgb, matrix
    if scale < 0.5:  # shrink with area averaging first, so the warp does not alias a large face
        factor = scale * 2
        source = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        warp = matrix @ np.diag([1 / factor, 1 / factor, 1.0])  # resized pixels -> chip
    face.chip = cv2.warpAffine(source, warp, (chip_size, chip_size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    face.matrix = matrix
    return face


def confirmation_view(rgb: np.ndarray, matrix: np.ndarray, chip_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The upright view of an aligned face with context around it and its (2, 3) image -> view matrix."""
    k = CONFIRM_FACE / chip_size
    offset = (CONFIRM_VIEW - CONFIRM_FACE) / 2
    view_matrix = np.array([[k, 0, offset], [0, k, offset]]) @ np.vstack([matrix, [0, 0, 1]])
    view = cv2.warpAffine(rgb, view_matrix, (CONFIRM_VIEW, CONFIRM_VIEW), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return view, view_matrix


def confirm_face(rgb: np.ndarray, face: Face, detector: FaceDetector,
                 template: Sequence[Sequence[float]] | None = None, chip_size: int = 200) -> Face:
    """Look at a face again, upright and centred: set ``face.confirmation`` to the score of the face found at the
    view's centre (0 when none is). A confirmed face takes the keypoints and the box found there and is aligned from
    them (``chip`` and ``matrix``); when the first alignment was far off (the face found off-centre), the view is made
    again from those keypoints and looked at once more. An unconfirmed face is left as it was."""
    keypoints = face.keypoints
    face.confirmation = 0.0
    for attempt in range(2):
        view, view_matrix = confirmation_view(rgb, alignment_matrix(keypoints, template, chip_size), chip_size)
        found = _face_at_centre(detector._detect_once(view), tolerance=0.25 if attempt else 0.35)
        if found is None:
            return face
        to_image = cv2.invertAffineTransform(view_matrix)
        keypoints = found.keypoints @ to_image[:, :2].T + to_image[:, 2]
        if attempt or _offset(found) < 0.15 * CONFIRM_VIEW:  # found near the centre: this look confirms it
            face.keypoints, face.confirmation = keypoints, found.score
            face.box = box_in_image(found.box, to_image)
            return align_face(rgb, face, template, chip_size)
    return face


def is_confirmed(score: float, confirmation: float | None, min_confirmation: float = MIN_CONFIRMATION) -> bool:
    """Whether a candidate counts as a face: its second look (``confirmation``; None: not looked at) scored at least
    ``min_confirmation``, or, at thresholds up to the default (MIN_CONFIRMATION), at most NEAR_CONFIRMATION less
    while its first look's ``score`` makes up the rest of ``min_confirmation + BOTH_LOOKS_MARGIN``. A stricter
    threshold counts the second look alone (a user raising it wants fewer boxes); 0 keeps every candidate."""
    if min_confirmation <= 0:
        return True
    second = 0.0 if confirmation is None else float(confirmation)
    if second >= min_confirmation:
        return True
    return (min_confirmation <= MIN_CONFIRMATION and second >= min_confirmation - NEAR_CONFIRMATION
            and float(score) + second >= min_confirmation + BOTH_LOOKS_MARGIN)


def box_in_image(box: tuple[float, float, float, float], to_image: np.ndarray) -> tuple[float, float, float, float]:
    """A box of the upright view, mapped into the image by the similarity ``to_image`` (2, 3): the same centre and,
    scaled, the same width and height (upright, as the detector draws a face's box)."""
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]) @ to_image[:, :2].T + to_image[:, 2]
    scale = float(np.hypot(*to_image[:, 0]))
    half_w, half_h = scale * (box[2] - box[0]) / 2, scale * (box[3] - box[1]) / 2
    return (float(centre[0] - half_w), float(centre[1] - half_h), float(centre[0] + half_w), float(centre[1] + half_h))


def _offset(face: Face) -> float:
    """Distance of a face's box centre from the centre of the confirmation view, in pixels."""
    centre = CONFIRM_VIEW / 2
    return float(np.hypot((face.box[0] + face.box[2]) / 2 - centre, (face.box[1] + face.box[3]) / 2 - centre))


def _face_at_centre(faces: list[Face], tolerance: float) -> Face | None:
    """The highest-scoring face whose box centre lies within ``tolerance`` of the view's size from its centre."""
    near = [f for f in faces if _offset(f) < tolerance * CONFIRM_VIEW]
    return max(near, key=lambda f: f.score) if near else None


def find_faces(rgb: np.ndarray, detector: FaceDetector, template: Sequence[Sequence[float]] | None = None,
               chip_size: int = 200, max_faces: int | None = None,
               min_confirmation: float = MIN_CONFIRMATION, tiles: bool = True) -> list[Face]:
    """The faces of an image, largest first, each aligned and, unless ``min_confirmation`` is 0, confirmed and
    re-aligned by a second, upright look (candidates that score below it there are dropped); at most ``max_faces``.
    ``tiles``: whether small faces are searched in tiles (FaceDetector.detect); video frames skip it for speed.
    A grainy photo is searched on a smoothed copy too (GRAIN_SMOOTHING)."""
    def search(image: np.ndarray) -> list[Face]:
        return _faces_in(image, detector, template, chip_size, max_faces, min_confirmation, tiles)

    return also_smoothed(rgb, search, template, chip_size)[:max_faces]


def also_smoothed(rgb: np.ndarray, search: Callable[[np.ndarray], list[Face]],
                  template: Sequence[Sequence[float]] | None = None, chip_size: int = 200) -> list[Face]:
    """``search(rgb)`` and, when the photo is grainy, what ``search`` finds on a smoothed copy (aligned again on the
    photo itself) where the photo itself showed no face: a face found only there is added, and one whose second
    look scored higher there replaces the unconfirmed candidates it overlaps (below MIN_CONFIRMATION: those the
    Analyze page keeps for its threshold slider); largest first."""
    faces = search(rgb)
    if not is_grainy_photo(rgb):
        return faces
    for face in search(cv2.GaussianBlur(rgb, (0, 0), GRAIN_SMOOTHING)):
        overlapping = [_overlap(face.box, kept.box) > 0.3 for kept in faces]
        if all(kept.confirmation is not None and not is_confirmed(kept.score, kept.confirmation)
               and kept.confirmation < (face.confirmation or 0) for kept, over in zip(faces, overlapping) if over):
            faces = [kept for kept, over in zip(faces, overlapping) if not over]
            faces.append(align_face(rgb, face, template, chip_size))
    return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def every_candidate(rgb: np.ndarray, detector: FaceDetector, template: Sequence[Sequence[float]] | None = None,
                    chip_size: int = 200, limit: int | None = None) -> list[Face]:
    """Every candidate the detector finds (at most ``limit``, largest first), each looked at a second time
    (``confirmation`` set, 0 when not found again) and aligned: from the second look when it found the face, else
    from the first. A grainy photo is searched on a smoothed copy too (``also_smoothed``)."""
    def search(image: np.ndarray) -> list[Face]:
        faces = detector.detect(image)[:limit]
        for face in faces:
            confirm_face(image, face, detector, template, chip_size)
            if face.chip is None:
                align_face(image, face, template, chip_size)
        return faces

    return also_smoothed(rgb, search, template, chip_size)[:limit]


def _faces_in(rgb: np.ndarray, detector: FaceDetector, template: Sequence[Sequence[float]] | None, chip_size: int,
              max_faces: int | None, min_confirmation: float, tiles: bool) -> list[Face]:
    kept = []
    for face in detector.detect(rgb, tiles):
        if max_faces is not None and len(kept) >= max_faces:
            break
        if min_confirmation > 0:
            confirm_face(rgb, face, detector, template, chip_size)
            if not is_confirmed(face.score, face.confirmation, min_confirmation):
                continue  # a confirmed face comes back aligned from its second look
        else:
            align_face(rgb, face, template, chip_size)
        kept.append(face)
    return kept


def chip_to_image(values: np.ndarray, matrix: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """Map a (C, C[, ch]) array in the chip frame back onto the original image (zeros outside the chip)."""
    h, w = image_shape[:2]
    return cv2.warpAffine(values, cv2.invertAffineTransform(matrix), (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


@dataclass(frozen=True)
class ChipFootprint:
    """Where an aligned chip lies on its photo: its corners, and the box of photo pixels its warp back can touch."""

    corners: np.ndarray  # (4, 2) the chip's corners on the photo: top-left, top-right, bottom-right, bottom-left
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 excluded), clipped to the photo; never empty
    matrix: np.ndarray  # (2, 3) box -> chip: the photo -> chip matrix with the box's top-left pixel as origin
    chip_size: int

    @property
    def shape(self) -> tuple[int, int]:
        """(h, w) of the box."""
        x0, y0, x1, y1 = self.box
        return y1 - y0, x1 - x0

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The box's pixels of ``image`` (a view)."""
        x0, y0, x1, y1 = self.box
        return image[y0:y1, x0:x1]

    def to_box(self, values: np.ndarray) -> np.ndarray:
        """A (C, C[, ch]) array in the chip frame warped onto the box (zeros where the chip does not reach)."""
        return chip_to_image(values, self.matrix, self.shape)

    def coverage(self) -> np.ndarray:
        """(h, w) float32 in [0, 1]: how much of each box pixel the chip covers (1 inside, 0 outside)."""
        return self.to_box(np.ones((self.chip_size, self.chip_size), np.float32))

    def paste(self, image: np.ndarray, box_pixels: np.ndarray) -> np.ndarray:
        """A copy of ``image`` with the box replaced by ``box_pixels``."""
        out = image.copy()
        self.crop(out)[...] = box_pixels
        return out


def chip_footprint(matrix: np.ndarray, chip_size: int, image_shape: tuple[int, ...]) -> ChipFootprint:
    """The footprint on an (H, W[, ...]) photo of the chip that the (2, 3) photo -> chip ``matrix`` makes.

    Drawing a map of the chip on the photo changes only this box, so overlays warp and blend there instead of over
    the whole frame. The box holds every pixel that a bilinear warp back from the chip can reach: the chip's square
    and one chip pixel around it. A chip wholly outside the photo gets the photo's top-left pixel, which it does not
    touch.
    """
    matrix = np.asarray(matrix, np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [chip_size, 0], [chip_size, chip_size], [0, chip_size]], np.float64)
    corners = corners @ inverse[:, :2].T + inverse[:, 2]  # (4, 2) on the photo
    reach = np.array([[-1, -1], [chip_size, -1], [chip_size, chip_size], [-1, chip_size]], np.float64)
    reach = reach @ inverse[:, :2].T + inverse[:, 2]  # (4, 2) the bilinear warp's support on the photo
    h, w = image_shape[:2]
    x0, y0 = (int(np.clip(np.floor(v), 0, m)) for v, m in zip(reach.min(0), (w, h)))
    x1, y1 = (int(np.clip(np.floor(v) + 1, 0, m)) for v, m in zip(reach.max(0), (w, h)))
    if x1 <= x0 or y1 <= y0:
        x0, y0, x1, y1 = 0, 0, 1, 1
    shifted = matrix.copy()
    shifted[:, 2] += shifted[:, :2] @ np.array([x0, y0], np.float64)
    return ChipFootprint(corners, (x0, y0, x1, y1), shifted, chip_size)


def derive_template(images: Iterable[np.ndarray], detector: FaceDetector) -> tuple[tuple[float, float], ...]:
    """Median keypoints, as fractions of the image size, of the largest face in each aligned training chip."""
    points = []
    for rgb in images:
        faces = detector.detect(rgb)
        if faces:
            h, w = rgb.shape[:2]
            points.append(faces[0].keypoints / np.array([w, h]))
    if not points:
        raise ValueError("no face was found in any of the chips, so no template can be derived")
    median = np.median(np.stack(points), axis=0)
    return tuple((round(float(x), 4), round(float(y), 4)) for x, y in median)
