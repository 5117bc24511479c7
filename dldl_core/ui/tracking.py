"""Face tracks across video frames, each with its predicted distribution smoothed over time.

A frame's faces are matched to the live tracks greedily by box overlap (IoU). A matched track mixes the new
distribution into its own with an exponential moving average whose weight depends on the time since its last
update (a half-life in seconds, so smoothing does not change with the frame rate); the age and std shown are the
expectation and std of the smoothed distribution, so the number does not flicker from frame to frame. A track
that is not seen for ``max_missed`` frames is dropped.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dldl_core.maths import numpy_labels
from dldl_core.pipeline.grain import is_grainy
from dldl_core.pipeline.prediction import FacePrediction

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 for boxes without area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def update_weight(dt: float, half_life: float) -> float:
    """Weight of a new observation after ``dt`` seconds: 1 - 0.5 ** (dt / half_life); 1 without smoothing."""
    if half_life <= 0:
        return 1.0
    return float(1.0 - 0.5 ** (max(dt, 0.0) / half_life))


@dataclass
class Track:
    """One face followed across frames."""

    track_id: int
    box: Box
    face: FacePrediction  # the latest raw prediction
    distribution: np.ndarray | None  # (K,) smoothed distribution, None for objectives without one
    age: float  # expectation of the smoothed distribution (or the smoothed age)
    std: float
    last_update: float  # seconds (monotonic clock)
    hits: int = 1  # frames in which the track was matched
    missed: int = 0  # consecutive frames without a match
    grain: float | None = None  # the faces' grain level (dldl_core.pipeline.grain), smoothed like the distribution

    @property
    def grainy(self) -> bool:
        """The smoothed grain is above GRAINY: a video codec makes one frame's grain flicker around it."""
        return is_grainy(self.grain)

    @property
    def interval90(self) -> tuple[float, float]:
        """The central 90 % interval of the smoothed distribution (the latest frame's, for objectives without one)."""
        if self.distribution is None:
            return self.face.interval90
        p = (self.distribution / max(float(self.distribution.sum()), 1e-12))[None]  # (1, K)
        low, high = numpy_labels.interval(p, self.face.support, 0.9)[0]
        return float(low), float(high)

    @property
    def score(self) -> float:
        """How sure the detector is of this face: its score on the second, upright look, or on the first look
        when that second look is turned off."""
        confirmation = self.face.confirmation
        return float(self.face.score if confirmation is None else confirmation)

    def observe(self, face: FacePrediction, now: float, half_life: float) -> None:
        """Mix a new prediction of this face into the smoothed state."""
        w = update_weight(now - self.last_update, half_life)
        self.box, self.face, self.last_update = face.box, face, now
        self.hits += 1
        self.missed = 0
        if face.grain is not None:
            self.grain = face.grain if self.grain is None else (1 - w) * self.grain + w * face.grain
        if self.distribution is not None and face.distribution is not None:
            self.distribution = (1 - w) * self.distribution + w * face.distribution
            self.age, self.std = distribution_stats(self.distribution, face.support)
        else:
            self.age = (1 - w) * self.age + w * face.age
            self.std = face.std


def distribution_stats(distribution: np.ndarray, support: np.ndarray) -> tuple[float, float]:
    """(K,) probabilities (normalised here) over a (K,) support -> (expectation, standard deviation)."""
    p = (distribution / max(float(distribution.sum()), 1e-12))[None]  # (1, K)
    return float(numpy_labels.expectation(p, support)[0]), float(numpy_labels.standard_deviation(p, support)[0])


class FaceTracker:
    """Greedy IoU tracker with temporal smoothing of each track's distribution; not thread-safe by itself (the
    live processor serialises its calls)."""

    def __init__(self, half_life: float = 0.6, iou_threshold: float = 0.3, max_missed: int = 8) -> None:
        """
        Args:
            half_life: seconds after which a new observation has half the weight of a track's state.
            iou_threshold: least overlap for a face to continue a track.
            max_missed: consecutive frames a track survives unseen.
        """
        self.half_life = half_life
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Forget every track; the next face starts track 1 again."""
        self.tracks = []
        self._next_id = 1

    def update(self, faces: Sequence[FacePrediction], now: float | None = None) -> list[Track]:
        """Match this frame's faces to tracks; returns the tracks seen in this frame, in the order of ``faces``."""
        now = time.monotonic() if now is None else now
        pairs = sorted(((iou(t.box, f.box), ti, fi) for ti, t in enumerate(self.tracks) for fi, f in enumerate(faces)),
                       reverse=True)
        track_of: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, ti, fi in pairs:
            if overlap < self.iou_threshold:
                break
            if ti in used or fi in track_of:
                continue
            used.add(ti)
            track_of[fi] = self.tracks[ti]
            self.tracks[ti].observe(faces[fi], now, self.half_life)
        for ti, track in enumerate(self.tracks):
            if ti not in used:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for fi, face in enumerate(faces):
            if fi not in track_of:
                track = Track(self._next_id, face.box, face,
                              None if face.distribution is None else face.distribution.astype(np.float64),
                              face.age, face.std, now, grain=face.grain)
                self._next_id += 1
                self.tracks.append(track)
                track_of[fi] = track
        return [track_of[fi] for fi in range(len(faces))]
