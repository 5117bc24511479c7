"""AppTest of the Live page (the webcam component itself needs a browser: see test_browser.py)."""
import pytest
from apptest_support import no_exception, open_page, weights_under_test


@pytest.fixture(autouse=True)
def weights(monkeypatch, random_weights):
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights_under_test(random_weights)))


def test_live_is_the_default_page():
    at = open_page()
    no_exception(at)
    assert at.title[0].value == "Live age estimation"
    assert at.sidebar.markdown[0].value in ("**Device:** CPU",) or at.sidebar.markdown[0].value.startswith(
        "**Device:** GPU")
    assert {"live_half_life", "live_tta", "live_cam"} <= {w.key for w in [*at.slider, *at.toggle]}
    assert "needs the Streamlit server" in at.info[0].value  # the guard around webrtc_streamer
    assert [m.label for m in at.metric][:2] == ["Frames per second", "Frames processed"]


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


def test_missing_weights_are_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DLDL_WEIGHTS", str(tmp_path / "none.safetensors"))
    at = open_page()
    no_exception(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "could not be loaded" in message and "not found" in message and "\n" not in message
    assert at.sidebar.markdown[0].value.startswith("**Device:**")  # still shown
