"""The Age stages page's view of a stage report: where it is, its tables with counts and 95 % intervals, thin
stages, a caption without gaps, and the corrected statistics (or a note for a report made before them)."""
import json

import numpy as np
import pytest

from dldl_core.explain.regions import REGION_NAMES
from dldl_core.explain.stages import StageAccumulator, StageAnalysis
from dldl_core.maths.age_groups import AGE_STAGES, group_names
from dldl_core.ui.stage_report import (
    MIN_STAGE_FACES,
    enlarge_fonts,
    few_faces_warning,
    find_stage_report,
    has_statistics,
    interval_table,
    report_caption,
    stage_measure_tables,
    stage_summary_rows,
    strip_labels,
    strip_tables,
)
from dldl_core.ui.stage_statistics import agreement_rows, region_rows, statistics_caption, strip_rows

REPORT = {"method": "gradcam", "targets": ["expected"], "pipeline": "chip", "split": "val", "faces": 32,
          "stages": {"0-3": {"n": 0, "regions": {}},
                     "4-12": {"n": 2, "true_age_mean": 8.0, "mae_no_flip": 2.0,
                              "regions": {"nose": {"delta_mae": 0.2, "delta_mae_se": 0.5, "delta_age": 0.1,
                                                   "abs_delta_age": 0.3, "area": 0.1}}},
                     "60+": {"n": 30, "true_age_mean": 70.0, "mae_no_flip": 5.123,
                             "regions": {"nose": {"delta_mae": -1.0, "delta_mae_se": 0.1, "delta_age": -1.0,
                                                  "abs_delta_age": 1.2, "area": 0.1}},
                             "strips": {"names": ["forehead", "eyes"], "delta_mae": [0.5, 2.0],
                                        "delta_mae_se": [0.1, 0.5], "delta_age": [0.1, 0.2]}}}}


def test_stage_report_beside_the_weights(random_weights, tmp_path):
    for suffix in (".safetensors", ".json"):
        (tmp_path / f"w{suffix}").write_bytes(random_weights.with_suffix(suffix).read_bytes())
    folder = tmp_path / "w.stages"
    folder.mkdir()
    (folder / "stages.json").write_text("{}")
    assert find_stage_report(tmp_path / "w.safetensors") == folder


def test_summary_rows_count_the_faces_of_every_stage():
    rows = stage_summary_rows(REPORT)
    assert [r["faces"] for r in rows] == [0, 2, 30]
    assert rows[2] == {"stage": "60+", "faces": 30, "mean true age": 70.0, "MAE (no flip)": 5.12}


def test_measure_tables_with_their_intervals():
    tables = stage_measure_tables(REPORT)
    assert set(tables) == {"delta_mae", "delta_mae_ci95", "delta_age", "area"}  # |delta age| is not offered
    assert tables["delta_mae"] == {"nose": {"4-12": 0.2, "60+": -1.0}}  # a stage without faces is left out
    assert tables["delta_mae_ci95"]["nose"]["60+"] == pytest.approx(0.196)


def test_interval_table_heads_each_stage_with_its_faces():
    (row,) = interval_table(REPORT)
    assert row == {"region": "nose", "4-12 (n=2)": "+0.20 ± 0.98", "60+ (n=30)": "-1.00 ± 0.20"}
    (no_se,) = interval_table(REPORT, "delta_age")
    assert no_se["60+ (n=30)"] == "-1.00"


def test_strip_tables_number_the_strips_from_the_top():
    values, half = strip_tables(REPORT)
    # A report made before the honest names: its strips are renamed by height range (the geometry is the same).
    assert values == {"1: 0-14 %": {"60+": 0.5}, "2: 14-29 %": {"60+": 2.0}}  # stages without strips are left out
    assert half["2: 14-29 %"]["60+"] == pytest.approx(0.98)
    assert strip_labels(REPORT)[2] == "29-43 % eyes*, ears"


def test_thin_stages_are_named():
    warning = few_faces_warning(REPORT)
    assert f"Fewer than {MIN_STAGE_FACES} faces in the stages 0-3 (0), 4-12 (2)" in warning
    assert few_faces_warning(REPORT, minimum=0) is None


def test_caption_names_the_method_without_gaps():
    caption = report_caption(REPORT)
    assert caption == ("32 faces; CAM method Grad-CAM (targets: expected); images: aligned crops; split: val; hidden "
                       "parts filled with the data's mean colour.")  # the fill of every report before the option
    assert "a strong blur of the same face" in report_caption({**REPORT, "fill": "blur"})
    assert "None" not in report_caption({"method": "gradcam"})


def test_enlarge_fonts():
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.set_title("t", fontsize=7)
    ax.set_ylabel("y", fontsize=8)
    enlarge_fonts(fig, 14)
    assert min(t.get_fontsize() for t in fig.findobj(Text) if t.get_text()) >= 12
    assert ax.title.get_fontsize() == 14
    assert tuple(fig.get_size_inches()) == pytest.approx((6, 4 * 1.4))  # the rows' labels need the height


# Share of the chip per region, about as on UTKFace chips (hair and background 0.31 ... an eye 0.025).
AREAS = dict(zip(REGION_NAMES, (0.31, 0.077, 0.064, 0.067, 0.058, 0.096, 0.04, 0.041, 0.025, 0.025)))


def synthetic_report(faces: int = 30, seed: int = 1) -> dict:
    """A report from per-face numbers drawn at random (no network): hiding the mouth raises the error by 5 years in
    every stage, hiding the nose lowers it by 1, strip 3 raises it by 3, the rest is noise of 1 year; the map gives
    the nose twice its area and every other region its area."""
    rng = np.random.default_rng(seed)
    effects = np.array([{"mouth": 5.0, "nose": -1.0}.get(r, 0.0) for r in REGION_NAMES])
    stages = {}
    for name in group_names(AGE_STAGES):
        acc = StageAccumulator(name, ("expected",), n=faces, true_age=30.0 * faces, abs_error=5.0 * faces)
        acc.region_changes = list(rng.normal(effects, 1.0, (faces, len(REGION_NAMES))))
        acc.strip_changes = list(rng.normal([0, 0, 3, 0, 0, 0, 0], 1.0, (faces, 7)))
        for r, share in AREAS.items():
            acc.area[r] = faces * share
            acc.mass["expected"][r] = faces * share * (2.0 if r == "nose" else 1.0)
        stages[name] = acc
    weights = {"file": "w.safetensors", "sha256": "0" * 64}
    return StageAnalysis("gradcam", ("expected",), weights, "val", "chip", stages).to_json()


def test_corrected_statistics_find_the_planted_effects_and_only_those():
    report = synthetic_report()
    assert has_statistics(report) and not has_statistics(REPORT)
    json.dumps(report, allow_nan=False)
    rows = region_rows(report)
    assert len(rows) == 60 and report["statistics"]["families"] == {"regions": 60, "strips": 42, "agreement": 6}
    found = {(r["stage"], r["region"]) for r in rows if r["finding (Holm p < 0.05)"]}
    assert {region for _, region in found} == {"mouth", "nose"}  # 58 null cells: Holm keeps them out
    mouth = next(r for r in rows if r["stage"] == "20-39" and r["region"] == "mouth")
    assert 4.3 < mouth["change of MAE (years)"] < 5.7 and mouth["Holm p"] == "<0.001"
    assert mouth["replicated in both halves"] == "yes" and mouth["halves A / B"].count("(p ") == 2
    lo, hi = (float(x) for x in mouth["95 % interval"].strip("[]").split(","))
    assert lo < mouth["change of MAE (years)"] < hi
    # Per 10 % of area: the mouth (9.6 % of the chip) and the nose (4 %) on one scale.
    assert mouth["per 10 % of area (years)"] == pytest.approx(mouth["change of MAE (years)"] / 0.96, abs=0.02)
    strips = strip_rows(report)
    found = {r["strip"] for r in strips if r["finding (Holm p < 0.05)"]}
    assert len(strips) == 42 and found == {"3: 29-43 % eyes*, ears"}


def test_map_and_occlusion_disagreement_is_shown():
    rows = agreement_rows(synthetic_report())
    assert len(rows) == 6 and all(r["target"] == "expected" for r in rows)
    # The map gives the nose twice its area while hiding the nose lowers the error: named in every stage.
    assert all(r["map and occlusion disagree on"].startswith("nose: map 2.00x its area, hiding it -") for r in rows)
    assert all(-1 <= r["Spearman rho"] <= 1 for r in rows)
    caption = statistics_caption(synthetic_report())
    assert "60 region cells, 42 strip cells, 6 rank correlations" in caption and "seed 0" in caption


def test_a_report_without_statistics_gives_no_corrected_rows():
    assert region_rows(REPORT) == [] and strip_rows(REPORT) == [] and agreement_rows(REPORT) == []


def test_new_reports_use_their_own_student_t_intervals():
    report = synthetic_report(faces=10)
    tables = stage_measure_tables(report)
    assert {"delta_mae", "delta_mae_ci95", "delta_mae_per_area", "delta_mae_per_area_ci95"} <= set(tables)
    row = report["stages"]["0-3"]["regions"]["mouth"]
    assert tables["delta_mae_ci95"]["mouth"]["0-3"] == pytest.approx(2.262 * row["delta_mae_se"], rel=1e-3)
    half = strip_tables(report)[1]
    strips = report["stages"]["0-3"]["strips"]
    assert half["3: 29-43 % eyes*, ears"]["0-3"] == pytest.approx(strips["delta_mae_ci95"][2])
