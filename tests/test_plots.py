"""Plotly figures take plain data and build without a model."""
import numpy as np
import plotly.graph_objects as go

from dldl_core.pipeline.predictor import FacePrediction
from dldl_core.ui import plots

SUPPORT = np.arange(0, 117, dtype=float)


def prediction(mirrored=True):
    p = np.exp(-((SUPPORT - 40) ** 2) / 50)
    p /= p.sum()
    return FacePrediction(box=(0, 0, 1, 1), score=1.0, age=40.0, std=5.0, interval90=(32.0, 48.0), support=SUPPORT,
                          distribution=p, age_original=39.0, age_mirrored=41.0 if mirrored else None,
                          distribution_original=p if mirrored else None, distribution_mirrored=p if mirrored else None)


def test_distribution_figure_has_expectation_band_interval_and_tta():
    fig = plots.distribution_figure(prediction(), selected_age=30)
    names = [t.name for t in fig.data]
    assert any("original" in n for n in names) and any("mirrored" in n for n in names)
    assert any("90 %" in n for n in names) and any("std" in n for n in names)
    shapes = fig.layout.shapes
    rects = [s for s in shapes if s.type == "rect"]
    lines = [s for s in shapes if s.type == "line"]
    assert {(r.x0, r.x1) for r in rects} == {(32.0, 48.0), (35.0, 45.0)}
    assert {line.x0 for line in lines} == {40.0, 30}


def test_distribution_figure_without_tta():
    face = prediction(mirrored=False)
    fig = plots.distribution_figure(face)
    names = [t.name for t in fig.data]
    assert not any("mirrored" in n or "original" in n for n in names)
    (bar,) = [t for t in fig.data if t.type == "bar"]
    np.testing.assert_array_equal(bar.x, SUPPORT)
    np.testing.assert_allclose(bar.y, face.distribution)
    assert axis_titles(fig) == ("Predicted age distribution", "age (years)", "probability")


def test_distribution_hover_reads_age_and_percent():
    face = prediction()
    fig = plots.distribution_figure(face)
    (bar,) = [t for t in fig.data if t.type == "bar"]
    assert bar.hovertemplate == "age %{x:.0f}: %{customdata:.1f} %<extra></extra>"  # "age 70: 1.3 %"
    np.testing.assert_allclose(bar.customdata, 100 * face.distribution)
    lines = [t for t in fig.data if t.type == "scatter" and "image" in t.name]
    assert [t.hovertemplate.split(",")[0] for t in lines] == ["original image", "mirrored image"]


def test_distribution_labels_sit_beside_their_lines_not_across_them():
    fig = plots.distribution_figure(prediction(), selected_age=30)
    labels = {a.text: a for a in fig.layout.annotations}
    expectation, chosen = labels["E = 40.0"], labels["bin 30"]
    assert (expectation.x, expectation.xanchor) == (40.0, "left") and expectation.xshift > 0
    assert (chosen.x, chosen.xanchor) == (30, "right") and chosen.xshift < 0
    assert expectation.bgcolor and expectation.yref == "paper" and expectation.showarrow is False


def axis_titles(fig: go.Figure) -> tuple[str, str, str]:
    return fig.layout.title.text, fig.layout.xaxis.title.text, fig.layout.yaxis.title.text


def vlines(fig: go.Figure) -> list[float]:
    return [s.x0 for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]


def test_label_distribution_figure_draws_the_distribution_at_its_age():
    p = np.exp(-((SUPPORT - 30) ** 2) / (2 * 2.0**2))
    p /= p.sum()
    fig = plots.label_distribution_figure(SUPPORT, p, 30, 2)
    (bar,) = fig.data
    np.testing.assert_array_equal(bar.x, SUPPORT)
    np.testing.assert_allclose(bar.y, p)
    assert axis_titles(fig) == ("Gaussian label distribution (y = 30, sigma = 2)", "age l_k", "p_k")
    assert vlines(fig) == [30] and fig.layout.annotations[0].text == "y = 30"


def test_ranking_figure_has_one_point_per_threshold():
    steps = (SUPPORT[:-1] < 30).astype(float)  # [y > l_k] for y = 30: 1 up to l_k = 29, then 0
    one_minus_cdf = 1 - np.cumsum(np.full(117, 1 / 117))[:-1]
    fig = plots.ranking_figure(SUPPORT, steps, one_minus_cdf)
    assert [len(t.x) for t in fig.data] == [116, 116]  # 117 bins, 116 thresholds between them
    np.testing.assert_array_equal(fig.data[0].x, SUPPORT[:-1])
    assert fig.data[0].y.sum() == 30 and fig.data[0].line.shape == "hv"  # drawn as a step
    np.testing.assert_allclose(fig.data[1].y, one_minus_cdf)
    assert axis_titles(fig) == ("Ranking encoding = 1 - CDF", "age l_k", "P(age > l_k)")


def test_prediction_vs_target_figure_marks_the_age_and_the_expectation():
    target, prediction = np.full(117, 1 / 117), np.linspace(0, 1, 117)
    fig = plots.prediction_vs_target_figure(SUPPORT, target, prediction, 30, 31.5)
    assert [t.name for t in fig.data] == ["label distribution p", "predicted distribution p_hat"]
    np.testing.assert_allclose(fig.data[0].y, target)
    np.testing.assert_allclose(fig.data[1].y, prediction)
    assert vlines(fig) == [30, 31.5]
    assert [a.text for a in fig.layout.annotations] == ["y = 30", "E[p_hat] = 31.5"]
    assert axis_titles(fig) == ("Target and prediction", "age l_k", "probability")


def test_gradient_figure_draws_one_curve_per_term_in_order():
    gradients = {"KL": SUPPORT / 116 - 0.5, "L1": np.sign(SUPPORT - 30)}
    fig = plots.gradient_figure(SUPPORT, gradients, "g")
    assert [t.name for t in fig.data] == ["KL", "L1"]
    for trace, grad in zip(fig.data, gradients.values()):
        np.testing.assert_array_equal(trace.x, SUPPORT)
        np.testing.assert_allclose(trace.y, grad)
    assert fig.data[0].line.dash != fig.data[1].line.dash or fig.data[0].line.color != fig.data[1].line.color
    assert [s.y0 for s in fig.layout.shapes] == [0]  # the zero line
    assert axis_titles(fig) == ("g", "age l_k", "gradient w.r.t. the logit z_k")


def test_band_figure_groups_mae_and_bias_per_band_with_the_counts():
    fig = plots.band_figure({"0-12": {"n": 3, "mae": 2.0, "bias": 1.0}, "13-19": {"n": 0, "mae": None, "bias": None}})
    mae, bias = fig.data
    assert list(mae.x) == list(bias.x) == ["0-12", "13-19"]
    assert list(mae.y) == [2.0, None] and list(bias.y) == [1.0, None]  # an empty band has no bar
    assert list(mae.customdata) == [3, 0] and fig.layout.barmode == "group"
    assert axis_titles(fig) == ("Error per age band", "true age band", "years")


def test_scatter_figure_puts_true_on_x_and_a_square_identity_line():
    pred, true = np.array([10.0, 25.0]), np.array([12.0, 18.0])
    fig = plots.scatter_figure(pred, true)
    faces, identity = fig.data
    assert list(faces.x) == [12.0, 18.0] and list(faces.y) == [10.0, 25.0] and faces.name == "2 faces"
    assert list(identity.x) == list(identity.y) == [0, 27.0]  # up to the largest age + 2
    assert fig.layout.xaxis.range == fig.layout.yaxis.range == (0, 27.0)
    assert axis_titles(fig) == ("Predicted vs true age", "true age", "predicted age")


def test_history_figure_puts_the_loss_on_its_own_axis():
    fig = plots.history_figure([{"val_mae": 9.0, "total": 3.0}, {"val_mae": 8.0, "total": 2.5}])
    val, loss = fig.data
    assert list(val.x) == list(loss.x) == [1, 2]  # epochs count from 1
    assert list(val.y) == [9.0, 8.0] and list(loss.y) == [3.0, 2.5]
    assert (val.yaxis or "y") == "y" and loss.yaxis == "y2" and fig.layout.yaxis2.title.text == "loss"
    assert axis_titles(fig) == ("Training history", "epoch", "val MAE (years)")
    assert not fig.layout.shapes
    only_mae = plots.history_figure([{"val_mae": 9.0}])
    assert [t.name for t in only_mae.data] == ["val MAE"]


def test_history_figure_draws_a_stage_watched_on_250_val_faces_as_its_own_line():
    log = [{"val_mae": 5.0, "total": 6.0}, {"val250_mae": 4.6, "total": 5.5}, {"val250_mae": 4.5, "total": 5.4}]
    whole, watched, loss = plots.history_figure(log).data
    assert [whole.name, watched.name, loss.name] == ["val MAE", "val MAE, 250 faces", "training loss"]
    assert list(whole.y) == [5.0, None, None] and list(watched.y) == [None, 4.6, 4.5]


def test_stage_region_figure_is_regions_by_stages_with_a_titled_colour_bar():
    from plotly.colors import get_colorscale

    def colours(heat: go.Heatmap) -> list[str]:
        return [colour for _, colour in heat.colorscale]

    def colours_of(name: str) -> list[str]:
        return [colour for _, colour in get_colorscale(name)]

    table = {"nose": {"0-3": 1.0, "60+": -0.5}, "eyes": {"0-3": 0.2}}
    fig = plots.stage_region_figure(table, "change of MAE when the region is hidden", "years",
                                    {"nose": {"0-3": 0.3, "60+": 0.1}, "eyes": {"0-3": 0.2}})
    (heat,) = fig.data
    assert heat.x == ("0-3", "60+") and heat.y == ("nose", "eyes")
    assert [list(row) for row in heat.z] == [[1.0, -0.5], [0.2, None]]  # a stage a region lacks stays empty
    assert [list(row) for row in heat.customdata] == [[0.3, 0.1], [0.2, None]]  # the 95 % half-widths
    assert heat.colorbar.title.text == "years" and "±" in heat.hovertemplate and heat.texttemplate
    assert heat.zmid == 0 and colours(heat) == colours_of("RdBu_r")  # signed values: a diverging scale about 0
    assert fig.layout.yaxis.autorange == "reversed"  # the first row on top
    assert axis_titles(fig) == ("Change of MAE when the region is hidden, per region and age stage", "age stage",
                                "region")
    fig = plots.stage_region_figure({"nose": {"0-3": 0.3}}, "share of the face the region covers", rows="strip")
    assert axis_titles(fig)[2] == "strip" and fig.layout.title.text.endswith("per strip and age stage")
    assert fig.data[0].zmid is None and colours(fig.data[0]) == colours_of("Viridis")
    assert fig.data[0].colorbar.title.text == "share of the face the region covers"
    assert fig.to_json()


def test_region_figure_orders_by_magnitude():
    fig = plots.region_figure({"a": 0.1, "b": -3.0, "c": 1.0})
    assert list(fig.data[0].y) == ["a", "c", "b"]  # plotly draws the last bar on top
    assert list(fig.data[0].x) == [0.1, 1.0, -3.0] and fig.data[0].orientation == "h"
    assert list(fig.data[0].marker.color) == [plots.RED, plots.RED, plots.BLUE]  # older without it: red
    assert fig.layout.xaxis.title.text == "delta age (years)"
    named = plots.region_figure({"right_cheek": 2.0}, labels={"right_cheek": "right cheek (the person's)"})
    assert list(named.data[0].y) == ["right cheek (the person's)"]
    assert named.data[0].hovertemplate == "%{y}: %{x:+.2f} years<extra></extra>"


def test_label_mean_figure_draws_the_shift_and_marks_the_age():
    means = SUPPORT.copy()
    means[0], means[-1] = 1.3, 114.7
    fig = plots.label_mean_figure(SUPPORT, means, 0, 2.0)
    shift, marker = fig.data
    np.testing.assert_allclose(shift.y[[0, 58, -1]], [1.3, 0.0, -1.3])
    assert list(marker.x) == [0] and list(marker.y) == [1.3] and marker.name == "y = 0: E[p] - y = +1.30"
    assert axis_titles(fig) == ("Mean of the label distribution minus y (sigma = 2)", "true age y", "E[p] - y (years)")


def test_sigma_loss_figure_marks_the_chosen_sigma():
    sigmas = np.linspace(0.5, 10, 20)
    fig = plots.sigma_loss_figure(sigmas, {"KL": sigmas, "KL + 1 L1": sigmas + 1}, 2.0)
    assert [t.name for t in fig.data] == ["KL", "KL + 1 L1"] and vlines(fig) == [2.0]
    assert axis_titles(fig)[1:] == ("label std sigma", "loss")


def test_history_figure_shades_and_labels_the_stages():
    log = [{"val_mae": v} for v in (27.0, 12.0, 6.0, 5.2, 5.0)]
    fig = plots.history_figure(log, stages=[("stage 1", 1, 3), ("stage 2", 4, 5)])
    spans = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(s.x0, s.x1) for s in spans] == [(0.5, 3.5), (3.5, 5.5)]
    assert vlines(fig) == [3.5]  # the boundary between the stages
    assert [a.text for a in fig.layout.annotations] == ["1", "2"]  # short, so that narrow stages stay legible
    assert fig.layout.xaxis.title.text == "epoch (stage after stage, each numbered above its span)"
    assert fig.layout.yaxis.type == "log"  # 27 to 5: the late stages' gains stay visible


def test_training_figure_has_one_colour_per_objective_and_one_line_per_seed():
    history = [{"objective": o, "seed": seed, "step": s, "val_mae": 10.0 - s - seed}
               for s in (1, 2) for seed in (0, 1) for o in ("dldl", "dldl_v2")]
    history.append({"objective": "dldl", "seed": 0, "step": 3, "kl": 1.0})  # no val_mae: not drawn
    fig = plots.training_figure(history, names={"dldl": "DLDL"}, baseline=("median", 12.5))
    assert [(t.name, t.showlegend) for t in fig.data] == [("DLDL", True), ("DLDL", False), ("dldl_v2", True),
                                                          ("dldl_v2", False)]
    assert list(fig.data[1].x) == [1, 2] and list(fig.data[1].y) == [8.0, 7.0]  # seed 1
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert [s.y0 for s in fig.layout.shapes] == [12.5] and fig.layout.annotations[0].text == "median 12.50"
    assert axis_titles(fig) == ("Validation MAE while training", "step", "val mae")

