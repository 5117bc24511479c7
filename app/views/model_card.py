"""Model card: what the shipped weights are, how they were trained, and how well they do on the validation split."""
import pandas as pd
import streamlit as st
from resources import weights_path

from dldl_core.models.weights import WeightsError
from dldl_core.ui import plots
from dldl_core.ui.model_card import (
    coverage_caption,
    load_model_card,
    metric_label,
    pipelines_caption,
    stages_caption,
    training_stages,
)

st.title("Model card")
try:
    card = load_model_card(weights_path())
except WeightsError as err:
    st.error(f"No model card: {err}.")
    st.stop()

st.subheader("The network")
st.dataframe(pd.DataFrame([{"field": k, "value": str(v)} for k, v in card.summary.items()]), hide_index=True,
             height="content", key="card_summary")
license_text = card.sidecar.get("license")
if license_text:
    st.warning(f"Licence: {license_text}")

st.subheader("Accuracy on the validation split")
if card.scalars:
    cols = st.columns(min(4, len(card.scalars)))
    for i, (name, value) in enumerate(card.scalars.items()):
        cols[i % len(cols)].metric(metric_label(name), f"{value:.3f}" if value % 1 else f"{value:.0f}")
    st.caption(pipelines_caption() + " *TTA*: the mean of the image and its mirror. MAE is in years; CS@5 is the "
               "share of faces estimated within 5 years.")
coverage = card.coverage_rows()
if coverage:
    st.subheader("Does the 90 % interval hold 90 % of the true ages?")
    for col, row in zip(st.columns(len(coverage)), coverage):
        col.metric(f"90 % interval coverage ({row['pipeline']})", f"{100 * row['coverage']:.1f} %",
                   help=row["what goes in"])
    st.caption(coverage_caption(coverage))
per_band, per_group = card.per_band, card.per_group
if card.evaluations:
    st.dataframe(card.evaluation_rows(), hide_index=True, key="card_evaluations")
    if len(card.evaluations) > 1:
        keys = list(card.evaluations)
        default = next((i for i, k in enumerate(keys) if card.evaluations[k].get("pipeline") == "chip"), 0)
        chosen = st.selectbox("Tables of the evaluation", keys, index=default, key="card_evaluation")
        if chosen != keys[default]:  # the default's tables are already on the card (with those from predictions)
            per_band, per_group = card.tables(chosen)
if per_band:
    left, right = st.columns(2)
    left.plotly_chart(plots.band_figure(per_band), key="card_band_chart")
    right.dataframe(pd.DataFrame(per_band).T.rename_axis("age band").round(2), key="card_band_table")
if per_group:
    st.subheader("Per group")
    cols = st.columns(len(per_group))
    for col, (group, table) in zip(cols, per_group.items()):
        col.markdown(f"**{group}**")
        col.dataframe(pd.DataFrame(table).T.rename_axis(group).round(2), key=f"card_group_{group}")
    st.caption("Groups are UTKFace's own labels, partly estimated: the tables describe the errors, they are not a "
               "fairness audit.")
left, right = st.columns(2)
if card.predictions is not None:
    left.plotly_chart(plots.scatter_figure(card.predictions["pred"], card.predictions["true"]), key="card_scatter")
if card.train_log:
    stages = training_stages(card.train_log)
    right.plotly_chart(plots.history_figure(card.train_log, stages=stages), key="card_history")
    if stages:
        right.caption(stages_caption(card.train_log, stages))
for key, title in (("recipe", "Training recipe"), ("training", "Training run"), ("evaluation", "Evaluation run")):
    if card.sidecar.get(key):
        with st.expander(title):
            st.json(card.sidecar[key])
if card.markdown:
    with st.expander("The full model card (MODEL_CARD.md)"):
        st.markdown(card.markdown)
for note in card.missing:
    st.info(note)
