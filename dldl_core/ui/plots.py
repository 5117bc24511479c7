"""Plotly figures of the app: predicted distributions, the Learn page's curves, the model card's tables.

Every function takes plain arrays or dicts and returns a ``plotly.graph_objects.Figure``; nothing here computes
a model output.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# plotly looks pandas up in sys.modules without importing it; while another thread (the app's warm-up) is half-way
# through importing pandas, it would find a half-made module. Importing pandas first waits for that import to end.
import pandas  # noqa: F401
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
    """The predicted distribution with its expectation, the ±1 std band, the 90 % interval and, with flip-TTA,
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
                             name=f"±1 std ({face.std:.1f})"))
    if face.distribution is not None:
        fig.add_trace(go.Bar(x=support, y=face.distribution, name="distribution (mean of both)", marker_color=BLUE,
                             opacity=0.8, **_percent_hover(face.distribution)))
    if face.distribution_original is not None and face.distribution_mirrored is not None:
        fig.add_trace(go.Scatter(x=support, y=face.distribution_original, mode="lines", line={"color": ORANGE},
                                 name=f"original image ({face.age_original:.1f})",
                                 **_percent_hover(face.distribution_original, "original image, ")))
        fig.add_trace(go.Scatter(x=support, y=face.distribution_mirrored, mode="lines",
                                 line={"color": RED, "dash": "dot"}, name=f"mirrored image ({face.age_mirrored:.1f})",
                                 **_percent_hover(face.distribution_mirrored, "mirrored image, ")))
    _labelled_vline(fig, face.age, f"E = {face.age:.1f}", "black", "dash", right=True)
    if selected_age is not None:
        _labelled_vline(fig, selected_age, f"bin {selected_age:.0f}", GREY, "dot", right=False)
    _layout(fig, title, "age (years)", "probability")
    fig.update_layout(bargap=0.05, hovermode="closest", margin_t=76)  # room above the plot for the lines' labels
    return fig


def _percent_hover(probabilities: np.ndarray, prefix: str = "") -> dict:
    """Hover text ``age 70: 1.3 %`` for a trace of probabilities over the ages."""
    return {"customdata": 100 * np.asarray(probabilities, float),
            "hovertemplate": prefix + "age %{x:.0f}: %{customdata:.1f} %<extra></extra>"}


def _labelled_vline(fig: go.Figure, x: float, text: str, color: str, dash: str, right: bool) -> None:
    """A vertical line with its label just above the plot, beside the line's end (right or left of it, on a white
    tag): never across the line nor over the bars."""
    fig.add_vline(x=x, line_color=color, line_dash=dash)
    fig.add_annotation(x=x, y=1, xref="x", yref="paper", yanchor="bottom", xanchor="left" if right else "right",
                       xshift=4 if right else -4, text=text, showarrow=False, font={"color": color},
                       bgcolor="rgba(255, 255, 255, 0.85)")


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


def gradient_figure(support: np.ndarray, gradients: Mapping[str, np.ndarray], title: str,
                    y_title: str = "gradient w.r.t. the logit z_k") -> go.Figure:
    """One line per loss term: its gradient at every bin."""
    fig = go.Figure()
    styles = [(BLUE, "solid"), (ORANGE, "solid"), (GREEN, "dash"), (RED, "dot"), (GREY, "dashdot")]
    for (name, grad), (color, dash) in zip(gradients.items(), styles * 2):  # dashes: coinciding curves stay visible
        fig.add_trace(go.Scatter(x=support, y=grad, mode="lines", name=name, line={"color": color, "dash": dash}))
    fig.add_hline(y=0, line_color=GREY, line_width=1)
    return _layout(fig, title, "age l_k", y_title, 320)


def training_figure(history: Sequence[Mapping[str, float]], metric: str = "val_mae",
                    title: str = "Validation MAE while training", names: Mapping[str, str] | None = None,
                    baseline: tuple[str, float] | None = None, y_title: str | None = None) -> go.Figure:
    """Curves of ``metric`` against ``step``: one per ``objective`` and ``seed`` of the records (one colour per
    objective, one legend entry for its seeds), and an optional labelled horizontal ``baseline``."""
    fig = go.Figure()
    names = names or {}
    objectives = list(dict.fromkeys(str(r["objective"]) for r in history))
    for objective, color in zip(objectives, [BLUE, ORANGE, GREEN, RED]):
        rows = [r for r in history if r["objective"] == objective and r.get(metric) is not None]
        label = names.get(objective, objective)
        for i, seed in enumerate(dict.fromkeys(r.get("seed", 0) for r in rows)):
            own = [r for r in rows if r.get("seed", 0) == seed]
            fig.add_trace(go.Scatter(x=[r["step"] for r in own], y=[r[metric] for r in own], mode="lines",
                                     name=label, legendgroup=objective, showlegend=i == 0,
                                     line={"color": color, "width": 1.5},
                                     hovertemplate=f"{label}, seed {seed}: step %{{x}}, %{{y:.2f}}<extra></extra>"))
    if baseline is not None:
        fig.add_hline(y=baseline[1], line_color=GREY, line_dash="dash", annotation_position="top right",
                      annotation_text=f"{baseline[0]} {baseline[1]:.2f}")
    return _layout(fig, title, "step", y_title or metric.replace("_", " "), 340)


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


def region_figure(deltas: Mapping[str, float], title: str = "Change in estimated age when a region is hidden",
                  labels: Mapping[str, str] | None = None) -> go.Figure:
    """Horizontal bars of the change in age per named face region, largest magnitude on top; ``labels`` maps a
    region's key to the name shown (default: the key)."""
    items = sorted(deltas.items(), key=lambda kv: abs(kv[1]))
    names = [(labels or {}).get(k, k) for k, _ in items]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=names, orientation="h",
                           marker_color=[RED if v > 0 else BLUE for _, v in items],
                           hovertemplate="%{y}: %{x:+.2f} years<extra></extra>"))
    fig.add_vline(x=0, line_color=GREY, line_width=1)
    fig.update_yaxes(automargin=True)  # room for the longest region name
    return _layout(fig, title, "delta age (years)", "region", max(260, 40 * len(items) + 100))


def history_figure(log: Sequence[Mapping[str, float]], title: str = "Training history",
                   stages: Sequence[tuple[str, int, int]] = ()) -> go.Figure:
    """Validation MAE (on the whole val split, or ``val250_mae`` where a stage watched 250 val faces) and training
    loss per epoch of a training log, the epochs of all its stages in a row; each of ``stages`` (name, first and last
    epoch, counted from 1 over the whole log) is shaded and labelled above the plot by its number (``stage 10.2`` ->
    ``10.2``: short labels, so that narrow stages stay legible). The MAE axis is logarithmic when the MAE spans more
    than a factor of 3, so that the late stages' small gains stay visible beside the first epochs."""
    fig = go.Figure()
    x = list(range(1, len(log) + 1))
    mae = [r["val_mae"] for r in log if r.get("val_mae")]
    if mae:
        fig.add_trace(go.Scatter(x=x, y=[r.get("val_mae") for r in log], mode="lines+markers", name="val MAE",
                                 line={"color": BLUE}, marker={"size": 4}))
        if max(mae) > 3 * min(mae):
            fig.update_yaxes(type="log")
    if any(r.get("val250_mae") for r in log):  # stages that watched 250 val faces, not the whole split
        fig.add_trace(go.Scatter(x=x, y=[r.get("val250_mae") for r in log], mode="lines+markers",
                                 name="val MAE, 250 faces", line={"color": BLUE, "dash": "dash"},
                                 marker={"size": 4, "symbol": "circle-open"}))
    if any("total" in r for r in log):
        fig.add_trace(go.Scatter(x=x, y=[r.get("total") for r in log], mode="lines", name="training loss",
                                 line={"color": ORANGE, "dash": "dot"}, yaxis="y2"))
        fig.update_layout(yaxis2={"title": "loss", "overlaying": "y", "side": "right", "showgrid": False,
                                  "tickmode": "auto", "nticks": 6})
    for i, (name, first, last) in enumerate(stages):
        fig.add_vrect(x0=first - 0.5, x1=last + 0.5, fillcolor=GREY if i % 2 else BLUE, opacity=0.10, line_width=0,
                      layer="below", annotation_text=name.removeprefix("stage "), annotation_position="top left",
                      annotation_yanchor="bottom")
        if i:
            fig.add_vline(x=first - 0.5, line_color=GREY, line_dash="dot", line_width=1)
    fig = _layout(fig, title, "epoch (stage after stage, each numbered above its span)" if stages else "epoch",
                  "val MAE (years)", 360)
    if stages:
        fig.update_layout(margin={"t": 80})
    return fig


def stage_region_figure(table: Mapping[str, Mapping[str, float]], measure: str, unit: str = "",
                        intervals: Mapping[str, Mapping[str, float]] | None = None, rows: str = "region"
                        ) -> go.Figure:
    """A heat map of one measure per face region (or strip: ``rows``, the first on top) and age stage (columns),
    each cell's value written in it; ``measure`` names it in the title, ``unit`` titles the colour bar, and
    ``intervals`` (the 95 % half-widths in the same layout) go into the hover text."""
    names = list(table)
    stages = list(dict.fromkeys(s for row in table.values() for s in row))
    z = [[table[r].get(s) for s in stages] for r in names]
    half = [[(intervals or {}).get(r, {}).get(s) for s in stages] for r in names]
    signed = any(v is not None and v < 0 for row in z for v in row)
    fig = go.Figure(go.Heatmap(z=z, x=stages, y=names, colorscale="RdBu_r" if signed else "Viridis",
                               zmid=0 if signed else None, colorbar={"title": {"text": unit or measure}},
                               customdata=half, texttemplate="%{z:.2f}", textfont={"size": 13},
                               hovertemplate="%{y}, %{x}: %{z:.3f} ± %{customdata:.3f}<extra></extra>"
                               if intervals else "%{y}, %{x}: %{z:.3f}<extra></extra>"))
    title = f"{measure[:1].upper()}{measure[1:]}, per {rows} and age stage"
    fig = _layout(fig, title, "age stage", rows, max(360, 34 * len(names) + 140))
    fig.update_layout(font={"size": 14})
    fig.update_yaxes(autorange="reversed")  # the first row on top, as in a table
    return fig


def label_mean_figure(support: np.ndarray, means: np.ndarray, age: float, sigma: float) -> go.Figure:
    """How far the mean of the truncated, renormalised label distribution lies from its true age, for every age
    of the support, with the chosen age marked."""
    shift = np.asarray(means) - np.asarray(support)
    fig = go.Figure(go.Scatter(x=support, y=shift, mode="lines", line={"color": BLUE}, name="E[p] - y",
                               hovertemplate="y = %{x:g}: E[p] - y = %{y:+.2f}<extra></extra>"))
    fig.add_hline(y=0, line_color=GREY, line_width=1)
    at = float(np.interp(age, support, shift))
    fig.add_trace(go.Scatter(x=[age], y=[at], mode="markers", marker={"color": "black", "size": 9},
                             name=f"y = {age:g}: E[p] - y = {at:+.2f}"))
    return _layout(fig, f"Mean of the label distribution minus y (sigma = {sigma:g})", "true age y",
                   "E[p] - y (years)", 320)


def sigma_loss_figure(sigmas: np.ndarray, curves: Mapping[str, np.ndarray], sigma: float) -> go.Figure:
    """Loss terms of one prediction against the label std sigma, with the chosen sigma marked."""
    fig = go.Figure()
    for (name, values), color in zip(curves.items(), [BLUE, RED, ORANGE]):
        fig.add_trace(go.Scatter(x=sigmas, y=values, mode="lines", name=name, line={"color": color}))
    fig.add_vline(x=sigma, line_color="black", line_dash="dash", annotation_text=f"sigma = {sigma:g}")
    return _layout(fig, "The same prediction's loss for every label std sigma", "label std sigma", "loss", 320)
