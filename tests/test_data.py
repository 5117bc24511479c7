import numpy as np
import pytest
import torch
from PIL import Image

from dldl_core.data.datasets import FaceDataset, build_cache, parse_utkface_name, read_manifest


def test_utkface_names_including_malformed_ones():
    assert parse_utkface_name("26_1_3_20170119180038968.jpg.chip.jpg") == {"age": 26, "gender": 1, "race": 3}
    assert parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg") == {"age": 39, "gender": 1}  # race missing
    assert parse_utkface_name("61_1_20170109142408075.jpg.chip.jpg")["age"] == 61
    assert parse_utkface_name("notes.txt") is None


def test_malformed_rows_are_skipped_with_a_reason_and_extra_columns_kept(tmp_path):
    for name in ("a.png", "b.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,age,sigma,split,race\n"
                        "a.png,30,,train,2\n"
                        "b.png,forty,,train,1\n"
                        ",20,,train,1\n"
                        "missing.png,20,,train,1\n"
                        "b.png,50,-1,val,0\n"
                        "b.png,51,3.5,val,0\n")
    m = read_manifest(manifest, tmp_path)
    assert [s.age for s in m.samples] == [30, 51]
    assert m.samples[0].meta == {"race": "2"} and m.samples[1].sigma == 3.5
    assert len(m.skipped) == 4
    assert any("not a number" in r for r in m.skipped) and any("not found" in r for r in m.skipped)
    assert [s.age for s in m.split("val").samples] == [51]


def test_manifest_without_required_columns_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,years\nx.png,3\n")
    with pytest.raises(ValueError, match="'file' and 'age'"):
        read_manifest(bad)


def test_dataset_and_its_uint8_cache_agree(tmp_path, photo_folder):
    folder, manifest = photo_folder
    samples = read_manifest(manifest, folder).samples
    ds = FaceDataset(folder, samples, 64, default_sigma=2.0)
    image, age, sigma = ds[0]
    assert image.shape == (3, 64, 64) and image.dtype == torch.uint8
    assert age.item() == 77 and sigma.item() == 2.0
    cache = build_cache(ds, tmp_path / "cache", progress=False)
    assert cache.shape == (len(samples), 64, 64, 3)
    ds.cache = cache
    assert torch.equal(ds[3][0], FaceDataset(folder, samples, 64).load(3))
    assert len(list((tmp_path / "cache").glob("*.tmp*"))) == 0


def test_a_cache_decoded_by_worker_processes_keeps_the_order(tmp_path, photo_folder):
    folder, manifest = photo_folder
    samples = read_manifest(manifest, folder).samples
    serial = build_cache(FaceDataset(folder, samples, 32), tmp_path / "serial", progress=False)
    parallel = build_cache(FaceDataset(folder, samples, 32), tmp_path / "parallel", progress=False, workers=2)
    assert np.array_equal(serial, parallel) and len({row.tobytes() for row in parallel}) == len(samples)
