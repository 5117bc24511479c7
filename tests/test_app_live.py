"""AppTest of the Live page (the webcam component itself needs a browser: see test_browser_live.py)."""
import cv2
import numpy as np
import pytest
from apptest_support import no_exception, open_page, weights_under_test

from dldl_core.data.images import load_rgb
from dldl_core.pipeline.face import MIN_CONFIRMATION

JARGON = ("TTA", "test-time", "half-life", "Grad-CAM", "CAM", "latency", "standard deviation", "distribution", "fps")


@pytest.fixture(autouse=True)
def weights(monkeypatch, random_weights):
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights_under_test(random_weights)))


def main_elements(node) -> list:
    """The main area's elements in the order the page shows them (blocks opened depth first)."""
    children = getattr(node, "children", None)
    if children is None:
        return [node]
    return [e for _, child in sorted(children.items()) for e in main_elements(child)]


def main_text(at) -> str:
    return "\n".join(str(getattr(e, "value", "")) + str(getattr(e, "label", "")) + str(getattr(e, "help", ""))
                     for e in main_elements(at.main))


def test_live_is_the_default_page_with_the_video_first():
    at = open_page()
    no_exception(at)
    assert at.title[0].value == "Live age estimation"
    assert at.sidebar.markdown[0].value == "**Device:** CPU" or at.sidebar.markdown[0].value.startswith(
        "**Device:** GPU")
    order = [e.type for e in main_elements(at.main)]
    assert order[:2] == ["title", "info"]  # the title, then the video's place (a note outside the server)
    assert "needs the Streamlit server" in at.info[0].value  # the guard around webrtc_streamer
    settings = [i for i, e in enumerate(main_elements(at.main)) if getattr(e, "key", None) in
                {"live_min_confirmation", "live_half_life", "live_tta", "live_cam"}]
    assert len(settings) == 4 and min(settings) > 1  # every setting comes after the video
    assert at.expander[0].label == "Settings"
    assert "**Stopped.**" in at.markdown[0].value  # no stream: no live figures
    assert not at.metric


def test_the_detection_threshold_starts_at_the_library_default_and_reaches_the_loop():
    at = open_page()
    threshold = at.slider(key="live_min_confirmation")
    assert threshold.value == pytest.approx(MIN_CONFIRMATION) and (threshold.min, threshold.max) == (0.0, 1.0)
    assert at.session_state["live_processor"].min_confirmation == pytest.approx(MIN_CONFIRMATION)
    threshold.set_value(0.4).run()
    no_exception(at)
    assert at.session_state["live_processor"].min_confirmation == pytest.approx(0.4)


def test_settings_reach_the_frame_processor():
    at = open_page()
    at.slider(key="live_half_life").set_value(1.5)
    at.toggle(key="live_tta").set_value(False)
    at.toggle(key="live_cam").set_value(True).run()
    no_exception(at)
    processor = at.session_state["live_processor"]
    assert processor.tracker.half_life == 1.5
    assert processor.tta is False
    assert processor.cam_enabled and processor.cam is not None
    first = processor.cam
    at.selectbox(key="live_cam_target").set_value("younger").run()
    assert at.session_state["live_cam_settings"] == ("gradcam", "younger")
    assert at.session_state["live_processor"].cam is not first  # rebuilt for the new target
    at.toggle(key="live_cam").set_value(False).run()
    assert not at.session_state["live_processor"].cam_enabled


def test_the_overlay_states_its_cost_before_it_is_turned_on():
    at = open_page()
    toggle = at.toggle(key="live_cam")
    assert toggle.value is False
    assert "frames per second" in toggle.help and "bench_live.py" in toggle.help
    assert any("Grad-CAM overlay: It adds about" in c.value for c in at.caption)


def test_simple_view_hides_the_jargon_and_keeps_the_settings():
    at = open_page()
    at.slider(key="live_half_life").set_value(1.5)
    at.toggle(key="live_cam").set_value(True).run()
    at.sidebar.toggle(key="live_simple").set_value(True).run()
    no_exception(at)
    keys = {getattr(e, "key", None) for e in main_elements(at.main)}
    assert not keys & {"live_min_confirmation", "live_half_life", "live_tta", "live_cam", "live_cam_method"}
    text = main_text(at)
    assert not [word for word in JARGON if word in text], text
    assert "the age the computer reads from that face" in text
    assert not at.session_state["live_processor"].cam_enabled  # just the video with big ages
    at.sidebar.toggle(key="live_simple").set_value(False).run()
    assert at.slider(key="live_half_life").value == 1.5 and at.toggle(key="live_cam").value is True  # kept
    assert at.session_state["live_processor"].cam_enabled


def test_reset_clears_the_tracks(grace_hopper_path):
    at = open_page()
    processor = at.session_state["live_processor"]
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[64:416, 170:470] = cv2.resize(load_rgb(grace_hopper_path), (300, 352))
    processor.process(frame)
    assert processor.tracker.tracks and processor.stats().faces
    at.button(key="live_reset").click().run()
    no_exception(at)
    assert at.session_state["live_processor"] is processor
    assert processor.tracker.tracks == [] and processor.stats().frames == 0 and processor.stats().recent == []


def test_a_network_switch_leaves_no_stale_caption(monkeypatch):
    from dldl_core.models.weights import shipped_weights

    monkeypatch.delenv("DLDL_WEIGHTS", raising=False)
    shipped = shipped_weights()
    if len(shipped) < 2:
        pytest.skip("the sidebar offers a choice only with two shipped networks")
    at = open_page()
    first = at.session_state["live_processor"]
    other = next(path for path in shipped if path.name != first.predictor.weights.path.name)
    at.sidebar.selectbox(key="weights_choice").set_value(other).run()
    no_exception(at)
    processor = at.session_state["live_processor"]
    assert processor is not first and processor.predictor.weights.path.name == other.name
    networks = [c.value for c in at.caption if c.value.startswith("Network ")]
    assert len(networks) == 1 and networks[0].startswith(f"Network {other.name} ")


def test_missing_weights_are_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DLDL_WEIGHTS", str(tmp_path / "none.safetensors"))
    at = open_page()
    no_exception(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "could not be loaded" in message and "not found" in message and "\n" not in message
    assert at.sidebar.markdown[0].value.startswith("**Device:**")  # still shown
