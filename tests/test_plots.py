"""Plotly figures take plain data and build without a model."""
import numpy as np
import plotly.graph_objects as go
import pytest

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
    assert {l.x0 for l in lines} == {40.0, 30}


def test_distribution_figure_without_tta():
    names = [t.name for t in plots.distribution_figure(prediction(mirrored=False)).data]
    assert not any("mirrored" in n for n in names)


@pytest.mark.parametrize("make", [
    lambda: plots.label_distribution_figure(SUPPORT, np.ones(117) / 117, 30, 2),
    lambda: plots.ranking_figure(SUPPORT, np.ones(116), np.ones(116)),
    lambda: plots.prediction_vs_target_figure(SUPPORT, np.ones(117), np.ones(117), 30, 31.5),
    lambda: plots.gradient_figure(SUPPORT, {"KL": np.zeros(117), "L1": np.ones(117)}, "g"),
    lambda: plots.training_figure([{"objective": "dldl", "step": 5, "val_mae": 9.0},
                                   {"objective": "dldl_v2", "step": 5, "val_mae": 8.0}]),
    lambda: plots.band_figure({"0-12": {"n": 3, "mae": 2.0, "bias": 1.0}, "13-19": {"n": 0, "mae": float("nan"),
                                                                                    "bias": float("nan")}}),
    lambda: plots.scatter_figure(np.array([10.0, 20.0]), np.array([12.0, 18.0])),
    lambda: plots.region_figure({"forehead": 1.5, "nose": -0.5}),
    lambda: plots.history_figure([{"val_mae": 9.0, "total": 3.0}, {"val_mae": 8.0, "total": 2.5}]),
])
def test_figures_build_and_serialise(make):
    fig = make()
    assert isinstance(fig, go.Figure) and fig.data
    assert fig.to_json()


def test_training_figure_has_one_curve_per_objective():
    history = [{"objective": o, "step": s, "val_mae": 10.0 - s} for s in (1, 2) for o in ("dldl", "dldl_v2")]
    history.append({"objective": "dldl", "step": 3, "kl": 1.0})  # no val_mae: not drawn
    fig = plots.training_figure(history)
    assert [t.name for t in fig.data] == ["dldl", "dldl_v2"]
    assert list(fig.data[0].x) == [1, 2]


def test_region_figure_orders_by_magnitude():
    fig = plots.region_figure({"a": 0.1, "b": -3.0, "c": 1.0})
    assert list(fig.data[0].y) == ["a", "c", "b"]  # plotly draws the last bar on top
