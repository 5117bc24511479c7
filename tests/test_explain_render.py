"""The one colouring of maps (matplotlib colormaps over a value range) and the overlays built on it."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps

from dldl_core.explain import render


def expected(name: str, at: float) -> np.ndarray:
    return np.round(np.array(colormaps[name](at))[:3] * 255)


@pytest.mark.parametrize("v", [0.3, 5.0, 40.0])
def test_the_diverging_colouring_maps_zero_to_the_centre_and_plus_minus_v_to_the_ends(v):
    colours = render.colorize(np.array([-v, 0.0, v]), render.SIGNED_COLORMAP, -v, v).astype(float)
    assert np.array_equal(colours[1], expected("RdBu_r", 0.5))  # white-ish: no change
    assert np.array_equal(colours[0], expected("RdBu_r", 0.0)) and np.array_equal(colours[2], expected("RdBu_r", 1.0))
    assert colours[0][2] > colours[0][0] and colours[2][0] > colours[2][2]  # -v blue, +v red
    beyond = render.colorize(np.array([-10 * v, 10 * v]), render.SIGNED_COLORMAP, -v, v)
    assert np.array_equal(beyond, colours[[0, 2]].astype(np.uint8))  # clipped to the ends


def test_the_sequential_colouring_runs_from_the_first_colour_to_the_last_over_its_range():
    cmap = render.HEAT_COLORMAP
    colours = render.colorize(np.array([[2.0, 4.0, 6.0]]), cmap, 2.0, 6.0).astype(float)
    assert colours.shape == (1, 3, 3)
    assert np.array_equal(colours[0, 0], expected(cmap, 0.0)) and np.array_equal(colours[0, 2], expected(cmap, 1.0))
    brightness = colours[0].sum(1)
    assert brightness[0] < brightness[1] < brightness[2]  # a sequential map: dark to bright
    assert np.array_equal(render.colorize(np.array([np.nan]), cmap)[0], expected(cmap, 0.0))  # NaN as the low end


def test_a_bad_range_or_colormap_is_refused():
    with pytest.raises(ValueError, match="vmax > vmin"):
        render.colorize(np.zeros(3), vmin=1.0, vmax=1.0)
    with pytest.raises(KeyError):
        render.colorize(np.zeros(3), "no_such_map")


def test_heat_overlay_follows_the_map_and_its_coverage():
    rgb = np.full((40, 50, 3), 128, np.uint8)
    cam = np.zeros((40, 50), np.float32)
    cam[:, 25:] = 1.0
    out = render.heat_overlay(rgb, cam, alpha=0.5)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    change = np.abs(out.astype(int) - rgb).sum(-1)
    assert change[:, 30:].min() > change[:, :20].max()  # more opaque where the map is high
    assert (render.heat_overlay(rgb, cam, 0.5, coverage=np.zeros((40, 50))) == rgb).all()
    assert render.heat_overlay(rgb, np.ones((4, 5)), 0.5).shape == rgb.shape  # resized to the image


def test_a_signed_overlay_leaves_no_change_clear_and_colours_each_sign_apart():
    rgb = np.full((10, 30, 3), 128, np.uint8)
    values = np.zeros((10, 30), np.float32)
    values[:, :10], values[:, 20:] = -3.0, 3.0
    out = render.signed_overlay(rgb, values).astype(int)
    assert (out[:, 10:20] == 128).all()
    assert out[0, 0, 2] > out[0, 0, 0] and out[0, 25, 0] > out[0, 25, 2]  # blue where it falls, red where it rises


def test_a_signed_overlay_keeps_small_changes_visible_on_its_own_range():
    rgb = np.full((10, 30, 3), 128, np.uint8)
    values = np.zeros((10, 30), np.float32)
    values[:, :10], values[:, 20:] = 0.1, 4.0  # a change of a fortieth of the largest one
    out = render.signed_overlay(rgb, values).astype(int)
    assert np.abs(out[:, :10] - 128).max() >= 10  # still visibly tinted


def test_a_heat_overlay_leaves_no_evidence_clear():
    rgb = np.full((8, 8, 3), 128, np.uint8)
    assert (render.heat_overlay(rgb, np.zeros((8, 8), np.float32)) == rgb).all()


def test_the_heat_colormap_has_no_red_and_no_blue_end_to_confuse_with_the_signed_one():
    colours = render.colorize(np.linspace(0, 1, 11), render.HEAT_COLORMAP).astype(int)
    assert not ((colours[:, 0] > 150) & (colours[:, 1] < 100)).any()  # no red
    assert colours[-1, 0] > 200 and colours[-1, 1] > 200 and colours[-1, 2] < 100  # the top is yellow


@pytest.mark.parametrize("scale", [render.ColourScale("viridis", 0.0, 1.0, "evidence for the target"),
                                   render.ColourScale("RdBu_r", -3.5, 3.5, "change of age, years")])
@pytest.mark.parametrize("width", [200, 640])
def test_a_colour_bar_runs_through_its_colormap_at_the_width_asked(scale, width):
    bar = render.colorbar(scale, width)
    assert bar.shape[1] == width and bar.dtype == np.uint8 and width / 8 < bar.shape[0] < width / 3
    row = bar[int(bar.shape[0] * 0.25)].astype(int)  # through the middle of the bar
    ends = expected(scale.cmap, 0.0), expected(scale.cmap, 1.0)
    assert np.abs(row[int(width * 0.07)] - ends[0]).max() < 30 and np.abs(row[int(width * 0.93)] - ends[1]).max() < 30
    assert (bar[int(bar.shape[0] * 0.45):] < 100).any()  # dark text (ticks, label) below the bar


def test_an_image_gets_its_colour_bar_below_it_and_a_small_one_is_enlarged():
    scale = render.ColourScale("RdBu_r", -2.0, 2.0, "change of age, years")
    chip = np.full((200, 200, 3), 90, np.uint8)
    out = render.with_colorbar(chip, scale, min_width=480)
    assert out.shape[1] == 480 and out.shape[0] > 480 and (out[:480] == 90).all()
    photo = np.full((300, 900, 3), 90, np.uint8)
    out = render.with_colorbar(photo, scale, min_width=480)
    assert out.shape[1] == 900 and (out[:300] == photo).all() and out.shape[0] > 300
    assert scale.to_json() == {"cmap": "RdBu_r", "vmin": -2.0, "vmax": 2.0, "label": "change of age, years"}
