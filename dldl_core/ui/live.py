"""The live video loop: detect -> predict -> track -> (Grad-CAM) -> draw, one frame at a time, thread-safe.

A video callback runs in a worker thread while the page reads the statistics from another, so frames are
processed under one lock (the tracker's state needs them in order) and the statistics are read under a second,
short one. Frames per second are measured over a sliding window of the last frames; each stage's latency is an
exponential moving average. The loop also measures what the Grad-CAM overlay costs it, so the page can say so
before the overlay is turned on again.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dldl_core.pipeline.face import find_faces
from dldl_core.pipeline.predictor import FacePrediction, Predictor
from dldl_core.ui.annotate import age_label, blend_chip_heatmap, draw_boxes, format_age, interval_label
from dldl_core.ui.tracking import FaceTracker, Track

# Heat map of one face in its aligned chip's frame, values in [0, 1].
CamFunction = Callable[[FacePrediction], np.ndarray]
LATENCY_STAGES = ("detect_align", "model", "track", "cam", "draw", "total")
RECENT_TRACKS = 8  # rows of the track table: the tracks seen last in this stream


@dataclass(frozen=True)
class OverlayCost:
    """What the Grad-CAM overlay costs the frame loop."""

    frame_ms: float  # one frame without the overlay
    cam_ms: float  # added per frame on average (the map is recomputed every few frames)
    source: str  # where the figures come from

    @property
    def fps_without(self) -> float:
        return 1e3 / max(self.frame_ms, 1e-6)

    @property
    def fps_with(self) -> float:
        return 1e3 / max(self.frame_ms + self.cam_ms, 1e-6)

    def sentence(self) -> str:
        """``"It adds about 13 ms to each frame's 35 ms: the loop manages at most 21 instead of 29 frames per second
        (source)."``"""
        return (f"It adds about {self.cam_ms:.0f} ms to each frame's {self.frame_ms:.0f} ms: the loop manages at "
                f"most {self.fps_with:.0f} instead of {self.fps_without:.0f} frames per second ({self.source}).")


# What the page says until its own loop has measured the overlay: ThinAgeNet at 160 px (the default) on onnxruntime,
# flip-TTA, the map recomputed every 2nd frame, 640x480 frames with one face; one run of 200 frames each on the
# project's 2-core CPU with nothing else running: 21.8 fps without the overlay, 16.5 fps with it (frames of 45.8 ms,
# the overlay adding 14.7 ms).
MEASURED_OVERLAY_COST = OverlayCost(
    frame_ms=45.8, cam_ms=14.7,
    source="ThinAgeNet at 160 px, measured on a 2-core CPU with python benchmarks/bench_live.py --gradcam-cost")


@dataclass(frozen=True)
class FaceReading:
    """One tracked face as the page shows it."""

    track_id: int
    age: float  # expectation of the smoothed distribution
    std: float
    interval90: tuple[float, float]
    score: float  # the detector's score (dldl_core.ui.tracking.Track.score)
    raw_age: float  # this frame's estimate alone
    seen: float  # time.monotonic() of the last frame that showed it
    grainy: bool = False  # the track's smoothed grain says a dim room: the estimate is less reliable

    @classmethod
    def of(cls, track: Track, now: float) -> FaceReading:
        return cls(track.track_id, track.age, track.std, track.interval90, track.score, track.face.age, now,
                   track.grainy)


@dataclass
class LiveStats:
    """A snapshot of the loop's state for display."""

    fps: float = 0.0  # frames processed per second over the recent window
    frames: int = 0  # frames processed since the start
    latency_ms: dict[str, float] = field(default_factory=dict)  # stage -> moving average in ms
    faces: list[FaceReading] = field(default_factory=list)  # the faces of the latest frame, largest first
    recent: list[FaceReading] = field(default_factory=list)  # the last RECENT_TRACKS tracks, last seen first


def frame_rate(times: list[float], now: float) -> float:
    """Frames per second over a window of frame times (seconds), counted up to ``now``: when frames stop coming the
    rate falls towards 0 instead of keeping its last value."""
    if len(times) < 2:
        return 0.0
    span = max(now, times[-1]) - times[0]
    return (len(times) - 1) / span if span > 0 else 0.0


def track_table(readings: list[FaceReading], now: float) -> list[dict[str, object]]:
    """Rows of the track table: ages in the page's one format, when each track was last seen."""
    return [{"track": r.track_id, "age": age_label(r.age, r.std), "90 % interval": interval_label(*r.interval90),
             "this frame": format_age(r.raw_age), "score": f"{r.score:.2f}", "grainy": "yes" if r.grainy else "",
             "seen": "now" if now - r.seen < 1 else f"{now - r.seen:.0f} s ago"} for r in readings]


class LiveProcessor:
    """Turns RGB frames into annotated RGB frames; ``process`` and ``stats`` may be called from different threads."""

    def __init__(self, predictor: Predictor, tracker: FaceTracker | None = None, max_faces: int = 4,
                 tta: bool | None = None, cam: CamFunction | None = None, cam_every: int = 2,
                 window: int = 30, smoothing: float = 0.1, min_confirmation: float | None = None,
                 label_height: int | None = None) -> None:
        """
        Args:
            predictor: the shared predictor (detector + network); its settings are read, never changed.
            tracker: face tracker; a new one with default smoothing when None.
            max_faces: largest faces processed per frame.
            tta: flip test-time augmentation; None: the predictor's setting.
            cam: heat-map function for the Grad-CAM overlay of the largest face; enabled by ``cam_enabled``.
            cam_every: recompute the heat map every N frames and reuse it in between (a CAM costs a backward pass).
            window: frames in the fps window.
            smoothing: weight of a new frame in the latency moving averages.
            min_confirmation: the score a face needs on the detector's second look (0 skips that look); None: the
                predictor's. May be changed between frames.
            label_height: letter height of the age labels in pixels; None: a twelfth of the frame's height.
        """
        self.predictor = predictor
        self.tracker = tracker or FaceTracker()
        self.max_faces = max_faces
        self.tta = tta
        self.cam = cam
        self.cam_enabled = False
        self.cam_every = max(1, cam_every)
        self.smoothing = smoothing
        self.min_confirmation = predictor.min_confirmation if min_confirmation is None else min_confirmation
        self.label_height = label_height
        self._frame_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._times: deque[float] = deque(maxlen=window)
        self._latency: dict[str, float] = {}
        self._frames = 0
        self._faces: list[FaceReading] = []
        self._recent: OrderedDict[int, FaceReading] = OrderedDict()
        self._cam_cache: tuple[int, np.ndarray] | None = None  # (track id, heat map)
        self._cost: dict[str, float] = {}  # moving averages: "frame" (ms without the overlay), "cam" (ms it adds)

    def process(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB frame -> annotated copy."""
        with self._frame_lock:
            t0 = time.perf_counter()
            timings: dict[str, float] = {}
            faces = self._predict(rgb, timings)
            t1 = time.perf_counter()
            tracks = self.tracker.update(faces)
            t2 = time.perf_counter()
            frame = self._overlay_cam(rgb, tracks)
            t3 = time.perf_counter()
            height = self.label_height or max(12, rgb.shape[0] // 12)
            out = draw_boxes(frame, [t.box for t in tracks], [age_label(t.age, t.std) for t in tracks],
                             text_height=height)
            t4 = time.perf_counter()
            stages = {"detect_align": timings["detect_align_ms"], "model": timings["model_ms"],
                      "track": (t2 - t1) * 1e3, "cam": (t3 - t2) * 1e3, "draw": (t4 - t3) * 1e3,
                      "total": (t4 - t0) * 1e3}
            self._record(stages, tracks, time.monotonic(), cam_on=self.cam_enabled and self.cam is not None)
            return out

    def _predict(self, rgb: np.ndarray, timings: dict[str, float]) -> list[FacePrediction]:
        """The predictor's detect -> network, with this loop's own confirmation threshold."""
        p = self.predictor
        t0 = time.perf_counter()
        faces = find_faces(rgb, p.detector, p.preprocess.template, p.preprocess.chip_size, self.max_faces,
                           self.min_confirmation, tiles=False)  # the tiles' 9 detector calls: ~20 ms a frame
        t1 = time.perf_counter()
        predictions = p.predict_faces(faces, self.tta)
        timings.update(detect_align_ms=(t1 - t0) * 1e3, model_ms=(time.perf_counter() - t1) * 1e3)
        return predictions

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
        return blend_chip_heatmap(rgb, cached[1], track.face.matrix, self.predictor.preprocess.chip_size,
                                  within=track.box)

    def _average(self, averages: dict[str, float], name: str, ms: float) -> None:
        old = averages.get(name)
        averages[name] = ms if old is None else (1 - self.smoothing) * old + self.smoothing * ms

    def _record(self, stages: dict[str, float], tracks: list[Track], now: float, cam_on: bool) -> None:
        with self._stats_lock:
            self._frames += 1
            self._times.append(now)
            for name, ms in stages.items():
                self._average(self._latency, name, ms)
            self._average(self._cost, "frame", stages["total"] - stages["cam"])
            if cam_on and tracks:
                self._average(self._cost, "cam", stages["cam"])
            self._faces = [FaceReading.of(t, now) for t in tracks]
            for reading in self._faces:
                self._recent[reading.track_id] = reading
                self._recent.move_to_end(reading.track_id)
            while len(self._recent) > RECENT_TRACKS:
                self._recent.popitem(last=False)

    def stats(self) -> LiveStats:
        """A consistent snapshot; cheap, never waits for a frame in progress."""
        with self._stats_lock:
            fps = frame_rate(list(self._times), time.monotonic())
            latency = {k: self._latency[k] for k in LATENCY_STAGES if k in self._latency}
            return LiveStats(fps, self._frames, latency, list(self._faces), list(reversed(self._recent.values())))

    def overlay_cost(self) -> OverlayCost | None:
        """What the overlay has cost this loop (once it has run with it and without it), else None."""
        with self._stats_lock:
            if "cam" not in self._cost or "frame" not in self._cost:
                return None
            return OverlayCost(self._cost["frame"], self._cost["cam"], "measured by this page's frame loop")

    def reset(self) -> None:
        """Forget tracks and statistics (a new stream); what the overlay costs is kept, it does not change."""
        with self._frame_lock, self._stats_lock:
            self.tracker.reset()
            self._times.clear()
            self._latency.clear()
            self._frames = 0
            self._faces = []
            self._recent.clear()
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
