"""Drawing boxes, labels and heat maps."""
import numpy as np

from dldl_core.ui.annotate import (
    age_label,
    blend_chip_heatmap,
    draw_boxes,
    format_age,
    interval_label,
    keep_inside_box,
    label_tag,
    tag_position,
)


def test_ages_have_one_format_with_the_plus_minus_sign():
    assert age_label(34.24, 4.06) == "34.2 ± 4.1"
    assert age_label(84.0, 10.0) == "84.0 ± 10.0"  # whole years keep their decimal: never "84" beside "85.4"
    assert age_label(34.24, float("nan")) == age_label(34.24) == "34.2"
    assert interval_label(27.0, 42.06) == "27.0–42.1"
    assert format_age(5) == "5.0"


def test_a_label_tag_is_dark_text_on_the_box_colour_and_has_the_asked_height():
    tag = label_tag("84.5 ± 10.4", 40, (255, 196, 0))
    assert tag.dtype == np.uint8 and tag.shape[2] == 3
    assert 40 <= tag.shape[0] <= 70 and tag.shape[1] > 3 * tag.shape[0]  # one line of large letters
    assert (tag[0, 0] == (255, 196, 0)).all()  # the filled background
    assert (tag.max(-1) < 60).mean() > 0.1  # dark letters on it


def test_draw_boxes_draws_inside_and_keeps_input():
    rgb = np.zeros((120, 160, 3), np.uint8)
    out = draw_boxes(rgb, [(40, 40, 100, 100)], ["30.0 ± 2.0"])
    assert rgb.sum() == 0
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert out[40, 70].any() and out[70, 40].any()  # the box outline
    assert not out[70, 70].any()  # inside stays untouched
    # a box at the top edge puts its tag below the box, still inside the frame
    top = draw_boxes(rgb, [(10, 0, 60, 40)], ["x"])
    assert top[45:70, 10:30].any()


def test_tags_go_above_the_box_or_below_it_and_stay_in_the_frame():
    frame = (480, 640, 3)
    assert tag_position((100, 200, 300, 400), (50, 200), frame, 3) == (100, 147)  # above
    assert tag_position((100, 20, 300, 400), (50, 200), frame, 3) == (100, 403)  # no room above: below
    assert tag_position((100, 20, 300, 470), (50, 200), frame, 3) == (100, 430)  # nor below: at the bottom edge
    assert tag_position((560, 200, 630, 300), (50, 200), frame, 3) == (440, 147)  # pulled in from the right edge


def test_big_live_labels_are_drawn_large():
    rgb = np.full((480, 640, 3), 40, np.uint8)
    small = draw_boxes(rgb, [(200, 200, 400, 420)], ["34.2 ± 4.1"])
    big = draw_boxes(rgb, [(200, 200, 400, 420)], ["34.2 ± 4.1"], text_height=40)
    tag_rows = lambda out: int((out[:198] != 40).any(axis=(1, 2)).sum())  # noqa: E731  (rows above the box)
    assert tag_rows(small) < 30 and tag_rows(big) >= 40


def test_keep_inside_box_changes_nothing_outside_it():
    original = np.zeros((50, 60, 3), np.uint8)
    changed = np.full_like(original, 255)
    out = keep_inside_box(original, changed, (10.2, 5.0, 30.0, 20.6))
    inside = np.zeros((50, 60), bool)
    inside[5:21, 10:30] = True
    assert (out[inside] == 255).all() and (out[~inside] == 0).all()
    assert (keep_inside_box(original, changed, (-10, -10, 100, 100)) == 255).all()  # a box past the edges


def test_the_heat_stays_inside_the_face_box():
    rgb = np.full((200, 200, 3), 100, np.uint8)
    matrix = np.array([[2.0, 0, -100], [0, 2.0, -100]])  # the chip covers image pixels 50..150
    box = (70, 80, 130, 140)  # the face's box, inside the chip's footprint
    out = blend_chip_heatmap(rgb, np.ones((16, 16)), matrix, chip_size=200, within=box)
    changed = (out != rgb).any(-1)
    outside = np.ones_like(changed)
    outside[80:140, 70:130] = False
    assert changed[~outside].all() and not changed[outside].any()
    spill = blend_chip_heatmap(rgb, np.ones((16, 16)), matrix, chip_size=200)
    assert (spill != rgb).any(-1)[outside].any()  # without the box the chip's whole footprint is coloured


def test_chip_heatmap_lands_inside_the_chip_footprint():
    rgb = np.full((200, 200, 3), 100, np.uint8)
    matrix = np.array([[2.0, 0, -100], [0, 2.0, -100]])  # the chip covers image pixels 50..150
    out = blend_chip_heatmap(rgb, np.ones((16, 16)), matrix, chip_size=200)
    changed = (out != rgb).any(-1)
    assert changed[100, 100] and not changed[10, 10] and not changed[190, 190]
    assert not changed[:48].any() and not changed[152:].any()  # nothing beyond the chip's pixel of bilinear reach
    outside = np.array([[1.0, 0, 500], [0, 1.0, 500]])  # the chip lies wholly off the photo
    assert (blend_chip_heatmap(rgb, np.ones((16, 16)), outside, chip_size=200) == rgb).all()


def test_chip_heatmap_blended_in_its_box_equals_blending_the_whole_frame():
    import cv2

    from dldl_core.explain.render import heat_overlay
    from dldl_core.pipeline.face import chip_to_image

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    heat = rng.random((8, 8)).astype(np.float32)
    for angle, scale, shift in [(10, 0.8, (-100, -50)), (-20, 0.5, (50, 20)), (0, 1.3, (-300, -100))]:
        matrix = cv2.getRotationMatrix2D((0, 0), angle, scale)
        matrix[:, 2] += shift  # photo -> chip; parts of the chip may fall outside the frame
        chip_heat = cv2.resize(heat, (200, 200), interpolation=cv2.INTER_LINEAR)
        whole = heat_overlay(rgb, chip_to_image(chip_heat, matrix, rgb.shape), 0.45,
                             chip_to_image(np.ones((200, 200), np.float32), matrix, rgb.shape))
        boxed = blend_chip_heatmap(rgb, heat, matrix, chip_size=200)
        assert (boxed != rgb).any()
        assert np.abs(boxed.astype(int) - whole).max() <= 1  # the same warp, up to rounding
