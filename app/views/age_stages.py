"""Age stages: where the network looks in infants, children, teenagers, adults and seniors."""
import json
from pathlib import Path

import streamlit as st
from resources import dataset_inputs, get_explainer, path_refusal, require_predictor, weights_path

from dldl_core.explain.cam import CAM_METHODS
from dldl_core.explain.stages import TARGET_LABELS, analyse_stages, stage_figure
from dldl_core.ui import plots
from dldl_core.ui.stage_report import (
    LEGACY_NOTE,
    MEASURES,
    METHOD_NAMES,
    MIN_STAGE_FACES,
    STAGES_VS_BANDS,
    enlarge_fonts,
    few_faces_warning,
    find_stage_report,
    has_statistics,
    interval_table,
    report_caption,
    stage_measure_tables,
    stage_report_weights,
    stage_summary_rows,
    strip_tables,
)
from dldl_core.ui.stage_statistics import agreement_rows, region_rows, statistics_caption, strip_rows

MAIN_MEASURE = "delta_mae"

st.title("Age stages")
st.write("Faces are grouped by their true age into stages; per stage the CAMs are averaged in the aligned "
         "frame, and each face region is hidden in turn to measure how much the error moves. The paper found "
         "infants read from the central eyes and nose, adults from a band along eyes, nose and mouth, and seniors "
         "from the forehead, eye corners, cheeks and nasolabial folds.")
st.caption(STAGES_VS_BANDS)


def show_report(report: dict, figure, key: str) -> None:
    """A stage report: a warning for thin stages, the figure grid, the per-stage summary, the change of MAE per
    region and stage with its intervals, and one region x stage heat map."""
    if warning := few_faces_warning(report):
        st.warning(warning)
    if isinstance(figure, str):
        st.image(figure, width="stretch")
    elif figure is not None:
        st.pyplot(figure, width="stretch")
    name, unit = MEASURES[MAIN_MEASURE]
    if figure is not None:
        method = METHOD_NAMES.get(report.get("method"), report.get("method"))
        targets = ", ".join(f"{t} ({TARGET_LABELS.get(t, t)})" for t in report.get("targets", []))
        regions = ("the change of MAE per 10 % of the chip's area, coloured only where its Holm p is below 0.05 (red: "
                   "the error grows without the region, blue: it shrinks)" if has_statistics(report) else
                   f"the {name}, in {unit} (red: the error grows without the region, blue: it shrinks)")
        st.caption(f"Per stage (one column each, with its number of faces n): the mean {method} maps over the "
                   f"stage's mean face, one row per target: {targets}; then {regions}; and the change of MAE for the "
                   f"paper's seven horizontal strips (bottom, {unit}). The tables and charts below give the numbers "
                   "at a readable size.")
    st.dataframe(stage_summary_rows(report), hide_index=True, key=f"{key}_summary")
    st.markdown(f"**{name[:1].upper()}{name[1:]}** ({unit}; mean ± 95 % interval over the stage's faces, n per "
                "column)")
    st.dataframe(interval_table(report, MAIN_MEASURE), hide_index=True, key=f"{key}_intervals")
    tables = stage_measure_tables(report)
    available = [m for m in MEASURES if m in tables]
    if available:
        measure = st.selectbox("Region measure", available, format_func=lambda m: MEASURES[m][0],
                               key=f"{key}_measure")
        st.plotly_chart(plots.stage_region_figure(tables[measure], *MEASURES[measure], tables.get(f"{measure}_ci95")),
                        key=f"{key}_chart")
    strips, strip_intervals = strip_tables(report)
    if strips:
        st.plotly_chart(plots.stage_region_figure(strips, "change of MAE when the strip is hidden", unit,
                                                  strip_intervals, rows="strip"), key=f"{key}_strips")
        st.caption("The paper's protocol: seven equal horizontal strips at fixed heights, each hidden in turn (the "
                   "face and its mirror, averaged); each strip is named by its height range (0 % the top) and the "
                   "alignment template's landmarks inside it, * where the strip's edge cuts the landmark. Hover a "
                   "cell for its 95 % interval.")
    show_statistics(report, key)
    st.caption(report_caption(report))


def show_statistics(report: dict, key: str) -> None:
    """The corrected statistics: every cell with its interval, Holm p and replication, and map vs occlusion; or a
    note for a report made before them."""
    if not has_statistics(report):
        st.info(LEGACY_NOTE)
        return
    st.subheader("Corrected statistics")
    st.markdown("**Regions** (change of MAE when the region is hidden; also per 10 % of the chip's area)")
    st.dataframe(region_rows(report), hide_index=True, key=f"{key}_region_tests")
    st.markdown("**Strips** (the paper's protocol)")
    st.dataframe(strip_rows(report), hide_index=True, key=f"{key}_strip_tests")
    st.markdown("**Map and occlusion**: rank agreement across regions, both per unit of area")
    st.dataframe(agreement_rows(report), hide_index=True, key=f"{key}_agreement")
    st.caption(statistics_caption(report))


def show_trust(method: str) -> None:
    """How far the mean maps' method can be trusted for the network in use: its measured faithfulness and its
    sanity check."""
    from dldl_core.ui.sanity_view import sanity_sentence, shipped_faithfulness_sentence

    st.markdown("**How far the mean maps can be trusted**")
    if sentence := shipped_faithfulness_sentence(method, weights_path()):
        st.caption(sentence)
    st.caption(sanity_sentence(method, weights_path()))


st.header("Shipped analysis")
folder = find_stage_report(weights_path())
if folder is None:
    st.info("No precomputed stage analysis ships with these weights (stages.json beside them or in docs/figures/). "
            "Produce one with `dldl stages --data IMAGES --manifest MANIFEST --split val --out docs/figures/stages`, "
            "or run it below.")
else:
    try:
        shipped = json.loads((folder / "stages.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        st.error(f"The shipped stage analysis in {folder.name} could not be read ({err}).")
    else:
        other_weights = stage_report_weights(shipped, weights_path())
        if other_weights:
            st.warning(other_weights + " Run it below for this one.")
        figure = folder / "stages.png"
        show_report(shipped, str(figure) if figure.is_file() else None, "stages_shipped")
        show_trust(shipped.get("method", "gradcam"))

st.header("Run it on your faces")
predictor = require_predictor()
data, manifest = dataset_inputs("stages")
c1, c2, c3, c4 = st.columns(4)
split = c1.text_input("Split (empty: all rows)", "val", key="stages_split", persist_state="session")
limit = c2.number_input("Faces per stage at most", 1, 2000, 30, key="stages_limit", persist_state="session",
                        help=f"Below {MIN_STAGE_FACES} faces a stage's means are mostly chance.")
method = c3.selectbox("CAM method", [m for m in CAM_METHODS if m != "scorecam"], key="stages_method",
                      persist_state="session",
                      format_func=lambda m: METHOD_NAMES.get(m, m))
pipeline = c4.radio("Images are", ["chip", "full"], key="stages_pipeline", persist_state="session", horizontal=True,
                    format_func={"chip": "aligned crops", "full": "photos"}.get)
if st.button("Analyse", key="stages_run", type="primary"):
    refused = path_refusal(data, manifest)
    if refused:
        st.error(refused)
    elif not Path(data).is_dir():
        st.error(f"The image folder {data or '(empty)'} does not exist.")
    elif not Path(manifest).is_file():
        st.error(f"The manifest {manifest or '(empty)'} does not exist.")
    else:
        try:
            with st.spinner("Explaining every face..."):
                analysis = analyse_stages(get_explainer(), data, manifest, split.strip() or None, int(limit), method,
                                          targets=("expected",), pipeline=pipeline)
        except ValueError as err:
            st.error(f"The analysis could not run: {err}.")
        else:
            st.session_state.stages_result = (analysis.to_json(), enlarge_fonts(stage_figure(analysis)))
if "stages_result" in st.session_state:
    report, figure = st.session_state.stages_result
    show_report(report, figure, "stages_user")
    st.download_button("stages.json", json.dumps(report, indent=2), file_name="stages.json",
                       mime="application/json", key="stages_download")
