"""The live frame loop: annotated frames, statistics read from another thread, the Grad-CAM overlay."""
import threading

import cv2
import numpy as np
import pytest

from dldl_core.data.images import load_rgb
from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.live import LATENCY_STAGES, LiveProcessor, gradcam_function


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
    assert len(stats.tracks) == 1 and stats.tracks[0]["id"] == 1  # one face, one track across the frames
    live.reset()
    assert live.stats().frames == 0


def test_no_face_gives_the_frame_back_unchanged(predictor):
    live = LiveProcessor(predictor)
    blank = np.full((480, 640, 3), 50, np.uint8)
    assert (live.process(blank) == blank).all()
    assert live.stats().tracks == []


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


def test_gradcam_overlay(predictor, frame):
    live = LiveProcessor(predictor, cam=gradcam_function(predictor, "eigencam"), cam_every=2)
    plain = live.process(frame)
    live.cam_enabled = True
    with_cam = live.process(frame)
    assert live.stats().latency_ms["cam"] > 0
    x0, y0, x1, y1 = (int(v) for v in live.tracker.tracks[0].box)
    inside = (with_cam[y0 + 10:y1 - 10, x0 + 10:x1 - 10] != plain[y0 + 10:y1 - 10, x0 + 10:x1 - 10]).mean()
    assert inside > 0.5  # the face region is coloured
    assert (with_cam[:, :20] == plain[:, :20]).all()  # the background far from the face is not


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
