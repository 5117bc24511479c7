"""AppTest of the Analyze page: real photos, the distribution and explanation charts, and the user errors."""
import io

import numpy as np
import pytest
from apptest_support import markdown_text, no_exception, open_page, weights_under_test
from PIL import Image

PAGE = "views/analyze.py"


@pytest.fixture(autouse=True)
def weights(monkeypatch, random_weights):
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights_under_test(random_weights)))


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def charts(at):
    return at.get("plotly_chart")


def test_before_an_upload():
    at = open_page(PAGE)
    no_exception(at)
    assert at.file_uploader(key="analyze_upload").accept_multiple_files
    assert "Upload one or more photos" in at.info[0].value


@pytest.mark.slow
def test_a_portrait_gives_an_age_a_chart_and_explanations(grace_hopper_path):
    at = open_page(PAGE)
    at.file_uploader(key="analyze_upload").set_value(("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"))
    at.run()
    no_exception(at)
    assert not at.error
    assert "Estimated age **" in markdown_text(at)
    assert len(charts(at)) == 2  # the distribution and the regions
    captions = [c for image in at.image for c in image.captions]
    assert {"gradcam on the photo", "gradcam on the aligned face", "sliding-window occlusion (change of age)",
            "face regions (change of age)"} <= set(captions)
    assert [b.label for b in at.download_button] == ["JSON report", "Report and images (zip)"]
    assert at.selectbox(key="analyze_cam_method").value == "gradcam"

    at.radio(key="analyze_target").set_value("bin").run()
    no_exception(at)
    assert at.number_input(key="analyze_bin").value == round(float(markdown_text(at).split("**")[1]))
    at.radio(key="analyze_target").set_value("contrast").run()
    at.number_input(key="analyze_contrast_a").set_value(70)
    at.number_input(key="analyze_contrast_b").set_value(30)
    at.selectbox(key="analyze_cam_method").set_value("gradcam++")
    at.toggle(key="analyze_sliding").set_value(False).run()
    no_exception(at)
    assert "contrast:70,30" in "\n".join(c.value for c in at.caption)
    captions = [c for image in at.image for c in image.captions]
    assert "gradcam++ on the photo" in captions and "sliding-window occlusion (change of age)" not in captions


@pytest.mark.slow
def test_several_photos_and_a_snapshot(grace_hopper_path, astronaut_path):
    at = open_page(PAGE)
    at.file_uploader(key="analyze_upload").set_value([
        ("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"),
        ("astronaut.png", astronaut_path.read_bytes(), "image/png")])
    at.toggle(key="analyze_use_camera").set_value(True).run()
    shot = io.BytesIO()
    Image.open(grace_hopper_path).save(shot, format="JPEG")
    at.camera_input(key="analyze_camera").set_value(("shot.jpg", shot.getvalue(), "image/jpeg"))
    at.toggle(key="analyze_sliding").set_value(False).run()
    no_exception(at)
    assert at.selectbox(key="analyze_photo").options == ["grace.jpg", "astronaut.png", "snapshot.jpg"]
    at.selectbox(key="analyze_photo").set_value(2).run()
    no_exception(at)
    assert "snapshot.jpg: 1 face(s)" in [c for image in at.image for c in image.captions]


@pytest.mark.parametrize("name, data, message", [
    ("notes.jpg", b"these are notes, not a photo", "notes.jpg is not an image Pillow can read."),
    ("wall.png", png(np.full((240, 320, 3), 180, np.uint8)), "No face was found in wall.png."),
    ("huge.png", png(np.zeros((7100, 7100, 3), np.uint8)), "huge.png is too large (7100x7100 pixels"),
])
def test_user_errors_are_one_sentence(name, data, message):
    at = open_page(PAGE)
    at.file_uploader(key="analyze_upload").set_value((name, data, "image/png"))
    at.run()
    no_exception(at)
    assert len(at.error) == 1
    assert at.error[0].value.startswith(message)
    assert at.error[0].value.endswith(".") and "\n" not in at.error[0].value and "Traceback" not in at.error[0].value
    assert not charts(at)
