"""The live frame loop: annotated frames, statistics read from another thread, the Grad-CAM overlay."""
import threading

import cv2
import numpy as np
import pytest

from dldl_core.data.images import load_rgb
from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.live import (
    LATENCY_STAGES,
    MEASURED_OVERLAY_COST,
    RECENT_TRACKS,
    FaceReading,
    LiveProcessor,
    OverlayCost,
    frame_rate,
    gradcam_function,
    track_table,
)


@pytest.fixture(scope="module")
def predictor(random_weights):
    with Predictor(random_weights, device="cpu") as p:
        yield p


@pytest.fixture(scope="module")
def frame(grace_hopper_path):
    """A 640x480 frame with one face, as a webcam would give."""
    face = cv2.resize(load_rgb(grace_hopper_path), (300, 352))
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[64:416, 170:470] = face
    return canvas


def test_frames_are_annotated_and_timed(predictor, frame):
    live = LiveProcessor(predictor)
    out = live.process(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8 and (out != frame).any()
    for _ in range(4):
        live.process(frame)
    stats = live.stats()
    assert stats.frames == 5 and stats.fps > 0
    latency = stats.latency_ms
    assert list(latency) == ["detect_align", "model", "track", "cam", "draw", "total"]  # every stage, in order
    assert all(ms >= 0 for ms in latency.values()) and latency["model"] > 0 and latency["detect_align"] > 0
    # the stages are consecutive slices of the frame's time, and the averages are linear: they add up to at most it
    assert sum(latency[s] for s in LATENCY_STAGES if s != "total") <= latency["total"] * (1 + 1e-9)
    assert len(stats.faces) == 1 and stats.faces[0].track_id == 1  # one face, one track across the frames
    reading = stats.faces[0]
    assert reading.interval90[0] < reading.age < reading.interval90[1]
    assert 0.5 <= reading.score <= 1 and stats.recent == stats.faces
    live.reset()
    assert live.stats().frames == 0 and live.stats().faces == live.stats().recent == []
    assert live.tracker.tracks == []


def test_no_face_gives_the_frame_back_unchanged(predictor):
    live = LiveProcessor(predictor)
    blank = np.full((480, 640, 3), 50, np.uint8)
    assert (live.process(blank) == blank).all()
    assert live.stats().faces == []


def test_stats_can_be_read_while_frames_are_processed(predictor, frame):
    live = LiveProcessor(predictor)
    errors = []

    def worker():
        try:
            for _ in range(6):
                live.process(frame)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        live.stats()
    for t in threads:
        t.join()
    assert not errors and live.stats().frames == 12
    assert len(live.tracker.tracks) == 1


def test_gradcam_overlay_stays_inside_the_face_box(predictor, frame):
    live = LiveProcessor(predictor, cam=gradcam_function(predictor, "eigencam"), cam_every=2)
    plain = live.process(frame)
    live.cam_enabled = True
    with_cam = live.process(frame)
    assert live.stats().latency_ms["cam"] > 0
    x0, y0, x1, y1 = (int(v) for v in live.tracker.tracks[0].box)
    inside = (with_cam[y0 + 10:y1 - 10, x0 + 10:x1 - 10] != plain[y0 + 10:y1 - 10, x0 + 10:x1 - 10]).mean()
    assert inside > 0.5  # the face region is coloured
    # beside and below the box (past its outline) nothing is, though the chip's footprint reaches there
    margin = 6
    assert (with_cam[:, :x0 - margin] == plain[:, :x0 - margin]).all()
    assert (with_cam[:, x1 + margin:] == plain[:, x1 + margin:]).all()
    assert (with_cam[y1 + margin:] == plain[y1 + margin:]).all()


def test_cam_is_reused_between_frames_and_a_zero_map_draws_nothing(predictor, frame):
    calls = []

    def zero_cam(face):
        calls.append(face)
        return np.zeros((50, 50), np.float32)

    live = LiveProcessor(predictor, cam=zero_cam, cam_every=3)
    plain = live.process(frame)
    live.cam_enabled = True
    outs = [live.process(frame) for _ in range(6)]
    assert 2 <= len(calls) <= 3  # every third frame, plus the first one of the track
    assert all((o == plain).all() for o in outs)  # no positive evidence: the frame is not tinted


def test_the_detection_threshold_applies_from_the_next_frame(predictor, frame):
    live = LiveProcessor(predictor)
    assert live.min_confirmation == predictor.min_confirmation  # the library's default unless set
    live.process(frame)
    assert len(live.stats().faces) == 1
    live.min_confirmation = 1.01  # no face scores above 1 on the second look
    live.process(frame)
    assert live.stats().faces == []
    live.min_confirmation = 0.0  # no second look: the first look's score is shown
    live.process(frame)
    (reading,) = live.stats().faces
    assert live.tracker.tracks[-1].face.confirmation is None and reading.score >= 0.5
    assert predictor.min_confirmation > 0  # the shared predictor was never changed


def test_labels_on_the_video_are_large(predictor, frame):
    out = LiveProcessor(predictor).process(frame)
    amber = (out[..., 0] > 200) & (out[..., 1] > 150) & (out[..., 1] < 230) & (out[..., 2] < 80)
    assert (amber.sum(1) > 100).sum() >= 40  # a wide amber tag (and the box's edges) over 40 rows of 480


def test_the_track_table_keeps_the_last_tracks_only():
    readings = [FaceReading(i, 30.0 + i, 4.04, (25.0, 41.0), 0.953, 31.25, seen=100.0 - i) for i in range(3)]
    rows = track_table(readings, now=100.2)
    assert rows[0] == {"track": 0, "age": "30.0 ± 4.0", "90 % interval": "25.0–41.0", "this frame": "31.2",
                       "score": "0.95", "grainy": "", "seen": "now"}
    assert rows[2]["seen"] == "2 s ago"
    assert RECENT_TRACKS <= 10


def test_a_face_in_a_dim_grainy_frame_is_marked_grainy(predictor, astronaut_path):
    webcam = cv2.resize(load_rgb(astronaut_path)[20:320, 100:500], (640, 480))  # her face about 150 px wide
    dim = webcam * 0.3 + np.random.default_rng(0).normal(0, 6, webcam.shape[:2])[..., None]  # a dim room's grain
    for frame, grainy in ((webcam, False), (np.clip(np.rint(dim), 0, 255).astype(np.uint8), True)):
        live = LiveProcessor(predictor)
        live.process(frame)
        faces = live.stats().faces
        assert len(faces) == 1 and faces[0].grainy is grainy
        assert track_table(faces, now=faces[0].seen)[0]["grainy"] == ("yes" if grainy else "")


def test_the_recent_tracks_are_bounded(predictor, frame):
    live = LiveProcessor(predictor)
    for _ in range(RECENT_TRACKS + 3):
        live.process(frame)
        live.tracker.tracks = []  # every frame's face becomes a new track
    recent = live.stats().recent
    assert len(recent) == RECENT_TRACKS and recent[0].seen >= recent[-1].seen


def test_the_overlay_cost_is_measured_by_the_loop(predictor, frame):
    live = LiveProcessor(predictor, cam=gradcam_function(predictor))
    live.process(frame)
    assert live.overlay_cost() is None  # not paid yet: nothing to say from this loop
    live.cam_enabled = True
    for _ in range(3):
        live.process(frame)
    cost = live.overlay_cost()
    assert cost.cam_ms > 0 and cost.frame_ms > 0 and cost.fps_with < cost.fps_without
    live.reset()
    assert live.overlay_cost() == cost  # a new stream on the same machine costs the same


def test_the_overlay_cost_sentence():
    cost = OverlayCost(frame_ms=20.0, cam_ms=30.0, source="measured here")
    assert cost.fps_without == 50 and cost.fps_with == 20
    assert cost.sentence() == ("It adds about 30 ms to each frame's 20 ms: the loop manages at most 20 instead of 50 "
                               "frames per second (measured here).")
    stored = MEASURED_OVERLAY_COST
    assert stored.cam_ms > 0 and stored.fps_with < stored.fps_without and "bench_live.py" in stored.source


def test_the_stored_overlay_cost_was_measured_on_the_shipped_default():
    """The page quotes it before its own loop has measured anything: a new default needs a new measurement."""
    from dldl_core.models.weights import DEFAULT_WEIGHTS, read_sidecar

    sidecar = read_sidecar(DEFAULT_WEIGHTS)
    network = {"thin_age_net": "ThinAgeNet", "tiny_age_net": "TinyAgeNet"}[sidecar["model"]["arch"]]
    assert MEASURED_OVERLAY_COST.source.startswith(f"{network} at {sidecar['preprocess']['input_size']} px,")


def test_the_frame_rate_falls_when_frames_stop_coming():
    times = [10.0 + i / 20 for i in range(21)]  # 20 fps for a second
    assert frame_rate(times, now=11.0) == 20.0
    assert frame_rate(times, now=21.0) == 20 / 11  # ten seconds without a frame
    assert frame_rate(times[:1], now=11.0) == 0.0 and frame_rate([], now=1.0) == 0.0
