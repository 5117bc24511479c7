"""The Learn page's features: a seeded draw of faces, read as every pipeline reads them, through a frozen network,
kept in a cache folder outside the project."""
import shutil

import numpy as np
import pytest
import torch

from dldl_core.data.datasets import Sample
from dldl_core.models.weights import load_weights
from dldl_core.ui import feature_cache
from dldl_core.ui.feature_cache import load_features, read_faces, sample_rows
from dldl_core.ui.head_training import HeadComparison, HeadConfig, summarise


def rows(n, splits=("train", "val")):
    return [Sample(f"{i}.jpg", float(i), split=splits[i % len(splits)]) for i in range(n)]


def test_sample_rows_draws_validation_faces_from_the_val_split():
    drawn = sample_rows(rows(100), limit=20, val_fraction=0.25, seed=1)
    assert len(drawn) == 20 and sum(v for _, v in drawn) == 5
    assert all((s.split == "val") == v for s, v in drawn)
    assert drawn == sample_rows(rows(100), limit=20, val_fraction=0.25, seed=1)  # seeded
    assert drawn != sample_rows(rows(100), limit=20, val_fraction=0.25, seed=2)


def test_sample_rows_without_a_split_holds_out_part_of_the_draw():
    drawn = sample_rows(rows(10, splits=(None,)), limit=8, val_fraction=0.25)
    assert len(drawn) == 8 and sum(v for _, v in drawn) == 2


def test_read_faces_leaves_out_unreadable_files_and_files_outside_the_folder(photo_folder, tmp_path):
    shared, _ = photo_folder
    folder = tmp_path / "faces"  # a copy: the session's photo folder must stay as other tests expect it
    shutil.copytree(shared, folder)
    (tmp_path / "outside.png").write_bytes((folder / "img_0.png").read_bytes())
    (folder / "broken.png").write_bytes(b"not an image")
    chosen = [(Sample("img_0.png", 77.0), True), (Sample("img_1.png", 36.0), False),
              (Sample("broken.png", 5.0), False), (Sample("../outside.png", 9.0), False),
              (Sample("img_2.png", 77.0), False)]
    images, ages, val = read_faces(folder, chosen, 64)
    assert images.shape == (3, 3, 64, 64) and images.dtype == torch.uint8
    assert ages.tolist() == [77.0, 36.0, 77.0] and val.tolist() == [True, False, False]
    with pytest.raises(ValueError, match="validation"):
        read_faces(folder, chosen[1:2] * 3, 64)


def test_features_are_computed_once_then_read_from_the_cache(photo_folder, random_weights, tmp_path, monkeypatch):
    folder, manifest = photo_folder
    weights = load_weights(random_weights)
    features = load_features(weights, folder, manifest, limit=8, cache_dir=tmp_path)
    assert features.features.shape == (8, weights.model.num_features) and features.features.dtype == np.float32
    assert int(features.val.sum()) == 2  # the manifest's val rows
    (cached,) = (tmp_path / "learn_features").glob("*.npz")

    def fail(*_):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(feature_cache, "extract_features", fail)
    again = load_features(weights, folder, manifest, limit=8, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.features, features.features)
    assert cached.is_file() and not list((tmp_path / "learn_features").glob("*.tmp*"))
    manifest.write_text(manifest.read_text())  # a new version of the manifest: a new cache entry
    assert feature_cache.cache_file(weights, folder, manifest, 8, 0.25, 0, tmp_path) != cached


@pytest.mark.slow
def test_a_head_on_the_shipped_networks_features_of_real_faces(utkface, tmp_path):
    """320 UTKFace chips through the shipped network: a DLDL-v2 head on its features beats the median by far. (Fewer
    faces were too noisy: with 160 chips, 40 to validate on, the 160 px default's head scored 0.60 of the median's
    MAE, with 320 0.41; with 80 chips the 128 px default's scored 0.61.)"""
    weights = load_weights("thin")
    features = load_features(weights, utkface / "images", utkface / "manifest.csv", limit=320, cache_dir=tmp_path)
    assert features.features.shape == (320, 256) and int(features.val.sum()) == 80
    comparison = HeadComparison(features, weights.model.support, HeadConfig(steps=150, seeds=(0,)))
    comparison.train()
    summary = summarise(comparison)
    assert summary.mean("dldl_v2") < 0.6 * summary.baseline_mae
