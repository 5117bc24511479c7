"""The live video loop: detect -> predict -> track -> (Grad-CAM) -> draw, one frame at a time, thread-safe.

A video callback runs in a worker thread while the page reads the statistics from another, so frames are
processed under one lock (the tracker's state needs them in order) and the statistics are read under a second,
short one. Frames per second are measured over a sliding window of the last frames; each stage's latency is an
exponential moving average.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dldl_core.pipeline.predictor import FacePrediction, Predictor
from dldl_core.ui.annotate import age_label, blend_chip_heatmap, draw_boxes
from dldl_core.ui.tracking import FaceTracker, Track

# Heat map of one face in its aligned chip's frame, values in [0, 1].
CamFunction = Callable[[FacePrediction], np.ndarray]
LATENCY_STAGES = ("detect_align", "model", "track", "cam", "draw", "total")


@dataclass
class LiveStats:
    """A snapshot of the loop's state for display."""

    fps: float = 0.0  # frames processed per second over the recent window
    frames: int = 0  # frames processed since the start
    latency_ms: dict[str, float] = field(default_factory=dict)  # stage -> moving average in ms
    tracks: list[dict[str, float]] = field(default_factory=list)  # visible tracks: id, age, std, raw age


class LiveProcessor:
    """Turns RGB frames into annotated RGB frames; ``process`` and ``stats`` may be called from different threads."""

    def __init__(self, predictor: Predictor, tracker: FaceTracker | None = None, max_faces: int = 4,
                 tta: bool | None = None, cam: CamFunction | None = None, cam_every: int = 2,
                 window: int = 30, smoothing: float = 0.1) -> None:
        """
        Args:
            predictor: the shared predictor (detector + network).
            tracker: face tracker; a new one with default smoothing when None.
            max_faces: largest faces processed per frame.
            tta: flip test-time augmentation; None: the predictor's setting.
            cam: heat-map function for the Grad-CAM overlay of the largest face; enabled by ``cam_enabled``.
            cam_every: recompute the heat map every N frames and reuse it in between (a CAM costs a backward pass).
            window: frames in the fps window.
            smoothing: weight of a new frame in the latency moving averages.
        """
        self.predictor = predictor
        self.tracker = tracker or FaceTracker()
        self.max_faces = max_faces
        self.tta = tta
        self.cam = cam
        self.cam_enabled = False
        self.cam_every = max(1, cam_every)
        self.smoothing = smoothing
        self._frame_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._times: deque[float] = deque(maxlen=window)
        self._latency: dict[str, float] = {}
        self._frames = 0
        self._tracks: list[dict[str, float]] = []
        self._cam_cache: tuple[int, np.ndarray] | None = None  # (track id, heat map)

    def process(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB frame -> annotated copy."""
        with self._frame_lock:
            t0 = time.perf_counter()
            timings: dict[str, float] = {}
            faces = self.predictor.predict_rgb(rgb, tta=self.tta, max_faces=self.max_faces, timings=timings)
            t1 = time.perf_counter()
            tracks = self.tracker.update(faces)
            t2 = time.perf_counter()
            frame = self._overlay_cam(rgb, tracks)
            t3 = time.perf_counter()
            out = draw_boxes(frame, [t.box for t in tracks], [age_label(t.age, t.std) for t in tracks])
            t4 = time.perf_counter()
            timings.setdefault("detect_align_ms", 0.0)
            timings.setdefault("model_ms", (t1 - t0) * 1e3 - timings["detect_align_ms"])
            stages = {"detect_align": timings["detect_align_ms"], "model": timings["model_ms"],
                      "track": (t2 - t1) * 1e3, "cam": (t3 - t2) * 1e3, "draw": (t4 - t3) * 1e3,
                      "total": (t4 - t0) * 1e3}
            self._record(stages, tracks, t4)
            return out

    def _overlay_cam(self, rgb: np.ndarray, tracks: list[Track]) -> np.ndarray:
        if not (self.cam_enabled and self.cam is not None and tracks):
            self._cam_cache = None
            return rgb
        track = tracks[0]  # the largest face
        cached = self._cam_cache
        if cached is None or cached[0] != track.track_id or self._frames % self.cam_every == 0:
            cached = (track.track_id, self.cam(track.face))
            self._cam_cache = cached
        if track.face.matrix is None or not cached[1].max() > 0:  # an all-zero map: no evidence to colour
            return rgb
        return blend_chip_heatmap(rgb, cached[1], track.face.matrix, self.predictor.preprocess.chip_size)

    def _record(self, stages: dict[str, float], tracks: list[Track], now: float) -> None:
        with self._stats_lock:
            self._frames += 1
            self._times.append(now)
            for name, ms in stages.items():
                old = self._latency.get(name)
                self._latency[name] = ms if old is None else (1 - self.smoothing) * old + self.smoothing * ms
            self._tracks = [{"id": t.track_id, "age": round(t.age, 1), "std": round(t.std, 1),
                             "raw_age": round(t.face.age, 1)} for t in tracks]

    def stats(self) -> LiveStats:
        """A consistent snapshot; cheap, never waits for a frame in progress."""
        with self._stats_lock:
            times = list(self._times)
            fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
            latency = {k: self._latency[k] for k in LATENCY_STAGES if k in self._latency}
            return LiveStats(fps, self._frames, latency, list(self._tracks))

    def reset(self) -> None:
        """Forget tracks and statistics (a new stream)."""
        with self._frame_lock, self._stats_lock:
            self.tracker.reset()
            self._times.clear()
            self._latency.clear()
            self._frames = 0
            self._tracks = []
            self._cam_cache = None



def gradcam_function(predictor: Predictor, method: str = "gradcam", target: str = "expected",
                     explainer=None) -> CamFunction:
    """A heat-map function for ``LiveProcessor.cam``: the CAM of one face's chip for ``target``.

    The explainer (shared, or a new one from ``predictor``) works on its own copy of the network under its own lock,
    so its hooks never touch the predictor that the frame loop and other sessions use.
    """
    from dldl_core.explain.explainer import Explainer

    explainer = explainer or Explainer(predictor)

    def heat(face: FacePrediction) -> np.ndarray:
        return explainer.cam(face, method, target)

    return heat
