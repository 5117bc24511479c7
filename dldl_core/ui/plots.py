"""Plotly figures of the app: predicted distributions, the Learn page's curves, the model card's tables.

Every function takes plain arrays or dicts and returns a ``plotly.graph_objects.Figure``; nothing here computes
a model output.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from dldl_core.pipeline.prediction import FacePrediction

BLUE, ORANGE, GREEN, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 360) -> go.Figure:
    fig.update_layout(title={"text": title}, xaxis_title=x, yaxis_title=y, height=height,
                      margin={"l": 50, "r": 20, "t": 50, "b": 80},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.3}, template="plotly_white")
    fig.update_xaxes(title_standoff=6)
    return fig


def distribution_figure(face: FacePrediction, title: str = "Predicted age distribution",
                        selected_age: float | None = None) -> go.Figure:
    """The predicted distribution with its expectation, the +-1 std band, the 90 % interval and, with flip-TTA,
    the distributions of the original and the mirrored image."""
    fig = go.Figure()
    support = np.asarray(face.support)
    lo, hi = face.interval90
    fig.add_vrect(x0=lo, x1=hi, fillcolor=GREEN, opacity=0.10, line_width=0, layer="below")
    fig.add_vrect(x0=face.age - face.std, x1=face.age + face.std, fillcolor=BLUE, opacity=0.15, line_width=0,
                  layer="below")
    # Legend entries for the two shaded areas (shapes have none of their own).
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker={"size": 12, "color": GREEN, "opacity": 0.3,
                                                                        "symbol": "square"},
                             name=f"90 % interval {lo:.0f}-{hi:.0f}"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker={"size": 12, "color": BLUE, "opacity": 0.4,
                                                                        "symbol": "square"},
                             name=f"+-1 std ({face.std:.1f})"))
    if face.distribution is not None:
        fig.add_trace(go.Bar(x=support, y=face.distribution, name="distribution (mean of both)", marker_color=BLUE,
                             opacity=0.8))
    if face.distribution_original is not None and face.distribution_mirrored is not None:
        fig.add_trace(go.Scatter(x=support, y=face.distribution_original, mode="lines", line={"color": ORANGE},
                                 name=f"original image ({face.age_original:.1f})"))
        fig.add_trace(go.Scatter(x=support, y=face.distribution_mirrored, mode="lines",
                                 line={"color": RED, "dash": "dot"},
                                 name=f"mirrored image ({face.age_mirrored:.1f})"))
    fig.add_vline(x=face.age, line_color="black", line_dash="dash", annotation_text=f"E = {face.age:.1f}",
                  annotation_position="top right")
    if selected_age is not None:
        fig.add_vline(x=selected_age, line_color=GREY, line_dash="dot", annotation_text=f"bin {selected_age:.0f}",
                      annotation_position="top left")
    _layout(fig, title, "age (years)", "probability")
    fig.update_layout(bargap=0.05)
    return fig


def label_distribution_figure(support: np.ndarray, distribution: np.ndarray, age: float, sigma: float) -> go.Figure:
    """A Gaussian label distribution and its true age."""
    fig = go.Figure(go.Bar(x=support, y=distribution, marker_color=BLUE, name="label distribution p_k"))
    fig.add_vline(x=age, line_color="black", line_dash="dash", annotation_text=f"y = {age:g}")
    return _layout(fig, f"Gaussian label distribution (y = {age:g}, sigma = {sigma:g})", "age l_k", "p_k", 320)


def ranking_figure(support: np.ndarray, step_targets: np.ndarray, one_minus_cdf: np.ndarray) -> go.Figure:
    """Ranking-CNN's binary targets [y > l_k] beside 1 - CDF of the Gaussian label distribution."""
    x = support[:-1]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=step_targets, mode="lines", line={"shape": "hv", "color": GREY},
                             name="ranking targets [y > l_k] (step label distribution)"))
    fig.add_trace(go.Scatter(x=x, y=one_minus_cdf, mode="lines", line={"color": BLUE},
                             name="1 - CDF of the Gaussian label distribution"))
    return _layout(fig, "Ranking encoding = 1 - CDF", "age l_k", "P(age > l_k)", 320)


def prediction_vs_target_figure(support: np.ndarray, target: np.ndarray, prediction: np.ndarray, age: float,
                                expectation: float) -> go.Figure:
    """The label distribution and an (editable) predicted distribution, with the true age and the expectation."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=support, y=target, mode="lines", fill="tozeroy", line={"color": GREY},
                             name="label distribution p"))
    fig.add_trace(go.Scatter(x=support, y=prediction, mode="lines", line={"color": BLUE, "width": 3},
                             name="predicted distribution p_hat"))
    fig.add_vline(x=age, line_color="black", line_dash="dash", annotation_text=f"y = {age:g}")
    fig.add_vline(x=expectation, line_color=BLUE, line_dash="dot", annotation_text=f"E[p_hat] = {expectation:.1f}",
                  annotation_position="bottom right")
    return _layout(fig, "Target and prediction", "age l_k", "probability", 320)


def gradient_figure(support: np.ndarray, gradients: Mapping[str, np.ndarray], title: str) -> go.Figure:
    """One line per loss term: its gradient at every bin."""
    fig = go.Figure()
    styles = [(BLUE, "solid"), (ORANGE, "solid"), (GREEN, "dash"), (RED, "dot"), (GREY, "dashdot")]
    for (name, grad), (color, dash) in zip(gradients.items(), styles * 2):  # dashes: coinciding curves stay visible
        fig.add_trace(go.Scatter(x=support, y=grad, mode="lines", name=name, line={"color": color, "dash": dash}))
    fig.add_hline(y=0, line_color=GREY, line_width=1)
    return _layout(fig, title, "age l_k", "gradient", 320)


def training_figure(history: Sequence[Mapping[str, float]], metric: str = "val_mae",
                    title: str = "Validation MAE while training") -> go.Figure:
    """Curves of ``metric`` against ``step``, one per ``objective`` in the records."""
    fig = go.Figure()
    names = list(dict.fromkeys(str(r["objective"]) for r in history))
    for name, color in zip(names, [BLUE, ORANGE, GREEN, RED]):
        rows = [r for r in history if r["objective"] == name and r.get(metric) is not None]
        fig.add_trace(go.Scatter(x=[r["step"] for r in rows], y=[r[metric] for r in rows], mode="lines+markers",
                                 name=name, line={"color": color}))
    return _layout(fig, title, "step", metric.replace("_", " "), 340)


def band_figure(per_band: Mapping[str, Mapping[str, float]], title: str = "Error per age band") -> go.Figure:
    """MAE and bias (mean signed error) per band, with the number of faces in the hover text."""
    bands = list(per_band)
    rows = [per_band[b] for b in bands]
    n = [int(r.get("n", 0)) for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=bands, y=[r.get("mae") for r in rows], name="MAE", marker_color=BLUE,
                         customdata=n, hovertemplate="%{x}: MAE %{y:.2f} (n=%{customdata})<extra></extra>"))
    fig.add_trace(go.Bar(x=bands, y=[r.get("bias") for r in rows], name="bias (+ = estimated too old)",
                         marker_color=ORANGE, customdata=n,
                         hovertemplate="%{x}: bias %{y:+.2f} (n=%{customdata})<extra></extra>"))
    fig.add_hline(y=0, line_color=GREY, line_width=1)
    fig.update_layout(barmode="group")
    return _layout(fig, title, "true age band", "years", 340)


def scatter_figure(pred: np.ndarray, true: np.ndarray, title: str = "Predicted vs true age") -> go.Figure:
    """Predicted against true age with the identity line."""
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    top = float(max(pred.max(initial=1), true.max(initial=1))) + 2
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=true, y=pred, mode="markers", marker={"size": 4, "color": BLUE, "opacity": 0.35},
                               name=f"{len(true)} faces"))
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"color": "black", "dash": "dash"},
                             name="perfect"))
    fig.update_xaxes(range=[0, top], constrain="domain")
    fig.update_yaxes(range=[0, top], scaleanchor="x", scaleratio=1, constrain="domain")
    return _layout(fig, title, "true age", "predicted age", 520)


def region_figure(deltas: Mapping[str, float], title: str = "Change in estimated age when a region is hidden"
                  ) -> go.Figure:
    """Horizontal bars of the change in age per named face region, largest magnitude on top."""
    items = sorted(deltas.items(), key=lambda kv: abs(kv[1]))
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker_color=[RED if v > 0 else BLUE for _, v in items]))
    fig.add_vline(x=0, line_color=GREY, line_width=1)
    return _layout(fig, title, "delta age (years)", "region", max(260, 40 * len(items) + 100))


def history_figure(log: Sequence[Mapping[str, float]], title: str = "Training history") -> go.Figure:
    """Validation MAE and training loss per epoch of a training log."""
    fig = go.Figure()
    x = list(range(1, len(log) + 1))
    if any("val_mae" in r for r in log):
        fig.add_trace(go.Scatter(x=x, y=[r.get("val_mae") for r in log], mode="lines+markers", name="val MAE",
                                 line={"color": BLUE}))
    if any("total" in r for r in log):
        fig.add_trace(go.Scatter(x=x, y=[r.get("total") for r in log], mode="lines", name="training loss",
                                 line={"color": ORANGE, "dash": "dot"}, yaxis="y2"))
        fig.update_layout(yaxis2={"title": "loss", "overlaying": "y", "side": "right"})
    return _layout(fig, title, "epoch", "val MAE (years)", 320)


def stage_region_figure(table: Mapping[str, Mapping[str, float]], measure: str) -> go.Figure:
    """A heat map of one measure per face region (rows) and age stage (columns)."""
    regions = list(table)
    stages = list(dict.fromkeys(s for row in table.values() for s in row))
    z = [[table[r].get(s) for s in stages] for r in regions]
    signed = any(v is not None and v < 0 for row in z for v in row)
    fig = go.Figure(go.Heatmap(z=z, x=stages, y=regions, colorscale="RdBu_r" if signed else "Viridis",
                               zmid=0 if signed else None, colorbar={"title": measure.replace("_", " ")},
                               hovertemplate="%{y}, %{x}: %{z:.3f}<extra></extra>"))
    return _layout(fig, f"{measure.replace('_', ' ')} per region and age stage", "age stage", "region",
                   max(320, 28 * len(regions) + 120))
