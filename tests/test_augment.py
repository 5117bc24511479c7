import torch

from dldl_core.augment import AugmentConfig, augment_batch


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

    from dldl_core.augment import augment_preset

    paper, light = augment_preset("paper"), augment_preset("light")
    assert paper == AugmentConfig()
    assert light.rotation == paper.rotation / 2 and light.brightness == paper.brightness / 2
    assert light.flip == paper.flip  # mirroring a face never changes its age
    with pytest.raises(ValueError, match="paper or light"):
        augment_preset("strong")
