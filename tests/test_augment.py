import torch

from dldl_core.data.augment import AugmentConfig, augment_batch


def _batch():
    torch.manual_seed(0)
    x = torch.zeros(4, 3, 64, 64)
    x[:, 0, :, :32] = 1.0  # left half red
    return x


def test_shape_range_and_per_image_draws():
    out = augment_batch(_batch(), generator=torch.Generator().manual_seed(1))
    assert out.shape == (4, 3, 64, 64) and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out[0], out[1])  # each image gets its own parameters


def test_flip_only_mirrors_the_image():
    config = AugmentConfig(flip=1.0, grayscale=0, rotation=0, scale=(1, 1), shift=0, brightness=0, contrast=0,
                           saturation=0)
    out = augment_batch(_batch(), config)
    assert torch.allclose(out, _batch().flip(-1), atol=1e-5)


def test_identity_config_changes_nothing():
    config = AugmentConfig(flip=0, grayscale=0, rotation=0, scale=(1, 1), shift=0, brightness=0, contrast=0,
                           saturation=0)
    assert torch.allclose(augment_batch(_batch(), config), _batch(), atol=1e-5)


def test_grayscale_makes_channels_equal():
    config = AugmentConfig(flip=0, grayscale=1.0, rotation=0, scale=(1, 1), shift=0)
    out = augment_batch(_batch(), config)
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])


def test_light_preset_halves_the_paper_recipe_and_unknown_names_are_refused():
    import pytest

    from dldl_core.data.augment import augment_preset

    paper, light = augment_preset("paper"), augment_preset("light")
    assert paper == AugmentConfig()
    assert light.rotation == paper.rotation / 2 and light.brightness == paper.brightness / 2
    assert light.flip == paper.flip  # mirroring a face never changes its age
    presets = "paper, light, wild, wild_light, wild_night, wild_resample, wild_eyewear, wild_hands"
    with pytest.raises(ValueError, match=presets):
        augment_preset("strong")


def _off(**changes) -> AugmentConfig:
    """Every operation off except ``changes``."""
    return AugmentConfig(**{"flip": 0, "grayscale": 0, "rotation": 0, "scale": (1, 1), "shift": 0, "brightness": 0,
                            "contrast": 0, "saturation": 0, **changes})


def _face_batch():
    from matplotlib.cbook import get_sample_data

    from dldl_core.data.images import load_rgb

    rgb = load_rgb(get_sample_data("grace_hopper.jpg", asfileobj=False))[60:460, 60:460]
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    return torch.nn.functional.interpolate(x, size=(64, 64), mode="area").repeat(8, 1, 1, 1)


def test_wild_preset_is_the_paper_recipe_plus_the_wild_operations():
    from dldl_core.data.augment import augment_preset

    wild, paper = augment_preset("wild"), augment_preset("paper")
    assert wild.rotation > paper.rotation and wild.grayscale == paper.grayscale
    assert all(getattr(wild, k) > 0 for k in ("perspective", "light", "colour_cast", "occlusion", "blur",
                                              "low_resolution", "jpeg"))
    assert all(getattr(paper, k) == 0 for k in ("perspective", "light", "occlusion", "blur", "jpeg"))
    settling = augment_preset("wild_light")
    assert all(0 < getattr(settling, k) < getattr(wild, k) for k in ("perspective", "light", "occlusion", "blur",
                                                                      "low_resolution", "jpeg"))
    out = augment_batch(_face_batch(), wild, torch.Generator().manual_seed(0))
    assert out.shape == (8, 3, 64, 64) and out.min() >= 0 and out.max() <= 1


def test_perspective_squeezes_one_side_and_keeps_the_centre():
    x = _face_batch()
    out = augment_batch(x, _off(perspective=0.4), torch.Generator().manual_seed(0))
    assert not torch.allclose(out, x, atol=1e-3)
    assert torch.allclose(out[..., 31:33, 31:33], x[..., 31:33, 31:33], atol=0.08)  # the grid's origin stays put


def test_occluders_cover_a_connected_part_of_every_chosen_face_with_one_patch():
    x = _face_batch()
    out = augment_batch(x, _off(occlusion=1.0), torch.Generator().manual_seed(0))
    changed = (out - x).abs().amax(1) > 1e-4  # (B, H, W)
    area = changed.float().mean((1, 2))
    assert (area > 0.02).all() and (area < 0.4).all()


def test_directional_light_brightens_one_side_and_darkens_the_other():
    x = torch.full((64, 3, 32, 32), 0.5)
    out = augment_batch(x, _off(light=1.0), torch.Generator().manual_seed(0))
    spread = out.mean(1).amax((1, 2)) - out.mean(1).amin((1, 2))
    assert (spread > 0.1).all()


def test_camera_degradations_change_the_face_but_keep_its_mean():
    x = _face_batch()
    detail = lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs().mean()  # noqa: E731
    for config in (_off(blur=1.0), _off(low_resolution=1.0), _off(jpeg=1.0)):
        out = augment_batch(x, config, torch.Generator().manual_seed(0))
        assert not torch.allclose(out, x, atol=1e-3) and abs(float(out.mean() - x.mean())) < 0.02, config
        if config.jpeg == 0:  # blur and low resolution lose detail (JPEG adds block edges instead)
            assert detail(out) < detail(x), config


def test_low_light_darkens_faces_and_adds_grain_that_a_plain_darkening_has_not():
    from dldl_core.data.augment import augment_preset

    x = _face_batch().repeat(4, 1, 1, 1)  # 32 faces: both halves (kept dim, pulled back up) are drawn
    out = augment_batch(x, _off(low_light=1.0), torch.Generator().manual_seed(0))
    detail = lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs().mean((1, 2, 3))  # noqa: E731
    brightness = out.mean((1, 2, 3))
    assert (brightness < x.mean((1, 2, 3))).all()  # less light, never more
    dimmed_only = x * (brightness / x.mean((1, 2, 3))).reshape(-1, 1, 1, 1)  # the same darkening without grain
    assert (detail(out) > detail(dimmed_only)).all()
    night, settling = augment_preset("wild_night"), augment_preset("wild_light")
    assert night.low_light > 0 == settling.low_light and night.jpeg == settling.jpeg


def test_low_resolution_range_sets_how_much_detail_a_resize_loses():
    x = _face_batch()
    detail = lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs().mean()  # noqa: E731

    def resized_to(fraction: float) -> torch.Tensor:
        config = _off(low_resolution=1.0, low_resolution_range=(fraction, fraction))
        return augment_batch(x, config, torch.Generator().manual_seed(0))

    mild, harsh = resized_to(0.8), resized_to(0.3)
    assert detail(harsh) < detail(mild) < detail(x)


def test_wild_resample_widens_the_geometry_and_resamples_more_often_than_wild_light():
    from dldl_core.data.augment import augment_preset

    resample, settling = augment_preset("wild_resample"), augment_preset("wild_light")
    assert resample.shift > settling.shift
    assert resample.scale[0] < settling.scale[0] < settling.scale[1] < resample.scale[1]
    assert resample.low_resolution > settling.low_resolution
    assert resample.low_resolution_range[0] > settling.low_resolution_range[0]  # milder: resampled, not tiny


def test_eyewear_covers_the_template_eyes_and_leaves_the_mouth_alone():
    from dldl_core.models.preprocess import template_points

    x = _face_batch()
    out = augment_batch(x, _off(eyewear=1.0), torch.Generator().manual_seed(0))
    changed = (out - x).abs().amax(1) > 1e-4  # (B, H, W)
    eyes, mouth = template_points(None, 64)[:2].round().astype(int), template_points(None, 64)[3].round().astype(int)
    rows = changed.any(2).float().nonzero()[:, 1]
    assert changed[:, eyes[:, 1], eyes[:, 0]].any(1).all()  # every face wears glasses over an eye centre
    assert not changed[:, mouth[1] - 2:, :].any()  # nothing below the eyes' band reaches the mouth
    assert rows.min() >= eyes[:, 1].min() - 16 and rows.max() <= eyes[:, 1].max() + 16
    bright = torch.full((16, 3, 64, 64), 0.8)
    lens = augment_batch(bright, _off(eyewear=1.0), torch.Generator().manual_seed(1))[:, :, eyes[0, 1], eyes[0, 0]]
    lens = lens.mean(1) < 0.6
    assert 0 < lens.sum() < len(lens)  # sunglasses on some faces, clear lenses on the others
    assert torch.equal(augment_batch(x, _off(eyewear=0.0)), augment_batch(x, _off()))


def test_wild_eyewear_is_wild_night_with_glasses_and_more_occluders():
    from dldl_core.data.augment import augment_preset

    eyewear, night = augment_preset("wild_eyewear"), augment_preset("wild_night")
    assert eyewear.eyewear > 0 == night.eyewear and eyewear.occlusion > night.occlusion
    assert eyewear.low_light == night.low_light and eyewear.rotation == night.rotation


def test_hands_are_drawn_in_the_faces_skin_colour_below_the_eyes():
    from dldl_core.models.preprocess import template_points

    x = _face_batch()
    out = augment_batch(x, _off(hands=1.0), torch.Generator().manual_seed(0))
    changed = (out - x).abs().amax(1) > 0.02  # (B, H, W)
    share = changed.float().mean((1, 2))
    assert (share > 0.05).all() and (share < 0.6).all()  # a hand on every face, never the whole chip
    eyes, nose = template_points(None, 64)[:2], template_points(None, 64)[2].round().astype(int)
    rows = torch.arange(64, dtype=torch.float32).reshape(1, 64, 1)
    centroid_row = (changed * rows).sum((1, 2)) / changed.sum((1, 2))
    assert (centroid_row > eyes[:, 1].mean()).all()  # the hands sit over the lower face
    skin = x[0, :, nose[1] - 4:nose[1] + 4, nose[0] - 4:nose[0] + 4].mean((1, 2))
    hand_colour = torch.stack([out[i][:, changed[i]].mean(1) for i in range(len(out))])
    assert ((hand_colour - skin).abs() < 0.25).all()  # skin-coloured, not a random patch
    assert torch.equal(augment_batch(x, _off(hands=0.0)), augment_batch(x, _off()))


def test_hands_are_drawn_on_the_chosen_faces_only():
    x = _face_batch().repeat(4, 1, 1, 1)
    out = augment_batch(x, _off(hands=0.5), torch.Generator().manual_seed(3))
    touched = ((out - x).abs().amax((1, 2, 3)) > 0.02)
    assert 0 < touched.sum() < len(x)
    assert torch.allclose(out[~touched], x[~touched], atol=1e-5)  # the others only pass the identity warp


def test_wild_hands_is_wild_eyewear_with_hands():
    from dldl_core.data.augment import augment_preset

    hands, eyewear = augment_preset("wild_hands"), augment_preset("wild_eyewear")
    assert hands.hands > 0 == eyewear.hands and hands.eyewear == eyewear.eyewear
    assert hands.low_light == eyewear.low_light and hands.rotation == eyewear.rotation
    out = augment_batch(_face_batch(), hands, torch.Generator().manual_seed(0))
    assert out.shape == (8, 3, 64, 64) and out.min() >= 0 and out.max() <= 1


def _identity_grid(b: int = 2, size: int = 16) -> torch.Tensor:
    theta = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(b, 2, 3)
    return torch.nn.functional.affine_grid(theta, [b, 3, size, size], align_corners=False)


def test_a_cylinder_turn_of_zero_keeps_every_position_and_a_nod_is_a_turn_with_x_and_y_swapped():
    from dldl_core.data.augment import cylinder_turn

    grid, ones = _identity_grid(), torch.ones(2)
    still = cylinder_turn(grid, torch.zeros(2), torch.tensor([False, True]), ones, 4 * ones)
    assert torch.allclose(still, grid, atol=1e-5)
    angle = torch.full((2,), 0.5)
    nodded = cylinder_turn(grid, angle, torch.ones(2, dtype=torch.bool), ones, 4 * ones)
    turned_transposed = cylinder_turn(grid.flip(-1), angle, torch.zeros(2, dtype=torch.bool), ones, 4 * ones)
    assert torch.allclose(nodded, turned_transposed.flip(-1), atol=1e-6)


def test_a_turned_head_shows_the_side_turned_to_the_camera_wider_and_taller():
    from dldl_core.data.augment import cylinder_turn

    grid, ones = _identity_grid(1, 64), torch.ones(1)
    turned = cylinder_turn(grid, torch.tensor([0.6]), torch.zeros(1, dtype=torch.bool), ones, 4 * ones)[0]
    centre_row = turned[32, :, 0]  # where each column of the middle row samples across the face
    assert torch.all(centre_row[1:] >= centre_row[:-1])  # still in order left to right
    assert turned[32, 32, 0] < -0.4  # the middle of the picture now shows the face's left side (sin 0.6 = 0.56)
    assert (turned[:, :5, 0] == -1).all()  # beyond the silhouette: the image's left edge, its background
    inside = turned[:, :, 0].abs() <= 1
    rows = turned[..., 1]
    left, right = rows[:, 8][inside[:, 8]], rows[:, 40][inside[:, 40]]
    assert left.abs().max() != right.abs().max()  # the two sides are drawn at different heights


def test_head_turns_warp_the_chosen_faces_only():
    x = _face_batch().repeat(4, 1, 1, 1)
    out = augment_batch(x, _off(head_turn=0.5), torch.Generator().manual_seed(1))
    touched = ((out - x).abs().amax((1, 2, 3)) > 0.02)
    assert 0 < touched.sum() < len(x)
    assert torch.allclose(out[~touched], x[~touched], atol=1e-5)


def test_wild_heads_is_wild_eyewear_with_turned_heads():
    from dldl_core.data.augment import augment_preset

    heads, eyewear = augment_preset("wild_heads"), augment_preset("wild_eyewear")
    assert heads.head_turn > 0 == eyewear.head_turn
    assert {**vars(heads), "head_turn": 0} == vars(eyewear)
    out = augment_batch(_face_batch(), heads, torch.Generator().manual_seed(0))
    assert out.shape == (8, 3, 64, 64) and out.min() >= 0 and out.max() <= 1
