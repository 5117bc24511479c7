"""Occlusion: windows, blending and averaging maths, and the three protocols on a network with a known blind spot."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from stand_ins import SIZE, PatchAgeNet

from dldl_core.explain.occlusion import (
    box_masks,
    coverage_average,
    occlude,
    region_occlusion,
    sliding_window_occlusion,
    strip_masks,
    strip_occlusion,
    window_boxes,
)


@pytest.fixture
def net() -> PatchAgeNet:
    return PatchAgeNet()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.ones(1, 3, SIZE, SIZE)  # s = 1: age about 70; filling the patch with 0 brings it to 50


def test_window_boxes_cover_every_pixel_flush_with_the_edges():
    boxes = window_boxes(96, 16, 10)
    masks = box_masks(boxes, 96)
    assert masks.sum(0).min() >= 1
    assert boxes[:, 2].max() == 96 and boxes[:, 3].max() == 96
    assert (boxes[:, 2] - boxes[:, 0] == 16).all()
    assert len(window_boxes(96, 16, 8)) == 11 * 11
    with pytest.raises(ValueError):
        window_boxes(32, 40, 4)


def test_coverage_average():
    masks = box_masks(np.array([[0, 0, 2, 2], [1, 1, 3, 3]]), 4)
    out = coverage_average(torch.tensor([2.0, 4.0]), masks)
    assert out[0, 0] == 2 and out[1, 1] == 3 and out[2, 2] == 4 and out[3, 3] == 0


def test_occlude_blends_towards_the_fill():
    x = torch.ones(1, 3, 4, 4)
    masks = torch.zeros(2, 4, 4)
    masks[0, :2] = 1
    masks[1] = 0.25
    out = occlude(x, masks, torch.tensor([0.0, -1.0, 2.0]))
    assert out.shape == (2, 3, 4, 4)
    assert out[0, :, 0, 0].tolist() == [0.0, -1.0, 2.0] and out[0, :, 3, 3].tolist() == [1.0, 1.0, 1.0]
    torch.testing.assert_close(out[1, :, 0, 0], torch.tensor([0.75, 0.5, 1.25]))


def test_sliding_window_finds_the_blind_spot(net, x):
    maps = sliding_window_occlusion(net, x, patch=8, stride=4)
    assert maps.age.shape == (SIZE, SIZE) and maps.kl.shape == (SIZE, SIZE)
    assert maps.base_age == pytest.approx(70, abs=0.5)
    inside, outside = maps.age[8:16, 16:24], np.concatenate([maps.age[:, :8].ravel(), maps.age[24:].ravel()])
    assert inside.mean() < -10 and np.abs(outside).max() < 1e-4
    assert maps.kl[8:16, 16:24].mean() > 1 and maps.kl[24:].max() < 1e-6
    assert np.unravel_index(np.argmin(maps.age), maps.age.shape)[0] in range(8, 16)


def test_region_occlusion_in_one_forward(net, x):
    calls = []
    net.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    masks = np.zeros((3, SIZE, SIZE), np.float32)
    masks[0, 8:16, 16:24] = 1  # the whole patch
    masks[1, 8:16, 16:20] = 1  # half of it
    masks[2, 20:, :] = 1  # elsewhere
    deltas = region_occlusion(net, x, masks, ("patch", "half", "elsewhere"))
    assert calls == [4]
    assert deltas["patch"] == pytest.approx(-20, abs=0.5)
    assert deltas["half"] == pytest.approx(-10, abs=0.5)
    assert deltas["elsewhere"] == pytest.approx(0, abs=1e-4)
    with pytest.raises(ValueError):
        region_occlusion(net, x, masks, ("only", "two"))


def test_strip_masks_tile_the_face():
    masks = strip_masks(96)
    assert masks.shape == (7, 96, 96)
    assert torch.equal(masks.sum(0), torch.ones(96, 96))
    assert masks[0, :13].all() and not masks[0, 14:].any()
    assert torch.equal(strip_masks(64, "vertical")[3], strip_masks(64)[3].t())
    with pytest.raises(ValueError):
        strip_masks(64, "diagonal")


def test_strip_occlusion_with_and_without_flip(net, x):
    base, ages = strip_occlusion(net, x.repeat(2, 1, 1, 1), flip=False)
    assert base.shape == (2,) and ages.shape == (2, 7)
    # Strip edges at 32 px: 0, 5, 9, 14, 18, 23, 27, 32; the patch rows 8-15 touch strips 1, 2 and 3.
    assert [i for i in range(7) if ages[0, i] < base[0] - 1] == [1, 2, 3]
    # Vertical strip 2 (columns 9-13) misses the patch (columns 16-23), but in the mirrored copy it covers 5 of the
    # patch's 8 columns: age 50 + 20 * 3/8 there, and the flip-averaged estimate is the mean of both copies.
    base_v, plain = strip_occlusion(net, x, "vertical", flip=False)
    _, flipped = strip_occlusion(net, x, "vertical", flip=True)
    assert plain[0, 2] == pytest.approx(base_v[0], abs=1e-3)
    assert flipped[0, 2] == pytest.approx((base_v[0] + 50 + 20 * 3 / 8) / 2, abs=0.3)


@pytest.mark.parametrize("size", [64, 96, 128, 160, 224])
def test_the_default_windows_overlap_by_two_fifths_and_cover_every_pixel(size):
    patch = size // 6
    stride = max(round(patch * 3 / 5), 1)
    boxes = window_boxes(size, patch, stride)
    assert 81 <= len(boxes) <= 100  # about the 160 px network's 10 x 10 CAM grid, a forward pass each
    assert box_masks(boxes, size).sum(0).min() >= 1  # no pixel left without a window
    maps = sliding_window_occlusion(PatchAgeNet(), torch.randn(1, 3, size, size))
    assert (maps.patch, maps.stride) == (patch, stride)
