"""AppTest of the Analyze page: real photos, the confirmation threshold, the maps and their captions, the state
that follows photos and pages, the report, and the user errors."""
import io
import json

import numpy as np
import pytest
from apptest_support import markdown_text, no_exception, open_page, weights_under_test
from PIL import Image

from dldl_core.pipeline.face import MIN_CONFIRMATION

PAGE = "views/analyze.py"
PHOTO_CAPTIONS = {"gradcam on the photo", "gradcam on the aligned face", "sliding-window occlusion (change of age)",
                  "face regions (change of age)"}


@pytest.fixture(autouse=True)
def weights(monkeypatch, random_weights):
    monkeypatch.setenv("DLDL_WEIGHTS", str(weights_under_test(random_weights)))


@pytest.fixture
def downloads(monkeypatch):
    """The files the page hands to its download buttons, by MIME type (the last one of each)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        files[mimetype] = path_or_data
        return load(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return files


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(path) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).save(buffer, format="JPEG")
    return buffer.getvalue()


def charts(at):
    return at.get("plotly_chart")


def image_captions(at) -> list[str]:
    return [c for image in at.image for c in image.captions]


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def ages(at) -> list[float]:
    return [float(part.split("**")[1]) for part in markdown_text(at).split("Estimated age ")[1:]]


def upload(at, *files):
    at.file_uploader(key="analyze_upload").set_value(list(files) if len(files) > 1 else files[0])
    return at.run()


@pytest.fixture(scope="module")
def coffee() -> bytes:
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the coffee photo")
    return png(skimage_data.coffee())


def test_before_an_upload():
    at = open_page(PAGE)
    no_exception(at)
    assert at.file_uploader(key="analyze_upload").accept_multiple_files
    assert at.slider(key="analyze_min_confirmation").value == pytest.approx(MIN_CONFIRMATION)
    assert "Upload one or more photos" in at.info[0].value


@pytest.mark.slow
def test_a_portrait_gives_an_age_a_chart_and_explanations(grace_hopper_path):
    at = upload(open_page(PAGE), ("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"))
    no_exception(at)
    assert not at.error
    assert len(ages(at)) == 1
    assert "confirmation 0." in captions(at)  # each face's second-look score
    assert len(charts(at)) == 2  # the distribution and the regions
    assert set(image_captions(at)) >= PHOTO_CAPTIONS
    assert "blue**, the face looks **younger**" in markdown_text(at)  # the colour convention, stated once
    assert "The gradcam maps show the evidence for the expected age" in captions(at)
    assert "whatever the CAM's target" in captions(at)
    assert "**Faithfulness for this face.**" in markdown_text(at) and "a strong blur" in markdown_text(at)
    assert "sanity check" in captions(at)  # the method's verdict, or why there is none for these weights
    assert [b.label for b in at.download_button] == ["JSON report", "Report and images (zip)"]
    assert at.selectbox(key="analyze_cam_method").value == "gradcam"

    at.radio(key="analyze_target").set_value("bin").run()
    no_exception(at)
    age_bin = at.number_input(key="analyze_bin").value
    assert abs(age_bin - ages(at)[0]) <= 0.55  # the face's own estimate (shown to 0.1)
    assert f"the probability of age {age_bin}" in captions(at)
    at.radio(key="analyze_target").set_value("contrast").run()
    at.number_input(key="analyze_contrast_a").set_value(70)
    at.number_input(key="analyze_contrast_b").set_value(30)
    at.selectbox(key="analyze_cam_method").set_value("gradcam++")
    at.toggle(key="analyze_sliding").set_value(False).run()
    no_exception(at)
    assert "evidence for age 70 rather than age 30" in captions(at)
    maps = [c for c in image_captions(at) if "(aligned)" not in c and ": 1 face" not in c]
    assert maps == ["gradcam++ on the photo", "gradcam++ on the aligned face", "face regions (change of age)"]

    at.selectbox(key="analyze_cam_method").set_value("eigencam").run()
    no_exception(at)
    assert "eigencam ignores the target" in captions(at)
    assert "eigencam (ignores the target) on the photo" in image_captions(at)


@pytest.mark.slow
def test_the_report_holds_the_maps_the_settings_and_the_provenance(grace_hopper_path, downloads):
    at = upload(open_page(PAGE), ("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"))
    no_exception(at)
    report = json.loads(downloads["application/json"])
    assert {"created_utc", "package", "photo", "photo_sha256", "width", "height", "device", "weights", "settings",
            "faces", "set_aside"} <= set(report)
    assert report["created_utc"].endswith("+00:00") and report["package"]["version"]
    assert report["weights"]["sha256"] and report["weights"]["name"]
    assert report["settings"]["cam_method"] == "gradcam" and report["settings"]["target"] == "expected"
    assert report["settings"]["min_confirmation"] == pytest.approx(MIN_CONFIRMATION)
    assert {"patch_px", "stride_px", "fill", "fill_description"} <= set(report["settings"]["occlusion"])
    assert report["settings"]["occlusion"]["fill"] == "blur"
    (face,) = report["faces"]
    assert {"box", "score", "confirmation", "keypoints", "age", "distribution"} <= set(face)
    assert set(face["keypoints"]) >= {"right_eye", "left_eye", "nose_tip", "mouth"}
    maps = face["explanation"]["maps"]
    assert set(maps) == {"cam", "occlusion", "regions"}
    assert maps["occlusion"]["colour_scale"]["vmin"] == -maps["occlusion"]["colour_scale"]["vmax"]
    assert maps["cam"]["png_base64"]
    check = face["explanation"]["faithfulness"]  # the map's own deletion gain over random orders, with its fill
    assert check["fill"] == "blur" and check["gain"] == pytest.approx(check["map_auc"] - check["random_auc"], abs=1e-3)


@pytest.mark.slow
def test_the_coffee_cup_gets_no_age_at_the_default_threshold(coffee):
    at = upload(open_page(PAGE), ("coffee.png", coffee, "image/png"))
    no_exception(at)
    assert not ages(at) and not charts(at)
    assert "No face in coffee.png passed the confirmation threshold 0.70" in at.warning[0].value
    at.slider(key="analyze_min_confirmation").set_value(0.5).run()  # the user takes the candidate anyway
    no_exception(at)
    assert len(ages(at)) == 1 and not at.warning


@pytest.mark.slow
def test_several_photos_a_repeated_upload_and_a_snapshot(grace_hopper_path, astronaut_path):
    grace = ("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg")
    at = upload(open_page(PAGE), grace, ("astronaut.png", astronaut_path.read_bytes(), "image/png"),
                ("grace copy.jpg", grace[1], "image/jpeg"))  # the same file again: one photo
    at.toggle(key="analyze_sliding").set_value(False).run()
    assert at.selectbox(key="analyze_photo").options == ["grace.jpg", "astronaut.png"]
    at.toggle(key="analyze_use_camera").set_value(True).run()
    at.camera_input(key="analyze_camera").set_value(("shot.jpg", jpeg(astronaut_path), "image/jpeg")).run()
    no_exception(at)
    assert at.selectbox(key="analyze_photo").options == ["grace.jpg", "astronaut.png", "snapshot.jpg"]
    assert "snapshot.jpg: 1 face(s)" in image_captions(at)  # the snapshot is the photo shown
    at.selectbox(key="analyze_photo").select_index(0).run()
    no_exception(at)
    assert "grace.jpg: 1 face(s)" in image_captions(at)


@pytest.mark.slow
def test_the_chosen_bin_belongs_to_its_photo(grace_hopper_path, astronaut_path):
    at = upload(open_page(PAGE), ("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"))
    at.toggle(key="analyze_sliding").set_value(False)
    at.radio(key="analyze_target").set_value("bin").run()
    at.number_input(key="analyze_bin").set_value(7).run()
    assert "the probability of age 7" in captions(at)
    at = upload(at, ("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"),
                ("astronaut.png", astronaut_path.read_bytes(), "image/png"))
    no_exception(at)
    assert "astronaut.png: 1 face(s)" in image_captions(at)  # the new photo is shown, with its own bin
    assert abs(at.number_input(key="analyze_bin").value - ages(at)[0]) <= 0.55  # its estimate (shown to 0.1)
    at.selectbox(key="analyze_photo").select_index(0).run()
    assert at.number_input(key="analyze_bin").value == 7  # grace's bin is still hers


@pytest.mark.slow
def test_photos_and_settings_survive_a_visit_to_another_page(grace_hopper_path):
    at = upload(open_page(PAGE), ("grace.jpg", grace_hopper_path.read_bytes(), "image/jpeg"))
    at.selectbox(key="analyze_cam_method").set_value("hirescam")
    at.slider(key="analyze_min_confirmation").set_value(0.5)
    at.toggle(key="analyze_sliding").set_value(False).run()
    before = ages(at)
    at.switch_page("views/learn.py").run()
    no_exception(at)
    at.switch_page(PAGE).run()
    no_exception(at)
    assert ages(at) == before and "grace.jpg: 1 face(s)" in image_captions(at)
    assert at.selectbox(key="analyze_cam_method").value == "hirescam"
    assert at.slider(key="analyze_min_confirmation").value == pytest.approx(0.5)
    assert at.toggle(key="analyze_sliding").value is False
    assert "1 photo(s) kept from earlier in this session." in captions(at)


@pytest.mark.parametrize("name, data, message", [
    ("notes.jpg", b"these are notes, not a photo", "notes.jpg is not an image Pillow can read."),
    ("wall.png", png(np.full((240, 320, 3), 180, np.uint8)), "No face was found in wall.png."),
    ("huge.png", png(np.zeros((7100, 7100, 3), np.uint8)), "huge.png is too large (7100x7100 pixels"),
])
def test_user_errors_are_one_sentence(name, data, message):
    at = upload(open_page(PAGE), (name, data, "image/png"))
    no_exception(at)
    assert len(at.error) == 1
    assert at.error[0].value.startswith(message)
    assert at.error[0].value.endswith(".") and "\n" not in at.error[0].value and "Traceback" not in at.error[0].value
    assert not charts(at)


@pytest.mark.slow
def test_every_face_can_be_added_to_the_report(grace_hopper_path, astronaut_path, downloads):
    grace = np.asarray(Image.open(grace_hopper_path).convert("RGB"))
    astronaut = np.asarray(Image.open(astronaut_path).convert("RGB").resize((600, 600)))
    at = upload(open_page(PAGE), ("two.png", png(np.hstack([grace, astronaut])), "image/png"))
    at.toggle(key="analyze_sliding").set_value(False).run()
    no_exception(at)
    assert len(ages(at)) == 2
    assert [f["explanation"] is None for f in json.loads(downloads["application/json"])["faces"]] == [False, True]
    at.button(key="analyze_explain_all").click().run()
    no_exception(at)
    faces = json.loads(downloads["application/json"])["faces"]
    assert [set(f["explanation"]["maps"]) for f in faces] == [{"cam", "regions"}] * 2
    assert "analyze_explain_all" not in [b.key for b in at.button]  # nothing left to add
