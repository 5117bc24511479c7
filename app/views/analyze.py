"""Analyze: photos (uploads or a camera snapshot) -> every face with its age, distribution and explanations.

The uploader is drawn before anything heavy is loaded. Photos and results live in this session's state under the
page's own keys and the settings' widgets persist for the session, so all of them outlive a visit to another page
(Streamlit otherwise forgets the value of a widget whose page is not shown).
"""
import streamlit as st

from dldl_core.explain.methods import CAM_METHOD_NAMES
from dldl_core.explain.regions import REGION_LABELS
from dldl_core.pipeline.face import BOTH_LOOKS_MARGIN, MIN_CONFIRMATION, NEAR_CONFIRMATION
from dldl_core.pipeline.grain import level_warning
from dldl_core.ui import explanation_view as view
from dldl_core.ui.analysis import MAX_UPLOAD_BYTES, PhotoAnalysis, analyze_photo, looks_label
from dldl_core.ui.annotate import interval_label
from dldl_core.ui.byte_cache import ByteBudgetCache
from dldl_core.ui.photo_store import PhotoStore

SETTINGS = {"analyze_use_camera": False, "analyze_min_confirmation": MIN_CONFIRMATION,
            "analyze_cam_method": "gradcam", "analyze_target": "expected", "analyze_sliding": True, "analyze_face": 0}
INPUTS = {"analyze_bin": "bin", "analyze_contrast_a": "contrast_a", "analyze_contrast_b": "contrast_b"}  # per face
CACHE_BYTES = 256 * 2**20  # per session: analyses and explanations, least recently used dropped first


def state(key: str, make):
    """A session object of this page (created by ``make`` on first use)."""
    if key not in st.session_state:
        st.session_state[key] = make()
    return st.session_state[key]


st.title("Analyze photos")
st.write("Upload photos or take a snapshot: every face is found, looked at a second time to confirm it is a face, "
         "aligned and given an age with its predicted distribution; pick a face to see why the network says so.")
fresh_uploader = "analyze_upload" not in st.session_state  # first drawn, or the page was opened again
for setting, default in SETTINGS.items():  # the first values of the widgets that persist for the session
    st.session_state.setdefault(setting, default)
uploads = st.file_uploader("Photos", type=["jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff"],
                           accept_multiple_files=True, key="analyze_upload",
                           help=f"Up to {MAX_UPLOAD_BYTES // 2**20} MB per photo.")
left, right = st.columns([2, 3])
threshold = right.slider("Face confirmation threshold", 0.0, 1.0, step=0.05, key="analyze_min_confirmation",
                         persist_state="session",
                         help=f"Every candidate face is looked at a second time, upright and centred; it is taken for "
                              f"a face when the detector's score on that look reaches this threshold, or, up to the "
                              f"default {MIN_CONFIRMATION:.2f}, comes within {NEAR_CONFIRMATION:.1f} of it while the "
                              f"first look's score makes up the rest of the threshold plus {BOTH_LOOKS_MARGIN:.2f} "
                              f"(0 takes every candidate).")
store: PhotoStore = state("analyze_store", PhotoStore)
added = store.sync_uploads([(f.name, f.getvalue()) for f in uploads or []], fresh=fresh_uploader)
if left.toggle("Take a snapshot with the camera", key="analyze_use_camera", persist_state="session"):
    shot = st.camera_input("Snapshot", key="analyze_camera")
    if shot is not None:
        digest, new = store.add_snapshot(shot.getvalue())
        added += [digest] if new else []
if store.earlier():
    left.caption(f"{len(store.earlier())} photo(s) kept from earlier in this session.")
    if left.button("Forget the photos not in the uploader", key="analyze_forget"):
        for kept_photo in store.earlier():
            store.remove(kept_photo.digest)
        st.rerun()
if not len(store):
    st.info("Upload one or more photos (or take a snapshot) to begin.")
    st.stop()

from resources import device_label, get_explainer, require_predictor, weights_path  # noqa: E402 - after the uploader

predictor = require_predictor()
cache: ByteBudgetCache = state("analyze_cache", lambda: ByteBudgetCache(CACHE_BYTES))
weights_key = str(weights_path())  # the sidebar may switch networks


def analysis_of(name: str, digest: str, data: bytes) -> PhotoAnalysis:
    """One analysis per photo and network, kept while the cache's budget allows."""
    key = ("photo", digest, weights_key)
    found = cache.get(key)
    if found is None:
        with st.spinner(f"Finding the faces in {name} and estimating their ages..."):
            found = analyze_photo(predictor, data, name)
        cache.put(key, found)
    return found


analyses = {p.digest: analysis_of(p.name, p.digest, p.data) for p in store.photos()}
for a in analyses.values():
    if a.error:
        st.error(a.error)
    elif a.notice(threshold):
        st.warning(a.notice(threshold) + " Lower the face confirmation threshold to analyse it anyway.")
usable = [d for d, a in analyses.items() if a.faces_at(threshold)]
if not usable:
    st.stop()
if [d for d in added if d in usable]:  # a new photo or snapshot becomes the one shown
    st.session_state.analyze_photo = [d for d in added if d in usable][-1]
if st.session_state.get("analyze_photo") not in usable:
    st.session_state.analyze_photo = usable[-1]
if len(usable) > 1:
    st.selectbox("Photo", usable, format_func=lambda d: analyses[d].name, key="analyze_photo",
                 persist_state="session")
photo = analyses[st.session_state.analyze_photo]
faces = photo.faces_at(threshold)
set_aside = photo.set_aside(threshold)

st.image(photo.annotated(threshold), caption=f"{photo.name}: {len(faces)} face(s)", width="content")
if set_aside:
    st.caption(f"{len(set_aside)} candidate(s) below the confirmation threshold {threshold:.2f} set aside "
               f"(confirmation {', '.join(f'{f.confirmation or 0:.2f}' for f in set_aside)}).")
st.subheader("Faces")
per_row = 4
for start in range(0, len(faces), per_row):
    cols = st.columns(per_row)
    for col, (i, face) in zip(cols, list(enumerate(faces))[start:start + per_row]):
        with col.container(border=True):
            st.image(face.chip, caption=f"face {i + 1} (aligned)", width="stretch")
            st.markdown(f"Estimated age **{face.age:.1f}**")
            st.caption(f"± {face.std:.1f}; 90 % interval {interval_label(*face.interval90)}; "
                       f"{looks_label(face, threshold)}")
            if warning := level_warning(face.grain):
                st.warning(warning)
if st.session_state.get("analyze_face_photo") != photo.sha256 or st.session_state.analyze_face >= len(faces):
    st.session_state.analyze_face, st.session_state.analyze_face_photo = 0, photo.sha256  # a new photo: its face 1
if len(faces) > 1:
    st.radio("Face to inspect", range(len(faces)), format_func=lambda i: f"face {i + 1}", horizontal=True,
             key="analyze_face", persist_state="session")
index = st.session_state.analyze_face
face = faces[index]
top = int(face.support[-1])
face_id = f"{photo.sha256}:{photo.candidate_index(face)}"
choices = state("analyze_choices", dict)  # each face's own bin and contrast ages
low = int(face.support[0])
mine = choices.setdefault(face_id, view.default_choices(face.age, low, top))
if st.session_state.get("analyze_choice_face") == face_id:  # the same face: take what was typed into its inputs
    mine.update({name: st.session_state[key] for key, name in INPUTS.items() if key in st.session_state})
st.session_state.analyze_choice_face = face_id

from dldl_core.ui import plots  # noqa: E402 - plotly loads after the uploader is drawn

st.subheader(f"Face {index + 1}: distribution")
selected = mine["bin"] if st.session_state.analyze_target == "bin" else None
event = st.plotly_chart(plots.distribution_figure(face, selected_age=selected), on_select="rerun",
                        key=f"analyze_distribution_{face_id}", selection_mode="points")
points = event.selection.points if event else []
clicked = int(round(points[0]["x"])) if points else None
if clicked is not None and (face_id, clicked) != st.session_state.get("analyze_clicked"):  # a new bar: explain it
    mine["bin"], st.session_state.analyze_target = min(max(clicked, low), top), "bin"
st.session_state.analyze_clicked = (face_id, clicked)
if face.age_mirrored is not None:
    st.caption(f"Flip test-time augmentation: the original image says {face.age_original:.1f}, its mirror "
               f"{face.age_mirrored:.1f}; the estimate is the expectation of their mean distribution.")

st.subheader(f"Face {index + 1}: why this age")
c1, c2, c3 = st.columns([1, 2, 2])
method = c1.selectbox("CAM method", CAM_METHOD_NAMES, key="analyze_cam_method", persist_state="session",
                      help="On val faces with the shipped network (docs/explain.md): gradcam and hirescam pass the "
                           "sanity check but do not beat a random order nor their own mean maps; "
                           "scorecam (the network once per feature map, about 3.3 s a face on 2 CPU cores with native "
                           "bf16) beats a random order but not its mean map, and passes the sanity check on 12 faces; "
                           "gradcam++, layercam and eigencam fail it. Below the maps: how faithful the map is for "
                           "this face and the method's sanity verdict.")
kind = c2.radio("Explain", list(view.TARGETS), format_func=view.TARGETS.get, key="analyze_target",
                persist_state="session")
st.session_state.update({key: mine[name] for key, name in INPUTS.items()})  # this face's own values
if kind == "bin":
    mine["bin"] = c3.number_input("Age of the bin", low, top, key="analyze_bin")
elif kind == "contrast":
    mine["contrast_a"] = c3.number_input("Why this age...", low, top, key="analyze_contrast_a")
    mine["contrast_b"] = c3.number_input("...rather than this one", low, top, key="analyze_contrast_b")
target, warning = view.target_spec(kind, face.support, mine["bin"], (mine["contrast_a"], mine["contrast_b"]))
if warning:
    c3.warning(warning)
sliding = st.toggle("Sliding-window occlusion", key="analyze_sliding", persist_state="session",
                    help="Hide a square patch at every position and measure the change of the expected age (about "
                         "1.3 s a face on 2 CPU cores with native bf16 and the default network, about 3 s without "
                         "native bf16: turn it off for group photos).")


def explanation_key(i: int, face_method: str, face_target: str) -> tuple:
    return ("explanation", photo.sha256, weights_key, photo.candidate_index(faces[i]), face_method, face_target,
            sliding)


def explain(i: int, face_target: str):
    """The explanation of face ``i`` for the current method and ``face_target``, with its panels; kept while the
    cache's budget allows."""
    key = explanation_key(i, method, face_target)
    found = cache.get(key)
    if found is None:
        with st.spinner(f"Explaining face {i + 1} with {method}..."):
            explanation = get_explainer().explain(faces[i], method, face_target, image=photo.rgb, sliding=sliding)
            found = (explanation, view.map_panels(explanation))
        cache.put(key, found)
    return found


def face_target(i: int) -> str:
    """The target of face ``i`` with its own bin and ages (its first choices until it is inspected)."""
    own = choices.get(f"{photo.sha256}:{photo.candidate_index(faces[i])}")
    own = own or view.default_choices(faces[i].age, low, top)
    return view.target_spec(kind, faces[i].support, own["bin"], (own["contrast_a"], own["contrast_b"]))[0]


try:
    explanation, panels = explain(index, target)
except (ValueError, RuntimeError) as err:  # an unusable target or a CAM failure: say so, keep the rest of the page
    st.error(f"This face could not be explained with {method} for {target}: {err}.")
else:
    st.markdown(view.COLOUR_CONVENTION)
    st.caption(view.maps_caption(explanation, face.support))
    if not explanation.cam.max() > 0:
        st.info(f"The {method} map is zero everywhere: no feature of the last convolution layer pushes this target "
                "up (a CAM keeps only positive evidence). Try the opposite target, or eigencam, which has no target.")
    for col, panel in zip(st.columns(len(panels)), panels):
        col.image(panel.image, caption=panel.caption, width="stretch")
    if sentence := view.faithfulness_sentence(explanation):
        st.markdown(sentence)
    from dldl_core.ui.sanity_view import sanity_sentence  # the sanity module needs torch, loaded by now

    st.caption(sanity_sentence(method, weights_path()))
    st.plotly_chart(plots.region_figure(explanation.regions, labels=REGION_LABELS), key="analyze_region_chart")

st.subheader("Download")
from dldl_core.ui.report import photo_report, report_images, report_json, report_zip  # noqa: E402

missing = [i for i in range(len(faces)) if explanation_key(i, method, face_target(i)) not in cache]
if missing and st.button(f"Add the maps of {len(missing)} more face(s) to the report", key="analyze_explain_all"):
    progress = st.progress(0.0, text="Explaining every face...")
    for n, i in enumerate(missing):
        try:
            explain(i, face_target(i))
        except (ValueError, RuntimeError) as err:
            st.warning(f"Face {i + 1} could not be explained with {method}: {err}.")
        progress.progress((n + 1) / len(missing), text=f"Explained face {i + 1} ({n + 1} of {len(missing)})")
    st.rerun()
explained = {i: cache.get(explanation_key(i, method, face_target(i)))[0] for i in range(len(faces))
             if explanation_key(i, method, face_target(i)) in cache}
settings = {"min_confirmation": threshold, "cam_method": method, "target": target, "sliding_window": sliding,
            "occlusion": explained[index].occlusion_settings if index in explained else None}
report = photo_report(photo, predictor.weights.meta, device_label(predictor.device), explained, settings)
stem = photo.name.rsplit(".", 1)[0]
c1, c2 = st.columns(2)
c1.download_button("JSON report", report_json(report), file_name=f"{stem}_report.json", mime="application/json",
                   key="analyze_download_json", on_click="ignore")
c2.download_button("Report and images (zip)", lambda: report_zip(report, report_images(photo, explained, threshold)),
                   file_name=f"{stem}_report.zip", mime="application/zip", key="analyze_download_zip",
                   on_click="ignore")
