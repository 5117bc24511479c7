"""The helpers of benchmarks/ablation.py: which trainings the tables need, the subset manifest, the report block."""
from __future__ import annotations

import csv
import importlib.util
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("benchmarks_ablation", ROOT / "benchmarks" / "ablation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_the_full_tables_need_thirteen_distinct_trainings(ablation):
    tables = ablation.table_rows(ablation.OBJECTIVES, ablation.LAMBDAS, ablation.SIGMAS)
    assert [len(rows) for rows in tables.values()] == [7, 5, 4]
    runs = list(dict.fromkeys(ablation.canonical(*row) for rows in tables.values() for row in rows))
    assert len(runs) == 13 and len({r.key for r in runs}) == 13
    assert ablation.canonical("dldl_v2", 0.0, 2.0) == ablation.canonical("dldl", 1.0, 2.0)  # KL + 0 x L1 is DLDL
    assert ablation.canonical("mr", 10.0, 4.0) == ablation.canonical("mr", 1.0, 2.0)  # MR uses neither


def test_subset_manifest_is_a_seeded_random_subset_of_train_plus_val(ablation, tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    rows = ["file,age,split"]
    for i in range(30):
        name = f"{i + 1}_0_0_x.jpg"
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(data / "images" / name)
        rows.append(f"{name},{i + 1},{'val' if i % 10 == 0 else 'train'}")
    (data / "manifest.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    path, n_val = ablation.write_subset_manifest(data, out, train_size=5, val_limit=None, seed=0)
    with open(path) as f:
        chosen = list(csv.DictReader(f))
    train = [r["file"] for r in chosen if r["split"] == "train"]
    assert len(train) == 5 and n_val == 3 and len(chosen) == 8
    assert train != [r.split(",")[0] for r in rows[1:] if r.endswith("train")][:5]  # not the first rows
    again, _ = ablation.write_subset_manifest(data, out, train_size=5, val_limit=None, seed=0)
    assert again.read_text() == path.read_text()
    assert sorted(p.name for p in out.iterdir()) == ["manifest_subset.csv"]  # rows only, no images


def test_the_report_block_is_replaced_in_place_and_a_smoke_run_never_replaces_results(ablation, tmp_path):
    report = tmp_path / "ablation.md"
    report.write_text(f"# Title\n\nintro\n\n{ablation.BEGIN}\nold\n{ablation.END}\n\ncommentary\n")
    results = {"mr": {"val_mae": 9.5, "val_cs5": 0.31, "train_s": 250.0, "train_img_per_s": 190.0}}
    args = Namespace(device="cpu", quick=False, arch="tiny", input_size=64, train_size=4000, seed=0, epochs=12,
                     batch_size=128, lr=1e-3, warmup_epochs=1.0)
    block = ablation.render({"objectives": [("mr", 1.0, 2.0), ("dex", 1.0, 2.0)]}, results, args, 2357, 600.0)
    assert "| mr | - | - | none | 9.50 | 31.0% | 250 | 190 |" in block and "| dex |" not in block  # no empty rows
    assert ablation.write_report(report, block)
    text = report.read_text()
    assert text.startswith("# Title\n\nintro\n\n") and text.endswith("\n\ncommentary\n") and "old" not in text
    assert "**Measured results.**" in text
    smoke = ablation.render({"objectives": [("mr", 1.0, 2.0)]}, results, Namespace(**{**vars(args), "quick": True}),
                            300, 10.0)
    assert not ablation.write_report(report, smoke, quick=True)
    assert report.read_text() == text
