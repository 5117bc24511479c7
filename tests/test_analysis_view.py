"""What the Analyze page shows of an explanation: the target picked, the captions, the panels with colour bars, and
the regions' names for people."""
import numpy as np
import pytest

from dldl_core.explain import render
from dldl_core.explain.explainer import Explanation, colour_scales
from dldl_core.explain.regions import REGION_LABELS, REGION_NAMES, region_label
from dldl_core.ui.explanation_view import default_choices, map_panels, maps_caption, target_description, target_spec

SUPPORT = np.arange(0, 117, dtype=float)


def explanation(method: str = "gradcam", target: str = "expected", sliding: bool = True, photo: bool = True
                ) -> Explanation:
    chip = np.full((200, 200, 3), 120, np.uint8)
    result = Explanation(method, target, 41.3, chip, np.zeros((200, 200), np.float32), {"nose": 1.5, "chin": -0.5},
                         np.zeros((200, 200), np.int16), REGION_NAMES, np.zeros((6, 2)),
                         occlusion_age=np.full((200, 200), 0.4, np.float32) if sliding else None)
    result.scales = colour_scales(result)
    result.overlays = {"cam": chip, "regions": chip} | ({"occlusion": chip} if sliding else {})
    result.overlays_image = {"cam": np.full((300, 400, 3), 60, np.uint8)} if photo else {}
    return result


@pytest.mark.parametrize("kind, expected", [
    ("expected", ("expected", None)), ("younger", ("younger", None)), ("bin", ("bin:83", None)),
    ("contrast", ("contrast:60,40", None))])
def test_the_target_of_each_kind(kind, expected):
    assert target_spec(kind, SUPPORT, 83, (60, 40)) == expected


def test_two_equal_ages_explain_the_expected_age_with_a_warning():
    target, warning = target_spec("contrast", SUPPORT, 0, (50, 50))
    assert target == "expected" and "two different ages" in warning


def test_a_face_starts_from_its_own_estimate():
    assert default_choices(25.4, 0, 116) == {"bin": 25, "contrast_a": 35, "contrast_b": 15}
    assert default_choices(114.0, 0, 116) == {"bin": 114, "contrast_a": 116, "contrast_b": 104}
    assert default_choices(0.2, 1, 116) == {"bin": 1, "contrast_a": 11, "contrast_b": 1}


def test_targets_in_words():
    assert target_description("bin:83", SUPPORT) == "the probability of age 83"
    assert target_description("contrast:60,40", SUPPORT) == "age 60 rather than age 40"
    assert target_description("expected", SUPPORT).startswith("the expected age")


def test_the_caption_names_the_target_and_frees_the_occlusion_maps_from_it():
    text = maps_caption(explanation(target="bin:83"), SUPPORT)
    assert "evidence for the probability of age 83" in text
    assert "occlusion and region maps always show the change of the expected age" in text and "41.3" in text


def test_eigencam_is_said_to_ignore_the_target():
    text = maps_caption(explanation("eigencam", "bin:83"), SUPPORT)
    assert text.startswith("eigencam ignores the target") and "age 83" not in text
    assert [p.caption for p in map_panels(explanation("eigencam"))][:2] == [
        "eigencam (ignores the target) on the photo", "eigencam (ignores the target) on the aligned face"]


def test_panels_leave_out_what_was_not_computed_and_carry_their_colour_bars():
    full = map_panels(explanation())
    assert [p.key for p in full] == ["cam_photo", "cam", "occlusion", "regions"]
    assert [p.key for p in map_panels(explanation(sliding=False, photo=False))] == ["cam", "regions"]
    cam_photo, cam = full[0], full[1]
    assert cam_photo.image.shape[1] == 480 and cam_photo.image.shape[0] > 360  # enlarged to 480, bar below
    assert cam.image.shape[1] == 480 and cam.image.shape[0] > 480
    bar = render.colorbar(explanation().scales["occlusion"], 480)
    assert np.array_equal(full[2].image[-bar.shape[0]:], bar)  # the occlusion map's own symmetric range


def test_every_region_has_a_name_for_people_with_the_side_said_once():
    assert set(REGION_LABELS) == set(REGION_NAMES)
    assert region_label("left_cheek") == "left cheek (the person's)"
    assert region_label("hair_background") == "hair and background"
    assert all("_" not in label for label in REGION_LABELS.values())
    sided = [label for name, label in REGION_LABELS.items() if "left" in name or "right" in name]
    assert sided and all(label.endswith("(the person's)") for label in sided)
