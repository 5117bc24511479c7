"""Drawing boxes, labels and heat maps."""
import numpy as np

from dldl_core.ui.annotate import age_label, blend_chip_heatmap, draw_boxes


def test_age_label_is_ascii():
    assert age_label(34.24, 4.06) == "34.2 +- 4.1"
    assert age_label(34.24, float("nan")) == "34.2"
    assert age_label(34.24).isascii()


def test_draw_boxes_draws_inside_and_keeps_input():
    rgb = np.zeros((120, 160, 3), np.uint8)
    out = draw_boxes(rgb, [(40, 40, 100, 100)], ["30.0 +- 2.0"])
    assert rgb.sum() == 0
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert out[40, 70].any() and out[70, 40].any()  # the box outline
    assert not out[70, 70].any()  # inside stays untouched
    # a box at the top edge puts its tag below the box, still inside the frame
    top = draw_boxes(rgb, [(10, 0, 60, 40)], ["x"])
    assert top[45:70, 10:30].any()


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
