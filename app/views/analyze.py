"""Analyze: photos (uploads or a camera snapshot) -> every face with its age, distribution and explanations."""
import hashlib

import streamlit as st
from resources import device_label, get_explainer, require_predictor

from dldl_core.explain.cam import CAM_METHODS
from dldl_core.ui import plots
from dldl_core.ui.analysis import MAX_UPLOAD_BYTES, PhotoAnalysis, analyze_photo, photo_report, report_json, report_zip

TARGETS = {"expected": "Expected age (what makes it older)", "younger": "What makes it younger",
           "bin": "One age bin (click a bar)", "contrast": "Contrast of two ages"}

st.title("Analyze photos")
st.write("Upload photos or take a snapshot: every face is found, aligned and given an age with its predicted "
         "distribution; pick a face to see why the network says so.")
predictor = require_predictor()

uploads = st.file_uploader("Photos", type=["jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff"],
                           accept_multiple_files=True, key="analyze_upload",
                           help=f"Up to {MAX_UPLOAD_BYTES // 2**20} MB per photo.")
files = [(f.name, f.getvalue()) for f in uploads or []]
if st.toggle("Take a snapshot with the camera", key="analyze_use_camera"):
    shot = st.camera_input("Snapshot", key="analyze_camera")
    if shot is not None:
        files.append(("snapshot.jpg", shot.getvalue()))
if not files:
    st.info("Upload one or more photos (or take a snapshot) to begin.")
    st.stop()


def analysis_of(name: str, data: bytes) -> PhotoAnalysis:
    """One analysis per distinct file, kept for the session so widget changes do not re-run the network."""
    cache = st.session_state.setdefault("analyze_cache", {})
    key = (name, hashlib.sha1(data).hexdigest(), str(predictor.weights.path))  # the sidebar may switch networks
    st.session_state.setdefault("analyze_keys", {})[name] = key
    if key not in cache:
        if len(cache) > 16:
            cache.clear()
        cache[key] = analyze_photo(predictor, data, name)
    return cache[key]


analyses = [analysis_of(name, data) for name, data in files]
for a in analyses:
    if a.error:
        st.error(a.error)
usable = [a for a in analyses if a.faces]
if not usable:
    st.stop()
names = [a.name for a in usable]
chosen = st.selectbox("Photo", range(len(usable)), format_func=lambda i: names[i], key="analyze_photo") \
    if len(usable) > 1 else 0
photo = usable[chosen]

st.image(photo.annotated(), caption=f"{photo.name}: {len(photo.faces)} face(s)", width="content")
st.subheader("Faces")
per_row = 4
for start in range(0, len(photo.faces), per_row):
    cols = st.columns(per_row)
    for col, (i, face) in zip(cols, list(enumerate(photo.faces))[start:start + per_row]):
        with col.container(border=True):
            st.image(face.chip, caption=f"face {i + 1} (aligned)", width="stretch")
            st.markdown(f"Estimated age **{face.age:.1f}**")
            st.caption(f"+- {face.std:.1f}; 90 % interval {face.interval90[0]:.0f}-{face.interval90[1]:.0f}")
index = st.radio("Face to inspect", range(len(photo.faces)), format_func=lambda i: f"face {i + 1}",
                 horizontal=True, key="analyze_face") if len(photo.faces) > 1 else 0
face = photo.faces[index]

st.subheader(f"Face {index + 1}: distribution")
selected = st.session_state.get("analyze_bin") if st.session_state.get("analyze_target") == "bin" else None
event = st.plotly_chart(plots.distribution_figure(face, selected_age=selected),
                        key="analyze_distribution_chart", on_select="rerun", selection_mode="points")
points = event.selection.points if event else []
clicked = int(round(points[0]["x"])) if points else None
if clicked is not None and clicked != st.session_state.get("analyze_clicked"):  # a new bar clicked: explain it
    st.session_state.analyze_bin = clicked
    st.session_state.analyze_target = "bin"
st.session_state.analyze_clicked = clicked
if face.age_mirrored is not None:
    st.caption(f"Flip test-time augmentation: the original image says {face.age_original:.1f}, its mirror "
               f"{face.age_mirrored:.1f}; the estimate is the expectation of their mean distribution.")

st.subheader(f"Face {index + 1}: why this age")
c1, c2, c3 = st.columns([1, 2, 2])
method = c1.selectbox("CAM method", list(CAM_METHODS), key="analyze_cam_method",
                      help="scorecam runs the network once per feature map: slower, and the most faithful for the "
                           "shipped network (docs/age_stages.md, Faithfulness).")
kind = c2.radio("Explain", list(TARGETS), format_func=TARGETS.get, key="analyze_target")
support = face.support
top = int(support[-1])
if kind == "bin":
    st.session_state.setdefault("analyze_bin", int(round(face.age)))  # or the bar clicked on the chart
    age_bin = c3.number_input("Age of the bin", int(support[0]), top, key="analyze_bin")
    target = f"bin:{int(abs(support - age_bin).argmin())}"
elif kind == "contrast":
    a = c3.number_input("Why this age...", 0, top, min(top, int(round(face.age)) + 10), key="analyze_contrast_a")
    b = c3.number_input("...rather than this one", 0, top, max(0, int(round(face.age)) - 10), key="analyze_contrast_b")
    target = f"contrast:{a},{b}" if a != b else "expected"
    if a == b:
        c3.warning("Pick two different ages; showing the expected age meanwhile.")
else:
    target = kind
sliding = c1.toggle("Sliding-window occlusion", value=True, key="analyze_sliding",
                    help="Hide a square patch at every position and measure the change of the age (about a second).")


def explanation_of(photo: PhotoAnalysis, index: int, method: str, target: str, sliding: bool):
    """One explanation per face and setting, kept for the session; created in this request."""
    cache = st.session_state.setdefault("analyze_explanations", {})
    key = (st.session_state.analyze_keys[photo.name], index, method, target, sliding)
    if key not in cache:
        if len(cache) > 24:
            cache.clear()
        with st.spinner(f"Explaining face {index + 1} with {method}..."):
            cache[key] = get_explainer().explain(photo.faces[index], method, target, image=photo.rgb,
                                                 sliding=sliding)
    return cache[key]


def show_explanation(explanation, method: str, index: int) -> tuple[dict, dict]:
    """The overlays and the region chart; returns the report entry and the overlay images for the download."""
    st.caption(f"Maps for target `{explanation.target}`; the network sees the aligned face alone (no mirror) and "
               f"estimates {explanation.age:.1f} from it. Red in the occlusion and region maps: hiding that part "
               f"makes the face look older; blue: younger.")
    if not explanation.cam.max() > 0:
        st.info(f"The {method} map is zero everywhere: no feature of the last convolution layer pushes this target "
                "up (a CAM keeps only positive evidence). Try the opposite target, or eigencam, which has no target.")
    cols = st.columns(4)
    cols[0].image(explanation.overlays_image.get("cam", explanation.overlays["cam"]),
                  caption=f"{method} on the photo", width="stretch")
    cols[1].image(explanation.overlays["cam"], caption=f"{method} on the aligned face", width="stretch")
    if "occlusion" in explanation.overlays:
        cols[2].image(explanation.overlays["occlusion"], caption="sliding-window occlusion (change of age)",
                      width="stretch")
    cols[3].image(explanation.overlays["regions"], caption="face regions (change of age)", width="stretch")
    st.plotly_chart(plots.region_figure(explanation.regions), key="analyze_region_chart")
    overlays = {f"{name}_face{index + 1}": image for name, image in explanation.overlays.items()}
    overlays.update({f"{name}_photo_face{index + 1}": image for name, image in explanation.overlays_image.items()})
    return {index: explanation.to_json()}, overlays


try:
    explanation = explanation_of(photo, index, method, target, sliding)
except (ValueError, RuntimeError) as err:  # an unusable target or a CAM failure: say so, keep the rest of the page
    st.error(f"This face could not be explained with {method} for {target}: {err}.")
    explanations, overlays = {}, {}
else:
    explanations, overlays = show_explanation(explanation, method, index)

st.subheader("Download")
report = photo_report(photo, predictor.weights.meta, device_label(predictor.device), explanations)
stem = photo.name.rsplit(".", 1)[0]
c1, c2 = st.columns(2)
c1.download_button("JSON report", report_json(report), file_name=f"{stem}_report.json", mime="application/json",
                   key="analyze_download_json")
c2.download_button("Report and images (zip)", report_zip(report, {"annotated": photo.annotated(), **overlays}),
                   file_name=f"{stem}_report.zip", mime="application/zip", key="analyze_download_zip")
