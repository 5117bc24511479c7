"""Age stages: where the network looks in infants, children, teenagers, adults and seniors."""
import json
from pathlib import Path

import streamlit as st
from resources import default_data_dir, get_explainer, require_predictor, weights_path

from dldl_core.explain.cam import CAM_METHODS
from dldl_core.explain.stages import analyse_stages, stage_figure
from dldl_core.ui import plots
from dldl_core.ui.model_card import find_stage_report, stage_report_tables, stage_report_weights

MEASURES = {"abs_delta_age": "|change of age| when the region is hidden (years)",
            "delta_age": "change of age when the region is hidden (years; + = looks older without it)",
            "cam_mass": "share of the CAM inside the region", "area": "share of the face the region covers"}

st.title("Age stages")
st.write("Faces are grouped by their true age into stages; per stage the Grad-CAMs are averaged in the aligned "
         "frame, and each face region is hidden in turn to measure how much the estimate moves. The paper found "
         "infants read from the central eyes and nose, adults from a band along eyes, nose and mouth, and seniors "
         "from the forehead, eye corners, cheeks and nasolabial folds.")


def show_report(report: dict, figure, key: str) -> None:
    """A stage report: the figure grid, the per-stage summary and one region x stage heat map."""
    if isinstance(figure, str):
        st.image(figure, width="stretch")
    elif figure is not None:
        st.pyplot(figure, width="stretch")
    if figure is not None:
        st.caption("Per stage: the mean CAM over the stage's mean face (top), the mean |change of age| per region "
                   "(middle), and the paper's horizontal-strip occlusion (bottom).")
    rows, measures = stage_report_tables(report)
    st.dataframe(rows, hide_index=True, key=f"{key}_summary")
    available = [m for m in MEASURES if m in measures]
    if available:
        measure = st.selectbox("Region measure", available, format_func=MEASURES.get, key=f"{key}_measure")
        st.plotly_chart(plots.stage_region_figure(measures[measure], measure), key=f"{key}_chart")
    st.caption(f"{report.get('faces', 0)} faces, CAM method {report.get('method')} ({report.get('target')}), "
               f"pipeline {report.get('pipeline')}, split {report.get('split') or 'all'}.")


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

st.header("Run it on your faces")
predictor = require_predictor()
c1, c2 = st.columns(2)
default = default_data_dir()
data = c1.text_input("Image folder", str(default / "images") if default.is_dir() else "", key="stages_data")
manifest = c2.text_input("Manifest (CSV with file,age[,split])",
                         str(default / "manifest.csv") if default.is_dir() else "", key="stages_manifest")
c1, c2, c3, c4 = st.columns(4)
split = c1.text_input("Split (empty: all rows)", "val", key="stages_split")
limit = c2.number_input("Faces per stage at most", 1, 2000, 30, key="stages_limit")
method = c3.selectbox("CAM method", [m for m in CAM_METHODS if m != "scorecam"], key="stages_method")
pipeline = c4.radio("Images are", ["chip", "full"], key="stages_pipeline", horizontal=True,
                    format_func={"chip": "aligned crops", "full": "photos"}.get)
if st.button("Analyse", key="stages_run", type="primary"):
    if not Path(data).is_dir():
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
            st.session_state.stages_result = (analysis.to_json(), stage_figure(analysis))
if "stages_result" in st.session_state:
    report, figure = st.session_state.stages_result
    show_report(report, figure, "stages_user")
    st.download_button("stages.json", json.dumps(report, indent=2), file_name="stages.json",
                       mime="application/json", key="stages_download")
