"""Face tracking and temporal smoothing of each track's distribution."""
import numpy as np
import pytest

from dldl_core.pipeline.predictor import FacePrediction
from dldl_core.ui.tracking import FaceTracker, distribution_stats, iou, update_weight

SUPPORT = np.arange(0, 101, dtype=np.float64)


def face(box, age, sigma=3.0):
    p = np.exp(-((SUPPORT - age) ** 2) / (2 * sigma**2))
    p /= p.sum()
    mean, std = distribution_stats(p, SUPPORT)
    return FacePrediction(box=box, score=0.9, age=mean, std=std, interval90=(mean - 5, mean + 5), support=SUPPORT,
                          distribution=p, age_original=mean, age_mirrored=mean)


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_update_weight_is_frame_rate_independent():
    assert update_weight(0.5, 0.5) == pytest.approx(0.5)
    assert update_weight(1.0, 0.0) == 1.0
    # two steps of dt/2 leave the old state the same weight as one step of dt
    w = update_weight(0.1, 0.6)
    w2 = update_weight(0.2, 0.6)
    assert (1 - w) ** 2 == pytest.approx(1 - w2)


def test_distribution_stats_normalise_then_read_out_as_numpy_labels():
    from dldl_core.maths import numpy_labels

    p = np.exp(-((SUPPORT - 42.0) ** 2) / (2 * 4.0**2))  # not normalised
    mean, std = distribution_stats(3 * p, SUPPORT)
    q = (p / p.sum())[None]
    assert mean == pytest.approx(numpy_labels.expectation(q, SUPPORT)[0]) == pytest.approx(42.0, abs=1e-6)
    assert std == pytest.approx(numpy_labels.standard_deviation(q, SUPPORT)[0]) == pytest.approx(4.0, rel=1e-3)


def test_the_tracker_and_the_plots_import_no_torch_and_no_detector():
    import subprocess
    import sys

    code = ("import sys, dldl_core.ui.tracking, dldl_core.ui.plots; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'mediapipe'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_same_face_keeps_its_track_and_is_smoothed():
    tracker = FaceTracker(half_life=1.0)
    first = tracker.update([face((100, 100, 200, 200), 30)], now=0.0)[0]
    assert first.age == pytest.approx(30, abs=0.01)
    second = tracker.update([face((104, 102, 204, 202), 50)], now=1.0)[0]  # moved a little, one half-life later
    assert second.track_id == first.track_id
    assert second.age == pytest.approx(40, abs=0.5)  # half of the new distribution mixed in
    assert second.std > 5  # the mixture of two distant bumps is wide
    assert second.face.age == pytest.approx(50, abs=0.01)  # the raw prediction is kept too
    assert second.distribution.sum() == pytest.approx(1.0)


def test_flicker_is_damped():
    tracker = FaceTracker(half_life=0.5)
    shown = []
    for i in range(60):  # 30 fps, raw ages alternate 30 / 40
        shown.append(tracker.update([face((50, 50, 150, 150), 30 if i % 2 else 40)], now=i / 30)[0].age)
    tail = np.array(shown[20:])
    assert np.ptp(tail) < 2.0  # raw swing is 10 years
    assert tail.mean() == pytest.approx(35, abs=1.0)


def test_two_faces_get_two_tracks_and_tracks_expire():
    tracker = FaceTracker(half_life=0.5, max_missed=2)
    a, b = tracker.update([face((0, 0, 100, 100), 20), face((300, 0, 400, 100), 60)], now=0.0)
    assert a.track_id != b.track_id
    b2, a2 = tracker.update([face((302, 0, 402, 100), 61), face((1, 0, 101, 100), 21)], now=0.1)
    assert (a2.track_id, b2.track_id) == (a.track_id, b.track_id)  # matched by position, not by order
    for t in range(3):
        tracker.update([], now=0.2 + t * 0.1)
    assert tracker.tracks == []
    new = tracker.update([face((0, 0, 100, 100), 20)], now=1.0)[0]
    assert new.track_id not in (a.track_id, b.track_id)


def test_face_without_distribution_smooths_the_age():
    tracker = FaceTracker(half_life=1.0)
    f = face((0, 0, 100, 100), 30)
    f.distribution = None
    tracker.update([f], now=0.0)
    g = face((0, 0, 100, 100), 50)
    g.distribution = None
    assert tracker.update([g], now=1.0)[0].age == pytest.approx(40)


def test_a_track_reads_its_interval_from_the_smoothed_distribution():
    tracker = FaceTracker(half_life=1.0)
    tracker.update([face((0, 0, 100, 100), 30, sigma=2.0)], now=0.0)
    track = tracker.update([face((0, 0, 100, 100), 50, sigma=2.0)], now=1.0)[0]
    low, high = track.interval90
    assert low < 31 and high > 49  # both bumps of the mixture, not the latest frame's (46.7, 53.3)
    assert (low, high) != track.face.interval90
    alone = face((0, 0, 100, 100), 40, sigma=3.0)
    alone.distribution = None
    assert FaceTracker().update([alone], now=0.0)[0].interval90 == alone.interval90  # nothing smoothed to read


def test_a_track_shows_the_second_look_score_when_there_is_one():
    f = face((0, 0, 100, 100), 30)
    track = FaceTracker().update([f], now=0.0)[0]
    assert track.score == 0.9  # the first look's score: the second look was off
    f.confirmation = 0.97
    assert track.score == 0.97


def test_the_grain_of_a_track_is_smoothed_so_its_flag_does_not_flicker():
    tracker = FaceTracker(half_life=0.6)
    levels = [0.020, 0.012, 0.020, 0.013, 0.019, 0.012]  # one frame's grain around GRAINY (0.015), as after a codec
    flags = []
    for k, level in enumerate(levels):
        f = face((10, 10, 110, 110), 30)
        f.grain = level  # what the aligned crop would measure
        (track,) = tracker.update([f], now=k / 15)
        flags.append(track.grainy)
    assert flags == [True] * len(levels)
    clean = face((10, 10, 110, 110), 30)
    clean.grain = 0.004
    for k in range(30):  # two seconds of clean frames bring the flag down
        (track,) = tracker.update([clean], now=(len(levels) + k) / 15)
    assert not track.grainy and track.grain == pytest.approx(0.004, abs=0.002)
