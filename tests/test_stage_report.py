"""The Age stages page's view of a stage report: where it is, its tables with counts and 95 % intervals, thin
stages, and a caption without gaps."""
import pytest

from dldl_core.ui.stage_report import (
    MIN_STAGE_FACES,
    enlarge_fonts,
    few_faces_warning,
    find_stage_report,
    interval_table,
    report_caption,
    stage_measure_tables,
    stage_summary_rows,
    strip_tables,
)

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
    assert values == {"1 forehead": {"60+": 0.5}, "2 eyes": {"60+": 2.0}}  # stages without strips are left out
    assert half["2 eyes"]["60+"] == pytest.approx(0.98)


def test_thin_stages_are_named():
    warning = few_faces_warning(REPORT)
    assert f"Fewer than {MIN_STAGE_FACES} faces in the stages 0-3 (0), 4-12 (2)" in warning
    assert few_faces_warning(REPORT, minimum=0) is None


def test_caption_names_the_method_without_gaps():
    caption = report_caption(REPORT)
    assert caption == "32 faces; CAM method Grad-CAM (targets: expected); images: aligned crops; split: val."
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
