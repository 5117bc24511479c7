"""The helpers of benchmarks/ablation.py: which trainings the table needs, the manifest it trains on, its tables,
the intervals behind its comparisons and the report block."""
from __future__ import annotations

import csv
import json
import math
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats
from script_modules import script_module

from dldl_core.maths.intervals import paired_bootstrap, t_interval

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ablation():
    with script_module(ROOT / "benchmarks" / "ablation.py", "benchmarks_ablation") as module:
        yield module


def test_the_table_needs_eighteen_distinct_trainings_seeded_comparisons_first(ablation):
    runs = ablation.plan((0, 1, 2))
    assert len(runs) == 18 and len({r.key for r in runs}) == 18
    first = runs[:4]  # seed 0 of the four seeded rows: the first comparison is whole before anything else runs
    assert {r.row for r in first} == {"dldl", "dldl_v2", "dldl_v2 staged", "dldl_v2, lambda 0.1"}
    assert all(r.seed == 0 for r in first)
    seeds = {}
    for r in runs:
        seeds.setdefault(r.row, []).append(r.seed)
    assert seeds["dldl_v2"] == [0, 1, 2] and seeds["dex"] == [0] and seeds["dldl_v2, sigma 4"] == [0]
    assert [r.seed for r in runs[4:12]] == [1] * 4 + [2] * 4  # then the other seeds: the paired intervals need them
    assert {r.seed for r in runs[12:]} == {0}  # the one-seed references and the sigma rows come last


def test_manifest_keeps_every_train_and_val_row_or_a_seeded_subset(ablation, tmp_path):
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
    with open(ablation.write_manifest(data, out, None, None)) as f:
        assert len([r for r in csv.DictReader(f) if r["split"] == "train"]) == 27
    path = ablation.write_manifest(data, out, train_size=5, val_limit=None)
    with open(path) as f:
        train = [r["file"] for r in csv.DictReader(f) if r["split"] == "train"]
    assert len(train) == 5
    assert train != [r.split(",")[0] for r in rows[1:] if r.endswith("train")][:5]  # not the first rows
    assert ablation.write_manifest(data, out, train_size=5, val_limit=None).read_text() == path.read_text()


def test_t_interval_matches_scipy_and_needs_two_values():
    values = np.array([0.18, 0.82, 0.49])
    mean, lo, hi = t_interval(values)
    expected = stats.t.interval(0.95, 2, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(0.49667, abs=1e-4) and (lo, hi) == pytest.approx(expected)
    assert math.isnan(t_interval(np.array([1.0]))[1])


def test_paired_bootstrap_covers_the_true_difference_and_averages_seeds_first():
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, 2.5, (3, 4000))  # three seeds' absolute errors on 4000 faces
    better = base - 0.3 + rng.normal(0, 0.5, base.shape)
    mean, lo, hi = paired_bootstrap(better, base)
    assert lo < -0.3 < hi and hi - lo < 0.06 and mean == pytest.approx((better - base).mean())
    _, lo_noise, hi_noise = paired_bootstrap(base + rng.normal(0, 3, base.shape), base)
    assert lo_noise < 0 < hi_noise  # pure noise: the interval holds zero


def _result(ablation, run, mae, seed_outputs):
    true = seed_outputs["true"]
    return {"key": run.key, "row": run.row, "seed": run.seed, "train_img_per_s": 800.0, "train_s": 400.0,
            "val_images": 500, **ablation.stats.summary(seed_outputs["pred"], true, seed_outputs["unique"], 5.0),
            "mae_given": mae}


def test_tables_pair_rows_by_seed_and_the_report_block_is_replaced_in_place(ablation, tmp_path):
    rng = np.random.default_rng(0)
    true = rng.uniform(1, 90, 500)
    unique = np.arange(500) >= 20
    results, outputs = {}, {}
    for seed in (0, 1, 2):
        for run, offset in ((ablation.Run("dldl_v2", seed=seed), 4.0), (ablation.Run("dldl", seed=seed), 5.0)):
            pred = true + rng.choice([-1, 1], 500) * (offset + rng.normal(0, 0.2, 500))
            outputs[run.key] = {"pred": pred, "true": true, "unique": unique}
            results[run.key] = _result(ablation, run, offset, outputs[run.key])
    rows = ablation.stats.rows_by_name(results)
    table = "\n".join(ablation.stats.row_table(rows))
    assert "| `dldl` | 3 | 5.0" in table and "| `dldl_v2` | 3 | 4.0" in table
    diff = "\n".join(ablation.stats.difference_table(rows, outputs, "dldl_v2"))
    line = next(x for x in diff.splitlines() if x.startswith("| `dldl`"))
    assert "| 0, 1, 2 | +1.0" in line and line.count("[+0.9") + line.count("[+1.0") >= 2  # both intervals > 0
    assert line.endswith("| established: worse |")
    report = tmp_path / "ablation.md"
    report.write_text("# Title\n\nintro\n\n<!-- ablation:begin -->\nold\n<!-- ablation:end -->\n\ncommentary\n")
    args = Namespace(device="cpu", quick=False, epochs=20, kl_only_epochs=10, seeds=[0, 1, 2])
    assert ablation.write_report(report, ablation.render(args, results, outputs, None))
    text = report.read_text()
    assert text.startswith("# Title\n\nintro\n\n") and text.endswith("\n\ncommentary\n") and "old" not in text
    assert "**Measured results.**" in text and "without the 20 that have" in text and "6 of 18 trainings" in text
    smoke = ablation.render(Namespace(**{**vars(args), "quick": True}), results, outputs, None)
    assert not ablation.write_report(report, smoke, quick=True)
    assert report.read_text() == text
    fresh = tmp_path / "new" / "ablation.md"  # no report yet: a titled one holding the smoke run's block
    assert ablation.write_report(fresh, smoke, quick=True)
    written = fresh.read_text()
    assert written.startswith("# Ablation\n\n<!-- ablation:begin smoke -->\n") and "NOT results" in written
    assert ablation.write_report(fresh, ablation.render(args, results, outputs, None))  # measured replaces a smoke run
    assert "NOT results" not in fresh.read_text() and "<!-- ablation:begin -->" in fresh.read_text()


def test_a_difference_is_established_only_when_both_intervals_exclude_zero_on_one_side(ablation):
    verdict = ablation.stats.verdict
    assert verdict((0.5, 0.2, 0.8), (0.5, 0.3, 0.7), 3) == "established: worse"
    assert verdict((-0.5, -0.8, -0.2), (-0.5, -0.7, -0.3), 3) == "established: better"
    assert verdict((0.5, -0.1, 1.1), (0.5, 0.3, 0.7), 3) == "not established"  # the seeds' interval holds zero
    assert verdict((0.5, 0.2, 0.8), (0.5, -0.2, 1.2), 3) == "not established"  # the faces' interval holds zero
    assert verdict((0.5, 0.2, 0.8), (-0.5, -0.7, -0.3), 3) == "not established"  # opposite sides
    assert verdict((0.5, float("nan"), float("nan")), (0.5, 0.3, 0.7), 1) == "not decidable (one seed)"


def test_the_trained_ranking_figure_correlates_sigmoids_with_one_minus_cdf(ablation, tmp_path):
    rng = np.random.default_rng(2)
    true = rng.uniform(1, 90, 40)
    support = np.arange(117.0)
    dist = np.exp(-((support[None] - true[:, None]) ** 2) / (2 * 3.0**2))
    dist /= dist.sum(1, keepdims=True)
    sigmoids = np.clip(1 - np.cumsum(dist, 1)[:, :-1] + rng.normal(0, 0.02, (40, 116)), 0, 1)
    outputs = {"ranking_seed0": {"ranking_sigmoids": sigmoids, "true": true},
               "dldl_seed0": {"distribution": dist, "true": true}}
    path = tmp_path / "docs" / "figures" / "ranking.png"
    text = ablation.stats.ranking_figure(outputs, path, tmp_path)
    r = float(text.split("Pearson r = ")[1].split(" ")[0])
    assert path.is_file() and 0.99 < r <= 1.0 and "(figures/ranking.png)" in text
    assert ablation.stats.ranking_figure({"dldl_seed0": outputs["dldl_seed0"]}, path, tmp_path) is None


def test_record_keeps_compact_runs_and_takes_in_runs_it_lacks(ablation, tmp_path):
    out, record = tmp_path / "out", tmp_path / "record"
    (out / "outputs").mkdir(parents=True)
    full = {"pred": np.array([20.0, 31.0]), "true": np.array([22.0, 30.0]), "unique": np.array([True, False]),
            "files": np.array(["a.jpg", "b.jpg"]), "distribution": np.full((2, 117), 1 / 117, np.float16)}
    for key in ("dex_seed0", "dldl_seed0"):
        np.savez_compressed(out / "outputs" / f"{key}.npz", **full)
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps({"key": key, "row": key[:-6], "seed": 0}) + "\n")
    results, outputs = ablation.stored(out, record)
    assert set(results) == {"dex_seed0", "dldl_seed0"}
    kept = {key: dict(np.load(record / "outputs" / f"{key}.npz")) for key in results}
    assert set(kept["dex_seed0"]) == {"pred", "true", "unique"}  # no distribution, no file names
    assert "distribution" in kept["dldl_seed0"]  # the ranking figure reads it
    assert len((record / "results.jsonl").read_text().splitlines()) == 2
    ablation.stored(out, record)  # a second call adds nothing twice
    assert len((record / "results.jsonl").read_text().splitlines()) == 2
    np.testing.assert_array_equal(outputs["dex_seed0"]["pred"], full["pred"])
